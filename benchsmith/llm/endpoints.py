"""Which endpoint and model each role talks to, and the clients for them.

Per field, the first that is set wins:

- base_url: the spec's `llm.<role>.base_url` → env OPENAI_BASE_URL → the embedded server.
  (A model named in the spec or OPENAI_MODEL with no base URL anywhere, but with an API
  key in the environment, means OpenAI itself.)
- model: the spec's `llm.<role>.model` → env OPENAI_MODEL → (embedded) SmolLM2.
- API key: env var named by `api_key_env` (default OPENAI_API_KEY) → "not-needed".

Secrets come only from the environment; they are never logged, stored or shown in a repr.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from benchsmith.errors import SpecError
from benchsmith.llm.client import CircuitBreaker, LLMClient, ResponseFormatStyle
from benchsmith.llm.limiter import ConcurrencyLimiter
from benchsmith.llm.usage import CallBudget, UsageMeter
from benchsmith.spec import BASE_ROLES, EndpointSpec, LLMSpec

OPENAI_URL = "https://api.openai.com/v1"
ROLES: tuple[str, ...] = BASE_ROLES
"""The built-in roles; a spec's `llm.role_names()` adds its named ones."""


@dataclass(frozen=True)
class ResolvedEndpoint:
    """Where one role's requests go. `base_url=None` means the embedded server."""

    role: str
    base_url: str | None
    model: str | None
    source: Literal["spec", "env", "openai", "embedded"]
    api_key: str = field(default="not-needed", repr=False)
    api_key_env: str = "OPENAI_API_KEY"

    @property
    def embedded(self) -> bool:
        return self.base_url is None

    def describe(self) -> str:
        """For logs and run summaries: no secrets."""
        if self.embedded:
            return f"{self.role}: SmolLM2-135M-Instruct on the embedded llama.cpp server (no endpoint configured)"
        return f"{self.role}: {self.model} at {self.base_url} (from {self.source})"


def resolve_endpoint(role: str, spec: EndpointSpec, env: Mapping[str, str] | None = None) -> ResolvedEndpoint:
    """Apply the precedence rules of this module to one role's spec."""
    env = os.environ if env is None else env
    key = env.get(spec.api_key_env) or "not-needed"
    model = spec.model or env.get("OPENAI_MODEL") or None
    if spec.base_url:
        base_url, source = spec.base_url, "spec"
    elif env.get("OPENAI_BASE_URL"):
        base_url, source = env["OPENAI_BASE_URL"], "env"
    elif model and env.get(spec.api_key_env):
        base_url, source = OPENAI_URL, "openai"
    else:
        if model:
            raise SpecError(
                f"llm.{role}: model {model!r} is set but no endpoint is: set llm.{role}.base_url or "
                f"OPENAI_BASE_URL (or {spec.api_key_env} to use OpenAI), or drop the model to use the "
                "embedded default")
        return ResolvedEndpoint(role=role, base_url=None, model=None, source="embedded",
                                api_key_env=spec.api_key_env)
    if not model:
        raise SpecError(f"llm.{role}: base_url {base_url!r} is set but no model: set llm.{role}.model or OPENAI_MODEL")
    return ResolvedEndpoint(role=role, base_url=base_url.rstrip("/"), model=model, source=source,  # type: ignore[arg-type]
                            api_key=key, api_key_env=spec.api_key_env)


_limiters: dict[tuple[str, int], ConcurrencyLimiter] = {}
_limiters_lock = threading.Lock()


def shared_limiter(base_url: str, limit: int) -> ConcurrencyLimiter:
    """The process's in-flight limit for one endpoint: every client of the process that talks
    to `base_url` (the tasks of a run, their shards) shares it, so `llm.concurrency` holds."""
    with _limiters_lock:
        return _limiters.setdefault((base_url, limit), ConcurrencyLimiter(limit))


_breakers: OrderedDict[tuple[str, str, int], CircuitBreaker] = OrderedDict()
_breakers_lock = threading.Lock()
_BREAKER_SCOPES_KEPT = 256


def shared_breaker(scope: str, base_url: str, after: int) -> CircuitBreaker:
    """The process's circuit breaker for one endpoint within `scope` (a run's token): the
    tasks of a run each build their own clients, and count the endpoint's failures together.

    Scoped, so that one run's dead endpoint does not stop the next run of a long-lived
    process (a worker, a test session); the least recently used are forgotten.
    """
    key = (scope, base_url, after)
    with _breakers_lock:
        breaker = _breakers.get(key)
        if breaker is None:
            breaker = _breakers[key] = CircuitBreaker(after)
            while len(_breakers) > _BREAKER_SCOPES_KEPT:
                _breakers.popitem(last=False)
        else:
            _breakers.move_to_end(key)
        return breaker


