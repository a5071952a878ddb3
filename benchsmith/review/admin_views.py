"""The admin's agreement view: kappa per reviewer pair and overall, and the conflicts to resolve."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from benchsmith.agreement import strength
from benchsmith.review import conflicts as c
from benchsmith.review import queue as q
from benchsmith.review.accounts import Reviewer
from benchsmith.review.present import pretty
from benchsmith.review.web import db, field, int_field, read_form, render


async def _page(request: Request, *, status_code: int = 200, **extra: Any) -> Response:
    suite = request.query_params.get("suite") or None
    report: c.AgreementReport = await db(request, c.agreement, suite=suite)
    open_conflicts: list[c.Conflict] = await db(request, c.conflicts, suite)
    facets = await db(request, q.facets)
    return render(request, "agreement.html", {
        "report": report, "conflicts": open_conflicts, "suite": suite, "suites": facets["suite"],
        "strength": strength, "pretty": pretty, "notice": request.query_params.get("notice"),
        "error": None, "problems": [], **extra}, status_code=status_code)


async def agreement_page(request: Request, user: Reviewer) -> Response:
    return await _page(request)


async def resolve_post(request: Request, user: Reviewer) -> Response:
    """Resolve one conflict: `pick` (a blind decision's id) or a final edit (`prompt`, `reference_answer`)."""
    form = await read_form(request)
    entry_id = request.path_params["entry_id"]
    version = int_field(form, "version")
    how = field(form, "how")
    pick: int | None = None
    edits: dict[str, Any] | None = None
    if how == "pick":
        pick = int_field(form, "pick")
    elif how == "edit":
        edits = {"prompt": field(form, "prompt"), "reference_answer": field(form, "reference_answer")}
        if "choices" in form:
            edits["choices"] = field(form, "choices").splitlines()
    else:
        raise HTTPException(400, "how must be pick or edit")
    try:
        entry: q.Entry = await db(request, c.resolve, entry_id, user.name, version, pick=pick, edits=edits,
                                  comment=field(form, "comment", required=False) or None,
                                  check=request.app.state.checker)
    except q.EntryNotFound:
        raise HTTPException(404, f"no queue entry {entry_id}") from None
    except q.ConflictError as err:
        return await _page(request, status_code=409, error=f"{err}. Nothing was saved: the page shows it as it is.")
    except q.EditRejected as err:
        return await _page(request, status_code=422, error="The final edit was not saved: it fails these checks.",
                           problems=err.problems)
    except q.ReviewError as err:
        return await _page(request, status_code=422, error=str(err))
    back = field(form, "back", required=False)
    notice = f"resolved {entry.item_id}: {entry.status}"
    query = urlencode({**({"suite": back} if back else {}), "notice": notice})
    return RedirectResponse(f"/admin/agreement?{query}", status_code=303)
