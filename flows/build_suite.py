"""The build-suite flow: sources → generate → verify → dedup → select.

Generation runs in rounds until the pool of surviving items reaches its target
(`target_items × selection.overgenerate`) or the LLM-call budget runs out. A round is a
few Prefect tasks: generation and per-item verification split into shards of
`execution.shard_size` candidates (separate tasks, run concurrently, on Dask workers when
the flow has a Dask task runner), then the set stages once over the merged pool. Task
results are persisted under a key made of their inputs, so a crashed run resumes at the
last finished task and an unchanged rerun replays every task from its stored result.

Tasks get data and a `RunConfig` and build their clients themselves (`run_context`), and
every task returns the LLM usage it caused: the flow's `Ledger` is the one place calls
are counted.

Canaries (`benchsmith.canaries`, the spec's `canaries:` section) are planted every round:
defective copies of this round's candidates ride along in the verify shards, near-copies
of this round's accepted items in the pool the set stages see. They are deterministic in
the candidates and `random_seed`, so they are part of the task inputs and a rerun replays
them. They never count toward the pool target, the yield, selection, the funnel or the
published and rejected sets; their LLM calls are overhead the round's plan pays for, and
the "Canaries" quality report says per defect and per stage how many were caught.
Per-item canaries are judged by the per-item stages only: in the pool every one of them
would be "caught" by dedup as a copy of its own source, which says nothing about its defect.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from prefect import task
from prefect.context import TaskRunContext
from prefect.settings import PREFECT_LOCAL_STORAGE_PATH
from prefect.utilities.annotations import quote
from pydantic import BaseModel, Field

import benchsmith
from benchsmith import progress
from benchsmith.answer_balance import answer_balance_report
from benchsmith.canaries import (
    POOL_DEFECTS,
    Defect,
    Planting,
    applicable,
    catch_report,
    defect_of,
    in_turn,
    is_canary,
    plant,
    run_target,
)
from benchsmith.documents import Chunk, Corpus
from benchsmith.errors import BudgetExhausted, is_transient
from benchsmith.flows.retries import with_retries
from benchsmith.flows.run_context import Ledger, RunConfig, TaskUsage, local_context, task_context
from benchsmith.funnel import Funnel
from benchsmith.llm.usage import logical_calls
from benchsmith.pipeline import ordered, run_stages
from benchsmith.quality import StageReport, merge_reports
from benchsmith.records import Item, Seed, content_hash
from benchsmith.reports import stage_reports
from benchsmith.review.routing import RoutingResult, route
from benchsmith.selection import SELECT_STAGE, select_items
from benchsmith.spec import SuiteSpec
from benchsmith.stages import GenerationFailure, GenerationResult, Verifier, generators, verifiers

StopReason = Literal["target_reached", "budget_exhausted", "max_rounds", "sources_exhausted"]

_UNKEYED = {"run"}
"""Task parameters that do not decide the result (where to find things, which run asks)."""


def _key_value(value: Any) -> Any:
    if isinstance(value, SuiteSpec):
        # Where tasks run never changes what they return; nor does review routing, done after the tasks,
        # nor where versions are pushed.
        return value.model_dump(mode="json", exclude={"source_path": True, "execution": True, "review": True,
                                                      "publish": {"hub"}})
    if isinstance(value, BaseModel):
        # A digest of pydantic's own (Rust) JSON: a 2,000-item pool is keyed in ~25 ms instead
        # of ~100 ms (model_dump + sorted json.dumps), with the event loop stopped meanwhile.
        return hashlib.sha256(value.model_dump_json().encode("utf-8")).hexdigest()
    if isinstance(value, (list, tuple)):
        return [_key_value(v) for v in value]
    return value


def task_key(task_name: str, parameters: dict[str, Any]) -> str:
    """Cache key from a task's name and the content of its inputs (plus the code version)."""
    parts = [(name, _key_value(value)) for name, value in sorted(parameters.items()) if name not in _UNKEYED]
    run = parameters.get("run")
    if isinstance(run, RunConfig):
        parts.append(("spec", _key_value(run.spec)))
        parts.append(("output_dir", str(run.output_dir)))
    return f"benchsmith-{task_name}-{content_hash(benchsmith.__version__, parts, length=32)}"


