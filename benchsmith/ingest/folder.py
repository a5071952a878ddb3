"""Ingest a folder: find files by glob, hash them, convert each by format, attach provenance.

Discovery is deterministic (files sorted by relative path). A file that cannot be used is
recorded as a `SkippedDocument` with a reason code and the run goes on; only a folder that
is missing or has no matching file at all is an error (`IngestError`).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from benchsmith.documents import Document, DocumentFormat, SkippedDocument
from benchsmith.ingest.base import Converted, IngestError, SkipFile, mtime_date
from benchsmith.progress import ProgressSink
from benchsmith.records import content_hash
from benchsmith.spec import DocumentSource

PROGRESS_STAGE = "ingest"
# Bump when a converter or the chunker changes its output, so cached ingestion results are redone.
INGEST_VERSION = 1

# Extension (lower case) → format. Anything else an include glob matches is skipped as 'unsupported'.
FORMATS: dict[str, DocumentFormat] = {
    ".pdf": "pdf", ".docx": "docx", ".html": "html", ".htm": "html", ".xhtml": "html",
    ".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text",
}


class IngestResult(BaseModel):
    """The documents a folder yielded, and every file that yielded none with its reason."""

    model_config = ConfigDict(extra="forbid")

    documents: list[Document] = Field(default_factory=list)
    skipped: list[SkippedDocument] = Field(default_factory=list)

    def skipped_by_reason(self) -> dict[str, int]:
        """Count of skipped files per reason code."""
        out: dict[str, int] = {}
        for s in self.skipped:
            out[s.reason] = out.get(s.reason, 0) + 1
        return dict(sorted(out.items()))


# --- discovery --------------------------------------------------------------------------------

@lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob over relative POSIX paths as a regex: `*` and `?` stay within one folder, `**/` spans any
    number of folders (including none), `[...]` is a character class. Case-insensitive, so
    `**/*.pdf` also finds `REPORT.PDF`."""
    p = pattern.replace("\\", "/")
    while p.startswith("./"):
        p = p[2:]
    out: list[str] = []
    i = 0
    while i < len(p):
        if p.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif p.startswith("**", i):
            out.append(".*")
            i += 2
        elif p[i] == "*":
            out.append("[^/]*")
            i += 1
        elif p[i] == "?":
            out.append("[^/]")
            i += 1
        elif p[i] == "[" and "]" in p[i + 2:]:
            j = p.index("]", i + 2)
            body = p[i + 1:j]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = j + 1
        else:
            out.append(re.escape(p[i]))
            i += 1
    return re.compile("".join(out) + r"\Z", re.IGNORECASE | re.DOTALL)


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    return any(glob_regex(pat).match(rel) for pat in patterns)


def _all_files(folder: Path) -> list[str]:
    rels: list[str] = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        base = Path(root).relative_to(folder)
        for name in files:
            rels.append((base / name).as_posix())
    return sorted(rels)


def discover_files(folder: Path, include: Sequence[str], exclude: Sequence[str] = ()) -> list[Path]:
    """Files under `folder` matching an include glob and no exclude glob, sorted by relative path.

    Raises IngestError when the folder is missing, is not a folder, is empty, or nothing matches.
    """
    folder = Path(folder)
    if not folder.exists():
        raise IngestError(f"documents folder not found: {folder}")
    if not folder.is_dir():
        raise IngestError(f"documents path is not a folder: {folder}")
    everything = _all_files(folder)
    if not everything:
        raise IngestError(f"documents folder {folder} is empty: put PDF, DOCX, HTML, Markdown or text files in it")
    chosen = [rel for rel in everything if _matches(rel, include) and not _matches(rel, exclude)]
    if not chosen:
        shown = ", ".join(everything[:5]) + (f" and {len(everything) - 5} more" if len(everything) > 5 else "")
        excl = f" and not exclude {list(exclude)}" if exclude else ""
        raise IngestError(f"no file in {folder} matches include {list(include)}{excl}; "
                          f"the folder holds {len(everything)} file(s): {shown}")
    return [folder / rel for rel in chosen]


def folder_fingerprint(source: DocumentSource, folder: Path) -> str:
    """A cheap cache key for ingesting `folder` with `source`: the matching files' paths, sizes and
    modified times (no file is read), the source settings and INGEST_VERSION."""
    folder = Path(folder)
    files = []
    for path in discover_files(folder, source.include, source.exclude):
        st = path.stat()
        files.append((path.relative_to(folder).as_posix(), st.st_size, st.st_mtime_ns))
    settings = source.model_dump(mode="json", exclude={"path"})
    return content_hash("ingest", INGEST_VERSION, settings, files, length=32)


