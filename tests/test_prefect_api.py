"""The local Prefect API a run starts when none is configured, and the CLI's early start of it."""

from __future__ import annotations

import httpx
import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from benchsmith.flows import prefect_api

pytestmark = [pytest.mark.slow]  # a real Prefect server start: several seconds


def test_early_server_is_claimed_once_and_answers() -> None:
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert prefect_api.needed()
        prefect_api.start_early()
        prefect_api.start_early()  # a second call starts no second server
        server = prefect_api.take_early()
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
