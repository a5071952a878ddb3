"""The `evolve` generator: Evol-Instruct-style expansion of seed prompts.

In-depth operators rewrite a seed into a harder test case (add constraints, deepen,
concretize, increase reasoning, complicate the input); the in-breadth operator writes a
brand-new prompt in the seed's domain and is drawn more rarely. Each LLM call returns one
test case together with its reference answer. With `depth > 1` the evolved prompt is
evolved again, and every step is an item whose `lineage.parent_id` is the step before.

Planning is a pure function of (seeds, n, round, random seed): a rerun of the same spec
sends byte-identical requests (cache hits), and each round's `cache_salt` asks for new
variants even when it draws the same seed and operator as an earlier round.
"""

from __future__ import annotations

import asyncio
import difflib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, Field, field_validator

from benchsmith.aio import gather_or_cancel
from benchsmith.errors import BudgetExhausted, LLMOutputError, LLMRequestError
from benchsmith.generators.evolve_prompts import (
    ALL_OPERATORS,
    IN_BREADTH_OPERATORS,
    build_messages,
    clean_code_answer,
    copies_example,
    normalise,
    output_schema,
)
from benchsmith.records import Item, Lineage, Seed, content_hash
from benchsmith.stages import (
    GenerationFailure,
    GenerationResult,
    Generator,
    StageConfig,
    StageContext,
    generators,
)
from benchsmith.text import clean_text, is_placeholder

if TYPE_CHECKING:
    from benchsmith.llm.client import LLMClient



