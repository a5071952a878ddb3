"""The ingestion task of a documents suite: files → documents → chunks.

Ingestion is not cached by Prefect: it is quick, and it must see edited documents.
What it produces is content-addressed (chunk ids hash the document bytes and offsets),
so unchanged documents give unchanged chunks, and the generation tasks downstream
still come from their cache.
"""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from benchsmith import progress
from benchsmith.documents import Corpus
from benchsmith.spec import SuiteSpec


@task(name="ingest", cache_policy=NO_CACHE, persist_result=False)
def ingest_task(spec: SuiteSpec) -> Corpus:
    """Ingest and chunk the spec's documents folder; an error if no document has text."""
    from benchsmith.ingest import IngestError, chunk_documents, ingest_folder

    assert spec.documents is not None
    sink = progress.sink()
    result = ingest_folder(spec.documents, spec.documents_path, progress=sink)
    for skipped in result.skipped:
        sink.message(f"skipped {skipped.path}: {skipped.reason}{' — ' + skipped.detail if skipped.detail else ''}")
    if not result.documents:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in result.skipped) or "no files"
        raise IngestError(f"{spec.documents_path}: no document with text to build from ({reasons})")
    chunks = chunk_documents(result.documents, spec.documents.chunk_tokens, spec.documents.overlap_tokens)
    sink.message(f"ingested {len(result.documents)} documents into {len(chunks)} chunks")
    return Corpus(documents=result.documents, chunks=chunks, skipped=result.skipped)
