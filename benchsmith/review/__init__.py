"""The review queue: reviewers accept, reject or edit generated items in a web app.

`db` holds the tables, `accounts` the reviewer accounts, `queue` the queue (enqueue, claim,
list; no HTTP), `deciding` the decisions (blind double review included), `conflicts` agreement
and conflict resolution, `recheck` the re-check of edits, `neighbours` the neighbours and
clusters stored at enqueue, `interchange` JSONL export/import, `web`/`views`/`admin_views` the
Starlette app. Importing this package registers the tables on the store's
`Base`, so `Store.open` creates them.
"""

from __future__ import annotations

from benchsmith.review.accounts import (
    AccountError,
    LoginThrottled,
    Reviewer,
    add_reviewer,
    get_reviewer,
    list_reviewers,
    verify_login,
)
from benchsmith.review.db import open_review_store
from benchsmith.review.deciding import bulk_decide, decide
from benchsmith.review.queue import (
    REJECT_REASONS,
    BulkResult,
    ConflictError,
    EditRejected,
    Entry,
    EntryNotFound,
    Page,
    QueueFilter,
    ReviewError,
    enqueue,
    get_entry,
    list_entries,
    next_entry,
    release_claims,
    uncertainty,
)

__all__ = [
    "REJECT_REASONS", "AccountError", "BulkResult", "ConflictError", "EditRejected", "Entry", "EntryNotFound",
    "LoginThrottled",
    "Page", "QueueFilter", "ReviewError", "Reviewer", "add_reviewer", "bulk_decide", "create_app", "decide",
    "enqueue", "get_entry", "get_reviewer", "list_entries", "list_reviewers", "next_entry", "open_review_store",
    "release_claims", "serve", "uncertainty", "verify_login",
]


def __getattr__(name: str) -> object:
    # The web app (Starlette, Jinja2) loads only when asked for: the pipeline enqueues without it.
    if name in ("create_app", "serve"):
        from benchsmith.review import web

        return getattr(web, name)
    raise AttributeError(name)
