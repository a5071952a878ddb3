"""A migrated, empty Prefect database that new local APIs start from.

A local Prefect API (`flows.prefect_api`) on a new `PREFECT_HOME` first creates its SQLite
database by running all of Prefect's migrations: 7-10 s of a fresh run's start-up on a
two-core machine (CI, a container, a first run). The first such server leaves a copy of
its database as it is when it first answers (migrated, nothing run yet) in the user's
cache, one per Prefect version; a later server on a new home starts from a copy of it.
Prefect still checks the copy's migration revision at start-up and upgrades it if it is
behind, so the copy is never trusted beyond what Prefect checks itself.

Only Prefect's default kind of database (a SQLite file) is seeded; one the user
configured elsewhere (PostgreSQL, another URL) is left to Prefect.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import prefect
from prefect.settings import get_current_settings

from benchsmith.fsutil import replacing

_SQLITE = "sqlite+aiosqlite:///"


def database_file() -> Path | None:
    """The SQLite file the API's database lives in, when it is a plain file; else None."""
    url = get_current_settings().server.database.connection_url
    text = url.get_secret_value() if url is not None else ""
    if not text.startswith(_SQLITE):
        return None
    path = text[len(_SQLITE):]
    if not path or path.startswith((":memory:", "file:")) or "?" in path:
        return None
    return Path(path)


def template_file() -> Path:
    """Where this Prefect version's empty database is kept (`$XDG_CACHE_HOME/benchsmith`)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "benchsmith" / "prefect-db" / f"prefect-{prefect.__version__}.db"


def _revision(db: Path) -> str | None:
    """The database's migration revision (None: not a migrated Prefect database, or unreadable)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return str(row[0]) if row else None


def _copy(source: Path, target: Path, *, exclusive: bool) -> bool:
    """Copy the SQLite database `source` to `target`; True when done.

    SQLite's backup API makes the copy consistent even while a server has `source` open.
    `exclusive` fails if `target` appeared meanwhile: another run's server may have it
    open, and replacing it would swap the file under that server.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with replacing(target, exclusive=exclusive) as tmp, \
                contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src, \
                contextlib.closing(sqlite3.connect(tmp)) as dst:
            src.backup(dst)
            # A copy in WAL mode would grow -wal/-shm files beside it on every read (Prefect's
            # server turns WAL on again for its own database).
            dst.execute("PRAGMA journal_mode=DELETE")
    except (OSError, sqlite3.Error):
        return False
    return True


def seed(db: Path) -> bool:
    """Copy the template to `db` (which must not exist yet); True when it was copied.

    A template that is not a migrated Prefect database is deleted and not used.
    """
    template = template_file()
    if db.exists() or not template.exists():
        return False
    if _revision(template) is None:
        with contextlib.suppress(OSError):
            template.unlink()
        return False
    return _copy(template, db, exclusive=True)


def save(db: Path) -> None:
    """Keep a copy of `db` (just migrated by a server that now answers) as the template.

    Best effort: a template that cannot be written only means the next new home migrates again.
    """
    template = template_file()
    if not template.exists() and _revision(db) is not None:
        _copy(db, template, exclusive=False)
