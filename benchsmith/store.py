"""The workspace database: runs and the items each run produced.

SQLAlchemy 2.0, so any SQLAlchemy URL works (``postgresql+psycopg://…``, or `BENCHSMITH_DB`);
by default a SQLite file ``<workspace>/workspace.db`` in WAL mode, so a reader (the review web
app) never blocks the writing run, and a writer waits up to a busy timeout for another.
Later features (review queue, reviewers, audit log) add their models on the same `Base`;
the schema itself is made and changed only by the Alembic migrations in
`benchsmith.migrations`, which opening a `Store` applies (an older workspace upgrades in place).
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from benchsmith.errors import BenchsmithError
from benchsmith.funnel import Funnel
from benchsmith.records import Item
from benchsmith.sqlite_wal import use_wal

RunStatus = Literal["running", "succeeded", "failed", "interrupted", "crashed"]
_FINAL_STATUSES = ("succeeded", "failed", "interrupted", "crashed")
DB_FILENAME = "workspace.db"
DB_ENV = "BENCHSMITH_DB"
"""Environment variable with the database URL used when none is given (as `--db` on the command line)."""
BUSY_TIMEOUT_S = 10.0


class StoreError(BenchsmithError):
    """A workspace database problem: bad URL, unknown run, invalid status."""


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime | None) -> datetime | None:
    # SQLite keeps no time zone: values come back naive but were written in UTC. PostgreSQL
    # returns them in the session's zone (UTC, set on connect), normalised here all the same.
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every workspace table."""


