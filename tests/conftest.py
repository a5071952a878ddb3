"""Shared fixtures: a real fake-OpenAI HTTP server and a stage context wired to it."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Before anything imports Prefect: a private Prefect home per test session (its own
# SQLite database, ephemeral server and result store), quiet logs, and no telemetry
# attempts (there is no network). Set only if the caller did not choose otherwise.
if "PREFECT_HOME" not in os.environ:
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="benchsmith-prefect-")
    atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], True)
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path

import pytest

from benchsmith.embeddings import Embedder
from benchsmith.llm.client import LLMClient
from benchsmith.llm.usage import UsageMeter
from benchsmith.stages import StageContext
from benchsmith.testing.fake_openai import FakeOpenAIServer

# Role defaults mirror the spec's (benchsmith.spec.LLMSpec): the judge samples greedily.
_ROLE_PARAMS = {"judge": {"temperature": 0.0, "max_tokens": 256}}


@pytest.fixture(scope="session")
def _fake_llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeOpenAIServer]:
    log = tmp_path_factory.mktemp("fake-openai") / "server.log"
    with FakeOpenAIServer(log_path=log) as server:
        yield server


@pytest.fixture
def fake_llm(_fake_llm_server: FakeOpenAIServer) -> FakeOpenAIServer:
    """The session's fake OpenAI server, with rules, counters and latency reset for this test."""
    _fake_llm_server.reset()
    return _fake_llm_server


@pytest.fixture
def llm_ctx(fake_llm: FakeOpenAIServer, tmp_path: Path) -> StageContext:
    """A StageContext whose `.client(role)` is a real LLMClient pointed at `fake_llm`.

    Small timeouts and backoff keep fault tests fast; the cache lives in tmp_path; the
    clients share one UsageMeter, the `llm_usage` fixture.
    """
    usage = UsageMeter()
    clients: dict[str, LLMClient] = {}

    def client(role: str) -> LLMClient:
        if role not in clients:
            params = {"temperature": 0.7, "max_tokens": 512, **_ROLE_PARAMS.get(role, {})}
            clients[role] = LLMClient(
                base_url=fake_llm.base_url, model=fake_llm.model, role=role, concurrency=8, max_retries=2,
                timeout_s=3.0, backoff_base_s=0.02, backoff_max_s=0.2, cache_dir=tmp_path / "llm-cache",
                usage=usage, **params)
        return clients[role]

    return StageContext(llm=client, workspace=tmp_path / ".benchsmith", random_seed=0)


@pytest.fixture(scope="session")
def prefect_local_api() -> Iterator[str]:
    """One local Prefect API for the session's in-process runs (each run would start its own).

    Processes started by tests (the CLI) inherit nothing from here and start their own,
    as a user's run does.
    """
    from benchsmith.flows.prefect_api import LocalPrefectAPI, prefect_api

    with prefect_api(LocalPrefectAPI().start()) as url:
        assert url is not None, "PREFECT_API_URL is set: the tests would use that server"
        yield url


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    """The bundled MiniLM embedder with a cache of its own (one per test module)."""
    return Embedder(cache_dir=tmp_path_factory.mktemp("emb"))


@pytest.fixture
def ctx(tmp_path: Path, embedder: Embedder) -> StageContext:
    """A stage context without LLM access, on that embedder."""
    return StageContext(workspace=tmp_path / "ws", embedder_factory=lambda: embedder)
