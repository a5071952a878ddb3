"""Chance-corrected agreement between raters: Cohen's kappa (two raters) and Fleiss' kappa (two or more).

Labels are any hashable values (pass/fail booleans, 'accept'/'reject'/'edit', 1-5
scores treated as categories); a missing rating is `None`. The jury of `llm_judge`
reports its judges' agreement with these, and the review queue its reviewers'.

Kappa is (observed agreement - chance agreement) / (1 - chance agreement). When the
raters used a single label between them, chance agreement is 1 and kappa is 0/0: it
is *undefined*, not 1, since agreement that could not have been otherwise says nothing
about the raters. Such results carry `kappa=None` and a `note` saying why, as do
results with too few rated items.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

__all__ = ["Agreement", "Rating", "cohen_kappa", "fleiss_kappa", "fleiss_kappa_counts", "item_table",
           "pairwise_cohen", "strength"]

Rating = Hashable | None
"""One rater's label for one item; None when that rater did not rate the item."""

_STRENGTH = ((0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial"))


def strength(kappa: float) -> str:
    """Landis & Koch's (1977) words for a kappa: poor (< 0), slight (to 0.20), fair (to 0.40),
    moderate (to 0.60), substantial (to 0.80), almost perfect (above)."""
    if kappa < 0:
        return "poor"
    return next((word for upper, word in _STRENGTH if kappa <= upper), "almost perfect")


@dataclass(frozen=True)
class Agreement:
    """A kappa with what it was computed from; `kappa` is None when it is undefined (see `note`)."""

    kappa: float | None
    observed: float | None
    """Observed agreement: share of agreeing (pairs of) ratings."""
    expected: float | None
    """Agreement expected by chance from the label frequencies."""
    n_items: int
    """Items that entered the computation (rated by both raters; by at least two for Fleiss)."""
    n_raters: int
    note: str | None = None
    """Why `kappa` is None, in plain words (None when it is defined)."""

    def describe(self) -> str:
        """One line for a report: '0.412 (moderate, 30 items)' or 'undefined: <why>'."""
        if self.kappa is None:
            return f"undefined: {self.note}"
        return f"{self.kappa:.3f} ({strength(self.kappa)}, {self.n_items} items)"


def _label(value: Hashable) -> str:
    return repr(value) if not isinstance(value, str) else value


def cohen_kappa(a: Sequence[Rating], b: Sequence[Rating]) -> Agreement:
    """Cohen's kappa of two raters over the same items (aligned sequences; None = not rated).

    Only items both raters rated count. Chance agreement is the sum over labels of the
    product of each rater's own label shares (Cohen 1960).
    """
    if len(a) != len(b):
        raise ValueError(f"the two raters' ratings must be aligned by item: got {len(a)} and {len(b)}")
    pairs = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    n = len(pairs)
    if n == 0:
        return Agreement(None, None, None, 0, 2, "no item was rated by both raters")
    observed = sum(1 for x, y in pairs if x == y) / n
    count_a, count_b = Counter(x for x, _ in pairs), Counter(y for _, y in pairs)
    expected = sum(count_a[label] * count_b.get(label, 0) for label in count_a) / (n * n)
    if expected >= 1.0 - 1e-12:
        [label] = count_a
        return Agreement(None, observed, expected, n, 2,
                         f"both raters gave all {n} items the same label ({_label(label)}), so agreement "
                         "could not have been otherwise")
    return Agreement((observed - expected) / (1.0 - expected), observed, expected, n, 2)


def fleiss_kappa_counts(counts: Sequence[Sequence[int]], *, n_raters: int | None = None) -> Agreement:
    """Fleiss' kappa from a count table: `counts[i][j]` raters put item i in category j.

    Items may have different numbers of ratings (missing ratings): each item's agreement
    is the share of agreeing pairs among its own ratings, P_i = sum_j n_ij (n_ij - 1) /
    (n_i (n_i - 1)), averaged over the items with at least two ratings; chance agreement
    is sum_j p_j^2 with p_j the share of all their ratings in category j. With the same
    number of ratings per item this is exactly Fleiss (1971).
    """
    rows = [list(r) for r in counts if sum(r) >= 2]
    if any(c < 0 for r in rows for c in r):
        raise ValueError("counts must be >= 0")
    raters = n_raters if n_raters is not None else max((sum(r) for r in counts), default=0)
    if not rows:
        return Agreement(None, None, None, 0, raters, "no item was rated by at least two raters")
    width = max(len(r) for r in rows)
    rows = [r + [0] * (width - len(r)) for r in rows]
    per_item = [sum(c * (c - 1) for c in r) / (sum(r) * (sum(r) - 1)) for r in rows]
    observed = sum(per_item) / len(rows)
    total = sum(sum(r) for r in rows)
    shares = [sum(r[j] for r in rows) / total for j in range(width)]
    expected = sum(p * p for p in shares)
    if expected >= 1.0 - 1e-12:
        return Agreement(None, observed, expected, len(rows), raters,
                         f"every rating of the {len(rows)} items has the same label, so agreement could not "
                         "have been otherwise")
    return Agreement((observed - expected) / (1.0 - expected), observed, expected, len(rows), raters)


def fleiss_kappa(table: Sequence[Sequence[Rating]]) -> Agreement:
    """Fleiss' kappa from labels: `table[i]` is item i's ratings, one per rater (None = not rated).

    The raters need not be the same people for every item (Fleiss' assumption), and an
    item may lack some ratings (see `fleiss_kappa_counts`).
    """
    rows = [[x for x in row if x is not None] for row in table]
    labels = list(dict.fromkeys(x for row in rows for x in row))
    index = {label: j for j, label in enumerate(labels)}
    counts = []
    for row in rows:
        line = [0] * len(labels)
        for x in row:
            line[index[x]] += 1
        counts.append(line)
    result = fleiss_kappa_counts(counts, n_raters=max((len(r) for r in table), default=0))
    used = {x for row in rows if len(row) >= 2 for x in row}
    if result.kappa is None and len(used) == 1:
        [label] = used
        result = Agreement(None, result.observed, result.expected, result.n_items, result.n_raters,
                           f"every rating of the {result.n_items} items is {_label(label)}, so agreement could "
                           "not have been otherwise")
    return result


def item_table(ratings: Mapping[str, Sequence[Rating]]) -> list[list[Rating]]:
    """Rater → aligned ratings, turned into one row per item (the raters in mapping order)."""
    lengths = {len(v) for v in ratings.values()}
    if len(lengths) > 1:
        raise ValueError(f"every rater's ratings must be aligned by item: lengths {sorted(lengths)}")
    columns = list(ratings.values())
    n = lengths.pop() if lengths else 0
    return [[col[i] for col in columns] for i in range(n)]


def pairwise_cohen(ratings: Mapping[str, Sequence[Rating]]) -> dict[tuple[str, str], Agreement]:
    """Cohen's kappa for every pair of raters (in mapping order), from rater → aligned ratings."""
    return {(x, y): cohen_kappa(ratings[x], ratings[y]) for x, y in combinations(ratings, 2)}
