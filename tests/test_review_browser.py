"""The review app in Debian's headless Chromium: keyboard-only review, untrusted text never runs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import playwright.sync_api as playwright_api
import pytest

from benchsmith.review import QueueFilter, add_reviewer, enqueue, list_entries, open_review_store
from benchsmith.review.testing import ReviewServer, sample_items

CHROMIUM = "/usr/bin/chromium"
pytestmark = [pytest.mark.slow]


@pytest.fixture(autouse=True)
def _chromium() -> None:
    # Not a skip: the README's test command installs it, so a missing browser is a broken setup.
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: the test command runs apt-get install -y chromium"


def test_keyboard_only_review_in_chromium(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    store = open_review_store(ws)
    run = store.start_run(suite="demo", spec_hash="h", run_id="run-1")
    items = sample_items(5, hostile=True)
    enqueue(store, items, run)
    add_reviewer(store, "alice", "alice-password", "admin")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with ReviewServer(ws) as server, playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        page.goto(f"{server.url}/queue")
        assert page.url.startswith(f"{server.url}/login")
        page.keyboard.type("alice")  # the name field has autofocus
        page.keyboard.press("Tab")
        page.keyboard.type("alice-password")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{server.url}/queue")
        page.screenshot(path=str(shots / "queue.png"), full_page=True)

        page.keyboard.press("?")
        assert page.locator("#shortcuts").is_visible()
        page.keyboard.press("Escape")
        assert not page.locator("#shortcuts").is_visible()

        page.keyboard.press("f")  # focus view: the most uncertain item, claimed for alice
        page.wait_for_url("**/items/**")
        first = page.url.split("/items/")[1].split("?")[0]
        page.keyboard.press("a")
        page.wait_for_url(lambda url: f"/items/{first}" not in url and "/items/" in url)
        second = page.url.split("/items/")[1].split("?")[0]
        page.keyboard.press("r")
        page.keyboard.press("1")  # the first reason code; focus moves to the comment
        page.keyboard.type("answer is off by one")
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: f"/items/{second}" not in url and "/items/" in url)

        hostile = items[0].id  # rendered as text, never executed (and the CSP forbids inline script anyway)
        page.goto(f"{server.url}/items/{hostile}?status=any")
        assert page.evaluate("window.__pwned") is None
        assert "<script>window.__pwned = 1</script>" in page.locator("#prompt").inner_text()
        assert page.locator("#prompt a, #prompt img, #prompt script").count() == 0
        cited = items[2].id
        page.goto(f"{server.url}/items/{cited}?status=any")
        assert page.locator("mark").first.inner_text() == "holds 202 litres"
        page.screenshot(path=str(shots / "item.png"), full_page=True)
        browser.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors

    accepted = list_entries(store, QueueFilter(status="accepted")).entries
    rejected = list_entries(store, QueueFilter(status="rejected")).entries
    assert [e.item_id for e in accepted] == [first] and accepted[0].decided_by == "alice"
    assert [e.item_id for e in rejected] == [second]
    from benchsmith.review.queue import decisions

    [decision] = decisions(store, rejected[0].id)
    assert decision.reason_code == "wrong_answer" and decision.comment == "answer is off by one"
    store.close()
    keep = os.environ.get("BENCHSMITH_REVIEW_SHOTS")  # copy the screenshots somewhere to look at them
    if keep:
        shutil.copytree(shots, keep, dirs_exist_ok=True)
