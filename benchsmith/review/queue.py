"""Queue logic over the store, with no HTTP: enqueue, claim the next item, list, decide.

Concurrency is optimistic: every change is one conditional UPDATE (`WHERE version = seen`),
so of two reviewers saving the same entry one wins and the other gets `ConflictError`
carrying the entry as it now is. Claims work the same way (`WHERE claimed_by IS NULL OR
the lease ran out`), so two reviewers asking for the next item at once get different ones,
on SQLite and PostgreSQL alike, without row locks.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.orm import Session

from benchsmith.errors import BenchsmithError
from benchsmith.records import Item, content_hash
from benchsmith.review.db import STATUSES, DecisionRow, QueueEntryRow, QueueFlagRow, audit
from benchsmith.store import Store, _now, _utc

LEASE = timedelta(minutes=10)
MAX_FIELD_CHARS = 20_000
MAX_COMMENT_CHARS = 4_000
EDITABLE = ("prompt", "reference_answer", "choices")
REJECT_REASONS: dict[str, str] = {
    "wrong_answer": "The reference answer is wrong",
    "ambiguous": "The question is ambiguous or has several right answers",
    "unanswerable": "The question cannot be answered from what it gives",
    "not_grounded": "The cited passage does not support the answer",
    "duplicate": "Duplicates another item",
    "trivial": "Too easy to tell anything apart",
    "off_topic": "Outside the suite's topic",
    "unsafe": "Harmful or inappropriate content",
    "other": "Other (say why in the comment)",
}
SortKey = Literal["priority", "score", "newest", "decided"]
SORTS: tuple[str, ...] = ("priority", "score", "newest", "decided")
_DECISION_STATUS = {"accept": "accepted", "reject": "rejected", "edit": "edited"}


class ReviewError(BenchsmithError):
    """A review action that cannot be done as asked (bad reason code, empty edit, too long)."""


class EntryNotFound(ReviewError):
    """No queue entry with that id."""


class ConflictError(ReviewError):
    """The entry changed since the reviewer loaded it; `current` is the entry as it is now."""

    def __init__(self, current: Entry) -> None:
        super().__init__(f"item {current.item_id} changed since you opened it (now version {current.version}, "
                         f"{current.status} by {current.decided_by or 'nobody'})")
        self.current = current


class _Stale(Exception):
    """Internal: the entry's version moved on; raised inside the transaction to roll it back."""


@dataclass(frozen=True)
class Entry:
    """A detached queue entry with its item (and the edited item, after an edit)."""

    id: int
    item_id: str
    suite: str
    run_id: str | None
    generator: str
    status: str
    priority: float
    score: float | None
    flagged: bool
    item: Item
    edited_item: Item | None
    version: int
    claimed_by: str | None
    claimed_until: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    flags: tuple[str, ...] = ()

    @property
    def current_item(self) -> Item:
        """What would be published: the edit if there is one."""
        return self.edited_item or self.item

    @classmethod
    def from_row(cls, row: QueueEntryRow, flags: Sequence[str] = ()) -> Entry:
        return cls(id=row.id, item_id=row.item_id, suite=row.suite, run_id=row.run_id, generator=row.generator,
                   status=row.status, priority=row.priority, score=row.score, flagged=row.flagged,
                   item=Item.model_validate(row.item),
                   edited_item=Item.model_validate(row.edited_item) if row.edited_item else None,
                   version=row.version, claimed_by=row.claimed_by, claimed_until=_utc(row.claimed_until),
                   decided_by=row.decided_by, decided_at=_utc(row.decided_at), flags=tuple(flags))


@dataclass(frozen=True)
class QueueFilter:
    """What the queue page shows. Empty fields do not filter; `status` defaults to the pending items."""

    suite: str | None = None
    run_id: str | None = None
    status: str | None = "pending"
    generator: str | None = None
    flag: str | None = None  # a verifier stage that failed the item
    min_score: float | None = None
    max_score: float | None = None
    reviewer: str | None = None  # who decided

    def clauses(self) -> list[Any]:
        q = QueueEntryRow
        out: list[Any] = []
        if self.suite:
            out.append(q.suite == self.suite)
        if self.run_id:
            out.append(q.run_id == self.run_id)
        if self.status:
            if self.status not in STATUSES:
                raise ReviewError(f"status must be one of {', '.join(STATUSES)}, got {self.status!r}")
            out.append(q.status == self.status)
        if self.generator:
            out.append(q.generator == self.generator)
        if self.flag:
            out.append(q.id.in_(select(QueueFlagRow.entry_id).where(QueueFlagRow.stage == self.flag)))
        if self.min_score is not None:
            out.append(q.score >= self.min_score)
        if self.max_score is not None:
            out.append(q.score <= self.max_score)
        if self.reviewer:
            out.append(q.decided_by == self.reviewer)
        return out


