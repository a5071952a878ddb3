"""The one place benchsmith talks to an LLM: `LLMClient.complete_json`.

One connection pool per endpoint and event loop (`benchsmith.llm.transport`: aiohttp, or
openai's `AsyncOpenAI` with its own retries switched off). We retry here, so that backoff,
`Retry-After`, the call budget and the usage counters all see every attempt. Answers are
asked for as JSON constrained by a JSON schema, validated, repaired once if invalid, and
cached on disk. A circuit breaker stops a client whose recent calls all failed the same way (`CircuitBreaker`).
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json
import logging
import random
import re
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Mapping
from pathlib import Path
from typing import Any, Literal, Self

import jsonschema
from jsonschema.exceptions import best_match

from benchsmith.errors import EndpointCircuitOpen, EndpointError, LLMOutputError, LLMRequestError
from benchsmith.llm.cache import ResponseCache, cache_key, canonical_json
from benchsmith.llm.grammar import grammar_friendly
from benchsmith.llm.limiter import NORMAL, ConcurrencyLimiter, forget_closed_loops
from benchsmith.llm.transport import (
    HttpTransport,
    Wire,
    WireConnectError,
    WireStatusError,
    WireTimeout,
    open_wire,
)
from benchsmith.llm.usage import CallBudget, UsageMeter

log = logging.getLogger("benchsmith.llm")

DEFAULT_TRANSPORT: HttpTransport = "aiohttp"
"""The wire a client uses unless told otherwise (`benchsmith.llm.transport`)."""

ResponseFormatStyle = Literal["json_schema", "json_object_schema"]
"""How the schema is sent. 'json_schema': OpenAI's structured outputs (OpenAI, vLLM,
Ollama). 'json_object_schema': `{"type": "json_object", "schema": ...}`, the only form
llama-cpp-python's server (0.3.x) constrains by; it answers 'json_schema' with HTTP 500
"Input should be 'text' or 'json_object'" (checked against 0.3.36)."""

# Connection failures (refused, DNS) are retried a few times quickly: a server that is
# starting may need a moment, a server that is absent should be reported in seconds.
_CONNECT_RETRIES = 3
_CONNECT_BACKOFF_S = 0.25
_RETRY_AFTER_CAP_S = 120.0
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


# The failure reasons (`LLMRequestError.reason`, after all retries) that say the endpoint
# itself is in trouble. A 4xx other than 408/429 is the endpoint answering (about this
# request); an invalid answer (LLMOutputError) is the model's problem; neither counts.
_BREAKER_REASONS = frozenset({"timeout", "rate_limited", "http_408", "bad_response"})


def _breaker_counts(reason: str) -> bool:
    return reason in _BREAKER_REASONS or (reason.startswith("http_5") and reason[5:].isdigit())


class CircuitBreaker:
    """Counts the consecutive calls to one endpoint that ended in the same transport failure.

    A call is one answered-or-abandoned request, after all its retries; calls are counted
    in the order they complete, whichever coroutine, event loop or thread made them (a
    `threading.Lock`, never held across an await). `after` consecutive failures of one
    kind ('timeout', 'http_503', ...) open the breaker: the call that got there and every
    later one raise `EndpointCircuitOpen` instead of sending, until a call succeeds
    (in-flight calls still complete) or `reset()`. Any other outcome (an answer, even an
    invalid one; a 4xx other than 408/429) resets the count.

    Clients share one by passing it as `LLMClient(breaker=...)`; by default each client
    has its own.
    """

    def __init__(self, after: int = 8) -> None:
        if after < 1:
            raise ValueError(f"a circuit breaker needs after >= 1, got {after}")
        self.after = after
        self._lock = threading.Lock()
        self._reason: str | None = None
        self._count = 0
        self._open: EndpointCircuitOpen | None = None

    def success(self) -> None:
        """A call got an answer from the endpoint: close the breaker, forget the run of failures."""
        with self._lock:
            self._reason, self._count, self._open = None, 0, None

    def failure(self, reason: str) -> int:
        """A call ended in failure `reason`; returns how many calls in a row ended that way."""
        with self._lock:
            if reason == self._reason:
                self._count += 1
            else:
                self._reason, self._count = reason, 1
            return self._count

    def trip(self, err: EndpointCircuitOpen) -> bool:
        """Open the breaker: later calls raise `err` without sending. True if it was closed."""
        with self._lock:
            was_closed, self._open = self._open is None, err
            return was_closed

    @property
    def open_error(self) -> EndpointCircuitOpen | None:
        """The error that opened the breaker, while it is open."""
        with self._lock:
            return self._open

    @property
    def consecutive(self) -> tuple[str | None, int]:
        """(reason, count) of the current run of identical failures."""
        with self._lock:
            return self._reason, self._count

    def reset(self) -> None:
        """Close the breaker and forget the count (as a success does)."""
        self.success()

    def __repr__(self) -> str:
        reason, count = self.consecutive
        return (f"CircuitBreaker(after={self.after}, reason={reason!r}, count={count}, "
                f"open={self.open_error is not None})")


_validators: dict[str, Any] = {}
_schema_texts: dict[int, tuple[dict[str, Any], str]] = {}


def _schema_json(schema: dict[str, Any]) -> str:
    """`canonical_json(schema)`, remembered per schema object.

    Stages pass the same schema object with every call, and serialising it each time was
    ~0.15 ms of a call's ~1 ms of client CPU. The entry holds the object itself, so its id
    is never reused while remembered; a schema must not be changed in place once used.
    """
    entry = _schema_texts.get(id(schema))
    if entry is not None and entry[0] is schema:
        return entry[1]
    if len(_schema_texts) > 1024:  # schemas built per request must not grow this forever
        _schema_texts.clear()
    text = canonical_json(schema)
    _schema_texts[id(schema)] = (schema, text)
    return text


def _validator_for(schema: dict[str, Any], schema_json: str) -> Any:
    """A compiled validator per distinct schema (checked once, reused for every answer)."""
    v = _validators.get(schema_json)
    if v is None:
        if len(_validators) > 1024:  # schemas built per request must not grow this forever
            _validators.clear()
        cls = jsonschema.validators.validator_for(schema)
        try:
            cls.check_schema(schema)
        except jsonschema.SchemaError as err:
            raise ValueError(f"invalid JSON schema passed to complete_json: {err.message}") from None
        v = _validators[schema_json] = cls(schema)
    return v


def _retry_after_s(headers: Mapping[str, str] | None) -> float | None:
    """Seconds the server asked us to wait (Retry-After / retry-after-ms, case-insensitive headers), if any."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:  # an HTTP date
            when = email.utils.parsedate_to_datetime(value)
            return max(when.timestamp() - time.time(), 0.0)
        except (TypeError, ValueError):
            return None


