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
from html.parser import HTMLParser

import pytest

from kit import i18n

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

#: Words that only English uses, and that any English sentence left would carry.
ENGLISH_WORDS = {"the", "and", "of", "with", "from", "for", "is", "are", "by", "to", "this", "that", "which", "when",
                 "where", "per", "into", "than", "its", "their", "be", "has", "have", "not", "over", "under", "each",
                 "every", "more", "less", "only", "fields", "field", "water", "yield", "days", "day", "used", "saves"}


class _Text(HTMLParser):
    """Visible text of an HTML fragment, without code, styles and scripts; table headers apart."""

    def __init__(self):
        super().__init__()
        self.text, self.headers, self._skip, self._in_th = [], [], 0, False

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("code", "style", "script")
        self._in_th = self._in_th or tag == "th"
        alt = dict(attrs).get("alt")
        if tag == "img" and alt:
            self.text.append(alt)

    def handle_endtag(self, tag):
        self._skip -= tag in ("code", "style", "script")
        self._in_th = self._in_th and tag != "th"

    def handle_data(self, data):
        if not self._skip and data.strip():
            (self.headers if self._in_th else self.text).append(data.strip())


def _visible(html: str) -> _Text:
    parser = _Text()
    parser.feed(html)
    return parser


def _names_set_aside(text: str) -> str:
    """Text without what is not prose: code spans, quoted values, paths, identifiers, URLs."""
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"'[^'\s]*'", " ", text)
    text = re.sub(r"\S*[_/.]\S*\w", " ", text)  # field_id, schedule.csv, datasets/irrigation/README.md, (ERA5(-Land)
    return text


@pytest.fixture(scope="module")
def french_run(tmp_path_factory):
    from kit.cli import main

    out = tmp_path_factory.mktemp("fr") / "irrigation"
    assert main(["run", "irrigation_planning", "--lang", "fr", "--out", str(out), "--no-progress", "-p", "device", "cpu"]) == 0
    nb = json.loads((out / "notebook.ipynb").read_text(encoding="utf-8"))
    prose, headers, figures = [], [], []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            prose.append("".join(cell["source"]))
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if output.get("output_type") == "stream":
                prose.append("".join(output["text"]))
            elif "text/html" in data:
                page = _visible("".join(data["text/html"]))
                prose += page.text
                headers += page.headers
            elif "text/plain" in data and "image/png" not in data:
                prose.append("".join(data["text/plain"]))
            if "image/png" in data:
                figures.append(output["metadata"]["kit"]["figure_text"])
    report = _visible((out / "report.html").read_text(encoding="utf-8"))
    return {"out": out, "nb": nb, "prose": prose + report.text, "headers": headers + report.headers, "figures": figures}


def _english_messages():
    """The catalog's English messages whose French differs, as the pieces of text between placeholders."""
    from babel.messages.pofile import read_po

    with open(i18n.catalog_path("fr"), "rb") as fh:
        catalog = read_po(fh, locale="fr")
    pieces = set()
    for m in catalog:
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        for english in ids:
            if not english or english in strings:
                continue
            for piece in re.split(r"\{[^}]*\}", english):
                piece = piece.strip(" ,.;:")
                # a lone word only when it is the whole message ("wheat"): "plan" and "points" are French too
                if len(piece.split()) >= 2 or (piece == english and re.fullmatch(r"[A-Za-z]{3,}", piece)):
                    pieces.add(piece)
    return pieces


def _words(figure: dict) -> list[str]:
    return [t for key in ("titles", "labels", "legend", "text", "ticks") for t in figure[key]]


def test_every_figure_is_read(french_run):
    assert len(french_run["figures"]) == 3  # ET0, strategies, depletion (no map: the fields are a table)
    assert any("Évapotranspiration de référence ET0" in t for t in french_run["figures"][0]["titles"])


def test_no_catalog_message_left_in_english(french_run):
    pieces = _english_messages()
    assert {"Against the fixed calendar, the", "relative yield (FAO-33 Ky)", "wheat", "calendar"} <= pieces
    shown = [_names_set_aside(t) for t in french_run["prose"]] + [w for f in french_run["figures"] for w in _words(f)]
    text = "\n".join(shown)
    left = sorted(p for p in pieces if re.search(rf"(?<![\w-]){re.escape(p)}(?![\w-])", text))
    assert left == [], f"English left in the French report: {left}"


def test_no_english_words_in_prose_plots_or_tables(french_run):
    shown = [_names_set_aside(t) for t in french_run["prose"] + french_run["headers"]]
    shown += [w for f in french_run["figures"] for w in _words(f)]
    english = sorted({w for t in shown for w in re.findall(r"[A-Za-z]+", t) if w.lower() in ENGLISH_WORDS})
    assert english == [], f"English words in the French report: {english}"


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
