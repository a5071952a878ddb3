"""Choosing the published items among the survivors: the last filter of a run.

When more items survive than the suite's target, `select_items` keeps `target_items`
of them — the best-judged ('top_score'), or a cluster-balanced set that prefers the
best-judged inside each topic ('diverse') — and marks the rest `over_target`. Surplus
items are not bad: they stay in the rejected set with that reason, so a later version
can draw on them. Canaries (`benchsmith.canaries`) are never selected, whatever their
verdicts: the flow keeps them out of the survivors, and this is the last line that says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchsmith.canaries import is_canary
from benchsmith.records import Item, Verdict
from benchsmith.spec import SelectionSpec
from benchsmith.stages import StageContext

SELECT_STAGE = "select"


def _mark(keep: Sequence[Item], surplus: Sequence[Item], strategy: str) -> tuple[list[Item], list[Item]]:
    kept = [it.with_verdict(Verdict(stage=SELECT_STAGE, passed=True, score=it.quality_score(),
                                    details={"strategy": strategy})) for it in keep]
    dropped = [it.with_verdict(Verdict(stage=SELECT_STAGE, passed=False, reason="over_target",
                                       score=it.quality_score(), details={"strategy": strategy}))
               for it in surplus]
    return kept, dropped


def select_items(items: Sequence[Item], target: int, selection: SelectionSpec, ctx: StageContext
                 ) -> tuple[list[Item], list[Item], dict[str, Any]]:
    """(published, surplus, report) from the surviving `items` (canaries left out); deterministic for a
    given context seed."""
    alive = sorted((it for it in items if it.passed and not is_canary(it)), key=lambda it: (-it.quality_score(), it.id))
    if selection.strategy == "diverse" and len(alive) > target:
        from benchsmith.diversity import select_diverse  # heavy (scikit-learn): only when asked for

        vectors = ctx.embedder.encode([it.prompt for it in alive])
        chosen = select_diverse(alive, vectors, target, seed=ctx.random_seed, n_clusters=selection.clusters)
        keep, surplus = _mark(chosen.selected, chosen.surplus, "diverse")
        return keep, surplus, {"diversity": chosen.report}
    keep, surplus = _mark(alive[:target], alive[target:], "top_score")
    return keep, surplus, {}
