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

from kit.water import notebook as nbk
from tests.french_report import assert_no_english_left, run_in_french

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

#: Words only English uses, and the leak words any English sentence left would carry.
ENGLISH_WORDS = {"the", "and", "of", "with", "from", "for", "is", "are", "by", "to", "this", "that", "which", "when",
                 "where", "per", "into", "than", "its", "their", "be", "has", "have", "not", "over", "under", "each",
                 "every", "more", "less", "only", "leak", "leaks", "alarm", "alarms", "sensor", "sensors", "pressure",
                 "flow", "night", "threshold", "residual", "readings", "best", "true", "false", "minus", "gap",
                 "stuck", "burst", "yes", "no", "junctions", "pipes", "tanks", "valves", "pumps"}

#: Names a reader types, kept English in the French parameter docs: the parameters and the input files' columns.
TYPED_NAMES = set(nbk.PARAMETERS.names) | {"timestamp", "tag", "value", "unit", "kind", "element", "pipe", "start",
                                           "end", "type", "peak"}


@pytest.fixture(scope="module")
def french_run(tmp_path_factory):
    run = run_in_french(tmp_path_factory.mktemp("fr"), "leak_detection")
    typed = "|".join(sorted(TYPED_NAMES))
    run["prose"] = [re.sub(rf"(?<![\w-])({typed})(?![\w-])", " ", t) for t in run["prose"]]
    return run


def test_every_figure_is_read(french_run):
    assert len(french_run["figures"]) == 3  # residuals and CUSUM, minimum night flow, candidate maps
    titles = [t for f in french_run["figures"] for t in f["titles"]]
    assert any(t.startswith("Débit minimum de nuit") for t in titles)
    assert any(re.fullmatch(r"A1\u00a0: \d+,\d\u202fL/s, meilleur nœud n\d+", t) for t in titles)


def test_no_catalog_message_nor_english_word_left(french_run):
    """Narrative, printed lines, plots and shown tables: catalog messages and English words."""
    assert_no_english_left(french_run, {"CUSUM over all sensors (alarm at 1)", "minimum night flow", "share explained", "threshold"}, ENGLISH_WORDS)


def test_shown_table_headers_are_french(french_run):
    headers = set(french_run["headers"])
    assert {"capteur", "anomalie", "alarme", "débit de fuite (L/s)", "début estimé", "valeur", "score économique (EUR)",
            "faux positifs", "nœud", "paramètre"} <= headers
    assert not headers & {"sensor_id", "flag", "alarm_id", "leak_flow_lps", "start_estimate", "value", "start", "end",
                          "economic_score_eur", "false_positives", "node", "parameter"}


def test_numbers_and_dates_in_french_style(french_run):
    text = "\n".join(french_run["prose"])
    assert re.search(r"\d{1,3}\u202f\d{3} relevés toutes les 5\u202fmin du 1 janvier 2024 00:00", text)
    assert re.search(r"médiane de \d+,\d\u202fmm sur \d+ capteurs", text)
    assert re.search(r"seuil du CUSUM à \d+,\d écarts-types", text)
    assert re.search(r"réseau L-TOWN\u00a0: \d+ nœuds, \d+ conduites", text)
    assert "brusque" in text and "abrupt" not in text  # the leak types, shown in French


def test_files_keep_their_english_columns(french_run):
    out = french_run["out"]
    assert (out / "alarms.csv").read_text().splitlines()[0] == "alarm_id,detected_at,start_estimate,leak_flow_lps,candidates,score"
    assert (out / "flags.csv").read_text().splitlines()[0] == "sensor_id,start,end,flag,count"
    assert "economic_score_eur" in json.loads((out / "metrics.json").read_text())
    tags = [t for c in french_run["nb"]["cells"] for t in c.get("metadata", {}).get("tags", [])]
    assert "lang-en" not in tags and "lang-fr" in tags
    assert json.loads((out / "manifest.json").read_text())["parameters"]["lang"] == "fr"