def _task_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    return task_key(context.task.name, parameters)


def forget(task_name: str, parameters: dict[str, Any]) -> None:
    """Drop a task's persisted result, so that the next run with the same inputs runs it again.

    For results that hold transient failures (rate limits, 5xx, timeouts, invalid JSON,
    a spent budget): this run uses them as they are, but they must not be replayed as
    final. The LLM response cache still holds every answer that succeeded, so the rerun
    sends exactly the calls that failed.
    """
    storage = PREFECT_LOCAL_STORAGE_PATH.value()
    if storage:
        key = task_key(task_name, parameters)
        for path in (Path(storage) / key, Path(storage) / f"{key}.lock"):
            path.unlink(missing_ok=True)


_cached: dict[str, Any] = dict(cache_key_fn=_task_key, persist_result=True, retries=0)


class GenerateOutput(TaskUsage):
    result: GenerationResult = Field(default_factory=GenerationResult)

    def transient(self) -> int:
        """Generation attempts that failed for a reason a rerun should retry."""
        return sum(1 for f in self.result.failures if is_transient(f.reason))


class VerifyOutput(TaskUsage):
    items: list[Item] = Field(default_factory=list)
    reports: list[StageReport] = Field(default_factory=list, description="What the stages measured (`report()`).")

    def transient(self) -> int:
        """Items dropped for a reason a rerun should retry (a judge call that failed, a spent budget)."""
        return sum(1 for it in self.items if not it.passed and is_transient(it.failed_verdict.reason))  # type: ignore[union-attr]


@task(name="generate", **_cached)
async def generate_shard(run: RunConfig, sources: list[Seed] | list[Chunk], n: int, round_index: int,
                         shard: tuple[int, int], budget: int, document_item_counts: dict[str, int],
                         corpus_hash: str, urgent: bool = False) -> GenerateOutput:
    """Shard `shard` of one round: ask every generator of the spec for its share of `n` candidates.

    `sources` are the run's seed prompts, or document chunks for a documents suite
    (`corpus_hash` keys the latter; the chunks travel as the sources themselves).
    `urgent`: its requests go ahead of the round's queue (the top-up shard).
    """
    spec = run.spec
    result = GenerationResult()
    with task_context(run, budget, document_item_counts=document_item_counts, urgent=urgent) as (ctx, usage):
        for stage_spec, share in zip(spec.generators, split(n, len(spec.generators))):
            if share == 0:
                continue
            gen = generators.get(stage_spec.name)(stage_spec.params)
            ctx.plan(gen.name, math.ceil(share / shard[1]))
            try:
                out = await gen.generate(sources, share, round_index, ctx, shard=shard)
            except BudgetExhausted:
                out = GenerationResult()
            result.items.extend(out.items)
            result.failures.extend(out.failures)
    return GenerateOutput(result=result, usage=usage.snapshot(), run_token=run.run_token)


@task(name="verify", **_cached)
async def verify_shard(run: RunConfig, items: list[Item], budget: int, corpus: Corpus | None,
                       urgent: bool = False) -> VerifyOutput:
    """Run the per-item verifiers in spec order over one shard (each sees only the items still standing).

    `urgent`: its requests go ahead of the round's queue (the top-up shard's candidates)."""
    reports: list[StageReport] = []
    with task_context(run, budget, corpus=corpus, urgent=urgent) as (ctx, usage):
        checked = await run_stages(item_stages(run.spec), items, ctx, budget_drops=True, reports=reports)
    return VerifyOutput(items=checked, reports=reports, usage=usage.snapshot(), run_token=run.run_token)


@task(name="dedup", **_cached)
async def filter_pool(run: RunConfig, pool: list[Item], stage_tokens: list[str], corpus: Corpus | None) -> VerifyOutput:
    """Run the set-level stages (dedup, contamination, novelty, ...) once over the whole pool.

    `stage_tokens` (each stage's `cache_token`) only key the cache: a changed reference
    corpus or a newly published version must not be answered from an old result.
    """
    reports: list[StageReport] = []
    with task_context(run, None, corpus=corpus) as (ctx, usage):
        checked = await run_stages(set_stages(run.spec), pool, ctx, reports=reports)
    return VerifyOutput(items=checked, reports=reports, usage=usage.snapshot(), run_token=run.run_token)


