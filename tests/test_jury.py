"""A jury of judges on two fake OpenAI servers: aggregation, agreement, and a judge whose endpoint is down."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from suite_factory import make_spec

from benchsmith.canaries import is_canary
from benchsmith.errors import EndpointError, SpecError, is_transient
from benchsmith.flows.run_suite import run_suite
from benchsmith.llm.endpoints import build_clients
from benchsmith.process import free_port
from benchsmith.records import Item, Lineage
from benchsmith.spec import LLMSpec
from benchsmith.stages import StageContext
from benchsmith.testing.fake_openai import FakeOpenAIServer
from benchsmith.verifiers.judge import CRITERIA, JudgeConfig, LLMJudge

LIN = Lineage(generator="test")
JURY = ["judge", "judge_b", "judge_c"]
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
ITEMS = [Item.create(prompt=f"Jury question {w}: what is {i} plus {i}?", reference_answer=str(2 * i), lineage=LIN)
         for i, w in enumerate(WORDS)]
# Mean rubric score per item from server A (judge, judge_c) and server B (judge_b); threshold 3.0.
A = [5, 4, 2, 4, 2, 5, 3, 2]
B = [4, 1, 3, 2, 1, 5, 1, 5]


@pytest.fixture(scope="module")
def server_b(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(log_path=tmp_path_factory.mktemp("fake-b") / "server.log") as server:
        yield server


@pytest.fixture
def fake_b(server_b: FakeOpenAIServer) -> FakeOpenAIServer:
    server_b.reset()
    return server_b


def scores(s: int) -> dict[str, Any]:
    return {**{c: s for c in CRITERIA}, "rationale": f"all {s}"}


def jury_ctx(tmp_path: Path, a_url: str, b_url: str, *, max_retries: int = 1) -> StageContext:
    """Real clients for three roles: judge and judge_c on server A (two models), judge_b on B."""
    ep = {"temperature": 0.0, "max_tokens": 256, "timeout_s": 3.0}
    spec = LLMSpec(judge={"base_url": a_url, "model": "fake-model", **ep},
                   roles={"judge_b": {"base_url": b_url, "model": "fake-model-b", **ep},
                          "judge_c": {"base_url": a_url, "model": "fake-model-c", **ep}},
                   max_retries=max_retries)
    clients = build_clients(spec, cache_dir=tmp_path / "llm-cache", roles=tuple(JURY))
    return StageContext(llm=clients.__getitem__, workspace=tmp_path / "ws", roles=spec.role_names())


def script(fake_a: FakeOpenAIServer, fake_b: FakeOpenAIServer) -> None:
    for item, a, b in zip(ITEMS, A, B):
        fake_a.add_rule(match=item.prompt, response=scores(a))
        fake_b.add_rule(match=item.prompt, response=scores(b))


def run_jury(ctx: StageContext, items: list[Item], **config: Any) -> tuple[LLMJudge, list[Item]]:
    stage = LLMJudge({"judges": JURY, **config})
    verdicts = asyncio.run(stage.verify(items, ctx))
    return stage, [it.with_verdict(v) for it, v in zip(items, verdicts)]


def test_config_and_planned_calls() -> None:
    assert LLMJudge().calls_per_item() == 1
    assert LLMJudge({"judges": JURY}).calls_per_item() == 3
    assert LLMJudge({"judges": JURY, "mode": "checklist"}).calls_per_item() == 6
    with pytest.raises(ValidationError, match="twice"):
        JudgeConfig(judges=["judge", "judge"])
    with pytest.raises(ValidationError, match="min_judges"):
        JudgeConfig(judges=["judge", "judge_b"], min_judges=3)
    with pytest.raises(ValidationError):
        JudgeConfig(aggregate="median")


def test_unknown_role_is_a_spec_error_before_any_call(fake_llm: FakeOpenAIServer, fake_b: FakeOpenAIServer,
                                                      tmp_path: Path) -> None:
    ctx = jury_ctx(tmp_path, fake_llm.base_url, fake_b.base_url)
    with pytest.raises(SpecError, match="'judge_x'.*judge_b"):
        asyncio.run(LLMJudge({"judges": ["judge", "judge_x"]}).verify(ITEMS[:1], ctx))
    assert fake_llm.stats()["requests"] == 0


def test_mean_and_majority_verdicts_and_kappas(fake_llm: FakeOpenAIServer, fake_b: FakeOpenAIServer,
                                               tmp_path: Path) -> None:
    script(fake_llm, fake_b)
    ctx = jury_ctx(tmp_path, fake_llm.base_url, fake_b.base_url)

    stage, judged = run_jury(ctx, ITEMS, aggregate="mean")
    verdicts = [it.verdict("llm_judge") for it in judged]
    means = [(2 * a + b) / 3 for a, b in zip(A, B)]
    assert [v.score for v in verdicts] == pytest.approx([round(m, 4) for m in means])
    assert [v.passed for v in verdicts] == [m >= 3.0 for m in means]
    assert [v.passed for v in verdicts] == [True, True, False, True, False, True, False, True]
    first = verdicts[0].details
    assert first["votes"] == {"judge": True, "judge_b": True, "judge_c": True} and first["missing"] == {}
    assert first["judges"]["judge_b"]["scores"]["clarity"] == 4 and first["judges"]["judge_c"]["model"] == "fake-model-c"
    assert first["mean_scores"]["clarity"] == pytest.approx(round(14 / 3, 4))
    assert fake_llm.stats()["requests"] == 16 and fake_b.stats()["requests"] == 8

    # Majority of the judges' own votes: items 7 (3, 1, 3) and 8 (2, 5, 2) go the other way.
    _, by_vote = run_jury(ctx, ITEMS, aggregate="majority")
    votes = [it.verdict("llm_judge") for it in by_vote]
    assert [v.passed for v in votes] == [True, True, False, True, False, True, True, False]
    assert votes[7].reason == "majority_rejected" and votes[2].reason == "majority_rejected"
    assert fake_llm.stats()["requests"] == 16  # the same questions: answered from the cache

    report = stage.assess(judged)
    assert report is not None
    # Pass votes: judge = judge_c = P P F P F P P F; judge_b = P F P F F P F P.
    # Cohen judge/judge_b: agree on items 1, 5, 6 -> p_o = 3/8; p_e = 5/8 * 4/8 + 3/8 * 4/8 = 1/2.
    cohen_ab = (3 / 8 - 1 / 2) / (1 - 1 / 2)
    # Fleiss, 3 raters: per-item agreement 1 (items 1, 5, 6) or 1/3 (the other five) -> mean 7/12;
    # 14 of the 24 votes pass -> p_e = (14/24)^2 + (10/24)^2.
    p_e = (14 / 24) ** 2 + (10 / 24) ** 2
    fleiss = (7 / 12 - p_e) / (1 - p_e)
    assert report.data["kappa"]["cohen"]["judge/judge_b"] == pytest.approx(cohen_ab) == pytest.approx(-0.25)
    assert report.data["kappa"]["cohen"]["judge/judge_c"] == pytest.approx(1.0)
    assert report.data["kappa"]["cohen"]["judge_b/judge_c"] == pytest.approx(cohen_ab)
    assert report.data["kappa"]["fleiss"] == pytest.approx(fleiss) == pytest.approx(1 / 7)
    assert report.facts["Cohen's kappa judge / judge_b"] == "-0.250 (poor, 8 items)"
    assert report.facts["Fleiss' kappa (pass/fail, all judges)"] == "0.143 (slight, 8 items)"
    assert report.facts["judge_b pass rate"] == 0.5 and report.facts["items decided without judge_b"] == 0
    assert any("barely agree" in w and "0.14" in w for w in report.warnings)


def test_a_judge_on_a_closed_port_is_left_out(fake_llm: FakeOpenAIServer, tmp_path: Path) -> None:
    script(fake_llm, fake_llm)  # (server B is absent: its rules are never asked)
    dead = f"http://127.0.0.1:{free_port('127.0.0.1')}/v1"
    ctx = jury_ctx(tmp_path, fake_llm.base_url, dead)

    stage, judged = run_jury(ctx, ITEMS, aggregate="majority")
    verdicts = [it.verdict("llm_judge") for it in judged]
    # judge and judge_c decide alone; they agree, so their votes are server A's.
    assert [v.passed for v in verdicts] == [a >= 3 for a in A]
    for v in verdicts:
        assert v.details["missing"] == {"judge_b": "connection_error"}
        assert set(v.details["votes"]) == {"judge", "judge_c"}
        assert "cannot reach" in v.details["errors"]["judge_b"]
    report = LLMJudge({"judges": JURY, "aggregate": "majority"}).assess(judged)
    assert report is not None
    assert report.facts["items decided without judge_b"] == len(ITEMS)
    assert report.facts["judge_b pass rate"] == "no vote"
    assert any(w.startswith(f"judge_b gave no verdict on {len(ITEMS)} of {len(ITEMS)} items")
               and "connection_error" in w for w in report.warnings)
    assert stage._down["judge_b"].reason == "connection_error"  # asked once, then left out


def test_too_few_judges_drop_as_transient_and_no_judge_at_all_stops(fake_llm: FakeOpenAIServer,
                                                                    tmp_path: Path) -> None:
    script(fake_llm, fake_llm)
    dead = f"http://127.0.0.1:{free_port('127.0.0.1')}/v1"
    ctx = jury_ctx(tmp_path, fake_llm.base_url, dead)
    _, judged = run_jury(ctx, ITEMS[:2], min_judges=3)
    for it in judged:
        v = it.verdict("llm_judge")
        assert not v.passed and v.reason == "judge_error:connection_error" and is_transient(v.reason)
        assert v.details["missing"] == {"judge_b": "connection_error"}

    with pytest.raises(EndpointError, match="cannot reach"):
        asyncio.run(LLMJudge({"judges": ["judge_b"]}).verify(ITEMS[:2], ctx))


def test_bad_output_from_one_judge_leaves_it_out_of_that_item(fake_llm: FakeOpenAIServer, fake_b: FakeOpenAIServer,
                                                              tmp_path: Path) -> None:
    fake_b.add_rule(match=ITEMS[0].prompt, raw="{broken")
    fake_b.add_rule(match="Your reply was not valid", raw="still {broken")
    script(fake_llm, fake_b)
    ctx = jury_ctx(tmp_path, fake_llm.base_url, fake_b.base_url)
    _, judged = run_jury(ctx, ITEMS[:2])
    first, second = (it.verdict("llm_judge") for it in judged)
    assert first.details["missing"] == {"judge_b": "invalid_json"} and first.score == pytest.approx(A[0])
    assert second.details["missing"] == {} and second.score == pytest.approx(round((2 * A[1] + B[1]) / 3, 4))


@pytest.mark.usefixtures("prefect_local_api")
def test_flow_with_a_jury_judge_down_is_decided_by_the_others(tmp_path: Path, fake_llm: FakeOpenAIServer,
                                                              fake_b: FakeOpenAIServer) -> None:
    # judge_b's endpoint answers the probe (GET /models) but every chat request with HTTP 503:
    # a dead backend behind its gateway. judge and judge_c decide without it.
    fake_b.add_rule(status=503, message="backend down")
    endpoint = {"base_url": fake_llm.base_url, "model": "fake-model", "timeout_s": 3}
    judge = {**endpoint, "temperature": 0.0, "max_tokens": 256}
    llm = {"generator": endpoint, "judge": judge, "concurrency": 8, "max_retries": 1,
           "roles": {"judge_b": {**judge, "base_url": fake_b.base_url, "model": "fake-model-b"},
                     "judge_c": {**judge, "model": "fake-model-c"}}}
    spec = make_spec(tmp_path, fake_llm, llm=llm, budget={"max_llm_calls": 200, "max_rounds": 4},
                     verifiers=[{"name": "rules"},
                                {"name": "llm_judge", "params": {"judges": JURY, "aggregate": "mean"}}])
    report = run_suite(spec, workspace=tmp_path / "ws")

    assert report.publish is not None and report.publish.status == "published"
    judged = [v for it in report.outcome.published + report.outcome.rejected
              if not is_canary(it) and (v := it.verdict("llm_judge")) is not None]
    assert judged and all(v.details["missing"].get("judge_b") == "http_503" for v in judged)
    assert all(set(v.details["votes"]) == {"judge", "judge_c"} for v in judged)
    [health] = [r for r in report.outcome.reports["quality"] if r["stage"] == "llm_judge"]
    assert health["facts"]["items decided without judge_b"] == len(judged)
    assert any(w.startswith("judge_b gave no verdict on") and "http_503" in w for w in health["warnings"])
    card = (report.publish.path / "README.md").read_text()
    assert f"| items decided without judge_b | {len(judged)} |" in card and "judge_b gave no verdict" in card


def _jury_spec(tmp_path: Path, fake_llm: FakeOpenAIServer, judge_b_url: str, judges: list[str]) -> Any:
    endpoint = {"base_url": fake_llm.base_url, "model": "fake-model", "timeout_s": 3}
    judge = {**endpoint, "temperature": 0.0, "max_tokens": 256}
    llm = {"generator": endpoint, "judge": judge, "concurrency": 8, "max_retries": 1,
           "roles": {"judge_b": {**judge, "base_url": judge_b_url, "model": "fake-model-b"},
                     "judge_c": {**judge, "model": "fake-model-c"}}}
    return make_spec(tmp_path, fake_llm, llm=llm, budget={"max_llm_calls": 200, "max_rounds": 4},
                     verifiers=[{"name": "rules"}, {"name": "llm_judge", "params": {"judges": judges}}])


def test_a_jury_judge_unreachable_at_start_does_not_stop_the_run(tmp_path: Path, fake_llm: FakeOpenAIServer) -> None:
    # Nothing listens on judge_b's port: the pre-flight probe fails for it, and the jury keeps two judges.
    dead = f"http://127.0.0.1:{free_port('127.0.0.1')}/v1"
    report = run_suite(_jury_spec(tmp_path, fake_llm, dead, JURY), workspace=tmp_path / "ws")

    assert report.publish is not None and report.publish.status == "published"
    judged = [v for it in report.outcome.published + report.outcome.rejected
              if not is_canary(it) and (v := it.verdict("llm_judge")) is not None]
    assert judged and all(v.details["missing"].get("judge_b") == "connection_error" for v in judged)
    [health] = [r for r in report.outcome.reports["quality"] if r["stage"] == "llm_judge"]
    assert health["facts"]["items decided without judge_b"] == len(judged)


def test_an_unreachable_judge_that_decides_alone_stops_the_run_before_any_call(
        tmp_path: Path, fake_llm: FakeOpenAIServer) -> None:
    dead = f"http://127.0.0.1:{free_port('127.0.0.1')}/v1"
    before = fake_llm.stats()["requests"]
    with pytest.raises(EndpointError, match="cannot serve this run") as err:
        run_suite(_jury_spec(tmp_path, fake_llm, dead, ["judge_b"]), workspace=tmp_path / "ws")
    assert dead.removesuffix("/v1") in str(err.value)
    assert fake_llm.stats()["requests"] == before  # no chat call was made
