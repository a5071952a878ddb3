"""The solver panel inside a real run: the `solver_panel` stage's calls are planned, its verdicts and
quality report reach the published version and its card; with `solvers:` the release is evaluated
before publishing and its card carries the figures (one fake server per panel model)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from published_factory import make_items
from suite_factory import SEEDS, make_spec

from benchsmith.evaluation import latest_evaluation
from benchsmith.flows.build_suite import RunOutcome
from benchsmith.flows.evaluate_release import evaluate_release
from benchsmith.flows.refresh import refresh_run
from benchsmith.flows.run_context import Ledger, RunConfig
from benchsmith.flows.run_suite import run_suite
from benchsmith.funnel import Funnel
from benchsmith.publish import publish_version, verify_version
from benchsmith.testing.fake_openai import FakeOpenAIServer

pytestmark = [pytest.mark.usefixtures("prefect_local_api"), pytest.mark.slow]


def test_run_with_a_solver_panel_records_every_models_answer(tmp_path: Path, fake_llm: Any) -> None:
    endpoint = {"base_url": fake_llm.base_url, "model": "fake-model", "timeout_s": 3}
    spec = make_spec(tmp_path, fake_llm, verifiers=[
        {"name": "rules"},
        {"name": "solver_panel", "params": {"roles": ["solver-a", "solver-b"], "keep_solve_rate": [0.0, 1.0]}}],
        canaries={"share": 0}, target_items=3,
        llm={"generator": endpoint, "judge": endpoint, "concurrency": 8, "max_retries": 1,
             "roles": {"solver-a": endpoint, "solver-b": {**endpoint, "model": "fake-2"}}})
    report = run_suite(spec, workspace=tmp_path / "ws")
    assert report.publish is not None and report.publish.status == "published"
    rows = pq.read_table(report.publish.path / "data" / "test.parquet").to_pylist()
    for row in rows:
        panel = next(v for v in row["verdicts"] if v["stage"] == "solver_panel")
        answers = json.loads(panel["details"])["answers"]
        assert set(answers) == {"solver-a", "solver-b"} and answers["solver-b"]["model"] == "fake-2"
    usage = report.usage
    assert usage["solver-a"]["calls"] >= len(rows) and usage["solver-b"]["calls"] >= len(rows)
    card = (report.publish.path / "README.md").read_text()
    assert "### Difficulty targeting (solver_panel)" in card and "solver-b (fake-2)" in card


# -- the release's quality figures: evaluated before publishing, in the card ---------------------------------

QUESTIONS = [  # (seed-specific evolved question, answer): most answers are 42, so "always 42" is a null model
    ("What is six multiplied by seven? [g0]", "42"),  # that scores above chance and must be flagged
    ("How many US gallons are in a standard barrel of crude oil? [g1]", "42"),
    ("What is the sum of the first six even numbers? [g2]", "42"),
    ("How many pips are there on a pair of ordinary six-sided dice? [g3]", "42"),
    ("In Douglas Adams' novel, what is the answer to life, the universe and everything? [g4]", "42"),
    ("How many minutes make a quarter of an hour? [g5]", "15"),
]
PANEL_SOLVES = {"alpha": range(6), "beta": range(3), "gamma": range(0)}


@pytest.fixture(scope="module")
def release_panel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, FakeOpenAIServer]]:
    servers = {name: FakeOpenAIServer(log_path=tmp_path_factory.mktemp("panel") / f"{name}.log").start()
               for name in PANEL_SOLVES}
    try:
        yield servers
    finally:
        for s in servers.values():
            s.stop()


def _script(servers: dict[str, FakeOpenAIServer], generator: FakeOpenAIServer,
            solves: dict[str, range] = PANEL_SOLVES) -> None:
    """The generator turns seed i into QUESTIONS[i]; each panel model answers the items it `solves` right."""
    for seed, (question, answer) in zip(SEEDS, QUESTIONS, strict=True):
        generator.add_rule(match=seed[:40], response={"question": question, "reference_answer": answer})
    for name, server in servers.items():
        server.reset()
        for n in solves.get(name, range(0)):
            server.add_rule(match=f"[g{n}]", response={"answer": QUESTIONS[n][1]})
        server.add_rule(response={"answer": "I don't know"})


def _panel_spec(servers: dict[str, FakeOpenAIServer]) -> list[dict[str, str]]:
    return [{"name": name, "model": "fake-model", "base_url": s.base_url} for name, s in servers.items()]


def test_a_release_carries_its_panel_figures_in_the_card(tmp_path: Path, fake_llm: FakeOpenAIServer,
                                                         release_panel: dict[str, FakeOpenAIServer]) -> None:
    _script(release_panel, fake_llm)
    (tmp_path / "arena.json").write_text(json.dumps({"alpha": 1300, "beta": 1200, "gamma": 1100}))
    spec = make_spec(tmp_path, fake_llm, verifiers=[{"name": "rules"}], canaries={"share": 0}, target_items=4,
                     solvers=_panel_spec(release_panel), solvers_reference="arena.json")
    report = run_suite(spec, workspace=tmp_path / "ws")
    pub = report.publish
    assert pub is not None and pub.status == "published"
    rows = pq.read_table(pub.path / "data" / "test.parquet").to_pylist()
    n = len(rows)
    index = {q: i for i, (q, _) in enumerate(QUESTIONS)}
    solved = {name: sum(index[r["prompt"]] in PANEL_SOLVES[name] for r in rows) for name in PANEL_SOLVES}
    # The panel's calls are the run's: one per model and item, on the run's usage.
    for name in PANEL_SOLVES:
        assert report.usage[f"solver:{name}"]["calls"] == n
    # The full results beside the version, named by it; the version folder untouched and verified.
    [results] = sorted((tmp_path / "outputs" / spec.suite / "evaluations" / pub.version).glob("*-release.json"))
    data = json.loads(results.read_text())
    assert data["version"] == pub.version and data["source_sha256"] == pub.manifest["files"]["data/test.parquet"]["sha256"]
    assert {m["name"]: m["accuracy"] for m in data["models"]} == {k: v / n for k, v in solved.items()}
    assert results.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert verify_version(pub.path) == []
    assert latest_evaluation(tmp_path / "outputs", spec.suite, pub.version)["run"] == data["run"]  # type: ignore[index]
    # The card's Quality section: panel, separability, agreement, null-model floor, difficulty.
    card = (pub.path / "README.md").read_text()
    section = card.split("### Solver panel evaluation", 1)[1].split("\n## ", 1)[0]
    assert "panel of 3 model(s) (alpha, beta, gamma)" in section and "Separability" in section
    assert f"alpha {solved['alpha'] / n:.1%}" in section and "Kendall's tau 1.00" in section
    assert "Null-model floor" in section and "above chance: constant answer ('42')" in section
    assert "Difficulty (share of the panel solving an item)" in section
    assert pub.manifest["reports"]["evaluation"]["separability"] == data["separability"]
    # The run summary flags the null model above chance.
    [quality] = [q for q in report.outcome.reports["quality"] if q["stage"] == "evaluation"]
    assert any("constant answer ('42')" in w and "above chance" in w for w in quality["warnings"])
    assert quality["facts"]["accuracy gamma"].startswith("0.0%")


def test_a_release_the_budget_cannot_evaluate_says_so(tmp_path: Path, fake_llm: FakeOpenAIServer,
                                                      release_panel: dict[str, FakeOpenAIServer]) -> None:
    spec = make_spec(tmp_path, fake_llm, solvers=_panel_spec(release_panel), budget={"max_llm_calls": 20})
    run = RunConfig(spec=spec, workspace=tmp_path / "ws", output_dir=tmp_path / "outputs", run_token="t")
    outcome = RunOutcome(suite=spec.suite, stop_reason="target_reached", funnel=Funnel(), published=make_items())
    before = [srv.stats()["requests"] for srv in release_panel.values()]
    assert asyncio.run(evaluate_release(run, outcome, Ledger(run))) is None
    assert [srv.stats()["requests"] for srv in release_panel.values()] == before  # nothing sent
    skipped = outcome.reports["evaluation"]["skipped"]
    assert "needs 36 LLM calls (3 model(s) x 12 items)" in skipped and "20 left" in skipped
    [quality] = outcome.reports["quality"]
    assert quality["warnings"] == [f"solver panel: {skipped}"]
    pub = publish_version(spec=spec, items=outcome.published, rejected=[], funnel=Funnel(), models={}, usage={},
                          stop_reason="target_reached", reports=outcome.reports, output_dir=tmp_path / "outputs")
    card = (pub.path / "README.md").read_text()
    assert "### Solver panel evaluation\n\nNot evaluated: the panel needs 36 LLM calls" in card
    assert not (tmp_path / "outputs" / spec.suite / "evaluations").exists()


def test_harden_in_a_run_replaces_an_item_every_model_solved(tmp_path: Path, fake_llm: FakeOpenAIServer,
                                                             release_panel: dict[str, FakeOpenAIServer]) -> None:
    # Both panel models solve every item; hardened, only alpha does (solve rate 1/2: in the band).
    for n in range(6):
        question, answer = QUESTIONS[n]
        fake_llm.add_rule(match=f"[g{n}]", response={
            "question": question.replace(f"[g{n}]", f"Then add nothing and double-check it. [k{n}]"),
            "reference_answer": answer})
    _script(release_panel, fake_llm, {"alpha": range(6), "beta": range(6)})
    release_panel["alpha"].reset()
    release_panel["alpha"].add_rule(match="[k", response={"answer": "42"})
    for n in range(6):
        release_panel["alpha"].add_rule(match=f"[g{n}]", response={"answer": QUESTIONS[n][1]})
    endpoint = {"base_url": fake_llm.base_url, "model": "fake-model", "timeout_s": 3}
    spec = make_spec(tmp_path, fake_llm, canaries={"share": 0}, target_items=3, verifiers=[
        {"name": "rules"},
        {"name": "solver_panel", "params": {"roles": ["alpha", "beta"], "keep_solve_rate": [0.1, 0.8],
                                            "harden": True}}],
        llm={"generator": endpoint, "judge": endpoint, "concurrency": 8, "max_retries": 1,
             "roles": {name: {"base_url": release_panel[name].base_url, "model": "fake-model", "timeout_s": 3}
                       for name in ("alpha", "beta")}})
    report = run_suite(spec, workspace=tmp_path / "ws")
    pub = report.publish
    assert pub is not None and pub.status == "published"
    published = pq.read_table(pub.path / "data" / "test.parquet").to_pylist()
    rejected = {r["id"]: r for r in pq.read_table(pub.path / "rejected" / "rejected.parquet").to_pylist()}
    hardened = [r for r in published if "hardened_from" in json.loads(r["metadata"])]
    assert len(hardened) == len(published) == 3
    for row in hardened:
        assert "[k" in row["prompt"] and [v["stage"] for v in row["verdicts"]][:2] == ["rules", "solver_panel"]
        original = rejected[json.loads(row["metadata"])["hardened_from"]]
        assert row["lineage"]["parent_id"] == original["id"]
        [panel] = [v for v in original["verdicts"] if v["stage"] == "solver_panel"]
        assert panel["reason"] == "too_easy" and json.loads(panel["details"])["hardened_into"] == row["id"]
    facts = next(q for q in report.outcome.reports["quality"] if q["stage"] == "solver_panel")["facts"]
    assert facts["hardened (sent back)"] >= facts["hardened, then in the band"] >= len(hardened)


def test_a_refresh_release_is_evaluated_on_its_whole_public_set(tmp_path: Path, fake_llm: FakeOpenAIServer,
                                                                release_panel: dict[str, FakeOpenAIServer]) -> None:
    for server in release_panel.values():  # the fake's own items (new ones every month); nobody solves any
        server.reset()
        server.add_rule(response={"answer": "I don't know"})
    spec = make_spec(tmp_path, fake_llm, target_items=6, budget={"max_llm_calls": 200, "max_rounds": 4},
                     canaries={"enabled": False}, solvers=_panel_spec(release_panel),
                     refresh={"enabled": True, "size": 6, "retire_share": 1 / 3})
    out = tmp_path / "outputs"
    refresh_run(spec, workspace=tmp_path / "ws", output_dir=out, today=date(2026, 11, 5))
    second = refresh_run(spec, workspace=tmp_path / "ws", output_dir=out, today=date(2026, 12, 3))
    assert second.status == "published" and second.version == "2026.12" and second.report is not None
    # Kept items + new ones: the six of the release, the kept ones answered from the cache.
    usage = second.report.usage["solver:alpha"]
    assert usage["calls"] == 2 and usage["cache_hits"] == 4
    [results] = (out / spec.suite / "evaluations" / "2026.12").glob("*-release.json")
    assert json.loads(results.read_text())["items"] == 6
    card = (out / spec.suite / "2026.12" / "README.md").read_text()
    assert "Evaluated by a panel of 3 model(s) (alpha, beta, gamma) on 6 items" in card


def test_a_reviewed_release_is_evaluated_when_it_is_published(tmp_path: Path, fake_llm: FakeOpenAIServer,
                                                              release_panel: dict[str, FakeOpenAIServer]) -> None:
    # Under review the version is written by the review gate, after the run's flow: the panel runs there.
    _script(release_panel, fake_llm)
    spec = make_spec(tmp_path, fake_llm, verifiers=[{"name": "rules"}], canaries={"share": 0}, target_items=4,
                     solvers=_panel_spec(release_panel),
                     review={"enabled": True, "gate": "decided", "audit_share": 0.0, "double_share": 0.0})
    before = {name: srv.stats()["requests"] for name, srv in release_panel.items()}
    report = run_suite(spec, workspace=tmp_path / "ws")
    pub = report.publish
    assert report.review is not None and pub is not None and pub.status == "published"
    n = len(pq.read_table(pub.path / "data" / "test.parquet"))
    assert {name: srv.stats()["requests"] - before[name] for name, srv in release_panel.items()} == \
        dict.fromkeys(release_panel, n)  # one answer per model and published item
    card = (pub.path / "README.md").read_text()
    assert "### Solver panel evaluation" in card and "panel of 3 model(s) (alpha, beta, gamma)" in card
    [results] = sorted((tmp_path / "outputs" / spec.suite / "evaluations" / pub.version).glob("*-release.json"))
    assert json.loads(results.read_text())["version"] == pub.version
    assert verify_version(pub.path) == []
