"""A temporary local Prefect API for runs with no Prefect server configured.

Prefect's own ephemeral mode starts the same thing (uvicorn serving
`prefect.server.api.server:create_app`) but as a plain child in our process group, so a
Ctrl-C in the terminal kills it at the same instant as the run, and the run's last API
calls (marking tasks crashed, flushing events) fail with connection errors instead of
ending cleanly. Here the server runs in its own session — Ctrl-C reaches only the run,
which then stops the server in order — and dies with the run if the run is killed.

With PREFECT_API_URL set (a real Prefect server), nothing is started.

Its start-up takes seconds (Prefect's server imports alone take ~4 s of CPU), so
`benchsmith run` calls `start_early()` before its own slow imports and spec checks, and
the run claims that server (`take_early`) instead of starting one. On a new
`PREFECT_HOME` the server starts from a copy of an already migrated, empty database
(`flows.prefect_db`) instead of running Prefect's migrations.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import prefect
from prefect.settings import PREFECT_API_URL, temporary_settings

from benchsmith import process
from benchsmith.flows import prefect_db


class LocalPrefectAPI:
    """The server process; `start()` returns at once, `wait()` blocks until it answers."""

    def __init__(self, log_path: Path | None = None, startup_timeout_s: float = 180.0) -> None:
        self.log_path = log_path or Path(tempfile.gettempdir()) / f"benchsmith-prefect-api-{os.getpid()}.log"
        self.startup_timeout_s = startup_timeout_s
        self.port = process.free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        self._save_template_to: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self) -> LocalPrefectAPI:
        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
               "PREFECT__SERVER_FINAL": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        db = prefect_db.database_file()
        if db is not None:
            # The server uses the file this process found (and may have seeded), whatever its env says.
            env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = f"sqlite+aiosqlite:///{db}"
            db.parent.mkdir(parents=True, exist_ok=True)
            if not db.exists() and not prefect_db.seed(db):
                self._save_template_to = db  # it migrates a new database: keep a copy once it answers
        self.log_path.write_bytes(b"")
        self._proc = process.spawn(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(prefect.__file__).parent.parent),
             "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "error", "--lifespan", "on"],
            log_path=self.log_path, env=env)
        return self

    def wait(self) -> None:
        assert self._proc is not None, "start() first"
        process.wait_until_ready(self._proc, f"{self.url}/health", timeout_s=self.startup_timeout_s,
                                 what="the local Prefect API server", log_path=self.log_path)
        if self._save_template_to is not None:
            prefect_db.save(self._save_template_to)
            self._save_template_to = None

    def stop(self) -> None:
        if self._proc is not None:
            process.stop(self._proc)
            self._proc = None
        # The log is only worth keeping when the server said something (a failed start-up).
        with contextlib.suppress(OSError):
            if self.log_path.stat().st_size == 0:
                self.log_path.unlink()


_early: LocalPrefectAPI | None = None


def start_early() -> None:
    """Start the local API now (when one will be needed), for the next `take_early()`.

    A server nobody claims is stopped when the process exits.
    """
    global _early
    if _early is None and needed():
        _early = LocalPrefectAPI().start()
        atexit.register(_stop_unclaimed, _early)


def take_early() -> LocalPrefectAPI | None:
    """The server `start_early()` started, now the caller's to stop; None when there is none."""
    global _early
    server, _early = _early, None
    return server


def _stop_unclaimed(server: LocalPrefectAPI) -> None:
    if server is _early:
        server.stop()


def needed() -> bool:
    """True when no Prefect API is configured, so a local one must run."""
    return not PREFECT_API_URL.value()


@contextlib.contextmanager
def prefect_api(server: LocalPrefectAPI | None = None) -> Iterator[str | None]:
    """Point Prefect at a running API for the block: the configured one, else a local server.

    Pass a server that was `start()`ed earlier to overlap its start-up with other work.
    """
    if not needed():
        if server is not None:
            server.stop()
        yield None
        return
    server = server or LocalPrefectAPI().start()
    try:
        server.wait()
        with temporary_settings({PREFECT_API_URL: server.url}):
            yield server.url
    finally:
        _send_pending_logs_and_events()
        server.stop()


def _send_pending_logs_and_events() -> None:
    """Let Prefect's background workers send what they hold while the local server still answers.

    Otherwise they flush at interpreter exit, to a stopped server, and print "Error logging
    to API" after an otherwise clean run.
    """
    try:
        asyncio.get_running_loop()
        return  # draining blocks; never from inside an event loop
    except RuntimeError:
        pass
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=5, at_exit=False)