@dataclass(frozen=True)
class Page:
    """One page of the queue: the entries, how many match, how many of those remain to review."""

    entries: list[Entry]
    total: int
    remaining: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass
class BulkResult:
    """What a bulk decision did: entries decided, and those skipped because they had changed."""

    decided: list[int] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)


# -- priority ------------------------------------------------------------------------------

def uncertainty(item: Item) -> float:
    """Default priority in [0, 1], higher first: how unsure the verifiers were about the item.

    A verdict whose details carry a numeric `threshold` is as uncertain as its score is close
    to it; otherwise an item some verifier failed counts as fully uncertain, and a passed item
    with a 1-5 judge score the more uncertain the lower that score. No scores at all: 0.5.
    """
    best: float | None = None
    for v in item.verdicts:
        threshold = v.details.get("threshold")
        if v.score is not None and isinstance(threshold, int | float):
            u = 1.0 / (1.0 + abs(float(v.score) - float(threshold)))
            best = u if best is None else max(best, u)
    if best is not None:
        return round(best, 6)
    if not item.passed:
        return 1.0
    ranked = [v.score for v in item.verdicts if v.ranks_quality and v.score is not None]
    if ranked:
        return round(min(1.0, max(0.0, (5.0 - float(ranked[-1])) / 4.0)), 6)
    return 0.5


def _score(item: Item) -> float | None:
    ranked = [v.score for v in item.verdicts if v.ranks_quality and v.score is not None]
    if ranked:
        return float(ranked[-1])
    scored = [v.score for v in item.verdicts if v.score is not None]
    return float(scored[-1]) if scored else None


# -- writing -------------------------------------------------------------------------------

def enqueue(store: Store, items: Iterable[Item], run_id: str | None = None,
            priority_fn: Callable[[Item], float] = uncertainty, *, suite: str | None = None,
            actor: str = "pipeline") -> int:
    """Queue items for review (the suite is the run's unless given); returns how many were new.

    An item already queued in the suite is left as it is, decisions and all, so enqueueing
    the same run twice changes nothing.
    """
    if suite is None:
        if run_id is None:
            raise ReviewError("enqueue needs a run id or a suite")
        suite = store.run(run_id).suite
    latest = {it.id: it for it in items}
    if not latest:
        return 0
    now = _now()
    added = 0
    with store.session() as s:
        ids = list(latest)
        existing: set[str] = set()
        for i in range(0, len(ids), 500):  # SQLite's bound-parameter limit
            existing.update(s.scalars(select(QueueEntryRow.item_id).where(
                QueueEntryRow.suite == suite, QueueEntryRow.item_id.in_(ids[i:i + 500]))))
        for item in latest.values():
            if item.id in existing:
                continue
            failed = [v for v in item.verdicts if not v.passed]
            row = QueueEntryRow(item_id=item.id, suite=suite, run_id=run_id, generator=item.lineage.generator,
                                status="pending", priority=float(priority_fn(item)), score=_score(item),
                                flagged=bool(failed), item=item.model_dump(mode="json"), version=1,
                                created_at=now)
            s.add(row)
            s.flush()
            for stage in dict.fromkeys(v.stage for v in failed):
                reason = next(v.reason for v in failed if v.stage == stage)
                s.add(QueueFlagRow(entry_id=row.id, stage=stage, reason=reason))
            added += 1
        if added:
            audit(s, actor, "queue.enqueue", after={"suite": suite, "run_id": run_id, "added": added})
    return added


