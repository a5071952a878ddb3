"""Builders for test documents: real files made with real libraries (fpdf2, Pillow, python-docx).

Every builder writes one file and returns its path. PDFs are drawn line by line with
`FPDF.text` (fast: a 500-page PDF takes well under a second) using the core Helvetica
font, so their text must be Latin-1.
"""

from __future__ import annotations

import io
import random
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

Block = tuple[str, object]  # ("h1".."h6" | "p" | "bullet" | "title" | "table", text or rows)

_LINE_MM = 5.5
_TOP_MM = 20.0
_BOTTOM_MM = 280.0
_WRAP = 95


def _pdf(title: str | None, created: datetime | None) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    if title:
        pdf.set_title(title)
    # A fixed date keeps the bytes (and the content hash) of a rebuilt file stable.
    pdf.set_creation_date(created or datetime(2024, 1, 2, tzinfo=UTC))
    return pdf


def make_pdf(path: Path, pages: Sequence[Sequence[Block]], *, title: str | None = None,
             created: datetime | None = None) -> Path:
    """A text PDF: each page a list of blocks; ("h1", text) .. ("h3", text) draw a heading and add
    an outline entry (bookmark) at that level; ("p", text) draws a wrapped paragraph."""
    pdf = _pdf(title, created)
    for blocks in pages:
        pdf.add_page()
        y = _TOP_MM
        for kind, value in blocks:
            text = str(value)
            if kind.startswith("h"):
                level = int(kind[1])
                pdf.set_font("Helvetica", "B", 16 - 2 * level)
                pdf.set_y(y - 4)
                pdf.start_section(text, level=level - 1)
                pdf.text(15, y, text)
                y += _LINE_MM * 1.6
            else:
                pdf.set_font("Helvetica", size=10)
                for line in textwrap.wrap(text, _WRAP):
                    if y > _BOTTOM_MM:
                        raise ValueError("too much text for one page; split it over more pages")
                    pdf.text(15, y, line)
                    y += _LINE_MM
                y += _LINE_MM * 0.6
    pdf.output(str(path))
    return path


def big_pdf_page_text(n: int) -> str:
    """The paragraph on page n of `make_big_pdf` (about 2,500 characters, unique per page)."""
    rng = random.Random(n)
    words = ["tide", "harbor", "robot", "sensor", "current", "battery", "hull", "sweep", "pump", "valve",
             "dock", "crew", "depth", "signal", "filter", "motor", "anchor", "survey", "keel", "pier"]
    sentences = [f"Marker sentence for page {n} of the long manual."]
    while sum(len(s) for s in sentences) < 2500:
        k = rng.randint(8, 16)
        sentences.append(" ".join(rng.choice(words) for _ in range(k)).capitalize() + ".")
    return " ".join(sentences)


def make_big_pdf(path: Path, n_pages: int = 500, *, chapter_every: int = 50) -> Path:
    """A long text PDF: every page holds `big_pdf_page_text(page)`, a chapter bookmark every
    `chapter_every` pages."""
    pages: list[list[Block]] = []
    for n in range(1, n_pages + 1):
        blocks: list[Block] = []
        if (n - 1) % chapter_every == 0:
            blocks.append(("h1", f"Chapter {(n - 1) // chapter_every + 1}"))
        blocks.append(("p", big_pdf_page_text(n)))
        pages.append(blocks)
    return make_pdf(path, pages, title="Long Manual")


def make_image_only_pdf(path: Path, n_pages: int = 2) -> Path:
    """A 'scanned' PDF: each page one embedded PNG (drawn text-like strokes), no text layer."""
    from PIL import Image, ImageDraw

    pdf = _pdf(None, None)
    for n in range(n_pages):
        img = Image.new("RGB", (600, 800), "white")
        draw = ImageDraw.Draw(img)
        for row in range(40, 760, 24):
            draw.rectangle((40, row, 560 - (row * 7 + n * 13) % 200, row + 10), fill="black")
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        pdf.add_page()
        pdf.image(buf, x=0, y=0, w=210)
    pdf.output(str(path))
    return path


def make_encrypted_pdf(path: Path, text: str = "Confidential salary bands for 2025.") -> Path:
    """A PDF that needs a user password to open."""
    pdf = _pdf("Secret", None)
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.text(15, 20, text)
    pdf.set_encryption(owner_password="owner-secret", user_password="user-secret")
    pdf.output(str(path))
    return path


def make_docx(path: Path, blocks: Sequence[Block], *, title: str | None = None,
              created: datetime | None = None, modified: datetime | None = None) -> Path:
    """A Word file: ("title", text), ("h1".."h9", text), ("p", text), ("bullet", text),
    ("table", [[cell, ...], ...]); core properties title/created/modified when given."""
    import docx

    document = docx.Document()
    for kind, value in blocks:
        if kind == "title":
            document.add_heading(str(value), 0)
        elif kind.startswith("h"):
            document.add_heading(str(value), int(kind[1]))
        elif kind == "bullet":
            document.add_paragraph(str(value), style="List Bullet")
        elif kind == "table":
            rows = list(value)  # type: ignore[call-overload]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = str(cell)
        else:
            document.add_paragraph(str(value))
    props = document.core_properties
    if title is not None:
        props.title = title
    if created is not None:
        props.created = created
    if modified is not None:
        props.modified = modified
    document.save(str(path))
    return path


def write_html(path: Path, body: str, *, title: str | None = None, meta_date: str | None = None,
               charset: str = "utf-8", encoding: str = "utf-8") -> Path:
    """An HTML page around `body` (raw HTML), with <title> and <meta name="date"> when given."""
    head = f'<meta charset="{charset}">'
    if title:
        head += f"<title>{title}</title>"
    if meta_date:
        head += f'<meta name="date" content="{meta_date}">'
    html = f"<!DOCTYPE html>\n<html><head>{head}</head>\n<body>\n{body}\n</body></html>\n"
    path.write_bytes(html.encode(encoding))
    return path


def write_markdown(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


LATIN1_TEXT = ("Politique de télétravail\n\nLes employés doivent être joignables entre 10 h et 15 h. "
               "Le café est offert à Genève et à Zürich; la crème brûlée aussi.\n")


def write_latin1_text(path: Path, text: str = LATIN1_TEXT) -> Path:
    """A text file in Latin-1 (not valid UTF-8: é is one byte 0xE9)."""
    path.write_bytes(text.encode("latin-1"))
    return path


def write_corrupt_pdf(path: Path) -> Path:
    """Starts like a PDF, then nothing a PDF reader can parse."""
    path.write_bytes(b"%PDF-1.7\n" + b"this is not an object table, just words\n" * 50)
    return path


def write_truncated_docx(path: Path) -> Path:
    """A real .docx cut in half: a ZIP header, but a broken archive."""
    full = make_docx(path, [("h1", "Heading"), ("p", "Some text " * 200)])
    data = full.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def write_binary(path: Path, n_bytes: int = 4096, seed: int = 0) -> Path:
    """Random bytes (with NULs), e.g. under a .pdf or .docx name."""
    data = bytearray(random.Random(seed).randbytes(n_bytes))
    data[0] = 0x89  # a PNG-like first byte, never '%PDF' or 'PK'
    data[1:4] = b"\x00\x01\x02"
    path.write_bytes(bytes(data))
    return path
