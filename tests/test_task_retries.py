"""The spec's retry policy (issue 12): a task that raises is retried by Prefect, the retry
repeats no call that had been answered, and the run's usage still counts every call the
failed attempt sent. The fault is real: after a few answered judge calls the fake server
answers the judge with HTTP 503 until the endpoint's circuit breaker opens and the verify
task raises.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from suite_factory import make_spec

from benchsmith.errors import EndpointCircuitOpen, SpecError
from benchsmith.flows.retries import retry_options, should_retry
from benchsmith.flows.run_suite import run_suite
from benchsmith.spec import ExecutionSpec

pytestmark = pytest.mark.usefixtures("prefect_local_api")

JUDGE = "\n\nReference answer:\n"
BREAKER_AFTER = 8  # build_clients' default: this many calls in a row failing the same way open the breaker
ANSWERED_FIRST = 3  # judge calls the failed attempt gets answered before the faults start
ITEMS = 20  # the first round's candidates: one verify task holds the answered calls and all the faults


def _spec(tmp_path: Path, fake_llm: Any, retries: int) -> Any:
    # A generous timeout: a call that timed out on a loaded machine would be re-sent by the retry, rightly.
    endpoint = {"base_url": fake_llm.base_url, "model": "fake-model", "timeout_s": 60}
    # One call at a time and no client-level retries: the first 8 judge calls are the 8 failures in a row.
    return make_spec(tmp_path, fake_llm, target_items=ITEMS, canaries={"enabled": False},
                     budget={"max_llm_calls": 200, "max_rounds": 3},
                     llm={"generator": endpoint, "judge": endpoint, "concurrency": 1, "max_retries": 0},
                     execution={"retries": retries, "retry_delay_s": 0.2})


def _bodies(fake_llm: Any) -> list[tuple[bool, str]]:
    """(is a judge call, the whole request) for every request the server got."""
    return [(JUDGE in str(b["messages"][-1]["content"]), json.dumps(b, sort_keys=True)) for b in fake_llm.requests()]


def test_a_task_that_raises_is_retried_and_repeats_no_answered_call(tmp_path: Path, fake_llm: Any) -> None:
    spec = _spec(tmp_path, fake_llm, retries=1)
    fake_llm.add_rule(match=JUDGE, status=503, times=BREAKER_AFTER, after=ANSWERED_FIRST)
    report = run_suite(spec, workspace=tmp_path / "ws")

    assert report.publish is not None and report.publish.status == "published"
    assert len(report.outcome.published) == ITEMS
    assert not [it for it in report.outcome.rejected if (it.failed_verdict.reason or "").startswith("judge_error")]
    stats = fake_llm.stats()
    assert stats["by_status"].get("503") == BREAKER_AFTER  # the breaker opened: the attempt raised
    bodies = _bodies(fake_llm)
    assert stats["requests"] == len(bodies) < 200
    judged = [b for judge, b in bodies if judge]
    generated = [b for judge, b in bodies if not judge]
    # The generate task had finished: not one of its calls went out again.
    assert generated and max(Counter(generated).values()) == 1
    # The retried verify task re-sent exactly the 8 calls that got a 503, each once; nothing answered went twice.
    repeats = Counter(judged)
    twice = [i for i, b in enumerate(judged) if repeats[b] > 1 and judged.index(b) == i]
    assert sorted(repeats.values(), reverse=True)[:BREAKER_AFTER + 1] == [2] * BREAKER_AFTER + [1], (
        f"judge calls first sent at positions {twice} went twice; usage {report.usage}")
    assert stats["max_in_flight"] == 1
    assert len(judged) == len(repeats) + BREAKER_AFTER
    # The failed attempt returned no usage, yet its answered calls were paid for: the run counts
    # every answered request once (the retry got those answers from the cache).
    sent = {role: counts["calls"] for role, counts in report.usage.items()}
    assert sum(sent.values()) == stats["by_status"]["200"], (report.usage, stats["by_status"])
    assert sent["judge"] == len(repeats), report.usage
    assert report.usage["judge"]["cache_hits"] >= ANSWERED_FIRST, report.usage
    assert sum(report.usage["judge"]["failures"].values()) >= BREAKER_AFTER, report.usage


def test_without_retries_the_same_fault_fails_the_run_and_publishes_nothing(tmp_path: Path, fake_llm: Any) -> None:
    spec = _spec(tmp_path, fake_llm, retries=0)
    fake_llm.add_rule(match=JUDGE, status=503, times=BREAKER_AFTER)
    with pytest.raises(EndpointCircuitOpen, match="8 calls in a row"):
        run_suite(spec, workspace=tmp_path / "ws")
    assert not (tmp_path / "outputs" / spec.suite).exists() or not any(
        p for p in (tmp_path / "outputs" / spec.suite).iterdir() if not p.name.startswith("."))


class _Task:
    name, retries = "verify", 2


class _State:
    def __init__(self, err: BaseException) -> None:
        self.data = err


def test_bad_input_is_never_retried_and_no_retries_changes_nothing() -> None:
    assert not should_retry(_Task(), None, _State(SpecError("spec.yaml: bad")), scope="run")
    assert should_retry(_Task(), None, _State(OSError("No space left on device")), scope="run")
    assert retry_options(ExecutionSpec(), "run") == {}  # the default policy leaves the tasks as defined
    options = retry_options(ExecutionSpec(retries=3, retry_delay_s=5), "run")
    assert (options["retries"], options["retry_delay_seconds"]) == (3, 5)
