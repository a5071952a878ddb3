"""One whole run of a suite: sources → build → publish → workspace store.

`run_suite` is what `benchsmith run` calls, and what a library user or a Prefect
deployment calls. The Prefect flow `suite_run` takes only a small `RunConfig` (the spec
and where things are): seeds and documents are read inside the flow, never sent through
Prefect's API. Its task runner is in-process by default, or a Dask cluster
(`execution.task_runner: dask`, or `benchsmith run --task-runner dask`).
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, Generic, TypeVar

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.settings import PREFECT_API_URL, PREFECT_LOCAL_STORAGE_PATH, temporary_settings
from prefect.utilities.annotations import quote
from pydantic import BaseModel, ConfigDict, Field

from benchsmith import aio, progress
from benchsmith.coverage import coverage_report
from benchsmith.documents import Chunk, Corpus
from benchsmith.embeddings import shared_embedder
from benchsmith.errors import SpecError
from benchsmith.flows import prefect_api
from benchsmith.flows.build_suite import RunOutcome, build_suite, item_stages, set_stages
from benchsmith.flows.evaluate_release import evaluate_release, record_evaluation
from benchsmith.flows.ingest import ingest_task
from benchsmith.flows.prefect_api import LocalPrefectAPI
from benchsmith.flows.publish_reviewed import ReviewPublish, publish_run, save_run_reports
from benchsmith.flows.run_context import RunConfig
from benchsmith.flows.run_summary import release_artifact
from benchsmith.fsutil import check_writable_folder
from benchsmith.hub import HubPush, push_version
from benchsmith.llm.endpoints import resolve_endpoint
from benchsmith.llm.probe import probe_endpoints, raise_for_failures
from benchsmith.publish import PublishResult, latest_verified_version, publish_version
from benchsmith.records import Seed
from benchsmith.refresh import RefreshPlan, build_spec, publish_release, source_window
from benchsmith.review import enqueue
from benchsmith.seeds import SeedLoadResult, SkippedSeed, load_seeds
from benchsmith.spec import SuiteSpec, TaskRunnerName
from benchsmith.store import DB_ENV, Store
from benchsmith.workspace_lock import LockInfo, workspace_lock


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
    task_runner: str = "in_process"
    review: ReviewPublish | None = Field(default=None, description="With a `review:` section: what was queued, "
                                                                    "what waits, and what the gate published.")
    held_back: PublishResult | None = Field(default=None, description="A refresh with `private: true`: the "
                                                                      "version of the items held back.")
    hub: HubPush | None = Field(default=None, description="With `publish.hub`: what the push to the Hugging Face "
                                                         "Hub did (pushed, skipped without a token, failed).")


T = TypeVar("T")


class Opaque(Generic[T]):
    """A flow's return value that Prefect passes through without walking it.

    Prefect visits every field of a returned pydantic model looking for futures to
    resolve; for a result holding thousands of items that was a few percent of a run.
    """

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value


class SuiteRunResult(BaseModel):
    """What the `suite-run` flow returns."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    outcome: RunOutcome
    publish: PublishResult | None = None
    usage: dict[str, Any] = Field(default_factory=dict)
    models: dict[str, str] = Field(default_factory=dict)
    held_back: PublishResult | None = None
    hub: HubPush | None = None


@task(name="publish", cache_policy=NO_CACHE, persist_result=False)
def publish_task(spec: SuiteSpec, outcome: RunOutcome, models: dict[str, str], usage: dict[str, Any],
                 new_version: bool, output_dir: Path | None, ignore_tampered: bool = False) -> PublishResult:
    """Write the version folder (atomically), or report that identical content is already published."""
    window = source_window(spec, date.today())
    return publish_version(spec=spec, items=outcome.published, rejected=outcome.rejected, funnel=outcome.funnel,
                           models=models, usage=usage, stop_reason=outcome.stop_reason,
                           new_version=new_version, output_dir=output_dir, reports=outcome.reports,
                           ignore_tampered=ignore_tampered,
                           extra_manifest={"sources_window": window} if window else None)


