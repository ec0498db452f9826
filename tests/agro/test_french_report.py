"""`kit run irrigation_planning --lang fr`: no English sentence left in the narrative, plots or shown tables.

The notebook really runs (about a minute on two cores). What the report shows
is gathered from the executed notebook (markdown, printed lines, HTML tables,
and each figure's words, which ``kit.plotting.show`` stores with it) and from
``report.html``; every English message of the kit's catalog whose French
differs must be absent from it, and so must English function words. Names a
reader types or a file holds (code spans, quoted values, ``field_id``,
``schedule.csv``) stay as they are, so they are set aside first.
"""
import json
import re

import pytest

from tests.french_report import assert_no_english_left, run_in_french

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

#: Words that only English uses, and that any English sentence left would carry.
ENGLISH_WORDS = {"the", "and", "of", "with", "from", "for", "is", "are", "by", "to", "this", "that", "which", "when",
                 "where", "per", "into", "than", "its", "their", "be", "has", "have", "not", "over", "under", "each",
                 "every", "more", "less", "only", "fields", "field", "water", "yield", "days", "day", "used", "saves"}


@pytest.fixture(scope="module")
def french_run(tmp_path_factory):
    return run_in_french(tmp_path_factory.mktemp("fr"), "irrigation_planning")


def test_every_figure_is_read(french_run):
    assert len(french_run["figures"]) == 3  # ET0, strategies, depletion (no map: the fields are a table)
    assert any("Évapotranspiration de référence ET0" in t for t in french_run["figures"][0]["titles"])


def test_no_catalog_message_nor_english_word_left(french_run):
    """Narrative, printed lines, plots and shown tables: catalog messages and English words."""
    assert_no_english_left(french_run, {"Against the fixed calendar, the", "relative yield (FAO-33 Ky)", "wheat", "calendar"}, ENGLISH_WORDS)


def test_shown_table_headers_are_french(french_run):
    headers = set(french_run["headers"])
    assert {"eau (m³)", "rendement relatif", "dose brute (mm)", "volume (m³)", "paramètre", "signification"} <= headers
    assert not headers & {"water_m3", "relative_yield", "depth_mm", "volume_m3", "parameter", "meaning"}


def test_numbers_and_dates_in_french_style(french_run):
    text = "\n".join(french_run["prose"])
    assert re.search(r"consomme \d{1,3}(\u202f\d{3})+\u202fm³ d’eau de plus", text)  # the headline
    assert re.search(r"\d+,\d\u202f% du plan", text)
    assert re.search(r"\b\d{1,2} (septembre|octobre|novembre|décembre) 2021\b", text)  # the schedule's dates


def test_files_keep_their_english_columns_and_the_report_says_so(french_run):
    out = french_run["out"]
    assert (out / "schedule.csv").read_text().splitlines()[0] == "field_id,date,depth_mm,volume_m3"
    assert (out / "strategies.csv").read_text().splitlines()[0].startswith("strategy,water_m3,relative_yield")
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "gardent leurs noms de colonnes documentés, en anglais" in report and '<html lang="fr"' in report
    tags = [t for c in french_run["nb"]["cells"] for t in c.get("metadata", {}).get("tags", [])]
    assert "lang-en" not in tags and "lang-fr" in tags
    assert json.loads((out / "manifest.json").read_text())["parameters"]["lang"] == "fr"


def test_figure_ticks_use_the_decimal_comma(french_run):
    ticks = [t for f in french_run["figures"] for t in f["ticks"]]
    assert any(re.fullmatch(r"−?\d+,\d+", t) for t in ticks), ticks  # the depletion's 0,2 ... or ET0's 2,5 ...
    assert not [t for t in ticks if re.fullmatch(r"−?\d+\.\d+", t)]
