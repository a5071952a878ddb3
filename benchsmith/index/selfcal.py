"""Self-calibration of contamination thresholds: a reference corpus is a population of distinct problems.

With a corpus of a thousand items of one style, the *best* similarity of a new, unrelated
item of that style to some reference is high by chance, and it grows with the corpus. A
fixed cosine threshold therefore flags more clean items the larger the corpus. But the
corpus itself shows what "best similarity of a distinct item" looks like: search a sample
of its own entries against the rest of it (leave one out) and take each one's best
evidence score. That is the null distribution; a threshold just above its high quantile
flags few distinct items *of this corpus's style and size*, with no hand tuning.

Evidence per (item, candidate reference) pair is
`cosine + rarity_weight * rare_overlap + number_weight * number_agreement
+ example_weight * example_agreement` (`benchsmith.index.rarity`, `benchsmith.index.examples`):
embeddings say "same topic and phrasing", rare-token overlap says "same names and rare
words", number agreement says "same numbers" (+1) or "the same template asking about other
numbers" (down to -1), example agreement says "the same doctest calls with the same outputs"
(code prompts only; 0 elsewhere).

Two precautions keep the null honest:
- A corpus often holds near-copies of its own entries (MathQA has many problems that differ
  only in their numbers). Those are not distinct problems, so a leave-one-out neighbour
  whose n-gram containment with the query reaches `copy_overlap` is skipped (and counted);
  the query's best *distinct* neighbour is used instead.
- Sampling: at most `sample` entries are searched, each against the whole corpus, so the
  cost is sample x (one k-NN search), linear in the corpus size (never all pairs), and the
  neighbours come from a corpus of the real size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from benchsmith.index.examples import example_agreement
from benchsmith.index.ngrams import TokenHasher
from benchsmith.index.rarity import RarityWeights, TokenSets, number_agreement, pair_overlap

MIN_NULL = 20
"""Fewer leave-one-out scores than this is no distribution: the stage falls back to its defaults."""

NULL_QUANTILES = (0.5, 0.9, 0.99, 0.995, 0.999)


class Searchable(Protocol):
    """What the null needs of an index: k-NN search (a `VectorIndex`)."""

    n: int

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...


def evidence(cosine: np.ndarray, rare: np.ndarray, rarity_weight: float, numbers: np.ndarray | None = None,
             number_weight: float = 0.0, examples: np.ndarray | None = None,
             example_weight: float = 0.0) -> np.ndarray:
    """The combined evidence score of (cosine, rare-token overlap, number agreement, example overlap) pairs."""
    out = np.asarray(cosine, dtype=np.float64) + rarity_weight * np.asarray(rare, dtype=np.float64)
    if numbers is not None and number_weight:
        out = out + number_weight * np.asarray(numbers, dtype=np.float64)
    if examples is not None and example_weight:
        out = out + example_weight * np.asarray(examples, dtype=np.float64)
    return out


def ngram_sets(texts: list[str], n: int) -> TokenSets:
    """Distinct hashed n-grams per text, in the `TokenSets` layout (for containment of pairs)."""
    grams = TokenHasher().ngrams(texts, n)
    keys, owners = grams.distinct_sorted()
    order = np.lexsort((keys, owners))
    keys, owners = keys[order], owners[order]
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.bincount(owners, minlength=len(texts)), out=offsets[1:])
    return TokenSets(tokens=np.ascontiguousarray(keys), offsets=offsets)


@dataclass(frozen=True)
class NullDistribution:
    """Best evidence score of sampled reference entries against the rest of their corpus."""

    references: int
    queries: int
    """Entries searched (the sample)."""
    copies_skipped: int
    """Leave-one-out neighbours skipped as near-copies of their query (see the module docstring)."""
    scores: np.ndarray = field(repr=False)
    """Sorted ascending; one per query that had a distinct neighbour among its k."""
    cosines: np.ndarray = field(repr=False)
    """The best distinct neighbour's cosine per query, sorted ascending (reported beside the scores)."""

    @property
    def usable(self) -> bool:
        """Whether there are enough scores to call this a distribution (MIN_NULL)."""
        return len(self.scores) >= MIN_NULL

    def quantile(self, q: float) -> float:
        """The q-quantile of the scores (nan when there are none)."""
        return float(np.quantile(self.scores, q)) if len(self.scores) else float("nan")

    def summary(self) -> dict[str, float]:
        """p50 / p90 / p99 / p99.5 / p99.9 / max of the scores and of the nearest-neighbour cosines."""
        out: dict[str, float] = {}
        for name, arr in (("score", self.scores), ("cosine", self.cosines)):
            if not len(arr):
                continue
            for q in NULL_QUANTILES:
                out[f"{name}_p{q * 100:g}"] = round(float(np.quantile(arr, q)), 4)
            out[f"{name}_max"] = round(float(arr[-1]), 4)
        return out


