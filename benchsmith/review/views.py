"""The pages and form handlers of the review app (security and plumbing are in `web`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from benchsmith.review import deciding
from benchsmith.review import queue as q
from benchsmith.review.accounts import (
    AccountError,
    LoginThrottled,
    Reviewer,
    add_reviewer,
    list_reviewers,
    verify_login,
)
from benchsmith.review.db import ROLES, STATUSES, AuditRow
from benchsmith.review.present import passages, pretty
from benchsmith.review.web import db, field, filter_from, filter_query, int_field, read_form, render
from benchsmith.spec import DedupSpec
from benchsmith.store import Store

PER_PAGE = 50


def _safe_next(target: str) -> str:
    # Only a local path: "//evil.example" or "https://…" would turn login into an open redirect.
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/queue"


async def home(request: Request) -> Response:
    return RedirectResponse("/queue", status_code=303)


async def login_page(request: Request) -> Response:
    return render(request, "login.html", {"next": _safe_next(request.query_params.get("next", "/queue")),
                                          "error": None})


async def login_post(request: Request) -> Response:
    form = await read_form(request)
    name, password = field(form, "name"), field(form, "password")
    target = _safe_next(field(form, "next", required=False) or "/queue")
    try:
        user: Reviewer | None = await db(request, verify_login, name, password)
    except LoginThrottled as err:
        response = render(request, "login.html", {"next": target, "error": str(err)}, status_code=429)
        response.headers["retry-after"] = str(max(1, round(err.retry_after_s)))
        return response
    if user is None:
        return render(request, "login.html", {"next": target, "error": "wrong name or password"}, status_code=401)
    request.session.clear()  # a fresh session (and CSRF token) on login: no session fixation
    request.session["user"] = user.name
    return RedirectResponse(target, status_code=303)


async def logout(request: Request, user: Reviewer) -> Response:
    await read_form(request)
    await db(request, q.release_claims, user.name)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def queue_page(request: Request, user: Reviewer) -> Response:
    params = request.query_params
    flt = filter_from(params)
    sort = params.get("sort", "priority")
    if sort not in q.SORTS:
        raise HTTPException(400, f"sort must be one of {', '.join(q.SORTS)}")
    raw_page = params.get("page", "1")
    if not raw_page.isdigit() or len(raw_page) > 7:
        raise HTTPException(400, "page must be a whole number")
    result: q.Page = await db(request, q.list_entries, flt, sort=sort, page=int(raw_page), per_page=PER_PAGE)
    facets = await db(request, q.facets)
    fq = filter_query(flt)

    def page_link(n: int) -> str:
        return f"/queue?{fq}&{urlencode({'sort': sort, 'page': n})}"

    return render(request, "queue.html", {
        "page": result, "flt": flt, "sort": sort, "facets": facets, "statuses": ("any", *STATUSES),
        "fq": fq, "prev_link": page_link(result.page - 1) if result.page > 1 else None,
        "next_link": page_link(result.page + 1) if result.page < result.pages else None,
        "notice": params.get("notice"),
    })


async def queue_next(request: Request, user: Reviewer) -> Response:
    """Focus view: claim the next item and open it."""
    flt = filter_from(request.query_params)
    entry: q.Entry | None = await db(request, q.next_entry, user.name, flt)
    fq = filter_query(flt)
    if entry is None:
        return RedirectResponse(f"/queue?{fq}&notice=done", status_code=303)
    return RedirectResponse(f"/items/{entry.item_id}?{urlencode({'suite': entry.suite})}&{fq}", status_code=303)


async def _entry_or_404(request: Request, item_id: str, suite: str | None) -> q.Entry:
    if len(item_id) > 64:
        raise HTTPException(404, "no such item")
    try:
        entry: q.Entry = await db(request, q.get_entry, item_id, suite or None)
    except q.EntryNotFound:
        raise HTTPException(404, f"no queued item {item_id!r}") from None
    return entry


def _item_context(entry: q.Entry, flt: q.QueueFilter, prev_next: tuple[str | None, str | None],
                  history: list[Any], user: Reviewer, queued: set[str]) -> dict[str, Any]:
    item = entry.current_item
    # Blind double review: while the item waits for its reviews, nobody but an admin sees a first
    # review (who gave it, what it decided, its edit).
    hide = entry.blind and not user.is_admin
    return {"entry": entry, "item": item, "original": entry.item, "passages": passages(entry.item),
            "pretty": pretty, "fq": filter_query(flt), "prev_id": prev_next[0], "next_id": prev_next[1],
            "history": [] if hide else history, "error": None, "problems": [], "conflict": None,
            "blind_mine": entry.blind and entry.first_reviewer == user.name,
            "neighbours": entry.neighbours, "queued_ids": queued, "near": DedupSpec().threshold}


def _queued_ids(store: Store, suite: str, ids: list[str]) -> set[str]:
    """Which of `ids` are queued in `suite` (the item page links those neighbours)."""
    if not ids:
        return set()
    from benchsmith.review.db import QueueEntryRow

    with store.session() as s:
        return set(s.scalars(select(QueueEntryRow.item_id).where(QueueEntryRow.suite == suite,
                                                                 QueueEntryRow.item_id.in_(ids))))


async def _render_item(request: Request, entry: q.Entry, flt: q.QueueFilter, user: Reviewer, *,
                       status_code: int = 200, **extra: Any) -> Response:
    prev_next = await db(request, q.adjacent, entry, flt, user.name)
    history = await db(request, q.decisions, entry.id)
    queued = await db(request, _queued_ids, entry.suite, [str(n.get("id")) for n in entry.neighbours])
    return render(request, "item.html", {**_item_context(entry, flt, prev_next, history, user, queued), **extra},
                  status_code=status_code)


async def item_page(request: Request, user: Reviewer) -> Response:
    entry = await _entry_or_404(request, request.path_params["item_id"], request.query_params.get("suite"))
    return await _render_item(request, entry, filter_from(request.query_params), user)


async def decide_post(request: Request, user: Reviewer) -> Response:
    form = await read_form(request)
    entry = await _entry_or_404(request, request.path_params["item_id"], field(form, "suite", required=False))
    decision = field(form, "decision")
    if decision not in ("accept", "reject", "edit"):
        raise HTTPException(400, "decision must be accept, reject or edit")
    version = int_field(form, "version")
    flt = filter_from(dict(_parse(field(form, "back", required=False))))
    edits: dict[str, Any] | None = None
    if decision == "edit":
        edits = {"prompt": field(form, "prompt"), "reference_answer": field(form, "reference_answer")}
        if "choices" in form:
            edits["choices"] = field(form, "choices").splitlines()
    try:
        await db(request, deciding.decide, entry.id, user.name, decision, version,
                 reason_code=field(form, "reason_code", required=False) or None,
                 comment=field(form, "comment", required=False) or None, edits=edits,
                 check=request.app.state.checker)
    except q.ConflictError as err:
        return await _render_item(request, err.current, flt, user, status_code=409, conflict=str(err))
    except q.EditRejected as err:
        # The reviewer's text comes back in the edit form, with why it was not saved.
        return await _render_item(request, entry, flt, user, status_code=422, problems=err.problems,
                                  error="The edit was not saved: it fails these checks. Fix it and save again, "
                                        "or reject the item.", draft=edits)
    except q.ReviewError as err:
        return await _render_item(request, entry, flt, user, status_code=422, error=str(err))
    return RedirectResponse(f"/queue/next?{filter_query(flt)}", status_code=303)


async def bulk_post(request: Request, user: Reviewer) -> Response:
    form = await read_form(request)
    decision = field(form, "decision")
    if decision not in ("accept", "reject"):
        raise HTTPException(400, "bulk decision must be accept or reject")
    versions: dict[int, int] = {}
    for value in form.get("entry", []):
        entry_id, _, version = value.partition(":")
        if not (entry_id.isdigit() and version.isdigit()) or len(value) > 30:
            raise HTTPException(400, "malformed entry selection")
        versions[int(entry_id)] = int(version)
    if not versions:
        raise HTTPException(422, "select at least one item")
    if len(versions) > 1000:
        raise HTTPException(413, "at most 1000 items at once")
    back = field(form, "back", required=False)
    flt = filter_from(dict(_parse(back)))
    try:
        result: q.BulkResult = await db(request, deciding.bulk_decide, versions, user.name, decision,
                                        reason_code=field(form, "reason_code", required=False) or None,
                                        comment=field(form, "comment", required=False) or None)
    except q.EntryNotFound as err:
        raise HTTPException(404, str(err)) from None
    except q.ReviewError as err:
        raise HTTPException(422, str(err)) from None
    notice = f"{len(result.decided)} {decision}ed" + (
        f", {len(result.conflicts)} skipped (changed meanwhile)" if result.conflicts else "")
    return RedirectResponse(f"/queue?{filter_query(flt)}&{urlencode({'notice': notice})}", status_code=303)


def _parse(query: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(query, keep_blank_values=True, max_num_fields=50)
    except ValueError:
        raise HTTPException(400, "malformed filter") from None


async def admin_page(request: Request, user: Reviewer) -> Response:
    reviewers = await db(request, list_reviewers)
    audit = await db(request, _recent_audit)
    return render(request, "admin.html", {"reviewers": reviewers, "audit": audit, "roles": ROLES,
                                          "pretty": pretty, "error": None,
                                          "notice": request.query_params.get("notice")})


def _recent_audit(store: Store, limit: int = 100) -> list[AuditRow]:
    with store.session() as s:
        return list(s.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)))


async def admin_add_reviewer(request: Request, user: Reviewer) -> Response:
    form = await read_form(request)
    try:
        added: Reviewer = await db(request, add_reviewer, field(form, "name"), field(form, "password"),
                                   field(form, "role"), actor=user.name)
    except AccountError as err:
        raise HTTPException(422, str(err)) from None
    return RedirectResponse(f"/admin?{urlencode({'notice': f'added {added.name} ({added.role})'})}", status_code=303)
