"""Canaries: planted defective items, what each stage caught, and that none is ever published."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from suite_factory import make_spec

from benchsmith.canaries import (
    CANARY_KEY,
    POOL_DEFECTS,
    SOURCE_KEY,
    catch_report,
    defect_of,
    in_turn,
    is_canary,
    plant,
    run_target,
)
from benchsmith.documents import Corpus
from benchsmith.flows.build_suite import calls_per_candidate, canary_defects, canary_target, plan_round
from benchsmith.flows.run_suite import RunReport, run_suite
from benchsmith.index.groups import choose_keepers
from benchsmith.records import Citation, Item, Lineage, Verdict
from benchsmith.spec import load_spec

LIN = Lineage(generator="test")
JUDGE = "\n\nReference answer:\n"
GOOD = {"clarity": 5, "self_containedness": 5, "answerability": 5, "answer_correctness": 5, "difficulty": 4,
        "rationale": "fine"}
BAD = {"clarity": 1, "self_containedness": 1, "answerability": 1, "answer_correctness": 1, "difficulty": 1,
       "rationale": "the question is cut off"}


def item(prompt: str, answer: str, score: float | None = None, **kw: Any) -> Item:
    it = Item.create(prompt=prompt, reference_answer=answer, lineage=LIN, **kw)
    if score is not None:
        it = it.with_verdict(Verdict(stage="llm_judge", passed=True, score=score, ranks_quality=True))
    return it


CANDIDATES = [
    item("How many moons does the planet Mars have in total today?", "Two moons, Phobos and Deimos"),
    item("Which gas do green plants release during photosynthesis in daylight?", "Oxygen gas"),
    item("What is the boiling point of water at sea level in Celsius?", "One hundred degrees"),
]


# --- pure functions -----------------------------------------------------------------------


def test_plant_is_deterministic_and_marks_every_defect() -> None:
    defects = ["swapped_answer", "truncated_question", "answer_in_question", "near_copy"]
    first = plant(CANDIDATES, defects, "0|0")
    again = plant(CANDIDATES, defects, "0|0")
    assert [c.model_dump() for c in first.items] == [c.model_dump() for c in again.items]
    assert [defect_of(c) for c in first.items] == defects and not first.not_planted
    by_defect = {defect_of(c): c for c in first.items}
    real = {c.id: c for c in CANDIDATES}
    for c in first.items:
        assert is_canary(c) and c.metadata[SOURCE_KEY] in real and c.id not in real
    swapped = by_defect["swapped_answer"]
    assert swapped.prompt == real[swapped.metadata[SOURCE_KEY]].prompt
    assert swapped.reference_answer in {c.reference_answer for c in CANDIDATES} - {
        real[swapped.metadata[SOURCE_KEY]].reference_answer}
    truncated = by_defect["truncated_question"]
    assert not truncated.prompt.endswith("?") and real[truncated.metadata[SOURCE_KEY]].prompt.startswith(truncated.prompt)
    leak = by_defect["answer_in_question"]
    assert real[leak.metadata[SOURCE_KEY]].reference_answer in leak.prompt
    assert plant(CANDIDATES, defects, "0|1").items != first.items, "another round (seed) plants other canaries"


def test_one_candidate_plants_what_it_can_and_says_why_not() -> None:
    out = plant(CANDIDATES[:1], ["swapped_answer", "truncated_question", "answer_in_question"], 0)
    assert [defect_of(c) for c in out.items] == ["truncated_question", "answer_in_question"]
    assert "two candidates" in out.not_planted["swapped_answer"]
    assert plant([], ["truncated_question"], 0).not_planted == {"truncated_question": "no candidate to derive it from"}
    # An MCQ swaps to another of its own options: one candidate is enough.
    mcq = item("Which planet is known as the red planet of the solar system?", "Mars", kind="mcq",
               choices=["Venus", "Mars", "Jupiter"])
    [swapped] = plant([mcq], ["swapped_answer"], 0).items
    assert swapped.reference_answer in {"Venus", "Jupiter"}


def test_fake_quote_is_a_sentence_of_another_passage() -> None:
    from docqa_factory import chunk_paragraphs, filler, make_document

    doc = make_document("guide.md", [filler("oven", 1), filler("leave", 2)])
    chunks = chunk_paragraphs(doc)
    quote = chunks[0].text.split(":")[0]
    real = item("What does section 1 of the oven guide explain?", "rule oven1",
                citations=[Citation(quote=quote, document="guide.md", chunk_id=chunks[0].id, start=0, end=len(quote))])
    [fake] = plant([real], ["fake_quote"], 0, corpus=Corpus.of(chunks, [doc])).items
    assert fake.citations[0].chunk_id == chunks[0].id and fake.citations[0].start is None
    assert fake.citations[0].quote not in chunks[0].text and fake.citations[0].quote in chunks[1].text
    assert "citations" in plant(CANDIDATES[:1], ["fake_quote"], 0).not_planted["fake_quote"]


def test_dedup_keeps_the_real_item_over_a_better_scored_near_copy() -> None:
    real = item("What is the capital city of France?", "Paris", score=3.0)
    [copy] = plant([real], ["near_copy"], 0).items
    copy = copy.with_verdict(Verdict(stage="llm_judge", passed=True, score=5.0, ranks_quality=True))
    [d] = choose_keepers([copy, real], [[0, 1]])
    assert d.keep == 1 and d.drop == (0,)
    [d] = choose_keepers([copy, copy], [[0, 1]])
    assert d.keep == 0, "a group of canaries only keeps its first"


def test_catch_report_counts_per_defect_and_stage() -> None:
    made = plant(CANDIDATES, ["swapped_answer", "truncated_question", "answer_in_question"], 3).items
    judged = [
        made[0].with_verdict(Verdict(stage="rules", passed=True)),
        made[1].with_verdict(Verdict(stage="llm_judge", passed=False, reason="low_score")),
        made[2].with_verdict(Verdict(stage="rules", passed=False, reason="answer_leak")),
    ]
    report = catch_report(judged, ["rules", "llm_judge"], not_planted={"fake_quote": "needs citations"}, calls=2)
    assert report.stage == "canaries" and report.facts["planted"] == 3 and report.facts["caught"] == "2 of 3"
    assert report.data["caught"] == {"swapped_answer": {}, "truncated_question": {"llm_judge": 1},
                                     "answer_in_question": {"rules": 1}}
    assert report.data["by_stage"] == {"rules": {"answer_in_question": 1}, "llm_judge": {"truncated_question": 1}}
    assert report.data["passed_everything"] == {"swapped_answer": 1, "truncated_question": 0, "answer_in_question": 0}
    assert report.facts["caught by rules"] == "1 (answer_in_question 1)"
    assert report.facts["LLM calls (overhead)"] == 2
    assert any("1 of 3 canaries through" in w and "swapped_answer 1 of 1" in w for w in report.warnings)
    assert any("fake_quote (needs citations)" in w for w in report.warnings)
    budget = made[0].with_verdict(Verdict(stage="llm_judge", passed=False, reason="budget_exhausted"))
    assert catch_report([budget], ["llm_judge"]).data["not_judged"] == {"swapped_answer": 1}


def test_count_and_round_plan_pay_for_canaries(tmp_path: Path, fake_llm: Any) -> None:
    assert run_target(0, share=0.05, minimum=4, maximum=20) == 0
    assert run_target(10, share=0.05, minimum=4, maximum=20) == 4
    assert run_target(1000, share=0.05, minimum=4, maximum=20) == 20
    assert run_target(10, share=0.0, minimum=4, maximum=20) == 0
    spec = make_spec(tmp_path, fake_llm, target_items=40)
    assert canary_target(spec, 40) == 4  # one of each defect a seeds suite can carry
    per = calls_per_candidate(spec)  # 1 generation + 1 judge

    def judged_canaries(n: int) -> int:
        # A near-copy is planted after verification with its source's verdicts: no judge call.
        due = in_turn(canary_defects(spec), 0, canary_target(spec, n))
        return sum(1 for d in due if d not in POOL_DEFECTS)

    assert judged_canaries(40) == 3
    for budget in (30, 50, 83, 200):
        n = plan_round(spec, 0, 0, 0, budget)
        assert n * per + judged_canaries(n) <= budget, (budget, n)
        if n < 40:  # the budget decided: one candidate more would not fit (nothing held back for nothing)
            assert (n + 1) * per + judged_canaries(n + 1) > budget, (budget, n)
    assert plan_round(make_spec(tmp_path, fake_llm, target_items=40, canaries={"share": 0}), 0, 0, 0, 83) == 40


# --- whole runs on the fake server ---------------------------------------------------------

needs_prefect = pytest.mark.usefixtures("prefect_local_api")


def _canary_report(report: RunReport) -> dict[str, Any]:
    [rep] = [r for r in report.outcome.reports["quality"] if r["stage"] == "canaries"]
    return rep


def _published_ids(report: RunReport) -> set[str]:
    assert report.publish is not None
    folder = report.publish.path
    ids = set()
    for path in [*(folder / "data").glob("*.parquet"), *(folder / "rejected").glob("*.parquet")]:
        table = pq.read_table(path).to_pylist()
        assert all(f'"{CANARY_KEY}"' not in (row.get("metadata") or "") for row in table), path
        ids |= {row["id"] for row in table}
    return ids


@needs_prefect
def test_scripted_judge_catches_what_was_scripted_and_canaries_stay_unpublished(tmp_path: Path,
                                                                                 fake_llm: Any) -> None:
    # Questions that end with "?" pass the judge; anything cut mid-sentence fails it.
    fake_llm.add_rule(match="?" + JUDGE, response=GOOD)
    fake_llm.add_rule(match=JUDGE, response=BAD)
    # The rules' own "asks nothing" check stays off, so that the judge is the stage that sees the cut questions.
    spec = make_spec(tmp_path, fake_llm, verifiers=[{"name": "rules", "params": {"prompt_asks": False}},
                                                    {"name": "llm_judge", "params": {"threshold": 3.0}}])
    report = run_suite(spec, workspace=tmp_path / "ws")
    outcome = report.outcome
    assert report.publish is not None and len(outcome.published) == spec.target_items

    rep = _canary_report(report)
    planted = {c.id: c for c in outcome.canaries}
    assert rep["data"]["planted"] == {"swapped_answer": 1, "truncated_question": 1, "answer_in_question": 1,
                                      "near_copy": 1}
    caught = {row["defect"]: row["caught_by"] for row in rep["data"]["items"]}
    assert caught == {"swapped_answer": None,            # the judge was scripted to pass it
                      "truncated_question": "llm_judge",  # ... and to fail questions cut mid-sentence
                      "answer_in_question": "rules",      # answer_leak, before any judge call
                      "near_copy": "dedup_semantic"}, rep["data"]["items"]  # a lead-in: not exact, but near
    assert rep["data"]["passed_everything"]["swapped_answer"] == 1
    assert rep["data"]["by_stage"] == {"rules": {"answer_in_question": 1}, "llm_judge": {"truncated_question": 1},
                                       "dedup_semantic": {"near_copy": 1}}
    assert any("1 of 4 canaries through" in w for w in rep["warnings"])
    # Judge calls: the swapped and the truncated canary (rules dropped the leak; the near-copy cost nothing).
    assert rep["facts"]["LLM calls (overhead)"] == outcome.canary_llm_calls == 2

    # The near-copy lost to the item it copies.
    [near] = [c for c in outcome.canaries if defect_of(c) == "near_copy"]
    assert near.verdict("dedup_semantic").details["duplicate_of"] == near.metadata[SOURCE_KEY]
    assert near.metadata[SOURCE_KEY] in {it.id for it in outcome.published}

    # Never published, never in rejected/, never in the funnel or the store's items.
    assert not set(planted) & _published_ids(report)
    assert not any(is_canary(it) for it in [*outcome.published, *outcome.rejected])
    funnel = {s.stage: s for s in outcome.funnel.stages}
    assert funnel["rules"].received == funnel["generate"].kept
    assert funnel["dedup_semantic"].received == funnel["llm_judge"].kept - funnel["dedup_exact"].dropped_total
    manifest = json.loads((report.publish.path / "manifest.json").read_text())
    assert [r for r in manifest["reports"]["quality"] if r["stage"] == "canaries"] == [rep]
    card = (report.publish.path / "README.md").read_text()
    assert "### Canaries" in card and "| caught by llm_judge | 1 (truncated_question 1) |" in card

    # A rerun replays every task: no request, the same canaries, the same report.
    before = fake_llm.stats()["requests"]
    again = run_suite(spec, workspace=tmp_path / "ws")
    assert fake_llm.stats()["requests"] == before
    assert _canary_report(again) == rep
    assert [c.id for c in again.outcome.canaries] == list(planted)


@needs_prefect
def test_one_candidate_run_plants_what_it_can(tmp_path: Path, fake_llm: Any) -> None:
    spec = make_spec(tmp_path, fake_llm, target_items=1)
    report = run_suite(spec, workspace=tmp_path / "ws")
    assert report.publish is not None and len(report.outcome.published) == 1
    rep = _canary_report(report)
    assert "swapped_answer" not in rep["data"]["planted"]
    assert "two candidates" in rep["data"]["not_planted"]["swapped_answer"]
    assert {"truncated_question", "answer_in_question", "near_copy"} <= set(rep["data"]["planted"])
    assert any("canaries not planted: swapped_answer" in w for w in rep["warnings"])
    assert not {c.id for c in report.outcome.canaries} & _published_ids(report)


@needs_prefect
def test_share_zero_plants_no_canaries(tmp_path: Path, fake_llm: Any) -> None:
    spec = make_spec(tmp_path, fake_llm, canaries={"share": 0})
    report = run_suite(spec, workspace=tmp_path / "ws")
    assert report.publish is not None
    assert report.outcome.canaries == [] and report.outcome.canary_llm_calls == 0
    assert not [r for r in report.outcome.reports["quality"] if r["stage"] == "canaries"]
    judged = [r for r in fake_llm.requests() if JUDGE in r["messages"][-1]["content"]]
    assert len(judged) == report.outcome.funnel.stage("llm_judge").received


@needs_prefect
def test_documents_suite_plants_a_fake_quote_that_grounding_catches(tmp_path: Path, fake_llm: Any) -> None:
    from test_flow_documents import ANSWERS, make_docs_spec

    for phrase, answer in ANSWERS.items():
        fake_llm.add_rule(match=phrase, response=answer)
    spec = load_spec(make_docs_spec(tmp_path, fake_llm))
    report = run_suite(spec, workspace=tmp_path / "ws")
    assert report.publish is not None
    rep = _canary_report(report)
    [fake] = [c for c in report.outcome.canaries if defect_of(c) == "fake_quote"]
    assert fake.verdict("grounding") is not None and fake.failed_verdict.stage == "grounding"
    assert fake.failed_verdict.reason == "quote_not_found"
    assert rep["data"]["caught"]["fake_quote"] == {"grounding": 1}
    assert not {c.id for c in report.outcome.canaries} & _published_ids(report)
    coverage = json.dumps(report.outcome.reports["coverage"])
    assert not any(c.id in coverage for c in report.outcome.canaries), "coverage counts real items only"


@needs_prefect
def test_calls_the_canaries_did_not_need_buy_a_top_up_in_the_same_round(tmp_path: Path, fake_llm: Any) -> None:
    # Budget for exactly 2 calls per item: the round keeps back a judge call for each of the 3 canaries
    # the judge might see, so it asks for 38 candidates. The rules drop the question cut short and the
    # one that gives its answer away before any judge call: the 2 calls they did not need buy one more
    # candidate in the same round (its lineage shows round max_rounds + 0), where a second round was needed.
    fake_llm.add_rule(match=JUDGE, response=GOOD)
    spec = make_spec(tmp_path, fake_llm, target_items=40, budget={"max_llm_calls": 80, "max_rounds": 4})
    report = run_suite(spec, workspace=tmp_path / "ws")
    outcome = report.outcome
    assert outcome.rounds == 1
    rep = _canary_report(report)
    assert rep["data"]["by_stage"]["rules"] == {"truncated_question": 1, "answer_in_question": 1}
    assert outcome.canary_llm_calls == 1  # the swapped answer, judged
    rounds = Counter(it.lineage.params["round"] for it in outcome.published)
    assert rounds == {0: 38, 4: 1}, rounds
    assert outcome.llm_calls == fake_llm.stats()["requests"] == 38 * 2 + 1 + 2 <= 80
