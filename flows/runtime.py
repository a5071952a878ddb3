"""The run's live resources, shared by the tasks of a flow: LLM clients, budget, progress.

Prefect tasks take only data as parameters (their inputs make the cache key), so the
things that are not data — clients bound to an endpoint, the embedded llama.cpp server,
the progress display — live here for the duration of `open_runtime`. The LLM clients
(and with them the embedded server) are created on first use: a rerun whose tasks all
come from Prefect's result cache never starts the model.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchsmith import progress
from benchsmith.llm.client import LLMClient
from benchsmith.llm.endpoints import ROLES, llm_clients, resolve_endpoint
from benchsmith.llm.usage import CallBudget, UsageMeter
from benchsmith.spec import SuiteSpec
from benchsmith.stages import StageContext, verifiers


@dataclass
class Runtime:
    """Resources of one open run."""

    spec: SuiteSpec
    workspace: Path
    output_dir: Path | None = None
    usage: UsageMeter = field(default_factory=UsageMeter)
    budget: CallBudget | None = None
    logical_calls: int = 0
    """LLM calls the run has accounted for, cached or not: what the plan is based on, so
    a rerun served from caches makes the same decisions as the first run."""
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _clients: dict[str, LLMClient] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    context: StageContext = field(init=False)

    def __post_init__(self) -> None:
        self.budget = CallBudget(self.spec.budget.max_llm_calls)
        # Stages that look beyond the items (novelty against published versions, grounding
        # against chunks) find what they need in `extras`; the flow adds the documents.
        extras = {"suite": self.spec.suite, "output_dir": self.output_dir or self.spec.publish.output_dir,
                  "spec_dir": self.spec.base_dir}
        self.context = StageContext(llm=self.client, workspace=self.workspace, seed=self.spec.random_seed,
                                    progress=lambda stage, n: progress.sink().advance(stage, n), extras=extras)

    def client(self, role: str) -> LLMClient:
        """The client of `role`, building all clients (and starting the embedded server) on first use.

        Prefect runs the flow's async tasks on the flow's event loop, the main thread:
        the embedded server is tied to the thread that starts it (it dies with it), so
        that thread must live as long as the run, which the main thread does.
        """
        with self._lock:
            if self._clients is None:
                if any(resolve_endpoint(r, getattr(self.spec.llm, r)).embedded for r in ROLES):
                    progress.sink().message("starting the embedded llama.cpp server (SmolLM2-135M-Instruct)…")
                self._clients = self._stack.enter_context(
                    llm_clients(self.spec.llm, cache_dir=self.workspace / "llm-cache", budget=self.budget,
                                usage=self.usage))
            return self._clients[role]

    def models(self) -> dict[str, str]:
        """role → 'model @ endpoint' for manifests, without starting anything."""
        out = {}
        for role in ROLES:
            if self._clients is not None:
                c = self._clients[role]
                out[role] = f"{c.model} @ {c.base_url}"
            else:
                ep = resolve_endpoint(role, getattr(self.spec.llm, role))
                out[role] = "embedded SmolLM2-135M-Instruct" if ep.embedded else f"{ep.model} @ {ep.base_url}"
        return out

    def close(self) -> None:
        self._stack.close()


_current: Runtime | None = None


@contextlib.contextmanager
def open_runtime(spec: SuiteSpec, workspace: Path, output_dir: Path | None = None) -> Iterator[Runtime]:
    """Make a runtime current for the flow's tasks; stop what it started on exit (also on Ctrl-C)."""
    global _current
    if _current is not None:
        raise RuntimeError("a benchsmith runtime is already open in this process")
    rt = Runtime(spec=spec, workspace=workspace, output_dir=output_dir)
    _current = rt
    try:
        yield rt
    finally:
        _current = None
        rt.close()


def current() -> Runtime:
    """The open runtime; an error outside `open_runtime`."""
    if _current is None:
        raise RuntimeError("no benchsmith runtime is open: wrap the flow call in flows.runtime.open_runtime()")
    return _current


def context() -> StageContext:
    """The stage context of the open runtime."""
    return current().context


def sink() -> progress.ProgressSink:
    """The progress sink installed by the caller."""
    return progress.sink()


def _counted() -> int:
    """Logical LLM calls so far according to the usage meter (answered + served from cache)."""
    totals = current().usage.totals()
    return totals["calls"] + totals["cache_hits"]


@contextlib.contextmanager
def metered() -> Iterator[list[int]]:
    """Measure the logical calls a block makes; cap fresh calls at what the plan has left."""
    rt = current()
    left = rt.spec.budget.max_llm_calls - rt.logical_calls
    assert rt.budget is not None
    rt.budget.max_calls = rt.budget.used + max(left, 0)
    before = _counted()
    box = [0]
    try:
        yield box
    finally:
        box[0] = _counted() - before


def budget_left() -> int:
    """Calls the plan may still spend."""
    rt = current()
    return max(rt.spec.budget.max_llm_calls - rt.logical_calls, 0)


def charge(calls: int) -> None:
    """Account for the logical calls a task reported (live or from the task cache)."""
    current().logical_calls += calls


def calls_made() -> int:
    """Logical calls accounted so far."""
    return current().logical_calls


def calls_per_candidate(spec: SuiteSpec) -> int:
    """LLM calls one candidate costs: one generation plus one per LLM-backed verifier."""
    judged = sum(1 for s in spec.verifiers if getattr(verifiers.get(s.name), "uses_llm", False))
    return 1 + judged
