"""Judge health: spread, canary catch rate and the verbosity probe, from a run's final verdicts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from suite_factory import make_spec

from benchsmith.canaries import CANARY_KEY
from benchsmith.flows.run_suite import run_suite
from benchsmith.records import Item, Lineage, Verdict
from benchsmith.stages import StageContext
from benchsmith.verifiers.judge import CRITERIA, LLMJudge
from benchsmith.verifiers.judge_health import spearman

LIN = Lineage(generator="test")
LITTLE_INFO = "the judge's verdicts carry little information: "


def make(i: int, *, canary: str | None = None, answer: str | None = None) -> Item:
    return Item.create(prompt=f"Health question {i}: name the colour number {i}.",
                       reference_answer=answer or f"Colour {i}", lineage=LIN,
                       metadata={CANARY_KEY: canary} if canary else {})


def judged(item: Item, score: float | None, passed: bool, reason: str | None = None) -> Item:
    return item.with_verdict(Verdict(stage="llm_judge", passed=passed, score=score,
                                     reason=None if passed else reason or "below_threshold", ranks_quality=True))


def rubric(s: int) -> dict[str, Any]:
    return {**{c: s for c in CRITERIA}, "rationale": "."}


@pytest.mark.usefixtures("prefect_local_api")
def test_a_constant_judge_is_reported_in_the_run_and_the_card(tmp_path: Path, fake_llm: Any) -> None:
    # The fake server's default answer is the schema's maximum: every item scores 5 on everything.
    spec = make_spec(tmp_path, fake_llm, target_items=6)
    report = run_suite(spec, workspace=tmp_path / "ws")

    [health] = [r for r in report.outcome.reports["quality"] if r["stage"] == "llm_judge"]
    assert health["title"] == "Judge health (llm_judge)"
    assert health["facts"]["discriminates"] == "no" and health["facts"]["score std"] == 0.0
    assert health["facts"]["distinct scores"] == 1 and health["facts"]["pass rate"] == 1.0
    [warning] = [w for w in health["warnings"] if w.startswith(LITTLE_INFO)]
    assert "its scores barely vary (standard deviation 0.00 on the 1-5 rubric scale, 1 distinct value" in warning
    assert report.publish is not None
    card = (report.publish.path / "README.md").read_text()
    quality = card.split("## Quality", 1)[1].split("\n## ", 1)[0]
    assert warning in quality and "### Judge health (llm_judge)" in quality and "| discriminates | no |" in quality


def test_canaries_through_the_fake_server(fake_llm: Any, llm_ctx: StageContext) -> None:
    real = [make(i) for i in range(6)]
    canaries = [make(100 + i, canary="wrong_answer") for i in range(4)]
    for item, s in zip(real, [5, 4, 5, 2, 4, 3]):
        fake_llm.add_rule(match=item.prompt, response=rubric(s))
    for item, s in zip(canaries, [1, 2, 2, 4]):  # three caught, one passed
        fake_llm.add_rule(match=item.prompt, response=rubric(s))
    stage = LLMJudge()
    items = real + canaries
    verdicts = asyncio.run(stage.verify(items, llm_ctx))
    report = stage.assess([it.with_verdict(v) for it, v in zip(items, verdicts)])

    assert report is not None and report.warnings == []
    assert report.facts["canaries caught"] == "3 of 4" and report.facts["canary catch rate"] == 0.75
    assert report.facts["items scored"] == 6 and report.facts["pass rate"] == pytest.approx(5 / 6, abs=1e-4)
    assert report.facts["discriminates"] == "yes"


def test_a_judge_that_passes_the_canaries_does_not_discriminate() -> None:
    items = [judged(make(i), s, s >= 3) for i, s in enumerate([5, 4, 2, 5, 3, 1, 4, 5])]
    items += [judged(make(100 + i, canary="unanswerable"), 4.5, True) for i in range(3)]
    items += [judged(make(200, canary="unanswerable"), 2.0, False)]
    report = LLMJudge().assess(items)
    assert report is not None and report.facts["discriminates"] == "no"
    assert report.warnings == [LITTLE_INFO + "it passed 3 of the 4 planted defective items (canaries) it judged "
                                             "(stage llm_judge)"]


def test_a_random_judge_fails_canaries_no_more_than_anything() -> None:
    # Spread is large, but canaries fail at the rate real items do (4 of 8 vs 2 of 4).
    scores = [5, 1, 4, 2, 5, 1, 4, 2]
    items = [judged(make(i), s, s >= 3) for i, s in enumerate(scores)]
    items += [judged(make(100 + i, canary="wrong_answer"), s, s >= 3) for i, s in enumerate([1, 5, 2, 4])]
    report = LLMJudge().assess(items)
    assert report is not None and report.facts["score std"] == pytest.approx(1.5811, abs=1e-4)
    assert report.warnings == [LITTLE_INFO + "it fails planted defective items (canaries, 50%) hardly more often "
                                             "than real items (50%) (stage llm_judge)"]


def test_too_few_items_to_tell_and_failed_calls_left_out() -> None:
    items = [judged(make(i), 5.0, True) for i in range(3)]
    items.append(judged(make(9), None, False, "judge_error:timeout"))
    report = LLMJudge().assess(items)
    assert report is not None and report.warnings == []
    assert report.facts["discriminates"] == "too few items to tell" and report.facts["items scored"] == 3
    assert report.facts["judge calls that failed"] == 1 and report.facts["canaries judged"] == 0
    assert LLMJudge().assess([make(1)]) is None  # never judged by this stage


def test_checklist_spread_uses_its_own_scale() -> None:
    # 0.75 vs 0.8: std 0.0245 -- a lot on a 1-5 scale would be little on a 0-1 one.
    items = [judged(make(i), 0.75 if i % 2 else 0.8, True) for i in range(6)]
    report = LLMJudge({"mode": "checklist"}).assess(items)
    assert report is not None and report.facts["discriminates"] == "no"
    assert "on the 0-1 checklist share scale, 2 distinct values over 6 items" in report.warnings[0]


def test_verbosity_probe_is_the_spearman_of_score_and_answer_length() -> None:
    answers = ["a", "bb bb", "ccc ccc ccc", "dddd dddd dddd dddd", "eeeee eeeee eeeee eeeee eeeee", "f f"]
    scores = [1, 2, 4, 3, 5, 2]
    items = [judged(make(i, answer=a), s, s >= 3) for i, (a, s) in enumerate(zip(answers, scores))]
    report = LLMJudge().assess(items)
    # Length ranks 1, 3, 4, 5, 6, 2; score ranks 1, 2.5, 5, 4, 6, 2.5 (ties share their mean rank).
    rx, ry = [1, 3, 4, 5, 6, 2], [1, 2.5, 5, 4, 6, 2.5]
    mx, my = sum(rx) / 6, sum(ry) / 6
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    rho = cov / (sum((a - mx) ** 2 for a in rx) ** 0.5 * sum((b - my) ** 2 for b in ry) ** 0.5)
    assert report is not None and report.facts["score vs answer length (Spearman)"] == pytest.approx(rho, abs=1e-4)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0) and spearman([1, 1], [1, 2]) is None
