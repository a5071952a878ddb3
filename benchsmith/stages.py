"""Base classes for the stages, and the registries a suite spec names them through.

A stage is plain configuration plus one job, constructible and testable with no Prefect
and no network; what it uses at run time comes from the `StageContext`. The base classes
own the loop, as datatrove's `BaseFilter` does, so a stage writes only its decision:

- `Generator` turns seeds (or document chunks) into candidate items.
- `ItemVerifier` implements `check(item, ctx) -> Verdict` (sync or async); the base class
  runs it over the items with bounded concurrency, progress, cancellation and drop counts.
- `LLMVerifier` implements how to ask (`messages`, `schema`) and how to read the answer
  (`read`); the base class makes the call and turns failed calls into verdicts.
- A set verifier (`scope = "set"`: dedup, contamination, novelty) sees the whole pool and
  implements `verify(items, ctx)` itself.
"""

from __future__ import annotations

import abc
import asyncio
import inspect
from collections import Counter
from collections.abc import Awaitable, Sequence
from typing import Any, ClassVar, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from benchsmith.aio import gather_or_cancel
from benchsmith.context import StageContext
from benchsmith.errors import LLMOutputError, LLMRequestError
from benchsmith.quality import StageReport
from benchsmith.records import Item, Verdict
from benchsmith.registry import Registry

__all__ = ["GenerationFailure", "GenerationResult", "Generator", "ItemVerifier", "LLMVerifier", "StageConfig",
           "StageContext", "Verifier", "generators", "verifiers"]

Scope = Literal["item", "set"]


class StageConfig(BaseModel):
    """Base for a stage's parameters; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class GenerationFailure(BaseModel):
    """A generation attempt that produced no item, kept so the funnel can say why."""

    model_config = ConfigDict(extra="forbid")

    seed_id: str | None = None
    operator: str | None = None
    reason: str = Field(description="Short code: 'invalid_json', 'timeout', 'http_500', ...")
    detail: str = ""


class GenerationResult(BaseModel):
    """What one generator call produced."""

    model_config = ConfigDict(extra="forbid")

    items: list[Item] = Field(default_factory=list)
    failures: list[GenerationFailure] = Field(default_factory=list)


class Generator(abc.ABC):
    """Turns seeds into candidate items."""

    name: ClassVar[str] = "generator"
    Config: ClassVar[type[StageConfig]] = StageConfig

    def __init__(self, config: StageConfig | dict[str, Any] | None = None) -> None:
        self.config = config if isinstance(config, StageConfig) else self.Config(**(config or {}))

    @abc.abstractmethod
    async def generate(self, seeds: Sequence[Any], n: int, round_index: int, ctx: StageContext,
                       shard: tuple[int, int] = (0, 1)) -> GenerationResult:
        """Make up to `n` candidates from `seeds` (seed prompts, or chunks for a documents generator).

        `round_index` numbers the calls of one run so that each round asks for new
        variants deterministically (same spec, same round → same requests → cache hits).
        `shard=(i, k)` asks for the i-th of k disjoint parts of that round's plan: the
        union of the k parts is exactly the unsharded result, so sharding never changes
        what a run publishes.
        """

    def calls_per_item(self) -> int:
        """LLM calls one candidate costs this generator when every call succeeds (for cost reports)."""
        return 1

    @staticmethod
    def shard_of(plan: Sequence[Any], shard: tuple[int, int]) -> list[Any]:
        """The part of a deterministic plan that shard `(i, k)` runs."""
        i, k = shard
        if not 0 <= i < k:
            raise ValueError(f"shard must be (i, k) with 0 <= i < k, got {shard}")
        return list(plan[i::k])


class Verifier(abc.ABC):
    """Judges items: returns exactly one verdict per input item, in order."""

    name: ClassVar[str] = "verifier"
    Config: ClassVar[type[StageConfig]] = StageConfig
    scope: ClassVar[Scope] = "item"
    uses_llm: ClassVar[bool] = False
    """True for stages that make LLM calls per item (the flow budgets `calls_per_item()` for them)."""
    ranks_quality: ClassVar[bool] = False
    """True when this stage's score measures an item's quality: its verdicts are marked so that
    dedup keepers and selection prefer higher scores without knowing any stage by name."""
    order: ClassVar[int] = 100
    """Position among the set stages (lower runs first: cheap, exact checks before costly ones)."""

    def __init__(self, config: StageConfig | dict[str, Any] | None = None) -> None:
        self.config = config if isinstance(config, StageConfig) else self.Config(**(config or {}))
        self.drops: Counter[str] = Counter()
        """Items this stage dropped, by reason, over every `verify` call of this instance."""

    @abc.abstractmethod
    async def verify(self, items: Sequence[Item], ctx: StageContext) -> list[Verdict]:
        """One verdict per item, same order."""

    def cache_token(self, ctx: StageContext) -> str:
        """What, besides the items and the spec, decides this stage's verdicts (reference files,
        published versions). The flow adds it to the task cache key; '' when nothing does."""
        return ""

    def calls_per_item(self) -> int:
        """LLM calls one item costs this stage when every call succeeds (the flow plans with it)."""
        return 1 if self.uses_llm else 0

    def tolerates_losing(self, roles: frozenset[str]) -> bool:
        """Whether this stage still decides with the LLM roles `roles` unreachable (a jury that
        keeps enough judges). The run's pre-flight probe goes on, with a warning, only when every
        stage tolerates the roles that failed it; by default a stage that calls an LLM does not."""
        return not self.uses_llm

    def report(self) -> StageReport | None:
        """What this stage measured while it ran (e.g. a null distribution and the thresholds it
        chose), after its last `verify`; None when it has nothing to report.

        Called in the process that ran the stage; the report travels with the task's result."""
        return None

    def assess(self, items: Sequence[Item]) -> StageReport | None:
        """Quality figures that need the run's final items (its own verdicts over all of them,
        canaries included: `benchsmith.canaries.is_canary`), e.g. whether a judge discriminates.

        Called once by the flow after the last round, in the flow's process; None by default."""
        return None

    def replacements(self) -> list[Item]:
        """New candidates this stage made in its last `verify` in place of items it dropped (e.g.
        `solver_panel`'s hardened items); none by default. The pipeline (`run_stages`) has each
        judged by every stage up to this one and adds it to the items; the originals stay dropped."""
        return []

    def verdict(self, passed: bool, *, score: float | None = None, reason: str | None = None,
                **details: Any) -> Verdict:
        """A verdict of this stage: the item stays when `passed`, else it is dropped for `reason`."""
        return Verdict(stage=self.name, passed=passed, score=score, reason=None if passed else reason,
                       ranks_quality=self.ranks_quality, details=details)

    def _count(self, verdicts: Sequence[Verdict]) -> list[Verdict]:
        self.drops.update(v.reason or "dropped" for v in verdicts if not v.passed)
        return list(verdicts)


