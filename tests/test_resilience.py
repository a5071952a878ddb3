"""A run never replays a failure that says nothing about the item (issue 9): the rerun retries it.

Deterministic drops (a rule, a judge's low score) stay cached; rate limits, 5xx, timeouts and
invalid JSON do not, and the rerun sends exactly the calls that failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from suite_factory import SEEDS, make_spec

from benchsmith.errors import is_transient
from benchsmith.flows.run_suite import run_suite

pytestmark = pytest.mark.usefixtures("prefect_local_api")


def test_transient_reasons() -> None:
    for reason in ("rate_limited", "http_500", "http_503", "timeout", "invalid_json", "judge_error:timeout",
                   "judge_error:http_502", "budget_exhausted"):
        assert is_transient(reason), reason
    for reason in (None, "too_short", "below_threshold", "answer_leak", "http_400", "judge_error:http_404",
                   "duplicate_exact", "http_5xx"):
        assert not is_transient(reason), reason


def test_a_run_whose_every_call_failed_is_retried_once_the_endpoint_is_fixed(tmp_path: Path, fake_llm: Any) -> None:
    spec = make_spec(tmp_path, fake_llm)
    fake_llm.add_rule(raw="{broken")  # every answer is invalid JSON, the repair too
    first = run_suite(spec, workspace=tmp_path / "ws")
    assert first.publish is None
    reasons = {f.reason for f in first.outcome.failures}
    assert reasons and all(is_transient(r) for r in reasons), reasons

    fake_llm.reset()  # the endpoint is fixed
    second = run_suite(spec, workspace=tmp_path / "ws")
    assert fake_llm.stats()["requests"] > 0, "the rerun must try the failed calls again"
    assert second.publish is not None and second.publish.status == "published"
    assert second.outcome.failures == [] or not any(is_transient(f.reason) for f in second.outcome.failures)


def test_partial_failures_retry_only_what_failed_and_final_drops_stay_cached(tmp_path: Path,
                                                                              fake_llm: Any) -> None:
    spec = make_spec(tmp_path, fake_llm, target_items=6, budget={"max_llm_calls": 200, "max_rounds": 2})
    # Every call about the first seed fails with HTTP 500, after retries.
    marker = SEEDS[0][:30]
    fake_llm.add_rule(match=marker, status=500)
    first = run_suite(spec, workspace=tmp_path / "ws")
    failed = [f for f in first.outcome.failures if f.reason == "http_500"]
    assert failed, "the scripted 500s must surface as generation failures"
    first_requests = fake_llm.stats()["requests"]

    fake_llm.reset()
    second = run_suite(spec, workspace=tmp_path / "ws")
    rerun = fake_llm.requests()
    assert rerun, "the failed calls must be sent again"
    # Only the calls that failed go out again (and the judge calls for what they now produce):
    # every generation request of the rerun is about the seed whose calls failed.
    generation = [r for r in rerun if "Reference answer:" not in r["messages"][-1]["content"]]
    assert generation and all(marker in r["messages"][-1]["content"] for r in generation)
    assert len(rerun) < first_requests
    assert not [f for f in second.outcome.failures if f.reason == "http_500"]

    fake_llm.reset()
    third = run_suite(spec, workspace=tmp_path / "ws")
    assert fake_llm.stats()["requests"] == 0, "nothing transient is left: the third run replays everything"
    assert third.outcome.funnel == second.outcome.funnel


def test_a_tampered_latest_version_stops_the_run_before_any_call(tmp_path: Path, fake_llm: Any) -> None:
    from benchsmith.publish import TamperedVersionError

    spec = make_spec(tmp_path, fake_llm)
    first = run_suite(spec, workspace=tmp_path / "ws")
    assert first.publish is not None
    data = first.publish.path / "data" / "test.parquet"
    data.write_bytes(data.read_bytes()[:-200] + b"\0" * 200)  # damaged in place
    fake_llm.reset()
    with pytest.raises(TamperedVersionError, match=r"data/test\.parquet.*differs"):
        run_suite(spec, workspace=tmp_path / "ws", new_version=True)
    assert fake_llm.stats()["requests"] == 0, "nothing may be spent before the check"

    again = run_suite(spec, workspace=tmp_path / "ws", new_version=True, ignore_tampered=True)
    assert again.publish is not None and again.publish.status == "published"
    assert again.publish.version != first.publish.version and again.publish.parent is None
