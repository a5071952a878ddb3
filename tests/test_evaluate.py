"""`benchsmith evaluate`: a solver panel on a published version, against fake OpenAI servers.

Each panel model is its own fake server (the fake answers by the question, not by the model
name), scripted to answer a known set of items right, in the reply forms models use.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml
from published_factory import SUITE, make_items, marker, publish_mini
from typer.testing import CliRunner

from benchsmith.cli import app
from benchsmith.errors import SpecError
from benchsmith.evaluation import (
    evaluate_version,
    latest_evaluation,
    parse_choice,
    parse_model_option,
    score_reply,
    stats,
)
from benchsmith.exports import VersionNotFoundError, view
from benchsmith.llm.client import LLMClient
from benchsmith.llm.usage import CallBudget, UsageMeter
from benchsmith.pipeline import run_stages
from benchsmith.publish import verify_version
from benchsmith.records import Item
from benchsmith.spec import SolverSpec, SuiteSpec
from benchsmith.stages import StageContext, verifiers
from benchsmith.testing.fake_openai import FakeOpenAIServer

# A right answer to item n, in the forms models give them.
RIGHT = {0: "Paris", 1: "155.0", 2: "Carbon dioxide.", 3: "The answer is 42", 4: "jane austen", 5: "6",
         6: "The answer is (B)", 7: "a)", 8: "C", 9: "b", 10: "True", 11: "B. False"}
SOLVES = {"alpha": range(0, 9), "beta": range(0, 6), "gamma": range(0, 3)}


@pytest.fixture(scope="module")
def panel_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, FakeOpenAIServer]]:
    servers = {name: FakeOpenAIServer(log_path=tmp_path_factory.mktemp("fake") / f"{name}.log").start()
               for name in SOLVES}
    try:
        yield servers
    finally:
        for s in servers.values():
            s.stop()


@pytest.fixture
def panel(panel_servers: dict[str, FakeOpenAIServer]) -> list[SolverSpec]:
    for name, server in panel_servers.items():
        server.reset()
        for n in SOLVES[name]:
            server.add_rule(match=marker(n), response={"answer": RIGHT[n]})
        server.add_rule(response={"answer": "I don't know"})
    return [SolverSpec(name=name, model="fake-model", base_url=s.base_url) for name, s in panel_servers.items()]


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    root = tmp_path / "outputs"
    publish_mini(root)
    return root


@pytest.mark.parametrize("reply,index", [("B", 1), ("b)", 1), ("(B)", 1), ("The answer is (B)", 1), ("Answer: b", 1),
                                         ("B. Jupiter", 1), ("Jupiter", 1), ("I think it is Jupiter.", 1),
                                         ("Option C", 2), ("a", 0), ("A train", None), ("I don't know", None)])
def test_choice_replies_in_unexpected_forms(reply: str, index: int | None) -> None:
    found = parse_choice(reply, ("Mars", "Jupiter", "Venus", "Mercury"))
    assert (found[0] if found else None) == index


@pytest.mark.parametrize("n,reply,correct", [(3, "42.0", True), (3, "42", True), (3, "The answer is 42.", True),
                                             (3, "41", False), (1, "155 minutes", True), (1, "2 h 35 min", False),
                                             (0, "It is Paris.", True), (0, "London", False), (10, "false", False),
                                             (11, "False", True), (4, "Jane Austen", True)])
def test_open_and_true_false_scoring(n: int, reply: str, correct: bool) -> None:
    assert score_reply(view(make_items()[n]), reply).correct is correct


def test_bootstrap_separability_and_discrimination() -> None:
    rng = np.random.default_rng(3)
    scores = (rng.random((4, 2000)) < np.array([[0.3], [0.5], [0.52], [0.8]])).astype(float)
    boot, ci = stats.bootstrap_accuracy(scores, resamples=1000)
    assert boot.shape == (4, 1000)
    for row, interval in zip(scores, ci, strict=True):
        assert interval.low < row.mean() < interval.high and interval.high - interval.low < 0.06
    assert ci[1].overlaps(ci[2]) and not ci[0].overlaps(ci[3])
    assert stats.separability(ci) == pytest.approx(5 / 6)
    assert stats.separability(ci[:1]) is None
    agreement = stats.rank_agreement(["a", "b", "c", "d"], list(scores.mean(axis=1)), ci, boot,
                                     {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0})
    assert agreement.kendall_tau == pytest.approx(1.0) and agreement.agreement_with_confidence == 1.0
    assert agreement.confident_pairs == 5 and agreement.brier is not None and agreement.brier < 0.05
    d = stats.item_discrimination(np.array([[1, 1, 1, 1.0], [1, 1, 1, 0], [1, 0, 0, 0]]))
    assert d[0] is None  # every model solved it: nothing to discriminate
    assert d[1] is not None and d[1] > 0.8 and d[3] is not None and d[3] > 0


def test_panel_figures_match_the_scripted_answers(outputs: Path, tmp_path: Path, panel: list[SolverSpec],
                                                  panel_servers: dict[str, FakeOpenAIServer]) -> None:
    reference = {"alpha": 1300.0, "beta": 1200.0, "gamma": 1100.0}
    result = evaluate_version(outputs, SUITE, None, panel, workspace=tmp_path / "ws", reference=reference,
                              run="r1", concurrency=8)
    acc = {r.name: r.accuracy for r in result.models}
    assert acc == {"alpha": 9 / 12, "beta": 6 / 12, "gamma": 3 / 12}
    for row in result.models:
        assert row.ci95 is not None and row.ci95[0] <= row.accuracy <= row.ci95[1]  # type: ignore[operator]
    assert result.separability is not None and 0.0 <= result.separability <= 1.0
    assert result.agreement is not None and result.agreement.kendall_tau == pytest.approx(1.0)
    nulls = {r.name: r for r in result.null_models}
    assert nulls["'I don't know'"].accuracy == 0.0 and nulls["always option A"].accuracy == 2 / 12
    assert not any(r.above_chance for r in result.null_models)
    per_item = result.data["per_item"]
    assert [round(p["difficulty"], 3) for p in per_item] == [1.0] * 3 + [0.667] * 3 + [0.333] * 3 + [0.0] * 3
    assert per_item[0]["discrimination"] is None and per_item[6]["discrimination"] > 0
    assert per_item[6]["answers"]["alpha"] == {"reply": "The answer is (B)", "error": None, "correct": True,
                                              "method": "letter"}
    assert result.difficulty_histogram == [3, 3, 0, 3, 3]
    # Beside the version, never in it; the version still verifies.
    folder = outputs / SUITE / "evaluations" / "v1"
    assert result.paths["json"] == folder / "r1.json" and result.paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| alpha | 75.0% |" in result.paths["markdown"].read_text()
    assert verify_version(outputs / SUITE / "v1") == []
    assert latest_evaluation(outputs, SUITE, "v1")["run"] == "r1"  # type: ignore[index]
    # A rerun answers from the cache: no request reaches the servers.
    before = [srv.stats()["requests"] for srv in panel_servers.values()]
    assert before == [12, 12, 12]
    again = evaluate_version(outputs, SUITE, "v1", panel, workspace=tmp_path / "ws", run="r2")
    assert [r.accuracy for r in again.models] == [9 / 12, 6 / 12, 3 / 12]
    assert [srv.stats()["requests"] for srv in panel_servers.values()] == before


def test_a_null_model_above_chance_is_flagged(tmp_path: Path, panel: list[SolverSpec]) -> None:
    # Every MCQ answer is option A: "always option A" scores 100% there.
    items = [Item.create(prompt=it.prompt, reference_answer=it.choices[0], kind="mcq", choices=it.choices,
                         lineage=it.lineage) for it in make_items() if it.kind == "mcq"]
    publish_mini(tmp_path / "o", items)
    result = evaluate_version(tmp_path / "o", SUITE, None, panel[:2], workspace=tmp_path / "ws", run="n")
    flagged = {r.name: r.above_chance for r in result.null_models}
    assert flagged["always option A"] is True and flagged["'I don't know'"] is False
    assert any("always option A" in w and "above chance" in w for w in result.flagged)


def test_one_model_panel_and_a_dead_endpoint(outputs: Path, tmp_path: Path, panel: list[SolverSpec]) -> None:
    one = evaluate_version(outputs, SUITE, None, panel[:1], workspace=tmp_path / "ws", run="one")
    assert one.separability is None and "undefined" in (one.separability_note or "")
    assert "undefined" in one.paths["markdown"].read_text()
    dead = SolverSpec(name="dead", model="m", base_url="http://127.0.0.1:9/v1", timeout_s=2)
    result = evaluate_version(outputs, SUITE, None, [*panel[:2], dead], workspace=tmp_path / "ws", run="dead")
    rows = {r.name: r for r in result.models}
    assert rows["dead"].accuracy is None and rows["dead"].failed == 12
    assert "failed every item" in (rows["dead"].note or "")
    assert rows["alpha"].accuracy == 9 / 12 and rows["beta"].accuracy == 6 / 12
    assert result.separability is not None  # over the two scored models
    assert any(w.startswith("dead: failed every item") for w in result.flagged)


def test_bad_input_is_a_clear_error(outputs: Path, tmp_path: Path, panel: list[SolverSpec]) -> None:
    with pytest.raises(VersionNotFoundError, match="published versions"):
        evaluate_version(outputs, SUITE, "v5", panel, workspace=tmp_path / "ws")
    with pytest.raises(SpecError, match="no solver panel"):
        evaluate_version(outputs, SUITE, None, [], workspace=tmp_path / "ws")
    with pytest.raises(SpecError, match="expected NAME@BASE_URL"):
        parse_model_option("gpt-4o")
    assert parse_model_option("big=Qwen2.5-72B@http://gpu:8000/v1/").base_url == "http://gpu:8000/v1"
    with pytest.raises(ValueError, match="solver name listed twice"):
        SuiteSpec.model_validate({"suite": "s", "seeds": {"path": "x"}, "target_items": 1,
                                  "generators": [{"name": "evolve"}],
                                  "solvers": [{"model": "m", "base_url": "http://a/v1"},
                                              {"model": "m", "base_url": "http://b/v1"}]})


def test_cli_runs_the_panel_from_a_spec_and_a_reference_file(outputs: Path, tmp_path: Path,
                                                             panel: list[SolverSpec]) -> None:
    spec = {"suite": SUITE, "seeds": {"path": "seeds.jsonl"}, "target_items": 5, "generators": [{"name": "evolve"}],
            "solvers": [{"name": s.name, "model": s.model, "base_url": s.base_url} for s in panel]}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    (tmp_path / "arena.csv").write_text("model,score\nalpha,1250\nbeta,1180\ngamma,1010\n")
    res = CliRunner().invoke(app, ["evaluate", SUITE, "-o", str(outputs), "-w", str(tmp_path / "ws"), "--spec",
                                   str(tmp_path / "spec.yaml"), "--reference", str(tmp_path / "arena.csv"),
                                   "--run", "cli"])
    assert res.exit_code == 0, res.output
    assert "75.0%" in res.output and "Kendall's tau 1.00" in res.output and "separability" in res.output
    data = json.loads((outputs / SUITE / "evaluations" / "v1" / "cli.json").read_text())
    assert [m["name"] for m in data["models"]] == ["alpha", "beta", "gamma"]
    res = CliRunner().invoke(app, ["evaluate", SUITE, "-o", str(outputs), "--model", "nourl"])
    assert res.exit_code == 2 and "expected NAME@BASE_URL" in res.output
    # `benchsmith versions` shows the latest evaluation of each version.
    res = CliRunner().invoke(app, ["versions", SUITE, "-o", str(outputs), "--json"])
    assert res.exit_code == 0, res.output
    [v1] = json.loads(res.stdout)["versions"]
    assert v1["evaluation"]["run"] == "cli" and v1["evaluation"]["best_model"] == "alpha"
    assert v1["evaluation"]["best_accuracy"] == 0.75 and v1["evaluation"]["separability"] == data["separability"]
    res = CliRunner().invoke(app, ["versions", SUITE, "-o", str(outputs)], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "alpha 75.0%, sep" in res.output, res.output


# -- the solver_panel stage: the same panel while generating ------------------------------------------------

def _panel_ctx(panel_servers: dict[str, FakeOpenAIServer], tmp_path: Path) -> StageContext:
    clients = {name: LLMClient(base_url=s.base_url, model="fake-model", role=name, max_retries=1, timeout_s=3,
                               backoff_base_s=0.01, cache_dir=tmp_path / "cache")
               for name, s in panel_servers.items()}
    return StageContext(llm=clients.__getitem__, workspace=tmp_path / "ws", roles=tuple(clients))


def test_solver_panel_stage_keeps_the_items_that_split_the_panel(panel: list[SolverSpec], tmp_path: Path,
                                                                panel_servers: dict[str, FakeOpenAIServer]) -> None:
    stage = verifiers.get("solver_panel")({"roles": list(SOLVES), "keep_solve_rate": [0.1, 0.8],
                                           "rank_by_split": True})
    assert stage.calls_per_item() == 3
    verdicts = asyncio.run(stage.verify(make_items(), _panel_ctx(panel_servers, tmp_path)))
    reasons = [v.reason for v in verdicts]
    # Items 0-2 solved by all three (too easy), 3-5 by two, 6-8 by one, 9-11 by none (too hard).
    assert reasons == ["too_easy"] * 3 + [None] * 6 + ["too_hard"] * 3
    assert [v.details["solve_rate"] for v in verdicts[::3]] == [1.0, 2 / 3, 1 / 3, 0.0]
    kept = verdicts[3]
    assert kept.passed and kept.ranks_quality and kept.score == pytest.approx(1 - abs(2 * 2 / 3 - 1))
    assert kept.details["answers"]["alpha"]["reply"] == RIGHT[3] and kept.details["answers"]["alpha"]["correct"]
    assert kept.details["answers"]["gamma"] == {"model": "fake-model", "reply": "I don't know", "correct": False,
                                                "method": "exact", "undecided": False}
    assert stage.drops == {"too_easy": 3, "too_hard": 3}
    judged = [it.with_verdict(v) for it, v in zip(make_items(), verdicts, strict=True)]
    report = stage.assess(judged)
    assert report is not None and report.facts["kept"] == 6 and report.facts["dropped too_easy"] == 3
    assert report.data["histogram"] == [3, 3, 0, 3, 3]
    assert report.data["per_model"] == {"alpha": 9 / 12, "beta": 6 / 12, "gamma": 3 / 12}
    assert report.facts["panel"] == "alpha (fake-model), beta (fake-model), gamma (fake-model)"


def test_solver_panel_stage_leaves_out_a_failing_model(panel: list[SolverSpec], tmp_path: Path,
                                                      panel_servers: dict[str, FakeOpenAIServer]) -> None:
    panel_servers["gamma"].reset()
    panel_servers["gamma"].add_rule(status=500)
    stage = verifiers.get("solver_panel")({"roles": list(SOLVES), "keep_solve_rate": [0.1, 0.8]})
    verdicts = asyncio.run(stage.verify(make_items()[3:9], _panel_ctx(panel_servers, tmp_path)))
    assert all(v.details["missing"] == {"gamma": "http_500"} for v in verdicts)
    # Items 3-5: alpha and beta solve them (gamma left out: too easy); 6-8: alpha only.
    assert [v.details["solve_rate"] for v in verdicts] == [1.0] * 3 + [0.5] * 3
    assert [v.passed for v in verdicts] == [False] * 3 + [True] * 3
    with pytest.raises(ValueError, match="keep_solve_rate"):
        verifiers.get("solver_panel")({"roles": ["a"], "keep_solve_rate": [0.9, 0.1]})


def test_a_judge_decides_long_answers(tmp_path: Path, panel_servers: dict[str, FakeOpenAIServer]) -> None:
    lineage = make_items()[0].lineage
    long_ref = "Because sunlight is scattered by the molecules of the air, blue light more than red light."
    items = [Item.create(prompt=f"Why is the sky blue? {marker(0)}", reference_answer=long_ref, lineage=lineage),
             Item.create(prompt=f"Why is the sea salty? {marker(1)}",
                         reference_answer="Rivers carry dissolved minerals into it and evaporation leaves the salt.",
                         lineage=lineage)]
    publish_mini(tmp_path / "o", items)
    solver, judge = panel_servers["alpha"], panel_servers["beta"]
    solver.reset()
    solver.add_rule(response={"answer": "Air molecules scatter blue light more strongly than red light."})
    judge.reset()
    judge.add_rule(match="Why is the sky blue", response={"equivalent": True})
    judge.add_rule(response={"equivalent": False})
    panel = [SolverSpec(name="alpha", model="fake-model", base_url=solver.base_url)]
    without = evaluate_version(tmp_path / "o", SUITE, None, panel, workspace=tmp_path / "ws", run="a")
    assert without.models[0].accuracy == 0.0 and without.models[0].undecided == 2
    judged = evaluate_version(tmp_path / "o", SUITE, None, panel, workspace=tmp_path / "ws", run="b",
                              judge=SolverSpec(name="judge", model="fake-model", base_url=judge.base_url))
    assert judged.models[0].accuracy == 0.5 and judged.models[0].undecided == 0
    assert [p["answers"]["alpha"]["method"] for p in judged.data["per_item"]] == ["judge", "judge"]


# -- harden: items every model solved get one more in-depth evolution step ------------------------------------

HARDER = {0: ("What is the capital of France, and of which region is it also the capital? [h00]", "Paris"),
          1: ("A train leaves at 9:10, waits 15 minutes halfway and arrives at 11:45. Minutes moving? [h01]", "140")}


def _script_hardening(panel_servers: dict[str, FakeOpenAIServer], generator: FakeOpenAIServer) -> None:
    """The panel solves items 0-2; alpha alone solves hardened item 0 (in the band), nobody hardened item 1;
    the generator hardens items 0 and 1 and fails on item 2."""
    for name, server in panel_servers.items():
        server.reset()
        if name == "alpha":
            server.add_rule(match="[h00]", response={"answer": "Paris"})
        for n in range(3):
            server.add_rule(match=marker(n), response={"answer": RIGHT[n]})
        server.add_rule(response={"answer": "I don't know"})
    generator.reset()
    for n, (question, answer) in HARDER.items():
        generator.add_rule(match=marker(n), response={"question": question, "reference_answer": answer})
    generator.add_rule(match=marker(2), status=400)


def _harden_ctx(panel_servers: dict[str, FakeOpenAIServer], generator: FakeOpenAIServer, tmp_path: Path,
                budget: CallBudget | None = None) -> StageContext:
    usage = UsageMeter()
    clients = {name: LLMClient(base_url=s.base_url, model="fake-model", role=name, max_retries=0, timeout_s=3,
                               cache_dir=tmp_path / "cache", budget=budget, usage=usage)
               for name, s in panel_servers.items()}
    clients["generator"] = LLMClient(base_url=generator.base_url, model="fake-gen", role="generator", max_retries=0,
                                     timeout_s=3, cache_dir=tmp_path / "cache", budget=budget, usage=usage)
    return StageContext(llm=clients.__getitem__, workspace=tmp_path / "ws", roles=tuple(clients))


def test_harden_sends_solved_items_back_and_keeps_the_hardened_one_in_the_band(
        tmp_path: Path, panel_servers: dict[str, FakeOpenAIServer], fake_llm: FakeOpenAIServer) -> None:
    _script_hardening(panel_servers, fake_llm)
    originals = make_items()[:3]
    rules = verifiers.get("rules")()
    stage = verifiers.get("solver_panel")({"roles": list(SOLVES), "keep_solve_rate": [0.1, 0.8], "harden": True})
    out = asyncio.run(run_stages([rules, stage], originals, _harden_ctx(panel_servers, fake_llm, tmp_path)))
    by_id = {it.id: it for it in out}
    # The originals stay, dropped as too easy, each naming its hardened candidate (or why there is none).
    assert [it.id for it in out[:3]] == [it.id for it in originals]
    assert [it.failed_verdict.reason for it in out[:3]] == ["too_easy"] * 3  # type: ignore[union-attr]
    details = [it.verdict("solver_panel").details for it in out[:3]]  # type: ignore[union-attr]
    assert details[2]["harden"] == "failed: http_400" and "hardened_into" not in details[2]
    hard0, hard1 = by_id[details[0]["hardened_into"]], by_id[details[1]["hardened_into"]]
    assert len(out) == 5 and hard0.prompt == HARDER[0][0] and hard1.reference_answer == "140"
    # Hardened 0: re-judged from the first stage on, alpha alone solves it: in the band, kept.
    assert [v.stage for v in hard0.verdicts] == ["rules", "solver_panel"] and hard0.passed
    panel_verdict = hard0.verdict("solver_panel")
    assert panel_verdict is not None and panel_verdict.details["solve_rate"] == pytest.approx(1 / 3)
    assert "hardened_into" not in panel_verdict.details  # one step only
    # Hardened 1: nobody solves it: dropped, the original stays dropped too (nothing replaced).
    assert hard1.failed_verdict is not None and hard1.failed_verdict.reason == "too_hard"
    # Lineage records the step.
    assert hard0.lineage.parent_id == originals[0].id and hard0.metadata["hardened_from"] == originals[0].id
    assert hard0.lineage.generator == "evolve" and hard0.lineage.operator == details[0]["harden_operator"]
    assert hard0.metadata["evolution_step"] == 2 and hard0.lineage.seed_id == originals[0].lineage.seed_id
    report = stage.assess(out)
    assert report is not None and report.facts["hardened (sent back)"] == 2 and report.facts["hardened, then in the band"] == 1
    # Without `harden` nothing goes back to the generator.
    fake_llm.reset()
    plain = verifiers.get("solver_panel")({"roles": list(SOLVES), "keep_solve_rate": [0.1, 0.8]})
    out = asyncio.run(run_stages([plain], originals, _harden_ctx(panel_servers, fake_llm, tmp_path / "b")))
    assert len(out) == 3 and fake_llm.stats()["requests"] == 0


def test_harden_spends_only_what_the_budget_leaves(tmp_path: Path, panel_servers: dict[str, FakeOpenAIServer],
                                                   fake_llm: FakeOpenAIServer) -> None:
    _script_hardening(panel_servers, fake_llm)
    stage = verifiers.get("solver_panel")({"roles": list(SOLVES), "harden": True})
    budget = CallBudget(3)  # the panel's three answers to the one item, nothing more
    out = asyncio.run(run_stages([stage], make_items()[:1], _harden_ctx(panel_servers, fake_llm, tmp_path, budget),
                                 budget_drops=True))
    assert len(out) == 1 and out[0].failed_verdict is not None and out[0].failed_verdict.reason == "too_easy"
    assert out[0].verdict("solver_panel").details["harden"] == "budget_exhausted"  # type: ignore[union-attr]
    assert fake_llm.stats()["requests"] == 0 and budget.used == 3
    with pytest.raises(ValueError, match="unknown operator 'deepn'"):
        verifiers.get("solver_panel")({"roles": ["a"], "harden": True, "harden_operators": ["deepn"]})
