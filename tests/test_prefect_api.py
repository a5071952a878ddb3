"""The local Prefect API a run starts when none is configured: the CLI's early start, the database template."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import httpx
import pytest
from prefect import flow
from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

from benchsmith.flows import prefect_api, prefect_db
from benchsmith.flows.prefect_api import LocalPrefectAPI

pytestmark = [pytest.mark.slow]  # a real Prefect server start: several seconds


def test_early_server_is_claimed_once_and_answers() -> None:
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert prefect_api.needed()
        prefect_api.start_early()
        server = prefect_api._early
        prefect_api.start_early()  # a second call starts no second server
        assert prefect_api._early is server
        assert prefect_api.take_early() is server
        assert server is not None
        try:
            assert prefect_api.take_early() is None  # now the caller's: nobody else gets (or stops) it
            server.wait()
            assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200
        finally:
            server.stop()


def test_no_early_server_when_an_api_is_configured() -> None:
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        assert not prefect_api.needed()
        prefect_api.start_early()
        assert prefect_api.take_early() is None


def _revision(db: Path) -> str:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return str(conn.execute("SELECT version_num FROM alembic_version").fetchone()[0])


@flow
def _hello() -> str:
    return "hello"


def test_a_new_home_starts_from_the_migrated_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No Prefect API configured (earlier tests of the session may have pointed Prefect at one).
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    template = prefect_db.template_file()
    assert str(template).startswith(str(tmp_path / "cache"))

    # The first server on a new home migrates its database and leaves a copy as the template.
    with temporary_settings({PREFECT_HOME: tmp_path / "home-1"}, restore_defaults={PREFECT_API_URL}):
        first = LocalPrefectAPI().start()
        try:
            first.wait()
        finally:
            first.stop()
    revision = _revision(tmp_path / "home-1" / "prefect.db")
    assert template.exists() and _revision(template) == revision
    assert not list(template.parent.glob("*-wal"))  # a plain file, not one in WAL mode

    # The next new home gets a copy before its server starts, and the server runs flows on it.
    with temporary_settings({PREFECT_HOME: tmp_path / "home-2"}, restore_defaults={PREFECT_API_URL}):
        second = LocalPrefectAPI().start()
        assert _revision(tmp_path / "home-2" / "prefect.db") == revision
        with prefect_api.prefect_api(second) as url:
            assert url == second.url
            assert _hello() == "hello"

    # A damaged template is deleted, not used: the server migrates as if there were none and saves a new one.
    template.write_bytes(b"not a database")
    with temporary_settings({PREFECT_HOME: tmp_path / "home-3"}, restore_defaults={PREFECT_API_URL}):
        third = LocalPrefectAPI().start()
        assert not (tmp_path / "home-3" / "prefect.db").exists()
        try:
            third.wait()
        finally:
            third.stop()
    assert _revision(template) == revision