class RunRow(Base):
    """One pipeline run."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    suite: Mapped[str] = mapped_column(String(200))
    spec_hash: Mapped[str] = mapped_column(String(64))
    spec_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    stop_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    funnel: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_runs_suite_started", "suite", "started_at"),)


class ItemRow(Base):
    """One item of one run, with its outcome. The same item id may appear in many runs."""

    __tablename__ = "items"

    run_id: Mapped[str] = mapped_column(String(64), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)  # save order within the run
    suite: Mapped[str] = mapped_column(String(200))
    item: Mapped[dict[str, Any]] = mapped_column(JSON)
    passed: Mapped[bool] = mapped_column(Boolean)
    drop_stage: Mapped[str | None] = mapped_column(String(200), nullable=True)
    drop_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    review_status: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_items_suite", "suite"),
        Index("ix_items_run_passed", "run_id", "passed"),
        Index("ix_items_review_status", "review_status"),
    )


@dataclass(frozen=True)
class RunInfo:
    """A detached snapshot of a `runs` row."""

    id: str
    suite: str
    spec_hash: str
    spec_path: str | None
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    stop_reason: str | None
    version: str | None
    funnel: Funnel | None
    usage: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @classmethod
    def from_row(cls, row: RunRow) -> RunInfo:
        return cls(
            id=row.id, suite=row.suite, spec_hash=row.spec_hash, spec_path=row.spec_path,
            status=row.status,  # type: ignore[arg-type]
            started_at=_utc(row.started_at),  # type: ignore[arg-type]
            finished_at=_utc(row.finished_at), stop_reason=row.stop_reason, version=row.version,
            funnel=Funnel.model_validate(row.funnel) if row.funnel is not None else None,
            usage=dict(row.usage or {}), error=row.error,
        )


def _sqlite_pragmas(busy_ms: int, dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={busy_ms}")  # a write waits this long for another writer
    use_wal(cur, busy_ms / 1000)  # readers don't block the writer
    cur.execute("PRAGMA foreign_keys=ON")  # off by default in SQLite
    cur.close()


def _json_dict(value: Any, what: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, Funnel):
        return value.model_dump(mode="json")
    if not isinstance(value, dict):
        raise StoreError(f"{what} must be a dict, got {type(value).__name__}")
    return value


class Store:
    """The workspace database. `Store.open(workspace)` for the default SQLite file.

    Opening it migrates the schema to the newest revision (`benchsmith.migrations.upgrade`).
    `busy_timeout_s` is how long a SQLite write waits for another writer before it fails
    with "database is locked" (PostgreSQL locks rows, not the file, so it does not apply).
    """

    def __init__(self, url: str, *, echo: bool = False, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        from benchsmith import migrations  # imports Alembic: only when a store opens

        try:
            parsed = make_url(url)
        except ArgumentError as err:
            raise StoreError(f"not a database URL: {url!r} ({err})") from None
        backend = parsed.get_backend_name()
        if backend == "postgresql" and "+" not in parsed.drivername:
            parsed = parsed.set(drivername="postgresql+psycopg")  # the driver we ship, not psycopg2
        if backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        shown = parsed.render_as_string(hide_password=True)
        options: dict[str, Any] = {}
        if backend == "postgresql":
            # timestamptz values come back in the session's zone: make it UTC, whatever the server's default.
            options["connect_args"] = {"options": "-c timezone=UTC"}
        try:
            self.engine: Engine = create_engine(parsed, echo=echo, **options)
        except (ArgumentError, ImportError) as err:
            raise StoreError(f"cannot use database URL {shown!r}: {err}") from None
        if backend == "sqlite":
            event.listen(self.engine, "connect", functools.partial(_sqlite_pragmas, int(busy_timeout_s * 1000)))
        try:
            migrations.upgrade(self.engine)
        except migrations.SchemaError as err:
            self.engine.dispose()
            raise StoreError(f"{shown}: {err}") from None
        except OperationalError as err:
            self.engine.dispose()
            raise StoreError(f"cannot open the database {shown}: {err.orig}") from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def open(cls, workspace: Path | str, url: str | None = None, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> Store:
        """The store of a workspace folder: `url` if given, else `$BENCHSMITH_DB`, else `<workspace>/workspace.db`."""
        url = url or os.environ.get(DB_ENV) or None
        if url:
            return cls(url, busy_timeout_s=busy_timeout_s)
        path = Path(workspace).resolve() / DB_FILENAME
        return cls(f"sqlite:///{path}", busy_timeout_s=busy_timeout_s)

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self._sessions.begin() as s:
            yield s

    # -- runs ---------------------------------------------------------------------------

    def start_run(self, *, suite: str, spec_hash: str, spec_path: Path | str | None = None,
                  run_id: str | None = None) -> str:
        """Record a new run in status 'running'; returns its id (generated unless given)."""
        started = _now()
        run_id = run_id or f"{started:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
        with self.session() as s:
            if s.get(RunRow, run_id) is not None:
                raise StoreError(f"run {run_id!r} already exists")
            s.add(RunRow(id=run_id, suite=suite, spec_hash=spec_hash,
                         spec_path=str(spec_path) if spec_path is not None else None,
                         status="running", started_at=started))
        return run_id

    def finish_run(self, run_id: str, status: RunStatus, *, stop_reason: str | None = None,
                   version: str | None = None, funnel: Funnel | dict[str, Any] | None = None,
                   usage: dict[str, Any] | None = None, error: str | None = None) -> RunInfo:
        """Close a run with a final status and what it produced; returns the updated run."""
        if status not in _FINAL_STATUSES:
            raise StoreError(f"finish_run: status must be one of {', '.join(_FINAL_STATUSES)}, got {status!r}")
        with self.session() as s:
            row = self._run_row(s, run_id)
            row.status = status
            row.finished_at = _now()
            row.stop_reason = stop_reason
            row.version = version
            row.funnel = _json_dict(funnel, "funnel")
            row.usage = _json_dict(usage, "usage")
            row.error = error
            return RunInfo.from_row(row)

    def mark_crashed(self) -> list[str]:
        """Close every run still 'running' as 'crashed'; returns their ids.

        Call it holding the workspace lock: no live run can then be 'running', so these are
        runs whose process was killed (or died) before it could record how it ended.
        """
        with self.session() as s:
            rows = list(s.scalars(select(RunRow).where(RunRow.status == "running")))
            for row in rows:
                row.status = "crashed"
                row.finished_at = _now()
                row.error = "the run's process ended without recording an outcome (killed or crashed)"
            return [row.id for row in rows]

    def run(self, run_id: str) -> RunInfo:
        """One run by id."""
        with self.session() as s:
            return RunInfo.from_row(self._run_row(s, run_id))

    def runs(self, suite: str | None = None) -> list[RunInfo]:
        """Runs, newest first, optionally of one suite."""
        q = select(RunRow).order_by(RunRow.started_at.desc(), RunRow.id.desc())
        if suite is not None:
            q = q.where(RunRow.suite == suite)
        with self.session() as s:
            return [RunInfo.from_row(r) for r in s.scalars(q)]

    def latest_run(self, suite: str) -> RunInfo | None:
        """The most recently started run of a suite, if any."""
        q = (select(RunRow).where(RunRow.suite == suite)
             .order_by(RunRow.started_at.desc(), RunRow.id.desc()).limit(1))
        with self.session() as s:
            row = s.scalars(q).first()
            return RunInfo.from_row(row) if row else None

    @staticmethod
    def _run_row(s: Session, run_id: str) -> RunRow:
        row = s.get(RunRow, run_id)
        if row is None:
            raise StoreError(f"no run with id {run_id!r}")
        return row

    # -- items --------------------------------------------------------------------------

    def save_items(self, run_id: str, items: Sequence[Item]) -> int:
        """Store (or replace, by id) items of a run with their outcome; returns how many."""
        if not items:
            return 0
        latest = {it.id: it for it in items}  # the last copy of an id wins
        now = _now()
        with self.session() as s:
            run = self._run_row(s, run_id)
            ids = list(latest)
            for i in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
                s.execute(delete(ItemRow).where(ItemRow.run_id == run_id, ItemRow.id.in_(ids[i:i + 500])))
            start = (s.scalar(select(func.max(ItemRow.seq)).where(ItemRow.run_id == run_id)) or 0) + 1
            rows = []
            for n, item in enumerate(latest.values()):
                failed = item.failed_verdict
                rows.append(ItemRow(
                    run_id=run_id, id=item.id, seq=start + n, suite=run.suite,
                    item=item.model_dump(mode="json"), passed=item.passed,
                    drop_stage=failed.stage if failed else None,
                    drop_reason=failed.reason if failed else None,
                    review_status=item.review_status, created_at=now,
                ))
            s.add_all(rows)
        return len(rows)

    def items_for_run(self, run_id: str, passed: bool | None = None) -> list[Item]:
        """A run's items in save order; `passed` filters on survivors (True) or drops (False)."""
        q = select(ItemRow.item).where(ItemRow.run_id == run_id).order_by(ItemRow.seq)
        if passed is not None:
            q = q.where(ItemRow.passed == passed)
        with self.session() as s:
            self._run_row(s, run_id)
            return [Item.model_validate(data) for data in s.scalars(q)]

    def drop_counts(self, run_id: str) -> dict[tuple[str, str], int]:
        """(drop_stage, drop_reason) → number of dropped items of a run."""
        q = (select(ItemRow.drop_stage, ItemRow.drop_reason, func.count())
             .where(ItemRow.run_id == run_id, ItemRow.passed.is_(False))
             .group_by(ItemRow.drop_stage, ItemRow.drop_reason))
        with self.session() as s:
            return {(st or "", r or ""): n for st, r, n in s.execute(q)}


def distinct_values(s: Session, column: Any) -> list[Any]:
    """The distinct non-null values of an indexed column, in order, by a loose index scan.

    Neither SQLite nor PostgreSQL skips through an index for `SELECT DISTINCT`: both read
    every row (20 ms per column at 100k queue entries). The recursive query asks the index
    for the next value above the last one instead, one lookup per distinct value.
    """
    seen = select(func.min(column).label("v")).cte("seen", recursive=True)
    following = select(func.min(column)).where(column > seen.c.v).scalar_subquery()
    seen = seen.union_all(select(following).where(seen.c.v.is_not(None)))
    return list(s.scalars(select(seen.c.v).where(seen.c.v.is_not(None)).order_by(seen.c.v)))


Workspace = Store
"""Alias: the workspace database is the store."""
