"""What carries `LLMClient`'s requests: one POST of a JSON body, one JSON answer.

Two wires with one interface (`Wire.post_json`) and one set of errors (`WireError` and
its kinds), so that retries, backoff, `Retry-After` and the circuit breaker in
`LLMClient` are the same whichever carries the call:

- ``aiohttp`` (`AiohttpWire`): the request body is serialised once and sent through
  one aiohttp connection pool per endpoint and event loop. About 0.4 ms of client CPU
  per call at 64 in flight against the fake server (`bench/end_to_end.py`).
- ``httpx`` (`OpenAIWire`): openai's `AsyncOpenAI` raw-request path
  (`post(cast_to=object)`) over httpx's pools. The same wire format, with the SDK's
  request and response plumbing: about 2.1 ms of client CPU per call. On a two-core
  machine that difference decided whether a run kept 64 requests in flight at 200 ms
  latency or fell to two thirds of it (the client's event loop was saturated).

Neither streams: benchsmith asks for whole answers.
"""

from __future__ import annotations

import json
import ssl
import sys
from collections.abc import Mapping
from typing import Any, Literal, Protocol

import aiohttp
import openai
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

HttpTransport = Literal["aiohttp", "httpx"]
"""Which wire carries a client's requests (see the module docstring)."""

# The HTTP library this openai version is built on (httpx, or httpx2 in openai >= 3):
# pools and timeouts must be that library's own types, or every request goes through a
# slow compatibility path.
_HX: Any = sys.modules[next(c for c in openai.DefaultAsyncHttpxClient.__mro__
                            if c.__name__ == "AsyncClient").__module__.split(".")[0]]

# httpx's pool walks every idle connection on each request (an `is_readable` socket
# probe per idle connection), so one pool of 64 keep-alive connections cost ~0.6 ms of CPU
# per call, a fifth of the SDK path's work (py-spy, fake server, concurrency 64). Shards of
# this many connections, each its own AsyncOpenAI, keep that walk short.
SHARD_CONNECTIONS = 8


class WireError(Exception):
    """A request that got no usable HTTP answer, or an error status."""


class WireTimeout(WireError):
    """No answer (or no connection) within the timeout."""


class WireConnectError(WireError):
    """The connection failed or was dropped before a whole answer came (refused, DNS, reset).

    The message starts with the underlying error's class name (``ConnectError: ...``,
    ``ServerDisconnectedError: ...``), which `LLMClient` quotes when it gives up.
    """


class WireStatusError(WireError):
    """The endpoint answered with an HTTP error status."""

    def __init__(self, status: int, body: str, headers: Mapping[str, str]) -> None:
        super().__init__(f"Error code: {status} - {body}")
        self.status = status
        self.body = body
        self.headers = headers


class Wire(Protocol):
    """One endpoint's connection pool on one event loop."""

    async def post_json(self, path: str, body: dict[str, Any]) -> Any:
        """POST `body` as JSON to `path` (below the base URL); the decoded JSON answer (or its text).

        Raises `WireTimeout`, `WireConnectError` or `WireStatusError`.
        """
        ...

    async def close(self) -> None:
        """Close the pool's connections."""
        ...


