"""Decisions in and out as JSONL, so labelling tools (Argilla, Label Studio) can take part in review.

One decision per line:

    {"item_id": "…", "suite": "…", "decision": "accept" | "reject" | "edit",
     "edited_fields": {"prompt": "…"} | null, "reviewer": "…", "time": "2026-11-03T10:15:00+00:00",
     "reason_code": "ambiguous" | null, "comment": "…" | null}

Export adds `phase` (review, blind, resolution) and `origin` (web, bulk, import:<file>);
import accepts them and ignores them (an imported decision's origin is the file it came
from). Import is all or nothing: every line is parsed and checked first (a bad line is
reported by number and field) and the decisions are then applied in one transaction, in
time order, through the same rules as a reviewer's (blind double review, conflicts, edit
checks). A line that repeats a decision already recorded (same item, reviewer, decision
and time) is skipped, so importing the same file twice, or an export of this very
workspace, changes nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select

from benchsmith.errors import BenchsmithError
from benchsmith.review.db import DecisionRow, QueueEntryRow, audit
from benchsmith.review.deciding import apply_decision, check_decision
from benchsmith.review.queue import EDITABLE, EditCheck, ReviewError
from benchsmith.store import Store, _utc

MAX_ERRORS = 20
"""Problems listed before an import gives up reading (the file is rejected either way)."""


class InterchangeError(BenchsmithError):
    """A decisions file that cannot be imported; nothing of it was written."""


class DecisionLine(BaseModel):
    """One decision as exported and imported."""

    model_config = ConfigDict(extra="forbid")

    item_id: str = Field(min_length=1, max_length=64, description="The queued item's id.")
    suite: str = Field(min_length=1, max_length=200, description="The suite it is queued in.")
    decision: Literal["accept", "reject", "edit"]
    edited_fields: dict[str, Any] | None = Field(default=None, description="For an edit: field → new value.")
    reviewer: str = Field(min_length=1, max_length=64, description="Who decided (need not have an account here).")
    time: datetime = Field(description="When, ISO 8601 (no time zone: UTC).")
    reason_code: str | None = Field(default=None, max_length=64)
    comment: str | None = None
    phase: str | None = Field(default=None, description="Exported for information; ignored on import.")
    origin: str | None = Field(default=None, description="Exported for information; ignored on import.")

    @field_validator("time")
    @classmethod
    def _utc_time(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @field_validator("edited_fields")
    @classmethod
    def _editable(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            unknown = sorted(set(value) - set(EDITABLE))
            if unknown:
                raise ValueError(f"cannot edit {', '.join(unknown)}: editable fields are {', '.join(EDITABLE)}")
        return value


@dataclass
class ImportResult:
    """What an import did."""

    applied: int = 0
    skipped: int = 0  # already recorded
    lines: int = 0
    by_decision: dict[str, int] = field(default_factory=dict)


def _rows(store: Store, suite: str | None) -> Iterator[tuple[DecisionRow, str]]:
    with store.session() as s:
        q = (select(DecisionRow, QueueEntryRow.suite).join(QueueEntryRow, QueueEntryRow.id == DecisionRow.entry_id)
             .order_by(DecisionRow.created_at, DecisionRow.id))
        if suite:
            q = q.where(QueueEntryRow.suite == suite)
        yield from ((row, entry_suite) for row, entry_suite in s.execute(q))


def export_lines(store: Store, suite: str | None = None) -> Iterator[str]:
    """Every recorded decision (of `suite`, or all), oldest first, one JSON line each (no newline)."""
    for row, entry_suite in _rows(store, suite):
        at = _utc(row.created_at)
        line = DecisionLine(item_id=row.item_id, suite=entry_suite, decision=row.decision,  # type: ignore[arg-type]
                            edited_fields=row.edited_fields, reviewer=row.reviewer,
                            time=at if at is not None else datetime.now(UTC), reason_code=row.reason_code,
                            comment=row.comment, phase=row.phase, origin=row.origin)
        yield json.dumps(line.model_dump(mode="json"), ensure_ascii=False, sort_keys=False)


def export_decisions(store: Store, out: Path, suite: str | None = None) -> int:
    """Write the decisions to `out` (atomically: a temporary file renamed into place); returns how many."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for line in export_lines(store, suite):
            f.write(line + "\n")
            n += 1
    os.replace(tmp, out)
    return n


