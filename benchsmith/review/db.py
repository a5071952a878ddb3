"""Tables of the review queue on the workspace database: reviewers, queue entries, decisions, audit log.

They sit on the store's `Base`, so importing this module before `Store.open` makes
`create_all` create them (`open_review_store` does both). Only portable SQLAlchemy types and
plain conditional UPDATEs are used, so the same code runs on PostgreSQL; every filter the
queue page offers has an index, for queues of 100k entries.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from benchsmith.store import Base, Store, _now

Role = Literal["reviewer", "admin"]
ROLES: tuple[str, ...] = ("reviewer", "admin")
EntryStatus = Literal["pending", "accepted", "rejected", "edited", "conflict"]
STATUSES: tuple[str, ...] = ("pending", "accepted", "rejected", "edited", "conflict")
DecisionKind = Literal["accept", "reject", "edit"]
Phase = Literal["review", "blind", "resolution"]
PHASES: tuple[str, ...] = ("review", "blind", "resolution")
"""Why a decision was made: the one review of a single-review entry, one of the two blind reviews
of a double-review entry, or an admin's resolution of a conflict between those two."""


class ReviewerRow(Base):
    """A reviewer account. `failed_logins`/`last_failed_at` drive the login slow-down."""

    __tablename__ = "reviewers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="reviewer")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class QueueEntryRow(Base):
    """One item waiting for (or having had) review. One entry per (suite, item id).

    Filter columns are copied out of the item JSON at enqueue time so that the queue page
    filters and sorts on indexed columns instead of parsing JSON. `version` is bumped by
    every change (optimistic concurrency); `claimed_by`/`claimed_until` is the lease that
    keeps two reviewers from being handed the same item.

    Double review: `reviews_needed` is 2 for the share of entries the spec's `double_share`
    picked. The first blind decision only sets `first_reviewer` (the entry stays pending,
    with no decided_by and no edited item, so the second reviewer sees nothing of it); the
    second decides it, or turns it into a `conflict` an admin resolves. `cluster` and
    `neighbours` (nearest items of the suite, with cosine similarity) are computed at
    enqueue time so the pages stay fast.
    """

    __tablename__ = "review_queue"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(String(64))
    suite: Mapped[str] = mapped_column(String(200))
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    generator: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    priority: Mapped[float] = mapped_column(Float, default=0.0)  # uncertainty: higher is served first
    score: Mapped[float | None] = mapped_column(Float, nullable=True)  # the item's quality score, if any
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)  # some verifier failed the item
    item: Mapped[dict[str, Any]] = mapped_column(JSON)  # the item as generated
    edited_item: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # after an edit
    version: Mapped[int] = mapped_column(Integer, default=1)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    reviews_needed: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # 2: blind double review
    first_reviewer: Mapped[str | None] = mapped_column(String(64), nullable=True)  # first of the two blind reviews
    cluster: Mapped[str | None] = mapped_column(String(200), nullable=True)  # embedding cluster of the run's pool
    neighbours: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)  # [{id, similarity, prompt}]

    __table_args__ = (
        UniqueConstraint("suite", "item_id", name="uq_review_queue_suite_item"),
        Index("ix_review_queue_item", "item_id"),
        Index("ix_review_queue_status_priority", "status", "priority", "id"),
        Index("ix_review_queue_suite_status_priority", "suite", "status", "priority", "id"),
        Index("ix_review_queue_run", "run_id", "status"),
        Index("ix_review_queue_generator", "generator", "status"),
        Index("ix_review_queue_decided_by", "decided_by", "status"),
        Index("ix_review_queue_score", "score"),
        Index("ix_review_queue_cluster", "cluster", "status"),
    )


class QueueFlagRow(Base):
    """A verifier that flagged (failed) a queued item: the 'verifier flag' filter."""

    __tablename__ = "review_queue_flags"

    entry_id: Mapped[int] = mapped_column(Integer, ForeignKey("review_queue.id", ondelete="CASCADE"),
                                          primary_key=True)
    stage: Mapped[str] = mapped_column(String(200), primary_key=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_review_queue_flags_stage", "stage", "entry_id"),)


class DecisionRow(Base):
    """One reviewer's decision on one entry. An edit keeps the changed fields and their diff."""

    __tablename__ = "review_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(Integer, ForeignKey("review_queue.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(64))
    reviewer: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))
    reason_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    edited_fields: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    diff: Mapped[str | None] = mapped_column(Text, nullable=True)
    entry_version: Mapped[int] = mapped_column(Integer)  # the version the reviewer saw
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    phase: Mapped[str] = mapped_column(String(16), default="review", server_default="review")  # PHASES
    origin: Mapped[str] = mapped_column(String(200), default="web", server_default="web")  # web, bulk, import:<file>

    __table_args__ = (
        Index("ix_review_decisions_entry", "entry_id", "created_at"),
        Index("ix_review_decisions_reviewer", "reviewer", "created_at"),
    )


class AuditRow(Base):
    """Append-only log of every change: nothing updates or deletes these rows."""

    __tablename__ = "review_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entry_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    item_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    __table_args__ = (Index("ix_review_audit_entry", "entry_id", "id"), Index("ix_review_audit_at", "at"))


def audit(s: Session, actor: str, action: str, *, entry: QueueEntryRow | None = None,
          before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
    """Append one audit entry in the caller's transaction (so it lands exactly when the change does)."""
    s.add(AuditRow(at=_now(), actor=actor, action=action, entry_id=entry.id if entry else None,
                   item_id=entry.item_id if entry else None, before=before, after=after))


def open_review_store(workspace: Path | str, url: str | None = None) -> Store:
    """The workspace store with the review tables created (this module's import registered them)."""
    return Store.open(workspace, url)