class ItemVerifier(Verifier):
    """A verifier that judges each item on its own: implement `check`."""

    scope: ClassVar[Scope] = "item"
    _YIELD_EVERY: ClassVar[int] = 256  # sync checks give the event loop a turn (Ctrl-C, progress)

    @abc.abstractmethod
    def check(self, item: Item, ctx: StageContext) -> Verdict | Awaitable[Verdict]:
        """The verdict on one item (a coroutine for checks that wait on I/O)."""

    def prepare(self, items: Sequence[Item], ctx: StageContext) -> None:
        """Called once per `verify` before the first check: resolve per-run resources here."""

    async def verify(self, items: Sequence[Item], ctx: StageContext) -> list[Verdict]:
        """Run `check` over the items: concurrently when it is async (the LLM client bounds how
        many calls are in flight), in a plain loop when it is not."""
        if not items:
            return []
        self.prepare(items, ctx)
        if inspect.iscoroutinefunction(self.check):
            async def one(item: Item) -> Verdict:
                verdict = await cast(Awaitable[Verdict], self.check(item, ctx))
                ctx.progress(self.name, 1)
                return verdict
            # BudgetExhausted / EndpointError / Ctrl-C end the stage with the other checks cancelled.
            return self._count(await gather_or_cancel([one(item) for item in items]))
        verdicts: list[Verdict] = []
        for i, item in enumerate(items, 1):
            verdicts.append(self.check(item, ctx))  # type: ignore[arg-type]
            if i % self._YIELD_EVERY == 0:
                ctx.progress(self.name, self._YIELD_EVERY)
                await asyncio.sleep(0)
        ctx.progress(self.name, len(items) % self._YIELD_EVERY)
        return self._count(verdicts)


class LLMVerifier(ItemVerifier):
    """A per-item verifier that asks a model: implement `messages`, `schema` and `read`.

    The base class sends the request through the role's client (JSON-schema output,
    validated, repaired once, cached) and turns a failed call into a dropping verdict
    `judge_error:<reason>`; `BudgetExhausted` and `EndpointError` end the stage.
    """

    uses_llm: ClassVar[bool] = True
    role: ClassVar[str] = "judge"
    schema_name: ClassVar[str] = "answer"

    @abc.abstractmethod
    def schema(self) -> dict[str, Any]:
        """JSON schema of the answer."""

    @abc.abstractmethod
    def messages(self, item: Item, ctx: StageContext) -> list[dict[str, str]] | Verdict:
        """The chat messages that ask about `item`, or a verdict when no call is needed."""

    @abc.abstractmethod
    def read(self, item: Item, answer: dict[str, Any], model: str | None) -> Verdict:
        """The verdict that the model's (schema-valid) answer implies."""

    def max_tokens(self) -> int | None:
        """Override of the endpoint's max_tokens (the stage's `max_tokens` parameter, if it has one)."""
        return getattr(self.config, "max_tokens", None)

    def on_error(self, item: Item, err: LLMOutputError | LLMRequestError, model: str | None) -> Verdict:
        """The verdict when the call failed after retries and repair (default: drop the item)."""
        return self.verdict(False, reason=f"judge_error:{err.reason}", error=str(err)[:300], model=model)

    def role_for(self, ctx: StageContext) -> str:
        """The LLM role this stage asks (default: the class's `role`)."""
        return self.role

    async def ask(self, item: Item, ctx: StageContext) -> tuple[dict[str, Any] | Verdict, str | None]:
        """Ask the role's model about `item`: (its answer, the model), or (a verdict, the model) when
        `messages` decided without asking or the call failed (`on_error`)."""
        asked = self.messages(item, ctx)
        if isinstance(asked, Verdict):
            return asked, None
        client = ctx.client(self.role_for(ctx))
        model = getattr(client, "model", None)
        try:
            answer = await client.complete_json(asked, self.schema(), schema_name=self.schema_name,
                                                max_tokens=self.max_tokens())
        except (LLMOutputError, LLMRequestError) as err:
            return self.on_error(item, err, model), model
        return answer, model

    async def check(self, item: Item, ctx: StageContext) -> Verdict:
        answer, model = await self.ask(item, ctx)
        return answer if isinstance(answer, Verdict) else self.read(item, answer, model)


generators: Registry[Generator] = Registry("generator", modules=("benchsmith.generators",),
                                           entry_point_group="benchsmith.generators", base=Generator)
verifiers: Registry[Verifier] = Registry("verifier", modules=("benchsmith.verifiers",),
                                         entry_point_group="benchsmith.verifiers", base=Verifier)
