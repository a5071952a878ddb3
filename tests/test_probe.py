"""Endpoint probes and the client's circuit breaker, against real loopback sockets (no mocks):
a port that accepts and stays silent, one that answers garbage, one that closes, a refused
port, small HTTP servers with scripted answers, and the fake OpenAI server."""

from __future__ import annotations

import asyncio
import pickle
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from benchsmith.errors import EndpointCircuitOpen, EndpointError, EndpointProbeError, LLMOutputError, LLMRequestError
from benchsmith.llm.client import CircuitBreaker, LLMClient
from benchsmith.llm.endpoints import build_clients
from benchsmith.llm.probe import ProbeResult, probe_endpoint, probe_endpoints, raise_for_failures
from benchsmith.process import free_port
from benchsmith.spec import EndpointSpec, LLMSpec
from benchsmith.testing.fake_openai import FakeOpenAIServer

SCHEMA: dict[str, Any] = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
SECRET = "sk-test-0123456789abcdef"


# -- loopback servers ----------------------------------------------------------------------

class TCPServer:
    """A loopback TCP server whose thread hands each accepted connection to `handle`."""

    def __init__(self, handle: Callable[[socket.socket], None] | None) -> None:
        self.handle = handle
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.sock.settimeout(0.1)
        self.port = int(self.sock.getsockname()[1])
        self.held: list[socket.socket] = []
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            if self.handle is None:
                self.held.append(conn)  # accept, and never say a word
            else:
                try:
                    self.handle(conn)
                except OSError:
                    pass
                finally:
                    conn.close()

    def __enter__(self) -> TCPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self.held:
            conn.close()
        self.sock.close()


def _read_request(conn: socket.socket) -> None:
    conn.settimeout(2.0)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk


def _garbage(conn: socket.socket) -> None:
    _read_request(conn)
    conn.sendall(b"\x00\x17\x03garbage, not HTTP at all\r\n\r\n")


def _hang_up(conn: socket.socket) -> None:
    _read_request(conn)


@pytest.fixture
def silent() -> Iterator[TCPServer]:
    with TCPServer(None) as server:
        yield server


class ScriptedHTTP:
    """A small real HTTP server: (method, path) → (status, content type, body); `{auth}` in a
    body is replaced by the request's Authorization header (to check that echoes are masked)."""

    def __init__(self, routes: dict[tuple[str, str], tuple[int, str, str]]) -> None:
        routes_ = routes

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                status, ctype, body = routes_.get((self.command, self.path), (404, "text/plain", "no such path"))
                data = body.replace("{auth}", self.headers.get("authorization", "")).encode()
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> ScriptedHTTP:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)


def probe(base_url: str, **kw: Any) -> ProbeResult:
    kw.setdefault("api_key", "not-needed")
    kw.setdefault("model", "fake-model")
    return probe_endpoint(base_url, **kw)


# -- probes ----------------------------------------------------------------------------------

def test_silent_port_is_a_timeout_within_the_probe_timeout(silent: TCPServer) -> None:
    timeout_s = 1.5
    t0 = time.monotonic()
    r = probe(silent.base_url, timeout_s=timeout_s)
    elapsed = time.monotonic() - t0
    assert not r.ok and r.kind == "timeout" and r.status is None
    assert elapsed < timeout_s + 2 and r.elapsed_s < timeout_s + 2
    assert r.elapsed_s >= timeout_s - 0.1  # it did wait for an answer
    assert r.detail.startswith(silent.base_url)
    assert "the port accepts connections but sent no HTTP response within 1.5 s" in r.detail
    assert silent.accepted >= 1


def test_garbage_bytes_are_not_http() -> None:
    with TCPServer(_garbage) as server:
        r = probe(server.base_url)
    assert not r.ok and r.kind == "not_http"
    assert server.base_url in r.detail and "not HTTP" in r.detail and r.elapsed_s < 5


def test_closing_without_an_answer_is_not_http() -> None:
    with TCPServer(_hang_up) as server:
        r = probe(server.base_url)
    assert not r.ok and r.kind == "not_http"
    assert server.base_url in r.detail and "closed the connection without an HTTP response" in r.detail


