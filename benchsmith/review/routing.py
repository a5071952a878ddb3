"""Routing: which of a run's items go to the review queue, and which are accepted without a look.

A pure function of the items, the spec's `review:` section and the run's random seed, so
a rerun routes the same items the same way. The stage names come from the spec (data);
this module knows none. Canaries are never routed: they are measured, not reviewed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from benchsmith.canaries import is_canary
from benchsmith.records import Item
from benchsmith.spec import ReviewSpec

ROUTE_KEY = "review_route"
"""Item metadata key saying why an item went to the queue: 'band:<stage>', 'flagged:<stage>' or 'audit'."""
DOUBLE_KEY = "review_double"
"""Item metadata key marking an item for blind double review (two different reviewers decide it)."""


@dataclass
class RoutingResult:
    """Where each item of a run went. `audit` is a sample of `auto_accepted` that is queued as well."""

    queued: list[Item] = field(default_factory=list)
    auto_accepted: list[Item] = field(default_factory=list)
    audit: list[Item] = field(default_factory=list)
    rejected: list[Item] = field(default_factory=list)

    @property
    def to_enqueue(self) -> list[Item]:
        """Everything the queue gets: the routed items, then the audit sample."""
        return [*self.queued, *self.audit]


def _in_band(item: Item, review: ReviewSpec) -> str | None:
    """The first band stage whose score of `item` lies in its band."""
    for stage, (low, high) in review.band.items():
        v = item.verdict(stage)
        if v is not None and v.score is not None and low <= float(v.score) <= high:
            return stage
    return None


def _routed_drop(item: Item, review: ReviewSpec) -> str | None:
    """Why a dropped item goes to the queue, or None when some stage dropped it for good."""
    failed = [v for v in item.verdicts if not v.passed]
    if not failed:
        return None
    why: str | None = None
    for v in failed:
        low_high = review.band.get(v.stage)
        if low_high is not None and v.score is not None and low_high[0] <= float(v.score) <= low_high[1]:
            why = why or f"band:{v.stage}"
        elif v.stage in review.route_drops:
            why = why or f"flagged:{v.stage}"
        else:
            return None
    return why


def _mark(item: Item, route: str, status: str = "pending") -> Item:
    return item.model_copy(update={"metadata": {**item.metadata, ROUTE_KEY: route}, "review_status": status})


def route(selected: Sequence[Item], dropped: Sequence[Item], review: ReviewSpec, random_seed: int) -> RoutingResult:
    """Split a run's selected and dropped items into queued, auto-accepted (with an audit sample) and rejected.

    A selected item whose score at a band stage lies in the band is queued; the others are
    auto-accepted. A dropped item is queued when every stage that dropped it is a
    `route_drops` stage or dropped it with a score in its band; otherwise it stays rejected.
    `audit_share` of the auto-accepted items (rounded up, seeded) is queued as well, and stays
    auto-accepted until a reviewer says otherwise. `double_share` of everything queued (rounded
    up, seeded) is marked for blind double review (`DOUBLE_KEY`).
    """
    out = RoutingResult()
    if not review.enabled:
        out.auto_accepted = list(selected)
        out.rejected = list(dropped)
        return out
    for it in selected:
        if is_canary(it):
            continue
        stage = _in_band(it, review)
        if stage is not None:
            out.queued.append(_mark(it, f"band:{stage}"))
        else:
            out.auto_accepted.append(it.model_copy(update={"review_status": "auto_accepted"}))
    for it in dropped:
        why = None if is_canary(it) else _routed_drop(it, review)
        if why is None:
            out.rejected.append(it)
        else:
            out.queued.append(_mark(it, why))
    if review.audit_share > 0 and out.auto_accepted:
        n = min(len(out.auto_accepted), math.ceil(review.audit_share * len(out.auto_accepted) - 1e-9))
        rng = random.Random(f"{random_seed}|review-audit")
        picked = set(rng.sample(sorted(it.id for it in out.auto_accepted), n))
        out.auto_accepted = [_mark(it, "audit", "auto_accepted") if it.id in picked else it
                             for it in out.auto_accepted]
        out.audit = [it for it in out.auto_accepted if it.id in picked]
    _pick_double(out, review.double_share, random_seed)
    return out


def _pick_double(out: RoutingResult, share: float, random_seed: int) -> None:
    """Mark `share` of everything queued (audit included; rounded up, seeded) for blind double review."""
    queued = out.to_enqueue
    if share <= 0 or not queued:
        return
    n = min(len(queued), math.ceil(share * len(queued) - 1e-9))
    rng = random.Random(f"{random_seed}|review-double")
    picked = set(rng.sample(sorted(it.id for it in queued), n))

    def mark(items: list[Item]) -> list[Item]:
        return [it.model_copy(update={"metadata": {**it.metadata, DOUBLE_KEY: True}}) if it.id in picked else it
                for it in items]

    out.queued, out.audit, out.auto_accepted = mark(out.queued), mark(out.audit), mark(out.auto_accepted)


def needs_double(item: Item) -> bool:
    """Whether routing picked the item for blind double review."""
    return bool(item.metadata.get(DOUBLE_KEY))


def route_of(item: Item) -> str | None:
    """Why an item was queued ('band:<stage>', 'flagged:<stage>', 'audit'), or None."""
    value = item.metadata.get(ROUTE_KEY)
    return str(value) if value else None
