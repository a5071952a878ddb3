"""Blind double review afterwards: reviewers' agreement (kappa) and the admin's resolution of conflicts.

Agreement is measured on the decision kind (accept / reject / edit) of the two blind
reviews of every double-review entry that has both: Cohen's kappa for each pair of
reviewers over the items both of them decided, and Fleiss' kappa over all of them
(`benchsmith.agreement`; Fleiss because different pairs of people review different items,
which is its assumption). Two edits with different text agree in kind for kappa but are
still a conflict: the text to publish has to be chosen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update

from benchsmith.agreement import Agreement, cohen_kappa, fleiss_kappa
from benchsmith.records import Item
from benchsmith.review.db import DecisionRow, QueueEntryRow, audit
from benchsmith.review.deciding import DECISION_STATUS, check_decision, edit_item
from benchsmith.review.queue import (
    ConflictError,
    EditCheck,
    EditRejected,
    Entry,
    EntryNotFound,
    ReviewError,
    _entry,
    _Stale,
    get_entry_by_id,
)
from benchsmith.store import Store, _now


@dataclass(frozen=True)
class PairAgreement:
    """Cohen's kappa of two reviewers over the items both reviewed blind."""

    a: str
    b: str
    agreement: Agreement

    @property
    def key(self) -> str:
        return f"{self.a} / {self.b}"


@dataclass
class AgreementReport:
    """Agreement of the blind double reviews of some entries."""

    double_reviewed: int = 0
    """Entries with both blind reviews."""
    awaiting_second: int = 0
    """Double-review entries with one blind review so far."""
    conflicts: int = 0
    """Entries whose two reviews disagreed and no admin has resolved yet."""
    resolved: int = 0
    """Conflicts an admin resolved."""
    overall: Agreement | None = None
    """Fleiss' kappa over every double-reviewed entry (None: none yet)."""
    pairs: list[PairAgreement] = field(default_factory=list)

    def kappa_by_pair(self) -> dict[str, float | None]:
        return {p.key: p.agreement.kappa for p in self.pairs}


def blind_pairs(store: Store, entry_ids: Iterable[int] | None = None, *,
                suite: str | None = None) -> dict[int, list[DecisionRow]]:
    """Entry id → its blind decisions, oldest first (entries of `suite`, or the given ids)."""
    out: dict[int, list[DecisionRow]] = {}
    with store.session() as s:
        q = select(DecisionRow).where(DecisionRow.phase == "blind")
        if suite is not None:
            q = q.where(DecisionRow.entry_id.in_(select(QueueEntryRow.id).where(QueueEntryRow.suite == suite)))
        if entry_ids is None:
            rows = list(s.scalars(q.order_by(DecisionRow.created_at, DecisionRow.id)))
        else:
            ids = list(entry_ids)
            rows = []
            for i in range(0, len(ids), 500):
                rows += list(s.scalars(q.where(DecisionRow.entry_id.in_(ids[i:i + 500]))
                                       .order_by(DecisionRow.created_at, DecisionRow.id)))
    for row in rows:
        out.setdefault(row.entry_id, []).append(row)
    return out


def agreement(store: Store, entry_ids: Iterable[int] | None = None, *, suite: str | None = None) -> AgreementReport:
    """Kappa per reviewer pair and overall over the blind reviews of the entries (module docstring)."""
    pairs_of = blind_pairs(store, entry_ids, suite=suite)
    report = AgreementReport()
    by_pair: dict[tuple[str, str], tuple[list[Any], list[Any]]] = {}
    table: list[list[Any]] = []
    for rows in pairs_of.values():
        reviewers = list(dict.fromkeys(r.reviewer for r in rows))
        if len(reviewers) < 2:
            report.awaiting_second += 1
            continue
        report.double_reviewed += 1
        first = next(r for r in rows if r.reviewer == reviewers[0])
        second = next(r for r in rows if r.reviewer == reviewers[1])
        # Each pair in name order, so alice/bob and bob/alice are one pair.
        (x, lx), (y, ly) = sorted([(first.reviewer, first.decision), (second.reviewer, second.decision)])
        a, b = by_pair.setdefault((x, y), ([], []))
        a.append(lx)
        b.append(ly)
        table.append([first.decision, second.decision])
    report.pairs = [PairAgreement(x, y, cohen_kappa(a, b)) for (x, y), (a, b) in sorted(by_pair.items())]
    report.overall = fleiss_kappa(table) if table else None
    with store.session() as s:
        q = select(func.count()).select_from(QueueEntryRow).where(QueueEntryRow.status == "conflict")
        ids = None if entry_ids is None else list(pairs_of)
        if suite is not None:
            q = q.where(QueueEntryRow.suite == suite)
        if ids is not None:
            report.conflicts = sum(s.scalar(q.where(QueueEntryRow.id.in_(ids[i:i + 500]))) or 0
                                   for i in range(0, len(ids), 500))
        else:
            report.conflicts = s.scalar(q) or 0
        resolved = select(func.count(func.distinct(DecisionRow.entry_id))).where(DecisionRow.phase == "resolution")
        if suite is not None:
            resolved = resolved.where(DecisionRow.entry_id.in_(select(QueueEntryRow.id)
                                                               .where(QueueEntryRow.suite == suite)))
        if ids is not None:
            report.resolved = sum(s.scalar(resolved.where(DecisionRow.entry_id.in_(ids[i:i + 500]))) or 0
                                  for i in range(0, len(ids), 500))
        else:
            report.resolved = s.scalar(resolved) or 0
    return report