def test_refused_port() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    r = probe(url)
    assert not r.ok and r.kind == "refused" and r.elapsed_s < 3
    assert url in r.detail and "connection refused" in r.detail and "Is the server running?" in r.detail


def test_a_base_url_without_a_scheme_is_named() -> None:
    r = probe("localhost:8000/v1")
    assert not r.ok and r.kind == "unreachable"
    assert r.detail.startswith("localhost:8000/v1: not a usable base URL") and "http://host:8000/v1" in r.detail


def test_fake_server_is_ok_and_the_model_is_checked(fake_llm: FakeOpenAIServer) -> None:
    r = probe(fake_llm.base_url, model=fake_llm.model)
    assert r.ok and r.kind == "ok" and r.status == 200 and r.warning is None
    assert r.listed == (fake_llm.model,)
    assert fake_llm.base_url in r.detail and "'fake-model' among them" in r.detail
    assert fake_llm.stats()["requests"] == 0  # GET /models costs no chat request

    other = probe(fake_llm.base_url + "/", model="other-model")  # a trailing slash is fine too
    assert other.ok and other.url == fake_llm.base_url
    assert other.warning is not None and "'other-model' not among the 1 it lists (fake-model)" in other.warning
    assert other.warning in other.detail


def test_wrong_base_url_is_a_404(fake_llm: FakeOpenAIServer) -> None:
    no_v1 = probe(fake_llm.root_url)
    assert not no_v1.ok and no_v1.kind == "not_found" and no_v1.status == 404
    assert fake_llm.root_url in no_v1.detail and "wrong base URL" in no_v1.detail
    assert "should usually end in /v1" in no_v1.detail
    # The one-token check found no chat API there either (and sent no chat request to a real path).
    assert "POST " in no_v1.detail and fake_llm.stats()["requests"] == 0

    wrong_path = probe(f"{fake_llm.root_url}/api/v1", model=None)  # no model: no chat request either
    assert not wrong_path.ok and wrong_path.kind == "not_found"
    assert f"GET {fake_llm.root_url}/api/v1/models answered 404" in wrong_path.detail
    assert "no OpenAI-compatible API under that path" in wrong_path.detail


def test_http_answers_are_classified_and_keys_never_shown() -> None:
    routes = {("GET", "/key/v1/models"): (401, "application/json", '{"error": "bad key {auth}"}'),
              ("GET", "/err/v1/models"): (500, "text/plain", "boom " * 100),
              ("GET", "/html/v1/models"): (200, "text/html", "<html><body>Welcome to nginx!</body></html>"),
              ("GET", "/odd/v1/models"): (200, "application/json", '{"models": []}'),
              ("POST", "/nomodels/v1/chat/completions"): (200, "application/json", '{"choices": []}')}
    with ScriptedHTTP(routes) as server:
        root = f"http://127.0.0.1:{server.port}"
        key = probe(f"{root}/key/v1", api_key=SECRET, api_key_env="MY_LLM_KEY")
        err = probe(f"{root}/err/v1")
        html = probe(f"{root}/html/v1")
        odd = probe(f"{root}/odd/v1")
        nomodels = probe(f"{root}/nomodels/v1")

    assert not key.ok and key.kind == "key_refused" and key.status == 401
    assert f"{root}/key/v1" in key.detail and "refused the API key (HTTP 401" in key.detail
    assert "$MY_LLM_KEY" in key.detail
    assert SECRET not in key.detail and SECRET not in repr(key) and "Bearer ***" in key.detail

    assert not err.ok and err.kind == "http_status" and err.status == 500
    assert f"GET {root}/err/v1/models answered HTTP 500: boom boom" in err.detail
    assert err.detail.endswith("…") and len(err.detail) < 400  # the body's first 200 characters

    assert not html.ok and html.kind == "not_json" and "text/html" in html.detail and "nginx" in html.detail

    assert odd.ok and odd.warning is not None and "OpenAI's format" in odd.warning

    # /models missing but the chat API answers: the endpoint is usable, it lists no models.
    assert nomodels.ok and nomodels.warning == "the endpoint lists no models"
    for r in (key, err, html, odd, nomodels):
        assert "\n" not in r.detail


