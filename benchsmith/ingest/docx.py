"""Word (.docx) to text with headings, through python-docx (MIT).

Body paragraphs and tables are read in document order. A paragraph whose style (or a style
it is based on) is a built-in "Heading N" opens a level-N section; list paragraphs become
"- " lines and table rows "cell | cell" lines. Headers, footers and comments are left out.
"""

from __future__ import annotations

import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table
from docx.text.paragraph import Paragraph

from benchsmith.ingest.base import (
    Converted,
    SkipFile,
    TextBuilder,
    describe_head,
    looks_binary,
    parse_date,
    squash,
)

_ZIP_MAGIC = b"PK\x03\x04"
# Office files saved with a password are OLE compound files, not ZIPs (so is a legacy .doc).
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADING = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)
# python-docx's default template carries this creation stamp: a file made from it without
# setting dates declares nothing real, so its modified date is used instead.
_TEMPLATE_STAMP = datetime(2013, 12, 23, 23, 15, tzinfo=UTC)


def _check_magic(path: Path) -> None:
    with path.open("rb") as fh:
        head = fh.read(1024)
    if head.startswith(_OLE_MAGIC):
        raise SkipFile("encrypted", "an OLE compound file, not a .docx ZIP: a password-protected Word file "
                                    "(or a legacy .doc renamed to .docx)")
    if not head.startswith(_ZIP_MAGIC):
        if looks_binary(head):
            raise SkipFile("binary", f"binary data, not a Word document ({describe_head(head)})")
        raise SkipFile("corrupt", "not a Word document: a .docx file is a ZIP archive and this is not one")


def _heading_level(par: Paragraph) -> int | None:
    style: Any = par.style
    hops = 0
    while style is not None and hops < 10:  # custom heading styles are based on the built-in ones
        m = _HEADING.match(style.name or "")
        if m:
            return int(m.group(1))
        style = style.base_style
        hops += 1
    return None


def _is_list(par: Paragraph) -> bool:
    name = (par.style.name if par.style is not None else "") or ""
    if name.lower().startswith("list"):
        return True
    ppr = par._p.pPr
    return ppr is not None and ppr.numPr is not None


def _table_rows(table: Table) -> list[str]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell repeats in every grid column it spans
                continue
            seen.add(id(cell._tc))
            cells.append(squash(cell.text))
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


def convert_docx(path: Path) -> Converted:
    """Read a .docx file into text with heading sections."""
    _check_magic(path)
    if not zipfile.is_zipfile(path):
        raise SkipFile("corrupt", "a ZIP header but a broken archive (truncated or damaged .docx)")
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as err:
        raise SkipFile("corrupt", f"not a readable Word document: {err}") from None

    builder = TextBuilder()
    title_style_text: str | None = None
    for n, block in enumerate(document.iter_inner_content()):
        if isinstance(block, Table):
            for row in _table_rows(block):
                builder.line(row, group=f"table{n}")
            continue
        text = block.text
        if not text.strip():
            continue
        level = _heading_level(block)
        style_name = (block.style.name if block.style is not None else "") or ""
        if level is not None:
            builder.heading(text, level)
        elif style_name == "Title":
            title_style_text = title_style_text or squash(text)
            builder.paragraph(squash(text))
        elif _is_list(block):
            builder.line("- " + text.strip())
        else:
            builder.paragraph(text)
    text, sections = builder.build()
    if not text.strip():
        raise SkipFile("no_text", "the Word document has no text in its body")

    props = document.core_properties
    declared = None
    date_field = None
    for name in ("modified", "created"):
        value = getattr(props, name, None)
        if value is not None and value.replace(tzinfo=value.tzinfo or UTC) != _TEMPLATE_STAMP:
            declared = parse_date(value)
            if declared:
                date_field = f"docx:{name}"
                break
    metadata: dict[str, Any] = {}
    if props.author and props.author != "python-docx":
        metadata["author"] = props.author
    # Declared title: core properties, else a paragraph in the Title style (first heading: folder.py).
    title = squash(props.title or "") or title_style_text
    return Converted(text=text, title=title, declared_date=declared, date_field=date_field, sections=sections,
                     metadata=metadata)