class EvolveConfig(StageConfig):
    """Parameters of the `evolve` generator."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    operators: list[str] = Field(default_factory=lambda: list(ALL_OPERATORS))
    """Operators to draw from: add_constraints, deepen, concretize, increase_reasoning, complicate_input
    (in-depth) and breadth (a brand-new prompt in the same domain). Default: all."""
    breadth_share: float = Field(default=0.1, ge=0.0, le=1.0)
    """Probability that a step uses `breadth` when in-depth operators are also listed (it is the rarer kind)."""
    depth: int = Field(default=1, ge=1, le=5)
    """Evolution steps per chain: with depth 2 the evolved prompt is evolved once more; every step is an item."""
    kind: Literal["open_qa", "code"] = "open_qa"
    """Item kind: open questions with a short answer, or coding tasks with a reference solution."""
    difficulty: Literal["easy", "medium", "hard"] | None = None
    """Difficulty hint written into the prompt (none by default)."""
    item_language: str | None = None
    """Natural language of the items, e.g. 'French' (default: whatever the seeds use)."""
    code_language: str = "Python"
    """Programming language of reference solutions when kind is 'code'."""
    max_tokens: int | None = Field(default=None, ge=16, le=32768)
    """Completion token limit per call (default: the generator endpoint's max_tokens)."""
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    """Sampling temperature (default: the generator endpoint's temperature)."""

    @field_validator("operators")
    @classmethod
    def _known_operators(cls, operators: list[str]) -> list[str]:
        if not operators:
            raise ValueError(f"list at least one operator; known operators: {', '.join(ALL_OPERATORS)}")
        for op in operators:
            if op not in ALL_OPERATORS:
                close = difflib.get_close_matches(op, ALL_OPERATORS, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"unknown operator {op!r}.{hint} Known operators: {', '.join(ALL_OPERATORS)}")
        dupes = sorted({op for op in operators if operators.count(op) > 1})
        if dupes:
            raise ValueError(f"operator listed twice: {', '.join(dupes)}")
        return operators


@dataclass(frozen=True)
class PlannedStep:
    """One LLM call of a chain."""

    operator: str
    cache_salt: str


@dataclass(frozen=True)
class PlannedChain:
    """One seed evolved `len(steps)` times in a row."""

    index: int
    seed: Seed
    steps: tuple[PlannedStep, ...]


def plan_chains(seeds: Sequence[Seed], n: int, round_index: int, random_seed: int,
                config: EvolveConfig) -> list[PlannedChain]:
    """Deterministic plan for `n` items: chains of `config.depth` steps over the seeds, round-robin.

    Seeds are taken in file order from an offset that moves on with every round, so later
    rounds start where earlier ones stopped (exactly so while `n` stays the same);
    operators are drawn by a RNG seeded with (random_seed, round_index).
    """
    if n <= 0 or not seeds:
        return []
    n_chains = math.ceil(n / config.depth)
    base = random.Random(int(content_hash("evolve-offset", random_seed), 16)).randrange(len(seeds))
    rng = random.Random(int(content_hash("evolve-plan", random_seed, round_index), 16))
    draw = _OperatorDraw(config, rng)
    chains: list[PlannedChain] = []
    for c in range(n_chains):
        seed = seeds[(base + round_index * n_chains + c) % len(seeds)]
        n_steps = min(config.depth, n - c * config.depth)
        ops = [draw.first(seed.id)] + [draw.any() for _ in range(n_steps - 1)]
        steps = tuple(
            PlannedStep(operator=op, cache_salt=f"evolve/seed={random_seed}/round={round_index}/chain={c}/step={s}")
            for s, op in enumerate(ops)
        )
        chains.append(PlannedChain(index=c, seed=seed, steps=steps))
    return chains


class _OperatorDraw:
    """Seeded operator choice: `breadth` with probability `breadth_share`, else an in-depth operator.

    A chain's first in-depth operator is drawn without replacement per seed within a
    round: a repeated (seed, operator) pair sends the same messages, and a deterministic
    endpoint (temperature 0, or the test server) would answer with the same item again.
    """

    def __init__(self, config: EvolveConfig, rng: random.Random) -> None:
        self.rng = rng
        self.in_depth = [op for op in config.operators if op not in IN_BREADTH_OPERATORS]
        self.breadth = [op for op in config.operators if op in IN_BREADTH_OPERATORS]
        # Only one kind listed: that kind always (breadth_share only splits between the two).
        self.share = 1.0 if not self.in_depth else 0.0 if not self.breadth else config.breadth_share
        self._unused: dict[str, list[str]] = {}

    def _use_breadth(self) -> bool:
        return self.share >= 1.0 or (self.share > 0.0 and self.rng.random() < self.share)

    def first(self, seed_id: str) -> str:
        if self._use_breadth():
            return self.rng.choice(self.breadth)
        pool = self._unused.get(seed_id) or list(self.in_depth)
        op = pool.pop(self.rng.randrange(len(pool)))
        self._unused[seed_id] = pool
        return op

    def any(self) -> str:
        return self.rng.choice(self.breadth if self._use_breadth() else self.in_depth)


@generators.register("evolve")
class Evolve(Generator):
    """Evol-Instruct: rewrite seeds into harder test cases (in depth) or new ones (in breadth)."""

    Config = EvolveConfig
    config: EvolveConfig

    def calls_per_item(self) -> int:
        return self.config.depth

    def plan(self, seeds: Sequence[Seed], n: int, round_index: int, random_seed: int = 0) -> list[PlannedChain]:
        """The requests `generate` would send, without sending them."""
        return plan_chains(seeds, n, round_index, random_seed, self.config)

    async def generate(self, seeds: Sequence[Seed], n: int, round_index: int, ctx: StageContext,
                       shard: tuple[int, int] = (0, 1)) -> GenerationResult:
        """Make up to `n` items. Failed calls become `GenerationFailure`s; a spent budget ends early."""
        chains = self.shard_of(self.plan(seeds, n, round_index, ctx.random_seed), shard)
        if not chains:
            return GenerationResult()
        client = ctx.client("generator")
        budget_spent = asyncio.Event()
        outcomes = await gather_or_cancel(
            [self._run_chain(chain, round_index, client, ctx, budget_spent) for chain in chains]
        )
        result = GenerationResult()
        for items, failures in outcomes:
            result.items.extend(items)
            result.failures.extend(failures)
        return result

    async def _run_chain(self, chain: PlannedChain, round_index: int, client: LLMClient, ctx: StageContext,
                         budget_spent: asyncio.Event) -> tuple[list[Item], list[GenerationFailure]]:
        cfg = self.config
        seed = chain.seed
        items: list[Item] = []
        parent_id, parent_prompt = seed.id, seed.prompt
        for step_no, step in enumerate(chain.steps, start=1):
            if budget_spent.is_set():  # stop issuing requests; what is made so far stands
                break
            messages = build_messages(operator=step.operator, prompt=parent_prompt, kind=cfg.kind,
                                      domain=seed.domain, difficulty=cfg.difficulty,
                                      item_language=cfg.item_language, code_language=cfg.code_language)
            try:
                out = await client.complete_json(messages, output_schema(cfg.kind), schema_name="evolved_item",
                                                 temperature=cfg.temperature, max_tokens=cfg.max_tokens,
                                                 cache_salt=step.cache_salt)
            except BudgetExhausted:
                budget_spent.set()
                break
            except (LLMOutputError, LLMRequestError) as err:
                ctx.progress(self.name, 1)
                return items, [self._failure(seed, step.operator, err.reason, str(err))]
            ctx.progress(self.name, 1)
            made = self._make_item(out, seed, step, step_no, chain.index, round_index, parent_id,
                                   parent_prompt, client, ctx)
            if isinstance(made, GenerationFailure):
                return items, [made]  # later steps would evolve a bad prompt: end the chain
            items.append(made)
            parent_id, parent_prompt = made.id, made.prompt
        return items, []

    def _make_item(self, out: dict[str, Any], seed: Seed, step: PlannedStep, step_no: int, chain_index: int,
                   round_index: int, parent_id: str, parent_prompt: str, client: LLMClient,
                   ctx: StageContext) -> Item | GenerationFailure:
        cfg = self.config
        question = clean_text(str(out.get("question", "")))
        raw_answer = str(out.get("reference_answer", ""))
        answer = clean_code_answer(raw_answer) if cfg.kind == "code" else clean_text(raw_answer)
        if not question or not answer:
            return self._failure(seed, step.operator, "empty_output",
                                 f"nothing left after clean-up: question={question!r}, answer={answer!r}")
        # Small models often hand back their input or the format example: neither is a new item.
        if copies_example(question, cfg.kind) or is_placeholder(question):
            return self._failure(seed, step.operator, "copied_example", question[:200])
        if is_placeholder(answer):
            return self._failure(seed, step.operator, "placeholder_answer", answer[:200])
        if step.operator != "breadth" and normalise(question) == normalise(parent_prompt):
            return self._failure(seed, step.operator, "unchanged_prompt", question[:200])
        params: dict[str, Any] = {
            "temperature": cfg.temperature if cfg.temperature is not None else getattr(client, "temperature", None),
            "max_tokens": cfg.max_tokens if cfg.max_tokens is not None else getattr(client, "max_tokens", None),
            "round": round_index, "chain": chain_index, "step": step_no, "depth": cfg.depth,
            "random_seed": ctx.random_seed, "cache_salt": step.cache_salt,
        }
        metadata: dict[str, Any] = {"domain": seed.domain, "operator": step.operator, "evolution_step": step_no}
        if cfg.difficulty:
            metadata["difficulty"] = cfg.difficulty
        if cfg.item_language:
            metadata["language"] = cfg.item_language
        lineage = Lineage(generator=self.name, operator=step.operator, model=client.model, endpoint=client.base_url,
                          params=params, parent_id=parent_id, seed_id=seed.id)
        return Item.create(prompt=question, reference_answer=answer, kind=cfg.kind, lineage=lineage,
                           seed_id=seed.id, metadata=metadata)

    @staticmethod
    def _failure(seed: Seed, operator: str, reason: str, detail: str) -> GenerationFailure:
        return GenerationFailure(seed_id=seed.id, operator=operator, reason=reason, detail=detail[:500])
