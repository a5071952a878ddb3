"""PDF to text with pages and outline headings, through pypdfium2 (PDFium, Apache-2.0/BSD).

Pages are read one at a time and closed before the next, so only one page's layout is ever
held in memory (the file itself is read lazily by PDFium from disk): a 500-page PDF costs
the size of its text, not of its pages. Sections come from the PDF outline (bookmarks),
placed where the bookmark's title appears on its page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pypdfium2 as pdfium

from benchsmith.documents import PageSpan
from benchsmith.ingest.base import (
    Converted,
    SkipFile,
    close_sections,
    describe_head,
    looks_binary,
    parse_date,
    squash,
)

# pdfium error codes (FPDF_ERR_*): 3 = format, 4 = password, 5 = security handler.
_ERR_PASSWORD = 4
_ERR_SECURITY = 5
_PAGE_SEP = "\n\n"
# Below this many non-space characters in the whole file there is no text layer to speak of
# (a scanned file with an OCR'd page number is still a scan).
_MIN_TEXT_CHARS = 16
_TRAILING_WS = re.compile(r"[ \t]+\n")
_BLANK_RUNS = re.compile(r"\n{3,}")
# PDFium marks soft hyphens and unmapped glyphs with these.
_JUNK = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\ufffe\uffff]")


def _clean_page(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _JUNK.sub("", text)
    text = _TRAILING_WS.sub("\n", text)
    return _BLANK_RUNS.sub("\n\n", text).strip()


def _open(path: Path) -> pdfium.PdfDocument:
    with path.open("rb") as fh:
        head = fh.read(1024)
    if b"%PDF-" not in head:
        if looks_binary(head):
            raise SkipFile("binary", f"binary data, not a PDF (no %PDF- header; {describe_head(head)})")
        raise SkipFile("corrupt", "not a PDF: no %PDF- header in the first 1024 bytes")
    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as err:
        code = getattr(err, "err_code", None)
        if code in (_ERR_PASSWORD, _ERR_SECURITY):
            raise SkipFile("encrypted", "password-protected PDF (needs a password to open)") from None
        raise SkipFile("corrupt", f"PDFium cannot read it: {err}") from None


def _find_heading(page_text: str, title: str) -> int:
    """Offset of a bookmark title on its page (whitespace-insensitive), or 0 (the page top)."""
    words = title.split()
    if not words:
        return 0
    pattern = r"\s+".join(re.escape(w) for w in words)
    m = re.search(pattern, page_text) or re.search(pattern, page_text, re.IGNORECASE)
    return m.start() if m else 0


def convert_pdf(path: Path) -> Converted:
    """Read a PDF page by page into text, page spans and outline sections."""
    pdf = _open(path)
    try:
        n_pages = len(pdf)
        meta = {k: v for k, v in pdf.get_metadata_dict(skip_empty=True).items() if isinstance(v, str)}
        parts: list[str] = []
        pages: list[PageSpan] = []
        offset = 0
        empty_pages = 0
        failed_pages: list[int] = []
        for i in range(n_pages):
            try:
                page = pdf[i]
                try:
                    textpage = page.get_textpage()
                    try:
                        text = _clean_page(textpage.get_text_range())
                    finally:
                        textpage.close()
                finally:
                    page.close()
            except pdfium.PdfiumError:
                # One broken page does not lose the rest of the file.
                failed_pages.append(i + 1)
                text = ""
            if not text:
                empty_pages += 1
            if parts:
                parts.append(_PAGE_SEP)
                offset += len(_PAGE_SEP)
            parts.append(text)
            pages.append(PageSpan(page=i + 1, start=offset, end=offset + len(text)))
            offset += len(text)
        text = "".join(parts)
        # str.count runs in C: cheap even for a 500-page text.
        if len(text) - sum(text.count(c) for c in " \n\t\xa0") < _MIN_TEXT_CHARS:
            raise SkipFile("no_text_layer", f"no extractable text on any of its {n_pages} page(s) "
                                            "(scanned or image-only PDF; OCR is not done)")
        headings: list[tuple[int, int, str]] = []
        try:
            toc = list(pdf.get_toc())
        except pdfium.PdfiumError:
            toc = []
        for bm in toc:
            title = squash(bm.get_title() or "")
            dest = bm.get_dest()
            index = dest.get_index() if dest is not None else None
            if not title or index is None or not (0 <= index < n_pages):
                continue
            span = pages[index]
            start = span.start + _find_heading(text[span.start:span.end], title)
            headings.append((start, bm.level + 1, title))
    finally:
        pdf.close()

    sections = close_sections(headings, len(text))
    declared = None
    date_field = None
    for key in ("ModDate", "CreationDate"):
        declared = parse_date(meta.get(key))
        if declared:
            date_field = f"pdf:{key}"
            break
    doc_title = squash(meta.get("Title", "")) or None
    metadata: dict[str, object] = {"page_count": n_pages}
    if empty_pages:
        metadata["pages_without_text"] = empty_pages
    if failed_pages:
        metadata["pages_failed"] = failed_pages
    for key in ("Author", "Subject", "Producer"):
        if meta.get(key):
            metadata[key.lower()] = meta[key]
    return Converted(text=text, title=doc_title, declared_date=declared, date_field=date_field, pages=pages,
                     sections=sections, metadata=metadata)
