"""`benchsmith dedup` and `benchsmith contamination` on any dataset: the stages, without a flow.

The commands read a JSONL/Parquet/CSV file (or `datasets` folder) with the same reader
as reference corpora, turn each row's chosen field(s) into an `Item`, run the same stage
classes the flows use (constructed directly: no Prefect, no LLM), and turn the verdicts
into one report row per input row. Rows whose text is null or blank are reported as
`skipped` and never reach a stage.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchsmith.context import StageContext
from benchsmith.fsutil import atomic_write_lines
from benchsmith.pipeline import deciding_verdicts, ordered, run_stages
from benchsmith.records import Item, Lineage, Verdict
from benchsmith.references import Record, ReferenceCorpusError, read_records
from benchsmith.stages import Verifier, verifiers

TEXT_PREVIEW = 200
_LINEAGE = Lineage(generator="standalone")


@dataclass
class Inputs:
    """The rows of an input file: all records, and items for the ones with text (item.id = row position)."""

    path: Path
    records: list[Record]
    items: list[Item]

    @property
    def by_position(self) -> dict[int, Record]:
        return {r.position: r for r in self.records}


def load_inputs(path: Path, fields: Sequence[str], id_field: str | None) -> Inputs:
    """Read the file; the chosen fields' texts (joined by newlines) become each item's prompt."""
    records = read_records(path, fields, id_field=id_field)
    if not records:
        raise ReferenceCorpusError(f"{path}: no rows to check")
    items = []
    for rec in records:
        parts = [t for t in (rec.values[f] for f in fields) if t is not None]
        if parts:
            # The row position is the item id: user ids may repeat or be missing.
            items.append(Item(id=str(rec.position), prompt="\n".join(parts), reference_answer="", lineage=_LINEAGE))
    if not items:
        raise ReferenceCorpusError(
            f"{path}: field(s) {', '.join(map(repr, fields))} are null or blank in every one of the "
            f"{len(records)} rows")
    return Inputs(path=path, records=records, items=items)


def _preview(text: str | None) -> str | None:
    if text is None:
        return None
    return text if len(text) <= TEXT_PREVIEW else text[: TEXT_PREVIEW - 1] + "…"


# --- dedup --------------------------------------------------------------------------------


def dedup_stages(*, threshold: float | None, minhash: bool, semantic: bool) -> list[Verifier]:
    """The dedup stages asked for, in the order a flow runs them (exact, MinHash, semantic)."""
    stages: list[Verifier] = [verifiers.get("dedup_exact")()]
    if minhash and "dedup_minhash" in verifiers:
        stages.append(verifiers.get("dedup_minhash")())
    if semantic:
        params = {} if threshold is None else {"threshold": threshold}
        stages.append(verifiers.get("dedup_semantic")(params))
    return ordered(stages)


async def run_dedup(inputs: Inputs, stages: Sequence[Verifier], ctx: StageContext) -> dict[str, Verdict]:
    """Each item's deciding verdict: the one that dropped it, else the last stage's."""
    return deciding_verdicts(await run_stages(stages, inputs.items, ctx))


_METHOD = {"dedup_exact": "exact", "dedup_minhash": "minhash", "dedup_semantic": "semantic"}


def dedup_report(inputs: Inputs, final: dict[str, Verdict]) -> list[dict[str, Any]]:
    """One row per input row: verdict kept/duplicate/skipped, method, score, the kept row it duplicates."""
    by_pos = inputs.by_position
    text_of = {it.id: it.prompt for it in inputs.items}
    rows = []
    for rec in inputs.records:
        key = str(rec.position)
        v = final.get(key)
        row: dict[str, Any] = {"id": rec.id, "position": rec.position}
        if v is None:
            row.update(verdict="skipped", reason="no_text", method=None, score=None, duplicate_of=None,
                       duplicate_of_text=None, text=None)
        elif v.passed:
            row.update(verdict="kept", method=None, score=None, duplicate_of=None, duplicate_of_text=None,
                       text=_preview(text_of[key]))
        else:
            kept = str(v.details.get("duplicate_of", ""))
            score = v.score if v.score is not None else v.details.get("similarity", v.details.get("jaccard"))
            if score is None and v.stage == "dedup_exact":
                score = 1.0
            kept_rec = by_pos.get(int(kept)) if kept.isdigit() else None
            row.update(verdict="duplicate", reason=v.reason, method=_METHOD.get(v.stage, v.stage), score=score,
                       duplicate_of=kept_rec.id if kept_rec else kept or None,
                       duplicate_of_position=kept_rec.position if kept_rec else None,
                       duplicate_of_text=_preview(text_of.get(kept)), text=_preview(text_of[key]))
        rows.append(row)
    return rows


# --- contamination ------------------------------------------------------------------------


def contamination_report(inputs: Inputs, verdicts: Sequence[Verdict]) -> list[dict[str, Any]]:
    """One row per input row: verdict clean/contaminated/skipped, method, score, matched reference entry."""
    by_item = {it.id: (it, v) for it, v in zip(inputs.items, verdicts)}
    rows = []
    for rec in inputs.records:
        got = by_item.get(str(rec.position))
        row: dict[str, Any] = {"id": rec.id, "position": rec.position}
        if got is None:
            row.update(verdict="skipped", reason="no_text", method=None, score=None)
            rows.append(row)
            continue
        item, v = got
        d = v.details
        row.update(verdict="clean" if v.passed else "contaminated", method=d.get("method"),
                   score=d.get("score") if not v.passed else None,
                   matched_reference=d.get("matched_reference"), matched_id=d.get("matched_id"),
                   matched_field=d.get("matched_field"), matched_text=d.get("matched_text"),
                   ngram_score=d.get("ngram_score"), embedding_score=d.get("embedding_score"),
                   text=_preview(item.prompt))
        if "embedding_skipped" in d:
            row["embedding_skipped"] = d["embedding_skipped"]
        rows.append(row)
    return rows


# --- output -------------------------------------------------------------------------------


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Write the report atomically: readers see the old report or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_lines(path, lambda: (json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def verdict_counts(rows: Sequence[dict[str, Any]]) -> Counter[str]:
    """How many rows got each verdict."""
    return Counter(r["verdict"] for r in rows)


def method_counts(rows: Sequence[dict[str, Any]], verdict: str) -> Counter[str]:
    """How many rows with `verdict` each method decided."""
    return Counter(str(r.get("method")) for r in rows if r["verdict"] == verdict)
