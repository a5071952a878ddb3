"""The review web app: Starlette, server-rendered Jinja2 pages, one small script for the keys.

Security lives here, around the views: a signed session cookie (HttpOnly, SameSite=Strict),
a CSRF token per session checked on every POST, a login on every page, a
Content-Security-Policy without inline script, a cap on request bodies, and autoescaped
templates. Database calls run in the thread pool, so a write waiting on a busy SQLite file
(a `benchsmith run` writing) does not stall other requests.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from jinja2 import Environment, PackageLoader
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from benchsmith.review.accounts import Reviewer, get_reviewer
from benchsmith.review.db import STATUSES
from benchsmith.review.queue import REJECT_REASONS, SORTS, QueueFilter
from benchsmith.review.recheck import EditChecker
from benchsmith.store import Store

if TYPE_CHECKING:
    from benchsmith.embeddings import Embedder

MAX_BODY = 512 * 1024  # an edit of three 20k-character fields fits; a 1 MB post does not
SESSION_COOKIE = "benchsmith_review"
SECRET_FILE = "review-secret.key"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
_STATIC = Path(__file__).with_name("static")
# How long a save waits for a `benchsmith run` holding the SQLite write lock before it answers 503
# (reads never wait: WAL). A run's write transactions last well under a second.
WRITE_WAIT_S = 5.0
_FILTER_KEYS = ("suite", "run_id", "status", "generator", "flag", "cluster", "min_score", "max_score", "reviewer")


class LoginRequired(Exception):
    """The request has no logged-in reviewer."""


class SecurityHeaders:
    """CSP and friends on every response; `no-store` so a logged-out browser shows no cached page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                            (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer"),
                            (b"cache-control", b"no-store")]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _secret(workspace: Path) -> str:
    """The session-signing key, kept in the workspace (mode 0600) so a restart keeps people logged in."""
    path = workspace / SECRET_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    workspace.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


# -- helpers the views share ---------------------------------------------------------------

def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def db(request: Request, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a blocking store call off the event loop."""
    return await run_in_threadpool(fn, store_of(request), *args, **kwargs)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def current_user(request: Request) -> Reviewer:
    """The logged-in reviewer (re-read, so a removed account stops working at once)."""
    name = request.session.get("user")
    if not isinstance(name, str):
        raise LoginRequired
    user: Reviewer | None = await db(request, get_reviewer, name)
    if user is None:
        request.session.clear()
        raise LoginRequired
    return user


async def read_form(request: Request) -> dict[str, list[str]]:
    """The posted form, checked: size (413), encoding (400), CSRF token (403). Nothing is written before."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise HTTPException(415, "send the form as application/x-www-form-urlencoded")
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise HTTPException(413, f"the form is too large (at most {MAX_BODY // 1024} KB)")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise HTTPException(413, f"the form is too large (at most {MAX_BODY // 1024} KB)")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body),
                          max_num_fields=2000)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, "the form could not be read") from None
    form: dict[str, list[str]] = {}
    for key, value in pairs:
        form.setdefault(key, []).append(value)
    sent = form.get("csrf", [""])[0]
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not secrets.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(403, "the form's security token is missing or out of date: reload the page and retry")
    return form


def field(form: dict[str, list[str]], name: str, *, required: bool = True) -> str:
    values = form.get(name)
    if not values:
        if required:
            raise HTTPException(400, f"the form has no {name!r} field")
        return ""
    return values[0]


def int_field(form: dict[str, list[str]], name: str) -> int:
    value = field(form, name)
    if not value.isdigit() or len(value) > 12:
        raise HTTPException(400, f"{name!r} must be a whole number")
    return int(value)


def filter_from(params: Any) -> QueueFilter:
    """A queue filter from query parameters (or a form); bad values are a 400."""
    get: Callable[[str], str] = lambda k: str(params.get(k, "") or "").strip()  # noqa: E731
    scores: dict[str, float | None] = {}
    for key in ("min_score", "max_score"):
        raw = get(key)
        try:
            scores[key] = float(raw) if raw else None
        except ValueError:
            raise HTTPException(400, f"{key} must be a number") from None
    status = get("status") if "status" in params else "pending"
    if status == "any":
        status = ""
    if status and status not in STATUSES:
        raise HTTPException(400, f"status must be one of {', '.join(STATUSES)} or any")
    return QueueFilter(suite=get("suite") or None, run_id=get("run_id") or None, status=status or None,
                       generator=get("generator") or None, flag=get("flag") or None, reviewer=get("reviewer") or None,
                       cluster=get("cluster") or None, min_score=scores["min_score"], max_score=scores["max_score"])


