"""Check the LLM endpoints before a run: one `GET {base_url}/models` each, a few seconds at most.

A port that accepts connections but never speaks HTTP would otherwise cost every call
its full timeout, times its retries, and end the run as "nothing survived". The probe
classifies what the endpoint answered — nothing listens, it accepts but stays silent,
it speaks something other than HTTP, it refuses the key, the base URL is wrong, the
model is not listed — in one line that names the URL.

Embedded roles are not probed: the embedded server is started and health-checked by
`benchsmith.llm.embedded` itself. API keys are sent, never shown: any echo of the key
in an answer is masked before it reaches a message.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import socket
import ssl
import time
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import urlsplit

import httpx

from benchsmith.errors import EndpointProbeError
from benchsmith.llm.endpoints import resolve_endpoint
from benchsmith.spec import LLMSpec

T = TypeVar("T")

ProbeKind = Literal["ok", "refused", "unreachable", "timeout", "not_http", "key_refused", "not_found",
                    "http_status", "not_json"]
"""What an endpoint answered. 'ok' is the only success; a model the endpoint does not list
is a `warning` on an ok result (some servers list nothing useful)."""

DEFAULT_TIMEOUT_S = 5.0
_SNIPPET = 200


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of probing one endpoint."""

    ok: bool
    url: str
    """The base URL probed (what the spec or OPENAI_BASE_URL gave, without a trailing slash)."""
    detail: str
    """One line for a person: the URL, the roles, and what it answered."""
    elapsed_s: float
    kind: ProbeKind
    roles: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    """The models the probe asked about (the roles' models)."""
    status: int | None = None
    """The HTTP status of the answer, if there was one."""
    listed: tuple[str, ...] | None = field(default=None, repr=False)
    """The model ids the endpoint listed (None: it listed nothing in OpenAI's format)."""
    warning: str | None = None
    """On an ok result: something worth a log line (a model the endpoint does not list)."""

    @property
    def role(self) -> str:
        """The roles as one string ('generator, judge')."""
        return ", ".join(self.roles)


# -- one endpoint ------------------------------------------------------------------------

def _snippet(text: str, secret: str | None) -> str:
    """The first characters of an answer on one line, with any echo of the key masked."""
    if secret and len(secret) >= 4 and secret != "not-needed":
        text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "…"


