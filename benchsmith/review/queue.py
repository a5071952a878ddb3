"""Queue logic over the store, with no HTTP: enqueue, claim the next item, list, decide.

Concurrency is optimistic: every change is one conditional UPDATE (`WHERE version = seen`),
so of two reviewers saving the same entry one wins and the other gets `ConflictError`
carrying the entry as it now is. Claims work the same way (`WHERE claimed_by IS NULL OR
the lease ran out`), so two reviewers asking for the next item at once get different ones,
on SQLite and PostgreSQL alike, without row locks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from benchsmith.errors import BenchsmithError
from benchsmith.records import Item
from benchsmith.review.db import STATUSES, DecisionRow, QueueEntryRow, QueueFlagRow, audit
from benchsmith.review.neighbours import Neighbourhood, neighbourhoods
from benchsmith.review.routing import needs_double
from benchsmith.store import Store, _now, _utc, distinct_values

if TYPE_CHECKING:
    from benchsmith.embeddings import Embedder

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


class EditRejected(ReviewError):
    """An edit that fails the rule checks or dedup: not saved; `problems` say why (fix and resubmit, or reject)."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("the edit was not saved: " + "; ".join(problems))
        self.problems = list(problems)


EditCheck = Callable[["Entry", Item], list[str]]
"""Checks an edited item before it may be saved: the problems found (none: it may be saved)."""


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
    reviews_needed: int = 1
    first_reviewer: str | None = None
    cluster: str | None = None
    neighbours: tuple[dict[str, Any], ...] = ()

    @property
    def blind(self) -> bool:
        """Waiting for one or both of its two blind reviews: nothing of a first review may be shown."""
        return self.reviews_needed >= 2 and self.status == "pending"

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
                   decided_by=row.decided_by, decided_at=_utc(row.decided_at), flags=tuple(flags),
                   reviews_needed=row.reviews_needed or 1, first_reviewer=row.first_reviewer, cluster=row.cluster,
                   neighbours=tuple(row.neighbours or ()))


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
    cluster: str | None = None  # embedding cluster (computed at enqueue time)

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
        if self.cluster:
            out.append(q.cluster == self.cluster)
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
            actor: str = "pipeline", embedder: Embedder | None = None, pool: Sequence[Item] | None = None,
            seed: int = 0) -> int:
    """Queue items for review (the suite is the run's unless given); returns how many were new.

    An item already queued in the suite is left as it is, decisions and all, so enqueueing
    the same run twice changes nothing. An item routing marked for double review
    (`routing.DOUBLE_KEY`) needs two blind reviews. With an `embedder`, each new entry gets
    its nearest neighbours among `pool` (default: every item the run saved) and its
    embedding cluster, stored with it (`review.neighbours`).
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
    new = [it for it in latest.values() if it.id not in existing]
    near: dict[str, Neighbourhood] = {}
    if embedder is not None and new:
        if pool is None:
            pool = store.items_for_run(run_id) if run_id else []
        near = neighbourhoods(new, pool, embedder, seed=seed)
    with store.session() as s:
        for item in new:
            failed = [v for v in item.verdicts if not v.passed]
            hood = near.get(item.id)
            row = QueueEntryRow(item_id=item.id, suite=suite, run_id=run_id, generator=item.lineage.generator,
                                status="pending", priority=float(priority_fn(item)), score=_score(item),
                                flagged=bool(failed), item=item.model_dump(mode="json"), version=1,
                                created_at=now, reviews_needed=2 if needs_double(item) else 1,
                                cluster=hood.cluster if hood else None,
                                neighbours=hood.neighbours if hood else None)
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


def next_entry(store: Store, reviewer: str, flt: QueueFilter | None = None, *, lease: timedelta = LEASE,
               skip: Sequence[int] = ()) -> Entry | None:
    """Claim the most uncertain pending entry nobody else holds (or the one this reviewer already holds).

    A double-review entry this reviewer gave its first blind review is never handed back to them.
    """
    flt = QueueFilter(**{**flt.__dict__, "status": "pending"}) if flt else QueueFilter()
    for _ in range(20):  # lost races: someone claimed our pick between SELECT and UPDATE
        now = _now()
        free = or_(QueueEntryRow.claimed_by.is_(None), QueueEntryRow.claimed_until < now,
                   QueueEntryRow.claimed_by == reviewer)
        with store.session() as s:
            base = select(QueueEntryRow.id).where(*flt.clauses(), not_reviewed_by(reviewer))
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


def not_reviewed_by(reviewer: str) -> Any:
    """Entries `reviewer` may still decide: not those they gave the first of two blind reviews."""
    return or_(QueueEntryRow.first_reviewer.is_(None), QueueEntryRow.first_reviewer != reviewer)


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
        # Showing everyone's pending items, what remains is the same count: don't count 100k rows twice.
        remaining = total if flt.status == "pending" and not flt.reviewer else (
            s.scalar(select(func.count()).select_from(QueueEntryRow).where(*pending)) or 0)
        # The page's ids first, from the index, then only those rows: an OFFSET over whole rows reads
        # every item's JSON before the page (1.5 s for a page 70k entries deep on SQLite).
        ids = list(s.scalars(_ordered(select(QueueEntryRow.id).where(*clauses), sort)
                             .offset((page - 1) * per_page).limit(per_page)))
        loaded = {r.id: r for r in s.scalars(select(QueueEntryRow).where(QueueEntryRow.id.in_(ids)))} if ids else {}
        rows = [loaded[i] for i in ids if i in loaded]
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


def adjacent(store: Store, entry: Entry, flt: QueueFilter | None = None, reviewer: str | None = None
             ) -> tuple[str | None, str | None]:
    """Item ids before and after `entry` in priority order under `flt` (for j/k), skipping others' claims
    (and, for `reviewer`, the double-review items they already gave their blind review)."""
    e = QueueEntryRow
    now = _now()
    clauses = [*(flt or QueueFilter()).clauses(), e.id != entry.id,
               or_(e.claimed_by.is_(None), e.claimed_until < now, e.claimed_by == (entry.claimed_by or ""))]
    if reviewer:
        clauses.append(not_reviewed_by(reviewer))
    same = e.priority == entry.priority
    with store.session() as s:
        def first(*where: Any, order: tuple[Any, ...]) -> str | None:
            return s.scalar(select(e.item_id).where(*clauses, *where).order_by(*order).limit(1))

        # Ties on priority first, then the next priority: two index seeks each way. One OR of both
        # ("priority < p OR priority = p AND id > x") makes the planners sort every row in the tie
        # (60 ms at 100k entries, where a fifth of the queue shares priority 1.0).
        nxt = first(same, e.id > entry.id, order=(e.id,)) or first(
            e.priority < entry.priority, order=(e.priority.desc(), e.id))
        prev = first(same, e.id < entry.id, order=(e.id.desc(),)) or first(
            e.priority > entry.priority, order=(e.priority, e.id.desc()))
    return prev, nxt


def decisions(store: Store, entry_id: int) -> list[DecisionRow]:
    """Every decision on an entry, oldest first (detached rows)."""
    with store.session() as s:
        return list(s.scalars(select(DecisionRow).where(DecisionRow.entry_id == entry_id)
                              .order_by(DecisionRow.created_at, DecisionRow.id)))


def facets(store: Store) -> dict[str, list[str]]:
    """Distinct values for the filter drop-downs: suites, runs, generators, flagging stages, deciders, clusters."""
    e = QueueEntryRow
    with store.session() as s:
        def distinct(col: Any) -> list[str]:
            return [v for v in distinct_values(s, col) if v]  # one index lookup per value, not a pass over all
        return {"suite": distinct(e.suite), "run_id": distinct(e.run_id), "generator": distinct(e.generator),
                "flag": distinct(QueueFlagRow.stage), "reviewer": distinct(e.decided_by),
                "cluster": distinct(e.cluster)}
