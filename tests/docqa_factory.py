"""Documents and chunks built directly in memory (no ingestion), for the document-QA stage tests."""

from __future__ import annotations

from collections.abc import Sequence

from benchsmith.documents import Chunk, Document, Section
from benchsmith.records import content_hash


def make_document(path: str, paragraphs: Sequence[str], *, title: str | None = None,
                  headings: Sequence[str | None] | None = None) -> Document:
    """A markdown-ish document: paragraphs separated by blank lines, optional heading per paragraph."""
    text_parts: list[str] = []
    sections: list[Section] = []
    pos = 0
    for i, para in enumerate(paragraphs):
        heading = headings[i] if headings else None
        if heading:
            block = f"{heading}\n{para}"
            sections.append(Section(heading=heading, level=1, start=pos, end=pos + len(block)))
        else:
            block = para
        text_parts.append(block)
        pos += len(block) + 2
    text = "\n\n".join(text_parts)
    doc_id = content_hash("doc", path, text)
    return Document(id=doc_id, path=path, format="markdown", title=title or path.rsplit("/", 1)[-1],
                    content_hash=content_hash(text, length=64), text=text, sections=sections)


def chunk_paragraphs(doc: Document, per_chunk: int = 1) -> list[Chunk]:
    """Chunks of `per_chunk` blank-line-separated blocks each, with exact document offsets."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for block in doc.text.split("\n\n"):
        spans.append((pos, pos + len(block)))
        pos += len(block) + 2
    chunks = []
    for i in range(0, len(spans), per_chunk):
        start, end = spans[i][0], spans[min(i + per_chunk, len(spans)) - 1][1]
        section = next((s.heading for s in doc.sections if s.start <= start < s.end), None)
        chunks.append(Chunk(id=content_hash("chunk", doc.id, start, end), document_id=doc.id,
                            document_path=doc.path, document_title=doc.title, text=doc.text[start:end],
                            start=start, end=end, section=section, tokens=len(doc.text[start:end]) // 4))
    return chunks


def filler(topic: str, i: int) -> str:
    """A distinct paragraph about `topic` (unique words so scripted rules can match it)."""
    return (f"Section {i} of the {topic} guide explains rule {topic}{i}: staff record entry {i * 7} in "
            f"the {topic} ledger before the {i}th working day, and the team lead signs it off.")
