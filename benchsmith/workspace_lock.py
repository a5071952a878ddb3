"""One run per workspace at a time: an exclusive lock taken before the first LLM call.

Two runs of one spec in one workspace would send the same requests twice and the loser
would fail at publish after paying in full. The lock is an `flock` on
`<workspace>/run.lock`, so the kernel releases it when its holder dies: a lock left by a
killed run is never stale, and the next run takes it over (and says so). The file holds
the holder's pid, start time and suite, for the message a second run prints.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchsmith.errors import BenchsmithError

LOCK_NAME = "run.lock"


class WorkspaceBusy(BenchsmithError):
    """Another live run holds the workspace: names its pid, suite and start time."""


@dataclass(frozen=True)
class LockInfo:
    """Who holds (or last held) a workspace lock."""

    pid: int | None
    suite: str | None
    started_at: str | None

    def describe(self) -> str:
        who = f"pid {self.pid}" if self.pid else "an unknown process"
        what = f"run of suite {self.suite!r}" if self.suite else "run"
        since = f", started {self.started_at}" if self.started_at else ""
        return f"a {what} ({who}{since})"


def _read(fh: Any) -> LockInfo:
    fh.seek(0)
    try:
        data = json.loads(fh.read() or "{}")
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    pid = data.get("pid")
    return LockInfo(pid=pid if isinstance(pid, int) else None, suite=data.get("suite"),
                    started_at=data.get("started_at"))


@contextlib.contextmanager
def workspace_lock(workspace: Path, *, suite: str, on_takeover: Any = None) -> Iterator[LockInfo]:
    """Hold the workspace's run lock for the block; `WorkspaceBusy` at once if a live run has it.

    `on_takeover(previous)` is called when the lock file names an earlier holder that is
    gone (a killed run); the block then runs as usual.
    """
    workspace.mkdir(parents=True, exist_ok=True)
    path = workspace / LOCK_NAME
    fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held open for the whole block)
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fh)
            raise WorkspaceBusy(
                f"workspace {workspace} is in use by {holder.describe()}: wait for it to finish, or give this "
                "run its own --workspace") from None
        previous = _read(fh)
        if previous.pid and previous.pid != os.getpid() and on_takeover is not None:
            # We got the lock and the file still names a holder: it died without releasing it
            # (a clean exit empties the file), and flock let go of it with its process.
            on_takeover(previous)
        mine = LockInfo(pid=os.getpid(), suite=suite, started_at=datetime.now(UTC).isoformat(timespec="seconds"))
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": mine.pid, "suite": mine.suite, "started_at": mine.started_at}))
        fh.flush()
        try:
            yield mine
        finally:
            fh.seek(0)
            fh.truncate()  # released cleanly: the next run has nothing to take over
            fh.flush()
            fcntl.flock(fh, fcntl.LOCK_UN)
    finally:
        fh.close()
