"""LLMClient against the real fake OpenAI server: success, cache, faults, budget, usage."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any, Literal

import jsonschema
import pytest
from pydantic import BaseModel

from benchsmith.errors import (
    BudgetExhausted,
    EndpointError,
    LLMOutputError,
    LLMRequestError,
    SpecError,
)
from benchsmith.llm.cache import ResponseCache, cache_key, canonical_json
from benchsmith.llm.client import LLMClient
from benchsmith.llm.endpoints import OPENAI_URL, build_clients, resolve_endpoint
from benchsmith.llm.grammar import grammar_friendly
from benchsmith.llm.usage import CallBudget, UsageMeter
from benchsmith.process import free_port
from benchsmith.spec import EndpointSpec, LLMSpec
from benchsmith.testing.fake_openai import FakeOpenAIServer, instance

# Both wires (benchsmith.llm.transport) must behave alike on every HTTP-level case.
TRANSPORTS = ["aiohttp", "httpx"]

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "score": {"type": "integer", "minimum": 1, "maximum": 5}},
    "required": ["answer", "score"],
    "additionalProperties": False,
}


def make_client(fake_llm: FakeOpenAIServer, tmp_path: Path, **kw: Any) -> LLMClient:
    params: dict[str, Any] = {"concurrency": 8, "max_retries": 3, "timeout_s": 2.0, "backoff_base_s": 0.01,
                              "backoff_max_s": 0.1, "cache_dir": tmp_path / "cache"}
    params.update(kw)
    return LLMClient(base_url=params.pop("base_url", fake_llm.base_url), model=fake_llm.model, **params)


def ask(client: LLMClient, text: str, schema: dict[str, Any] = SCHEMA, **kw: Any) -> dict[str, Any]:
    return asyncio.run(client.complete_json([{"role": "user", "content": text}], schema, **kw))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_success_sends_structured_output_and_returns_valid_json(fake_llm, tmp_path: Path, transport: str) -> None:
    out = ask(make_client(fake_llm, tmp_path, transport=transport), "Name a prime number.")
    jsonschema.validate(out, SCHEMA)
    assert out["score"] == 5  # the fake answers the schema's maximum: the schema reached the server
    [body] = fake_llm.requests()
    assert body["model"] == fake_llm.model
    assert body["messages"] == [{"role": "user", "content": "Name a prime number."}]
    assert body["response_format"] == {"type": "json_schema",
                                       "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True}}
    assert body["temperature"] == 0.7 and body["max_tokens"] == 512


def test_scripted_response_and_per_call_parameters(fake_llm, tmp_path: Path) -> None:
    fake_llm.add_rule(match="capital of France", response={"answer": "Paris", "score": 3})
    client = make_client(fake_llm, tmp_path)
    assert ask(client, "What is the capital of France?", temperature=0.0, max_tokens=20,
               schema_name="capital") == {"answer": "Paris", "score": 3}
    body = fake_llm.requests()[-1]
    assert (body["temperature"], body["max_tokens"]) == (0.0, 20)
    assert body["response_format"]["json_schema"]["name"] == "capital"


def test_cache_hit_makes_no_request(fake_llm, tmp_path: Path) -> None:
    client = make_client(fake_llm, tmp_path)
    first = ask(client, "Explain tides.")
    assert ask(client, "Explain tides.") == first  # a second asyncio.run: the client outlives its loop
    assert fake_llm.stats()["requests"] == 1
    # A new client on the same folder (a rerun) is served from disk too.
    again = make_client(fake_llm, tmp_path)
    assert ask(again, "Explain tides.") == first
    assert fake_llm.stats()["requests"] == 1
    assert client.usage.role("generator").cache_hits == 1 and again.usage.role("generator").cache_hits == 1
    # Anything that changes the request is a miss.
    ask(client, "Explain tides.", cache_salt="variant-2")
    ask(client, "Explain tides.", temperature=0.1)
    ask(client, "Explain tides.", schema={**SCHEMA, "required": ["answer"]})
    assert fake_llm.stats()["requests"] == 4


def test_no_cache_dir_means_every_call_is_sent(fake_llm, tmp_path: Path) -> None:
    client = make_client(fake_llm, tmp_path, cache_dir=None)
    ask(client, "Same question.")
    ask(client, "Same question.")
    assert fake_llm.stats()["requests"] == 2


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_429_with_retry_after_then_success(fake_llm, tmp_path: Path, transport: str) -> None:
    fake_llm.add_rule(match="busy", status=429, retry_after=1, times=2)
    client = make_client(fake_llm, tmp_path, transport=transport)
    t0 = time.monotonic()
    out = ask(client, "Are you busy?")
    elapsed = time.monotonic() - t0
    jsonschema.validate(out, SCHEMA)
    assert fake_llm.stats()["by_status"] == {"429": 2, "200": 1}
    # Backoff alone would wait ~0.02 s; Retry-After: 1 twice means at least 2 s.
    assert 2.0 <= elapsed < 6.0
    assert client.usage.role("generator").retries == 2


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_500s_then_success(fake_llm, tmp_path: Path, transport: str) -> None:
    fake_llm.add_rule(status=500, times=2)
    client = make_client(fake_llm, tmp_path, transport=transport)
    jsonschema.validate(ask(client, "Hello?"), SCHEMA)
    assert fake_llm.stats()["by_status"] == {"500": 2, "200": 1}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_persistent_500_raises_request_error(fake_llm, tmp_path: Path, transport: str) -> None:
    fake_llm.add_rule(status=503)
    client = make_client(fake_llm, tmp_path, transport=transport, max_retries=2)
    with pytest.raises(LLMRequestError) as err:
        ask(client, "Hello?")
    assert err.value.reason == "http_503"
    assert fake_llm.stats()["requests"] == 3  # the first try and two retries
    assert client.usage.role("generator").failures == {"http_503": 1}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_client_errors_are_not_retried(fake_llm, tmp_path: Path, transport: str) -> None:
    fake_llm.add_rule(match="bad", status=400, times=1)
    fake_llm.add_rule(match="key", status=401, times=1)
    client = make_client(fake_llm, tmp_path, transport=transport)
    with pytest.raises(LLMRequestError) as err:
        ask(client, "bad request")
    assert err.value.reason == "http_400"
    with pytest.raises(EndpointError, match="refused the API key"):
        ask(client, "wrong key")
    assert fake_llm.stats()["requests"] == 2


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_hang_times_out_and_is_retried(fake_llm, tmp_path: Path, transport: str) -> None:
    fake_llm.add_rule(match="slow", hang_s=30, times=1)
    client = make_client(fake_llm, tmp_path, transport=transport, timeout_s=0.5)
    t0 = time.monotonic()
    jsonschema.validate(ask(client, "A slow question"), SCHEMA)
    assert time.monotonic() - t0 < 5.0
    assert fake_llm.stats()["requests"] == 2
    assert client.usage.role("generator").retries == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_persistent_hang_raises_timeout(fake_llm, tmp_path: Path, transport: str) -> None:
    fake_llm.add_rule(hang_s=30)
    client = make_client(fake_llm, tmp_path, timeout_s=0.3, max_retries=1, transport=transport)
    t0 = time.monotonic()
    with pytest.raises(LLMRequestError) as err:
        ask(client, "Anything")
    assert err.value.reason == "timeout"
    assert time.monotonic() - t0 < 4.0


def test_invalid_json_once_is_repaired(fake_llm, tmp_path: Path) -> None:
    fake_llm.add_rule(match="Tell me", raw="{broken", times=1)
    budget = CallBudget(10)
    client = make_client(fake_llm, tmp_path, budget=budget)
    out = ask(client, "Tell me a fact.")
    jsonschema.validate(out, SCHEMA)
    first, repair = fake_llm.requests()
    assert repair["messages"][:2] == [first["messages"][0], {"role": "assistant", "content": "{broken"}]
    assert "not valid JSON" in repair["messages"][-1]["content"]
    assert budget.used == 2  # the repair is a second generation
    assert client.usage.role("generator").repairs == 1
    # The repaired answer is what gets cached.
    assert ask(client, "Tell me a fact.") == out and fake_llm.stats()["requests"] == 2


def test_schema_mismatch_is_repaired_with_the_validation_error(fake_llm, tmp_path: Path) -> None:
    fake_llm.add_rule(match="Rate", response={"answer": "fine"}, times=1)
    out = ask(make_client(fake_llm, tmp_path), "Rate this.")
    jsonschema.validate(out, SCHEMA)
    repair = fake_llm.requests()[-1]["messages"][-1]["content"]
    assert "'score' is a required property" in repair


def test_fenced_json_is_accepted_without_repair(fake_llm, tmp_path: Path) -> None:
    fake_llm.add_rule(match="fence", raw='Sure!\n```json\n{"answer": "ok", "score": 2}\n```')
    assert ask(make_client(fake_llm, tmp_path), "fence please") == {"answer": "ok", "score": 2}
    assert fake_llm.stats()["requests"] == 1


def test_invalid_twice_raises_output_error(fake_llm, tmp_path: Path) -> None:
    fake_llm.add_rule(raw="{broken", times=2)
    client = make_client(fake_llm, tmp_path)
    with pytest.raises(LLMOutputError) as err:
        ask(client, "Tell me a fact.")
    assert err.value.reason == "invalid_json" and err.value.raw == "{broken"
    assert client.usage.role("generator").failures == {"invalid_json": 1}
    # A failure is not cached: asking again goes to the server (which now answers well).
    jsonschema.validate(ask(client, "Tell me a fact."), SCHEMA)
    assert fake_llm.stats()["requests"] == 3


def test_schema_mismatch_twice_raises_output_error(fake_llm, tmp_path: Path) -> None:
    fake_llm.add_rule(response={"answer": "x", "score": 9})
    with pytest.raises(LLMOutputError) as err:
        ask(make_client(fake_llm, tmp_path), "Rate this.")
    assert err.value.reason == "schema_mismatch"
    assert "9 is greater than the maximum of 5" in str(err.value)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_unreachable_endpoint_raises_endpoint_error_quickly(tmp_path: Path, transport: str) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    client = LLMClient(base_url=url, model="m", max_retries=4, timeout_s=10, cache_dir=tmp_path / "cache",
                       transport=transport)  # type: ignore[arg-type]
    t0 = time.monotonic()
    with pytest.raises(EndpointError) as err:
        ask(client, "Anyone there?")
    assert time.monotonic() - t0 < 5.0
    message = str(err.value)
    # The underlying error is named: httpx's ConnectError, aiohttp's ClientConnectorError.
    cause = {"httpx": "ConnectError", "aiohttp": "ClientConnectorError"}[transport]
    assert url in message and "tried 4 times" in message and f"{cause}: " in message


def test_budget_is_shared_and_cache_hits_are_free(fake_llm, tmp_path: Path) -> None:
    budget = CallBudget(3)
    gen = make_client(fake_llm, tmp_path, role="generator", budget=budget)
    judge = make_client(fake_llm, tmp_path, role="judge", budget=budget)
    ask(gen, "one")
    ask(judge, "two")
    ask(gen, "three")
    assert budget.exhausted and budget.remaining == 0
    with pytest.raises(BudgetExhausted):
        ask(judge, "four")
    assert ask(gen, "one")  # cached: no budget needed
    assert fake_llm.stats()["requests"] == 3


def test_budget_runs_out_before_the_repair(fake_llm, tmp_path: Path) -> None:
    fake_llm.add_rule(raw="{broken", times=1)
    budget = CallBudget(1)
    with pytest.raises(BudgetExhausted):
        ask(make_client(fake_llm, tmp_path, budget=budget), "Tell me a fact.")
    assert fake_llm.stats()["requests"] == 1


def test_usage_counts_tokens_per_role(fake_llm, tmp_path: Path) -> None:
    usage = UsageMeter()
    gen = make_client(fake_llm, tmp_path, role="generator", usage=usage)
    judge = make_client(fake_llm, tmp_path, role="judge", usage=usage)
    for text in ("alpha question", "beta question with more words in it"):
        ask(gen, text)
    ask(judge, "judge this please")
    ask(judge, "judge this please")  # cache hit
    stats, snap = fake_llm.stats(), usage.snapshot()
    assert snap["generator"]["calls"] == 2 and snap["judge"]["calls"] == 1
    assert snap["judge"]["cache_hits"] == 1
    assert snap["generator"]["prompt_tokens"] + snap["judge"]["prompt_tokens"] == stats["prompt_tokens"] > 0
    assert (snap["generator"]["completion_tokens"] + snap["judge"]["completion_tokens"]
            == stats["completion_tokens"] > 0)
    assert usage.totals()["calls"] == 3


def test_concurrency_is_bounded(fake_llm, tmp_path: Path) -> None:
    fake_llm.configure(latency_s=0.2)
    client = make_client(fake_llm, tmp_path, concurrency=2)

    async def many() -> list[dict[str, Any]]:
        return await asyncio.gather(*(client.complete_json([{"role": "user", "content": f"q{i}"}], SCHEMA)
                                      for i in range(6)))

    t0 = time.monotonic()
    assert len(asyncio.run(many())) == 6
    assert time.monotonic() - t0 >= 0.6  # 6 requests, 2 at a time, 0.2 s each
    assert fake_llm.stats()["max_in_flight"] == 2


def test_aiohttp_pool_fills_the_limit(fake_llm, tmp_path: Path) -> None:
    # The aiohttp transport (the default): one aiohttp pool per endpoint and loop; 20 in flight, never more.
    from benchsmith.llm.transport import AiohttpWire

    fake_llm.configure(latency_s=0.2)
    client = make_client(fake_llm, tmp_path, concurrency=20)
    assert client.transport == "aiohttp"

    async def many() -> list[dict[str, Any]]:
        wire = await client._wire()
        assert isinstance(wire, AiohttpWire) and await client._wire() is wire
        return await asyncio.gather(*(client.complete_json([{"role": "user", "content": f"q{i}"}], SCHEMA)
                                      for i in range(60)))

    out = asyncio.run(many())
    assert len(out) == 60 and all(set(SCHEMA["required"]) <= set(o) for o in out)
    assert fake_llm.stats()["max_in_flight"] == 20 and fake_llm.stats()["requests"] == 60


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("bypass", [False, True])
def test_environment_proxy_is_used_unless_no_proxy_names_the_host(fake_llm, tmp_path: Path, transport: str,
                                                                   bypass: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # A forwarding HTTP proxy on a free port: HTTP_PROXY sends the calls through it, NO_PROXY skips it.
    import aiohttp
    from aiohttp import web

    port = free_port()
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    if bypass:
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    proxied: list[str] = []

    async def forward(request: web.Request) -> web.Response:
        proxied.append(str(request.url))
        async with aiohttp.ClientSession() as session, session.post(
                fake_llm.root_url + request.path, data=await request.read(),
                headers={"Content-Type": "application/json"}) as answer:
            return web.Response(body=await answer.read(), status=answer.status, content_type="application/json")

    async def main() -> dict[str, Any]:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", forward)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            client = make_client(fake_llm, tmp_path, transport=transport)
            return await client.complete_json([{"role": "user", "content": "Through the proxy?"}], SCHEMA)
        finally:
            await runner.cleanup()

    jsonschema.validate(asyncio.run(main()), SCHEMA)
    assert fake_llm.stats()["requests"] == 1
    assert proxied == ([] if bypass else [f"{fake_llm.base_url}/chat/completions"])


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_server_that_drops_the_connection_is_a_connection_failure(tmp_path: Path, transport: str) -> None:
    # A server that accepts and closes at once: retried as a connection failure, then an EndpointError
    # naming the cause (not a 'timeout', as aiohttp's own error mapping would call it).
    import socket
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    stop = threading.Event()

    def drop() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            conn.recv(65536)
            conn.close()

    thread = threading.Thread(target=drop, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{srv.getsockname()[1]}/v1"
        client = LLMClient(base_url=url, model="m", max_retries=4, timeout_s=5, cache_dir=tmp_path / "cache",
                           transport=transport)  # type: ignore[arg-type]
        with pytest.raises(EndpointError) as err:
            ask(client, "Anyone there?")
        # The peer closing a read connection is seen as a protocol error or a read error, depending on timing.
        causes = {"httpx": ("RemoteProtocolError", "ReadError"),
                  "aiohttp": ("ServerDisconnectedError", "ClientOSError")}[transport]
        message = str(err.value)
        assert "tried 4 times" in message and any(f"{c}: " in message for c in causes), message
    finally:
        stop.set()
        thread.join()
        srv.close()


def test_sharded_pool_fills_the_limit_and_balances(fake_llm, tmp_path: Path) -> None:
    # The httpx transport: 20 in flight over shards of 8 connections (3 shards): the limit is
    # reached, never passed, and no shard ever holds more requests than its keep-alive connections.
    from benchsmith.llm.transport import SHARD_CONNECTIONS, OpenAIWire

    fake_llm.configure(latency_s=0.2)
    client = make_client(fake_llm, tmp_path, concurrency=20, transport="httpx")
    peaks: list[int] = []

    async def many() -> list[dict[str, Any]]:
        shards = await client._wire()
        assert isinstance(shards, OpenAIWire) and len(shards.clients) == 3
        pick = shards.pick

        def watched() -> int:
            i = pick()
            peaks.append(max(shards.in_flight))
            return i

        shards.pick = watched  # type: ignore[method-assign]
        return await asyncio.gather(*(client.complete_json([{"role": "user", "content": f"q{i}"}], SCHEMA)
                                      for i in range(60)))

    assert len(asyncio.run(many())) == 60
    assert fake_llm.stats()["max_in_flight"] == 20
    assert max(peaks) <= -(-20 // 3) and SHARD_CONNECTIONS == 8


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_falls_back_to_llama_cpp_schema_form(fake_llm, tmp_path: Path, transport: str) -> None:
    fake_llm.configure(reject_json_schema=True)  # answers like llama-cpp-python's server
    client = make_client(fake_llm, tmp_path, transport=transport)
    jsonschema.validate(ask(client, "first"), SCHEMA)
    assert client.response_format_style == "json_object_schema"
    jsonschema.validate(ask(client, "second"), SCHEMA)
    formats = [b["response_format"] for b in fake_llm.requests()]
    assert formats[0]["type"] == "json_schema"
    # llama.cpp form, with integer ranges spelled out for its grammar (benchsmith.llm.grammar)
    assert formats[1:] == [{"type": "json_object", "schema": grammar_friendly(SCHEMA)}] * 2
    assert client.usage.role("generator").failures == {}


def test_invalid_arguments_are_clear_errors(fake_llm, tmp_path: Path) -> None:
    client = make_client(fake_llm, tmp_path)
    with pytest.raises(ValueError, match="invalid JSON schema"):
        ask(client, "x", schema={"type": "no-such-type"})
    with pytest.raises(ValueError, match="messages"):
        asyncio.run(client.complete_json([], SCHEMA))
    with pytest.raises(ValueError, match="concurrency"):
        make_client(fake_llm, tmp_path, concurrency=0)
    assert fake_llm.stats()["requests"] == 0


# -- the cache on its own ---------------------------------------------------------------

def _key(text: str) -> str:
    return cache_key(base_url="http://h/v1", model="m", messages=[{"role": "user", "content": text}],
                     schema_json=canonical_json(SCHEMA), params={"temperature": 0.7})


def test_cache_key_depends_on_every_input() -> None:
    base: dict[str, Any] = {"base_url": "http://h/v1", "model": "m", "messages": [{"role": "user", "content": "q"}],
                            "schema_json": canonical_json(SCHEMA), "params": {"temperature": 0.7}, "cache_salt": ""}
    variants = [{"base_url": "http://other/v1"}, {"model": "m2"}, {"messages": [{"role": "user", "content": "r"}]},
                {"schema_json": canonical_json({"type": "object"})}, {"params": {"temperature": 0.8}},
                {"cache_salt": "2"}]
    keys = {cache_key(**{**base, **v}) for v in variants}  # type: ignore[arg-type]
    assert len(keys) == len(variants) and cache_key(**base) not in keys  # type: ignore[arg-type]
    assert cache_key(**{**base, "base_url": "http://h/v1/"}) == cache_key(**base)  # type: ignore[arg-type]


def test_an_answer_is_stored_even_if_its_caller_is_cancelled_during_the_write(tmp_path: Path) -> None:
    # A task that fails on one item cancels its other items; one of them may have its answer
    # and be waiting for the cache writer. The answer must still be stored (the retry reuses it).
    import threading

    from benchsmith.llm.cache import _writer_pool

    cache, key = ResponseCache(tmp_path), _key("cancelled")
    busy = threading.Event()
    blocker = _writer_pool().submit(busy.wait, 10)  # the writer is busy: the put waits in its queue

    async def main() -> None:
        writing = asyncio.create_task(cache.aput(key, {"answer": "kept"}))
        await asyncio.sleep(0)  # the task runs up to its wait for the writer
        writing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writing

    asyncio.run(main())
    busy.set()
    blocker.result(timeout=10)
    _writer_pool().submit(lambda: None).result(timeout=10)  # everything queued before it has run
    assert cache.get(key) == {"answer": "kept"}


def test_cache_put_is_atomic_and_damage_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = ResponseCache(tmp_path)
    key = _key("q")
    cache.put(key, {"answer": "a"})
    assert cache.get(key) == {"answer": "a"} and len(cache) == 1

    # Ctrl-C in the middle of writing: no entry under the real name, no temporary left.
    key2 = _key("q2")
    real_write = os.write

    def interrupted(fd: int, data: Any) -> int:
        real_write(fd, bytes(data[:5]))
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cache.put(key2, {"answer": "b" * 1000})
    monkeypatch.undo()
    assert cache.get(key2) is None and key2 not in cache
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [f"{key}.json"]

    # A file damaged by something else reads as a miss and is rewritten by the next put.
    path = tmp_path / key[:2] / f"{key}.json"
    path.write_text('{"format": 1, "result": {"ans', encoding="utf-8")
    assert cache.get(key) is None
    cache.put(key, {"answer": "c"})
    assert json.loads(path.read_text())["result"] == {"answer": "c"}


# -- endpoints ----------------------------------------------------------------------------

def test_resolve_endpoint_precedence_and_secrets() -> None:
    env = {"OPENAI_BASE_URL": "http://env:8000/v1/", "OPENAI_MODEL": "env-model", "OPENAI_API_KEY": "sk-secret",
           "JUDGE_KEY": "sk-judge"}
    spec_ep = resolve_endpoint("judge", EndpointSpec(base_url="http://spec/v1", model="spec-model",
                                                     api_key_env="JUDGE_KEY"), env)
    assert (spec_ep.base_url, spec_ep.model, spec_ep.source, spec_ep.api_key) == (
        "http://spec/v1", "spec-model", "spec", "sk-judge")
    env_ep = resolve_endpoint("generator", EndpointSpec(), env)
    assert (env_ep.base_url, env_ep.model, env_ep.source) == ("http://env:8000/v1", "env-model", "env")
    assert "sk-secret" not in repr(env_ep) and "sk-secret" not in env_ep.describe()
    openai_ep = resolve_endpoint("generator", EndpointSpec(model="gpt-4o-mini"), {"OPENAI_API_KEY": "sk-x"})
    assert (openai_ep.base_url, openai_ep.source) == (OPENAI_URL, "openai")
    embedded = resolve_endpoint("generator", EndpointSpec(), {})
    assert embedded.embedded and embedded.source == "embedded" and embedded.api_key == "not-needed"
    with pytest.raises(SpecError, match="llm.judge: base_url 'http://x/v1' is set but no model"):
        resolve_endpoint("judge", EndpointSpec(base_url="http://x/v1"), {})
    with pytest.raises(SpecError, match="model 'm' is set but no endpoint"):
        resolve_endpoint("judge", EndpointSpec(model="m"), {})


def test_build_clients_starts_embedded_only_when_needed(fake_llm, tmp_path: Path) -> None:
    started: list[int] = []

    def embedded() -> tuple[str, str]:
        started.append(1)
        return f"http://localhost:{fake_llm.port}/v1", "embedded-model"  # another endpoint, same server

    spec = LLMSpec(generator=EndpointSpec(base_url=fake_llm.base_url, model="gen-model", api_key_env="GEN_KEY"),
                   concurrency=5, max_retries=1)
    usage, budget = UsageMeter(), CallBudget(5)
    clients = build_clients(spec, cache_dir=tmp_path, budget=budget, usage=usage,
                            embedded_base_url_factory=embedded, env={"GEN_KEY": "sk-gen"})
    gen, judge = clients["generator"], clients["judge"]
    assert started == [1]  # only the judge needed it, and once
    assert (gen.model, gen.response_format_style) == ("gen-model", "json_schema")
    assert (judge.model, judge.response_format_style, judge.temperature) == ("embedded-model", "json_object_schema", 0.0)
    assert judge.limiter.limit == 2  # the embedded server answers one request at a time
    assert gen.budget is budget and judge.usage is usage and "sk-gen" not in repr(gen)
    ask(gen, "hi")
    assert fake_llm.stats()["requests"] == 1 and budget.used == 1

    all_remote = LLMSpec(generator=EndpointSpec(base_url=fake_llm.base_url, model="a"),
                         judge=EndpointSpec(base_url=fake_llm.base_url, model="b"), cache=False)
    remote = build_clients(all_remote, cache_dir=tmp_path, embedded_base_url_factory=embedded)
    assert started == [1] and remote["generator"].cache is None
    assert remote["generator"].limiter is remote["judge"].limiter  # one in-flight limit per endpoint
    with pytest.raises(SpecError, match="no endpoint configured"):
        build_clients(LLMSpec(), cache_dir=None, env={})


# -- the fake server's schema instances -----------------------------------------------------

class _Choice(BaseModel):
    text: str
    correct: bool


class _Question(BaseModel):
    question: str
    kind: Literal["mcq", "open_qa"]
    difficulty: int
    choices: list[_Choice]
    note: str | None = None


def test_fake_instances_follow_pydantic_schemas() -> None:
    schema = _Question.model_json_schema()  # uses $defs/$ref, anyOf with null, enums
    a, b = instance(schema, "seed-a"), instance(schema, "seed-b")
    for value in (a, b):
        jsonschema.validate(value, schema)
        _Question.model_validate(value)
    assert a == instance(schema, "seed-a")  # deterministic
    assert a["question"] != b["question"] and a["question"].endswith("?")
    assert 12 <= len(a["question"].split()) <= 25
    assert a["kind"] == "mcq" and a["difficulty"] == 1 and len(a["choices"]) == 1