def reset_breakers(scope: str, base_url: str | None = None) -> int:
    """Close the open breakers of `scope` (one endpoint's, or all): a task retried after a pause
    (`execution.retries`) sends again instead of failing on the breaker its last attempt opened.
    Returns how many were open."""
    with _breakers_lock:
        found = [b for (s, url, _), b in _breakers.items() if s == scope and base_url in (None, url)]
    opened = sum(1 for b in found if b.open_error is not None)
    for b in found:
        b.reset()
    return opened


EmbeddedFactory = Callable[[], tuple[str, str]]
"""Starts (once) the embedded server and returns its (base_url, model)."""


def build_clients(llm_spec: LLMSpec, *, cache_dir: Path | None, budget: CallBudget | None = None,
                  usage: UsageMeter | None = None, embedded_base_url_factory: EmbeddedFactory | None = None,
                  env: Mapping[str, str] | None = None, roles: tuple[str, ...] | None = None,
                  share_limits: bool = False, processes: int = 1, breaker_after: int = 8,
                  breaker_scope: str | None = None) -> dict[str, LLMClient]:
    """One `LLMClient` per role, sharing the budget, usage meter and per-endpoint concurrency limit.

    `share_limits` takes the limits from the process-wide pool (`shared_limiter`), so that
    clients built by concurrent tasks of one process share them. `processes` is how many
    processes drive the same endpoints at once (Dask workers): each takes its share of
    `llm.concurrency`.

    `embedded_base_url_factory` is called only if some role resolves to the embedded
    server (at most once); without one such a role is an error.

    Roles on one endpoint share its circuit breaker (`LLMClient`'s `breaker_after`; 0
    disables): a run of `breaker_after` identical transport failures stops the stage with an
    EndpointError. With `breaker_scope` (a run's token), every client the process builds for
    that scope shares it (`shared_breaker`), so that the count spans the run's tasks.
    """
    usage = usage if usage is not None else UsageMeter()
    roles = llm_spec.role_names() if roles is None else roles
    resolved = {role: resolve_endpoint(role, llm_spec.endpoint(role), env) for role in roles}
    embedded: tuple[str, str] | None = None
    limiters: dict[str, ConcurrencyLimiter] = {}
    breakers: dict[str, CircuitBreaker | None] = {}
    clients: dict[str, LLMClient] = {}
    for role, ep in resolved.items():
        spec: EndpointSpec = llm_spec.endpoint(role)
        style: ResponseFormatStyle = "json_schema"
        concurrency = max(1, -(-llm_spec.concurrency // max(processes, 1)))
        if ep.embedded:
            if embedded_base_url_factory is None:
                raise SpecError(f"llm.{role}: no endpoint configured (spec base_url or OPENAI_BASE_URL) and no "
                                "embedded server available")
            if embedded is None:
                embedded = embedded_base_url_factory()
            base_url, model = embedded
            from benchsmith.llm.embedded import EmbeddedServer

            style = EmbeddedServer.response_format_style  # type: ignore[assignment]
            concurrency = min(concurrency, EmbeddedServer.recommended_concurrency)
        else:
            base_url, model = ep.base_url, ep.model  # type: ignore[assignment]
        # Roles on one endpoint share its in-flight limit ("requests in flight per endpoint").
        limiter = limiters.setdefault(base_url, shared_limiter(base_url, concurrency) if share_limits
                                      else ConcurrencyLimiter(concurrency))
        if base_url not in breakers:
            breakers[base_url] = (None if not breaker_after else CircuitBreaker(breaker_after) if breaker_scope is None
                                  else shared_breaker(breaker_scope, base_url, breaker_after))
        clients[role] = LLMClient(
            base_url=base_url, model=model, role=role, api_key=ep.api_key, concurrency=concurrency,
            max_retries=llm_spec.max_retries, timeout_s=spec.timeout_s, temperature=spec.temperature,
            max_tokens=spec.max_tokens, cache_dir=cache_dir if llm_spec.cache else None, budget=budget,
            usage=usage, response_format_style=style, limiter=limiter, breaker_after=breaker_after,
            breaker=breakers[base_url])
    return clients


@contextlib.contextmanager
def llm_clients(llm_spec: LLMSpec, *, cache_dir: Path | None, budget: CallBudget | None = None,
                usage: UsageMeter | None = None, env: Mapping[str, str] | None = None,
                roles: tuple[str, ...] | None = None) -> Iterator[dict[str, LLMClient]]:
    """`build_clients` (every role of the spec unless `roles` names some), starting the embedded
    server on demand and stopping it on exit."""
    from benchsmith.llm.embedded import EmbeddedServer

    server: EmbeddedServer | None = None

    def start_embedded() -> tuple[str, str]:
        nonlocal server
        server = EmbeddedServer().start()
        return server.base_url, server.model

    try:
        yield build_clients(llm_spec, cache_dir=cache_dir, budget=budget, usage=usage,
                            embedded_base_url_factory=start_embedded, env=env, roles=roles)
    finally:
        if server is not None:
            server.stop()