def _parse_json_object(text: str | None) -> tuple[Any, str | None]:
    """(value, None) or (None, problem). Tolerates a ```json fence and text around one object."""
    if not text or not text.strip():
        return None, "the reply was empty"
    try:
        return json.loads(text), None
    except ValueError as err:
        first_error = f"not valid JSON ({err})"
    m = _FENCE.match(text)
    candidates = [m.group(1)] if m else []
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start:end + 1])
    for cand in candidates:
        try:
            return json.loads(cand), None
        except ValueError:
            continue
    return None, first_error


def _schema_problem(validator: Any, value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"expected a JSON object, got {type(value).__name__}"
    err = best_match(validator.iter_errors(value))
    if err is None:
        return None
    where = err.json_path if err.path else "the top level"
    return f"{err.message} (at {where})"


def _salt_seed(cache_salt: str) -> int | None:
    """The sampling seed sent with a salted request.

    A salt marks a deliberate variant (the second rewrite of one seed); as a seed it makes
    deterministic endpoints answer differently per variant, and the same per rerun.
    """
    if not cache_salt:
        return None
    return int.from_bytes(hashlib.sha256(cache_salt.encode("utf-8")).digest()[:4], "big") & 0x7FFFFFFF


_Pool = tuple[Wire, AsyncGenerator[None, None]]
_PoolKey = tuple[str, str, float, int, str]
_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[_PoolKey, _Pool]] = (
    weakref.WeakKeyDictionary())