def test_probe_endpoints_one_per_endpoint_all_at_once(fake_llm: FakeOpenAIServer, silent: TCPServer) -> None:
    spec = LLMSpec(generator=EndpointSpec(base_url=fake_llm.base_url, model=fake_llm.model, api_key_env="GEN_KEY"),
                   judge=EndpointSpec(base_url=silent.base_url, model="judge-model"))
    env = {"GEN_KEY": SECRET}
    t0 = time.monotonic()
    gen, judge = probe_endpoints(spec, env, timeout_s=1.0)
    assert time.monotonic() - t0 < 1.0 + 2
    assert gen.ok and gen.roles == ("generator",) and gen.models == (fake_llm.model,)
    assert not judge.ok and judge.roles == ("judge",) and judge.kind == "timeout"
    assert judge.detail.startswith(f"{silent.base_url} (judge): the port accepts connections")

    with pytest.raises(EndpointProbeError) as err:
        raise_for_failures([gen, judge])
    assert isinstance(err.value, EndpointError)
    lines = str(err.value).splitlines()
    assert lines[0] == "an LLM endpoint cannot serve this run:" and len(lines) == 2
    assert silent.base_url in lines[1] and fake_llm.base_url not in str(err.value)
    assert err.value.details == (judge.detail,)
    assert SECRET not in str(err.value) and SECRET not in repr(gen)
    raise_for_failures([gen])  # nothing failed: nothing raised

    # Two roles on one endpoint: one probe naming both; an embedded role is not probed.
    both = LLMSpec(generator=EndpointSpec(base_url=fake_llm.base_url, model=fake_llm.model),
                   judge=EndpointSpec(base_url=fake_llm.base_url + "/", model="judge-model"))
    [shared] = probe_endpoints(both, {})
    assert shared.ok and shared.roles == ("generator", "judge") and shared.role == "generator, judge"
    assert shared.warning is not None and "'judge-model'" in shared.warning
    [only_gen] = probe_endpoints(LLMSpec(generator=EndpointSpec(base_url=fake_llm.base_url, model="m")), {})
    assert only_gen.roles == ("generator",)
    assert probe_endpoints(LLMSpec(), {}) == []  # everything embedded


def test_several_failures_are_one_line_each(silent: TCPServer) -> None:
    refused = f"http://127.0.0.1:{free_port()}/v1"
    spec = LLMSpec(generator=EndpointSpec(base_url=refused, model="a"),
                   judge=EndpointSpec(base_url=silent.base_url, model="b"))
    results = probe_endpoints(spec, {}, timeout_s=1.0)
    with pytest.raises(EndpointProbeError) as err:
        raise_for_failures(results)
    head, first, second = str(err.value).splitlines()
    assert head == "2 LLM endpoints cannot serve this run:"
    assert refused in first and "connection refused" in first
    assert silent.base_url in second and "no HTTP response" in second


def test_probe_from_inside_an_event_loop() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"

    async def inside() -> ProbeResult:
        return probe(url)

    assert asyncio.run(inside()).kind == "refused"


# -- the circuit breaker ----------------------------------------------------------------------

def _ask(client: LLMClient, text: str) -> Any:
    return client.complete_json([{"role": "user", "content": text}], SCHEMA)


def _outcomes(client: LLMClient, texts: list[str]) -> list[Any]:
    async def run() -> list[Any]:
        return await asyncio.gather(*(_ask(client, t) for t in texts), return_exceptions=True)

    return asyncio.run(run())


def _sequential(client: LLMClient, texts: list[str]) -> list[Any]:
    async def run() -> list[Any]:
        out: list[Any] = []
        for t in texts:
            try:
                out.append(await _ask(client, t))
            except Exception as err:  # noqa: BLE001 - collected for the assertions
                out.append(err)
        return out

    return asyncio.run(run())


