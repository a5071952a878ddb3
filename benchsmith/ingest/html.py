"""HTML to text with headings, through BeautifulSoup (MIT) on the lxml parser.

h1–h6 become sections; script, style, nav, and other non-content elements are dropped;
block elements become paragraphs, list items "- " lines and table rows "cell | cell" lines.
The title is <title>, the date a <meta> date (modified before published).
"""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup, Tag
from bs4.dammit import EncodingDetector
from bs4.element import CData, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction

from benchsmith.ingest.base import (
    Converted,
    SkipFile,
    TextBuilder,
    decode_text,
    describe_head,
    looks_binary,
    parse_date,
    squash,
)

_DROP = frozenset({"script", "style", "nav", "noscript", "template", "svg", "canvas", "iframe", "object", "embed",
                   "head", "button", "select", "input", "textarea", "map", "audio", "video"})
_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_BLOCKS = frozenset({"p", "div", "section", "article", "main", "header", "footer", "aside", "blockquote",
                     "figure", "figcaption", "form", "fieldset", "address", "details", "summary", "dl", "dd",
                     "dt", "ul", "ol", "caption", "center", "hgroup", "body", "html"})
_SKIP_STRINGS = (Comment, Doctype, Declaration, ProcessingInstruction, CData)
# Most specific first: a page's last-modified date is the one that says how current it is.
_DATE_META = ("dcterms.modified", "article:modified_time", "last-modified", "revised", "date", "dc.date",
              "dcterms.date", "dcterms.created", "article:published_time", "dc.date.created")


class _Walker:
    """Depth-first walk that keeps a buffer of inline text and flushes it at block boundaries."""

    def __init__(self) -> None:
        self.out = TextBuilder()
        self.buf: list[str] = []

    def flush(self) -> None:
        if self.buf:
            # Inline whitespace collapses as a browser would; <br> survives as a newline.
            text = "\n".join(squash(part) for part in "".join(self.buf).split("\x00"))
            self.buf = []
            self.out.paragraph(text)

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, _SKIP_STRINGS):
                    self.buf.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name
            if name in _DROP:
                continue
            if name in _HEADINGS:
                self.flush()
                self.out.heading(child.get_text(" "), _HEADINGS[name])
            elif name == "br":
                self.buf.append("\x00")  # placeholder: squash() would eat a real newline
            elif name == "pre":
                self.flush()
                self.out.paragraph(child.get_text())
            elif name == "li":
                self.flush()
                self.walk_item(child)
            elif name == "table":
                self.flush()
                group = f"table{id(child)}"
                for row in child.find_all("tr"):
                    cells = [squash(c.get_text(" ")) for c in row.find_all(("td", "th"))]
                    if any(cells):
                        self.out.line(" | ".join(cells), group=group)
            elif name in _BLOCKS:
                self.flush()
                self.walk(child)
                self.flush()
            else:
                self.walk(child)

    def walk_item(self, li: Tag) -> None:
        """A list item: its own text on a '- ' line, nested lists after it."""
        nested: list[Tag] = []
        for child in li.children:
            if isinstance(child, Tag) and child.name in ("ul", "ol"):
                nested.append(child)
            elif isinstance(child, Tag) and child.name in _DROP:
                continue
            elif isinstance(child, NavigableString):
                if not isinstance(child, _SKIP_STRINGS):
                    self.buf.append(str(child))
            elif isinstance(child, Tag):
                self.buf.append(child.get_text(" "))
        text = squash("".join(self.buf))
        self.buf = []
        if text:
            self.out.line("- " + text)
        for lst in nested:
            for item in lst.find_all("li", recursive=False):
                self.walk_item(item)


def _decode(data: bytes) -> tuple[str, str, bool]:
    declared = EncodingDetector.find_declared_encoding(data, is_html=True)
    if declared:
        try:
            return data.decode(declared), declared, declared.lower().replace("_", "-") in ("utf-8", "utf8")
        except (UnicodeDecodeError, LookupError):
            pass  # a wrong <meta charset> is common; detect instead
    return decode_text(data)


def convert_html(path: Path) -> Converted:
    """Read an HTML file into text with heading sections."""
    data = path.read_bytes()
    if looks_binary(data[:8192]):
        raise SkipFile("binary", f"binary data, not HTML ({describe_head(data)})")
    markup, encoding, was_utf8 = _decode(data)
    soup = BeautifulSoup(markup, "lxml")
    title_tag = soup.find("title")
    title = squash(title_tag.get_text()) if title_tag else ""
    declared = None
    date_field = None
    metas: dict[str, object] = {}
    for meta in soup.find_all("meta"):
        key = (meta.get("name") or meta.get("property") or meta.get("http-equiv") or "")
        if isinstance(key, str) and key and meta.get("content"):
            metas.setdefault(key.lower(), meta.get("content"))
    for key in _DATE_META:
        declared = parse_date(metas.get(key))
        if declared:
            date_field = f"html:meta {key}"
            break

    walker = _Walker()
    walker.walk(soup.body or soup)
    walker.flush()
    text, sections = walker.out.build()
    if not text.strip():
        raise SkipFile("no_text", "the HTML page has no visible text")
    metadata: dict[str, object] = {}
    if not was_utf8:
        metadata["encoding"] = encoding
    return Converted(text=text, title=title or None, declared_date=declared, date_field=date_field,
                     sections=sections, metadata=metadata)
