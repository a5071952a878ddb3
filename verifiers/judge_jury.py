"""A jury of judges (PoLL, Verga et al. 2024): several models score each item independently.

Each judge is an LLM role of the spec (`llm_judge`'s `judges: [judge, judge_b, judge_c]`)
and gives an `Opinion` (rubric or checklist, as one judge would). The jury's verdict is:

- `mean`: the judges' scores averaged (per criterion for the rubric, so that per-criterion
  minimums still apply) and compared with the threshold, as for one judge;
- `majority`: each judge passes or fails the item on its own, and a strict majority of the
  judges that answered decides. A tie is no majority: the item fails (`no_majority`).

A judge whose call fails (endpoint down, circuit breaker open, an invalid answer after the
repair, retries spent) is left out and the others decide; the verdict records who was
missing and why (`details.missing`), and the stage's health report counts the items each
judge missed. A judge whose endpoint cannot be reached is not asked again by the same
stage instance. When fewer than `min_judges` answered, the item drops as
`judge_error:<reason>` (a transient reason where the failure was transient, so a rerun
asks again); when every judge's endpoint is unreachable, the stage raises that
`EndpointError`, as a single judge's stage does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from benchsmith.errors import EndpointError


@dataclass(frozen=True)
class Opinion:
    """One judge's verdict on one item, before any aggregation."""

    role: str
    model: str | None
    passed: bool
    score: float
    reason: str | None
    details: dict[str, Any]
    """What the judge said: rubric scores and rationale, or checks and answers."""
    criteria: dict[str, int] = field(default_factory=dict)
    """Rubric mode: the score per criterion (averaged across judges by `mean`)."""

    def summary(self) -> dict[str, Any]:
        """This opinion as it is kept in the jury's verdict."""
        return {"passed": self.passed, "score": round(self.score, 4), "reason": self.reason, "model": self.model,
                **self.details}


@dataclass(frozen=True)
class Failure:
    """A judge that gave no opinion on one item."""

    role: str
    model: str | None
    reason: str
    """A failure code: 'invalid_json', 'http_503', 'timeout', 'connection_error', ..."""
    error: str
    endpoint_error: EndpointError | None = None
    """Set when the judge's endpoint itself failed (unreachable, circuit open)."""


def majority(opinions: Sequence[Opinion]) -> tuple[bool, str | None]:
    """(passed, reason) by a strict majority of the opinions' own pass votes."""
    yes = sum(1 for o in opinions if o.passed)
    if 2 * yes > len(opinions):
        return True, None
    return False, "no_majority" if 2 * yes == len(opinions) else "majority_rejected"


def mean_criteria(opinions: Sequence[Opinion]) -> dict[str, float]:
    """The judges' rubric scores averaged per criterion."""
    names = opinions[0].criteria.keys()
    return {c: sum(o.criteria[c] for o in opinions) / len(opinions) for c in names}


def failure_code(failures: Sequence[Failure]) -> str:
    """The reason an item that too few judges answered drops for: the first failure that says
    something about the item or the request, else the first endpoint failure's."""
    for f in failures:
        if f.endpoint_error is None:
            return f.reason
    return failures[0].reason


def jury_details(opinions: Sequence[Opinion], failures: Sequence[Failure], roles: Sequence[str], mode: str,
                 aggregate: str) -> dict[str, Any]:
    """The part of a jury verdict's details that every aggregation shares."""
    by_role = {o.role: o for o in opinions}
    return {"mode": mode, "aggregate": aggregate,
            "judges": {r: by_role[r].summary() for r in roles if r in by_role},
            "votes": {r: by_role[r].passed for r in roles if r in by_role},
            "missing": {f.role: f.reason for f in failures},
            "errors": {f.role: f.error for f in failures}}
