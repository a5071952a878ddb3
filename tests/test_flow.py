"""The whole pipeline against the fake OpenAI-compatible server: publish, rerun, faults, resume."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import datasets
import pytest
from suite_factory import SEEDS, make_spec

from benchsmith.errors import EndpointError
from benchsmith.flows.run_suite import run_suite
from benchsmith.process import free_port
from benchsmith.publish import verify_version
from benchsmith.store import Store

pytestmark = pytest.mark.usefixtures("prefect_local_api")

def test_run_publishes_a_loadable_verified_version(tmp_path: Path, fake_llm: Any) -> None:
    spec = make_spec(tmp_path, fake_llm)
    report = run_suite(spec, workspace=tmp_path / "ws")

    assert report.outcome.stop_reason == "target_reached"
    assert report.publish is not None and report.publish.status == "published"
    folder = report.publish.path
    assert verify_version(folder) == []
    ds = datasets.load_dataset(str(folder))
    rows = list(ds["test"])
    assert len(rows) == spec.target_items
    for row in rows:
        assert row["prompt"].strip() and row["reference_answer"].strip()
        assert row["lineage"]["generator"] == "evolve" and row["lineage"]["operator"]
        assert row["seed_id"] in {f"s{i}" for i in range(len(SEEDS))}
        stages = [v["stage"] for v in row["verdicts"]]
        assert stages == ["rules", "llm_judge", "dedup_exact", "dedup_semantic", "select"]
        assert all(v["passed"] for v in row["verdicts"])

    funnel = {s.stage: s for s in report.outcome.funnel.stages}
    assert list(funnel) == ["generate", "rules", "llm_judge", "dedup_exact", "dedup_semantic", "select"]
    assert funnel["select"].kept == spec.target_items
    assert funnel["generate"].received >= funnel["generate"].kept >= funnel["rules"].received
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["funnel"]["stages"][0]["stage"] == "generate"
    assert manifest["spec_hash"] == spec.spec_hash()

    with Store.open(tmp_path / "ws") as store:
        run = store.run(report.run_id)
        assert run.status == "succeeded" and run.version == report.publish.version
        saved = store.items_for_run(report.run_id)
        assert {it.id for it in saved if it.passed} == {r["id"] for r in rows}


def test_unchanged_rerun_makes_no_llm_calls_and_publishes_nothing(tmp_path: Path, fake_llm: Any) -> None:
    spec = make_spec(tmp_path, fake_llm)
    first = run_suite(spec, workspace=tmp_path / "ws")
    assert first.publish is not None
    before = fake_llm.stats()["requests"]

    second = run_suite(spec, workspace=tmp_path / "ws")
    assert fake_llm.stats()["requests"] == before
    assert second.publish is not None and second.publish.status == "exists"
    assert second.publish.version == first.publish.version
    assert sorted(p.name for p in (tmp_path / "outputs" / spec.suite).iterdir()) == [first.publish.version]

    third = run_suite(spec, workspace=tmp_path / "ws", new_version=True)
    assert fake_llm.stats()["requests"] == before
    assert third.publish is not None and third.publish.status == "published"
    assert third.publish.version != first.publish.version
    assert third.publish.parent == first.publish.version


def test_faulty_endpoint_run_finishes_and_records_drop_reasons(tmp_path: Path, fake_llm: Any) -> None:
    # Rate limits and transient 500s are retried; one seed's requests always fail; some answers are broken JSON.
    fake_llm.add_rule(status=429, retry_after=0, times=3)
    fake_llm.add_rule(status=500, times=2)
    fake_llm.add_rule(match="second largest distinct number", status=500)
    fake_llm.add_rule(match="perimeter of 30 cm", raw="{\"question\": \"truncated", times=4)
    fake_llm.add_rule(match="tank fills at 12 litres", hang_s=30, times=1)
    spec = make_spec(tmp_path, fake_llm)

    started = time.monotonic()
    report = run_suite(spec, workspace=tmp_path / "ws")
    assert time.monotonic() - started < 120

    generate = report.outcome.funnel.stages[0]
    assert generate.stage == "generate"
    assert generate.dropped.get("http_500", 0) >= 1, generate.dropped
    assert any(f.seed_id == "s1" and f.reason == "http_500" for f in report.outcome.failures)
    assert report.publish is not None
    rows = list(datasets.load_dataset(str(report.publish.path))["test"])
    assert rows and all(r["seed_id"] != "s1" for r in rows)
    for row in rows:
        assert isinstance(row["prompt"], str) and row["prompt"].strip()
        assert isinstance(row["reference_answer"], str) and row["reference_answer"].strip()
    assert report.usage["generator"]["retries"] >= 1


def test_unreachable_endpoint_fails_fast_naming_the_url(tmp_path: Path, fake_llm: Any) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    spec = make_spec(tmp_path, fake_llm, llm={
        "generator": {"base_url": url, "model": "m", "timeout_s": 2},
        "judge": {"base_url": url, "model": "m", "timeout_s": 2}, "max_retries": 2})
    started = time.monotonic()
    with pytest.raises(EndpointError) as err:
        run_suite(spec, workspace=tmp_path / "ws")
    assert time.monotonic() - started < 60
    assert url in str(err.value)
    with Store.open(tmp_path / "ws") as store:
        (run,) = store.runs(spec.suite)
        assert run.status == "failed" and url in (run.error or "")
    assert not (tmp_path / "outputs" / spec.suite).exists()


def test_budget_stop_is_reported(tmp_path: Path, fake_llm: Any) -> None:
    # The judge fails every item, so the target is never reached: the budget must stop the run.
    fake_llm.add_rule(match="\n\nReference answer:\n", response={
        "clarity": 1, "self_containedness": 1, "answerability": 1, "answer_correctness": 1, "difficulty": 1,
        "rationale": "unusable"})
    spec = make_spec(tmp_path, fake_llm, budget={"max_llm_calls": 30, "max_rounds": 10})
    report = run_suite(spec, workspace=tmp_path / "ws")
    assert report.outcome.stop_reason == "budget_exhausted"
    assert report.outcome.llm_calls <= 30
    assert report.publish is None
    judge = next(s for s in report.outcome.funnel.stages if s.stage == "llm_judge")
    assert judge.kept == 0 and judge.dropped


def test_crashed_run_resumes_without_repeating_generation(tmp_path: Path, fake_llm: Any) -> None:
    # The endpoint answers the probe and every generation, then refuses the key for the judge:
    # the run dies after generation (EndpointError ends it), as a crash would.
    fake_llm.add_rule(match="\n\nReference answer:\n", status=401)
    broken = make_spec(tmp_path, fake_llm)
    with pytest.raises(EndpointError):
        run_suite(broken, workspace=tmp_path / "ws")
    generated = sum(1 for r in fake_llm.requests() if "Reference answer:" not in r["messages"][-1]["content"])
    assert generated > 0

    fake_llm.reset()
    fixed = make_spec(tmp_path, fake_llm)
    report = run_suite(fixed, workspace=tmp_path / "ws")
    assert report.publish is not None and report.publish.status == "published"
    # Generation of the crashed run is replayed from its stored task result: no generator request again.
    assert not [r for r in fake_llm.requests() if "Reference answer:" not in r["messages"][-1]["content"]]
    assert report.usage.get("generator", {}).get("calls", 0) == 0 and report.usage["judge"]["calls"] > 0
    with Store.open(tmp_path / "ws") as store:
        assert [r.status for r in store.runs(fixed.suite)] == ["succeeded", "failed"]


def test_set_stages_run_in_the_flow_and_novelty_names_the_earlier_version(tmp_path: Path, fake_llm: Any) -> None:
    stages = [{"name": "rules"}, {"name": "llm_judge", "params": {"threshold": 3.0}},
              {"name": "dedup_minhash"}, {"name": "novelty"},
              {"name": "contamination", "params": {"references": ["humaneval"]}}]
    spec = make_spec(tmp_path, fake_llm, verifiers=stages, selection={"strategy": "diverse", "overgenerate": 1.5})
    first = run_suite(spec, workspace=tmp_path / "ws")
    assert first.publish is not None and first.publish.status == "published"
    names = [s.stage for s in first.outcome.funnel.stages]
    # Set stages run in one canonical order (cheap and exact first), as in `benchsmith dedup`.
    assert names == ["generate", "rules", "llm_judge", "dedup_exact", "dedup_minhash", "dedup_semantic",
                     "contamination", "novelty", "select"]
    manifest = json.loads((first.publish.path / "manifest.json").read_text())
    assert manifest["reports"]["diversity"]["clusters"], "diverse selection reports its clusters"
    assert "## Diversity" in (first.publish.path / "README.md").read_text()

    # Same generations under a changed spec: every item is already in the published version.
    again = make_spec(tmp_path, fake_llm, verifiers=stages, selection={"strategy": "diverse", "overgenerate": 1.5},
                      dedup={"threshold": 0.83})
    second = run_suite(again, workspace=tmp_path / "ws")
    novelty = next(s for s in second.outcome.funnel.stages if s.stage == "novelty")
    assert novelty.dropped.get("seen_in_earlier_version", 0) >= 1
    dropped = [it for it in second.outcome.rejected if (v := it.verdict("novelty")) and not v.passed]
    assert dropped and all(it.verdict("novelty").details["version"] == first.publish.version for it in dropped)


def test_bad_seed_line_fails_clearly_or_is_skipped_and_reported(tmp_path: Path, fake_llm: Any) -> None:
    from benchsmith.errors import SeedError

    spec = make_spec(tmp_path, fake_llm)
    with (tmp_path / "seeds.jsonl").open("a") as f:
        f.write('{"id": "broken", "prompt": \n')
    with pytest.raises(SeedError, match=r"seeds.jsonl:7"):
        run_suite(spec, workspace=tmp_path / "ws")
    assert fake_llm.stats()["requests"] == 0, "nothing may run on a bad seed file"

    report = run_suite(spec, workspace=tmp_path / "ws", skip_bad_seeds=True)
    assert [s.line for s in report.skipped_seeds] == [7]
    assert report.seed_count == len(SEEDS)
    assert report.publish is not None and report.publish.status == "published"