@task(name="publish-release", cache_policy=NO_CACHE, persist_result=False)
def publish_release_task(spec: SuiteSpec, plan: RefreshPlan, outcome: RunOutcome, models: dict[str, str],
                         usage: dict[str, Any], output_dir: Path) -> tuple[PublishResult, PublishResult | None]:
    """A refresh's release: the public version (parent − retired + released + new) and the held-back one."""
    return publish_release(spec=spec, plan=plan, items=outcome.published, rejected=outcome.rejected,
                           funnel=outcome.funnel, models=models, usage=usage, stop_reason=outcome.stop_reason,
                           reports=outcome.reports, output_dir=output_dir)


def _load_sources(run: RunConfig, skip_bad_seeds: bool) -> tuple[list[Seed] | list[Chunk], Corpus | None]:
    spec = run.spec
    if spec.documents is not None:
        corpus = ingest_task(spec)
        return corpus.chunks, corpus
    return load_seeds(spec, skip_bad=skip_bad_seeds).seeds, None


@flow(name="suite-run", log_prints=False, validate_parameters=False)
async def suite_run(run: RunConfig, new_version: bool = False, skip_bad_seeds: bool = False,
                    distributed: bool = False, ignore_tampered: bool = False,
                    refresh: RefreshPlan | None = None, release_spec: SuiteSpec | None = None,
                    ) -> Opaque[SuiteRunResult]:
    """Build the suite and publish it (when anything survived).

    With a `refresh` plan, `run.spec` is the release's build spec (`benchsmith.refresh.build_spec`)
    and `release_spec` the suite's own: the new items join the parent's kept ones.
    """
    sources, corpus = _load_sources(run, skip_bad_seeds)
    outcome, ledger = await build_suite(run, sources, corpus, distributed=distributed)
    if corpus is not None:
        outcome.reports["coverage"] = coverage_report(
            corpus.documents, corpus.skipped, corpus.chunks, outcome.published,
            outcome.published + outcome.rejected, failures=outcome.failures)
    # With `solvers:`: the panel's figures on the release, before publishing, for its card.
    pending = await evaluate_release(run, outcome, ledger, refresh, release_spec)
    usage, models = ledger.spent(), run.models()
    published = held_back = None
    # Under review the run publishes after queueing, with the workspace store (`run_suite`).
    if refresh is not None and release_spec is not None:
        if outcome.published or refresh.new_total == 0:
            published, held_back = publish_release_task(release_spec, refresh, quote(outcome), models, usage,
                                                        run.output_dir)
    elif outcome.published and not run.spec.review.enabled:
        published = publish_task(run.spec, quote(outcome), models, usage, new_version, run.output_dir,
                                 ignore_tampered)
    record_evaluation(run, pending, published)
    hub = (release_spec or run.spec).publish.hub
    pushed = None
    if hub is not None and published is not None and published.status == "published":
        # After the commit point: a hub that is down costs the push, never the local version.
        pushed = push_version(published.path, hub)
        progress.sink().message(pushed.message)
    await release_artifact(run.spec.suite, outcome, published, held_back)
    return Opaque(SuiteRunResult(outcome=outcome, publish=published, usage=usage, models=models,
                                 held_back=held_back, hub=pushed))


def _dask_runner(spec: SuiteSpec, address: str | None) -> Any:
    """Prefect's DaskTaskRunner on the given scheduler, or on a LocalCluster of worker processes."""
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_class="distributed.LocalCluster",
                          cluster_kwargs={"n_workers": spec.execution.dask_workers, "processes": True,
                                          "threads_per_worker": 1, "dashboard_address": None})


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block: Dask worker processes read Prefect's settings from it."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _check_endpoints(spec: SuiteSpec) -> None:
    """Probe the spec's endpoints; raise unless every stage can do without the roles that failed.

    The generator is always needed. A jury that keeps enough judges (`tolerates_losing`) runs
    without an unreachable one, and says so here and in its quality report.
    """
    results = probe_endpoints(spec.llm)
    down = frozenset(role for r in results if not r.ok for role in r.roles)
    if not down:
        return
    stages = [*item_stages(spec), *set_stages(spec)]
    if "generator" in down or not all(stage.tolerates_losing(down) for stage in stages):
        raise_for_failures(results)
    for r in results:
        if not r.ok:
            progress.sink().message(f"warning: {r.detail}; the run goes on without "
                                    f"{', '.join(r.roles)} (the stages that use it can do without)")