def _causes(err: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    cur: BaseException | None = err
    while cur is not None and cur not in out and len(out) < 16:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def _host_port(base_url: str) -> str:
    parts = urlsplit(base_url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return parts.netloc
    return f"{parts.hostname}:{port}"


class _Phases:
    """How far a request got (httpcore's trace events): to tell a silent port from a dead host."""

    def __init__(self) -> None:
        self.connected = False
        self.sent = False
        self.headers = False

    async def __call__(self, event: str, info: Mapping[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            self.connected = True
        elif event.endswith(".send_request_headers.complete"):
            self.connected = self.sent = True
        elif event.endswith(".receive_response_headers.complete"):
            self.headers = True


class _Failed(Exception):
    """A probe that ended before an HTTP answer: (kind, what happened)."""

    def __init__(self, kind: ProbeKind, what: str) -> None:
        super().__init__(what)
        self.kind: ProbeKind = kind
        self.what = what


def _transport_failure(err: Exception, base_url: str, timeout_s: float, phases: _Phases, what: str) -> _Failed:
    """Classify an exception of a request that got no complete HTTP answer."""
    where = _host_port(base_url)
    if isinstance(err, TimeoutError | httpx.TimeoutException):
        if not phases.connected and not isinstance(err, httpx.ReadTimeout | httpx.WriteTimeout):
            return _Failed("timeout", f"no TCP connection to {where} within {timeout_s:g} s "
                                      "(host down, or a firewall dropping packets?)")
        if phases.headers:
            return _Failed("timeout", f"started answering {what} but did not finish within {timeout_s:g} s")
        return _Failed("timeout", f"the port accepts connections but sent no HTTP response within {timeout_s:g} s "
                                  f"({what}): not an OpenAI-compatible server, or one that is hung or still loading")
    causes = _causes(err)
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return _Failed("refused", f"connection refused: nothing listens on {where}. Is the server running?")
    if any(isinstance(c, socket.gaierror) for c in causes):
        host = urlsplit(base_url).hostname
        return _Failed("unreachable", f"cannot resolve the host name {host!r} ({causes[-1]})")
    if any(isinstance(c, ssl.SSLError) for c in causes):
        return _Failed("unreachable", f"the TLS handshake with {where} failed ({causes[-1]}); is it a plain "
                                      "http:// server addressed as https://?")
    if isinstance(err, httpx.ConnectError):
        return _Failed("unreachable", f"cannot connect to {where}: {causes[-1]!r}")
    if isinstance(err, httpx.RemoteProtocolError):
        message = str(err)
        if "without sending" in message or not phases.sent:
            return _Failed("not_http", f"closed the connection without an HTTP response to {what}: is it an HTTP "
                                       "server, and the right port?")
        return _Failed("not_http", f"answered {what} with something that is not HTTP ({_snippet(message, None)}): "
                                   "is this the right port?")
    if isinstance(err, httpx.ReadError | httpx.WriteError | httpx.CloseError):
        return _Failed("not_http", f"reset the connection during {what} ({causes[-1]!r}): is it an HTTP server, "
                                   "and the right port?")
    return _Failed("unreachable", f"{what} failed: {type(err).__name__}: {_snippet(str(err), None)}")


class _Prober:
    """The requests of one probe, and how far the latest got (for the total deadline's message)."""

    def __init__(self, client: httpx.AsyncClient, base_url: str, timeout_s: float) -> None:
        self.client = client
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.phases = _Phases()
        self.what = f"GET {base_url}/models"

    async def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        self.phases, self.what = _Phases(), f"{method} {url}"
        try:
            return await self.client.request(method, url, extensions={"trace": self.phases}, **kw)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as err:
            raise _Failed("unreachable", f"not a usable base URL ({err}); it should look like "
                                         "http://host:8000/v1") from None
        except httpx.TransportError as err:
            raise self.failure(err) from None

    def failure(self, err: Exception) -> _Failed:
        return _transport_failure(err, self.base_url, self.timeout_s, self.phases, self.what)


def _model_ids(payload: Any) -> tuple[str, ...] | None:
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        return None
    return tuple(str(m["id"]) for m in data if isinstance(m, dict) and m.get("id") is not None)


def _key_hint(api_key: str, api_key_env: str | None) -> str:
    if api_key_env is None:
        return "check the API key"
    if not api_key or api_key == "not-needed":
        return f"no key is set: put it in ${api_key_env}"
    return f"check the key in ${api_key_env}"


async def aprobe_endpoint(base_url: str, *, api_key: str, model: str | None, timeout_s: float = DEFAULT_TIMEOUT_S,
                          roles: Sequence[str] = (), models: Sequence[str] = (),
                          api_key_env: str | None = None) -> ProbeResult:
    """`probe_endpoint`, for a caller that is already in an event loop."""
    if timeout_s <= 0:
        raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
    base_url = base_url.rstrip("/")
    wanted = tuple(dict.fromkeys([*([model] if model else []), *models]))
    label = f"{base_url} ({', '.join(roles)})" if roles else base_url
    started = time.monotonic()

    def result(kind: ProbeKind, what: str, *, status: int | None = None, listed: tuple[str, ...] | None = None,
               warning: str | None = None) -> ProbeResult:
        return ProbeResult(ok=kind == "ok", url=base_url, detail=f"{label}: {what}",
                           elapsed_s=time.monotonic() - started, kind=kind, roles=tuple(roles), models=wanted,
                           status=status, listed=listed, warning=warning)

    headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
    prober: _Prober | None = None
    try:
        # One deadline for everything (connect, answer, the 404 retry); httpx's own per-phase
        # timeouts are only a backstop.
        async with asyncio.timeout(timeout_s), httpx.AsyncClient(
                timeout=httpx.Timeout(timeout_s + 1.0), headers=headers, follow_redirects=False) as client:
            prober = _Prober(client, base_url, timeout_s)
            models_url = f"{base_url}/models"
            resp = await prober.request("GET", models_url)
            note = ""
            if resp.status_code == 404 and wanted:
                # Some servers serve the API but not /models: ask for one token before calling the URL wrong.
                chat = await prober.request("POST", f"{base_url}/chat/completions", json={
                    "model": wanted[0], "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1})
                if chat.status_code in (200, 400, 422):
                    return result("ok", f"OK, but GET {models_url} answered 404 (POST /chat/completions answered "
                                        f"{chat.status_code}): it lists no models",
                                  status=chat.status_code, warning="the endpoint lists no models")
                resp, note = chat, f"GET {models_url} answered 404, and "
            return _classify(resp, result, base_url, api_key, api_key_env, wanted, note)
    except _Failed as failed:
        return result(failed.kind, failed.what)
    except TimeoutError as err:  # the total deadline
        late = prober.failure(err) if prober is not None else _Failed(
            "timeout", f"no answer within {timeout_s:g} s")
        return result(late.kind, late.what)


class _Make(Protocol):
    def __call__(self, kind: ProbeKind, what: str, *, status: int | None = None,
                 listed: tuple[str, ...] | None = None, warning: str | None = None) -> ProbeResult: ...


def _classify(resp: httpx.Response, result: _Make, base_url: str, api_key: str, api_key_env: str | None,
              wanted: tuple[str, ...], note: str = "") -> ProbeResult:
    status = resp.status_code
    what = f"{note}{resp.request.method} {resp.request.url}"
    body = _snippet(resp.text, api_key) if resp.content else "empty body"
    if status in (401, 403):
        return result("key_refused", f"refused the API key (HTTP {status} to {what}: {body}); "
                                     f"{_key_hint(api_key, api_key_env)}", status=status)
    if status == 404:
        hint = ("no OpenAI-compatible API under that path" if base_url.endswith("/v1")
                else "it should usually end in /v1, e.g. http://host:8000/v1")
        return result("not_found", f"{what} answered 404 ({body}): wrong base URL, {hint}", status=status)
    if 300 <= status < 400:
        where = resp.headers.get("location", "?")
        return result("http_status", f"{what} answered HTTP {status}, a redirect to {where}: use that URL as "
                                     "the base URL", status=status)
    if status != 200:
        return result("http_status", f"{what} answered HTTP {status}: {body}", status=status)
    try:
        payload = json.loads(resp.content)
    except ValueError:
        ctype = resp.headers.get("content-type", "no content type")
        return result("not_json", f"{what} answered HTTP 200 but not with JSON ({ctype}): {body}; is this an "
                                  "OpenAI-compatible API?", status=status)
    listed = _model_ids(payload)
    if listed is None:
        return result("ok", f"OK, but {what} did not list models in OpenAI's format", status=status,
                      warning="the endpoint lists no models in OpenAI's format")
    missing = [m for m in wanted if m not in listed]
    shown = ", ".join(listed[:8]) + (f", … ({len(listed)} in all)" if len(listed) > 8 else "")
    if missing:
        warning = (f"model{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} not among the "
                   f"{len(listed)} it lists ({shown or 'none'})")
        return result("ok", f"OK (HTTP 200), but {warning}", status=status, listed=listed, warning=warning)
    names = ", ".join(map(repr, wanted))
    return result("ok", f"OK (HTTP 200, {len(listed)} model{'s' if len(listed) != 1 else ''} listed"
                        f"{', ' + names + ' among them' if wanted else ''})", status=status, listed=listed)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion from synchronous code, in or out of an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="benchsmith-probe") as pool:
        return pool.submit(asyncio.run, coro).result()


def probe_endpoint(base_url: str, *, api_key: str, model: str | None, timeout_s: float = DEFAULT_TIMEOUT_S,
                   roles: Sequence[str] = (), models: Sequence[str] = (),
                   api_key_env: str | None = None) -> ProbeResult:
    """`GET {base_url}/models` within `timeout_s` in all (connect and answer), and what it says.

    Succeeds on HTTP 200 with JSON; a model (`model`, `models`) that is not listed is a
    `warning`, not a failure. A 404 with a model to ask about gets one more try, a
    one-token chat request, before the base URL is called wrong: some servers do not
    serve /models. `roles` and `api_key_env` only make the message more precise.
    """
    return _run(aprobe_endpoint(base_url, api_key=api_key, model=model, timeout_s=timeout_s, roles=roles,
                                models=models, api_key_env=api_key_env))


# -- the endpoints of a spec ---------------------------------------------------------------

async def aprobe_endpoints(llm_spec: LLMSpec, env: Mapping[str, str] | None = None, *,
                           timeout_s: float = DEFAULT_TIMEOUT_S,
                           roles: Sequence[str] | None = None) -> list[ProbeResult]:
    """`probe_endpoints`, for a caller that is already in an event loop."""
    groups: dict[tuple[str, str], list[tuple[str, str | None, str]]] = {}
    for role in llm_spec.role_names() if roles is None else roles:
        ep = resolve_endpoint(role, llm_spec.endpoint(role), env)
        if ep.embedded or ep.base_url is None:
            continue
        groups.setdefault((ep.base_url, ep.api_key), []).append((role, ep.model, ep.api_key_env))
    probes = [aprobe_endpoint(base_url, api_key=key, model=None, timeout_s=timeout_s,
                              roles=[r for r, _, _ in members], models=[m for _, m, _ in members if m],
                              api_key_env=members[0][2])
              for (base_url, key), members in groups.items()]
    return list(await asyncio.gather(*probes))


def probe_endpoints(llm_spec: LLMSpec, env: Mapping[str, str] | None = None, *,
                    timeout_s: float = DEFAULT_TIMEOUT_S, roles: Sequence[str] | None = None) -> list[ProbeResult]:
    """Probe every distinct endpoint (base URL and key) the roles resolve to, all at once.

    One result per endpoint, in role order, naming the roles that use it; roles on the
    embedded server are skipped. Endpoint resolution errors (SpecError) propagate.
    """
    return _run(aprobe_endpoints(llm_spec, env, timeout_s=timeout_s, roles=roles))


def raise_for_failures(results: Sequence[ProbeResult]) -> None:
    """Raise `EndpointProbeError` (an EndpointError) with one line per endpoint that failed its probe."""
    failed = tuple(r.detail for r in results if not r.ok)
    if not failed:
        return
    head = ("an LLM endpoint cannot serve this run" if len(failed) == 1
            else f"{len(failed)} LLM endpoints cannot serve this run")
    raise EndpointProbeError(head + ":\n" + "\n".join(f"  {line}" for line in failed), details=failed)
