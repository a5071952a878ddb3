"""What every task of a run is given, and how a task builds its stage context from it.

A Prefect task takes data and serialisable configuration, never live objects, so that it
can run in another process (a Dask worker). `RunConfig` is that configuration: the spec,
the workspace and output folders, the database URL, the run's token. Inside the task, `task_context` builds
the `StageContext` — LLM clients bound to the task's own call budget and usage meter, the
embedder — and the task returns its usage with its result. The flow adds those up in one
`Ledger`: the only place calls are counted, whichever process made them. A task attempt
that raises returns nothing, so it leaves its spend in the workspace for the Ledger.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from benchsmith import progress
from benchsmith.card import DEMO_MODEL
from benchsmith.context import StageContext
from benchsmith.documents import Corpus
from benchsmith.fsutil import atomic_write
from benchsmith.llm.client import LLMClient
from benchsmith.llm.endpoints import build_clients, resolve_endpoint
from benchsmith.llm.limiter import URGENT
from benchsmith.llm.usage import CallBudget, UsageMeter, logical_calls
from benchsmith.spec import SuiteSpec


class RunConfig(BaseModel):
    """Serialisable description of one run: everything a task needs to rebuild its resources."""

    model_config = ConfigDict(extra="forbid")

    spec: SuiteSpec
    workspace: Path
    output_dir: Path
    run_token: str = Field(description="Unique per run: marks task results this run computed (vs replayed).")
    embedded_url: str | None = Field(default=None, description="Base URL of an embedded server the flow started "
                                                                "(Dask: workers talk to the flow's server).")
    processes: int = Field(default=1, ge=1, description="Processes driving the endpoints at once (Dask workers).")
    db_url: str | None = Field(default=None, description="Workspace database URL (--db / BENCHSMITH_DB); None: "
                                                          "the SQLite file in the workspace. Carried so that work "
                                                          "in another process opens the same database.")

    @property
    def spec_dir(self) -> Path:
        return self.spec.base_dir

    def models(self) -> dict[str, str]:
        """role → 'model @ endpoint' for manifests, without starting anything."""
        out = {}
        for role in self.spec.llm.role_names():
            ep = resolve_endpoint(role, self.spec.llm.endpoint(role))
            out[role] = DEMO_MODEL if ep.embedded else f"{ep.model} @ {ep.base_url}"
        return out


class TaskUsage(BaseModel):
    """The LLM usage a task reports with its result, and which run computed it."""

    usage: dict[str, dict[str, Any]] = Field(default_factory=dict)
    run_token: str = ""


def _embedded_url(run: RunConfig) -> tuple[str, str]:
    if run.embedded_url:
        from benchsmith.llm.embedded import MODEL_ALIAS

        return run.embedded_url, MODEL_ALIAS
    from benchsmith.llm.embedded import shared_server, shared_server_running

    if not shared_server_running():
        progress.sink().message("starting the embedded llama.cpp server (SmolLM2-135M-Instruct)…")
    server = shared_server()
    return server.base_url, server.model


@contextlib.contextmanager
def task_context(run: RunConfig, budget: int | None, *, corpus: Corpus | None = None,
                 document_item_counts: Mapping[str, int] | None = None,
                 urgent: bool = False) -> Iterator[tuple[StageContext, UsageMeter]]:
    """The stage context of one task and the usage meter its LLM calls are counted on.

    Clients (and, for the embedded default, the process's llama.cpp server) are created
    on the first `ctx.client(role)`: a task that needs no LLM starts nothing. `budget`
    caps the task's uncached calls (None: unlimited). `urgent`: the task's requests go
    ahead of the other tasks' waiting for the endpoint's shared slots (`benchsmith.llm.limiter`).
    """
    usage = UsageMeter()
    call_budget = CallBudget(budget)
    clients: dict[str, LLMClient] = {}

    def client(role: str) -> LLMClient:
        if not clients:
            clients.update(build_clients(
                run.spec.llm, cache_dir=run.workspace / "llm-cache", budget=call_budget, usage=usage,
                embedded_base_url_factory=lambda: _embedded_url(run), share_limits=True,
                processes=run.processes, breaker_scope=run.run_token))  # one breaker per endpoint per run
            if urgent:
                for c in clients.values():
                    c.priority = URGENT
        if role not in clients:
            run.spec.llm.endpoint(role)  # raises a SpecError naming the roles the spec defines
        return clients[role]

    ctx = local_context(run, corpus)
    ctx.llm = client
    ctx.document_item_counts = dict(document_item_counts or {})
    try:
        yield ctx, usage
    except BaseException:
        _keep_failed_attempt(run, usage)
        raise


def _failed_attempts_dir(workspace: Path, run_token: str) -> Path:
    return workspace / "failed-attempts" / run_token


def _keep_failed_attempt(run: RunConfig, usage: UsageMeter) -> None:
    """Leave what a task attempt that raised had spent where the run's `Ledger` finds it.

    Its usage never comes back with a result, yet its answered calls were paid for (and
    cached: the retried attempt counts them again as cache hits, which is why hits are
    not kept here).
    """
    spent = {role: {**counts, "cache_hits": 0} for role, counts in usage.snapshot().items()
             if counts["calls"] or counts["retries"] or counts["repairs"] or counts["failures"]}
    if spent:
        folder = _failed_attempts_dir(run.workspace, run.run_token)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / f"{secrets.token_hex(8)}.json", json.dumps(spent))


def local_context(run: RunConfig, corpus: Corpus | None = None) -> StageContext:
    """A context without LLM access, for work the flow does itself (cache tokens, selection)."""
    sink = progress.sink()
    return StageContext(workspace=run.workspace, random_seed=run.spec.random_seed, progress=sink.advance,
                        plan=sink.plan, suite=run.spec.suite, output_dir=run.output_dir, spec_dir=run.spec_dir,
                        corpus=corpus, roles=run.spec.llm.role_names())


class Ledger:
    """The run's LLM accounting, fed only by the usage that tasks return.

    `logical` counts every call the run's tasks account for, answered or cached, and
    replayed task results included: the plan is based on it, so a rerun served from the
    caches plans exactly as the first run did. `usage` counts only what this run's own
    tasks sent (a replayed result cost nothing now).
    """

    def __init__(self, run: RunConfig) -> None:
        self.run_token = run.run_token
        self.workspace = run.workspace
        self.max_calls = run.spec.budget.max_llm_calls
        self.logical = 0
        self.usage = UsageMeter()

    def charge(self, task: TaskUsage) -> None:
        """Account for one task result."""
        self.logical += logical_calls(task.usage)
        if task.run_token == self.run_token:
            self.usage.merge(task.usage)

    def left(self) -> int:
        """Calls the plan may still spend."""
        return max(self.max_calls - self.logical, 0)

    def spent(self) -> dict[str, dict[str, Any]]:
        """What this run's tasks sent, per role, failed task attempts included (a retried task's
        first attempt returned no usage but was paid for): the figures for the summary and manifest."""
        total = UsageMeter()
        total.merge(self.usage.snapshot())
        folder = _failed_attempts_dir(self.workspace, self.run_token)
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            total.merge(json.loads(path.read_text()))
        return total.snapshot()