_pools_lock = threading.Lock()


async def _close_when_loop_ends(loop: asyncio.AbstractEventLoop, key: _PoolKey,
                                wire: Wire) -> AsyncGenerator[None, None]:
    """A suspended async generator whose clean-up closes the pool.

    `asyncio.run` closes every open async generator (`shutdown_asyncgens`) while its
    loop still runs, which is the last moment sockets can be closed cleanly: callers
    that run each stage in its own `asyncio.run` leak no connections. (A loop closed
    any other way drops the generator silently; its sockets close when collected.)
    """
    try:
        yield
    finally:
        pools = _pools.get(loop) or {}
        entry = pools.get(key)
        if entry is not None and entry[0] is wire:
            pools.pop(key, None)
        await wire.close()


class LLMClient:
    """Schema-constrained JSON completions from one OpenAI-compatible endpoint for one role."""

    def __init__(self, *, base_url: str, model: str, role: str = "generator", api_key: str = "not-needed",
                 concurrency: int = 8, max_retries: int = 4, timeout_s: float = 60.0,
                 temperature: float = 0.7, max_tokens: int = 512,
                 cache_dir: Path | None = None, budget: CallBudget | None = None, usage: UsageMeter | None = None,
                 response_format_style: ResponseFormatStyle = "json_schema",
                 backoff_base_s: float = 0.5, backoff_max_s: float = 30.0,
                 limiter: ConcurrencyLimiter | None = None, breaker_after: int = 8,
                 breaker: CircuitBreaker | None = None, transport: HttpTransport | None = None) -> None:
        """
        Args beyond the obvious:
            cache_dir: folder of the on-disk answer cache; None disables caching.
            budget: the run's shared call budget; None means unlimited.
            usage: the run's shared usage meter; a private one is made if None.
            response_format_style: how the schema is sent (see `ResponseFormatStyle`). A
                'json_schema' client whose request is rejected (400/422/500) with an error
                naming response_format switches to 'json_object_schema' by itself.
            backoff_base_s, backoff_max_s: exponential backoff between retries.
            limiter: share one in-flight limit between clients of the same endpoint;
                default: a private limit of `concurrency`.
            breaker_after: raise `EndpointCircuitOpen` (an EndpointError: the run stops) once
                this many calls in a row ended in the same transport failure after all
                their retries (timeouts, one 5xx status, 429, 408); 0 disables.
            breaker: share one `CircuitBreaker` between clients of the same endpoint
                (`breaker_after` is then ignored); default: a private one.
            transport: what carries the requests (see `HttpTransport`); default
                `DEFAULT_TRANSPORT`.
        """
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        if breaker_after < 0:
            raise ValueError(f"breaker_after must be >= 0 (0 disables), got {breaker_after}")
        transport = transport or DEFAULT_TRANSPORT
        if transport not in ("aiohttp", "httpx"):
            raise ValueError(f"transport must be 'aiohttp' or 'httpx', got {transport!r}")
        self.transport: HttpTransport = transport
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.role = role
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.response_format_style: ResponseFormatStyle = response_format_style
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.limiter = limiter or ConcurrencyLimiter(concurrency)
        self.priority = NORMAL  # `benchsmith.llm.limiter.URGENT`: ahead of the queue for a shared slot
        self.cache = ResponseCache(cache_dir) if cache_dir is not None else None
        self.budget = budget
        self.usage = usage if usage is not None else UsageMeter()
        self.breaker = breaker if breaker is not None else CircuitBreaker(breaker_after) if breaker_after else None
        self._api_key = api_key

    def __repr__(self) -> str:  # never shows the key
        return f"LLMClient(role={self.role!r}, model={self.model!r}, base_url={self.base_url!r})"

    # -- transport ---------------------------------------------------------------------

    def _pool_key(self) -> _PoolKey:
        return (self.base_url, self._api_key, self.timeout_s, self.limiter.limit, self.transport)

    async def _wire(self) -> Wire:
        """This event loop's connection pool for the endpoint (`benchsmith.llm.transport`), sized for the concurrency.

        Shared by every client of the process on this loop with the same endpoint, key,
        timeout, limit and transport: the tasks of a run each build their own clients
        (budget and usage are per task), and one pool per task would pile up idle
        keep-alive connections at the endpoint (and reconnect for every task).
        """
        loop = asyncio.get_running_loop()
        key = self._pool_key()
        with _pools_lock:
            forget_closed_loops(_pools)
            pools = _pools.setdefault(loop, {})
            entry = pools.get(key)
        if entry is not None:
            return entry[0]
        wire = open_wire(self.transport, self.base_url, self._api_key, timeout_s=self.timeout_s,
                         limit=self.limiter.limit)
        # Kept as this loop's pool for `key` until the loop ends (no await since the lookup).
        closer = _close_when_loop_ends(loop, key, wire)
        await closer.__anext__()
        with _pools_lock:
            _pools.setdefault(loop, {})[key] = (wire, closer)
        return wire

    async def aclose(self) -> None:
        """Close this event loop's connection pool for the endpoint now (shared: others reopen one)."""
        pools = _pools.get(asyncio.get_running_loop()) or {}
        entry = pools.pop(self._pool_key(), None)
        if entry is not None:
            await entry[1].aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _response_format(self, schema: dict[str, Any], schema_name: str) -> dict[str, Any]:
        if self.response_format_style == "json_object_schema":
            return {"type": "json_object", "schema": grammar_friendly(schema)}
        return {"type": "json_schema", "json_schema": {"name": schema_name, "schema": schema, "strict": True}}

    def _backoff(self, attempt: int, base: float) -> float:
        d: float = min(self.backoff_max_s, base * (2 ** attempt))
        return d / 2 + random.uniform(0, d / 2)  # "equal jitter": spread retries, keep a floor

    # -- circuit breaker ---------------------------------------------------------------

    def _check_breaker(self) -> None:
        err = self.breaker.open_error if self.breaker is not None else None
        if err is not None:
            raise EndpointCircuitOpen(str(err), url=err.url, role=err.role, reason=err.reason,
                                      count=err.count) from None

    def _breaker_failure(self, err: LLMRequestError) -> None:
        """Count a call that failed after its retries; raise EndpointCircuitOpen when the breaker opens."""
        if self.breaker is None:
            return
        if not _breaker_counts(err.reason):
            self.breaker.success()  # the endpoint answered, about this request
            return
        count = self.breaker.failure(err.reason)
        if count < self.breaker.after:
            return
        attempts = 1 if err.reason == "bad_response" else self.max_retries + 1
        each = f"after {attempts} attempt{'s' if attempts != 1 else ''} each" if attempts > 1 else ""
        if err.reason == "timeout":
            what = f"timed out (no answer within {self.timeout_s:g} s) {each}"
        elif err.reason == "rate_limited":
            what = f"were rate limited (HTTP 429) {each}"
        elif err.reason == "bad_response":
            what = "were answered with something that is not a chat completion"
        else:
            what = f"failed with HTTP {err.reason.removeprefix('http_')} {each}"
        opened = EndpointCircuitOpen(
            f"{count} calls in a row to {self.base_url} (role {self.role!r}, model {self.model!r}) "
            f"{what.rstrip()}; stopping instead of spending the rest of the budget",
            url=self.base_url, role=self.role, reason=err.reason, count=count)
        if self.breaker.trip(opened):
            log.warning("%s", opened)
        raise opened from None

    async def _send(self, messages: list[dict[str, str]], schema: dict[str, Any], schema_name: str,
                    temperature: float, max_tokens: int, seed: int | None = None) -> str | None:
        """One answered request (with retries), counted by the circuit breaker; returns the message content."""
        self._check_breaker()
        try:
            text = await self._request(messages, schema, schema_name, temperature, max_tokens, seed)
        except LLMRequestError as err:
            self._breaker_failure(err)
            raise
        if self.breaker is not None:
            self.breaker.success()
        return text

    async def _request(self, messages: list[dict[str, str]], schema: dict[str, Any], schema_name: str,
                       temperature: float, max_tokens: int, seed: int | None = None) -> str | None:
        """One answered request (with retries); returns the message content."""
        attempt = 0
        connect_failures = 0
        started = time.monotonic()
        sem = self.limiter.semaphore()
        wire = await self._wire()
        while True:
            retry_after: float | None = None
            try:
                await sem.acquire(self.priority)
                try:
                    # Calls that waited for a slot while the breaker opened send nothing.
                    self._check_breaker()
                    body = {"model": self.model, "messages": messages,
                            "response_format": self._response_format(schema, schema_name),
                            "temperature": temperature, "max_tokens": max_tokens}
                    if seed is not None:
                        body["seed"] = seed
                    resp = await wire.post_json("/chat/completions", body)
                finally:
                    sem.release()
            except WireTimeout:
                reason = "timeout"
            except WireConnectError as err:
                connect_failures += 1
                if connect_failures > min(self.max_retries, _CONNECT_RETRIES):
                    raise EndpointError(
                        f"cannot reach the LLM endpoint {self.base_url} (role {self.role!r}, model {self.model!r}): "
                        f"{err}; tried {connect_failures} times over "
                        f"{time.monotonic() - started:.1f} s. Is the server running? Check llm.{self.role}.base_url "
                        f"in the spec or OPENAI_BASE_URL.") from None
                self.usage.record_retry(self.role)
                await asyncio.sleep(self._backoff(connect_failures - 1, _CONNECT_BACKOFF_S))
                continue
            except WireStatusError as err:
                status = err.status
                if status in (400, 422, 500) and self.response_format_style == "json_schema" \
                        and "response_format" in err.body:
                    # llama-cpp-python's server only knows {"type": "json_object", "schema": ...}
                    # and answers OpenAI's form with a 500 that names response_format.
                    log.info("%s rejected response_format json_schema; using json_object+schema", self.base_url)
                    self.response_format_style = "json_object_schema"
                    continue
                if status in (401, 403):
                    raise EndpointError(f"the LLM endpoint {self.base_url} refused the API key (HTTP {status}) "
                                        f"for role {self.role!r}; check the key's environment variable") from None
                if status == 404:
                    raise EndpointError(f"the LLM endpoint {self.base_url} answered 404 for model {self.model!r} "
                                        f"(role {self.role!r}): wrong base_url (it should end in /v1) or model "
                                        "name") from None
                if status != 429 and status < 500 and status != 408:
                    raise LLMRequestError(f"{self.base_url} rejected the request (HTTP {status}): "
                                          f"{str(err)[:300]}", reason=f"http_{status}") from None
                reason = "rate_limited" if status == 429 else f"http_{status}"
                retry_after = _retry_after_s(err.headers)
            else:
                return self._content(resp)
            if attempt >= self.max_retries:
                raise LLMRequestError(f"{self.base_url} ({self.model}): {reason} after {attempt + 1} attempts",
                                      reason=reason)
            delay = (min(retry_after, _RETRY_AFTER_CAP_S) + random.uniform(0, 0.05 * max(retry_after, 1.0))
                     if retry_after is not None else self._backoff(attempt, self.backoff_base_s))
            log.debug("%s: %s, retry %d in %.2f s", self.base_url, reason, attempt + 1, delay)
            attempt += 1
            self.usage.record_retry(self.role)
            await asyncio.sleep(delay)

    def _content(self, resp: Any) -> str | None:
        """Record the response's token usage and return its message content."""
        if not isinstance(resp, dict):
            raise LLMRequestError(f"{self.base_url} answered with something that is not a chat completion: "
                                  f"{str(resp)[:200]!r}", reason="bad_response")
        u = resp.get("usage") or {}
        self.usage.record_call(self.role, int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0))
        try:
            content = resp["choices"][0]["message"].get("content")
        except (KeyError, IndexError, TypeError, AttributeError):
            raise LLMRequestError(f"{self.base_url} answered without choices[0].message: {str(resp)[:200]!r}",
                                  reason="bad_response") from None
        return content if isinstance(content, str) or content is None else json.dumps(content)

    # -- public ------------------------------------------------------------------------

    async def complete_json(self, messages: list[dict[str, str]], schema: dict[str, Any], *,
                            schema_name: str = "answer", temperature: float | None = None,
                            max_tokens: int | None = None,
                            cache_salt: str = "") -> dict[str, Any]:
        """Ask for a JSON object conforming to `schema`; return it parsed and validated.

        A cached answer is returned without any request. Otherwise one budget unit is
        spent, the request is retried on 429/5xx/timeouts/connection errors, and an
        answer that is not valid JSON or does not match the schema gets one repair
        request (one more budget unit) that shows the model its mistake.

        Raises:
            LLMOutputError: the answer was still invalid after the repair
                (reason 'invalid_json' or 'schema_mismatch').
            LLMRequestError: retries ran out (reason 'rate_limited', 'timeout', 'http_500', ...).
            EndpointError: the endpoint cannot be reached or refuses us (bad key, bad URL), or
                (`EndpointCircuitOpen`) its circuit breaker is open: the last `breaker_after`
                calls all failed the same way.
            BudgetExhausted: the run's call budget is spent.
        """
        if not isinstance(messages, list) or not messages:
            raise ValueError("messages must be a non-empty list of {'role', 'content'} dicts")
        temperature = self.temperature if temperature is None else temperature
        max_tokens = self.max_tokens if max_tokens is None else max_tokens
        schema_json = _schema_json(schema)
        validator = _validator_for(schema, schema_json)
        key = None
        if self.cache is not None:
            key = cache_key(base_url=self.base_url, model=self.model, messages=messages, schema_json=schema_json,
                            params={"temperature": temperature, "max_tokens": max_tokens, "name": schema_name},
                            cache_salt=cache_salt)
            hit = self.cache.get(key)
            if hit is not None:
                self.usage.record_cache_hit(self.role)
                return hit
        try:
            result = await self._answer(messages, schema, schema_name, schema_json, validator, temperature, max_tokens,
                                        _salt_seed(cache_salt))
        except (LLMOutputError, LLMRequestError) as err:
            self.usage.record_failure(self.role, err.reason)
            raise
        except EndpointError:
            self.usage.record_failure(self.role, "endpoint_error")
            raise
        if key is not None:
            await self.cache.aput(key, result, {"model": self.model, "role": self.role})  # type: ignore[union-attr]
        return result

    async def _answer(self, messages: list[dict[str, str]], schema: dict[str, Any], schema_name: str,
                      schema_json: str, validator: Any, temperature: float, max_tokens: int,
                      seed: int | None = None) -> dict[str, Any]:
        self._check_breaker()  # an open breaker spends no budget
        if self.budget is not None:
            self.budget.acquire()
        text = await self._send(messages, schema, schema_name, temperature, max_tokens, seed)
        value, problem = _parse_json_object(text)
        problem = problem or _schema_problem(validator, value)
        if problem is None:
            return value  # type: ignore[no-any-return]

        # One repair: show the model its answer and what is wrong with it.
        log.debug("%s: invalid answer (%s), asking for a repair", self.role, problem)
        if self.budget is not None:
            self.budget.acquire()
        self.usage.record_repair(self.role)
        repair = [*messages,
                  {"role": "assistant", "content": (text or "")[:4000]},
                  {"role": "user", "content": (
                      f"Your reply was not valid: {problem}. Reply again with only a JSON object that conforms "
                      f"to this JSON schema, and no other text:\n{schema_json}")}]
        text2 = await self._send(repair, schema, schema_name, temperature, max_tokens, seed)
        value2, problem2 = _parse_json_object(text2)
        reason = "invalid_json" if problem2 else "schema_mismatch"
        problem2 = problem2 or _schema_problem(validator, value2)
        if problem2 is None:
            return value2  # type: ignore[no-any-return]
        raise LLMOutputError(f"{self.model} at {self.base_url} gave an invalid answer twice: {problem2}",
                             raw=text2 or "", reason=reason)