def _field_of(err: dict[str, Any]) -> str:
    return ".".join(str(p) for p in err["loc"]) or "(line)"


def parse_lines(path: Path) -> list[tuple[int, DecisionLine]]:
    """Every decision of a JSONL file with its line number; `InterchangeError` lists the bad lines."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise InterchangeError(f"{path}: cannot read: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise InterchangeError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    out: list[tuple[int, DecisionLine]] = []
    problems: list[str] = []
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except ValueError as err:
            problems.append(f"{path}:{n}: not valid JSON ({err})")
            continue
        if not isinstance(data, dict):
            problems.append(f"{path}:{n}: a decision must be a JSON object, got {type(data).__name__}")
            continue
        try:
            line = DecisionLine.model_validate(data)
        except ValidationError as err:
            problems += [f"{path}:{n}: {_field_of(dict(e))}: {e['msg']}" for e in err.errors()]
            continue
        try:
            check_decision(line.decision, line.reason_code, line.comment)
            if line.decision == "edit" and not line.edited_fields:
                raise ReviewError("an edit needs edited_fields")
        except ReviewError as err:
            name = "reason_code" if "reason" in str(err) else "edited_fields" if "edit" in str(err) else "comment"
            problems.append(f"{path}:{n}: {name}: {err}")
            continue
        out.append((n, line))
        if len(problems) >= MAX_ERRORS:
            break
    if problems:
        raise InterchangeError(f"{path}: nothing imported, {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    return out


def import_decisions(store: Store, path: Path, *, actor: str = "cli", check: EditCheck | None = None) -> ImportResult:
    """Apply the decisions of a JSONL file, all or nothing (module docstring); returns what it did."""
    path = Path(path)
    lines = parse_lines(path)
    origin = f"import:{path.name}"[:200]
    result = ImportResult(lines=len(lines))
    problems: list[str] = []
    with store.session() as s:
        keys = sorted({(ln.suite, ln.item_id) for _, ln in lines})
        rows: dict[tuple[str, str], QueueEntryRow] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            for suite in {k[0] for k in chunk}:
                ids = [k[1] for k in chunk if k[0] == suite]
                for found in s.scalars(select(QueueEntryRow).where(QueueEntryRow.suite == suite,
                                                                   QueueEntryRow.item_id.in_(ids))):
                    rows[(found.suite, found.item_id)] = found
        for n, ln in sorted(lines, key=lambda p: (p[1].time, p[0])):  # in time order: first blind review first
            row = rows.get((ln.suite, ln.item_id))
            if row is None:
                problems.append(f"{path}:{n}: item_id: no queued item {ln.item_id!r} in suite {ln.suite!r}")
                continue
            if problems:
                continue  # the file fails anyway: only look for more unknown items
            seen = s.scalars(select(DecisionRow).where(DecisionRow.entry_id == row.id,
                                                       DecisionRow.reviewer == ln.reviewer,
                                                       DecisionRow.decision == ln.decision))
            if any(_utc(d.created_at) == ln.time for d in seen):
                result.skipped += 1
                continue
            try:
                apply_decision(s, row, ln.reviewer, ln.decision, row.version, reason_code=ln.reason_code,
                               comment=ln.comment, edits=ln.edited_fields, check=check, at=ln.time, origin=origin)
            except ReviewError as err:
                problems.append(f"{path}:{n}: {err}")
                continue
            result.applied += 1
            result.by_decision[ln.decision] = result.by_decision.get(ln.decision, 0) + 1
            if len(problems) >= MAX_ERRORS:
                break
        if problems:
            raise InterchangeError(f"{path}: nothing imported, {len(problems)} problem(s):\n  "
                                   + "\n  ".join(problems))
        if result.applied:
            audit(s, actor, "decisions.import", after={"file": str(path), "applied": result.applied,
                                                      "skipped": result.skipped})
    return result
