"""Chaos: random 429s, 5xx, hangs and invalid JSON from the endpoint, and a run killed at a random point.

The fake server draws its faults from a seeded RNG (`configure(fault_rates=..., seed=...)`).
Under 20% faults a run still publishes exactly its target, and every published row is
well formed; a SIGKILLed run resumed in the same workspace sends no more requests, in all,
than a clean run (plus what was in flight at the kill).
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import datasets
import httpx
import pytest
import yaml
from suite_factory import SEEDS, make_spec

from benchsmith.flows.run_suite import run_suite
from benchsmith.testing.fake_openai import FAULT_KINDS
from benchsmith.testing.rows import malformed_rows

REPO = Path(__file__).resolve().parents[1]
RATES = {"429": 0.05, "500": 0.05, "hang": 0.05, "invalid_json": 0.05}
_ID = re.compile(r"^[0-9a-f]{16}$")


# -- the fault draw ----------------------------------------------------------------------

def _chat(http: httpx.Client, i: int) -> tuple[int, str | None, bool]:
    """One schema-constrained request: (status, x-fake-fault header, content parses as JSON)."""
    body = {"model": "fake-model", "messages": [{"role": "user", "content": f"question {i}"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {
                "type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}}}}
    r = http.post("/v1/chat/completions", json=body)
    fault = r.headers.get("x-fake-fault")
    if r.status_code != 200:
        return r.status_code, fault, False
    content = r.json()["choices"][0]["message"]["content"]
    try:
        json.loads(content)
        parses = True
    except ValueError:
        parses = False
    return r.status_code, fault, parses


def _draws(fake_llm: Any, n: int, seed: int) -> list[tuple[int, str | None, bool]]:
    fake_llm.reset()
    fake_llm.configure(fault_rates=RATES, seed=seed, hang_s=0.0)
    with httpx.Client(base_url=fake_llm.root_url, timeout=10.0, trust_env=False) as http:
        return [_chat(http, i) for i in range(n)]


def test_faults_are_deterministic_per_seed_and_match_the_rates(fake_llm: Any) -> None:
    n = 2000
    first = _draws(fake_llm, n, seed=7)
    stats = fake_llm.stats()
    counts = {kind: sum(1 for _, f, _ in first if f == kind) for kind in FAULT_KINDS}
    assert stats["faults"] == {k: v for k, v in counts.items() if v}, (stats["faults"], counts)
    for kind, rate in RATES.items():
        assert abs(counts[kind] / n - rate) <= 0.02, (kind, counts)
    assert abs(sum(counts.values()) / n - sum(RATES.values())) <= 0.04, counts
    # Each kind looks like what it says.
    for status, fault, parses in first:
        if fault == "429":
            assert status == 429
        elif fault == "500":
            assert status == 500
        elif fault == "invalid_json":
            assert status == 200 and not parses
        else:  # no fault, or a hang of 0 s: the normal answer
            assert status == 200 and parses, (status, fault)
    assert stats["by_status"].get("429") == counts["429"] and stats["by_status"].get("500") == counts["500"]

    assert _draws(fake_llm, n, seed=7) == first, "the same seed and order must give the same faults"
    assert _draws(fake_llm, n, seed=8) != first

    fake_llm.reset()  # clears the fault rates
    assert fake_llm.stats()["fault_rates"] == {}
    with httpx.Client(base_url=fake_llm.root_url, timeout=10.0, trust_env=False) as http:
        assert all(_chat(http, i) == (200, None, True) for i in range(50))
    assert fake_llm.stats()["faults"] == {}


def test_fault_settings_are_checked_and_a_429_asks_for_a_short_wait(fake_llm: Any) -> None:
    for bad in ({"fault_rates": {"503": 0.1}}, {"fault_rates": {"429": 1.5}}, {"fault_rates": {"429": 0.6, "500": 0.6}},
                {"seed": "x"}, {"hang_s": -1}):
        with pytest.raises(ValueError, match="HTTP 400"):
            fake_llm.configure(**bad)
    fake_llm.configure(fault_rates={"429": 1.0}, seed=1)
    with httpx.Client(base_url=fake_llm.root_url, timeout=10.0, trust_env=False) as http:
        r = http.post("/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 429 and r.headers["retry-after-ms"] == "50"
    assert float(r.headers["retry-after"]) < 1


def test_a_reset_wakes_requests_hung_by_a_fault(fake_llm: Any) -> None:
    fake_llm.configure(fault_rates={"hang": 1.0}, seed=1, hang_s=60)
    answers: list[int] = []

    def call() -> None:
        with httpx.Client(base_url=fake_llm.root_url, timeout=30.0, trust_env=False) as http:
            r = http.post("/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
            answers.append(r.status_code)

    worker = threading.Thread(target=call)
    worker.start()
    deadline = time.monotonic() + 20
    while fake_llm.stats()["in_flight"] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake_llm.stats()["faults"] == {"hang": 1}
    started = time.monotonic()
    fake_llm.reset()
    worker.join(timeout=20)
    assert answers == [200] and time.monotonic() - started < 10
    # What was in flight before the reset is not counted after it, even when it ends.
    assert fake_llm.stats()["in_flight"] == 0


# -- a run under faults -------------------------------------------------------------------

def _role(timeout_s: float, base_url: str) -> dict[str, Any]:
    return {"base_url": base_url, "model": "fake-model", "timeout_s": timeout_s}


@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.usefixtures("prefect_local_api")
def test_200_items_under_20_percent_faults_publish_exactly_200_well_formed_rows(tmp_path: Path,
                                                                               fake_llm: Any) -> None:
    fake_llm.configure(fault_rates=RATES, seed=7, hang_s=30)
    spec = make_spec(tmp_path, fake_llm, target_items=200, budget={"max_llm_calls": 2000, "max_rounds": 8},
                     llm={"generator": _role(2, fake_llm.base_url), "judge": _role(2, fake_llm.base_url),
                          "concurrency": 16, "max_retries": 4})
    report = run_suite(spec, workspace=tmp_path / "ws", output_dir=tmp_path / "out")
    stats = fake_llm.stats()
    assert set(stats["faults"]) == set(FAULT_KINDS), stats["faults"]  # every kind happened
    assert report.publish is not None and report.publish.status == "published", report.outcome.funnel
    rows = list(datasets.load_dataset(str(report.publish.path))["test"])
    assert len(rows) == 200, report.outcome.funnel
    assert malformed_rows(rows) == []
    retries = sum(int(r.get("retries", 0)) for r in report.usage.values())
    assert retries > 0, report.usage


# -- a run killed at a random point --------------------------------------------------------

def cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    return subprocess.Popen([sys.executable, "-m", "benchsmith", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def write_kill_spec(folder: Path, base_url: str, *, items: int, concurrency: int) -> Path:
    """One spec file for the baseline, the killed run and its rerun: the same suite, the same requests."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "seeds.jsonl").write_text("".join(json.dumps({"id": f"s{i}", "prompt": p}) + "\n"
                                                for i, p in enumerate(SEEDS)))
    data = {
        "suite": "faults-kill", "seeds": {"path": "seeds.jsonl"}, "target_items": items,
        "budget": {"max_llm_calls": 20 * items, "max_rounds": 6},
        "generators": [{"name": "evolve"}],
        "verifiers": [{"name": "rules"}, {"name": "llm_judge", "params": {"threshold": 3.0}}],
        "llm": {"generator": _role(10, base_url), "judge": _role(10, base_url), "concurrency": concurrency,
                "max_retries": 2},
    }
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _published_ids(out: Path) -> set[str]:
    import pyarrow.parquet as pq

    [version] = [p for p in (out / "faults-kill").iterdir() if not p.name.startswith(".")]
    return set(pq.read_table(version / "data" / "test.parquet", columns=["id"]).column("id").to_pylist())


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_run_killed_at_a_random_point_resumes_without_repeating_requests(tmp_path: Path, fake_llm: Any) -> None:
    concurrency = 4
    fake_llm.configure(latency_s=0.1)  # requests stay in flight long enough to be cut off by the kill
    spec = write_kill_spec(tmp_path / "spec", fake_llm.base_url, items=40, concurrency=concurrency)

    # A clean run, in its own workspace and output folder.
    before = fake_llm.stats()["requests"]
    base = cli("run", str(spec), "-w", str(tmp_path / "ws-base"), "-o", str(tmp_path / "out-base"), cwd=tmp_path)
    output = base.communicate(timeout=600)[0]
    assert base.returncode == 0, output
    baseline = fake_llm.stats()["requests"] - before
    assert baseline >= 80, baseline

    # The same spec in another workspace, SIGKILLed after a random share of the baseline's requests.
    # Late enough that a resume which kept nothing would repeat more than the slack allowed below.
    kill_after = random.Random(1234).randint(max(baseline // 10, 4 * concurrency), baseline * 8 // 10)
    ws, out = tmp_path / "ws-kill", tmp_path / "out-kill"
    before = fake_llm.stats()["requests"]
    killed = cli("run", str(spec), "-w", str(ws), "-o", str(out), cwd=tmp_path)
    deadline = time.monotonic() + 600
    while True:
        stats = fake_llm.stats()
        if stats["requests"] - before >= kill_after or killed.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert killed.poll() is None, killed.communicate()[0]
    os.killpg(killed.pid, signal.SIGKILL)
    killed.communicate(timeout=60)
    in_flight = fake_llm.stats()["in_flight"]  # sent by the killed run, never answered to it (for the note)
    time.sleep(0.5)  # the server answers what it still holds (to nobody)
    killed_requests = fake_llm.stats()["requests"] - before

    before += killed_requests
    rerun = cli("run", str(spec), "-w", str(ws), "-o", str(out), cwd=tmp_path)
    output = rerun.communicate(timeout=600)[0]
    assert rerun.returncode == 0, output
    assert "published version" in output, output
    rerun_requests = fake_llm.stats()["requests"] - before

    note = (f"baseline {baseline}, kill after {kill_after}: killed run {killed_requests} (in flight {in_flight}), "
            f"rerun {rerun_requests}")
    assert rerun_requests < baseline, note
    # What a kill may cost: the requests in flight when the process died (at most `concurrency`), and
    # answers that had arrived but were still being written to the cache (a slot frees when its answer
    # arrives, before the write; at most `concurrency` more). Every other answer must be reused.
    assert killed_requests + rerun_requests <= baseline + 2 * concurrency, note
    assert _published_ids(out) == _published_ids(tmp_path / "out-base"), note
