"""WAL switching when another connection holds the write lock (benchsmith.sqlite_wal)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from benchsmith.sqlite_wal import use_wal


def _writer_holding_the_lock(path: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_the_plain_pragma_fails_at_once_despite_a_busy_timeout(tmp_path: Path) -> None:
    # Why use_wal exists: the switch is a read-to-write upgrade, which SQLite's busy handler skips.
    path = tmp_path / "new.db"
    holder = _writer_holding_the_lock(path)
    other = sqlite3.connect(path, timeout=5)
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        other.execute("PRAGMA journal_mode=WAL")
    assert time.monotonic() - started < 1
    holder.rollback()


def test_use_wal_waits_for_the_writer_and_switches(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    holder = _writer_holding_the_lock(path)
    other = sqlite3.connect(path, timeout=5)
    release = threading.Timer(0.3, holder.rollback)
    release.start()
    started = time.monotonic()
    use_wal(other, timeout_s=10)
    assert time.monotonic() - started >= 0.25
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    release.join()


def test_use_wal_gives_up_after_its_timeout(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    holder = _writer_holding_the_lock(path)
    other = sqlite3.connect(path, timeout=5)
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        use_wal(other, timeout_s=0.5)
    assert 0.3 <= time.monotonic() - started < 2
    holder.rollback()
