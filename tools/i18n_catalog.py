"""Extract kit's messages with Babel and merge them into the French catalog.

    python tools/i18n_catalog.py          # kit/locale/fr/LC_MESSAGES/kit.po: new messages added (empty), gone ones marked obsolete
    python tools/i18n_catalog.py --check  # exit 1 if the catalog lacks a message (what tests/test_i18n.py checks)

Messages are the first arguments of ``_``, ``N_``, ``ngettext`` (singular and
plural) in ``kit/**.py``. Translations are written by hand in the ``.po``
file (Poedit, or any editor); Babel compiles it in memory when a kernel asks
for French (:func:`kit.i18n.translations`), so there is no ``.mo`` to build.
"""
from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def extract(root: Path = ROOT) -> Catalog:
    """Every message of ``root/kit`` as a template catalog (locations kept)."""
    template = Catalog(domain="kit", project="sector-kit")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(root / "kit"), method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=("TRANSLATORS:",),
            strip_comment_tags=True):
        template.add(message, None, [(f"kit/{filename}", lineno)], auto_comments=comments, context=context)
    return template


def merge(lang: str = "fr", root: Path = ROOT) -> tuple[Path, list]:
    """Update ``kit/locale/LANG/LC_MESSAGES/kit.po`` from the source; returns its path and the new msgids."""
    path = root / "kit" / "locale" / lang / "LC_MESSAGES" / "kit.po"
    if path.exists():
        with open(path, "rb") as fh:
            catalog = read_po(fh, locale=lang, domain="kit")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = Catalog(locale=lang, domain="kit", project="sector-kit")
    before = {m.id for m in catalog if m.id}
    catalog.update(extract(root), no_fuzzy_matching=True)
    added = [m.id for m in catalog if m.id and m.id not in before]
    with open(path, "wb") as fh:
        write_po(fh, catalog, width=110, sort_output=False, ignore_obsolete=True)
    return path, added


if __name__ == "__main__":
    if "--check" in sys.argv[1:]:
        sys.path.insert(0, str(ROOT))
        from kit.i18n import catalog_path

        with open(catalog_path("fr"), "rb") as fh:
            have = {m.id for m in read_po(fh) if m.string}
        missing = [m.id for m in extract() if m.id and m.id not in have]
        print("\n".join(map(str, missing)) or "every message has a French entry")
        sys.exit(1 if missing else 0)
    path, added = merge()
    print(f"{path}: {len(added)} new message(s) to translate")
