"""Records for document suites: ingested documents, their structure, and chunks.

Ingestion (benchsmith/ingest/) turns files into `Document`s with text, pages and
headings; chunking turns a document into `Chunk`s that know their document, section,
pages and character offsets. Document generators read chunks the way the evolve
generator reads seeds, and every citation points back into a chunk by offsets.
"""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DocumentFormat = Literal["pdf", "docx", "html", "markdown", "text"]


class PageSpan(BaseModel):
    """Where one page's text lies in the document text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    page: int = Field(description="1-based page number.")
    start: int = Field(description="Offset of the page's first character in Document.text.")
    end: int = Field(description="Offset just past the page's last character.")


class Section(BaseModel):
    """A heading and the span of text it governs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    heading: str
    level: int = Field(ge=1, le=9, description="1 for a top-level heading.")
    start: int = Field(description="Offset of the heading in Document.text.")
    end: int = Field(description="Offset where the next heading of the same or a higher level starts.")


class Document(BaseModel):
    """One ingested file: its text with structure and provenance."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Content hash of the file bytes (identical files are one document).")
    path: str = Field(description="Path relative to the documents folder, POSIX style.")
    format: DocumentFormat
    title: str = Field(description="Declared title, else the first heading, else the file name.")
    date: _dt.date | None = Field(default=None, description="Declared date if the file has one, "
                                                                "else its modified date.")
    content_hash: str = Field(description="sha256 of the file bytes.")
    text: str = Field(description="Plain text; headings on their own lines.")
    pages: list[PageSpan] = Field(default_factory=list, description="Page spans (PDF; empty for unpaged formats).")
    sections: list[Section] = Field(default_factory=list, description="Headings found, in order.")
    metadata: dict[str, Any] = Field(default_factory=dict)


class Chunk(BaseModel):
    """A piece of a document sized for one generation prompt."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Hash of document id and offsets.")
    document_id: str
    document_path: str
    document_title: str = ""
    text: str = Field(description="Exactly Document.text[start:end].")
    start: int
    end: int
    section: str | None = Field(default=None, description="Heading path, e.g. 'Benefits > Leave'.")
    page_start: int | None = None
    page_end: int | None = None
    tokens: int = Field(default=0, description="Approximate token count.")


class SkippedDocument(BaseModel):
    """A file that produced no document, and why (for the coverage report)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    reason: str = Field(description="Short code: 'no_text_layer', 'encrypted', 'corrupt', 'empty_file', "
                                    "'binary', 'not_utf8', 'duplicate', 'too_old', 'unsupported'.")
    detail: str = ""


class Corpus(BaseModel):
    """The ingested documents of a documents suite, their chunks and the files that gave nothing."""

    model_config = ConfigDict(extra="forbid")

    documents: list[Document] = Field(default_factory=list)
    chunks: list[Chunk] = Field(default_factory=list)
    skipped: list[SkippedDocument] = Field(default_factory=list)

    @classmethod
    def of(cls, chunks: Sequence[Chunk], documents: Sequence[Document] = ()) -> Corpus:
        """A corpus of just these chunks (and documents): what tests and benches build."""
        return cls(documents=list(documents), chunks=list(chunks))

    @functools.cached_property
    def chunks_by_id(self) -> dict[str, Chunk]:
        return {c.id: c for c in self.chunks}

    @functools.cached_property
    def documents_by_id(self) -> dict[str, Document]:
        return {d.id: d for d in self.documents}

    def content_hash(self) -> str:
        """Hash of the chunks (ids hash document bytes and offsets): keys task caches by reference."""
        from benchsmith.records import content_hash

        return content_hash([c.id for c in self.chunks], length=32)
