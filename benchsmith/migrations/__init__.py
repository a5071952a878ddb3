"""Schema migrations of the workspace database (Alembic), run by `Store` when it opens a database.

`upgrade(engine)` brings any workspace database to the newest revision, in place:

- at head already: one read of `alembic_version`, no lock (so opening the store while a
  `benchsmith run` writes does not wait);
- otherwise, under a lock (SQLite: `BEGIN IMMEDIATE` on a connection of its own with foreign
  keys off, so a copy-and-rename ALTER cannot cascade-delete rows; PostgreSQL: a transaction
  advisory lock) and in one transaction (both databases have transactional DDL), so two
  processes opening a new workspace at once migrate it once and a failed step leaves it as it was;
- a database without `alembic_version` was made by `create_all` in a version before
  migrations: its tables are matched against `LEGACY_SCHEMAS` and stamped with the revision
  they are, then upgraded. Data is kept.

Revisions live in `versions/`; `python -m benchsmith.migrations revision -m "what"` writes a new one
from the difference between the models and the head schema.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import MetaData, create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from benchsmith.errors import BenchsmithError
from benchsmith.sqlite_wal import use_wal

if TYPE_CHECKING:  # Alembic is imported only when a database needs migrating (half a second)
    from alembic.config import Config
    from alembic.script import ScriptDirectory

HERE = Path(__file__).resolve().parent
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*=\s*(?:['\"]([^'\"]+)['\"]|None)\s*$", re.M)
_MIGRATION_WAIT_S = 60  # how long a migrating process waits for another migrator or a long write
_PG_LOCK_KEY = 0x62656E6368  # "bench": one advisory lock id for every benchsmith migration


class SchemaError(BenchsmithError):
    """The database's schema is not one benchsmith knows (newer, foreign or damaged)."""


_RUNS = {"id", "suite", "spec_hash", "spec_path", "status", "started_at", "finished_at", "stop_reason", "version",
         "funnel", "usage", "error"}
_ITEMS = {"run_id", "id", "seq", "suite", "item", "passed", "drop_stage", "drop_reason", "review_status",
          "created_at"}
_REVIEW = {
    "reviewers": {"id", "name", "password_hash", "role", "created_at", "failed_logins", "last_failed_at"},
    "review_queue": {"id", "item_id", "suite", "run_id", "generator", "status", "priority", "score", "flagged",
                     "item", "edited_item", "version", "claimed_by", "claimed_until", "decided_by", "decided_at",
                     "created_at"},
    "review_queue_flags": {"entry_id", "stage", "reason"},
    "review_decisions": {"id", "entry_id", "item_id", "reviewer", "decision", "reason_code", "comment",
                         "edited_fields", "diff", "entry_version", "created_at"},
    "review_audit": {"id", "at", "actor", "action", "entry_id", "item_id", "before", "after"},
}
LEGACY_SCHEMAS: dict[str, dict[str, set[str]]] = {
    # revision → table → columns, as `create_all` made them before this package existed (newest last).
    "0001_baseline": {"runs": _RUNS, "items": _ITEMS},
    "0002_review_queue": {"runs": _RUNS, "items": _ITEMS, **_REVIEW},
}


def target_metadata() -> MetaData:
    """Every workspace table's model (the review tables register on import)."""
    import benchsmith.review.db  # noqa: F401  (registers the review tables on Base)
    from benchsmith.store import Base

    return Base.metadata


def config(connection: Connection | None = None) -> Config:
    """An Alembic config for this package's scripts (no alembic.ini); `connection` is used as given."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config())


def head() -> str:
    """The newest revision, as the scripts in `versions/` say."""
    rev = _script().get_current_head()
    assert rev is not None
    return rev


@functools.cache
def quick_head() -> str:
    """`head()` read straight from the scripts' `revision =` lines, without importing Alembic.

    Every store opening compares the database's revision with it; `head()` (Alembic itself)
    is asked only when something must be migrated, and a test checks that the two agree.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (HERE / "versions").glob("*.py"):
        fields = {m.group(1): m.group(2) for m in _REVISION_LINE.finditer(path.read_text(encoding="utf-8"))}
        if fields.get("revision"):
            revisions.add(str(fields["revision"]))
            if fields.get("down_revision"):
                parents.add(str(fields["down_revision"]))
    heads = revisions - parents
    if len(heads) != 1:
        raise SchemaError(f"the migration scripts in {HERE / 'versions'} have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def current(conn: Connection) -> str | None:
    """The revision a database is stamped with (None: never stamped)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def _stamped(engine: Engine) -> str | None:
    """`current` without Alembic: one SELECT (None also when the table is missing)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:
            return None


def legacy_revision(conn: Connection) -> str | None:
    """For a database without `alembic_version`: the revision its tables are (None: it has none of ours)."""
    insp = inspect(conn)
    known = set().union(*(schema.keys() for schema in LEGACY_SCHEMAS.values()))
    found = known & set(insp.get_table_names())
    if not found:
        return None
    columns = {t: {c["name"] for c in insp.get_columns(t)} for t in found}
    for rev, schema in reversed(LEGACY_SCHEMAS.items()):
        if set(schema) == found and all(cols <= columns[t] for t, cols in schema.items()):
            return rev
    raise SchemaError(f"the database has benchsmith tables ({', '.join(sorted(found))}) that match no known "
                      f"version (no alembic_version table): it is damaged or was made by an unreleased build")


def _sqlite_file(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that only one migrating process holds at a time."""
    if _sqlite_file(engine):
        mig = create_engine(engine.url, poolclass=NullPool)

        @event.listens_for(mig, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # the driver's implicit transactions off: we say BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={_MIGRATION_WAIT_S * 1000}")  # wait for another migrator
            use_wal(cur, _MIGRATION_WAIT_S)
            cur.execute("PRAGMA foreign_keys=OFF")  # a batch ALTER drops and recreates tables
            cur.close()

        @event.listens_for(mig, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock now, not at the first write

        try:
            with mig.begin() as conn:
                yield conn
                bad = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if bad:
                    raise SchemaError(f"the migration would break foreign keys: {bad[:5]}")
        finally:
            mig.dispose()
        return
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        yield conn


def upgrade(engine: Engine) -> str:
    """Bring the database behind `engine` to the newest revision, keeping its data; returns the revision."""
    if _stamped(engine) == quick_head():
        return quick_head()
    from alembic import command

    target = head()
    with _locked(engine) as conn:
        rev = current(conn)  # again, under the lock: another process may have migrated meanwhile
        if rev is not None and rev != target:
            try:
                _script().get_revision(rev)
            except Exception:  # alembic raises several kinds for an unknown id
                raise SchemaError(f"the database is at schema revision {rev!r}, which this version of benchsmith "
                                  f"does not know (newest here: {target!r}): it was written by a newer "
                                  "benchsmith; upgrade benchsmith") from None
        if rev is None:
            legacy = legacy_revision(conn)
            if legacy is not None:
                command.stamp(config(conn), legacy)
        if rev != target:
            command.upgrade(config(conn), "head")
    return target