def test_breaker_stops_calls_to_a_silent_port(silent: TCPServer) -> None:
    client = LLMClient(base_url=silent.base_url, model="m", role="judge", timeout_s=0.5, max_retries=0,
                       breaker_after=3, concurrency=2)
    t0 = time.monotonic()
    results = _outcomes(client, [f"question {i}" for i in range(20)])
    elapsed = time.monotonic() - t0
    assert elapsed < 3.0, elapsed  # 20 calls, 2 at a time, would take 5 s of timeouts
    opened = [r for r in results if isinstance(r, EndpointCircuitOpen)]
    timeouts = [r for r in results if isinstance(r, LLMRequestError)]
    assert len(opened) >= 17 and len(opened) + len(timeouts) == 20
    assert all(r.reason == "timeout" for r in timeouts)
    # Two calls in flight time out together, in either order: the breaker opened on the third failure.
    first = min(opened, key=lambda e: e.count)
    message = str(first)
    assert message.startswith(f"3 calls in a row to {silent.base_url} (role 'judge', model 'm') timed out")
    assert "stopping instead of spending the rest of the budget" in message
    assert first.url == silent.base_url and first.reason == "timeout" and first.count == 3
    assert silent.accepted <= 6  # the calls that waited for a slot sent nothing
    # Open until something succeeds: a later call fails at once, without sending.
    t1 = time.monotonic()
    with pytest.raises(EndpointCircuitOpen):
        asyncio.run(_ask(client, "one more"))
    assert time.monotonic() - t1 < 0.3
    assert client.usage.role("judge").failures["endpoint_error"] == len(opened) + 1
    again = pickle.loads(pickle.dumps(first))
    assert isinstance(again, EndpointCircuitOpen) and again.count == 3 and str(again) == message


def test_breaker_counts_retried_timeouts_once_per_call(silent: TCPServer) -> None:
    client = LLMClient(base_url=silent.base_url, model="m", timeout_s=0.3, max_retries=1, backoff_base_s=0.01,
                       breaker_after=2, concurrency=1)
    results = _sequential(client, ["a", "b", "c"])
    assert isinstance(results[0], LLMRequestError) and isinstance(results[1], EndpointCircuitOpen)
    assert "2 calls in a row" in str(results[1]) and "after 2 attempts each" in str(results[1])
    assert isinstance(results[2], EndpointCircuitOpen)
    assert silent.accepted == 4  # two calls of two attempts each; the third sent nothing


def test_breaker_does_not_trip_when_successes_interleave(fake_llm: FakeOpenAIServer) -> None:
    fake_llm.add_rule(match="flaky", status=500)
    client = LLMClient(base_url=fake_llm.base_url, model=fake_llm.model, timeout_s=3.0, max_retries=0,
                       breaker_after=3, concurrency=2)
    pattern = ["flaky", "ok", "flaky", "flaky", "ok", "flaky", "ok", "flaky", "flaky", "ok", "flaky", "ok"]
    results = _sequential(client, [f"{p} {i}" for i, p in enumerate(pattern)])
    assert not any(isinstance(r, EndpointError) for r in results)
    assert [isinstance(r, LLMRequestError) and r.reason == "http_500" for r in results] == [
        p == "flaky" for p in pattern]
    # Three in a row do trip it; then nothing is sent until it is reset.
    tripped = _sequential(client, ["flaky x", "flaky y", "flaky z", "ok now"])
    assert isinstance(tripped[1], LLMRequestError) and isinstance(tripped[2], EndpointCircuitOpen)
    assert "failed with HTTP 500 after 1 attempt" not in str(tripped[2])  # one attempt: no "each"
    assert "3 calls in a row" in str(tripped[2]) and "failed with HTTP 500" in str(tripped[2])
    assert isinstance(tripped[3], EndpointCircuitOpen)
    assert fake_llm.stats()["requests"] == len(pattern) + 3
    assert client.breaker is not None
    client.breaker.reset()
    assert asyncio.run(_ask(client, "ok again"))


def test_first_failures_then_successes_do_not_trip(fake_llm: FakeOpenAIServer) -> None:
    fake_llm.add_rule(status=500, times=2)
    client = LLMClient(base_url=fake_llm.base_url, model=fake_llm.model, timeout_s=3.0, max_retries=0,
                       breaker_after=3, concurrency=2)
    results = _outcomes(client, [f"question {i}" for i in range(10)])
    assert sum(isinstance(r, LLMRequestError) for r in results) == 2
    assert sum(isinstance(r, dict) for r in results) == 8
    assert client.breaker is not None and client.breaker.consecutive == (None, 0)