def _decode(raw: bytes) -> Any:
    """The answer's JSON value, or its text when it is not JSON (the client reports it as a bad response)."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


def _env_proxy(base_url: str) -> tuple[str | None, aiohttp.BasicAuth | None]:
    """The proxy the environment names for `base_url` (`HTTPS_PROXY`, `NO_PROXY`, ...), or none."""
    try:
        proxy, auth = get_env_proxy_for_url(URL(base_url))
    except LookupError:
        return None, None
    return str(proxy), auth


class AiohttpWire:
    """Requests sent straight through one `aiohttp.ClientSession` (made on first use, in its loop).

    Like every asyncio object the session belongs to the loop that made it: `LLMClient`
    keeps one wire per endpoint and loop.
    """

    def __init__(self, base_url: str, api_key: str, *, timeout_s: float, connect_timeout_s: float,
                 max_connections: int, trust_env: bool = True) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_connections = max_connections
        self.trust_env = trust_env
        # httpx's meaning of a timeout (the SDK wire's): per connect and per read, not for the whole call.
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout_s, sock_read=timeout_s)
        self._headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json",
                         "Accept": "application/json", "User-Agent": "benchsmith"}
        self.proxy, self._proxy_auth = _env_proxy(self.base_url) if trust_env else (None, None)
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # The CA bundle httpx (and so the SDK wire) trusts, so both wires trust the same servers.
            tls = _HX.create_ssl_context() if self.base_url.startswith("https:") and hasattr(
                _HX, "create_ssl_context") else None
            connector = aiohttp.TCPConnector(limit=self.max_connections, keepalive_timeout=30.0,
                                             ssl=tls if isinstance(tls, ssl.SSLContext) else True)
            # trust_env stays off in the session: with it aiohttp looks up the proxy and ~/.netrc
            # in a worker thread on every request (two thread hops per call, ~0.1 ms of loop
            # time and a wake-up each). The proxy is resolved once, like httpx does; netrc
            # is never wanted, the Authorization header is always set.
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False,
                                                  cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def post_json(self, path: str, body: dict[str, Any]) -> Any:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            async with self._get_session().post(self.base_url + path, data=data, headers=self._headers,
                                                timeout=self._timeout, allow_redirects=False,
                                                proxy=self.proxy, proxy_auth=self._proxy_auth) as resp:
                raw = await resp.read()
                status, headers = resp.status, resp.headers
        except TimeoutError as err:  # aiohttp's own timeouts are TimeoutErrors too
            raise WireTimeout(f"{type(err).__name__}: {err}") from err
        except (aiohttp.ClientError, OSError) as err:
            # Refused, unresolvable, reset, or closed before the whole answer: the SDK wire
            # calls all of these connection errors too (httpx's ConnectError, ReadError, ...).
            raise WireConnectError(f"{type(err).__name__}: {err or 'connection failed'}") from err
        if status >= 400:
            raise WireStatusError(status, raw.decode("utf-8", errors="replace")[:2000], headers)
        return _decode(raw)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class OpenAIWire:
    """Requests sent through openai's `AsyncOpenAI` (its raw-request path), over httpx pools in shards.

    A request goes to the shard with the fewest in flight: with at most `limit` requests in
    flight overall and `ceil(limit / shards)` keep-alive connections per shard, a shard never
    has more requests than connections, so no request waits for a connection or opens one
    beyond the keep-alive ones.
    """

    def __init__(self, base_url: str, api_key: str, *, timeout_s: float, connect_timeout_s: float,
                 limit: int) -> None:
        timeout = _HX.Timeout(timeout_s, connect=connect_timeout_s)
        k = -(-limit // SHARD_CONNECTIONS)
        per = -(-limit // k)
        # One TLS context for all shards (building one loads the CA bundle: ~5 ms each).
        tls: dict[str, Any] = {}
        if k > 1 and hasattr(_HX, "create_ssl_context"):
            tls["verify"] = _HX.create_ssl_context()
        self.clients: list[openai.AsyncOpenAI] = []
        for _ in range(k):
            # Keep-alive for every request the shard may have in flight (no reconnects under load),
            # and headroom above it so that no request waits for a connection still being torn down.
            http = openai.DefaultAsyncHttpxClient(
                limits=_HX.Limits(max_connections=max(2 * per, 100 // k), max_keepalive_connections=per,
                                  keepalive_expiry=30.0),
                timeout=timeout, **tls)
            self.clients.append(openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0,
                                                   timeout=timeout, http_client=http))
        self.in_flight = [0] * len(self.clients)

    def pick(self) -> int:
        """The shard with the fewest requests in flight (now counted as one more)."""
        counts = self.in_flight
        i = counts.index(min(counts)) if len(counts) > 1 else 0
        counts[i] += 1
        return i

    async def post_json(self, path: str, body: dict[str, Any]) -> Any:
        shard = self.pick()
        try:
            # The documented raw-request path: same wire format, same errors, without the
            # typed request transform and response models (which walk the whole JSON schema
            # on every call: ~1 ms of CPU each).
            return await self.clients[shard].post(path, cast_to=object, body=body)
        except openai.APITimeoutError as err:
            raise WireTimeout(str(err)) from err
        except openai.APIConnectionError as err:
            cause = err.__cause__ or err
            raise WireConnectError(f"{type(cause).__name__}: {cause or 'connection failed'}") from err
        except openai.APIStatusError as err:
            raise WireStatusError(err.status_code, str(err).removeprefix(f"Error code: {err.status_code} - "),
                                  err.response.headers) from err
        finally:
            self.in_flight[shard] -= 1

    async def close(self) -> None:
        for client in self.clients:
            await client.close()


def open_wire(transport: HttpTransport, base_url: str, api_key: str, *, timeout_s: float,
              limit: int) -> Wire:
    """A new pool for one endpoint, sized for `limit` requests in flight."""
    connect_timeout_s = min(timeout_s, 5.0)
    if transport == "aiohttp":
        # Keep-alive for every request in flight, and headroom for connections being torn down.
        return AiohttpWire(base_url, api_key, timeout_s=timeout_s, connect_timeout_s=connect_timeout_s,
                           max_connections=max(2 * limit, 100))
    return OpenAIWire(base_url, api_key, timeout_s=timeout_s, connect_timeout_s=connect_timeout_s, limit=limit)
