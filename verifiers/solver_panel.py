"""`solver_panel`: the solver panel answers each candidate; items whose solve rate lies in a band stay.

The panel is a list of LLM roles of the spec (`llm.roles`, each an endpoint and model:
`roles: [solver-a, solver-b, solver-c]`), so the run's clients, call budget, cache and usage
per role apply as for every stage. Each model answers the question as `benchsmith evaluate`
asks it (the same words as the harness exports) and its reply is scored the same way
(`benchsmith.evaluation.scoring`). The item's solve rate is the share of the models that
answered and got it right:

- above `keep_solve_rate[1]`: dropped as `too_easy` (every model solves it: it separates nobody);
- below `keep_solve_rate[0]`: dropped as `too_hard` (no model solves it: wrong, or out of reach);
- otherwise kept. The verdict's score is how evenly the item splits the panel (1 when half
  of the models solve it, 0 when all or none do); with `rank_by_split` it ranks the item's
  quality, so dedup keepers and selection prefer items that split the panel.

The stage's quality report (the card's Quality section) names the panel and gives the
solve-rate histogram of the items it judged, how many it kept and why it dropped the others,
and each model's solve rate. Every verdict records every model's reply, whether it was right and how it was read. A
model whose call fails is left out of the rate (and named in `details.missing`); when no
model answered, the item drops as `panel_error:<reason>`. Long answers that no exact or
numeric match decides count as wrong here (no judge call is spent on them); they are
counted in `details.undecided`.

`harden: true` (the AutoBencher / EvoEval idea): an item that every model solved goes back to
the generator for one more in-depth evolution step (the `evolve` generator through the
registry, with one of `harden_operators`, on the run's `generator` role: its cache, budget
and usage). The hardened item is a new candidate whose lineage says so (`parent_id` the
original, `metadata.hardened_from`, `evolution_step` one more): the pipeline has it judged by
every stage up to this one again (`Verifier.replacements`), so it takes the original's place
only if it then falls in the solve-rate band; the original stays dropped as `too_easy`, its
verdict naming the candidate (`details.hardened_into`). One step only: a hardened item is
never hardened again. Hardening spends only what the task's budget has left once every item
has its panel verdict (the flow plans `len(roles)` calls per item); when that runs out the
remaining originals say `details.harden: budget_exhausted`. Only `open_qa` and `code` items
(the kinds `evolve` writes) and never canaries are hardened.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from benchsmith.canaries import is_canary
from benchsmith.errors import BudgetExhausted, LLMOutputError, LLMRequestError
from benchsmith.evaluation.panel import ANSWER_SCHEMA, solver_messages
from benchsmith.evaluation.scoring import score_reply
from benchsmith.exports.formats import view
from benchsmith.quality import StageReport
from benchsmith.records import Item, Lineage, Seed, Verdict, content_hash
from benchsmith.stages import ItemVerifier, StageConfig, StageContext, generators, verifiers

HARDEN_GENERATOR = "evolve"
"""The generator hardening asks, through the registry (its in-depth operators rewrite a prompt into a harder one)."""
IN_DEPTH_OPERATORS = ("add_constraints", "deepen", "concretize", "increase_reasoning", "complicate_input")
HARDEN_KINDS = frozenset({"open_qa", "code"})
"""The kinds `evolve` writes: an MCQ or true/false item would come back as an open question."""


class SolverPanelConfig(StageConfig):
    """Who answers, and which solve rates keep an item."""

    roles: list[str] = Field(min_length=1, description="LLM roles of the panel (`llm.roles`), one per model.")
    keep_solve_rate: tuple[float, float] = Field(
        default=(0.1, 0.8), description="Keep items whose share of the panel solving them lies in [low, high].")
    rank_by_split: bool = Field(
        default=False, description="Make the split score (1 = half the panel solves it) the item's quality score, "
                                   "so dedup and selection prefer items that split the panel.")
    max_tokens: int | None = Field(default=None, ge=16, description="Override the endpoints' max_tokens.")
    harden: bool = Field(
        default=False, description="Send items every model solved back to the generator for one more in-depth "
                                   "evolution step; the hardened item replaces the original only if it then "
                                   "falls in keep_solve_rate.")
    harden_operators: list[str] = Field(
        default_factory=lambda: list(IN_DEPTH_OPERATORS), min_length=1,
        description="The `evolve` operators hardening draws from (one per item, by its id).")

    @field_validator("keep_solve_rate")
    @classmethod
    def _ordered(cls, band: tuple[float, float]) -> tuple[float, float]:
        low, high = band
        if not 0.0 <= low <= high <= 1.0:
            raise ValueError(f"keep_solve_rate must be [low, high] with 0 <= low <= high <= 1, got {list(band)}")
        return band

    @model_validator(mode="after")
    def _harden_operators_known(self) -> SolverPanelConfig:
        if self.harden:  # checked when the spec loads, not when the first item is hardened
            generators.get(HARDEN_GENERATOR)({"operators": self.harden_operators, "breadth_share": 0.0})
        return self

    @field_validator("roles")
    @classmethod
    def _unique(cls, roles: list[str]) -> list[str]:
        if len(set(roles)) != len(roles):
            raise ValueError("a role is listed twice in roles")
        return roles


@verifiers.register("solver_panel")
class SolverPanel(ItemVerifier):
    """Keeps items that some, not all, of a panel of models solve (difficulty targeting)."""

    name: ClassVar[str] = "solver_panel"
    Config: ClassVar[type[StageConfig]] = SolverPanelConfig
    uses_llm: ClassVar[bool] = True

    @property
    def cfg(self) -> SolverPanelConfig:
        assert isinstance(self.config, SolverPanelConfig)
        return self.config

    def calls_per_item(self) -> int:
        return len(self.cfg.roles)

    def __init__(self, config: StageConfig | dict[str, Any] | None = None) -> None:
        super().__init__(config)
        self._offered: list[Item] = []

    def replacements(self) -> list[Item]:
        """The hardened candidates of the last `verify` (`harden: true`)."""
        return list(self._offered)

    async def verify(self, items: Sequence[Item], ctx: StageContext) -> list[Verdict]:
        """The panel's verdicts; then, with `harden`, one more evolution step for what every model solved."""
        self._offered = []
        verdicts = await super().verify(items, ctx)
        if not self.cfg.harden:
            return verdicts
        solved = [i for i, (it, v) in enumerate(zip(items, verdicts, strict=True))
                  if v.reason == "too_easy" and v.details.get("solve_rate") == 1.0 and self._hardenable(it)]
        if not solved:
            return verdicts
        # Quietly: the generator's progress bar belongs to the generation phase.
        quiet = replace(ctx, progress=lambda _stage, _n: None, plan=lambda _stage, _n: None)
        outcomes = await asyncio.gather(*(self._harden(items[i], quiet) for i in solved))
        out = list(verdicts)
        for i, made in zip(solved, outcomes, strict=True):
            if isinstance(made, Item):
                self._offered.append(made)
                extra: dict[str, Any] = {"hardened_into": made.id, "harden_operator": made.lineage.operator}
            else:
                extra = {"harden": made}
            out[i] = out[i].model_copy(update={"details": {**out[i].details, **extra}})
        return out

    @staticmethod
    def _hardenable(item: Item) -> bool:
        return item.kind in HARDEN_KINDS and not is_canary(item) and "hardened_from" not in item.metadata

    async def _harden(self, item: Item, ctx: StageContext) -> Item | str:
        """One in-depth evolution step of `item` (a new candidate), or why there is none."""
        ops = self.cfg.harden_operators
        op = ops[int(content_hash("harden", item.id), 16) % len(ops)]  # spread over the operators, stable per item
        gen = generators.get(HARDEN_GENERATOR)({"operators": [op], "breadth_share": 0.0, "kind": item.kind})
        seed = Seed(id=item.id, prompt=item.prompt, domain=item.metadata.get("domain"))
        try:
            result = await gen.generate([seed], 1, 0, ctx)
        except BudgetExhausted:
            return "budget_exhausted"
        if not result.items:
            return f"failed: {result.failures[0].reason}" if result.failures else "budget_exhausted"
        new = result.items[0]
        step = int(item.metadata.get("evolution_step") or 1) + 1
        lineage = Lineage(generator=new.lineage.generator, operator=op, model=new.lineage.model,
                          endpoint=new.lineage.endpoint, params={**new.lineage.params, "harden": True},
                          parent_id=item.id, seed_id=item.lineage.seed_id or item.seed_id)
        metadata = {**new.metadata, "evolution_step": step, "hardened_from": item.id}
        if item.metadata.get("domain") is None:
            metadata.pop("domain", None)
        return Item.create(prompt=new.prompt, reference_answer=new.reference_answer, kind=new.kind, lineage=lineage,
                           seed_id=item.seed_id, metadata=metadata)

    async def _answer(self, role: str, item: Item, ctx: StageContext) -> tuple[str, dict[str, Any]]:
        client = ctx.client(role)
        v = view(item)
        try:
            out = await client.complete_json(solver_messages(v), ANSWER_SCHEMA, schema_name="answer",
                                             max_tokens=self.cfg.max_tokens)
        except (LLMOutputError, LLMRequestError) as err:
            return role, {"model": client.model, "error": err.reason}
        reply = str(out.get("answer", ""))
        s = score_reply(v, reply)
        return role, {"model": client.model, "reply": reply[:500], "correct": bool(s.correct),
                      "method": s.method, "undecided": s.correct is None}

    async def check(self, item: Item, ctx: StageContext) -> Verdict:
        answers = dict(await asyncio.gather(*(self._answer(r, item, ctx) for r in self.cfg.roles)))
        answered = {r: a for r, a in answers.items() if "error" not in a}
        missing = {r: a["error"] for r, a in answers.items() if "error" in a}
        details: dict[str, Any] = {"answers": answers, "band": list(self.cfg.keep_solve_rate)}
        if missing:
            details["missing"] = missing
        if not answered:
            reason = next(iter(missing.values()))
            return self.verdict(False, reason=f"panel_error:{reason}", **details)
        rate = sum(a["correct"] for a in answered.values()) / len(answered)
        split = 1.0 - abs(2.0 * rate - 1.0)
        details.update(solve_rate=rate, solved=sum(a["correct"] for a in answered.values()),
                       answered=len(answered), undecided=sum(a["undecided"] for a in answered.values()))
        low, high = self.cfg.keep_solve_rate
        reason = "too_easy" if rate > high else "too_hard" if rate < low else None
        verdict = self.verdict(reason is None, score=split, reason=reason, **details)
        if self.cfg.rank_by_split:
            verdict = verdict.model_copy(update={"ranks_quality": True})
        return verdict

    def assess(self, items: Sequence[Item]) -> StageReport | None:
        """The panel, the solve-rate histogram of the judged candidates and each model's solve rate."""
        judged = [v for it in items if not is_canary(it) and (v := it.verdict(self.name)) is not None
                  and "solve_rate" in v.details]
        if not judged:
            return None
        bins = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
        hist = Counter(min(int(v.details["solve_rate"] * 5), 4) for v in judged)
        per_model: dict[str, list[bool]] = {}
        models: dict[str, str] = {}
        for v in judged:
            for role, a in v.details["answers"].items():
                if "correct" in a:
                    per_model.setdefault(role, []).append(bool(a["correct"]))
                    models[role] = str(a.get("model"))
        reasons = Counter(v.reason or "kept" for v in judged)
        facts: dict[str, str | int | float] = {
            "panel": ", ".join(f"{r} ({models.get(r, '?')})" for r in self.cfg.roles),
            "keep_solve_rate": f"[{self.cfg.keep_solve_rate[0]:g}, {self.cfg.keep_solve_rate[1]:g}]",
            "candidates judged": len(judged), "kept": reasons.get("kept", 0),
            "dropped too_easy": reasons.get("too_easy", 0), "dropped too_hard": reasons.get("too_hard", 0),
        }
        for i in range(5):
            facts[f"solved by {bins[i]:.0%}-{bins[i + 1]:.0%} of the panel"] = hist.get(i, 0)
        for role, marks in per_model.items():
            facts[f"solve rate {role}"] = sum(marks) / len(marks)
        if self.cfg.harden:
            facts["hardened (sent back)"] = sum(1 for v in judged if "hardened_into" in v.details)
            facts["hardened, then in the band"] = sum(1 for it in items if "hardened_from" in it.metadata
                                             and (v := it.verdict(self.name)) is not None and v.passed)
        warnings = []
        if reasons.get("kept", 0) == 0:
            warnings.append(f"{self.name}: no candidate had a solve rate inside keep_solve_rate "
                            f"{facts['keep_solve_rate']}: the band or the panel does not fit this suite")
        return StageReport(stage=self.name, title=f"Difficulty targeting ({self.name})", facts=facts,
                           warnings=warnings, data={"histogram": [hist.get(i, 0) for i in range(5)], "bins": bins,
                                                    "per_model": {r: sum(m) / len(m) for r, m in per_model.items()}})