def leave_one_out(index: Searchable, vectors: np.ndarray, texts: list[str], sets: TokenSets,
                  weights: RarityWeights, *, k: int, rarity_weight: float, ngram_n: int,
                  copy_overlap: float, sample: int, seed: int, numbers: TokenSets | None = None,
                  number_weight: float = 0.0, examples: TokenSets | None = None,
                  example_weights: RarityWeights | None = None, example_weight: float = 0.0) -> NullDistribution:
    """The null distribution of a corpus (module docstring): `sample` entries, each vs the others.

    `index` searches `vectors` (the corpus's own embeddings); `sets` are the corpus's token
    sets and `weights` its rarity weights. Cost: one k+1-NN search per sampled entry.
    """
    n = len(texts)
    if n < 2:
        empty = np.zeros(0, dtype=np.float64)
        return NullDistribution(references=n, queries=0, copies_skipped=0, scores=empty, cosines=empty)
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(n, size=min(sample, n), replace=False)) if sample < n else np.arange(n)
    depth = min(k + 1, n)
    sims, ids = index.search(np.ascontiguousarray(vectors[chosen]), depth)
    q = np.repeat(chosen, depth)
    r = ids.reshape(-1).astype(np.int64)
    s = sims.reshape(-1).astype(np.float64)
    real = (r >= 0) & (r != q)
    q, r, s = q[real], r[real], s[real]
    # The same text at two positions is a copy as well, whatever its n-grams say.
    same_text = np.array([texts[a] == texts[b] for a, b in zip(q.tolist(), r.tolist())], dtype=bool)
    # Near-copies: containment of n-gram sets, computed only for the pairs at hand.
    involved = np.unique(np.concatenate([q, r]))
    local = {int(g): i for i, g in enumerate(involved.tolist())}
    gram_sets = ngram_sets([texts[i] for i in involved.tolist()], ngram_n)
    ql = np.array([local[int(x)] for x in q.tolist()], dtype=np.int64)
    rl = np.array([local[int(x)] for x in r.tolist()], dtype=np.int64)
    containment = pair_overlap(gram_sets, ql, gram_sets, rl, RarityWeights.uniform())
    copy = same_text | (containment >= copy_overlap)
    rare = pair_overlap(sets, q, sets, r, weights)
    nums = number_agreement(numbers, q, numbers, r) if numbers is not None and number_weight else None
    exs = (example_agreement(examples, q, examples, r, example_weights)
           if examples is not None and example_weights is not None and example_weight else None)
    score = evidence(s, rare, rarity_weight, nums, number_weight, exs, example_weight)
    score[copy] = -np.inf
    best = np.full(n, -np.inf)
    np.maximum.at(best, q, score)
    best_cos = np.full(n, -np.inf)
    np.maximum.at(best_cos, q, np.where(copy, -np.inf, s))
    keep = np.isfinite(best[chosen])
    return NullDistribution(references=n, queries=len(chosen), copies_skipped=int(copy.sum()),
                            scores=np.sort(best[chosen][keep]), cosines=np.sort(best_cos[chosen][keep]))

