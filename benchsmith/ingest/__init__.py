"""Document ingestion and chunking for document suites.

    result = ingest_folder(spec.documents, spec.documents_path)      # IngestResult
    chunks = chunk_documents(result.documents, spec.documents.chunk_tokens, spec.documents.overlap_tokens)

Formats: PDF (pypdfium2), DOCX (python-docx), HTML (BeautifulSoup + lxml), Markdown
(markdown-it-py), plain text. A file that yields nothing is in `result.skipped` with a reason
code; a folder that is missing, empty or matches no glob raises `IngestError`.
"""

from __future__ import annotations

from benchsmith.ingest.base import IngestError, SkipFile
from benchsmith.ingest.chunking import (
    chunk_document,
    chunk_documents,
    estimate_tokens,
    page_at,
    section_path_at,
)
from benchsmith.ingest.folder import (
    FORMATS,
    INGEST_VERSION,
    IngestResult,
    convert_file,
    discover_files,
    folder_fingerprint,
    ingest_folder,
)

__all__ = [
    "FORMATS",
    "INGEST_VERSION",
    "IngestError",
    "IngestResult",
    "SkipFile",
    "chunk_document",
    "chunk_documents",
    "convert_file",
    "discover_files",
    "estimate_tokens",
    "folder_fingerprint",
    "ingest_folder",
    "page_at",
    "section_path_at",
]
