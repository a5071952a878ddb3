"""Switching a SQLite database to WAL mode when other processes may be doing the same.

SQLite's busy timeout does not cover the switch: `PRAGMA journal_mode=WAL` reads the file
header, then upgrades to a write lock to rewrite it, and a read-to-write upgrade that meets
another writer fails at once with "database is locked" (the busy handler is not called, to
avoid deadlock). Two processes opening a new workspace database or embedding cache at the
same moment hit exactly that. Once one of them has switched, the others find the header
already in WAL mode and need no lock, so retrying for a short while always settles it.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Protocol

_FIRST_PAUSE_S = 0.005
_MAX_PAUSE_S = 0.2


class _Executes(Protocol):
    def execute(self, sql: str, /) -> sqlite3.Cursor: ...


def use_wal(conn: _Executes, timeout_s: float) -> None:
    """Put the database behind `conn` (a sqlite3 connection or cursor) in WAL mode.

    Retries the switch while another connection holds the lock, for up to `timeout_s`;
    after that the last "database is locked" error is raised.
    """
    deadline = time.monotonic() + timeout_s
    pause = _FIRST_PAUSE_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, _MAX_PAUSE_S)
