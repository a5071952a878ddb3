"""One whole run of a suite: seeds → build flow → publish → workspace store.

`run_suite` is what `benchsmith run` calls, and what a library user or a Prefect
deployment calls. The Prefect flow `suite_run` wraps the build flow and the publish task,
so a run shows up in Prefect as one flow run with its tasks.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings
from pydantic import BaseModel, ConfigDict, Field

from benchsmith.publish import PublishResult, publish_version
from benchsmith.seeds import SeedLoadResult, SkippedSeed, load_seeds
from benchsmith.spec import SuiteSpec
from benchsmith.store import Store
from flows import prefect_api, runtime
from flows.prefect_api import LocalPrefectAPI
from flows.build_suite import RunOutcome, build_suite
from flows.ingest import ingest_task


class RunReport(BaseModel):
    """Everything a person wants to see after a run."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    run_id: str
    outcome: RunOutcome
    publish: PublishResult | None = None
    usage: dict[str, Any] = Field(default_factory=dict)
    models: dict[str, str] = Field(default_factory=dict)
    skipped_seeds: list[SkippedSeed] = Field(default_factory=list)
    seed_count: int = 0
    elapsed_s: float = 0.0


@task(name="publish", cache_policy=NO_CACHE, persist_result=False)
def publish_task(spec: SuiteSpec, outcome: RunOutcome, models: dict[str, str], usage: dict[str, Any],
                 new_version: bool, output_dir: Path | None) -> PublishResult:
    """Write the version folder (atomically), or report that identical content is already published."""
    return publish_version(spec=spec, items=outcome.published, rejected=outcome.rejected, funnel=outcome.funnel,
                           models=models, usage=usage, stop_reason=outcome.stop_reason,
                           new_version=new_version, output_dir=output_dir, reports=outcome.reports)


@flow(name="suite-run", log_prints=False, validate_parameters=False)
async def suite_run(spec: SuiteSpec, seeds: SeedLoadResult | None, new_version: bool = False,
                    output_dir: Path | None = None) -> tuple[RunOutcome, PublishResult | None, dict, dict]:
    """Build the suite and publish it (when anything survived)."""
    rt = runtime.current()
    if spec.documents is not None:
        corpus = ingest_task(spec)
        rt.context.extras.update(documents={d.id: d for d in corpus.documents},
                                 chunks={c.id: c for c in corpus.chunks})
        outcome = await build_suite(spec, corpus.chunks)
        outcome.reports["coverage"] = corpus.coverage(outcome.published, outcome.published + outcome.rejected,
                                                      outcome.failures)
    else:
        outcome = await build_suite(spec, seeds.seeds)
    usage, models = rt.usage.snapshot(), rt.models()
    published = None
    if outcome.published:
        published = publish_task(spec, outcome, models, usage, new_version, output_dir)
    return outcome, published, usage, models


def run_suite(spec: SuiteSpec, *, workspace: Path = Path(".benchsmith"), new_version: bool = False,
              skip_bad_seeds: bool = False, output_dir: Path | None = None) -> RunReport:
    """Run a suite end to end and record it in the workspace database.

    Raises the errors of its parts (SeedError, EndpointError, PublishError, ...) after
    recording the run as failed; a Ctrl-C records it as interrupted and stops the
    embedded server before it propagates.
    """
    started = time.monotonic()
    # The local Prefect API takes seconds to come up: start it first, wait for it last.
    api = LocalPrefectAPI().start() if prefect_api.needed() else None
    try:
        seeds = load_seeds(spec, skip_bad=skip_bad_seeds) if spec.seeds is not None else None
        workspace.mkdir(parents=True, exist_ok=True)
        with Store.open(workspace) as store:
            run_id = store.start_run(suite=spec.suite, spec_hash=spec.spec_hash(), spec_path=spec.source_path)
            try:
                # Task results live in the workspace, beside the LLM cache they complement.
                with prefect_api.prefect_api(api), runtime.open_runtime(spec, workspace, output_dir), \
                        temporary_settings({PREFECT_LOCAL_STORAGE_PATH: (workspace / "task-results").resolve()}):
                    outcome, published, usage, models = asyncio.run(
                        suite_run(spec, seeds, new_version=new_version, output_dir=output_dir))
            except KeyboardInterrupt:
                store.finish_run(run_id, "interrupted", error="interrupted by the user (Ctrl-C)")
                raise
            except BaseException as err:
                store.finish_run(run_id, "failed", error=f"{type(err).__name__}: {err}")
                raise
            store.save_items(run_id, outcome.published + outcome.rejected)
            store.finish_run(run_id, "succeeded", stop_reason=outcome.stop_reason,
                             version=published.version if published else None, funnel=outcome.funnel,
                             usage=usage)
    finally:
        if api is not None:
            api.stop()
    return RunReport(run_id=run_id, outcome=outcome, publish=published, usage=usage, models=models,
                     skipped_seeds=seeds.skipped if seeds else [], seed_count=len(seeds.seeds) if seeds else 0,
                     elapsed_s=time.monotonic() - started)
