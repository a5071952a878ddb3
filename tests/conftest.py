"""Shared fixtures: a real fake-OpenAI HTTP server and a stage context wired to it; the workspace
database on SQLite and on a real PostgreSQL server."""

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

import re  # noqa: E402
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchsmith.embeddings import Embedder
from benchsmith.llm.client import LLMClient
from benchsmith.llm.usage import UsageMeter
from benchsmith.stages import StageContext
from benchsmith.store import DB_ENV
from benchsmith.testing.fake_openai import FakeOpenAIServer
from benchsmith.testing.postgres import FAST_SETTINGS, PostgresServer, PostgresUnavailable

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


# -- the workspace database on both backends -------------------------------------------------
#
# A test runs once on SQLite and once on PostgreSQL when it asks for `db_url` (or `db_backend`),
# as test_store and test_migrations do, or when its module is one of BOTH_DATABASES (the review
# tests) and it uses `tmp_path` (every test that makes a workspace does). Those modules need no
# edits: on the PostgreSQL pass BENCHSMITH_DB points at a fresh database, and `Store.open` (so
# the app, the CLI and the flow, in this process or a child) uses it.
# test_review_cli checks the `--db` default itself and test_review_browser drives Chromium
# (slow): they run on SQLite only, as does test_review_locked (a SQLite file's write lock).

BOTH_DATABASES = re.compile(r"^test_review_(?!cli$|browser$|locked$)\w+$")
BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    wanted = {"db_url", "db_backend"} & set(metafunc.fixturenames)
    if not wanted and BOTH_DATABASES.match(module) and "tmp_path" in metafunc.fixturenames:
        metafunc.fixturenames.append("db_backend")  # a fixture the test did not name: parametrize it anyway
        wanted = {"db_backend"}
    if wanted:
        metafunc.parametrize("db_backend", BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session (Debian's binaries, a temporary data folder, loopback)."""
    try:
        server = PostgresServer(settings=FAST_SETTINGS).start()
    except PostgresUnavailable as err:
        pytest.fail(f"these tests run on PostgreSQL too: {err}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (dropped after it); its SQLAlchemy URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = postgres_server.create_database(name)
    try:
        yield url
    finally:
        postgres_server.drop_database(name)


@pytest.fixture
def db_backend(request: pytest.FixtureRequest) -> str:
    """"sqlite" or "postgresql" (parametrized by `pytest_generate_tests`)."""
    return str(request.param)


@pytest.fixture
def db_url(db_backend: str, request: pytest.FixtureRequest) -> str | None:
    """The workspace database URL to pass as `url=`/`--db`: None (the workspace's SQLite file) or PostgreSQL."""
    if db_backend == "sqlite":
        return None
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(autouse=True)
def _workspace_db_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """BENCHSMITH_DB from the caller's shell never leaks into a test; on the PostgreSQL pass it is set."""
    monkeypatch.delenv(DB_ENV, raising=False)
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("db_backend") == "postgresql":
        monkeypatch.setenv(DB_ENV, str(request.getfixturevalue("db_url")))
