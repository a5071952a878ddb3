"""Running verifier stages over items: the one loop the flow and the standalone commands share.

Each stage sees only the items still standing; its verdicts are merged back into the
items in order. Set stages run in one canonical order (`Verifier.order`: exact dedup,
MinHash, semantic dedup, contamination, novelty, then anything else in spec order), the
same in a flow and in `benchsmith dedup` / `contamination`.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchsmith.context import StageContext
from benchsmith.errors import BudgetExhausted
from benchsmith.quality import StageReport
from benchsmith.records import Item, Verdict
from benchsmith.stages import Verifier


async def run_stages(stages: Sequence[Verifier], items: Sequence[Item], ctx: StageContext, *,
                     budget_drops: bool = False, reports: list[StageReport] | None = None) -> list[Item]:
    """Run `stages` in order over `items`; each sees the items no earlier stage dropped.

    With `budget_drops`, a stage that runs out of LLM budget leaves its unjudged items
    dropped as `budget_exhausted` (and the later stages skip them) instead of raising.
    `reports`, when given, receives each stage's `report()` after it ran. Candidates a stage
    offers in place of items it dropped (`Verifier.replacements`) are judged by the stages up
    to that one and added to the result (so it may hold more items than it was given).
    """
    current = list(items)
    for position, stage in enumerate(stages):
        alive = [i for i, it in enumerate(current) if it.passed]
        if not alive:
            break
        ctx.plan(stage.name, len(alive))
        batch = [current[i] for i in alive]
        try:
            verdicts = await stage.verify(batch, ctx)
        except BudgetExhausted:
            if not budget_drops:
                raise
            verdicts = [Verdict(stage=stage.name, passed=False, reason="budget_exhausted") for _ in batch]
        if len(verdicts) != len(batch):
            raise RuntimeError(f"stage {stage.name!r} returned {len(verdicts)} verdicts for {len(batch)} items")
        for i, verdict in zip(alive, verdicts):
            current[i] = current[i].with_verdict(verdict)
        # New candidates a stage offers for items it dropped (solver_panel's `harden`) start over: every
        # stage up to this one judges them; both stay in the result, the dropped original with its reason.
        offered = stage.replacements()
        if offered:
            current.extend(await run_stages(stages[:position + 1], offered, ctx, budget_drops=budget_drops))
        if reports is not None and (report := stage.report()) is not None:
            reports.append(report)
    return current


def ordered(stages: Sequence[Verifier]) -> list[Verifier]:
    """Set stages in their canonical order (stable: equal `order` keeps the given order)."""
    return sorted(stages, key=lambda s: s.order)


def deciding_verdicts(items: Sequence[Item]) -> dict[str, Verdict]:
    """Each judged item's deciding verdict: the one that dropped it, else its last one."""
    out: dict[str, Verdict] = {}
    for it in items:
        if it.verdicts:
            out[it.id] = it.failed_verdict or it.verdicts[-1]
    return out
