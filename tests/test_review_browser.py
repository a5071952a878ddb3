"""The review app in Debian's headless Chromium: keyboard-only review, untrusted text never runs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import playwright.sync_api as playwright_api
import pytest

from benchsmith.embeddings import Embedder
from benchsmith.records import Item, Lineage, Verdict
from benchsmith.review import QueueFilter, add_reviewer, decide, enqueue, get_entry, list_entries, open_review_store
from benchsmith.review.routing import DOUBLE_KEY
from benchsmith.review.testing import ReviewServer, sample_items

CHROMIUM = "/usr/bin/chromium"
pytestmark = [pytest.mark.slow]


@pytest.fixture(autouse=True)
def _chromium() -> None:
    # Not a skip: the README's test command installs it, so a missing browser is a broken setup.
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: the test command runs apt-get install -y chromium"


def _wait_for_autofocus(page: playwright_api.Page) -> None:
    # Chromium applies `autofocus` after load; on a loaded machine keys typed before then go
    # nowhere and the login fails. Waiting (not clicking) keeps the test keyboard-only and
    # fails if the login form loses its autofocus.
    playwright_api.expect(page.locator("#name")).to_be_focused(timeout=30_000)


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
        _wait_for_autofocus(page)
        page.keyboard.type("alice")
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


# Word problems as a generator writes them, one a paraphrase of another (a near-duplicate neighbour).
PROBLEMS = [
    ("A bakery packs muffins in boxes of 6. It baked 100 muffins. How many full boxes can it fill, and how many "
     "muffins are left over?", "16 boxes, 4 muffins left over"),
    ("A bakery puts its muffins into boxes of six. After baking 100 muffins, how many boxes are full and how many "
     "muffins remain?", "16 full boxes and 4 muffins"),
    ("A cyclist rides 18 km in 45 minutes. At the same pace, how long does she take to ride 30 km?", "75 minutes"),
    ("A soup recipe for 4 people uses 300 g of lentils. How many grams are needed for 10 people?", "750 g"),
    ("One can of paint covers 12 square metres. A wall is 5 m by 3 m and needs two coats. How many cans are "
     "needed?", "3 cans"),
    ("A train leaves at 9:10 and arrives at 11:45. How long is the journey in minutes?", "155 minutes"),
    ("Write a function that returns the second largest distinct number in a list.", "Sort the distinct values and "
     "return the second from the end; None if there are fewer than two."),
    ("A rectangle has a perimeter of 30 cm and one side of 6 cm. What is its area?", "54 square centimetres"),
]


def _problem_items() -> list[Item]:
    items = []
    for i, (prompt, answer) in enumerate(PROBLEMS):
        score = [3.5, 3.75, 4.25, 3.5, 3.0, 4.5, 3.25, 4.0][i]
        verdicts = [Verdict(stage="rules", passed=True),
                    Verdict(stage="llm_judge", passed=True, score=score, ranks_quality=True,
                            reason=None, details={"rationale": "clear, but check the arithmetic"})]
        items.append(Item.create(prompt=prompt, reference_answer=answer, verdicts=verdicts,
                                 lineage=Lineage(generator="evolve", operator="concretize", model="fake-model",
                                                 seed_id=f"seed-{i}"),
                                 metadata={DOUBLE_KEY: True} if i in (0, 2, 3, 4, 5) else {}))
    return items


def test_admin_resolves_a_conflict_in_chromium(tmp_path: Path, embedder: Embedder) -> None:
    """Two reviewers disagree blind on an item; the admin resolves it in the agreement view. Screenshots of
    the queue, an item page with its neighbours and the agreement view land in tmp_path/screenshots."""
    ws = tmp_path / "ws"
    store = open_review_store(ws)
    run = store.start_run(suite="reasoning-mini", spec_hash="h", run_id="20261103T101500-demo")
    items = _problem_items()
    enqueue(store, items[:6], run, embedder=embedder, pool=items)  # neighbours among all eight
    # Four double-review items both reviewers already decided (they agree on all four but one).
    for i, (first, second) in {2: ("accept", "accept"), 3: ("accept", "accept"), 4: ("reject", "reject"),
                               5: ("accept", "reject")}.items():
        for name, decision in (("alice", first), ("bob", second)):
            e = get_entry(store, items[i].id)
            decide(store, e.id, name, decision, e.version, reason_code="trivial" if decision == "reject" else None)
    add_reviewer(store, "alice", "alice-password", "admin")
    add_reviewer(store, "bob", "bob-password", "reviewer")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    embedder.encode(["load the model before the first request"])
    with ReviewServer(ws, embedder_factory=lambda: embedder) as server, playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])

        def login(name: str) -> playwright_api.Page:
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.goto(f"{server.url}/login")
            _wait_for_autofocus(page)
            page.keyboard.type(name)
            page.keyboard.press("Tab")
            page.keyboard.type(f"{name}-password")
            page.keyboard.press("Enter")
            page.wait_for_url(f"{server.url}/queue")
            return page

        alice, bob = login("alice"), login("bob")
        alice.goto(f"{server.url}/queue?status=any")
        alice.screenshot(path=str(shots / "review-queue.png"), full_page=True)
        assert alice.locator("select[name=cluster] option").count() > 1  # the cluster filter has clusters

        conflict = items[0].id
        alice.goto(f"{server.url}/items/{conflict}")
        rows = alice.locator("#neighbours tbody tr")
        assert rows.count() == 5 and items[1].id in rows.first.inner_text()  # its paraphrase comes first
        alice.screenshot(path=str(shots / "review-item.png"), full_page=True)
        alice.keyboard.press("a")  # the first blind review
        alice.wait_for_url(lambda url: f"/items/{conflict}" not in url)

        bob.goto(f"{server.url}/items/{conflict}")
        assert "reviewed twice, blind" in bob.locator("#blind").inner_text()
        assert "alice" not in bob.locator("main").inner_text()  # nothing of the first review shows
        bob.keyboard.press("r")
        bob.keyboard.press("1")
        bob.keyboard.type("the remainder is wrong")
        bob.keyboard.press("Enter")
        bob.wait_for_url(lambda url: f"/items/{conflict}" not in url)
        assert get_entry(store, conflict).status == "conflict"

        alice.goto(f"{server.url}/admin/agreement")
        assert alice.locator("#double-reviewed").inner_text() == "5"
        assert alice.locator("#open-conflicts").inner_text() == "2"
        assert alice.locator(f"#conflict-{get_entry(store, conflict).id}").is_visible()
        alice.screenshot(path=str(shots / "review-agreement.png"), full_page=True)
        alice.locator(f"#conflict-{get_entry(store, conflict).id}").get_by_role(
            "button", name="Use bob's decision").click()
        alice.wait_for_url("**/admin/agreement?**")
        assert "resolved" in alice.locator("#notice").inner_text()
        assert alice.locator("#open-conflicts").inner_text() == "1"
        browser.close()
    resolved = get_entry(store, conflict)
    assert resolved.status == "rejected" and resolved.decided_by == "alice"
    store.close()
    for name in ("review-queue.png", "review-item.png", "review-agreement.png"):
        assert (shots / name).stat().st_size > 10_000, name
    keep = os.environ.get("BENCHSMITH_REVIEW_SHOTS")  # e.g. docs/img, to refresh the README's screenshots
    if keep:
        shutil.copytree(shots, keep, dirs_exist_ok=True)
