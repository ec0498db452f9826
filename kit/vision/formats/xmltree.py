"""A small XML tree that remembers the line of each element, so errors can name ``file:line``.

:mod:`xml.etree.ElementTree` keeps no line numbers; expat reports them as it
parses. External entities are never fetched and parameter entities not
parsed (CVAT and VOC files use neither).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from kit.errors import InputDataError
from kit.i18n import _


@dataclass
class Node:
    """One element: tag, attributes, line in the file (from 1), children and stripped text."""

    tag: str
    attrib: dict
    line: int
    children: list = field(default_factory=list)
    text: str = ""

    def find(self, tag: str) -> "Node | None":
        return next((c for c in self.children if c.tag == tag), None)

    def findall(self, tag: str) -> list:
        return [c for c in self.children if c.tag == tag]

    def findtext(self, tag: str, default: str | None = None) -> str | None:
        c = self.find(tag)
        return default if c is None else c.text

    def iter(self, tag: str):
        """Every descendant (and self) with this tag, in document order."""
        if self.tag == tag:
            yield self
        for c in self.children:
            yield from c.iter(tag)


def parse(path: Path, shown: str | None = None) -> Node:
    """The root :class:`Node` of an XML file; a one-line :class:`InputDataError` with ``file:line`` if it is not well formed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "a.xml"
    >>> _ = f.write_text("<annotation>\\n  <object><name> truck </name></object>\\n</annotation>\\n")
    >>> root = parse(f)
    >>> root.find("object").line, root.find("object").findtext("name")
    (2, 'truck')
    """
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[Node] = []
    texts: list[list[str]] = []
    top: list[Node] = []

    def start(tag, attrs):
        node = Node(tag, attrs, parser.CurrentLineNumber)
        (stack[-1].children if stack else top).append(node)
        stack.append(node)
        texts.append([])

    def end(tag):
        stack.pop().text = "".join(texts.pop()).strip()

    def chars(data):
        if texts:
            texts[-1].append(data)

    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, chars
    name = shown or str(path)
    try:
        with open(path, "rb") as fh:
            parser.ParseFile(fh)
    except expat.ExpatError as exc:
        raise InputDataError(_("{name}:{line}: not well-formed XML ({error}); fix the file or export it again").format(
            name=name, line=exc.lineno, error=expat.errors.messages[exc.code])) from None
    except OSError as exc:
        raise InputDataError(_("{name}: cannot be read ({error}); check the path and permissions").format(
            name=name, error=exc.strerror)) from None
    return top[0]
