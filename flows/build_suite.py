"""The build-suite flow: seeds → generate → verify → dedup → select → publish.

Generation runs in rounds until the target number of items survives every filter or the
LLM-call budget runs out. Each round is a handful of Prefect tasks whose results are
persisted under a key made of their inputs, so a crashed run resumes at the last
finished task, and an unchanged rerun replays every task from its stored result. One
task per stage batch (not per LLM call): the stage fans its calls out with asyncio.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.context import TaskRunContext
from pydantic import BaseModel, Field

import benchsmith
from benchsmith.errors import BudgetExhausted
from benchsmith.funnel import Funnel
from benchsmith.documents import Chunk
from benchsmith.records import Item, Seed, Verdict, content_hash
from benchsmith.spec import SuiteSpec
from benchsmith.stages import GenerationFailure, GenerationResult, StageContext, generators, verifiers
from benchsmith.reports import stage_reports
from flows import runtime
from verifiers.selection import SELECT_STAGE, select_items

def _task_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """Cache key from the task's name and the content of its inputs (plus the code version)."""
    parts = []
    for name, value in sorted(parameters.items()):
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json", exclude={"source_path"})
        elif isinstance(value, (list, tuple)):
            value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
        parts.append((name, value))
    return f"benchsmith-{context.task.name}-{content_hash(benchsmith.__version__, parts, length=32)}"


_cached = dict(cache_key_fn=_task_key, persist_result=True, retries=0)


@task(name="generate", **_cached)
async def generate_round(spec: SuiteSpec, seeds: list[Seed] | list[Chunk], n: int, round_index: int,
                         budget_left: int) -> tuple[GenerationResult, int]:
    """Ask every generator of the spec for its share of `n` candidates; also return the calls spent.

    `seeds` are the run's sources: seed prompts, or document chunks for a documents suite.
    """
    ctx = runtime.context()
    result = GenerationResult()
    with runtime.metered() as calls:
        for stage_spec, share in zip(spec.generators, _split(n, len(spec.generators))):
            if share == 0:
                continue
            gen = generators.get(stage_spec.name)(stage_spec.params)
            runtime.sink().plan(gen.name, share)
            try:
                out = await gen.generate(seeds, share, round_index, ctx)
            except BudgetExhausted:
                out = GenerationResult()
            result.items.extend(out.items)
            result.failures.extend(out.failures)
    return result, calls[0]


@task(name="verify", **_cached)
async def verify_items(spec: SuiteSpec, items: list[Item], budget_left: int) -> tuple[list[Item], int]:
    """Run the per-item verifiers in spec order (each sees only the items still standing)."""
    ctx = runtime.context()
    current = list(items)
    with runtime.metered() as calls:
        for stage_spec in spec.verifiers:
            stage = verifiers.get(stage_spec.name)(stage_spec.params)
            if stage.scope != "item":
                continue
            alive = [it for it in current if it.passed]
            if not alive:
                break
            runtime.sink().plan(stage.name, len(alive))
            verdicts = await _verify_or_budget(stage, alive, ctx)
            judged = {it.id: it.with_verdict(v) for it, v in zip(alive, verdicts)}
            current = [judged.get(it.id, it) for it in current]
    return current, calls[0]


@task(name="dedup", **_cached)
async def filter_pool(spec: SuiteSpec, pool: list[Item], stage_tokens: list[str]) -> list[Item]:
    """Run the set-level stages (dedup, then any set verifiers of the spec) over the whole pool.

    `stage_tokens` (each stage's `cache_token`) only key the cache: a changed reference
    corpus or a newly published version must not be answered from an old result.
    """
    ctx = runtime.context()
    current = list(pool)
    for stage in set_stages(spec):
        alive = [it for it in current if it.passed]
        if not alive:
            break
        runtime.sink().plan(stage.name, len(alive))
        verdicts = await stage.verify(alive, ctx)
        judged = {it.id: it.with_verdict(v) for it, v in zip(alive, verdicts)}
        current = [judged.get(it.id, it) for it in current]
    return current


async def _verify_or_budget(stage: Any, items: list[Item], ctx: StageContext) -> list[Verdict]:
    """A stage that runs out of budget leaves the unjudged items dropped with that reason."""
    try:
        return await stage.verify(items, ctx)
    except BudgetExhausted:
        return [Verdict(stage=stage.name, passed=False, reason="budget_exhausted") for _ in items]


def set_stages(spec: SuiteSpec) -> list[Any]:
    """The set-scope stages of a spec, dedup first (exact before semantic)."""
    stages: list[Any] = []
    if spec.dedup.exact:
        stages.append(verifiers.get("dedup_exact")())
    if spec.dedup.semantic:
        stages.append(verifiers.get("dedup_semantic")({"threshold": spec.dedup.threshold}))
    for stage_spec in spec.verifiers:
        cls = verifiers.get(stage_spec.name)
        if cls.scope == "set":
            stages.append(cls(stage_spec.params))
    return stages


