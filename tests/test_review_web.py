"""The review web app over real HTTP: a uvicorn server on a free port, driven with httpx."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from benchsmith.embeddings import Embedder
from benchsmith.review import add_reviewer, enqueue, get_entry, list_entries, open_review_store
from benchsmith.review.testing import ReviewServer, csrf, form_of, review_writes, sample_items
from benchsmith.store import Store

PASSWORDS = {"alice": "alice-password", "bob": "bob-password"}


@dataclass
class App:
    url: str
    store: Store
    item_ids: list[str]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def login(self, name: str) -> httpx.Client:
        c = self.client()
        r = c.post("/login", data={"csrf": csrf(c.get("/login")), "name": name, "password": PASSWORDS[name]})
        assert r.status_code == 303, r.text
        return c

    def writes(self) -> int:
        return review_writes(self.store)


@pytest.fixture
def app(tmp_path: Path, embedder: Embedder) -> Iterator[App]:
    ws = tmp_path / "ws"
    store = open_review_store(ws)
    run = store.start_run(suite="demo", spec_hash="h", run_id="run-1")
    items = sample_items(6, hostile=True)
    enqueue(store, items, run)
    add_reviewer(store, "alice", PASSWORDS["alice"], "admin")
    add_reviewer(store, "bob", PASSWORDS["bob"], "reviewer")
    embedder.encode(["load the model before the first request"])  # `benchsmith review` warms it at start
    with ReviewServer(ws, embedder_factory=lambda: embedder) as server:  # edits are re-checked with it
        yield App(server.url, store, [it.id for it in items])
    store.close()


def test_every_page_needs_login_and_cookies_are_strict(app: App) -> None:
    c = app.client()
    for path in ("/queue", "/queue/next", f"/items/{app.item_ids[0]}", "/admin"):
        r = c.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
    token = csrf(c.get("/login"))
    for path in ("/queue/bulk", f"/items/{app.item_ids[0]}/decide", "/logout", "/admin/reviewers"):
        assert c.post(path, data={"csrf": token, "decision": "accept", "version": "1"}).status_code == 403, path
    login = c.post("/login", data={"csrf": token, "name": "bob", "password": PASSWORDS["bob"], "next": "//evil.example"})
    assert login.status_code == 303 and login.headers["location"] == "/queue"  # no open redirect
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    r = c.get("/queue")
    assert r.status_code == 200 and "6</strong> remaining" in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert app.writes() == 3  # enqueue and two reviewer.add audit rows: nothing from the refused posts
    assert c.get("/admin").status_code == 403  # reviewers are not admins
    assert c.post("/admin/reviewers", data={"csrf": csrf(r), "name": "eve", "password": "long enough",
                                            "role": "admin"}).status_code == 403


def test_wrong_passwords_are_slowed_down(app: App) -> None:
    c = app.client()
    token = csrf(c.get("/login"))
    codes = [c.post("/login", data={"csrf": token, "name": "bob", "password": "nope"}).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    r = c.post("/login", data={"csrf": token, "name": "bob", "password": PASSWORDS["bob"]})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


def test_generated_markup_is_shown_as_text(app: App) -> None:
    c = app.login("alice")
    r = c.get(f"/items/{app.item_ids[0]}")
    assert r.status_code == 200
    assert "<script>window" not in r.text and "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in r.text
    assert "<img src=x" not in r.text and 'href="javascript:' not in r.text
    assert "<mark>" not in c.get(f"/items/{app.item_ids[0]}").text.split("Source and cited")[0]
    cited = c.get(f"/items/{app.item_ids[2]}")  # an item with a passage: its quote is highlighted in it
    assert "<mark>holds 202 litres</mark>" in cited.text
    queue = c.get("/queue")
    assert "<script>window" not in queue.text and "&lt;script&gt;" in queue.text


def test_bad_requests_are_clear_4xx_and_write_nothing(app: App) -> None:
    c = app.login("alice")
    item = app.item_ids[1]
    page = c.get(f"/items/{item}")
    hidden = form_of(page, "edit-form")
    before = app.writes()
    assert c.get("/items/0000000000000000").status_code == 404
    assert c.post("/items/0000000000000000/decide", data={**hidden}).status_code == 404
    assert c.post(f"/items/{item}/decide", data={**hidden, "decision": "burn"}).status_code == 400
    assert c.post(f"/items/{item}/decide", data={**hidden, "version": "x"}).status_code == 400
    no_version = {k: v for k, v in hidden.items() if k != "version"}
    assert c.post(f"/items/{item}/decide", data=no_version).status_code == 400
    assert c.post(f"/items/{item}/decide", content=b"\xff\xfe=\xff",
                  headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 400
    assert c.post(f"/items/{item}/decide", json={"decision": "accept"}).status_code == 415
    huge = c.post(f"/items/{item}/decide", data={**hidden, "prompt": "x" * 1_000_000, "reference_answer": "y"})
    assert huge.status_code == 413
    too_long = c.post(f"/items/{item}/decide", data={**hidden, "prompt": "x" * 30_000, "reference_answer": "y"})
    assert too_long.status_code == 422 and "too long" in too_long.text
    reject = form_of(page, "reject-form")
    assert c.post(f"/items/{item}/decide", data={**reject, "reason_code": ""}).status_code == 422
    stale = {**form_of(page, "accept-form"), "csrf": "not-the-token"}
    assert c.post(f"/items/{item}/decide", data=stale).status_code == 403
    assert c.get("/queue?min_score=abc").status_code == 400
    assert c.get("/queue?page=-1").status_code == 400
    assert app.writes() == before
    assert get_entry(app.store, item).status == "pending"


def test_csrf_token_from_an_earlier_session_is_refused(app: App) -> None:
    c = app.login("bob")
    page = c.get(f"/items/{app.item_ids[1]}")
    old = form_of(page, "accept-form")
    assert c.post("/logout", data={"csrf": old["csrf"]}).status_code == 303
    c2 = app.login("bob")  # a new session: a new token
    before = app.writes()
    r = c2.post(f"/items/{app.item_ids[1]}/decide", data=old)
    assert r.status_code == 403 and "security token" in r.text
    assert app.writes() == before


def test_accept_reject_edit_and_bulk_over_http(app: App) -> None:
    c = app.login("bob")
    first = c.get("/queue/next")
    assert first.status_code == 303
    page = c.get(first.headers["location"])
    item_id = re.search(r"/items/([0-9a-f]{16})/decide", page.text).group(1)  # type: ignore[union-attr]
    r = c.post(f"/items/{item_id}/decide", data=form_of(page, "accept-form"))
    assert r.status_code == 303 and r.headers["location"].startswith("/queue/next")
    assert get_entry(app.store, item_id).status == "accepted"

    other = app.item_ids[3]
    page = c.get(f"/items/{other}")
    r = c.post(f"/items/{other}/decide", data={**form_of(page, "edit-form"), "prompt": "What is a clearer question?",
                                               "reference_answer": "16.9 minutes", "comment": "wording"})
    assert r.status_code == 303
    entry = get_entry(app.store, other)
    assert entry.status == "edited" and entry.edited_item and entry.edited_item.prompt == "What is a clearer question?"
    assert "What is a clearer question?" in c.get(f"/items/{other}").text

    queue = c.get("/queue")
    boxes = re.findall(r'name="entry" value="(\d+:\d+)"', queue.text)
    assert len(boxes) == 4
    r = c.post("/queue/bulk", data={"csrf": csrf(queue), "decision": "reject", "reason_code": "duplicate",
                                    "entry": boxes[:2], "back": "status=pending"})
    assert r.status_code == 303 and "2+rejected" in r.headers["location"]
    assert list_entries(app.store).remaining == 2


def test_two_reviewers_saving_at_once_one_wins_other_sees_new_version(app: App) -> None:
    alice, bob = app.login("alice"), app.login("bob")
    item = app.item_ids[2]
    page_a, page_b = alice.get(f"/items/{item}"), bob.get(f"/items/{item}")
    won = alice.post(f"/items/{item}/decide", data=form_of(page_a, "accept-form"))
    assert won.status_code == 303
    lost = bob.post(f"/items/{item}/decide", data={**form_of(page_b, "reject-form"), "reason_code": "ambiguous"})
    assert lost.status_code == 409
    assert "changed since you opened it" in lost.text and "accepted by alice" in lost.text
    assert form_of(lost, "accept-form")["version"] == "2"  # the page shows the new version
    entry = get_entry(app.store, item)
    assert entry.status == "accepted" and entry.decided_by == "alice" and entry.version == 2


def test_two_reviewers_asking_for_next_get_different_items(app: App) -> None:
    alice, bob = app.login("alice"), app.login("bob")
    a = alice.get("/queue/next").headers["location"]
    b = bob.get("/queue/next").headers["location"]
    assert a.split("?")[0] != b.split("?")[0]
    assert alice.get("/queue/next").headers["location"] == a  # alice still holds hers


def test_admin_adds_a_reviewer(app: App) -> None:
    c = app.login("alice")
    page = c.get("/admin")
    assert page.status_code == 200 and "reviewer.add" in page.text
    r = c.post("/admin/reviewers", data={"csrf": csrf(page), "name": "carol", "password": "carol-password",
                                         "role": "reviewer"})
    assert r.status_code == 303
    assert c.post("/admin/reviewers", data={"csrf": csrf(page), "name": "carol", "password": "carol-password",
                                            "role": "reviewer"}).status_code == 422
