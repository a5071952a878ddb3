"""One reference corpus ready for contamination checks: its embeddings, rarity weights, null and threshold.

`CorpusEvidence` is built once per corpus content (and embedder) and kept per process:
building it embeds the corpus (the expensive part, cached on disk by the embedder),
counts token document frequencies, and measures the leave-one-out null distribution
(`benchsmith.index.selfcal`). Token sets, number sets and code examples
(`benchsmith.index.examples`) are computed on first use. `Threshold` says which evidence score flags an item and
where that number came from: the corpus's own null, a fixed value, or the documented
fallback when the corpus is too small to have a null (one entry has no neighbours).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np

from benchsmith.index.examples import example_agreement, example_sets, prose_texts
from benchsmith.index.neighbours import VectorIndex
from benchsmith.index.rarity import RarityWeights, TokenSets, number_agreement, number_sets, pair_overlap
from benchsmith.index.selfcal import MIN_NULL, NullDistribution, Searchable, evidence, leave_one_out

ThresholdSource = Literal["self-calibrated", "fixed", "default"]


@dataclass(frozen=True)
class NullSettings:
    """How the null distribution is measured and turned into a threshold."""

    k: int
    rarity_weight: float
    ngram_n: int
    copy_overlap: float
    sample: int
    quantile: float
    margin: float
    floor: float
    ceiling: float
    default: float
    seed: int = 0
    number_weight: float = 0.0
    example_weight: float = 0.0


@dataclass(frozen=True)
class Threshold:
    """The evidence score at or above which an item is contaminated, and why that number."""

    value: float
    source: ThresholdSource
    note: str


class CorpusEvidence:
    """Embeddings, token sets, rarity weights and null distribution of one reference corpus."""

    def __init__(self, texts: list[str], vectors: np.ndarray, *, seed: int = 0) -> None:
        self.texts = texts
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.index: Searchable = VectorIndex(self.vectors, seed=seed)
        self._nulls: dict[NullSettings, NullDistribution] = {}

    # Token statistics are built on first use: the plain cosine rule never needs them.
    @cached_property
    def sets(self) -> TokenSets:
        """The corpus's token sets."""
        return TokenSets.of(self.texts)

    @cached_property
    def weights(self) -> RarityWeights:
        """Rarity (IDF) of tokens in this corpus."""
        return RarityWeights(self.sets)

    @cached_property
    def numbers(self) -> TokenSets:
        """The number values of each entry, as sets (`benchsmith.index.rarity.number_sets`)."""
        return number_sets(self.texts)

    @cached_property
    def examples(self) -> TokenSets:
        """The normalised code examples of each entry (`benchsmith.index.examples`; empty outside code)."""
        return example_sets(self.texts)

    @cached_property
    def example_weights(self) -> RarityWeights:
        """Rarity of each code example among this corpus's entries."""
        return RarityWeights(self.examples)

    @property
    def has_examples(self) -> bool:
        """Whether any entry has a code example (else the example signal is 0 for every pair)."""
        return len(self.examples.tokens) > 0

    @cached_property
    def prose_numbers(self) -> TokenSets:
        """The numbers of each entry outside its code examples (`numbers` where the corpus has none)."""
        return number_sets(prose_texts(self.texts)) if self.has_examples else self.numbers

    @cached_property
    def totals(self) -> np.ndarray:
        """Sum of token weights per entry."""
        return self.weights.totals(self.sets)

    def __len__(self) -> int:
        return len(self.texts)

    def null(self, settings: NullSettings) -> NullDistribution:
        """The leave-one-out null for these settings (measured once, then kept)."""
        hit = self._nulls.get(settings)
        if hit is None:
            hit = leave_one_out(self.index, self.vectors, self.texts, self.sets, self.weights,
                                k=settings.k, rarity_weight=settings.rarity_weight, ngram_n=settings.ngram_n,
                                copy_overlap=settings.copy_overlap, sample=settings.sample, seed=settings.seed,
                                numbers=self.numbers if settings.number_weight else None,
                                number_weight=settings.number_weight,
                                examples=self.examples if settings.example_weight and self.has_examples else None,
                                example_weights=self.example_weights if settings.example_weight
                                and self.has_examples else None,
                                example_weight=settings.example_weight)
            self._nulls[settings] = hit
        return hit

    def threshold(self, settings: NullSettings, fixed: float | None = None) -> tuple[Threshold, NullDistribution]:
        """The threshold in use (fixed, self-calibrated, or the fallback default) and the null it came from."""
        null = self.null(settings)
        if fixed is not None:
            return Threshold(fixed, "fixed", "set in the stage config"), null
        if not null.usable:
            why = (f"the corpus has {len(self)} entr{'y' if len(self) == 1 else 'ies'}, "
                   f"{len(null.scores)} leave-one-out scores (< {MIN_NULL}): no null distribution")
            return Threshold(settings.default, "default", why), null
        raw = null.quantile(settings.quantile) + settings.margin
        value = min(max(raw, settings.floor), settings.ceiling)
        note = f"null p{settings.quantile * 100:g} {null.quantile(settings.quantile):.3f} + margin {settings.margin}"
        if not math.isclose(value, raw):
            note += f", clipped to [{settings.floor}, {settings.ceiling}]"
        return Threshold(round(value, 4), "self-calibrated", note), null

    def rare_overlap(self, queries: TokenSets, q_totals: np.ndarray, q_rows: np.ndarray,
                     r_rows: np.ndarray) -> np.ndarray:
        """Rarity-weighted overlap of (query, reference entry) pairs, weights from this corpus."""
        return pair_overlap(queries, q_rows, self.sets, r_rows, self.weights, q_totals=q_totals,
                            r_totals=self.totals)

    def number_agreement(self, queries: TokenSets, q_rows: np.ndarray, r_rows: np.ndarray) -> np.ndarray:
        """Number agreement of (query, reference entry) pairs; `queries` from `number_sets`."""
        return number_agreement(queries, q_rows, self.numbers, r_rows)

    def example_agreement(self, queries: TokenSets, q_rows: np.ndarray, r_rows: np.ndarray) -> np.ndarray:
        """Example agreement of (query, reference entry) pairs; `queries` from `example_sets`."""
        return example_agreement(queries, q_rows, self.examples, r_rows, self.example_weights)

    def scores(self, cosine: np.ndarray, rare: np.ndarray, rarity_weight: float, numbers: np.ndarray | None = None,
               number_weight: float = 0.0, examples: np.ndarray | None = None,
               example_weight: float = 0.0) -> np.ndarray:
        """Evidence scores of pairs (see `benchsmith.index.selfcal.evidence`)."""
        return evidence(cosine, rare, rarity_weight, numbers, number_weight, examples, example_weight)
