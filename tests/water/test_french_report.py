"""`kit run leak_detection --lang fr`: no English sentence left in the narrative, plots or shown tables.

The notebook really runs on the embedded L-Town scenario (a few minutes on two
busy cores). What the report shows is gathered as for irrigation
(:mod:`tests.french_report`): every English message of the kit's catalog whose
French differs must be absent from it, and so must English function words and
the leak vocabulary. Names a reader types or a file holds (code spans,
``alarms.csv``, ``leak_flow_lps``, node ids) are set aside first.
"""
import json
import re

import pytest

from tests.french_report import english_messages, figure_words, names_set_aside, read_run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

#: Words only English uses, and the leak words any English sentence left would carry.
ENGLISH_WORDS = {"the", "and", "of", "with", "from", "for", "is", "are", "by", "to", "this", "that", "which", "when",
                 "where", "per", "into", "than", "its", "their", "be", "has", "have", "not", "over", "under", "each",
                 "every", "more", "less", "only", "leak", "leaks", "alarm", "alarms", "sensor", "sensors", "pressure",
                 "flow", "night", "threshold", "residual", "readings", "best", "true", "false", "minus", "gap",
                 "stuck", "burst", "yes", "no"}


@pytest.fixture(scope="module")
def french_run(tmp_path_factory):
    from kit.cli import main

    out = tmp_path_factory.mktemp("fr") / "leak"
    assert main(["run", "leak_detection", "--lang", "fr", "--out", str(out), "--no-progress", "-p", "device", "cpu"]) == 0
    return read_run(out)


def test_every_figure_is_read(french_run):
    assert len(french_run["figures"]) == 3  # residuals and CUSUM, minimum night flow, candidate maps
    titles = [t for f in french_run["figures"] for t in f["titles"]]
    assert any(t.startswith("Débit minimum de nuit") for t in titles)
    assert any(re.fullmatch(r"A1\u00a0: \d+,\d\u202fL/s, meilleur nœud n\d+", t) for t in titles)


def test_no_catalog_message_left_in_english(french_run):
    pieces = english_messages()
    assert {"CUSUM over all sensors (alarm at 1)", "minimum night flow", "share explained", "threshold"} <= pieces
    shown = [names_set_aside(t) for t in french_run["prose"]]
    shown += [w for f in french_run["figures"] for w in figure_words(f)]
    text = "\n".join(shown)
    left = sorted(p for p in pieces if re.search(rf"(?<![\w-]){re.escape(p)}(?![\w-])", text))
    assert left == [], f"English left in the French report: {left}"


def test_no_english_words_in_prose_plots_or_tables(french_run):
    shown = [names_set_aside(t) for t in french_run["prose"] + french_run["headers"]]
    shown += [w for f in french_run["figures"] for w in figure_words(f)]
    english = sorted({w for t in shown for w in re.findall(r"[A-Za-z]+", t) if w.lower() in ENGLISH_WORDS})
    assert english == [], f"English words in the French report: {english}"


def test_shown_table_headers_are_french(french_run):
    headers = set(french_run["headers"])
    assert {"capteur", "anomalie", "alarme", "débit de fuite (L/s)", "début estimé", "valeur", "score économique (EUR)",
            "faux positifs", "nœud", "paramètre"} <= headers
    assert not headers & {"sensor_id", "flag", "alarm_id", "leak_flow_lps", "start_estimate", "value",
                          "economic_score_eur", "false_positives", "node", "parameter"}


def test_numbers_and_dates_in_french_style(french_run):
    text = "\n".join(french_run["prose"])
    assert re.search(r"\d{1,3}\u202f\d{3} relevés toutes les 5\u202fmin du 1 janvier 2024 00:00", text)
    assert re.search(r"médiane de \d+,\d\u202fmm sur \d+ capteurs", text)
    assert re.search(r"seuil du CUSUM à \d+,\d écarts-types", text)


def test_files_keep_their_english_columns(french_run):
    out = french_run["out"]
    assert (out / "alarms.csv").read_text().splitlines()[0] == "alarm_id,detected_at,start_estimate,leak_flow_lps,candidates,score"
    assert (out / "flags.csv").read_text().splitlines()[0] == "sensor_id,start,end,flag,count"
    assert "economic_score_eur" in json.loads((out / "metrics.json").read_text())
    tags = [t for c in french_run["nb"]["cells"] for t in c.get("metadata", {}).get("tags", [])]
    assert "lang-en" not in tags and "lang-fr" in tags
    assert json.loads((out / "manifest.json").read_text())["parameters"]["lang"] == "fr"
