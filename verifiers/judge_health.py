"""Judge health: does this judge's verdict tell good items from bad ones?

Measured after the run over the judge's final verdicts (`LLMJudge.assess`), with no
extra LLM call:

- **Spread** over the real (non-canary) items it scored: standard deviation, distinct
  values, share of the most common score, pass rate.
- **Canaries** (planted defective items, `benchsmith.canaries`) it judged: the share it
  failed, its catch rate.
- **Verbosity probe**: Spearman correlation of its score with the reference answer's
  length. A judge that rewards long answers for being long shows up here; it is reported
  as a figure, not judged, since a complete answer may rightly be longer.
- For a **jury**: pairwise Cohen's kappa and Fleiss' kappa of the judges' pass/fail votes
  (`benchsmith.agreement`), each judge's pass rate, and the items decided without a judge.

The rule: the judge *does not discriminate* when either

1. its scores barely vary: standard deviation below 1/16 of the score range (0.25 on the
   1-5 rubric, 0.0625 on the 0-1 checklist share) over at least 5 real items. A constant
   judge (the fake server's, or a small model that always answers the maximum) has 0. A
   judge that moves one item in ten by a whole point on the 1-5 mean already has 0.30:
   below 0.25 fewer than one item in fifteen differs by a point from the rest, so the
   verdict is the same for practically every item. A uniformly random judge (mean of four
   independent 1-5 criteria) has about 0.71 and passes this test, which is why there is
   a second one;
2. it misses planted defects: with at least 3 canaries judged, it failed fewer than half of
   them, or failed them hardly more often than real items (catch rate no more than 0.1
   above its fail rate on real items). A constant "pass" judge catches none; a random
   judge catches canaries at the rate it fails anything, which is what 2 compares. Fewer
   than 3 canaries say little (1 of 2 is already 50%).

When the judge does not discriminate, the report warns "the judge's verdicts carry little
information: ..." with the figures; the card's Quality section and the end of the run
show it. The embedded demonstration model triggers this, and it should.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from benchsmith.agreement import fleiss_kappa, item_table, pairwise_cohen
from benchsmith.canaries import is_canary
from benchsmith.quality import Fact, StageReport
from benchsmith.records import Item, Verdict

MIN_ITEMS = 5
"""Fewest real items scored before the spread is judged."""
MIN_STD_SHARE = 1 / 16
"""Score standard deviation below this share of the score range counts as near-constant."""
MIN_CANARIES = 3
"""Fewest canaries judged before the catch rate is judged."""
MIN_CATCH_RATE = 0.5
"""A judge must fail at least this share of the canaries it saw."""
CATCH_MARGIN = 0.1
"""... and fail them by at least this much more often than it fails real items."""
LOW_KAPPA = 0.2
"""Fleiss' kappa at or below this (slight agreement, Landis & Koch) is worth a warning."""