def _flags(s: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if ids:
        rows = s.execute(select(QueueFlagRow.entry_id, QueueFlagRow.stage).where(QueueFlagRow.entry_id.in_(ids))
                         .order_by(QueueFlagRow.stage))
        for entry_id, stage in rows:
            out.setdefault(entry_id, []).append(stage)
    return out


def _entry(s: Session, row: QueueEntryRow) -> Entry:
    return Entry.from_row(row, _flags(s, [row.id]).get(row.id, []))


def _state(row: QueueEntryRow) -> dict[str, Any]:
    return {"status": row.status, "version": row.version, "decided_by": row.decided_by,
            "edited_item": row.edited_item}


def _edit(item: Item, edits: Mapping[str, Any]) -> tuple[Item, dict[str, Any], str]:
    """The edited item, the fields that changed and a unified diff of them."""
    unknown = set(edits) - set(EDITABLE)
    if unknown:
        raise ReviewError(f"cannot edit {', '.join(sorted(unknown))}: editable fields are {', '.join(EDITABLE)}")
    changed: dict[str, Any] = {}
    diff: list[str] = []
    for name, value in edits.items():
        if name == "choices":
            if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
                raise ReviewError("choices must be a list of strings")
            value = [c.strip() for c in value if c.strip()]
            text_len = sum(len(c) for c in value)
        else:
            if not isinstance(value, str):
                raise ReviewError(f"{name} must be text")
            value = value.replace("\r\n", "\n").strip()
            if not value:
                raise ReviewError(f"{name} cannot be empty")
            text_len = len(value)
        if text_len > MAX_FIELD_CHARS:
            raise ReviewError(f"{name} is too long ({text_len} characters, at most {MAX_FIELD_CHARS})")
        old = getattr(item, name)
        if value != old:
            changed[name] = value
            old_lines = old if isinstance(old, list) else old.splitlines()
            new_lines = value if isinstance(value, list) else value.splitlines()
            diff += difflib.unified_diff(old_lines, new_lines, f"a/{name}", f"b/{name}", lineterm="")
    if not changed:
        raise ReviewError("the edit changes nothing")
    data = item.model_dump()
    data.update(changed)
    if item.kind == "mcq" and item.metadata.get("correct_index") is not None:
        if data["reference_answer"] not in data["choices"]:
            raise ReviewError("the reference answer must be one of the choices")
    new_id = content_hash(data["kind"], data["prompt"].strip(), data["reference_answer"].strip(), data["choices"])
    data.update(id=new_id, review_status="edited",
                metadata={**item.metadata, "edited_from": item.id})
    data["lineage"] = {**data["lineage"], "parent_id": item.id}
    return Item.model_validate(data), changed, "\n".join(diff)


def _check_decision(decision: str, reason_code: str | None, comment: str | None) -> None:
    if decision not in _DECISION_STATUS:
        raise ReviewError(f"decision must be accept, reject or edit, got {decision!r}")
    if decision == "reject" and reason_code not in REJECT_REASONS:
        raise ReviewError(f"a rejection needs a reason code, one of {', '.join(REJECT_REASONS)}")
    if comment is not None and len(comment) > MAX_COMMENT_CHARS:
        raise ReviewError(f"comment too long ({len(comment)} characters, at most {MAX_COMMENT_CHARS})")


def _apply(s: Session, row: QueueEntryRow, reviewer: str, decision: str, version: int, *,
           reason_code: str | None, comment: str | None, edits: Mapping[str, Any] | None) -> bool:
    """Decide one loaded entry in `s`; False if its version is no longer `version`."""
    before = _state(row)
    edited_fields: dict[str, Any] | None = None
    diff: str | None = None
    values: dict[str, Any] = {"status": _DECISION_STATUS[decision], "version": QueueEntryRow.version + 1,
                              "decided_by": reviewer, "decided_at": _now(), "claimed_by": None,
                              "claimed_until": None}
    if decision == "edit":
        base = Item.model_validate(row.item)
        edited, edited_fields, diff = _edit(base, edits or {})
        values["edited_item"] = edited.model_dump(mode="json")
    done = s.execute(update(QueueEntryRow).where(QueueEntryRow.id == row.id, QueueEntryRow.version == version)
                     .values(**values).execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return False
    s.add(DecisionRow(entry_id=row.id, item_id=row.item_id, reviewer=reviewer, decision=decision,
                      reason_code=reason_code if decision == "reject" else None, comment=comment or None,
                      edited_fields=edited_fields, diff=diff, entry_version=version, created_at=_now()))
    s.refresh(row)
    audit(s, reviewer, f"decision.{decision}", entry=row, before=before,
          after={**_state(row), "reason_code": reason_code, "comment": comment or None})
    return True


def decide(store: Store, entry_id: int, reviewer: str, decision: str, version: int, *,
           reason_code: str | None = None, comment: str | None = None,
           edits: Mapping[str, Any] | None = None) -> Entry:
    """Accept, reject (with a reason code) or edit an entry seen at `version`; returns it as decided.

    Raises `ConflictError` (nothing written) if someone changed the entry since `version`.
    """
    _check_decision(decision, reason_code, comment)
    try:
        with store.session() as s:
            row = s.get(QueueEntryRow, entry_id)
            if row is None:
                raise EntryNotFound(f"no queue entry {entry_id}")
            if row.version != version or not _apply(s, row, reviewer, decision, version,
                                                    reason_code=reason_code, comment=comment, edits=edits):
                raise _Stale  # rolls the transaction back: nothing of this attempt is written
            return _entry(s, row)
    except _Stale:
        raise ConflictError(get_entry_by_id(store, entry_id)) from None


def bulk_decide(store: Store, versions: Mapping[int, int], reviewer: str, decision: str, *,
                reason_code: str | None = None, comment: str | None = None) -> BulkResult:
    """Accept or reject many entries (id → version seen) in one transaction; changed ones are skipped."""
    if decision not in ("accept", "reject"):
        raise ReviewError("bulk decisions are accept or reject")
    _check_decision(decision, reason_code, comment)
    result = BulkResult()
    with store.session() as s:
        ids = list(versions)
        rows: dict[int, QueueEntryRow] = {}
        for i in range(0, len(ids), 500):
            rows.update({r.id: r for r in s.scalars(select(QueueEntryRow).where(QueueEntryRow.id.in_(ids[i:i + 500])))})
        missing = [i for i in ids if i not in rows]
        if missing:
            raise EntryNotFound(f"no queue entries {', '.join(map(str, missing[:10]))}")
        for entry_id in ids:
            ok = rows[entry_id].version == versions[entry_id] and _apply(
                s, rows[entry_id], reviewer, decision, versions[entry_id], reason_code=reason_code,
                comment=comment, edits=None)
            (result.decided if ok else result.conflicts).append(entry_id)
    return result


def next_entry(store: Store, reviewer: str, flt: QueueFilter | None = None, *, lease: timedelta = LEASE,
               skip: Sequence[int] = ()) -> Entry | None:
    """Claim the most uncertain pending entry nobody else holds (or the one this reviewer already holds)."""
    flt = QueueFilter(**{**flt.__dict__, "status": "pending"}) if flt else QueueFilter()
    for _ in range(20):  # lost races: someone claimed our pick between SELECT and UPDATE
        now = _now()
        free = or_(QueueEntryRow.claimed_by.is_(None), QueueEntryRow.claimed_until < now,
                   QueueEntryRow.claimed_by == reviewer)
        with store.session() as s:
            base = select(QueueEntryRow.id).where(*flt.clauses())
            if skip:
                base = base.where(QueueEntryRow.id.not_in(list(skip)))
            held = s.scalar(base.where(QueueEntryRow.claimed_by == reviewer, QueueEntryRow.claimed_until >= now)
                            .order_by(QueueEntryRow.priority.desc(), QueueEntryRow.id).limit(1))
            pick = held if held is not None else s.scalar(
                base.where(free).order_by(QueueEntryRow.priority.desc(), QueueEntryRow.id).limit(1))
            if pick is None:
                return None
            if held is None:  # give up older claims: one reviewer holds one item
                s.execute(update(QueueEntryRow).where(QueueEntryRow.claimed_by == reviewer)
                          .values(claimed_by=None, claimed_until=None).execution_options(synchronize_session=False))
            done = s.execute(update(QueueEntryRow).where(QueueEntryRow.id == pick, QueueEntryRow.status == "pending",
                                                         free)
                             .values(claimed_by=reviewer, claimed_until=now + lease)
                             .execution_options(synchronize_session=False))
            if done.rowcount == 1:  # type: ignore[attr-defined]
                row = s.get(QueueEntryRow, pick)
                assert row is not None
                s.refresh(row)
                return _entry(s, row)
    return None


def release_claims(store: Store, reviewer: str) -> int:
    """Give back what a reviewer holds (on logout); returns how many entries."""
    with store.session() as s:
        done = s.execute(update(QueueEntryRow).where(QueueEntryRow.claimed_by == reviewer)
                         .values(claimed_by=None, claimed_until=None).execution_options(synchronize_session=False))
        return int(done.rowcount)  # type: ignore[attr-defined]


# -- reading -------------------------------------------------------------------------------

def _ordered(q: Select[Any], sort: str) -> Select[Any]:
    e = QueueEntryRow
    if sort == "priority":
        return q.order_by(e.priority.desc(), e.id)
    if sort == "score":
        return q.order_by(e.score.is_(None), e.score, e.id)
    if sort == "newest":
        return q.order_by(e.id.desc())
    if sort == "decided":
        return q.order_by(e.decided_at.desc(), e.id.desc())
    raise ReviewError(f"sort must be one of {', '.join(SORTS)}, got {sort!r}")


def list_entries(store: Store, flt: QueueFilter | None = None, *, sort: str = "priority", page: int = 1,
                 per_page: int = 50) -> Page:
    """One page of entries under a filter, with the total and how many of its pending items remain."""
    flt = flt or QueueFilter()
    page, per_page = max(1, page), min(max(1, per_page), 500)
    clauses = flt.clauses()
    # What remains: pending items of the same suite/run/... whatever status or decider the page shows.
    pending = QueueFilter(**{**flt.__dict__, "status": "pending", "reviewer": None}).clauses()
    with store.session() as s:
        total = s.scalar(select(func.count()).select_from(QueueEntryRow).where(*clauses)) or 0
        remaining = s.scalar(select(func.count()).select_from(QueueEntryRow).where(*pending)) or 0
        q = _ordered(select(QueueEntryRow).where(*clauses), sort).offset((page - 1) * per_page).limit(per_page)
        rows = list(s.scalars(q))
        flags = _flags(s, [r.id for r in rows])
        return Page([Entry.from_row(r, flags.get(r.id, [])) for r in rows], total, remaining, page, per_page)


def get_entry(store: Store, item_id: str, suite: str | None = None) -> Entry:
    """The entry of an item id (in `suite`, if the same item is queued in several)."""
    q = select(QueueEntryRow).where(QueueEntryRow.item_id == item_id)
    if suite:
        q = q.where(QueueEntryRow.suite == suite)
    with store.session() as s:
        row = s.scalars(q.order_by(QueueEntryRow.id).limit(1)).first()
        if row is None:
            raise EntryNotFound(f"no queued item {item_id!r}")
        return _entry(s, row)


def get_entry_by_id(store: Store, entry_id: int) -> Entry:
    """The entry with a queue id."""
    with store.session() as s:
        row = s.get(QueueEntryRow, entry_id)
        if row is None:
            raise EntryNotFound(f"no queue entry {entry_id}")
        return _entry(s, row)


def adjacent(store: Store, entry: Entry, flt: QueueFilter | None = None) -> tuple[str | None, str | None]:
    """Item ids before and after `entry` in priority order under `flt` (for j/k), skipping others' claims."""
    e = QueueEntryRow
    now = _now()
    clauses = [*(flt or QueueFilter()).clauses(), e.id != entry.id,
               or_(e.claimed_by.is_(None), e.claimed_until < now, e.claimed_by == (entry.claimed_by or ""))]
    after = or_(e.priority < entry.priority, and_(e.priority == entry.priority, e.id > entry.id))
    before = or_(e.priority > entry.priority, and_(e.priority == entry.priority, e.id < entry.id))
    with store.session() as s:
        nxt = s.scalar(select(e.item_id).where(*clauses, after).order_by(e.priority.desc(), e.id).limit(1))
        prev = s.scalar(select(e.item_id).where(*clauses, before).order_by(e.priority, e.id.desc()).limit(1))
    return prev, nxt


def decisions(store: Store, entry_id: int) -> list[DecisionRow]:
    """Every decision on an entry, oldest first (detached rows)."""
    with store.session() as s:
        return list(s.scalars(select(DecisionRow).where(DecisionRow.entry_id == entry_id)
                              .order_by(DecisionRow.created_at, DecisionRow.id)))


def facets(store: Store) -> dict[str, list[str]]:
    """Distinct values for the filter drop-downs: suites, runs, generators, flagging stages, deciders."""
    e = QueueEntryRow
    with store.session() as s:
        def distinct(col: Any) -> list[str]:
            return [v for v in s.scalars(select(col).distinct().order_by(col)) if v]
        return {"suite": distinct(e.suite), "run_id": distinct(e.run_id), "generator": distinct(e.generator),
                "flag": distinct(QueueFlagRow.stage), "reviewer": distinct(e.decided_by)}
