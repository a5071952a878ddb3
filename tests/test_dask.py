"""The build flow on a real Dask cluster (a 2-process LocalCluster) gives what the in-process run gives.

Marked slow: a LocalCluster and its worker processes take seconds to start and each
worker imports the stack (Prefect, pydantic models) on its own.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from suite_factory import make_spec

from benchsmith.flows.run_suite import run_suite

pytestmark = pytest.mark.slow


def _published_ids(path: Path) -> list[str]:
    return sorted(pq.read_table(path / "data" / "test.parquet", columns=["id"]).column("id").to_pylist())


def _sent(usage: dict[str, Any]) -> int:
    return sum(int(r.get("calls", 0)) for r in usage.values())


def test_dask_run_publishes_the_in_process_version_and_reruns_from_cache(tmp_path: Path, fake_llm: Any) -> None:
    # Shards of 3 candidates: every round is split into several generate and verify tasks.
    spec = make_spec(tmp_path, fake_llm, target_items=8, budget={"max_llm_calls": 60, "max_rounds": 4},
                     execution={"shard_size": 3})
    local = run_suite(spec, workspace=tmp_path / "ws-local", output_dir=tmp_path / "out-local")
    assert local.publish is not None and local.publish.status == "published"
    local_requests = fake_llm.stats()["requests"]
    assert _sent(local.usage) == local_requests  # one accounting path: every request counted once

    fake_llm.reset()
    on_dask = run_suite(spec, workspace=tmp_path / "ws-dask", output_dir=tmp_path / "out-dask",
                        task_runner="dask")
    assert on_dask.task_runner == "dask"
    assert on_dask.publish is not None and on_dask.publish.status == "published"
    assert _published_ids(on_dask.publish.path) == _published_ids(local.publish.path)
    assert on_dask.outcome.funnel == local.outcome.funnel
    # Calls made in the worker processes reach the run's usage exactly once, and the budget held.
    dask_requests = fake_llm.stats()["requests"]
    assert _sent(on_dask.usage) == dask_requests == local_requests
    assert on_dask.outcome.llm_calls <= spec.budget.max_llm_calls

    fake_llm.reset()
    again = run_suite(spec, workspace=tmp_path / "ws-dask", output_dir=tmp_path / "out-dask", task_runner="dask")
    assert fake_llm.stats()["requests"] == 0, "a cached rerun on the cluster sends no request"
    assert _sent(again.usage) == 0
    assert again.publish is not None and again.publish.status == "exists"
    assert again.outcome.llm_calls == on_dask.outcome.llm_calls  # the replayed plan accounts the same calls
    shutil.rmtree(tmp_path / "ws-local", ignore_errors=True)