# --- one file ---------------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()  # streams: never the whole file in memory


def _converter(fmt: DocumentFormat) -> Callable[[Path], Converted]:
    # Late imports: a folder of Markdown never loads PDFium or lxml.
    if fmt == "pdf":
        from benchsmith.ingest.pdf import convert_pdf
        return convert_pdf
    if fmt == "docx":
        from benchsmith.ingest.docx import convert_docx
        return convert_docx
    if fmt == "html":
        from benchsmith.ingest.html import convert_html
        return convert_html
    if fmt == "markdown":
        from benchsmith.ingest.markdown import convert_markdown
        return convert_markdown
    from benchsmith.ingest.text import convert_text
    return convert_text


def convert_file(path: Path, rel: str, digest: str) -> Document:
    """Convert one file into a Document (raises SkipFile, or anything a library raises on a bad file)."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise SkipFile("unsupported", f"no converter for '{path.suffix or '(no extension)'}' files; "
                                      f"supported: {', '.join(sorted(FORMATS))}")
    stat = path.stat()
    conv = _converter(fmt)(path)
    title = conv.title or next((s.heading for s in conv.sections), None) or path.stem
    metadata = {"size_bytes": stat.st_size, **conv.metadata}
    if conv.declared_date is not None:
        doc_date = conv.declared_date
        metadata["date_source"] = conv.date_field or "declared"
    else:
        doc_date = mtime_date(stat.st_mtime)
        metadata["date_source"] = "file modified time"
    return Document(id=digest, path=rel, format=fmt, title=title, date=doc_date, content_hash=digest,
                    text=conv.text, pages=conv.pages, sections=conv.sections, metadata=metadata)


def _short(err: BaseException) -> str:
    msg = str(err).strip().splitlines()[0] if str(err).strip() else ""
    msg = msg[:300]
    return f"{type(err).__name__}: {msg}" if msg else type(err).__name__


def ingest_folder(source: DocumentSource, folder: Path, *, progress: ProgressSink | None = None) -> IngestResult:
    """Ingest every matching file of `folder` (the spec's `documents_path`) into Documents.

    Identical files (same sha256) become one document, the later ones skipped as 'duplicate';
    documents dated before `source.min_date` are skipped as 'too_old'; a file that cannot be
    read is skipped with its reason ('no_text_layer', 'encrypted', 'corrupt', 'empty_file',
    'binary', 'not_utf8', 'no_text', 'unsupported') and the run goes on. Progress, if given,
    gets `plan('ingest', files)` and one `advance('ingest')` per file.
    """
    folder = Path(folder)
    files = discover_files(folder, source.include, source.exclude)
    if progress is not None:
        progress.plan(PROGRESS_STAGE, len(files))
    result = IngestResult()
    min_date = source.min_date_on()  # a relative min_date ("-60d") counts from today; runs resolve it earlier
    seen: dict[str, str] = {}
    for path in files:
        rel = path.relative_to(folder).as_posix()
        try:
            if path.stat().st_size == 0:
                raise SkipFile("empty_file", "the file is 0 bytes")
            digest = _sha256(path)
            if digest in seen:
                raise SkipFile("duplicate", f"same bytes as {seen[digest]} (ingested once)")
            seen[digest] = rel
            doc = convert_file(path, rel, digest)
            if min_date is not None and doc.date is not None and doc.date < min_date:
                raise SkipFile("too_old", f"dated {doc.date.isoformat()} ({doc.metadata['date_source']}), "
                                          f"before min_date {min_date.isoformat()}")
            result.documents.append(doc)
        except SkipFile as skip:
            result.skipped.append(SkippedDocument(path=rel, reason=skip.reason, detail=skip.detail))
        except OSError as err:
            result.skipped.append(SkippedDocument(path=rel, reason="unreadable", detail=_short(err)))
        except Exception as err:  # noqa: BLE001 — a library choking on one bad file must not stop the run
            result.skipped.append(SkippedDocument(path=rel, reason="corrupt", detail=_short(err)))
        if progress is not None:
            progress.advance(PROGRESS_STAGE)
    return result
