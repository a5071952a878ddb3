"""A throwaway PostgreSQL server for tests and benches: Debian's binaries, a temporary data folder.

`PostgresServer` runs `initdb` into a fresh temporary folder and starts `postgres` on a free
loopback port, with its Unix socket in that folder, as a child that dies with us. PostgreSQL
refuses to run as root, so as root the server runs as the `postgres` account Debian's package
creates (or `user=`). Authentication is `trust` on loopback only: the server holds nothing but
the databases a test creates and drops (`create_database` / `drop_database`).

Without the server binaries, `PostgresServer()` raises `PostgresUnavailable` with the command
that installs them; tests turn that into a failure, never a skip.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from benchsmith.process import _child_setup, free_port, log_tail

INSTALL_HINT = "install Debian's PostgreSQL server: apt-get install -y postgresql"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Durability off: a test database is thrown away, and fsync on every commit would dominate test time.
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries here (or no account to run them as)."""


def find_bindir() -> Path:
    """The folder of `initdb` and `postgres`: the newest /usr/lib/postgresql/<ver>/bin, or the PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: [int(x) for x in re.findall(r"\d+", p)] or [0])
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    raise PostgresUnavailable(f"PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb and no "
                              f"initdb on the PATH): {INSTALL_HINT}")


class PostgresServer:
    """A PostgreSQL server on 127.0.0.1 in a temporary folder; a context manager that starts and removes it.

    `settings` are extra `-c name=value` server settings (`FAST_SETTINGS` for tests).
    """

    def __init__(self, *, settings: dict[str, str] | None = None, user: str | None = None,
                 superuser: str = "postgres") -> None:
        self.bindir = find_bindir()
        self.settings = dict(settings or {})
        self.superuser = superuser
        self._run_as: str | None = None
        if os.geteuid() == 0:
            self._run_as = user or "postgres"
            try:
                pwd.getpwnam(self._run_as)
            except KeyError:
                raise PostgresUnavailable(f"PostgreSQL refuses to run as root and there is no {self._run_as!r} "
                                          f"account to run it as: {INSTALL_HINT} (it creates one)") from None
        self.root: Path | None = None
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    # -- lifecycle ----------------------------------------------------------------------

    def _as_owner(self) -> dict[str, Any]:
        if self._run_as is None:
            return {}
        return {"user": self._run_as, "group": pwd.getpwnam(self._run_as).pw_gid, "extra_groups": []}

    def start(self, timeout_s: float = 60.0) -> PostgresServer:
        """initdb, then start the server and wait until it accepts connections."""
        root = Path(tempfile.mkdtemp(prefix="benchsmith-pg-"))
        self.root = root
        data, log = root / "data", root / "server.log"
        if self._run_as is not None:
            owner = pwd.getpwnam(self._run_as)
            os.chown(root, owner.pw_uid, owner.pw_gid)
        init = subprocess.run(
            [str(self.bindir / "initdb"), "-D", str(data), "-U", self.superuser, "--auth=trust", "-E", "UTF8",
             "--locale=C", "--no-sync"],
            capture_output=True, text=True, cwd=root, **self._as_owner())
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed (code {init.returncode}): {init.stderr.strip() or init.stdout.strip()}")
        self.port = free_port()
        options = {"listen_addresses": "127.0.0.1", "port": str(self.port), "unix_socket_directories": str(root),
                   "max_connections": "300", **self.settings}
        cmd = [str(self.bindir / "postgres"), "-D", str(data)]
        for name, value in options.items():
            cmd += ["-c", f"{name}={value}"]
        with open(log, "ab") as out:
            # Our own child (not pg_ctl's daemon): it gets PDEATHSIG, so a killed test run leaves no server.
            self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                          cwd=root, start_new_session=True,
                                          preexec_fn=_child_setup(os.getpid()),  # noqa: PLW1509
                                          **self._as_owner())
        self._wait_ready(timeout_s, log)
        return self

    def _wait_ready(self, timeout_s: float, log: Path) -> None:
        import psycopg

        deadline = time.monotonic() + timeout_s
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"postgres exited with code {self._proc.returncode} at start. "
                                   f"Log ({log}):\n{log_tail(log)}")
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"postgres did not accept connections within {timeout_s:.0f} s. "
                                       f"Log ({log}):\n{log_tail(log)}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are ended) and remove its folder."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            # SIGINT is PostgreSQL's "fast" shutdown; a hung server is killed after the grace period.
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(2)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- databases ----------------------------------------------------------------------

    def dsn(self, database: str) -> str:
        """A libpq connection string (for psycopg) to one database."""
        return f"host=127.0.0.1 port={self.port} user={self.superuser} dbname={database}"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of one database (psycopg 3 driver)."""
        return f"postgresql+psycopg://{self.superuser}@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as con:
            con.execute(sql.encode())

    def create_database(self, name: str) -> str:
        """Create an empty database; returns its SQLAlchemy URL."""
        if not _NAME.match(name):
            raise ValueError(f"database name must match {_NAME.pattern}, got {name!r}")
        self._admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, ending any session still connected to it."""
        if not _NAME.match(name):
            raise ValueError(f"database name must match {_NAME.pattern}, got {name!r}")
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def log(self) -> str:
        """The end of the server's log (for failure messages)."""
        return log_tail(self.root / "server.log") if self.root else "(not started)"
