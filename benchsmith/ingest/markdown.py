"""Markdown to plain text with headings, through markdown-it-py (MIT, CommonMark + tables).

The text keeps each heading as a line of its own (without the '#'), paragraphs with inline
markup removed, list items as "- " lines, table rows as "cell | cell" lines and code blocks
verbatim. YAML front matter is read for `title` and `date` and left out of the text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from benchsmith.ingest.base import (
    Converted,
    SkipFile,
    TextBuilder,
    decode_text,
    describe_head,
    looks_binary,
    normalise_newlines,
    parse_date,
    squash,
)

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_PARSER = MarkdownIt("commonmark").enable("table")


def _inline(token: Token) -> str:
    """The text of an inline token with markup dropped (link text and image alt text kept)."""
    out: list[str] = []
    for child in token.children or []:
        kind = child.type
        if kind in ("text", "text_special", "code_inline"):
            out.append(child.content)
        elif kind == "softbreak":
            out.append(" ")
        elif kind == "hardbreak":
            out.append("\n")
        elif kind == "image":
            out.append(_inline(child) if child.children else child.content)
    return "".join(out)


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    try:
        data = yaml.safe_load(m.group(1) or "")
    except yaml.YAMLError:
        return {}, text  # not front matter after all: keep it as text
    if not isinstance(data, dict):
        return {}, text
    return data, text[m.end():]


def _render(tokens: list[Token]) -> TextBuilder:
    out = TextBuilder()
    list_depth = 0
    item_first_par = False
    row: list[str] | None = None
    table = 0
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        kind = tok.type
        if kind == "heading_open":
            out.heading(_inline(tokens[i + 1]), int(tok.tag[1]))
            i += 3
            continue
        if kind in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
        elif kind in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
        elif kind == "list_item_open":
            item_first_par = True
        elif kind == "table_open":
            table += 1
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close":
            if row and any(row):
                out.line(" | ".join(row), group=f"table{table}")
            row = None
        elif kind == "inline" and row is not None:
            row.append(squash(_inline(tok)))
        elif kind == "inline":
            text = "\n".join(squash(part) for part in _inline(tok).split("\n"))
            if list_depth:
                out.line(("- " if item_first_par else "  ") + text)
                item_first_par = False
            else:
                out.paragraph(text)
        elif kind in ("fence", "code_block"):
            out.paragraph(tok.content.rstrip())
        elif kind == "html_block":
            out.paragraph(squash(_TAG.sub(" ", tok.content)))
        i += 1
    return out


def convert_markdown(path: Path) -> Converted:
    """Read a Markdown file into plain text with heading sections."""
    data = path.read_bytes()
    if looks_binary(data[:8192]):
        raise SkipFile("binary", f"binary data, not Markdown ({describe_head(data)})")
    raw, encoding, was_utf8 = decode_text(data)
    front, body = _front_matter(normalise_newlines(raw))
    text, sections = _render(_PARSER.parse(body)).build()
    if not text.strip():
        raise SkipFile("no_text", "the Markdown file has no text")
    title = squash(str(front.get("title") or "")) or None
    if title is None:
        title = next((s.heading for s in sections if s.level == 1), None)
    declared = None
    date_field = None
    for key in ("date", "updated", "modified", "last_modified"):
        declared = parse_date(front.get(key))
        if declared:
            date_field = f"front matter:{key}"
            break
    metadata: dict[str, Any] = {}
    if not was_utf8:
        metadata["encoding"] = encoding
    extra = {k: v for k, v in front.items() if k not in ("title", "date") and isinstance(v, (str, int, float, bool))}
    if extra:
        metadata["front_matter"] = extra
    return Converted(text=text, title=title, declared_date=declared, date_field=date_field, sections=sections,
                     metadata=metadata)