def item_stages(spec: SuiteSpec) -> list[Verifier]:
    """The spec's per-item verifiers, in spec order."""
    built = [verifiers.get(s.name)(s.params) for s in spec.verifiers]
    return [s for s in built if s.scope == "item"]


def set_stages(spec: SuiteSpec) -> list[Verifier]:
    """The spec's set-scope stages (its `dedup:` section's and the set verifiers it lists), ordered."""
    stages: list[Verifier] = []
    if spec.dedup.exact:
        stages.append(verifiers.get("dedup_exact")())
    if spec.dedup.semantic:
        stages.append(verifiers.get("dedup_semantic")({"threshold": spec.dedup.threshold}))
    for stage_spec in spec.verifiers:
        cls = verifiers.get(stage_spec.name)
        if cls.scope == "set":
            stages.append(cls(stage_spec.params))
    return ordered(stages)


def split(n: int, parts: int) -> list[int]:
    """`n` in `parts` near-equal integer shares, larger first."""
    base, extra = divmod(n, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def shares(budget: int, sizes: Sequence[int]) -> list[int]:
    """`budget` split over shards in proportion to their sizes; the shares sum to at most `budget`."""
    total = sum(sizes)
    if total == 0:
        return [0 for _ in sizes]
    out = [budget * s // total for s in sizes]
    for i in range(budget - sum(out)):  # hand the remainder out in order
        out[i % len(out)] += 1
    return out


def _strip_set_verdicts(items: Sequence[Item], names: set[str]) -> list[Item]:
    return [it.model_copy(update={"verdicts": [v for v in it.verdicts if v.stage not in names]}) for it in items]


def calls_per_candidate(spec: SuiteSpec) -> int:
    """LLM calls one candidate costs when every call succeeds: its generator's calls (the most of the
    spec's generators) plus each per-item verifier's `calls_per_item()`."""
    generation = max(generators.get(s.name)(s.params).calls_per_item() for s in spec.generators)
    judged = sum(stage.calls_per_item() for stage in item_stages(spec))
    return generation + judged


def canary_defects(spec: SuiteSpec) -> list[Defect]:
    """The defects this suite's canaries carry, in the order they are planted in turn."""
    return applicable(spec.canaries.defects, citations=spec.documents is not None)


def canary_target(spec: SuiteSpec, candidates: int) -> int:
    """How many canaries the run should hold once it has made `candidates` real candidates."""
    cfg = spec.canaries
    if not cfg.active:
        return 0
    minimum = cfg.min if cfg.min is not None else len(canary_defects(spec))
    return run_target(candidates, share=cfg.share, minimum=minimum, maximum=cfg.max)


def canary_calls(spec: SuiteSpec, canaries: Sequence[Item]) -> int:
    """LLM calls the canaries cost: each stage's `calls_per_item()` for every stage that judged one
    (a near-copy's per-item verdicts are its source's, copied for free)."""
    item_cost = {s.name: s.calls_per_item() for s in item_stages(spec)}
    set_cost = {s.name: s.calls_per_item() for s in set_stages(spec)}
    total = 0
    for it in canaries:
        costs = set_cost if defect_of(it) in POOL_DEFECTS else {**item_cost, **set_cost}
        total += sum(costs.get(v.stage, 0) for v in it.verdicts
                     if v.passed or not is_transient(v.reason))
    return total


def pool_target(spec: SuiteSpec) -> int:
    """How many surviving items generation aims for: the target, plus the over-generation asked for."""
    return math.ceil(spec.target_items * spec.selection.overgenerate)


def canary_reserve(spec: SuiteSpec, generated: int, n: int, canaries: int, turns: int = 0) -> int:
    """Per-item verifier calls to set aside for the canaries a round of `n` candidates plants
    (`generated`: candidates made before it; `canaries`: how many the run holds already;
    `turns`: how many defects earlier rounds took in turn).

    Only the canaries due for the per-item verifiers cost calls here: the pool defects
    (near-copies) are planted after verification and carry their source's verdicts. Counting
    them too held back budget that a second round of a handful of candidates then had to
    spend, a round that cost a whole generate-and-judge latency for those few items.
    """
    per_canary = sum(stage.calls_per_item() for stage in item_stages(spec))
    due = in_turn(canary_defects(spec), turns, max(0, canary_target(spec, generated + n) - canaries))
    return per_canary * sum(1 for d in due if d not in POOL_DEFECTS)


def wanted_candidates(spec: SuiteSpec, kept: int, generated: int, survived: int) -> int:
    """Candidates the missing items need at the yield seen so far, whatever the budget (`plan_round`)."""
    need = pool_target(spec) - kept
    if need <= 0:
        return 0
    yield_rate = max(survived / generated, 0.2) if generated else 1.0
    return min(math.ceil(need / yield_rate * (1.05 if generated else 1.0)), 4 * pool_target(spec))


def plan_round(spec: SuiteSpec, kept: int, generated: int, survived: int, budget_left: int,
               canaries: int = 0, turns: int = 0) -> int:
    """How many candidates to ask for next: enough for the missing items at the yield seen so far.

    The first round assumes every candidate survives, so a run whose yield is 100% pays
    for exactly what it publishes (plus its canaries); later rounds use the measured yield
    (never assumed below 1 in 5) with a 5% margin. Never more than the remaining budget can
    finish, counting the per-item verifier calls of the canaries the round will plant
    (`canaries`: how many the run holds already; `turns`: defects taken in turn so far).
    """
    wanted = wanted_candidates(spec, kept, generated, survived)
    if wanted == 0:
        return 0
    per_candidate = calls_per_candidate(spec)
    affordable = budget_left // per_candidate
    if any(stage.calls_per_item() for stage in item_stages(spec)):
        def cost(n: int) -> int:
            return n * per_candidate + canary_reserve(spec, generated, n, canaries, turns)

        while affordable > 0 and cost(affordable) > budget_left:
            affordable -= 1
    return max(0, min(wanted, affordable))


def build_funnel(spec: SuiteSpec, attempted: int, final: list[Item], failures: list[GenerationFailure],
                 stop_reason: StopReason) -> Funnel:
    """Counts per stage from the final verdicts, so a resumed run reports the same funnel.

    `generate` received the generation attempts the generators made (which may be fewer
    than the flow asked for, e.g. under per-document quotas).
    """
    final = [it for it in final if not is_canary(it)]  # canaries are reported on their own
    funnel = Funnel(stop_reason=stop_reason)
    funnel.record("generate", attempted, len(final), [f.reason for f in failures])
    order = [s.name for s in item_stages(spec)] + [s.name for s in set_stages(spec)] + [SELECT_STAGE]
    for name in order:
        judged = [v for v in (it.verdict(name) for it in final) if v is not None]
        funnel.record(name, len(judged), sum(1 for v in judged if v.passed),
                      [v.reason or "dropped" for v in judged if not v.passed])
    return funnel


def record_review(funnel: Funnel, routing: RoutingResult, selected: int) -> None:
    """The funnel's `review` row: the selected items and the routed drops in, the auto-accepted kept,
    the queued ones out, by route (the audit sample is kept: it is published unless a reviewer rejects it)."""
    routed_drops = len(routing.queued) - (selected - len(routing.auto_accepted))
    funnel.record("review", selected + routed_drops, len(routing.auto_accepted),
                  [f"queued:{it.metadata.get('review_route', 'review')}" for it in routing.queued])


class RunOutcome(BaseModel):
    """What a build run produced; the CLI prints it and the store records it."""

    suite: str
    stop_reason: StopReason
    funnel: Funnel
    published: list[Item] = Field(default_factory=list)
    rejected: list[Item] = Field(default_factory=list)
    failures: list[GenerationFailure] = Field(default_factory=list)
    reports: dict[str, Any] = Field(default_factory=dict, description="Per-stage drop reports and selection report.")
    rounds: int = 0
    llm_calls: int = Field(default=0, description="LLM calls the run accounts for (answered or cached).")
    min_llm_calls: int = Field(default=0, description="The fewest calls the published items could have cost "
                                                      "(every candidate surviving); canaries not included.")
    canaries: list[Item] = Field(default_factory=list,
                                 description="The planted canaries with their verdicts: never published, "
                                             "not in `rejected` (the 'canaries' quality report sums them up).")
    canary_llm_calls: int = Field(default=0, description="LLM calls the canaries cost (part of `llm_calls`).")
    queued: list[Item] = Field(default_factory=list,
                               description="Items the spec's `review:` policy sent to the queue (in neither "
                                           "`published` nor `rejected` until a reviewer decides them).")
    audit_ids: list[str] = Field(default_factory=list,
                                 description="Auto-accepted items (in `published`) also queued as the audit sample.")

    @property
    def calls_per_item(self) -> float | None:
        """LLM calls per published item (None when nothing was published)."""
        return self.llm_calls / len(self.published) if self.published else None


def _start(task_fn: Any, kw: dict[str, Any], distributed: bool) -> asyncio.Future[Any]:
    """Start one task now: submitted to the task runner (Dask) or run on this event loop.

    In process, the tasks share this event loop and with it each endpoint's in-flight limit.
    Large arguments are `quote`d: Prefect would otherwise walk every item looking for futures.
    A result holding transient failures is used, then forgotten (`forget`). A task that raises
    is retried by Prefect as the spec's `execution.retries` says (`flows.retries`).
    """
    task_fn = with_retries(task_fn, kw["run"].spec.execution, kw["run"].run_token)
    # Every parameter, defaults included, as Prefect keys the result: `forget` must name the same key.
    bound = inspect.signature(task_fn.fn).bind(**kw)
    bound.apply_defaults()
    kw = dict(bound.arguments)
    if distributed:
        # Dask pickles the arguments itself (Prefect's quote() would reach the worker unresolved).
        future = task_fn.submit(**kw)
        pending: Any = asyncio.to_thread(future.result)
    else:
        pending = task_fn(**{k: quote(v) if isinstance(v, (list, Corpus)) else v for k, v in kw.items()})

    async def result() -> Any:
        out = await pending
        if out.transient():
            forget(task_fn.name, kw)
        return out

    return asyncio.ensure_future(result())


async def _cancel(futures: Sequence[asyncio.Future[Any]]) -> None:
    """Cancel the tasks still running and wait for them (after one of their siblings failed)."""
    for f in futures:
        f.cancel()
    await asyncio.gather(*futures, return_exceptions=True)


async def _map(task_fn: Any, calls: list[dict[str, Any]], distributed: bool) -> list[Any]:
    """Run one task per keyword set (`_start`), all at once; their results in order."""
    futures = [_start(task_fn, kw, distributed) for kw in calls]
    try:
        return list(await asyncio.gather(*futures))
    except BaseException:
        await _cancel(futures)
        raise


class _RoundWork(BaseModel):
    """What one round's generation and per-item verification produced (`_generate_and_verify`)."""

    model_config = {"arbitrary_types_allowed": True}

    made: GenerationResult = Field(description="Every candidate and failure the generators returned.")
    duplicates: list[GenerationFailure] = Field(description="Candidates that repeat an earlier item.")
    due: list[Defect] = Field(description="The defects this round's canaries were due to carry, in turn.")
    planted: list[Item] = Field(description="The per-item canaries planted this round (before verification).")
    not_planted: dict[str, str] = Field(default_factory=dict)
    checked: list[VerifyOutput] = Field(description="The verify shards' results, in shard order.")


async def _generate_and_verify(run: RunConfig, sources: list[Seed] | list[Chunk], *, n: int, round_index: int,
                               shards: int, counts: dict[str, int], corpus_hash: str, corpus: Corpus | None,
                               distributed: bool, ledger: Ledger, items: dict[str, Item],
                               canaries: dict[str, Item], defects: list[Defect], turns: int,
                               started: list[asyncio.Future[Any]], short_by: int = 0) -> _RoundWork | None:
    """One round's generation shards and the verify shards of their candidates; None if nothing was made.

    A generation shard's candidates are verified as soon as it and every shard before it
    have finished, while later shards still generate: the endpoint's slots stay busy
    instead of idling between the phases. Waiting for the shards before it keeps what a
    shard's verify task gets (which repeats are dropped, its inputs, its budget) the
    same whatever order the shards finish in. The round's per-item canaries are planted
    from the first shard with new candidates and verified with them.

    Budgets are fixed up front so that they never depend on timing: the generation shards
    share what the round's verification (its candidates and canaries, `calls_per_item()`
    each) does not need; a verify shard gets its candidates' calls plus what its
    generation shard left unspent, and the canaries' shard their reserve too.

    `short_by`: how many candidates the budget kept this round from asking for. The
    canaries' reserve assumes every canary reaches every verifier, but one that an
    LLM-free check drops costs nothing more: once the canaries' shard is verified, what it
    left unspent buys up to `short_by` more candidates in a top-up shard, in this round
    rather than in a round of its own after it (a whole generate-and-verify latency for a
    handful of items). Like every shard of the round it sees the document counts of the
    earlier rounds only; its candidates are taken after the regular shards'. Together
    they never exceed what the run had left. Every task is appended to `started` (for cancellation).
    """
    spec = run.spec
    shard_size = spec.execution.shard_size
    budget = ledger.left()
    per_verify = sum(stage.calls_per_item() for stage in item_stages(spec))
    canary_calls_reserved = canary_reserve(spec, len(items), n, len(canaries), turns)
    reserve = min(budget, per_verify * n + canary_calls_reserved)
    gen_budgets = shares(budget - reserve, [1] * shards)
    gens = [_start(generate_shard, dict(run=run, sources=sources, n=n, round_index=round_index, shard=(i, shards),
                                        budget=gen_budgets[i], document_item_counts=counts,
                                        corpus_hash=corpus_hash), distributed) for i in range(shards)]
    started.extend(gens)
    made = GenerationResult()
    duplicates: list[GenerationFailure] = []
    fresh: list[Item] = []
    seen: set[str] = set()
    verifying: list[asyncio.Future[Any]] = []
    spent = committed = 0  # generation calls charged so far; budgets handed to verify shards so far
    due: list[Defect] | None = None  # the round's canary defects, once planted
    planted = Planting()

    def verify(batch_items: list[Item], allowance: int, urgent: bool = False) -> list[asyncio.Future[Any]]:
        batches = [batch_items[j:j + shard_size] for j in range(0, len(batch_items), shard_size)]
        futures = [_start(verify_shard, dict(run=run, items=b, budget=b_budget, corpus=corpus, urgent=urgent),
                          distributed)
                   for b, b_budget in zip(batches, shares(allowance, [len(b) for b in batches]))]
        verifying.extend(futures)
        started.extend(futures)
        return futures

    def plant_canaries(candidates: list[Item]) -> Planting:
        # This round's canaries, taken in turn over the defects; pool defects wait for the verified pool.
        nonlocal due
        due = in_turn(defects, turns, max(0, canary_target(spec, len(items) + n) - len(canaries)))
        return plant(candidates, [d for d in due if d not in POOL_DEFECTS], f"{spec.random_seed}|{round_index}|item",
                     partners=list(items.values()), corpus=corpus, exclude_ids=canaries)

    def take(out: GenerateOutput) -> tuple[list[Item], int]:
        """Charge a generation shard; its new candidates (repeats dropped) and the calls it used."""
        nonlocal spent
        ledger.charge(out)
        used = logical_calls(out.usage)
        spent += used
        made.items.extend(out.result.items)
        made.failures.extend(out.result.failures)
        mine = []
        for it in out.result.items:
            if it.id in items or it.id in seen:
                # The model repeated itself: one item; the copy counts as dropped.
                duplicates.append(GenerationFailure(seed_id=it.seed_id, operator=it.lineage.operator,
                                                    reason="duplicate_output"))
            else:
                seen.add(it.id)
                mine.append(it)
        fresh.extend(mine)
        return mine, used

    async def buy_top_up(canary_shards: list[asyncio.Future[Any]],
                         allowance: int) -> tuple[GenerateOutput, int, int] | None:
        """Once the canaries' shard is verified: the top-up shard its unspent calls buy, if any
        (its output, those calls, and its generation budget). It depends on that shard's
        result alone, never on when other shards finish."""
        left = allowance - sum(logical_calls(out.usage) for out in await asyncio.gather(*canary_shards))
        n_more = min(short_by, left // calls_per_candidate(spec))
        if n_more <= 0:
            return None
        gen_budget = left - per_verify * n_more
        # Its own round index (beyond the rounds'), so that it plans new requests.
        shard = _start(generate_shard, dict(
            run=run, sources=sources, n=n_more, round_index=spec.budget.max_rounds + round_index, shard=(0, 1),
            budget=gen_budget, document_item_counts=counts, corpus_hash=corpus_hash, urgent=True), distributed)
        started.append(shard)
        return await shard, left, gen_budget

    top_up: asyncio.Future[tuple[GenerateOutput, int, int] | None] | None = None
    for i, future in enumerate(gens):
        mine, used = take(await future)
        if not mine:
            continue
        with_canaries = due is None
        if with_canaries:
            planted = plant_canaries(mine)
        extra = canary_calls_reserved if with_canaries else 0
        uncommitted = budget - spent - sum(gen_budgets[i + 1:]) - committed
        allowance = max(0, min(len(mine) * per_verify + gen_budgets[i] - used + extra, uncommitted))
        committed += allowance
        batch = verify([*mine, *planted.items] if with_canaries else mine, allowance)
        if with_canaries and short_by > 0 and per_verify:
            top_up = asyncio.ensure_future(buy_top_up(batch, allowance))
            started.append(top_up)
    if not made.items and not made.failures:
        return None
    if due is None:  # nothing new to derive canaries from: say why none were planted
        planted = plant_canaries([])
    if top_up is not None:
        bought = await top_up
        if bought is not None:
            out, left, gen_budget = bought
            mine, used = take(out)
            if mine:
                verify(mine, max(0, min(len(mine) * per_verify + gen_budget - used, left - used)), urgent=True)
    checked: list[VerifyOutput] = [await f for f in verifying]
    return _RoundWork(made=made, duplicates=duplicates, due=due or [], planted=planted.items,
                      not_planted=planted.not_planted, checked=checked)


async def build_suite(run: RunConfig, sources: list[Seed] | list[Chunk], corpus: Corpus | None,
                      distributed: bool = False) -> tuple[RunOutcome, Ledger]:
    """Generate, verify and dedup until the pool target survives or the budget is spent; then select.

    Called inside the `suite-run` flow (`flows.run_suite`); `distributed` says its task
    runner is a Dask cluster. Publishing is the next step.
    """
    spec = run.spec
    sink = progress.sink()
    ledger = Ledger(run)
    dedup_names = {s.name for s in set_stages(spec)}
    shard_size = spec.execution.shard_size
    corpus_hash = corpus.content_hash() if corpus is not None else ""
    items: dict[str, Item] = {}    # every distinct item made, in its latest state
    pool_ids: list[str] = []       # items that passed every per-item verifier, in order
    failures: list[GenerationFailure] = []
    measured: list[StageReport] = []   # what the stages reported, in order (the last per stage wins)
    canaries: dict[str, Item] = {}     # every canary planted, in its latest state
    near_ids: list[str] = []           # the canaries that go to the set stages with the pool
    not_planted: dict[str, str] = {}   # defect -> why it could not be planted (last round's reason)
    defects = canary_defects(spec)
    attempted = rounds = kept_count = turns = 0
    stop_reason: StopReason = "max_rounds"
    for round_index in range(spec.budget.max_rounds):
        if kept_count >= pool_target(spec):
            break
        n = plan_round(spec, kept_count, len(items), kept_count, ledger.left(), len(canaries), turns)
        if n == 0:
            stop_reason = "budget_exhausted"
            break
        rounds += 1
        sink.message(f"round {round_index + 1}: asking for {n} candidates "
                     f"({kept_count}/{spec.target_items} kept so far)")
        # Per-document quotas count the items of earlier rounds: a task input, so part of its cache key.
        counts = dict(Counter(d for it in items.values() for d in it.metadata.get("document_ids", [])))
        started: list[asyncio.Future[Any]] = []
        try:
            work = await _generate_and_verify(
                run, sources, n=n, round_index=round_index, shards=max(1, math.ceil(n / shard_size)), counts=counts,
                corpus_hash=corpus_hash, corpus=corpus, distributed=distributed, ledger=ledger, items=items,
                canaries=canaries, defects=defects, turns=turns, started=started,
                short_by=wanted_candidates(spec, kept_count, len(items), kept_count) - n)
        except BaseException:
            await _cancel(started)
            raise
        if work is None:
            # Every source is used up (e.g. each document reached its quota): more rounds can't help.
            stop_reason = "sources_exhausted"
            break
        attempted += len(work.made.items) + len(work.made.failures)
        failures.extend(work.made.failures)
        failures.extend(work.duplicates)
        due = work.due
        turns += len(due)
        not_planted.update(work.not_planted)
        for canary in work.planted:
            canaries[canary.id] = canary
        round_start = len(pool_ids)
        for out in work.checked:
            ledger.charge(out)
            measured.extend(out.reports)
            for it in out.items:
                if is_canary(it):
                    canaries[it.id] = it
                    continue
                items[it.id] = it
                if it.passed:
                    pool_ids.append(it.id)
        # Near-copies of items this round accepted (of earlier rounds' when none): dedup must catch them.
        near = plant([items[i] for i in pool_ids[round_start:]] or [items[i] for i in pool_ids],
                     [d for d in due if d in POOL_DEFECTS], f"{spec.random_seed}|{round_index}|pool",
                     exclude_ids=canaries)
        not_planted.update(near.not_planted)
        for canary in near.items:
            canaries[canary.id] = canary
            near_ids.append(canary.id)
        ctx = local_context(run, corpus)
        tokens = [stage.cache_token(ctx) for stage in set_stages(spec)]
        pool = _strip_set_verdicts([*(items[i] for i in pool_ids), *(canaries[i] for i in near_ids)], dedup_names)
        [filtered] = await _map(filter_pool, [dict(run=run, pool=pool, stage_tokens=tokens, corpus=corpus)],
                                distributed)
        ledger.charge(filtered)
        measured.extend(filtered.reports)
        for it in filtered.items:
            (canaries if is_canary(it) else items)[it.id] = it
        kept_count = sum(1 for it in filtered.items if it.passed and not is_canary(it))
    if kept_count >= spec.target_items:
        stop_reason = "target_reached"

    published, surplus, selection_report = select_items(
        [items[i] for i in pool_ids], spec.target_items, spec.selection, local_context(run, corpus))
    items.update((it.id, it) for it in published + surplus)
    final = list(items.values())
    planted_all = list(canaries.values())
    funnel = build_funnel(spec, attempted, final, failures, stop_reason)
    canary_report = None
    spent_on_canaries = canary_calls(spec, planted_all)
    if spec.canaries.active:
        made = {defect_of(it) for it in planted_all}
        canary_report = catch_report(planted_all, [s.stage for s in funnel.stages if s.stage != "generate"],
                                     not_planted={d: why for d, why in not_planted.items() if d not in made},
                                     calls=spent_on_canaries)
    # Stages assess over every item they judged, canaries included (their catch rates).
    quality = merge_reports([*measured, *(stage.assess([*final, *planted_all])
                                          for stage in [*item_stages(spec), *set_stages(spec)]), canary_report,
                              answer_balance_report(published)])
    reports = {"stages": stage_reports(final, [s.stage for s in funnel.stages]), **selection_report,
               "quality": [r.model_dump(mode="json") for r in quality]}
    routing = route(published, [it for it in final if not it.passed], spec.review, spec.random_seed)
    if spec.review.enabled:
        record_review(funnel, routing, len(published))
    outcome = RunOutcome(
        suite=spec.suite, stop_reason=stop_reason, published=routing.auto_accepted,
        rejected=routing.rejected, failures=failures, rounds=rounds,
        llm_calls=ledger.logical, min_llm_calls=len(published) * calls_per_candidate(spec), funnel=funnel,
        reports=reports, canaries=planted_all, canary_llm_calls=spent_on_canaries,
        queued=routing.queued, audit_ids=[it.id for it in routing.audit])
    return outcome, ledger