def _std(values: Sequence[float]) -> float:
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1  # ties share their mean rank
        i = j + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rank correlation (ties get mean ranks); None when either side is constant."""
    if len(x) != len(y) or len(x) < 2:
        return None
    rx, ry = _ranks(x), _ranks(y)
    sx, sy = _std(rx), _std(ry)
    if sx == 0 or sy == 0:
        return None
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    return sum((a - mx) * (b - my) for a, b in zip(rx, ry)) / (len(rx) * sx * sy)


def _scored(items: Sequence[Item], stage: str) -> list[tuple[Item, Verdict]]:
    """(item, verdict) for the items this stage gave a score (failed calls carry none)."""
    out = []
    for it in items:
        v = it.verdict(stage)
        if v is not None and v.score is not None:
            out.append((it, v))
    return out


def _jury_part(stage: str, real: Sequence[tuple[Item, Verdict]], failed_calls: Sequence[Verdict],
               judges: Sequence[str], facts: dict[str, Fact], warnings: list[str], data: dict[str, Any]) -> None:
    def label(vote: Any) -> str | None:
        return None if vote is None else "pass" if vote else "fail"

    votes = {r: [label(v.details.get("votes", {}).get(r)) for _, v in real] for r in judges}
    for role in judges:
        cast = [x for x in votes[role] if x is not None]
        facts[f"{role} pass rate"] = round(cast.count("pass") / len(cast), 4) if cast else "no vote"
    pairs = pairwise_cohen(votes)
    for (a, b), agreement in pairs.items():
        facts[f"Cohen's kappa {a} / {b}"] = agreement.describe()
    fleiss = fleiss_kappa(item_table(votes))
    facts["Fleiss' kappa (pass/fail, all judges)"] = fleiss.describe()
    data["kappa"] = {"fleiss": fleiss.kappa, "cohen": {f"{a}/{b}": k.kappa for (a, b), k in pairs.items()}}
    if fleiss.kappa is not None and fleiss.kappa <= LOW_KAPPA:
        warnings.append(f"the judges of {stage}'s jury barely agree on which items pass (Fleiss' kappa "
                        f"{fleiss.kappa:.2f}): its verdicts depend on which judge you ask")
    judged = [v for _, v in real] + list(failed_calls)
    missing: dict[str, Counter[str]] = {r: Counter() for r in judges}
    for v in judged:
        for role, reason in (v.details.get("missing") or {}).items():
            if role in missing:
                missing[role][str(reason)] += 1
    decided_without = {r: sum(1 for _, v in real if r in (v.details.get("missing") or {})) for r in judges}
    for role in judges:
        facts[f"items decided without {role}"] = decided_without[role]
        if missing[role]:
            why = ", ".join(f"{reason}: {n}" for reason, n in missing[role].most_common())
            warnings.append(f"{role} gave no verdict on {sum(missing[role].values())} of {len(judged)} items "
                            f"judged by {stage} ({why}); the other judges decided {decided_without[role]} of them")
    data["missing"] = {r: dict(c) for r, c in missing.items()}


def judge_health(stage: str, items: Sequence[Item], *, low: float, high: float, scale: str,
                 judges: Sequence[str] = ()) -> StageReport | None:
    """The health report of judge stage `stage` over the run's final items (None if it judged none).

    `low`..`high` is the score range (1-5 for the rubric, 0-1 for the checklist share),
    `scale` names it for people; `judges` are a jury's roles (empty for one judge).
    """
    scored = _scored(items, stage)
    failed_calls = [v for it in items if (v := it.verdict(stage)) is not None and v.score is None
                    and not is_canary(it)]
    if not scored and not failed_calls:
        return None
    real = [(it, v) for it, v in scored if not is_canary(it)]
    canaries = [(it, v) for it, v in scored if is_canary(it)]
    facts: dict[str, Fact] = {"score scale": scale, "items scored": len(real)}
    warnings: list[str] = []
    data: dict[str, Any] = {}
    problems: list[str] = []
    std: float | None = None
    if real:
        scores = [float(v.score) for _, v in real]  # type: ignore[arg-type]
        std = _std(scores)
        counts = Counter(round(s, 4) for s in scores)
        modal, modal_n = counts.most_common(1)[0]
        fail_rate = sum(1 for _, v in real if not v.passed) / len(real)
        facts.update({"pass rate": round(1 - fail_rate, 4), "score std": round(std, 4),
                      "distinct scores": len(counts), "share of the most common score": round(modal_n / len(real), 4)})
        data.update(std=std, distinct=len(counts), modal=modal, pass_rate=1 - fail_rate)
        rho = spearman(scores, [float(len(it.reference_answer)) for it, _ in real])
        facts["score vs answer length (Spearman)"] = round(rho, 4) if rho is not None else "n/a (a side is constant)"
        data["length_spearman"] = rho
        if len(real) >= MIN_ITEMS and std < MIN_STD_SHARE * (high - low):
            problems.append(f"its scores barely vary (standard deviation {std:.2f} on the {scale} scale, "
                            f"{len(counts)} distinct value{'s' if len(counts) != 1 else ''} over {len(real)} items; "
                            f"{modal_n} scored {modal:g})")
    else:
        fail_rate = 0.0
    if failed_calls:
        facts["judge calls that failed"] = len(failed_calls)
    if canaries:
        caught = sum(1 for _, v in canaries if not v.passed)
        rate = caught / len(canaries)
        facts["canaries caught"] = f"{caught} of {len(canaries)}"
        facts["canary catch rate"] = round(rate, 4)
        data["canary_catch_rate"] = rate
        if len(canaries) >= MIN_CANARIES:
            if rate < MIN_CATCH_RATE:
                problems.append(f"it passed {len(canaries) - caught} of the {len(canaries)} planted defective items "
                                f"(canaries) it judged")
            elif real and rate <= fail_rate + CATCH_MARGIN:
                problems.append(f"it fails planted defective items (canaries, {rate:.0%}) hardly more often than "
                                f"real items ({fail_rate:.0%})")
    else:
        facts["canaries judged"] = 0
    enough = len(real) >= MIN_ITEMS or len(canaries) >= MIN_CANARIES
    verdict = "no" if problems else "yes" if enough else "too few items to tell"
    facts["discriminates"] = verdict
    data["discriminates"] = None if verdict.startswith("too few") else not problems
    if problems:
        warnings.append(f"the judge's verdicts carry little information: {'; '.join(problems)} (stage {stage})")
    if judges:
        _jury_part(stage, real, failed_calls, judges, facts, warnings, data)
    return StageReport(stage=stage, title=f"Judge health ({stage})", facts=facts, warnings=warnings, data=data)
