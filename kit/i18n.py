"""The report's language: gettext messages from Babel catalogs, and numbers and dates as that language writes them.

Every user-facing string of ``kit`` goes through :func:`_` (or :func:`ngettext`;
:func:`N_` marks a string translated later, e.g. a parameter's doc). English is
the source language; French comes from ``kit/locale/fr/LC_MESSAGES/kit.po``,
compiled in memory by Babel on first use (no ``.mo`` file to build or keep in
step). The language is set once per kernel: :func:`kit.params.validate` sets it
from the notebook's ``lang`` parameter, or from ``KIT_LANG``, which ``kit run
--lang`` exports to every kernel it starts.

Notebooks hold both languages' markdown in one source: a cell tagged
``lang-fr`` (or ``lang-en``) belongs to that language only, an untagged cell
to both; :func:`select_cells` keeps the chosen language's cells.

French style (the Imprimerie nationale's and CLDR's): decimal comma, a narrow
no-break space (U+202F) between thousands and before units and ``%``,
dates as ``1 mars 2026``.
"""
from __future__ import annotations

import contextlib
import functools
import gettext
import io
import os
from pathlib import Path

LANGS = ("en", "fr")
DEFAULT_LANG = "en"
LANG_ENV = "KIT_LANG"
DOMAIN = "kit"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
#: U+202F NARROW NO-BREAK SPACE: French thousands separator and the space before a unit or ``%``.
NNBSP = "\u202f"

_state = {"lang": None}


def check_lang(lang) -> str:
    """``lang`` if it is a language the kit writes, else a one-line ValueError naming the choices.

    Examples
    --------
    >>> check_lang("fr")
    'fr'
    """
    if lang not in LANGS:
        raise ValueError(f"language {lang!r} is not available; choose one of {', '.join(map(repr, LANGS))}")
    return lang


def set_lang(lang: str) -> str:
    """Make ``lang`` the language of every message from now on (in this process); returns it."""
    _state["lang"] = check_lang(lang)
    return lang


def get_lang() -> str:
    """The language set by :func:`set_lang`, else ``KIT_LANG``, else English."""
    if _state["lang"] is not None:
        return _state["lang"]
    env = os.environ.get(LANG_ENV)
    return env if env in LANGS else DEFAULT_LANG


@contextlib.contextmanager
def using(lang: str):
    """Messages in ``lang`` inside the ``with`` block (the runner checks parameters this way)."""
    old = _state["lang"]
    set_lang(lang)
    try:
        yield lang
    finally:
        _state["lang"] = old


