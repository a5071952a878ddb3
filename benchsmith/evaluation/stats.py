"""The figures of an evaluation, from a models x items matrix of 0/1 scores.

- accuracy with a bootstrap 95% CI per model: items resampled with replacement, the same
  resample for every model (paired), vectorised (1,000 resamples x 4 models x 2,000 items
  is one integer matrix and one matrix product);
- separability: the share of model pairs whose CIs do not overlap (Arena-Hard's
  BenchBuilder); undefined for fewer than two models;
- agreement with a reference ranking: Kendall's tau, Arena-Hard's agreement with
  confidence (of the pairs the benchmark separates, the share ordered as the reference
  orders them) and the pair-rank Brier score (the bootstrap's P(A beats B) against the
  reference order);
- per item: difficulty (the share of the panel that solved it) and discrimination (the
  item-rest correlation: the item's scores against each model's accuracy on the other items).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Interval:
    """A 95% interval."""

    low: float
    high: float

    def overlaps(self, other: Interval) -> bool:
        """Whether the two intervals share any point."""
        return self.low <= other.high and other.low <= self.high


def bootstrap_accuracy(scores: Matrix, resamples: int = 1000, seed: int = 0,
                       level: float = 0.95) -> tuple[Matrix, list[Interval]]:
    """(accuracy per resample, shape models x resamples; percentile CI per model) of a 0/1 matrix
    of shape models x items. One resample of item indices is shared by every model."""
    n_models, n_items = scores.shape
    if n_items == 0:
        return np.zeros((n_models, resamples)), [Interval(0.0, 0.0)] * n_models
    rng = np.random.default_rng(seed)
    # How often each item is drawn in each resample (one flat bincount), then one matrix product:
    # models x items @ items x resamples, never a models x resamples x items array.
    # (rng.multinomial does the same in twice the time.)
    draws = rng.integers(0, n_items, size=(resamples, n_items))
    flat = (np.arange(resamples)[:, None] * n_items + draws).ravel()
    counts = np.bincount(flat, minlength=resamples * n_items).reshape(resamples, n_items).T.astype(np.float64)
    boot = (scores @ counts) / n_items
    alpha = (1.0 - level) / 2.0
    lows, highs = np.quantile(boot, [alpha, 1.0 - alpha], axis=1)
    return boot, [Interval(float(lo), float(hi)) for lo, hi in zip(lows, highs, strict=True)]


def separability(intervals: Sequence[Interval]) -> float | None:
    """Share of model pairs whose intervals do not overlap; None for fewer than two models."""
    pairs = list(combinations(intervals, 2))
    if not pairs:
        return None
    return sum(not a.overlaps(b) for a, b in pairs) / len(pairs)


@dataclass(frozen=True)
class RankAgreement:
    """How a benchmark's ranking compares with a reference ranking of the same models."""

    models: list[str]
    """The models both rank (at least two for any figure)."""
    kendall_tau: float | None
    agreement_with_confidence: float | None
    """Of the pairs whose benchmark CIs do not overlap, the share ordered as the reference orders them."""
    confident_pairs: int
    brier: float | None
    """Mean (P(A beats B) - [reference ranks A above B])^2 over pairs; lower is better, 0.25 is a coin."""
    note: str | None = None


def rank_agreement(names: Sequence[str], accuracy: Sequence[float], intervals: Sequence[Interval], boot: Matrix,
                   reference: Mapping[str, float]) -> RankAgreement:
    """Agreement of the models' accuracies with `reference` (model -> score, higher is better)."""
    from scipy.stats import kendalltau

    idx = [i for i, n in enumerate(names) if n in reference]
    shared = [names[i] for i in idx]
    if len(idx) < 2:
        missing = sorted(set(names) - set(reference))
        return RankAgreement(shared, None, None, 0, None,
                             note=f"fewer than two panel models are in the reference (missing: {', '.join(missing)})")
    ours = [accuracy[i] for i in idx]
    theirs = [reference[names[i]] for i in idx]
    tau_result = kendalltau(ours, theirs)
    tau = float(tau_result.statistic)
    agree = confident = 0
    brier_terms: list[float] = []
    for a, b in combinations(range(len(idx)), 2):
        ia, ib = idx[a], idx[b]
        ref_a, ref_b = theirs[a], theirs[b]
        if ref_a == ref_b:
            continue
        y = 1.0 if ref_a > ref_b else 0.0
        p = float(np.mean(boot[ia] > boot[ib]) + 0.5 * np.mean(boot[ia] == boot[ib]))
        brier_terms.append((p - y) ** 2)
        if not intervals[ia].overlaps(intervals[ib]):
            confident += 1
            agree += (accuracy[ia] > accuracy[ib]) == (ref_a > ref_b)
    return RankAgreement(shared, None if np.isnan(tau) else tau, agree / confident if confident else None, confident,
                         float(np.mean(brier_terms)) if brier_terms else None,
                         note=None if confident else "no pair of models is separated by the benchmark's CIs")


def item_difficulty(scores: Matrix) -> Matrix:
    """Share of the panel (rows) that solved each item (columns)."""
    return scores.mean(axis=0) if scores.shape[0] else np.zeros(scores.shape[1])


def item_discrimination(scores: Matrix) -> list[float | None]:
    """Item-rest correlation per item: Pearson's r between the item's 0/1 scores over the models
    and each model's accuracy on the other items. None when it is undefined (fewer than three
    models, or every model scored the same on the item or on the rest)."""
    n_models, n_items = scores.shape
    if n_models < 3 or n_items < 2:
        return [None] * n_items
    totals = scores.sum(axis=1, keepdims=True)
    rest = (totals - scores) / (n_items - 1)  # models x items: accuracy on the other items
    x = scores - scores.mean(axis=0)
    y = rest - rest.mean(axis=0)
    denom = np.sqrt((x * x).sum(axis=0) * (y * y).sum(axis=0))
    r = np.divide((x * y).sum(axis=0), denom, out=np.full(n_items, np.nan), where=denom > 1e-12)
    return [None if np.isnan(v) else float(v) for v in r]


def chance_accuracy(n_choices: Sequence[int]) -> float:
    """Expected accuracy of uniform guessing: 1/k on a k-option item, 0 on an open one (k = 0)."""
    if not n_choices:
        return 0.0
    return float(np.mean([1.0 / k if k else 0.0 for k in n_choices]))
