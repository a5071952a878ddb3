"""The LLM judge against the fake OpenAI-compatible server: scripted scores, errors, budget, checklist mode."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from suite_factory import make_spec

from benchsmith.errors import BudgetExhausted
from benchsmith.flows.run_suite import run_suite
from benchsmith.llm.client import LLMClient
from benchsmith.llm.usage import CallBudget
from benchsmith.records import Item, Lineage
from benchsmith.stages import StageContext, verifiers
from benchsmith.testing.fake_openai import FakeOpenAIServer
from benchsmith.verifiers.judge import CRITERIA, JudgeConfig, LLMJudge, decide, judge_messages, judge_schema
from benchsmith.verifiers.judge_checklist import ANSWER_REQUEST, CHECKLIST_REQUEST

LIN = Lineage(generator="test")

GOOD = Item.create(prompt="What is the capital city of France?", reference_answer="Paris", lineage=LIN)
VAGUE = Item.create(prompt="Why is it like that, according to the text above?", reference_answer="Because.",
                    lineage=LIN)
OTHER = Item.create(prompt="How many legs does a spider have?", reference_answer="Eight", lineage=LIN)


def scores(clarity, self_contained, answerable, correct, difficulty, rationale="ok"):
    return {"clarity": clarity, "self_containedness": self_contained, "answerability": answerable,
            "answer_correctness": correct, "difficulty": difficulty, "rationale": rationale}


def judge(items, ctx, **config):
    return asyncio.run(LLMJudge(config).verify(items, ctx))


def test_registered():
    assert verifiers.get("llm_judge") is LLMJudge and LLMJudge.scope == "item"


def test_scripted_scores_pass_one_fail_other(fake_llm, llm_ctx: StageContext):
    fake_llm.add_rule(match=GOOD.prompt, response=scores(5, 4, 5, 4, 1, "Clear and correct."))
    fake_llm.add_rule(match=VAGUE.prompt, response=scores(2, 1, 3, 2, 5, "Refers to unseen text."))
    progress: list[tuple[str, int]] = []
    llm_ctx.progress = lambda stage, n: progress.append((stage, n))

    good, vague = judge([GOOD, VAGUE], llm_ctx)

    assert good.passed and good.stage == "llm_judge"
    # Difficulty (1) does not count by default: mean of 5, 4, 5, 4.
    assert good.score == pytest.approx(4.5)
    assert good.details["scores"] == {"clarity": 5, "self_containedness": 4, "answerability": 5,
                                      "answer_correctness": 4, "difficulty": 1}
    assert good.details["rationale"] == "Clear and correct."
    assert not vague.passed and vague.reason == "below_threshold"
    assert vague.score == pytest.approx(2.0)
    assert vague.details["rationale"] == "Refers to unseen text."
    assert progress == [("llm_judge", 1), ("llm_judge", 1)]
    assert fake_llm.stats()["requests"] == 2


def test_request_carries_rubric_schema_and_answer(fake_llm, llm_ctx: StageContext):
    judge([GOOD], llm_ctx)
    [body] = fake_llm.requests()[-1:]
    system, user = body["messages"][0]["content"], body["messages"][-1]["content"]
    for criterion in CRITERIA:
        assert criterion in system
    assert GOOD.prompt in user and "Reference answer:\nParis" in user
    sent_schema = body["response_format"]["json_schema"]["schema"]
    assert sent_schema["required"] == [*CRITERIA, "rationale"]
    assert sent_schema["properties"]["clarity"] == {"type": "integer", "minimum": 1, "maximum": 5}
    assert body["temperature"] == llm_ctx.client("judge").temperature


def test_minimums_weights_and_gating(fake_llm, llm_ctx: StageContext):
    fake_llm.add_rule(match=GOOD.prompt, response=scores(5, 5, 5, 3, 1))
    [v] = judge([GOOD], llm_ctx, min_scores={"answer_correctness": 4})
    assert not v.passed and v.reason == "below_min:answer_correctness"
    assert v.details["below_min"] == ["answer_correctness"]
    # Same (cached) answer, difficulty now gating with a heavy weight: 5,5,5,3 + 1*4 over weight 8.
    [w] = judge([GOOD], llm_ctx, gating=list(CRITERIA), weights={"difficulty": 4.0}, threshold=3.5)
    assert w.score == pytest.approx((5 + 5 + 5 + 3 + 1 * 4) / 8)
    assert not w.passed and w.reason == "below_threshold"
    assert fake_llm.stats()["requests"] == 1  # the second judging was answered from the cache


def test_default_fake_answer_is_max_scores(fake_llm, llm_ctx: StageContext):
    [v] = judge([OTHER], llm_ctx)
    assert v.passed and v.score == pytest.approx(5.0)
    assert isinstance(v.details["rationale"], str) and v.details["rationale"]


def test_judge_error_drops_only_that_item(fake_llm, llm_ctx: StageContext):
    fake_llm.add_rule(match=VAGUE.prompt, raw="{broken")
    fake_llm.add_rule(match="Your reply was not valid", raw="still {broken")
    fake_llm.add_rule(match=OTHER.prompt, status=400, message="scripted bad request")
    flaky = Item.create(prompt="Name the largest planet of the solar system.", reference_answer="Jupiter",
                        lineage=LIN)
    fake_llm.add_rule(match=flaky.prompt, status=500)  # every retry fails too
    fake_llm.add_rule(match=GOOD.prompt, response=scores(4, 4, 4, 4, 2))
    progress: list[int] = []
    llm_ctx.progress = lambda stage, n: progress.append(n)

    good, vague, other, server_error = judge([GOOD, VAGUE, OTHER, flaky], llm_ctx)

    assert good.passed and good.score == pytest.approx(4.0)
    assert not vague.passed and vague.reason == "judge_error:invalid_json"
    assert not other.passed and other.reason == "judge_error:http_400"
    assert not server_error.passed and server_error.reason == "judge_error:http_500"
    assert "error" in vague.details and vague.score is None
    assert sum(progress) == 4


def test_concurrent_requests(fake_llm, llm_ctx: StageContext):
    fake_llm.configure(latency_s=0.3)
    items = [Item.create(prompt=f"Question number {i} about rivers?", reference_answer=str(i), lineage=LIN)
             for i in range(6)]
    verdicts = judge(items, llm_ctx)
    assert len(verdicts) == 6 and all(v.passed for v in verdicts)
    assert fake_llm.stats()["max_in_flight"] > 1


def test_budget_exhausted_propagates(fake_llm, tmp_path):
    budget = CallBudget(1)
    client = LLMClient(base_url=fake_llm.base_url, model=fake_llm.model, role="judge", temperature=0.0,
                       max_tokens=256, budget=budget, max_retries=0, timeout_s=5.0)
    ctx = StageContext(llm=lambda role: client, workspace=tmp_path)
    with pytest.raises(BudgetExhausted):
        judge([GOOD, VAGUE, OTHER], ctx)
    assert fake_llm.stats()["requests"] <= 1


def test_config_validation_and_decide():
    with pytest.raises(ValidationError):
        JudgeConfig(weights={"elegance": 2.0})  # unknown criterion
    with pytest.raises(ValidationError):
        JudgeConfig(min_scores={"clarity": 7})
    with pytest.raises(ValidationError):
        JudgeConfig(gating=["clarity"], weights={"clarity": 0.0})
    with pytest.raises(ValidationError):
        JudgeConfig(treshold=3.0)  # typo: unknown keys are errors
    s = {c: 3 for c in CRITERIA}
    assert decide(s, JudgeConfig(threshold=3.0))[:3] == (True, 3.0, None)
    assert decide(s, JudgeConfig(threshold=3.5))[2] == "below_threshold"
    # A minimum on a non-gating criterion still gates.
    assert decide(s, JudgeConfig(min_scores={"difficulty": 4}))[2] == "below_min:difficulty"


def test_messages_include_choices_and_schema_is_strict():
    mcq = Item.create(prompt="Which is a prime number?", reference_answer="7", kind="mcq",
                      choices=["4", "6", "7"], lineage=LIN)
    user = judge_messages(mcq)[-1]["content"]
    assert "A. 4\nB. 6\nC. 7" in user
    assert judge_schema()["additionalProperties"] is False


# -- checklist mode (TICK) -------------------------------------------------------------

def checks_and_answers(fake: FakeOpenAIServer, match: str, checks: list[str], answers: list[str]) -> None:
    """Script one checklist: call 1 (matched by `match`) writes `checks`, call 2 (matched by the first
    check, which only the second request carries) answers them."""
    fake.add_rule(match=checks[0], response={"answers": [{"answer": a, "reason": f"{a}."} for a in answers]})
    fake.add_rule(match=match, response={"checks": checks})


def test_checklist_scores_are_the_yes_share(fake_llm, llm_ctx: StageContext):
    checks_and_answers(fake_llm, GOOD.prompt, ["Is Paris the capital named?", "Is the question unambiguous?",
                                               "Is it self-contained?", "Is there one answer?"],
                       ["yes", "yes", "yes", "no"])
    checks_and_answers(fake_llm, VAGUE.prompt, ["Does it avoid referring to unseen text?",
                                                "Is the reference answer complete?", "Is it clear?"],
                       ["no", "no", "yes"])

    good, vague = judge([GOOD, VAGUE], llm_ctx, mode="checklist")

    assert good.passed and good.score == pytest.approx(0.75)  # at the default threshold: passes
    assert good.details["mode"] == "checklist" and good.details["answers"] == ["yes", "yes", "yes", "no"]
    assert good.details["checks"][0] == "Is Paris the capital named?" and good.details["reasons"][3] == "no."
    assert not vague.passed and vague.reason == "below_threshold" and vague.score == pytest.approx(round(1 / 3, 4))
    assert fake_llm.stats()["requests"] == 4

    # Stricter threshold, same (cached) answers.
    [strict] = judge([GOOD], llm_ctx, mode="checklist", checklist_threshold=0.8)
    assert not strict.passed and strict.score == pytest.approx(0.75)
    assert fake_llm.stats()["requests"] == 4


def test_checklist_requests(fake_llm, llm_ctx: StageContext):
    [v] = judge([OTHER], llm_ctx, mode="checklist", checklist_items=4)
    write, answer = fake_llm.requests()[-2:]
    assert write["messages"][-1]["content"].startswith(CHECKLIST_REQUEST) and OTHER.prompt in write["messages"][-1][
        "content"]
    assert write["response_format"]["json_schema"]["schema"]["properties"]["checks"]["maxItems"] == 4
    checks = v.details["checks"]
    user = answer["messages"][-1]["content"]
    assert user.startswith(ANSWER_REQUEST) and OTHER.prompt in user and f"1. {checks[0]}" in user
    n = answer["response_format"]["json_schema"]["schema"]["properties"]["answers"]
    assert n["minItems"] == n["maxItems"] == len(checks)
    # The fake server's default answer: every check 'yes'.
    assert v.passed and v.score == 1.0


def test_checklist_short_answer_is_a_judge_error(fake_llm, llm_ctx: StageContext):
    short = {"answers": [{"answer": "yes", "reason": "."}]}
    fake_llm.add_rule(match=ANSWER_REQUEST, response=short)
    fake_llm.add_rule(match="Your reply was not valid", response=short)  # the repair is just as short
    fake_llm.add_rule(match=GOOD.prompt, response={"checks": ["One?", "Two?"]})
    [v] = judge([GOOD], llm_ctx, mode="checklist")
    assert not v.passed and v.reason == "judge_error:schema_mismatch"


FAIL_CHECKS = ["Is the failing check one satisfied?", "Is the failing check two satisfied?",
               "Is the failing check three satisfied?", "Is the failing check four satisfied?"]
PASS_CHECKS = ["Is the passing check one satisfied?", "Is the passing check two satisfied?",
               "Is the passing check three satisfied?", "Is the passing check four satisfied?"]


@pytest.mark.usefixtures("prefect_local_api")
def test_checklist_in_a_flow_run(tmp_path: Path, fake_llm: Any) -> None:
    # The first two items judged get a checklist they fail (1 of 4 yes), every later one a checklist it passes (3 of 4).
    fake_llm.add_rule(match=FAIL_CHECKS[0], response={"answers": [{"answer": a, "reason": "."}
                                                                  for a in ("yes", "no", "no", "no")]})
    fake_llm.add_rule(match=PASS_CHECKS[0], response={"answers": [{"answer": a, "reason": "."}
                                                                  for a in ("yes", "yes", "no", "yes")]})
    fake_llm.add_rule(match=CHECKLIST_REQUEST, response={"checks": FAIL_CHECKS}, times=2)
    fake_llm.add_rule(match=CHECKLIST_REQUEST, response={"checks": PASS_CHECKS})
    # No canaries: the two failing checklists must land on real items, so that the spread is known.
    spec = make_spec(tmp_path, fake_llm, budget={"max_llm_calls": 120, "max_rounds": 4}, canaries={"enabled": False},
                     verifiers=[{"name": "rules"}, {"name": "llm_judge", "params": {"mode": "checklist"}}])
    report = run_suite(spec, workspace=tmp_path / "ws")

    assert report.outcome.stop_reason == "target_reached" and report.publish is not None
    outcome = report.outcome
    assert outcome.canaries == []
    everything = outcome.published + outcome.rejected
    judged = [(it, v) for it in everything if (v := it.verdict("llm_judge")) is not None]
    assert sum(1 for _, v in judged if v.details["checks"] == FAIL_CHECKS) == 2
    for _, v in judged:
        yes = v.details["answers"].count("yes") / len(v.details["answers"])
        assert v.score == pytest.approx(yes) == pytest.approx(0.25 if v.details["checks"] == FAIL_CHECKS else 0.75)
        assert v.passed == (v.score >= 0.75) and (v.passed or v.reason == "below_threshold")
    assert all(it.verdict("llm_judge").score == pytest.approx(0.75) for it in outcome.published)
    [health] = [r for r in outcome.reports["quality"] if r["stage"] == "llm_judge"]
    assert health["facts"]["score scale"] == "0-1 checklist share"
    assert {v.score for _, v in judged} == {0.25, 0.75}
    assert health["facts"]["items scored"] == len(judged)
    assert not any("barely vary" in w for w in health["warnings"])  # the scores do vary