def catalog_path(lang: str) -> Path:
    """The ``.po`` catalog of ``lang``."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.lru_cache(maxsize=None)
def translations(lang: str) -> gettext.NullTranslations:
    """The gettext translations of ``lang``: its ``.po`` compiled in memory (English: none needed)."""
    if check_lang(lang) == DEFAULT_LANG:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with open(catalog_path(lang), "rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries left out, as msgfmt does
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _(message: str) -> str:
    """``message`` in the current language.

    Examples
    --------
    >>> with using("fr"):
    ...     _("rain")
    'pluie'
    """
    return translations(get_lang()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form of a message for ``n``, in the current language.

    Examples
    --------
    >>> with using("fr"):
    ...     ngettext("{n} irrigation", "{n} irrigations", 1).format(n=1)
    '1 irrigation'
    """
    return translations(get_lang()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for the catalog without translating it now (translate it with :func:`_` when shown)."""
    return message


class Message(str):
    """An English message that keeps its msgid and fields, to be shown later in the report's language.

    It *is* the English text (a ``str``: written to manifests, compared in
    tests, formatted as before); :meth:`shown` gives it in the current
    language, fields that are messages too translated with it. For texts made
    before the language is known and kept (the device's reason).
    Mark the msgid with :func:`N_`.

    Examples
    --------
    >>> reason = Message(N_("{source} cpu"), source=Message(N_("requested")))
    >>> reason, reason.shown("fr")
    ('requested cpu', 'demandé cpu')
    """

    def __new__(cls, msgid: str, **fields):
        self = super().__new__(cls, msgid.format(**fields))
        self.msgid, self.fields = msgid, fields
        return self

    def __reduce__(self):  # pickled as msgid and fields (str's own pickling would lose them)
        return _message, (self.msgid, self.fields)

    def shown(self, lang: str | None = None) -> str:
        """The message in ``lang`` (default: the current language)."""
        with using(lang) if lang else contextlib.nullcontext():
            fields = {k: v.shown() if isinstance(v, Message) else v for k, v in self.fields.items()}
            return _(self.msgid).format(**fields)


def _message(msgid, fields):
    return Message(msgid, **fields)


def shown(text) -> str:
    """``text`` in the current language if it is a :class:`Message`, else as it is (a reason from elsewhere)."""
    return text.shown() if isinstance(text, Message) else str(text)


def format_number(value, digits: int = 0, lang: str | None = None) -> str:
    """``value`` with ``digits`` decimals and grouped thousands, as the language writes it.

    Examples
    --------
    >>> format_number(2689441.5, 1, "fr"), format_number(2689441.5, 1, "en")
    ('2\\u202f689\\u202f441,5', '2,689,441.5')
    """
    from babel.numbers import format_decimal

    lang = lang or get_lang()
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    text = format_decimal(round(float(value), digits), pattern, locale=lang)
    # CLDR's French group separator is U+202F already; the minus sign stays ASCII for copy-paste.
    return text.replace("\u2212", "-")


def format_quantity(value, unit: str, digits: int = 0, lang: str | None = None) -> str:
    """A number and its unit: ``2 689 441 m³`` (narrow no-break space in French, a space in English).

    Examples
    --------
    >>> format_quantity(31.94, "mm", 1, "fr")
    '31,9\\u202fmm'
    """
    lang = lang or get_lang()
    return f"{format_number(value, digits, lang)}{NNBSP if lang == 'fr' else ' '}{unit}"


def format_percent(value_pct, digits: int = 1, lang: str | None = None) -> str:
    """A percentage given in percent (``30.0`` for 30 %): ``30,0 %`` in French, ``30.0%`` in English.

    Examples
    --------
    >>> format_percent(75.73, 1, "fr"), format_percent(75.73, 1, "en")
    ('75,7\\u202f%', '75.7%')
    """
    lang = lang or get_lang()
    return f"{format_number(value_pct, digits, lang)}{NNBSP if lang == 'fr' else ''}%"


def text_number(value, digits: int = 0, grouped: bool = False) -> str:
    """A number inside a printed sentence: French style in French, in English the plain f-string reports print.

    English keeps ``f"{value:.2f}"`` (``f"{value:,.2f}"`` when ``grouped``), so
    stored English outputs do not change; other languages use :func:`format_number`.

    Examples
    --------
    >>> text_number(1234.5, 1, grouped=True), text_number(0.25, 2)
    ('1,234.5', '0.25')
    >>> with using("fr"):
    ...     text_number(1234.5, 1)
    '1\u202f234,5'
    """
    if get_lang() == DEFAULT_LANG:
        return f"{value:,.{digits}f}" if grouped else f"{value:.{digits}f}"
    return format_number(value, digits)


def text_share(share, digits: int = 0) -> str:
    """A share (0–1) as a percentage in a sentence: ``22.1%`` in English (as f-strings wrote it), ``22,1 %`` in French."""
    return f"{share:.{digits}%}" if get_lang() == DEFAULT_LANG else format_percent(100 * share, digits)


def text_quantity(value, unit: str, digits: int = 0) -> str:
    """A value with its unit in a sentence: ``1.5 s`` in English, ``1,5 s`` (narrow no-break space) in French."""
    return f"{value:.{digits}f} {unit}" if get_lang() == DEFAULT_LANG else format_quantity(value, unit, digits)


def format_date(value, lang: str | None = None) -> str:
    """A date as a sentence writes it: ``1 mars 2026``, ``1 March 2026``.

    Examples
    --------
    >>> format_date("2026-03-01", "fr"), format_date("2026-03-01", "en")
    ('1 mars 2026', '1 March 2026')
    """
    import datetime as dt

    from babel.dates import format_date as babel_format_date

    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    elif isinstance(value, dt.datetime) or hasattr(value, "to_pydatetime"):
        value = value.date()
    return babel_format_date(value, "d MMMM y", locale=lang or get_lang())


def cell_lang(cell) -> str | None:
    """The language a notebook cell is tagged for (``lang-fr`` -> ``"fr"``), or None for every language."""
    tags = (cell.get("metadata") or {}).get("tags") or []
    langs = [t[5:] for t in tags if t.startswith("lang-")]
    return langs[0] if langs else None


def select_cells(nb, lang: str):
    """``nb`` (a notebook dict or node) keeping the cells of ``lang`` and the untagged ones; changed in place, returned."""
    check_lang(lang)
    nb["cells"] = [c for c in nb["cells"] if cell_lang(c) in (None, lang)]
    return nb


def _shown_value(value, digits: int | None):
    """One cell of a mixed (object) column as shown: a boolean as a word, a number in the language's style."""
    import numbers

    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return _("yes") if value else _("no")
    if isinstance(value, numbers.Integral):
        return format_number(value, 0 if digits is None else digits)
    if isinstance(value, numbers.Real):
        return "" if value != value else format_number(value, 2 if digits is None else digits)  # NaN: blank
    return value


def display_table(frame, digits: dict | None = None, words: dict | None = None):
    """A table as a reader of another language is shown it: headers translated, numbers in its style.

    English returns ``frame`` itself: its headers are the documented column
    names of the output files, which are also the catalog's msgids (mark them
    with :func:`N_` where the table is made), and its booleans show as
    ``True``/``False``. In French, booleans show as ``oui``/``non``, numbers
    with a decimal comma, dates as ``1 mars 2026``. Values stay numbers in the files.

    Parameters
    ----------
    frame : pandas.DataFrame
    digits : dict, optional
        Column -> decimals shown (default: 0 for integers, 2 for floats).
    words : dict, optional
        Codes a text column holds -> their msgid (marked with :func:`N_`), shown
        translated: ``{"burst": N_("burst")}``. Other values stay as they are.

    Examples
    --------
    >>> import pandas as pd
    >>> with using("fr"):
    ...     display_table(pd.DataFrame({"detected": [True, False], "delay_h": [1.25, 30.0]})).to_dict("list")
    {'détectée': ['oui', 'non'], 'délai (h)': ['1,25', '30,00']}
    """
    if get_lang() == DEFAULT_LANG:
        return frame
    import pandas as pd

    digits = digits or {}
    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        values = frame[col]
        if pd.api.types.is_bool_dtype(values):  # also pandas' nullable "boolean", whose NA shows blank
            out[col] = [("" if pd.isna(v) else _("yes") if v else _("no")) for v in values]
        elif pd.api.types.is_numeric_dtype(values):
            d = digits.get(col, 0 if pd.api.types.is_integer_dtype(values) else 2)
            out[col] = [format_number(v + 0, d) if pd.notna(v) else "" for v in values]  # + 0: -0.0 shown as 0
        elif pd.api.types.is_datetime64_any_dtype(values):
            out[col] = [format_date(v) if pd.notna(v) else "" for v in values]
        elif values.dtype == object:  # text, or mixed values (a metrics column of counts, rates and flags)
            out[col] = [_(words[v]) if isinstance(v, str) and v in (words or {}) else _shown_value(v, digits.get(col))
                        for v in values]
        else:  # strings, categories
            out[col] = [_(words[v]) if isinstance(v, str) and v in (words or {}) else v for v in values]
    out.columns = [_(str(c)) for c in frame.columns]
    if frame.index.name is not None:
        out.index.name = _(str(frame.index.name))
    return out


__all__ = ["LANGS", "DEFAULT_LANG", "LANG_ENV", "NNBSP", "check_lang", "set_lang", "get_lang", "using", "translations",
           "_", "ngettext", "N_", "Message", "shown", "format_number", "format_quantity", "format_percent", "format_date", "cell_lang",
           "select_cells", "display_table", "catalog_path"]