def filter_query(flt: QueueFilter) -> str:
    """The query string that rebuilds `flt` (always re-encoded from parsed values: never echoed raw)."""
    pairs = [(k, v) for k in _FILTER_KEYS if k != "status" and (v := getattr(flt, k)) is not None]
    pairs.append(("status", flt.status or "any"))
    return urlencode([(k, str(v)) for k, v in pairs])


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    base = {"csrf": csrf_token(request), "reasons": REJECT_REASONS, "sorts": SORTS,
            "user": request.scope.get("review_user")}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


def page(view: Callable[[Request, Reviewer], Awaitable[Response]], *, admin: bool = False
         ) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a view: login required (GET → login page, POST → 403), admin-only where asked."""
    async def endpoint(request: Request) -> Response:
        user = await current_user(request)
        if admin and not user.is_admin:
            raise HTTPException(403, "this page is for admins")
        request.scope["review_user"] = user
        return await view(request, user)

    return endpoint


# -- errors --------------------------------------------------------------------------------

async def _login_required(request: Request, exc: Exception) -> Response:
    if request.method == "GET":
        return RedirectResponse(f"/login?{urlencode({'next': request.url.path})}", status_code=303)
    return Response("log in first", status_code=403, media_type="text/plain")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return render(request, "error.html", {"status": exc.status_code, "message": exc.detail},
                  status_code=exc.status_code)


async def _db_busy(request: Request, exc: Exception) -> Response:
    if "locked" not in str(exc) and "busy" not in str(exc):
        raise exc
    message = ("The workspace database is busy (a `benchsmith run` is writing to it). Nothing was saved: "
               "wait a moment and try again.")
    response = render(request, "error.html", {"status": 503, "message": message}, status_code=503)
    response.headers["retry-after"] = "5"
    return response


def _lifespan(store: Store, checker: EditChecker | None) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if checker is not None:
            # Load the embedding model beside the first requests, not in the first edit's.
            threading.Thread(target=checker.warm, name="review-embedder-warmup", daemon=True).start()
        yield
        store.close()

    return lifespan


def create_app(workspace: Path, db_url: str | None = None, *, warm_embedder: bool = False,
               embedder_factory: Callable[[], Embedder] | None = None,
               busy_timeout_s: float = WRITE_WAIT_S) -> Starlette:
    """The review app over a workspace's database (or `db_url`).

    Edits are re-checked (`recheck.EditChecker`) with the workspace's embedder, or the one
    `embedder_factory` makes; `warm_embedder` loads it in the background at start-up.
    """
    from benchsmith.review import views
    from benchsmith.review.admin_views import agreement_page, resolve_post

    workspace = Path(workspace)
    store = Store.open(workspace, db_url, busy_timeout_s=busy_timeout_s)
    checker = EditChecker(store, workspace, embedder_factory)
    env = Environment(loader=PackageLoader("benchsmith.review", "templates"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    routes = [
        Route("/", views.home, methods=["GET"]),
        Route("/login", views.login_page, methods=["GET"]),
        Route("/login", views.login_post, methods=["POST"]),
        Route("/logout", page(views.logout), methods=["POST"]),
        Route("/queue", page(views.queue_page), methods=["GET"]),
        Route("/queue/next", page(views.queue_next), methods=["GET"]),
        Route("/queue/bulk", page(views.bulk_post), methods=["POST"]),
        Route("/items/{item_id}", page(views.item_page), methods=["GET"]),
        Route("/items/{item_id}/decide", page(views.decide_post), methods=["POST"]),
        Route("/admin", page(views.admin_page, admin=True), methods=["GET"]),
        Route("/admin/reviewers", page(views.admin_add_reviewer, admin=True), methods=["POST"]),
        Route("/admin/agreement", page(agreement_page, admin=True), methods=["GET"]),
        Route("/admin/conflicts/{entry_id:int}/resolve", page(resolve_post, admin=True),
              methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=_STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders),
                    Middleware(SessionMiddleware, secret_key=_secret(workspace), session_cookie=SESSION_COOKIE,
                               same_site="strict", https_only=False, max_age=12 * 3600)],
        exception_handlers={LoginRequired: _login_required, HTTPException: _http_error,
                            OperationalError: _db_busy},
        lifespan=_lifespan(store, checker if warm_embedder else None),
    )
    app.state.store = store
    app.state.checker = checker
    app.state.templates = Jinja2Templates(env=env)
    app.state.workspace = workspace
    return app


def serve(workspace: Path, host: str = "127.0.0.1", port: int = 8000, db_url: str | None = None) -> None:
    """Run the app on uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(workspace, db_url, warm_embedder=True), host=host, port=port, log_level="warning",
                access_log=False)