def test_invalid_answers_and_client_errors_never_trip(fake_llm: FakeOpenAIServer) -> None:
    fake_llm.add_rule(match="Your reply was not valid", raw="still {broken")  # the repair too
    fake_llm.add_rule(match="broken", raw="{broken")
    fake_llm.add_rule(match="bad", status=400)
    client = LLMClient(base_url=fake_llm.base_url, model=fake_llm.model, timeout_s=3.0, max_retries=0,
                       breaker_after=2)
    broken = _sequential(client, [f"broken {i}" for i in range(4)])
    assert all(isinstance(r, LLMOutputError) for r in broken)
    bad = _sequential(client, [f"bad {i}" for i in range(4)])
    assert all(isinstance(r, LLMRequestError) and r.reason == "http_400" for r in bad)
    # A 400 or an answer resets the count: a 500 between them is one in a row, never two.
    fake_llm.add_rule(match="server", status=500)
    mixed = _sequential(client, ["server 1", "bad 5", "server 2", "broken 5", "server 3"])
    assert not any(isinstance(r, EndpointError) for r in mixed)


def test_breaker_after_zero_disables_it(fake_llm: FakeOpenAIServer) -> None:
    fake_llm.add_rule(status=503)
    client = LLMClient(base_url=fake_llm.base_url, model=fake_llm.model, timeout_s=3.0, max_retries=0,
                       breaker_after=0)
    assert client.breaker is None
    results = _sequential(client, [f"q{i}" for i in range(12)])
    assert all(isinstance(r, LLMRequestError) and r.reason == "http_503" for r in results)
    with pytest.raises(ValueError, match="breaker_after"):
        LLMClient(base_url=fake_llm.base_url, model="m", breaker_after=-1)


def test_breaker_counts_completions_from_several_threads(fake_llm: FakeOpenAIServer) -> None:
    fake_llm.add_rule(status=502)
    breaker = CircuitBreaker(after=6)
    clients = [LLMClient(base_url=fake_llm.base_url, model=fake_llm.model, timeout_s=3.0, max_retries=0,
                         breaker=breaker) for _ in range(3)]
    outcomes: list[list[Any]] = []

    def work(c: LLMClient, k: int) -> None:
        outcomes.append(_sequential(c, [f"t{k} q{i}" for i in range(4)]))

    threads = [threading.Thread(target=work, args=(c, k)) for k, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    flat = [r for out in outcomes for r in out]
    assert len(flat) == 12
    assert sum(isinstance(r, LLMRequestError) for r in flat) == 5  # the sixth completion opens it
    assert sum(isinstance(r, EndpointCircuitOpen) for r in flat) == 7
    assert 6 <= fake_llm.stats()["requests"] <= 8  # and what was in flight when it opened


def test_build_clients_share_a_breaker_per_endpoint(tmp_path: Path) -> None:
    spec = LLMSpec(generator=EndpointSpec(base_url="http://a:1/v1", model="m"),
                   judge=EndpointSpec(base_url="http://a:1/v1", model="n"))
    one = build_clients(spec, cache_dir=None, env={})
    assert one["generator"].breaker is one["judge"].breaker is not None
    assert one["generator"].breaker.after == 8
    two = build_clients(spec, cache_dir=None, env={})
    assert two["generator"].breaker is not one["generator"].breaker  # unscoped: per build
    run_a = build_clients(spec, cache_dir=None, env={}, breaker_scope="run-a")
    run_a2 = build_clients(spec, cache_dir=None, env={}, breaker_scope="run-a")
    run_b = build_clients(spec, cache_dir=None, env={}, breaker_scope="run-b")
    assert run_a["judge"].breaker is run_a2["generator"].breaker  # the tasks of one run count together
    assert run_b["judge"].breaker is not run_a["judge"].breaker
    off = build_clients(spec, cache_dir=None, env={}, breaker_after=0, breaker_scope="run-a")
    assert off["generator"].breaker is None and off["judge"].breaker is None