@dataclass(frozen=True)
class Conflict:
    """A conflict entry with its two blind decisions (and the edited item each proposed)."""

    entry: Entry
    decisions: list[DecisionRow]
    proposals: list[Item | None]


def conflicts(store: Store, suite: str | None = None, limit: int = 100) -> list[Conflict]:
    """Unresolved conflicts, oldest first, each with both blind decisions."""
    with store.session() as s:
        q = select(QueueEntryRow).where(QueueEntryRow.status == "conflict")
        if suite:
            q = q.where(QueueEntryRow.suite == suite)
        entries = [_entry(s, r) for r in s.scalars(q.order_by(QueueEntryRow.decided_at, QueueEntryRow.id).limit(limit))]
    blind = blind_pairs(store, [e.id for e in entries])
    out = []
    for e in entries:
        rows = blind.get(e.id, [])
        proposals = [edit_item(e.item, r.edited_fields or {})[0] if r.decision == "edit" else None for r in rows]
        out.append(Conflict(e, rows, proposals))
    return out


def resolve(store: Store, entry_id: int, admin: str, version: int, *, pick: int | None = None,
            edits: Mapping[str, Any] | None = None, comment: str | None = None,
            check: EditCheck | None = None) -> Entry:
    """An admin settles a conflict: take one blind decision (`pick`, its DecisionRow id) or write a
    final edit (`edits`, checked with `check` like any edit). Recorded as a 'resolution' decision and
    a `conflict.resolve` audit entry (who, when, before, after)."""
    if (pick is None) == (edits is None):
        raise ReviewError("resolve a conflict by picking one of its two decisions or by writing a final edit")
    check_decision("edit", None, comment)
    try:
        with store.session() as s:
            row = s.get(QueueEntryRow, entry_id)
            if row is None:
                raise EntryNotFound(f"no queue entry {entry_id}")
            if row.version != version:
                raise _Stale
            if row.status != "conflict":
                raise ReviewError(f"item {row.item_id} is {row.status}, not a conflict")
            base = Item.model_validate(row.item)
            reason_code: str | None = None
            edited_fields: dict[str, Any] | None = None
            diff: str | None = None
            if pick is not None:
                chosen = s.get(DecisionRow, pick)
                if chosen is None or chosen.entry_id != row.id or chosen.phase != "blind":
                    raise ReviewError(f"decision {pick} is not one of this item's blind reviews")
                decision, reason_code = chosen.decision, chosen.reason_code
                edited_fields, diff = chosen.edited_fields, chosen.diff
                edited = edit_item(base, edited_fields or {})[0] if decision == "edit" else None
            else:
                decision = "edit"
                edited, edited_fields, diff = edit_item(base, edits or {})
            if edited is not None and check is not None:
                problems = check(Entry.from_row(row), edited)
                if problems:
                    raise EditRejected(problems)
            before = {"status": row.status, "version": row.version, "decided_by": row.decided_by,
                      "edited_item": row.edited_item}
            at = _now()
            done = s.execute(update(QueueEntryRow).where(QueueEntryRow.id == row.id, QueueEntryRow.version == version)
                             .values(status=DECISION_STATUS[decision], decided_by=admin, decided_at=at,
                                     edited_item=edited.model_dump(mode="json") if edited else None,
                                     version=QueueEntryRow.version + 1, claimed_by=None, claimed_until=None)
                             .execution_options(synchronize_session=False))
            if done.rowcount != 1:  # type: ignore[attr-defined]
                raise _Stale
            s.add(DecisionRow(entry_id=row.id, item_id=row.item_id, reviewer=admin, decision=decision,
                              reason_code=reason_code, comment=comment or None, edited_fields=edited_fields,
                              diff=diff, entry_version=version, created_at=at, phase="resolution", origin="web"))
            s.refresh(row)
            audit(s, admin, "conflict.resolve", entry=row, before=before,
                  after={"status": row.status, "version": row.version, "decided_by": row.decided_by,
                         "edited_item": row.edited_item, "picked_decision": pick, "comment": comment or None})
            return _entry(s, row)
    except _Stale:
        raise ConflictError(get_entry_by_id(store, entry_id)) from None

