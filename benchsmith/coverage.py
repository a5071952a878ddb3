"""Coverage of a document suite: which documents and chunks the published items draw on.

The report goes into the manifest (a JSON-serialisable dict) and, rendered as Markdown,
into the dataset card. It answers the questions a user of a documents suite asks first:
how much of my corpus is covered, how are the items spread over documents and types, and
why did a given document yield nothing (skipped at ingestion, never asked about, every
generation failed, or every item was dropped, with the drop reasons).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from benchsmith.documents import Chunk, Document, SkippedDocument
from benchsmith.records import Item

__all__ = ["coverage_report", "render_coverage_markdown"]


def _item_chunk_ids(item: Item) -> list[str]:
    ids = item.metadata.get("chunk_ids")
    if isinstance(ids, list) and ids:
        return [str(i) for i in ids]
    from_citations = [c.chunk_id for c in item.citations if c.chunk_id]
    if from_citations:
        return list(dict.fromkeys(from_citations))
    return [item.seed_id] if item.seed_id else []


def _item_document_ids(item: Item, chunk_doc: dict[str, str]) -> list[str]:
    ids = item.metadata.get("document_ids")
    if isinstance(ids, list) and ids:
        return [str(i) for i in ids]
    return list(dict.fromkeys(chunk_doc[c] for c in _item_chunk_ids(item) if c in chunk_doc))


def _drop_reason(item: Item) -> str:
    failed = item.failed_verdict
    if failed is not None:
        return f"{failed.stage}:{failed.reason or 'dropped'}"
    if item.review_status == "rejected":
        return "review:rejected"
    return "not_selected"  # passed every stage but was not published (review pending, target reached)


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def coverage_report(documents: Sequence[Document], skipped: Sequence[SkippedDocument], chunks: Sequence[Chunk],
                    published_items: Sequence[Item], all_items: Sequence[Item], *,
                    failures: Iterable[Any] = ()) -> dict[str, Any]:
    """The coverage of a documents suite, as a JSON-serialisable dict.

    `all_items` are every candidate of the run (published or dropped, with their
    verdicts); `failures` are the run's `GenerationFailure`s (their `seed_id` is a chunk
    id), used to explain documents that produced no item at all.
    """
    chunk_doc = {c.id: c.document_id for c in chunks}
    chunks_per_doc = Counter(c.document_id for c in chunks)
    covered_per_doc: Counter[str] = Counter()
    published_ids = {i.id for i in published_items}

    covered_chunks: set[str] = set()
    published_per_doc: Counter[str] = Counter()
    for item in published_items:
        covered_chunks.update(c for c in _item_chunk_ids(item) if c in chunk_doc)
        published_per_doc.update(_item_document_ids(item, chunk_doc))
    covered_per_doc.update(chunk_doc[c] for c in covered_chunks)
    generated_per_doc: Counter[str] = Counter()
    drops_per_doc: dict[str, Counter[str]] = {}
    for item in all_items:
        docs = _item_document_ids(item, chunk_doc)
        generated_per_doc.update(docs)
        if item.id not in published_ids:
            for d in docs:
                drops_per_doc.setdefault(d, Counter())[_drop_reason(item)] += 1
    failures_per_doc: dict[str, Counter[str]] = {}
    for f in failures:
        failed_doc = chunk_doc.get(getattr(f, "seed_id", None) or "")
        if failed_doc is not None:
            failures_per_doc.setdefault(failed_doc, Counter())[str(getattr(f, "reason", "failed"))] += 1

    per_document: list[dict[str, Any]] = []
    for doc in sorted(documents, key=lambda d: (d.path, d.id)):
        per_document.append({
            "document_id": doc.id, "path": doc.path, "title": doc.title,
            "chunks": chunks_per_doc.get(doc.id, 0), "chunks_covered": covered_per_doc.get(doc.id, 0),
            "items_generated": generated_per_doc.get(doc.id, 0), "items_published": published_per_doc.get(doc.id, 0),
        })

    yielded_nothing: list[dict[str, Any]] = [
        {"path": s.path, "stage": "ingestion", "reason": s.reason, **({"detail": s.detail} if s.detail else {})}
        for s in sorted(skipped, key=lambda s: s.path)
    ]
    for row in per_document:
        if row["items_published"]:
            continue
        doc_id = row["document_id"]
        entry: dict[str, Any] = {"path": row["path"]}
        if row["chunks"] == 0:
            entry.update(stage="chunking", reason="no_chunks")
        elif row["items_generated"]:
            entry.update(stage="verification", reason="no_items_survived",
                         drop_reasons=dict(drops_per_doc.get(doc_id, Counter()).most_common()))
        elif doc_id in failures_per_doc:
            entry.update(stage="generation", reason="generation_failed",
                         failure_reasons=dict(failures_per_doc[doc_id].most_common()))
        else:
            entry.update(stage="generation", reason="not_sampled")
        yielded_nothing.append(entry)

    n_docs = len(documents)
    docs_covered = sum(1 for r in per_document if r["items_published"])
    return {
        "documents": {"total": n_docs, "covered": docs_covered, "share_covered": _share(docs_covered, n_docs),
                      "skipped": len(skipped)},
        "chunks": {"total": len(chunks), "covered": len(covered_chunks),
                   "share_covered": _share(len(covered_chunks), len(chunks))},
        "items": {"published": len(published_items), "generated": len(all_items)},
        "items_per_document": per_document,
        "items_per_question_type": dict(sorted(Counter(
            str(i.metadata.get("question_type", "unknown")) for i in published_items).items())),
        "items_per_kind": dict(sorted(Counter(i.kind for i in published_items).items())),
        "yielded_nothing": yielded_nothing,
    }


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _reasons(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} ×{v}" for k, v in counts.items())


def render_coverage_markdown(report: dict[str, Any]) -> str:
    """The report as a Markdown section for the dataset card."""
    d, c, items = report["documents"], report["chunks"], report["items"]
    lines = [
        "## Coverage",
        "",
        f"- Documents covered: {d['covered']} of {d['total']} ingested ({d['share_covered']:.0%})"
        + (f"; {d['skipped']} file(s) skipped at ingestion" if d["skipped"] else ""),
        f"- Chunks covered: {c['covered']} of {c['total']} ({c['share_covered']:.0%})",
        f"- Items: {items['published']} published of {items['generated']} generated",
    ]
    if report["items_per_question_type"]:
        lines.append("- Per question type: " + ", ".join(
            f"{k} {v}" for k, v in report["items_per_question_type"].items()))
    if report["items_per_kind"]:
        lines.append("- Per kind: " + ", ".join(f"{k} {v}" for k, v in report["items_per_kind"].items()))
    if report["items_per_document"]:
        lines += ["", "| Document | Chunks | Chunks covered | Items generated | Items published |",
                  "|---|---:|---:|---:|---:|"]
        for r in report["items_per_document"]:
            lines.append(f"| {_cell(r['path'])} | {r['chunks']} | {r['chunks_covered']} | "
                         f"{r['items_generated']} | {r['items_published']} |")
    if report["yielded_nothing"]:
        lines += ["", "### Documents that yielded nothing", ""]
        for e in report["yielded_nothing"]:
            why = f"{e['stage']}: {e['reason']}"
            if e.get("detail"):
                why += f" ({e['detail']})"
            if e.get("drop_reasons"):
                why += f" — {_reasons(e['drop_reasons'])}"
            if e.get("failure_reasons"):
                why += f" — {_reasons(e['failure_reasons'])}"
            lines.append(f"- `{_cell(e['path'])}`: {_cell(why)}")
    return "\n".join(lines) + "\n"
