"""Blind double review, agreement (kappa), conflicts and their resolution; edits re-checked; neighbours.

Real SQLite workspace database, the bundled MiniLM embedder, and the app over real HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from benchsmith.agreement import cohen_kappa, fleiss_kappa
from benchsmith.embeddings import Embedder
from benchsmith.records import Item
from benchsmith.review import (
    EditRejected,
    QueueFilter,
    ReviewError,
    add_reviewer,
    decide,
    enqueue,
    get_entry,
    list_entries,
    next_entry,
    open_review_store,
)
from benchsmith.review.conflicts import agreement, conflicts, resolve
from benchsmith.review.db import AuditRow, DecisionRow
from benchsmith.review.queue import decisions, facets
from benchsmith.review.recheck import EditChecker
from benchsmith.review.routing import DOUBLE_KEY, route
from benchsmith.review.stats import review_stats
from benchsmith.review.testing import ReviewServer, csrf, form_of, sample_items
from benchsmith.spec import ReviewSpec
from benchsmith.store import Store


def _double(items: list[Item], n: int) -> list[Item]:
    return [it.model_copy(update={"metadata": {**it.metadata, DOUBLE_KEY: True}}) if i < n else it
            for i, it in enumerate(items)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_review_store(tmp_path / "ws")
    yield s
    s.close()


@pytest.fixture
def queued(store: Store) -> list[Item]:
    run = store.start_run(suite="demo", spec_hash="h", run_id="run-1")
    items = _double(sample_items(8), 4)
    enqueue(store, items, run)
    return items


def test_route_marks_a_seeded_share_for_double_review() -> None:
    items = [it.model_copy(update={"verdicts": [v.model_copy(update={"score": 3.2}) if v.stage == "llm_judge" else v
                                                 for v in it.verdicts if v.passed]}) for it in sample_items(20)]
    review = ReviewSpec(enabled=True, band={"llm_judge": (3.0, 3.5)}, double_share=0.25)
    out = route(items, [], review, random_seed=3)
    marked = [it.id for it in out.to_enqueue if it.metadata.get(DOUBLE_KEY)]
    assert len(out.queued) == 20 and len(marked) == 5  # ceil(0.25 * 20)
    assert marked == [it.id for it in route(items, [], review, 3).to_enqueue if it.metadata.get(DOUBLE_KEY)]
    none = route(items, [], review.model_copy(update={"double_share": 0.0}), 3)
    assert not any(it.metadata.get(DOUBLE_KEY) for it in none.to_enqueue)
    assert ReviewSpec().double_share == 0.1  # the documented default


def test_blind_double_review_needs_two_reviewers_and_disagreement_is_a_conflict(store: Store,
                                                                               queued: list[Item]) -> None:
    a, b, c, d = (get_entry(store, it.id) for it in queued[:4])
    assert a.reviews_needed == 2 and get_entry(store, queued[5].id).reviews_needed == 1

    first = decide(store, a.id, "alice", "accept", a.version)
    # The first blind review decides nothing and shows nothing: no decider, still pending.
    assert first.status == "pending" and first.decided_by is None and first.first_reviewer == "alice"
    with pytest.raises(ReviewError, match="second reviewer"):
        decide(store, a.id, "alice", "reject", first.version, reason_code="ambiguous")
    # alice is never handed the item again; bob is.
    served = set()
    while (e := next_entry(store, "alice", skip=list(served))) is not None:
        served.add(e.id)
    assert a.id not in served and len(served) == 7
    assert next_entry(store, "bob", QueueFilter(suite="demo"), skip=[x for x in served if x != a.id]).id == a.id
    agreed = decide(store, a.id, "bob", "accept", get_entry(store, a.item_id).version)
    assert agreed.status == "accepted" and agreed.decided_by == "bob"

    b1 = decide(store, b.id, "alice", "accept", b.version)
    conflict = decide(store, b.id, "bob", "reject", b1.version, reason_code="wrong_answer")
    assert conflict.status == "conflict" and conflict.decided_by is None
    with pytest.raises(ReviewError, match="admin resolves"):
        decide(store, b.id, "carol", "accept", conflict.version)

    edit = {"prompt": "How many minutes does it take to fill 202 litres at 12 litres per minute?"}
    c1 = decide(store, c.id, "alice", "edit", c.version, edits=edit)
    assert c1.edited_item is None  # the first blind edit is not shown on the entry
    same = decide(store, c.id, "bob", "edit", c1.version, edits=edit)
    assert same.status == "edited" and same.edited_item is not None and same.edited_item.prompt == edit["prompt"]

    d1 = decide(store, d.id, "alice", "edit", d.version, edits=edit)
    other = decide(store, d.id, "bob", "edit", d1.version, edits={"prompt": edit["prompt"] + " Round up."})
    assert other.status == "conflict"  # two different edits: the text to publish must be chosen

    report = agreement(store, suite="demo")
    assert report.double_reviewed == 4 and report.conflicts == 2 and report.awaiting_second == 0
    expected = cohen_kappa(["accept", "accept", "edit", "edit"], ["accept", "reject", "edit", "edit"])
    [pair] = report.pairs
    assert pair.key == "alice / bob" and pair.agreement.kappa == pytest.approx(expected.kappa)
    assert report.overall is not None and report.overall.kappa == pytest.approx(
        fleiss_kappa([["accept", "accept"], ["accept", "reject"], ["edit", "edit"], ["edit", "edit"]]).kappa)

    open_ = {cf.entry.id: cf for cf in conflicts(store, "demo")}
    assert set(open_) == {b.id, d.id} and [r.reviewer for r in open_[b.id].decisions] == ["alice", "bob"]
    bobs = next(r for r in open_[b.id].decisions if r.reviewer == "bob")
    settled = resolve(store, b.id, "root", conflict.version, pick=bobs.id, comment="the answer is wrong")
    assert settled.status == "rejected" and settled.decided_by == "root"
    final = resolve(store, d.id, "root", other.version, edits={"prompt": edit["prompt"] + " Answer in minutes."})
    assert final.status == "edited" and final.edited_item is not None
    assert final.edited_item.prompt.endswith("Answer in minutes.")
    with store.session() as s:
        logged = list(s.scalars(select(AuditRow).where(AuditRow.action == "conflict.resolve").order_by(AuditRow.id)))
    assert [r.actor for r in logged] == ["root", "root"]
    assert logged[0].before is not None and logged[0].before["status"] == "conflict"
    assert logged[0].after is not None and logged[0].after["status"] == "rejected"
    after = agreement(store, suite="demo")
    assert after.conflicts == 0 and after.resolved == 2 and after.double_reviewed == 4

    stats = review_stats({"x": "accepted"}, [], [], kappa=after.overall.kappa if after.overall else None,
                         kappa_pairs=after.kappa_by_pair(), double_reviewed=4, conflicts=2)
    facts = stats.report().facts
    assert facts["reviewed twice, blind"] == 4 and "Cohen's kappa alice / bob" in facts
    assert stats.model_dump()["kappa_pairs"] == {"alice / bob": pytest.approx(expected.kappa)}


def test_edits_are_rechecked_by_rules_and_dedup_and_kept_as_a_diff(tmp_path: Path, store: Store,
                                                                   queued: list[Item], embedder: Embedder) -> None:
    check = EditChecker(store, tmp_path / "ws", embedder_factory=lambda: embedder)
    e = get_entry(store, queued[6].id)
    other = queued[7]
    cases = {
        "rules: too_short": {"prompt": "Tank fill?"},
        "rules: no_question": {"prompt": "The tank holds 206 litres and fills at 12 litres per minute."},
        "dedup_exact": {"prompt": other.prompt.upper()},
        "dedup_semantic": {"prompt": other.prompt.replace("how long to fill", "how long does it take to fill")},
    }
    for expected, edits in cases.items():
        with pytest.raises(EditRejected) as err:
            decide(store, e.id, "alice", "edit", e.version, edits=edits, check=check)
        assert any(p.startswith(expected) for p in err.value.problems), (expected, err.value.problems)
    assert decisions(store, e.id) == [] and get_entry(store, e.item_id).version == e.version  # nothing written

    good = "Question 6: how many minutes does it take to fill a 206-litre tank at 12 litres per minute?"
    done = decide(store, e.id, "alice", "edit", e.version, edits={"prompt": good}, check=check)
    assert done.status == "edited" and done.edited_item is not None and done.edited_item.prompt == good
    [row] = decisions(store, e.id)
    assert row.edited_fields == {"prompt": good}
    assert row.diff is not None and f"-{e.item.prompt}" in row.diff and f"+{good}" in row.diff


def test_neighbours_and_cluster_are_stored_at_enqueue(store: Store, embedder: Embedder) -> None:
    run = store.start_run(suite="demo", spec_hash="h", run_id="run-n")
    items = sample_items(10)
    twin = items[3].model_copy(update={"prompt": items[3].prompt.replace("how long", "how much time")})
    twin = Item.create(prompt=twin.prompt, reference_answer=twin.reference_answer, lineage=twin.lineage)
    pool = [*items, twin]
    assert enqueue(store, items[:4], run, embedder=embedder, pool=pool) == 4
    entry = get_entry(store, items[3].id)
    sims = [n["similarity"] for n in entry.neighbours]
    assert len(entry.neighbours) == 5 and sims == sorted(sims, reverse=True)
    assert entry.neighbours[0]["id"] == twin.id and sims[0] > 0.9  # the paraphrase is the nearest
    assert items[3].id not in {n["id"] for n in entry.neighbours}
    assert entry.cluster and entry.cluster in facets(store)["cluster"]
    in_cluster = list_entries(store, QueueFilter(cluster=entry.cluster)).entries
    assert entry.id in {x.id for x in in_cluster} and all(x.cluster == entry.cluster for x in in_cluster)


# -- over HTTP ------------------------------------------------------------------------------------

PASSWORDS = {"alice": "alice-password", "bob": "bob-password", "root": "root-password"}


def test_blind_pages_agreement_view_and_failing_edit_over_http(tmp_path: Path, store: Store, queued: list[Item],
                                                               embedder: Embedder) -> None:
    for name, role in (("alice", "reviewer"), ("bob", "reviewer"), ("root", "admin")):
        add_reviewer(store, name, PASSWORDS[name], role)
    embedder.encode(["load the model before the first request"])
    with ReviewServer(tmp_path / "ws", embedder_factory=lambda: embedder) as server:
        def login(name: str) -> httpx.Client:
            c = httpx.Client(base_url=server.url, timeout=20)
            r = c.post("/login", data={"csrf": csrf(c.get("/login")), "name": name, "password": PASSWORDS[name]})
            assert r.status_code == 303
            return c

        alice, bob, root = login("alice"), login("bob"), login("root")
        item = queued[0].id
        secret = "How many whole minutes does it take to fill the 200-litre tank at 12 litres per minute?"
        page = alice.get(f"/items/{item}")
        r = alice.post(f"/items/{item}/decide", data={**form_of(page, "edit-form"), "prompt": secret,
                                                      "reference_answer": "17 minutes", "comment": "alice-note"})
        assert r.status_code == 303
        mine = alice.get(f"/items/{item}").text
        assert "first of its two blind reviews" in mine
        seen = bob.get(f"/items/{item}").text  # blind: nothing of alice's review on bob's page
        assert secret not in seen and "alice" not in seen and "alice-note" not in seen and "reviewed twice" in seen

        # A failing edit is shown with its reasons and not saved.
        page = bob.get(f"/items/{item}")
        before = len(decisions(store, get_entry(store, item).id))
        r = bob.post(f"/items/{item}/decide", data={**form_of(page, "edit-form"), "prompt": "Fill time?",
                                                    "reference_answer": "17 minutes"})
        assert r.status_code == 422 and "rules: too_short" in r.text and 'id="problems"' in r.text
        assert ">Fill time?</textarea>" in r.text  # the reviewer's text comes back to fix
        assert len(decisions(store, get_entry(store, item).id)) == before

        page = bob.get(f"/items/{item}")
        r = bob.post(f"/items/{item}/decide", data={**form_of(page, "reject-form"), "reason_code": "ambiguous"})
        assert r.status_code == 303 and get_entry(store, item).status == "conflict"

        assert bob.get("/admin/agreement").status_code == 403
        view = root.get("/admin/agreement")
        assert view.status_code == 200 and 'id="double-reviewed">1<' in view.text and "alice / bob" in view.text
        assert secret in view.text  # the admin sees both sides
        entry = get_entry(store, item)
        bobs = next(d for d in decisions(store, entry.id) if d.reviewer == "bob")
        r = bob.post(f"/admin/conflicts/{entry.id}/resolve", data={"csrf": csrf(bob.get("/queue")), "how": "pick",
                                                                   "pick": str(bobs.id), "version": str(entry.version)})
        assert r.status_code == 403 and get_entry(store, item).status == "conflict"
        r = root.post(f"/admin/conflicts/{entry.id}/resolve",
                      data={"csrf": csrf(view), "how": "pick", "pick": str(bobs.id), "version": str(entry.version)})
        assert r.status_code == 303 and get_entry(store, item).status == "rejected"
        assert "No open conflicts" in root.get("/admin/agreement").text
    with store.session() as s:
        assert s.scalar(select(DecisionRow.phase).where(DecisionRow.reviewer == "root")) == "resolution"
