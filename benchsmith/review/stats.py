"""Review statistics for a published version: what was reviewed, what passed, and how good the rest is.

The audit sample is a random share of the auto-accepted items that reviewers looked at
anyway; the share of it they accepted unchanged estimates the quality of every item that
was published without a look, with a Wilson score interval (sound for small samples and
for rates near 0 or 1, where the normal approximation is not).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, Field

from benchsmith.quality import StageReport

Z95 = 1.959963984540054
"""Two-sided 95% normal quantile."""


class Interval(BaseModel):
    """A proportion's confidence interval."""

    low: float
    high: float


def wilson_interval(successes: int, trials: int, z: float = Z95) -> Interval | None:
    """Wilson score interval of `successes` out of `trials` (None with no trials)."""
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be between 0 and trials ({trials}), got {successes}")
    p = successes / trials
    z2 = z * z
    denom = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denom
    return Interval(low=max(0.0, centre - half), high=min(1.0, centre + half))


class AuditEstimate(BaseModel):
    """Quality of the auto-accepted items, from the reviewed audit sample."""

    sampled: int = Field(description="Auto-accepted items queued for audit.")
    decided: int = Field(description="Audit items a reviewer decided.")
    good: int = Field(description="Audit items accepted unchanged.")
    quality: float | None = Field(default=None, description="good / decided.")
    ci95: Interval | None = Field(default=None, description="Wilson 95% interval of `quality`.")


class ReviewStats(BaseModel):
    """What review did to the items a version draws on."""

    queued: int = Field(description="Items routed to the queue (band, flagged), audit sample not included.")
    reviewed: int = Field(description="Queued items (audit included) a reviewer decided.")
    pending: int = Field(description="Queued items (audit included) still waiting.")
    accepted: int = 0
    edited: int = 0
    rejected: int = 0
    acceptance_rate: float | None = Field(default=None, description="(accepted + edited) / reviewed.")
    reject_reasons: dict[str, int] = Field(default_factory=dict, description="Reason code → rejections.")
    kappa: float | None = Field(default=None, description="Overall agreement of the blind double reviews: Fleiss' "
                                                          "kappa over every double-reviewed item (None: no item "
                                                          "was reviewed twice, or kappa is undefined).")
    kappa_method: str = Field(default="fleiss", description="How `kappa` is computed.")
    kappa_pairs: dict[str, float | None] = Field(
        default_factory=dict, description="Cohen's kappa per reviewer pair ('alice / bob'), over the items both "
                                          "reviewed blind (None: undefined, e.g. both always accepted).")
    double_reviewed: int = Field(default=0, description="Items two reviewers decided blind.")
    conflicts: int = Field(default=0, description="Double-reviewed items whose reviews disagreed (resolved or not).")
    audit: AuditEstimate
    carried_in: int = Field(default=0, description="Items of earlier runs decided since and published now.")

    def report(self) -> StageReport:
        """The card's 'Review' table (and the same figures, machine-readable, for the manifest)."""
        facts: dict[str, str | int | float] = {
            "queued for review": self.queued, "reviewed": self.reviewed, "still pending": self.pending,
            "accepted / edited / rejected": f"{self.accepted} / {self.edited} / {self.rejected}",
            "acceptance rate": "n/a" if self.acceptance_rate is None else f"{self.acceptance_rate:.1%}",
            "reject reasons": ", ".join(f"{k}: {v}" for k, v in sorted(self.reject_reasons.items())) or "none",
            "reviewed twice, blind": self.double_reviewed,
            "reviewer agreement (Fleiss' kappa)": ("n/a (no item reviewed twice)" if not self.double_reviewed
                                                   else "undefined" if self.kappa is None else round(self.kappa, 3)),
            "audit sample (decided / sampled)": f"{self.audit.decided} / {self.audit.sampled}",
        }
        if self.audit.quality is not None and self.audit.ci95 is not None:
            facts["auto-accepted quality (audit, 95% Wilson)"] = (
                f"{self.audit.quality:.1%} [{self.audit.ci95.low:.1%}, {self.audit.ci95.high:.1%}]")
        for pair, k in sorted(self.kappa_pairs.items()):
            facts[f"Cohen's kappa {pair}"] = "undefined" if k is None else round(k, 3)
        if self.double_reviewed:
            facts["double-review conflicts"] = self.conflicts
        if self.carried_in:
            facts["decided since an earlier run"] = self.carried_in
        warnings = [f"{self.pending} queued item(s) were still undecided when this version was published"] \
            if self.pending else []
        return StageReport(stage="review", title="Review", facts=facts, warnings=warnings,
                           data=self.model_dump(mode="json"))


def review_stats(statuses: Mapping[str, str], audit_ids: Iterable[str], reject_reasons: Iterable[str | None],
                 *, carried_in: int = 0, kappa: float | None = None,
                 kappa_pairs: Mapping[str, float | None] | None = None, double_reviewed: int = 0,
                 conflicts: int = 0) -> ReviewStats:
    """Stats from each queued item's status (item id → pending/accepted/edited/rejected/conflict),
    which of them are the audit sample, and the reason codes of the rejections."""
    audit = set(audit_ids)
    counts = Counter(statuses.values())
    decided = counts["accepted"] + counts["edited"] + counts["rejected"]
    audit_status = [statuses[i] for i in audit if i in statuses]
    audit_decided = sum(1 for s in audit_status if s in ("accepted", "edited", "rejected"))
    good = sum(1 for s in audit_status if s == "accepted")
    return ReviewStats(
        queued=sum(1 for i in statuses if i not in audit), reviewed=decided,
        pending=len(statuses) - decided, accepted=counts["accepted"], edited=counts["edited"],
        rejected=counts["rejected"],
        acceptance_rate=(counts["accepted"] + counts["edited"]) / decided if decided else None,
        reject_reasons=dict(Counter(r or "unspecified" for r in reject_reasons)), kappa=kappa,
        kappa_pairs=dict(kappa_pairs or {}), double_reviewed=double_reviewed, conflicts=conflicts,
        audit=AuditEstimate(sampled=len(audit), decided=audit_decided, good=good,
                            quality=good / audit_decided if audit_decided else None,
                            ci95=wilson_interval(good, audit_decided)),
        carried_in=carried_in)