def _split(n: int, parts: int) -> list[int]:
    base, extra = divmod(n, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _strip_set_verdicts(items: Sequence[Item], names: set[str]) -> list[Item]:
    return [it.model_copy(update={"verdicts": [v for v in it.verdicts if v.stage not in names]}) for it in items]


class RunOutcome(BaseModel):
    """What a build run produced; the CLI prints it and the store records it."""

    suite: str
    stop_reason: str
    funnel: Funnel
    published: list[Item] = Field(default_factory=list)
    rejected: list[Item] = Field(default_factory=list)
    failures: list[GenerationFailure] = Field(default_factory=list)
    reports: dict[str, Any] = Field(default_factory=dict, description="Per-stage drop reports and selection report.")
    rounds: int = 0
    llm_calls: int = 0


def plan_round(spec: SuiteSpec, kept: int, generated: int, survived: int, budget_left: int) -> int:
    """How many candidates to ask for next: enough for the missing items at the yield seen so far.

    Each candidate costs about one generator call per evolution step plus one judge
    call, so the plan never asks for more than the remaining budget can finish.
    """
    need = spec.target_items - kept
    if need <= 0:
        return 0
    # Until a round has been seen, assume half survive; never assume less than 1 in 5.
    yield_rate = max(survived / generated, 0.2) if generated else 0.5
    wanted = math.ceil(need / yield_rate * 1.1)
    calls_per_item = runtime.calls_per_candidate(spec)
    affordable = budget_left // calls_per_item
    return max(0, min(wanted, affordable, 4 * spec.target_items))


def build_funnel(spec: SuiteSpec, attempted: int, final: list[Item], failures: list[GenerationFailure],
                 stop_reason: str) -> Funnel:
    """Counts per stage from the final verdicts, so a resumed run reports the same funnel.

    `generate` received the generation attempts the generators made (which may be fewer
    than the flow asked for, e.g. under per-document quotas).
    """
    funnel = Funnel(stop_reason=stop_reason)
    funnel.record("generate", attempted, len(final), [f.reason for f in failures])
    order = [s.name for s in spec.verifiers if verifiers.get(s.name).scope == "item"]
    order += [s.name for s in set_stages(spec)] + [SELECT_STAGE]
    for name in order:
        reached = [it for it in final if it.verdict(name) is not None]
        kept = [it for it in reached if it.verdict(name).passed]  # type: ignore[union-attr]
        funnel.record(name, len(reached), len(kept),
                      [it.verdict(name).reason or "dropped" for it in reached if not it.verdict(name).passed])  # type: ignore[union-attr]
    return funnel


@flow(name="build-suite", log_prints=False, validate_parameters=False)
async def build_suite(spec: SuiteSpec, seeds: list[Seed] | list[Chunk]) -> RunOutcome:
    """Generate, verify and dedup until the target survives or the budget is spent.

    The LLM runtime (clients, embedded server, progress sink) must be open: see
    `flows.runtime.open_runtime`. Publishing is the next step (`flows.run_suite`).
    """
    dedup_names = {s.name for s in set_stages(spec)}
    items: dict[str, Item] = {}    # every distinct item made, in its latest state
    pool_ids: list[str] = []       # items that passed every per-item verifier, in order
    failures: list[GenerationFailure] = []
    attempted = rounds = kept_count = 0
    stop_reason = "max_rounds"
    for round_index in range(spec.budget.max_rounds):
        if kept_count >= spec.target_items:
            break
        n = plan_round(spec, kept_count, len(items), kept_count, runtime.budget_left())
        if n == 0:
            stop_reason = "budget_exhausted"
            break
        rounds += 1
        runtime.sink().message(f"round {round_index + 1}: asking for {n} candidates "
                               f"({kept_count}/{spec.target_items} kept so far)")
        if "documents" in runtime.context().extras:
            # Per-document quotas count the items of earlier rounds too (a function of those
            # rounds, so a replay from the task cache sees the same counts).
            runtime.context().extras["document_item_counts"] = Counter(
                d for it in items.values() for d in it.metadata.get("document_ids", []))
        gen, spent = await generate_round(spec, seeds, n, round_index, runtime.budget_left())
        runtime.charge(spent)
        if not gen.items and not gen.failures:
            # Every source is used up (e.g. each document reached its quota): more rounds can't help.
            stop_reason = "sources_exhausted"
            break
        attempted += len(gen.items) + len(gen.failures)
        failures.extend(gen.failures)
        fresh: list[Item] = []
        for it in gen.items:
            if it.id in items or any(f.id == it.id for f in fresh):
                # The model repeated itself: one item; the copy counts as dropped.
                failures.append(GenerationFailure(seed_id=it.seed_id, operator=it.lineage.operator,
                                                  reason="duplicate_output"))
            else:
                fresh.append(it)
        checked, spent = await verify_items(spec, fresh, runtime.budget_left())
        runtime.charge(spent)
        for it in checked:
            items[it.id] = it
            if it.passed:
                pool_ids.append(it.id)
        tokens = [stage.cache_token(runtime.context()) for stage in set_stages(spec)]
        pool = await filter_pool(spec, _strip_set_verdicts([items[i] for i in pool_ids], dedup_names), tokens)
        items.update((it.id, it) for it in pool)
        kept_count = sum(1 for it in pool if it.passed)
    if kept_count >= spec.target_items:
        stop_reason = "target_reached"

    published, surplus, selection_report = select_items(
        [items[i] for i in pool_ids], spec.target_items, spec.selection, runtime.context())
    items.update((it.id, it) for it in published + surplus)
    final = list(items.values())
    funnel = build_funnel(spec, attempted, final, failures, stop_reason)
    reports = {"stages": stage_reports(final, [s.stage for s in funnel.stages]), **selection_report}
    return RunOutcome(
        suite=spec.suite, stop_reason=stop_reason, published=published,
        rejected=[it for it in final if not it.passed], failures=failures, rounds=rounds,
        llm_calls=runtime.calls_made(), funnel=funnel, reports=reports,
    )
