"""The HTTP transport under `AsyncOpenAI`: aiohttp's connection pool behind httpx's interface.

openai's client speaks httpx (`http_client=`), and httpx takes any transport
(`AsyncClient(transport=...)`). With its own pool (httpcore) a call cost ~2.4 ms of client
CPU at 64 in flight against the fake server, most of it httpcore walking its connections
and anyio's socket wrappers; through aiohttp's pool the same loop costs ~1.1 ms (py-spy,
`bench/end_to_end.py`). openai ships the same idea as `DefaultAioHttpClient`; this one
reads each (non-streaming) answer whole, and maps aiohttp's errors onto the httpx errors
that openai and `LLMClient` classify: a refused connection stays a connect error (the
vendored mapping makes it a timeout, so an absent server would be retried as a slow one).

Streaming responses are not supported: benchsmith never streams.
"""

from __future__ import annotations

import ssl
import sys
from typing import Any

import aiohttp
import openai

# The HTTP library this openai version is built on (httpx, or httpx2 in openai >= 3).
_HX: Any = sys.modules[next(c for c in openai.DefaultAsyncHttpxClient.__mro__
                            if c.__name__ == "AsyncClient").__module__.split(".")[0]]

# Hop-by-hop or body framing headers that aiohttp sets itself from what it sends.
_SKIP_HEADERS = frozenset({b"host", b"content-length", b"transfer-encoding", b"connection"})


def _error(err: BaseException, request: Any, *, connected: bool) -> Exception:
    """The httpx error that stands for aiohttp's `err` (openai maps httpx errors to its own)."""
    message = f"{type(err).__name__}: {err}"
    if isinstance(err, aiohttp.InvalidURL):
        return _HX.InvalidURL(message)  # type: ignore[no-any-return]
    if isinstance(err, aiohttp.ConnectionTimeoutError):
        cls = _HX.ConnectTimeout
    elif isinstance(err, aiohttp.ServerTimeoutError | TimeoutError):
        cls = _HX.ReadTimeout if connected or isinstance(err, aiohttp.SocketTimeoutError) else _HX.ConnectTimeout
    elif isinstance(err, aiohttp.ClientConnectorError):
        cls = _HX.ConnectError
    elif isinstance(err, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        cls = _HX.RemoteProtocolError
    elif isinstance(err, aiohttp.ClientOSError | OSError):
        cls = _HX.ReadError if connected else _HX.ConnectError
    else:
        cls = _HX.TransportError
    return cls(message, request=request)  # type: ignore[no-any-return]


class AiohttpTransport(_HX.AsyncBaseTransport):  # type: ignore[misc]
    """An httpx transport that sends each request through one `aiohttp.ClientSession`.

    The session (and its keep-alive pool of at most `max_connections`) is made on the first
    request, in the event loop that sends it: like every asyncio object it belongs to that
    loop, and `LLMClient` keeps one transport per endpoint and loop.
    """

    def __init__(self, *, max_connections: int = 100, keepalive_expiry: float = 30.0,
                 ssl_context: ssl.SSLContext | None = None, trust_env: bool = True) -> None:
        self.max_connections = max_connections
        self.keepalive_expiry = keepalive_expiry
        self.ssl_context = ssl_context
        self.trust_env = trust_env
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.max_connections, keepalive_timeout=self.keepalive_expiry,
                                             ssl=self.ssl_context if self.ssl_context is not None else True)
            # httpx decodes the body (Content-Encoding) itself: aiohttp hands it over as sent.
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                                  trust_env=self.trust_env, cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def handle_async_request(self, request: Any) -> Any:
        session = self._get_session()
        t = request.extensions.get("timeout") or {}
        timeout = aiohttp.ClientTimeout(total=None, connect=t.get("pool"), sock_connect=t.get("connect"),
                                        sock_read=t.get("read"))
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw
                   if k.lower() not in _SKIP_HEADERS]
        body = request.content  # openai sends bytes (JSON), never a stream
        connected = False
        try:
            async with session.request(request.method, str(request.url), headers=headers, data=body or None,
                                       allow_redirects=False, timeout=timeout, compress=None) as resp:
                connected = True
                content = await resp.read()
                raw_headers = list(resp.raw_headers)
                status = resp.status
                reason = resp.reason
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            raise _error(err, request, connected=connected) from err
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if reason:
            extensions["reason_phrase"] = reason.encode("latin-1", "replace")
        return _HX.Response(status, headers=raw_headers, stream=_HX.ByteStream(content), request=request,
                            extensions=extensions)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
