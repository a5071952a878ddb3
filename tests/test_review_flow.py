"""Review routing, the publish gate and publishing the decisions: fake OpenAI server, real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from suite_factory import make_spec

from benchsmith.canaries import CANARY_KEY
from benchsmith.flows.publish_reviewed import publish_reviewed
from benchsmith.flows.run_suite import run_suite
from benchsmith.publish import REJECTED_PATH, read_items, verify_version
from benchsmith.records import Item, Lineage, Verdict
from benchsmith.review import QueueFilter, decide, get_entry, list_entries, open_review_store
from benchsmith.review.accounts import add_reviewer
from benchsmith.review.conflicts import blind_pairs, resolve
from benchsmith.review.routing import route, route_of
from benchsmith.review.stats import review_stats, wilson_interval
from benchsmith.spec import ReviewSpec

JUDGE = "\n\nReference answer:\n"
BORDERLINE = {"clarity": 4, "self_containedness": 4, "answerability": 4, "answer_correctness": 3, "difficulty": 2,
              "rationale": "the answer is incomplete"}  # gating mean 3.75: passes the 3.0 threshold, in the band
BAND = [3.5, 4.0]


def _spec(tmp_path: Path, fake_llm: Any, gate: str, audit_share: float = 0.05, double_share: float = 0.0) -> Any:
    return make_spec(tmp_path, fake_llm, target_items=6, canaries={"enabled": False},
                     review={"enabled": True, "band": {"llm_judge": BAND}, "audit_share": audit_share, "gate": gate,
                             "double_share": double_share})


def _judge_score(it: Item) -> float:
    v = it.verdict("llm_judge")
    assert v is not None and v.score is not None
    return float(v.score)


# -- pure parts ---------------------------------------------------------------------------------

def test_wilson_interval_known_values() -> None:
    ci = wilson_interval(8, 10)
    assert ci is not None
    assert ci.low == pytest.approx(0.4902, abs=1e-4) and ci.high == pytest.approx(0.9433, abs=1e-4)
    none = wilson_interval(0, 10)
    assert none is not None and none.low == 0.0 and none.high == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def _item(n: int, judge: float | None = None, dropped_by: str | None = None, **meta: Any) -> Item:
    it = Item.create(prompt=f"Question number {n}?", reference_answer=str(n), lineage=Lineage(generator="t"),
                     metadata=meta)
    verdicts = [Verdict(stage="rules", passed=dropped_by != "rules", reason="too_short" if dropped_by else None)]
    if judge is not None:
        verdicts.append(Verdict(stage="llm_judge", passed=judge >= 3.0, score=judge,
                                reason=None if judge >= 3.0 else "below_threshold"))
    return it.model_copy(update={"verdicts": verdicts})


def test_route_band_drops_audit_and_canaries() -> None:
    review = ReviewSpec(enabled=True, band={"llm_judge": (2.5, 3.5)}, route_drops=["rules"], audit_share=0.25)
    selected = [_item(i, 5.0) for i in range(8)] + [_item(8, 3.25), _item(9, 3.25, **{CANARY_KEY: "x"})]
    dropped = [_item(10, 2.75), _item(11, 1.0), _item(12, dropped_by="rules"), _item(13, 2.75, dropped_by="rules")]
    out = route(selected, dropped, review, random_seed=7)

    # The first stage that dropped an item names its route.
    assert [route_of(it) for it in out.queued] == ["band:llm_judge", "band:llm_judge", "flagged:rules",
                                                   "flagged:rules"]
    assert {it.id for it in out.queued} == {selected[8].id, dropped[0].id, dropped[2].id, dropped[3].id}
    assert [it.id for it in out.rejected] == [dropped[1].id]  # dropped below the band: stays rejected
    assert len(out.auto_accepted) == 8 and all(it.review_status == "auto_accepted" for it in out.auto_accepted)
    assert len(out.audit) == 2 and all(route_of(it) == "audit" for it in out.audit)  # ceil(0.25 * 8)
    assert {it.id for it in route(selected, dropped, review, 7).audit} == {it.id for it in out.audit}  # seeded
    assert all(CANARY_KEY not in it.metadata for it in out.to_enqueue)  # canaries never queued

    off = route(selected, dropped, ReviewSpec(), 7)
    assert off.auto_accepted == selected and off.rejected == dropped and not off.to_enqueue


def test_default_review_section_keeps_the_spec_hash(tmp_path: Path, fake_llm: Any) -> None:
    plain = make_spec(tmp_path, fake_llm)
    assert plain.review == ReviewSpec() and not plain.review.enabled
    assert plain.spec_hash() == plain.model_copy(update={"review": ReviewSpec(gate="all")}).spec_hash()
    assert plain.spec_hash() != plain.model_copy(update={"review": ReviewSpec(enabled=True)}).spec_hash()


def test_review_stats_counts() -> None:
    stats = review_stats({"a": "accepted", "b": "rejected", "c": "edited", "d": "pending", "e": "accepted"},
                         ["e"], ["ambiguous"])
    assert (stats.queued, stats.reviewed, stats.pending) == (4, 4, 1)
    assert stats.acceptance_rate == pytest.approx(0.75) and stats.reject_reasons == {"ambiguous": 1}
    assert stats.audit.quality == 1.0 and stats.audit.ci95 is not None
    assert "Review" == stats.report().title


# -- the flow -----------------------------------------------------------------------------------

@pytest.mark.usefixtures("prefect_local_api")
def test_gate_all_holds_back_then_publish_reviewed_publishes_the_decisions(tmp_path: Path, fake_llm: Any) -> None:
    fake_llm.add_rule(match=JUDGE, response=BORDERLINE, times=4)
    spec = _spec(tmp_path, fake_llm, "all")
    ws = tmp_path / "ws"
    report = run_suite(spec, workspace=ws)

    queued, auto = report.outcome.queued, report.outcome.published
    assert len(queued) >= 3 and auto
    assert all(BAND[0] <= _judge_score(it) <= BAND[1] for it in queued)
    assert all(not BAND[0] <= _judge_score(it) <= BAND[1] for it in auto)
    audit = [it for it in auto if it.id in report.outcome.audit_ids]
    assert len(audit) == 1  # ceil(5% of the auto-accepted)
    # Nothing published: the gate waits for every queued item, audit sample included.
    assert report.publish is None and report.review is not None and report.review.held_back
    assert report.review.waiting == len(queued) + 1
    assert report.review.review_command.startswith("benchsmith review -w ")
    assert not (tmp_path / "outputs" / spec.suite).exists()
    funnel = {s.stage: s for s in report.outcome.funnel.stages}
    assert list(funnel)[-1] == "review"
    assert funnel["review"].kept == len(auto)
    assert funnel["review"].dropped == {"queued:band:llm_judge": len(queued)}

    store = open_review_store(ws)
    try:
        entries = {e.item_id: e for e in list_entries(store, QueueFilter(suite=spec.suite), per_page=100).entries}
        assert set(entries) == {it.id for it in queued} | {audit[0].id}
        assert all(e.run_id == report.run_id for e in entries.values())
        first, second, third, *rest = [entries[it.id] for it in queued]
        decide(store, first.id, "alice", "accept", first.version)
        decide(store, second.id, "alice", "reject", second.version, reason_code="ambiguous")
        edited = decide(store, third.id, "alice", "edit", third.version,
                        edits={"prompt": "Edited by a reviewer: " + third.item.prompt})
        # One item still undecided: still held back.
        held = publish_reviewed(ws, spec.suite)
        assert held.held_back and held.publish is None and held.waiting == len(rest) + 1
        for e in rest:
            decide(store, e.id, "bob", "accept", e.version)
        a = entries[audit[0].id]
        decide(store, a.id, "bob", "accept", a.version)
    finally:
        store.close()

    done = publish_reviewed(ws, spec.suite)
    assert not done.held_back and done.publish is not None and done.publish.status == "published"
    folder = done.publish.path
    assert verify_version(folder) == []
    published = read_items(folder / "data" / "test.parquet")
    assert edited.edited_item is not None
    expected = {it.id for it in auto} | {first.item_id, edited.edited_item.id} | {e.item_id for e in rest}
    assert {it.id for it in published} == expected
    assert second.item_id not in {it.id for it in published}
    by_id = {it.id: it for it in published}
    assert by_id[edited.edited_item.id].prompt.startswith("Edited by a reviewer: ")
    assert by_id[edited.edited_item.id].review_status == "edited"
    assert by_id[first.item_id].review_status == "accepted"
    assert second.item_id in {it.id for it in read_items(folder / REJECTED_PATH)}

    manifest = json.loads((folder / "manifest.json").read_text())
    stats = manifest["reports"]["review"]
    assert stats["reviewed"] == len(queued) + 1 and stats["pending"] == 0
    assert stats["rejected"] == 1 and stats["edited"] == 1 and stats["reject_reasons"] == {"ambiguous": 1}
    assert stats["acceptance_rate"] == pytest.approx(len(queued) / (len(queued) + 1))
    assert stats["audit"]["decided"] == 1 and stats["audit"]["quality"] == 1.0
    assert stats["audit"]["ci95"]["low"] == pytest.approx(0.2065, abs=1e-4)
    assert "stages" in manifest["reports"]  # the run's own reports survive the later publish
    card = (folder / "README.md").read_text()
    assert "### Review" in card and "95% Wilson" in card and "ambiguous: 1" in card

    again = publish_reviewed(ws, spec.suite)  # no new decision: the same content
    assert again.publish is not None and again.publish.status == "exists"


@pytest.mark.usefixtures("prefect_local_api")
def test_gate_decided_publishes_now_and_carries_the_undecided(tmp_path: Path, fake_llm: Any) -> None:
    fake_llm.add_rule(match=JUDGE, response=BORDERLINE, times=3)
    spec = _spec(tmp_path, fake_llm, "decided", audit_share=0.0)
    ws = tmp_path / "ws"
    first = run_suite(spec, workspace=ws)

    queued, auto = first.outcome.queued, first.outcome.published
    assert queued and auto
    assert first.publish is not None and first.publish.status == "published"
    assert first.review is not None and not first.review.held_back and first.review.waiting == len(queued)
    v1 = read_items(first.publish.path / "data" / "test.parquet")
    assert {it.id for it in v1} == {it.id for it in auto}
    assert json.loads((first.publish.path / "manifest.json").read_text())["reports"]["review"]["pending"] == \
        len(queued)

    store = open_review_store(ws)
    try:
        entry = next(e for e in list_entries(store, QueueFilter(suite=spec.suite)).entries
                     if e.item_id == queued[0].id)
        decide(store, entry.id, "alice", "accept", entry.version)
    finally:
        store.close()

    # The next run re-reads the decisions: the item accepted since joins the next version.
    second = run_suite(spec, workspace=ws)
    assert second.publish is not None and second.publish.status == "published"
    assert second.publish.parent == first.publish.version
    v2 = {it.id for it in read_items(second.publish.path / "data" / "test.parquet")}
    assert v2 == {it.id for it in auto} | {queued[0].id}
    assert not v2 & {it.id for it in queued[1:]}


def test_publish_command_holds_back_then_publishes(tmp_path: Path, fake_llm: Any) -> None:
    from typer.testing import CliRunner

    from benchsmith.cli import app

    fake_llm.add_rule(match=JUDGE, response=BORDERLINE, times=2)
    spec = _spec(tmp_path, fake_llm, "all", audit_share=0.0)
    ws = tmp_path / "ws"
    report = run_suite(spec, workspace=ws)
    assert report.review is not None and report.review.held_back

    cli = CliRunner()
    held = cli.invoke(app, ["publish", spec.suite, "-w", str(ws)])
    assert held.exit_code == 1, held.output
    assert f"{report.review.waiting} queued item(s) still undecided" in " ".join(held.output.split())
    assert "benchsmith review -w" in held.output

    store = open_review_store(ws)
    try:
        entries = list_entries(store, QueueFilter(suite=spec.suite), per_page=100).entries
        decide(store, entries[0].id, "alice", "reject", entries[0].version, reason_code="wrong_answer")
        for e in entries[1:]:
            decide(store, e.id, "alice", "accept", e.version)
    finally:
        store.close()
    done = cli.invoke(app, ["publish", spec.suite, "-w", str(ws)])
    text = " ".join(done.output.split())
    assert done.exit_code == 0, done.output
    assert "published version" in text and "1 rejected" in text and "wrong_answer: 1" in text
    assert not any(entries[0].item_id == it.id for it in report.outcome.published)


@pytest.mark.usefixtures("prefect_local_api")
def test_double_review_kappa_and_neighbours_reach_the_card(tmp_path: Path, fake_llm: Any) -> None:
    fake_llm.add_rule(match=JUDGE, response=BORDERLINE, times=4)
    spec = _spec(tmp_path, fake_llm, "all", audit_share=0.0, double_share=0.5)
    ws = tmp_path / "ws"
    report = run_suite(spec, workspace=ws)
    assert report.review is not None and report.review.held_back
    store = open_review_store(ws)
    try:
        entries = list_entries(store, QueueFilter(suite=spec.suite), per_page=100).entries
        doubles = [e for e in entries if e.reviews_needed == 2]
        assert len(doubles) == -(-len(entries) // 2)  # ceil(0.5 * queued)
        # Neighbours and the cluster were stored at enqueue time, from the run's own items.
        run_ids = {it.id for it in store.items_for_run(report.run_id)}
        assert all(e.neighbours and e.cluster for e in entries)
        assert all({n["id"] for n in e.neighbours} <= run_ids - {e.item_id} for e in entries)
        for e in entries:
            decide(store, e.id, "alice", "accept", e.version)
        held = publish_reviewed(ws, spec.suite)
        assert held.held_back and held.waiting == len(doubles)  # a double-review item needs a second reviewer
        # With fewer than two accounts the gate could never open: the publish says what to do.
        assert any("second, blind review" in n and "double_share: 0" in n for n in held.notes)
        add_reviewer(store, "alice", "a-long-password")
        add_reviewer(store, "bob", "another-long-password")
        assert not any("second, blind review" in n for n in publish_reviewed(ws, spec.suite).notes)
        for i, e in enumerate(doubles):
            now = get_entry(store, e.item_id)
            if i == 0:  # one disagreement: a conflict, resolved by an admin keeping alice's accept
                conflict = decide(store, e.id, "bob", "reject", now.version, reason_code="ambiguous")
                assert conflict.status == "conflict"
                [alices] = [d for d in blind_pairs(store, [e.id])[e.id] if d.reviewer == "alice"]
                resolve(store, e.id, "root", conflict.version, pick=alices.id)
            else:
                decide(store, e.id, "bob", "accept", now.version)
    finally:
        store.close()
    done = publish_reviewed(ws, spec.suite)
    assert done.publish is not None and done.publish.status == "published"
    stats = json.loads((done.publish.path / "manifest.json").read_text())["reports"]["review"]
    assert stats["double_reviewed"] == len(doubles) and stats["conflicts"] == 1
    assert set(stats["kappa_pairs"]) == {"alice / bob"} and stats["kappa_method"] == "fleiss"
    card = (done.publish.path / "README.md").read_text()
    assert "reviewed twice, blind" in card and "Cohen's kappa alice / bob" in card
