"""The report's language: every kit message in the French catalog, French numbers and dates, one-language cells,
``lang`` checked like every parameter."""
import importlib.util
import json
import re
import string
from pathlib import Path

import nbformat
import pytest
import yaml

from kit import i18n, notebooks, runner
from kit.cli import main
from kit.errors import ParameterError
from kit.i18n import NNBSP, _, using

ROOT = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location("i18n_catalog", ROOT / "tools" / "i18n_catalog.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _french_catalog():
    from babel.messages.pofile import read_po

    with open(i18n.catalog_path("fr"), "rb") as fh:
        return {m.id: m for m in read_po(fh, locale="fr") if m.id}


def _fields(text: str) -> list:
    """``{name}`` fields and ``%s``-style conversions of a message, sorted."""
    braces = [f"{name}!{conv}" if conv else name for _, name, _, conv in string.Formatter().parse(text) if name is not None]
    percents = re.findall(r"%(?:\(\w+\))?[sdifr]", text)
    return sorted(braces) + sorted(percents)


def test_every_message_has_a_french_entry_with_the_same_placeholders():
    catalog = _french_catalog()
    extracted = [m for m in _tool().extract() if m.id]
    assert len(extracted) > 150  # the parameters, runner, index, quickstart and irrigation messages at least
    for message in extracted:
        entry = catalog.get(message.id)
        assert entry is not None, f"no French entry for {message.id!r} ({message.locations[0]}); run tools/i18n_catalog.py"
        assert not entry.fuzzy, f"fuzzy French entry for {message.id!r}"
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        assert all(strings), f"empty French entry for {message.id!r}"
        for s in strings:
            assert _fields(s) == _fields(ids[-1]), f"placeholders differ: {ids[-1]!r} -> {s!r}"


def test_no_message_hides_inside_an_f_string():
    """Babel's extractor does not read inside f-strings: a message there would never reach the catalog."""
    hidden = [f"{path.relative_to(ROOT)}:{n}" for path in sorted((ROOT / "kit").rglob("*.py"))
              for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
              if re.search(r"\{\s*(_|ngettext|i18n\._)\(\s*['\"]", line)]
    assert hidden == [], f"move these messages out of their f-string: {hidden}"


def test_a_broken_placeholder_is_caught():
    assert _fields("{n} parcelles, {area}") != _fields("{n} fields, {area_ha}")
    assert _fields("%(n)s jours") == _fields("%(n)s days")


def test_messages_follow_the_language():
    assert _("rain") == "rain"
    with using("fr"):
        assert _("rain") == "pluie"
        assert i18n.ngettext("{n} field", "{n} fields", 1).format(n=1) == "1 parcelle"
        assert i18n.ngettext("{n} field", "{n} fields", 2).format(n=2) == "2 parcelles"
    assert i18n.get_lang() == "en"


def test_french_numbers_units_and_dates():
    assert i18n.format_number(2689441.46, 0, "fr") == f"2{NNBSP}689{NNBSP}441"
    assert i18n.format_number(-31.94, 1, "fr") == "-31,9"
    assert i18n.format_quantity(1567.2, "mm", 0, "fr") == f"1{NNBSP}567{NNBSP}mm"
    assert i18n.format_percent(30.04, 1, "fr") == f"30,0{NNBSP}%"
    assert i18n.format_date("2026-03-01", "fr") == "1 mars 2026"
    assert i18n.format_date("2021-11-22", "fr") == "22 novembre 2021"
    assert i18n.format_quantity(2689441.46, "m³", 0, "en") == "2,689,441 m³"


def test_cells_of_the_other_language_are_left_out():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("Both"),
                nbformat.v4.new_markdown_cell("English", metadata={"tags": ["lang-en"]}),
                nbformat.v4.new_markdown_cell("Français", metadata={"tags": ["lang-fr"]}),
                nbformat.v4.new_code_cell("x = 1")]
    assert [c.source for c in i18n.select_cells(nbformat.from_dict(nb), "fr").cells] == ["Both", "Français", "x = 1"]
    assert [c.source for c in i18n.select_cells(nbformat.from_dict(nb), "en").cells] == ["Both", "English", "x = 1"]
    with pytest.raises(ValueError, match="'de' is not available"):
        i18n.select_cells(nb, "de")