def _embedded_needed(spec: SuiteSpec) -> bool:
    return any(resolve_endpoint(r, spec.llm.endpoint(r)).embedded for r in spec.llm.role_names())


def run_suite(spec: SuiteSpec, *, workspace: Path = Path(".benchsmith"), new_version: bool = False,
              skip_bad_seeds: bool = False, output_dir: Path | None = None,
              task_runner: TaskRunnerName | None = None, dask_address: str | None = None,
              ignore_tampered: bool = False, db_url: str | None = None,
              refresh: RefreshPlan | None = None) -> RunReport:
    """Run a suite end to end and record it in the workspace database.

    `task_runner`/`dask_address` override the spec's `execution` section; `db_url` is the
    workspace database (None: `$BENCHSMITH_DB`, else `<workspace>/workspace.db`). Raises the
    errors of its parts (SeedError, EndpointError, PublishError, ...) after recording the
    run as failed; a Ctrl-C records it as interrupted and stops the embedded server
    before it propagates. With a `refresh` plan (`benchsmith.refresh.plan_refresh`) the run
    makes the release's new items and publishes the release (`flows.refresh.refresh_run`
    plans and calls this).
    """
    from benchsmith.llm.embedded import shared_server, stop_shared_server

    started = time.monotonic()
    # Folders first: a run that cannot write its results must fail before it spends anything.
    check_writable_folder(workspace, "workspace")
    check_writable_folder(output_dir or spec.publish.output_dir, "output folder")
    # The version this run builds on must match its manifest: checked now, not after the spending.
    latest_verified_version((output_dir or spec.publish.output_dir) / spec.suite, ignore_tampered=ignore_tampered)
    runner_name: TaskRunnerName = task_runner or ("dask" if dask_address else spec.execution.task_runner)
    address = dask_address or spec.execution.dask_address
    distributed = runner_name == "dask"
    if distributed and address and _embedded_needed(spec):
        raise SpecError(f"{spec.source_path or '<spec>'}: execution on the Dask cluster at {address} needs a real "
                        "LLM endpoint for every role (llm.<role>.base_url or OPENAI_BASE_URL): the embedded "
                        "llama.cpp server listens on this machine's 127.0.0.1, which remote workers cannot reach")
    # The local Prefect API takes seconds to come up: start it first (or take the one the CLI
    # started before its imports), wait for it last.
    api = prefect_api.take_early() or (LocalPrefectAPI().start() if prefect_api.needed() else None)
    try:
        # Seeds are checked here, before anything starts, so a bad file fails fast; the flow reads them again.
        seeds: SeedLoadResult | None = load_seeds(spec, skip_bad=skip_bad_seeds) if spec.seeds is not None else None
        workspace.mkdir(parents=True, exist_ok=True)
        workspace = workspace.resolve()
        out_root = (output_dir or spec.publish.output_dir).resolve()
        run = RunConfig(spec=build_spec(spec, refresh) if refresh else spec, workspace=workspace,
                        output_dir=out_root, run_token=uuid.uuid4().hex,
                        processes=spec.execution.dask_workers if distributed and not address else 1,
                        db_url=db_url or os.environ.get(DB_ENV) or None)
        def took_over(previous: LockInfo) -> None:
            progress.sink().message(f"taking over the workspace lock of {previous.describe()}, which is no longer "
                                    "running")

        with workspace_lock(workspace, suite=spec.suite, on_takeover=took_over), \
                Store.open(workspace, run.db_url) as store:
            for crashed in store.mark_crashed():
                progress.sink().message(f"run {crashed} ended without recording an outcome: marked crashed")
            run_id = store.start_run(suite=spec.suite, spec_hash=spec.spec_hash(), spec_path=spec.source_path)
            try:
                # Every configured endpoint answers HTTP before the first call (a few seconds at most).
                _check_endpoints(spec)
                storage = str(workspace / "task-results")
                with prefect_api.prefect_api(api) as api_url, \
                        temporary_settings({PREFECT_LOCAL_STORAGE_PATH: Path(storage)}):
                    flow_fn = suite_run
                    env: dict[str, str] = {}
                    if distributed:
                        if _embedded_needed(spec):
                            # Workers talk to one server started here (a worker's own would die with its thread).
                            run.embedded_url = shared_server().base_url
                        flow_fn = suite_run.with_options(task_runner=_dask_runner(spec, address))
                        env = {"PREFECT_LOCAL_STORAGE_PATH": storage, "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true"}
                        api_now = api_url or PREFECT_API_URL.value()
                        if api_now:
                            env["PREFECT_API_URL"] = str(api_now)
                    with _environment(env):
                        result = aio.run(flow_fn(run, new_version=new_version, skip_bad_seeds=skip_bad_seeds,
                                                     distributed=distributed, ignore_tampered=ignore_tampered,
                                                     refresh=refresh, release_spec=spec if refresh else None)).value
                review = _review_gate(store, run, run_id, result, new_version=new_version,
                                      ignore_tampered=ignore_tampered) if spec.review.enabled else None
            except KeyboardInterrupt:
                store.finish_run(run_id, "interrupted", error="interrupted by the user (Ctrl-C)")
                raise
            except BaseException as err:
                store.finish_run(run_id, "failed", error=f"{type(err).__name__}: {err}")
                raise
            outcome = result.outcome
            published = review.publish if review is not None else result.publish
            if review is None:
                store.save_items(run_id, outcome.published + outcome.rejected)
            store.finish_run(run_id, "succeeded", stop_reason=outcome.stop_reason,
                             version=published.version if published else None, funnel=outcome.funnel,
                             usage=result.usage)
    finally:
        stop_shared_server()
        if api is not None:
            api.stop()
    return RunReport(run_id=run_id, outcome=outcome, publish=published, usage=result.usage, models=result.models,
                     skipped_seeds=seeds.skipped if seeds else [], seed_count=len(seeds.seeds) if seeds else 0,
                     elapsed_s=time.monotonic() - started, task_runner=runner_name, review=review,
                     held_back=result.held_back, hub=review.hub if review is not None else result.hub)


def _review_gate(store: Store, run: RunConfig, run_id: str, result: SuiteRunResult, *, new_version: bool,
                 ignore_tampered: bool) -> ReviewPublish:
    """Save the run's items, queue what the routing sent to review, and publish what the gate lets through."""
    outcome = result.outcome
    store.save_items(run_id, outcome.published + outcome.queued + outcome.rejected)
    audit = set(outcome.audit_ids)
    # The workspace embedder (its cache holds the vectors dedup computed): neighbours and clusters per entry.
    added = enqueue(store, [*outcome.queued, *(it for it in outcome.published if it.id in audit)], run_id,
                    embedder=shared_embedder(run.workspace / "embeddings"), seed=run.spec.random_seed)
    save_run_reports(run.workspace, run_id, outcome.reports)
    review = publish_run(store, run.spec, run_id, workspace=run.workspace, output_dir=run.output_dir,
                         models=result.models, usage=result.usage, funnel=outcome.funnel,
                         stop_reason=outcome.stop_reason, reports=outcome.reports, new_version=new_version,
                         ignore_tampered=ignore_tampered)
    review.notes.insert(0, f"{added} item(s) newly queued for review")
    return review
