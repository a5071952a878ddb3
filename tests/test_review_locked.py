"""The review app while a `benchsmith run` holds the SQLite workspace database's write lock.

Another process opens the same workspace with the store and keeps a write transaction open, as a
run saving its items does. Pages keep being served at once (WAL: readers never wait for the
writer); a decision waits for the lock up to the app's busy timeout and is saved when the run
commits in time, or is answered 503 "the database is busy", with nothing written, when it does
not, and the same form saves once the run is done. SQLite only: PostgreSQL locks rows, not files.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from benchsmith.process import free_port
from benchsmith.review import add_reviewer, enqueue, get_entry, open_review_store
from benchsmith.review.testing import csrf, review_writes, sample_items
from benchsmith.review.web import create_app
from benchsmith.store import Store

BUSY_TIMEOUT_S = 3.0  # the app's wait for the lock: long enough that a page slowed by a busy CPU is not mistaken for a wait

# A run's write, in its own process: the store's session, one row flushed (the write lock is
# taken), then held until a line arrives on stdin, then committed.
HOLDER = r"""
import sys
from datetime import UTC, datetime
from benchsmith.store import RunRow, Store

store = Store.open(sys.argv[1])
with store.session() as s:
    s.add(RunRow(id="run-writing", suite="demo", spec_hash="h", status="running", started_at=datetime.now(UTC)))
    s.flush()
    print("locked", flush=True)
    sys.stdin.readline()
print("committed", flush=True)
store.close()
"""


class RunHoldingTheLock:
    """A child process inside a write transaction on the workspace database until `release()`."""

    def __init__(self, workspace: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(workspace)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.strip() == "locked", self.proc.stderr.read() if self.proc.stderr else line

    def release(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "committed"
        assert self.proc.wait(timeout=30) == 0


@dataclass
class App:
    url: str
    store: Store
    workspace: Path
    item_ids: list[str]

    def login(self) -> httpx.Client:
        c = httpx.Client(base_url=self.url, timeout=30)
        r = c.post("/login", data={"csrf": csrf(c.get("/login")), "name": "alice", "password": "alice-password"})
        assert r.status_code == 303, r.text
        return c

    def writes(self) -> int:
        return review_writes(self.store)


def accept_form(page: httpx.Response) -> dict[str, str]:
    block = re.search(r'<form[^>]*id="accept-form".*?</form>', page.text, re.S)
    assert block, page.text[:500]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', block.group(0)))


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    ws = tmp_path / "ws"
    store = open_review_store(ws)
    run = store.start_run(suite="demo", spec_hash="h", run_id="run-1")
    items = sample_items(4)
    enqueue(store, items, run)
    add_reviewer(store, "alice", "alice-password", "admin")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(ws, busy_timeout_s=BUSY_TIMEOUT_S), host="127.0.0.1",
                                           port=port, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the review server did not start"
        time.sleep(0.02)
    yield App(f"http://127.0.0.1:{port}", store, ws, [it.id for it in items])
    server.should_exit = True
    thread.join(timeout=10)
    store.close()


def test_pages_are_served_at_once_while_a_run_writes(app: App) -> None:
    c = app.login()
    run = RunHoldingTheLock(app.workspace)
    try:
        for path in ("/queue", f"/items/{app.item_ids[0]}", "/queue?status=any&sort=score&page=1"):
            started = time.monotonic()
            r = c.get(path)
            elapsed = time.monotonic() - started
            assert r.status_code == 200, (path, r.text[:300])
            assert elapsed < BUSY_TIMEOUT_S / 2, f"{path} waited {elapsed:.2f} s for the writer"  # no lock wait
        assert "4</strong> remaining" in c.get("/queue").text
    finally:
        run.release()


def test_a_decision_waits_for_a_short_write_and_is_saved(app: App) -> None:
    c = app.login()
    item = app.item_ids[1]
    form = accept_form(c.get(f"/items/{item}"))
    run = RunHoldingTheLock(app.workspace)
    result: dict[str, httpx.Response] = {}
    poster = threading.Thread(target=lambda: result.update(r=c.post(f"/items/{item}/decide", data=form)))
    started = time.monotonic()
    poster.start()
    time.sleep(BUSY_TIMEOUT_S / 4)
    assert poster.is_alive(), "the save did not wait for the lock"
    run.release()
    poster.join(timeout=30)
    assert result["r"].status_code == 303, result["r"].text[:500]
    assert time.monotonic() - started < BUSY_TIMEOUT_S
    assert get_entry(app.store, item).status == "accepted"
    assert app.store.run("run-writing").status == "running"  # the run's write is kept too


def test_a_decision_that_cannot_wait_is_503_writes_nothing_and_saves_on_retry(app: App) -> None:
    c = app.login()
    item = app.item_ids[2]
    form = accept_form(c.get(f"/items/{item}"))
    before = app.writes()
    run = RunHoldingTheLock(app.workspace)
    try:
        started = time.monotonic()
        r = c.post(f"/items/{item}/decide", data=form)
        waited = time.monotonic() - started
    finally:
        run.release()
    assert r.status_code == 503, r.text[:500]
    assert "database is busy" in r.text and "benchsmith run" in r.text and "try again" in r.text
    assert r.headers["retry-after"] == "5" and r.headers["content-type"].startswith("text/html")
    assert BUSY_TIMEOUT_S * 0.8 <= waited < BUSY_TIMEOUT_S + 5  # it waited for the lock, then gave up
    entry = get_entry(app.store, item)
    assert entry.status == "pending" and entry.version == 1 and app.writes() == before  # nothing written
    again = c.post(f"/items/{item}/decide", data=form)  # the same form, once the run committed
    assert again.status_code == 303
    assert get_entry(app.store, item).status == "accepted" and app.writes() == before + 2