def test_report_shows_one_language_and_says_files_stay_english(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Report headline in English", metadata={"tags": ["lang-en"]}),
                nbformat.v4.new_markdown_cell("# Titre du rapport", metadata={"tags": ["lang-fr"]})]
    nbformat.write(nb, tmp_path / "nb.ipynb")
    page = runner.render_report(tmp_path / "nb.ipynb", tmp_path / "fr.html", lang="fr").read_text()
    assert "Titre du rapport" in page and "Report headline in English" not in page
    assert "gardent leurs noms de colonnes documentés, en anglais" in page and '<html lang="fr"' in page
    page = runner.render_report(tmp_path / "nb.ipynb", tmp_path / "en.html").read_text()
    assert "Titre du rapport" not in page and "Report headline in English" in page and "gardent" not in page
    assert '<html lang="en"' in page


def test_lang_is_a_parameter_of_every_notebook(tmp_path):
    """Every notebook's spec declares it; a notebook without a kit spec nor ``lang`` in its cell gets it as KIT_LANG."""
    for path in notebooks.list_notebooks():
        assert runner.plan(path.stem, [("lang", "fr")], out=tmp_path / "run").kernel_parameters["lang"] == "fr", path
    nb = json.loads(notebooks.find_notebook("quickstart").read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    cell["source"] = [line for line in cell["source"] if not line.startswith("lang = ")]
    del nb["metadata"]["kit"]["spec"]  # the spec then comes from the parameters cell
    bare = tmp_path / "00_quickstart.ipynb"
    bare.write_text(json.dumps(nb), encoding="utf-8")
    plan = runner.plan(str(bare), [("lang", "fr")], out=tmp_path / "run")
    assert plan.lang == "fr" and plan.all_parameters["lang"] == "fr"
    assert "lang" not in plan.kernel_parameters  # its parameters cell has no lang: KIT_LANG carries it
    assert runner.plan("quickstart", (), out=tmp_path / "run").lang == "en"
    with pytest.raises(ParameterError, match=r"parameter 'lang' must be one of 'en', 'fr', got 'de'"):
        runner.plan("leak_detection", [("lang", "de")], out=tmp_path / "run")


def test_errors_speak_the_chosen_language(tmp_path):
    with pytest.raises(ParameterError, match=r"^le paramètre 'size' doit être >= 16, reçu 8$"):
        runner.plan("quickstart", [("lang", "fr"), ("size", "8")], out=tmp_path / "run")
    with pytest.raises(ParameterError, match=r"^parameter 'size' must be >= 16, got 8$"):
        runner.plan("quickstart", [("size", "8")], out=tmp_path / "run")


def test_kit_run_refuses_a_bad_language_in_one_line(tmp_path, capsys):
    assert main(["run", "quickstart", "--lang", "de", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "kit: error: parameter 'lang' must be one of 'en', 'fr', got 'de'"
    assert not (tmp_path / "r").exists()


def test_notebook_validation_sets_the_language(monkeypatch, tmp_path):
    """The notebook's own lang parameter first, else KIT_LANG (kit run --lang for notebooks without one)."""
    from kit.params import Param, Spec, validate
    from kit.quickstart import PARAMETERS

    monkeypatch.setenv(i18n.LANG_ENV, "fr")
    monkeypatch.setitem(i18n._state, "lang", None)
    validate({"lang": "en", "output_dir": str(tmp_path)}, PARAMETERS)
    assert i18n.get_lang() == "en"
    validate({}, Spec((Param("seed", "int", 0, "seed"),)))
    assert i18n.get_lang() == "fr"
    with pytest.raises(ParameterError, match="'lang'.*'en', 'fr'.*'es'"):  # said in the language set before
        validate({"lang": "es", "output_dir": str(tmp_path)}, PARAMETERS)
    monkeypatch.setitem(i18n._state, "lang", None)


def test_pipeline_spec_takes_lang(tmp_path):
    from kit.pipeline import load_pipeline
    from kit.pipeline.spec import SpecError

    spec = {"name": "fr", "output": str(tmp_path / "out"), "lang": "fr",
            "runs": [{"notebook": "quickstart"}, {"notebook": "leak_detection", "id": "leaks-en", "parameters": {"lang": "en"}}]}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(spec))
    pipeline = load_pipeline(path)
    assert pipeline.lang == "fr"
    assert [r.parameters.get("lang") for r in pipeline.runs] == ["fr", "en"]
    path.write_text(yaml.safe_dump({**spec, "lang": "ar"}))
    with pytest.raises(SpecError, match="lang must be one of en, fr, got 'ar'"):
        load_pipeline(path)
    path.write_text(yaml.safe_dump({**spec, "runs": [{"notebook": "quickstart", "matrix": {"seed": []}}]}))
    with pytest.raises(SpecError, match=r"^runs\[0\]\.matrix\.seed doit être une liste non vide de valeurs"):
        load_pipeline(path)  # once the spec's lang is read, its errors speak it
    path.write_text(yaml.safe_dump({**spec, "lang": None, "runs": [{"notebook": "quickstart", "parameters": {"lang": "de"}}]}))
    with pytest.raises(SpecError, match="runs\\[0\\]: parameter 'lang' must be one of"):
        load_pipeline(path)


def test_demo_refuses_a_bad_language_before_writing(tmp_path, capsys):
    assert main(["demo", "quickstart", "--lang", "xx", "--out", str(tmp_path / "reports")]) == 2
    assert "parameter 'lang' must be one of 'en', 'fr', got 'xx'" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()
    assert "--lang $(LANG_REPORTS)" in (ROOT / "Makefile").read_text()


def test_kit_list_shows_lang_for_every_notebook(capsys):
    from kit import notebooks

    assert main(["list"]) == 0
    text = capsys.readouterr().out
    assert text.count("    lang ") == len(notebooks.list_notebooks())


FRENCH_COPIES = sorted((ROOT / "notebooks" / "fr").glob("*.ipynb"))


def test_quickstart_and_a_sector_notebook_have_french_copies_for_nbval():
    assert [p.name for p in FRENCH_COPIES] == ["00_quickstart.ipynb", "02_irrigation_planning.ipynb"]
    makefile = (ROOT / "Makefile").read_text()
    assert "nb_french.py --copies notebooks/00_quickstart.ipynb notebooks/02_irrigation_planning.ipynb" in makefile
    assert "pytest tests notebooks " in makefile  # nbval collects notebooks/fr/ with the English notebooks


@pytest.mark.parametrize("copy", FRENCH_COPIES, ids=[p.stem for p in FRENCH_COPIES])
def test_french_copies_follow_their_source(copy):
    """A French copy is the source's French cells, executed: rerun tools/nb_french.py --copies if this fails."""
    from kit.notebooks import in_language

    source = ROOT / "notebooks" / copy.name
    wanted = in_language(nbformat.read(source, as_version=4), source, "fr")
    have = nbformat.read(copy, as_version=4)
    assert [(c.cell_type, c.source) for c in have.cells] == [(c.cell_type, c.source) for c in wanted.cells]
    assert all(c.get("execution_count") for c in have.cells if c.cell_type == "code"), "stored executed (nbval)"


def test_shown_tables_say_oui_non_in_french_and_keep_english_untouched():
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame({"detected": [True, False], "delay_h": [1.25, np.nan], "is_leak": pd.array([True, None], "boolean"),
                          "value": [np.True_, 1234.5]})
    assert i18n.display_table(frame) is frame  # English: the frame itself, True/False as before
    with using("fr"):
        shown = i18n.display_table(frame, {"value": 1})
    assert list(shown.columns) == ["détectée", "délai (h)", _french_catalog()["is_leak"].string, "valeur"]
    assert shown.iloc[:, 0].tolist() == ["oui", "non"]
    assert shown.iloc[:, 1].tolist() == ["1,25", ""]
    assert shown.iloc[:, 2].tolist() == ["oui", ""]
    assert shown.iloc[:, 3].tolist() == ["oui", f"1{NNBSP}234,5"]
