"""WAL switching when another connection holds the write lock (benchsmith.sqlite_wal)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchsmith.sqlite_wal import use_wal


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[tuple[sqlite3.Connection, sqlite3.Connection]]:
    """(a connection holding the write lock of a new database, another connection to it)."""
    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=5)
    yield holder, other
    if holder.in_transaction:
        holder.rollback()


def test_the_plain_pragma_fails_at_once_despite_a_busy_timeout(
        locked: tuple[sqlite3.Connection, sqlite3.Connection]) -> None:
    # Why use_wal exists: the switch is a read-to-write upgrade, which SQLite's busy handler skips.
    _, other = locked
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        other.execute("PRAGMA journal_mode=WAL")
    assert time.monotonic() - started < 1


def test_use_wal_waits_for_the_writer_and_switches(locked: tuple[sqlite3.Connection, sqlite3.Connection]) -> None:
    holder, other = locked
    release = threading.Timer(0.3, holder.rollback)
    release.start()
    use_wal(other, timeout_s=10)  # the plain pragma would raise here (test above)
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    release.join()


def test_use_wal_gives_up_after_its_timeout(locked: tuple[sqlite3.Connection, sqlite3.Connection]) -> None:
    _, other = locked
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        use_wal(other, timeout_s=0.5)
    assert 0.3 <= time.monotonic() - started < 2
