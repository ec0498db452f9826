"""What a French report shows, gathered from a run's folder, for the tests that look for English left in it.

``tests/agro/test_french_report.py`` and ``tests/water/test_french_report.py``
use it: markdown, printed lines, HTML tables (headers apart) and each figure's
words (``kit.plotting.show`` stores them with the figure) from the executed
notebook, and the text of ``report.html``.
"""
import json
import re
from html.parser import HTMLParser

from kit import i18n


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


def visible_text(html: str) -> _Text:
    parser = _Text()
    parser.feed(html)
    return parser


def names_set_aside(text: str) -> str:
    """Text without what is not prose: code spans, quoted values, paths, identifiers, URLs."""
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"'[^'\s]*'", " ", text)
    text = re.sub(r"\S*[_/.]\S*\w", " ", text)  # field_id, schedule.csv, datasets/irrigation/README.md, (ERA5(-Land)
    return text


def english_messages():
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


def figure_words(figure: dict) -> list[str]:
    return [t for key in ("titles", "labels", "legend", "text", "ticks") for t in figure[key]]


def run_in_french(folder, name: str) -> dict:
    """``kit run NAME --lang fr`` (CPU) into ``folder/NAME``, read by :func:`read_run`."""
    from kit.cli import main

    out = folder / name
    assert main(["run", name, "--lang", "fr", "--out", str(out), "--no-progress", "-p", "device", "cpu"]) == 0
    return read_run(out)


def read_run(out) -> dict:
    """The executed notebook of the run in ``out`` and what its report shows: prose, table headers, figures' words."""
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
                page = visible_text("".join(data["text/html"]))
                prose += page.text
                headers += page.headers
            elif "text/plain" in data and "image/png" not in data:
                prose.append("".join(data["text/plain"]))
            if "image/png" in data:
                figures.append(output["metadata"]["kit"]["figure_text"])
    report = visible_text((out / "report.html").read_text(encoding="utf-8"))
    return {"out": out, "nb": nb, "prose": prose + report.text, "headers": headers + report.headers, "figures": figures}


def messages_left(run: dict, pieces) -> list[str]:
    """The English catalog pieces still found in what the run's report shows (prose and figures)."""
    shown = [names_set_aside(t) for t in run["prose"]] + [w for f in run["figures"] for w in figure_words(f)]
    text = "\n".join(shown)
    return sorted(p for p in pieces if re.search(rf"(?<![\w-]){re.escape(p)}(?![\w-])", text))


def english_words_left(run: dict, words) -> list[str]:
    """The ``words`` (lower case) found in the run's prose, table headers or figures."""
    shown = [names_set_aside(t) for t in run["prose"] + run["headers"]]
    shown += [w for f in run["figures"] for w in figure_words(f)]
    return sorted({w for t in shown for w in re.findall(r"[A-Za-z]+", t) if w.lower() in words})


def assert_no_english_left(run: dict, expected_pieces: set, words: set) -> None:
    """No English catalog message (``expected_pieces`` must be among them) nor any of ``words`` in the report."""
    pieces = english_messages()
    assert expected_pieces <= pieces
    left = messages_left(run, pieces)
    assert left == [], f"English left in the French report: {left}"
    english = english_words_left(run, words)
    assert english == [], f"English words in the French report: {english}"
