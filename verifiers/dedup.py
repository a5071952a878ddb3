"""Duplicate removal over the whole pool: exact (normalised text) and semantic (embeddings).

Both are set-scope verifiers: they see every item that survived the per-item stages,
group duplicates, keep the best-scored member of each group (the judge's score; ties go
to the item seen first) and drop the rest with a pointer to the kept one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from benchsmith.index.groups import choose_keepers, groups_from_pairs
from benchsmith.index.neighbours import IndexKind, similar_pairs
from benchsmith.records import Item, Verdict
from benchsmith.stages import StageConfig, StageContext, Verifier, verifiers
from benchsmith.text import ItemField, item_text, normalize_text


class ExactDedupConfig(StageConfig):
    """Which text exact dedup compares."""

    fields: list[ItemField] = Field(
        default_factory=lambda: ["prompt"], min_length=1,
        description="Item fields whose normalised text must match for two items to be duplicates.")


@verifiers.register("dedup_exact")
class ExactDedup(Verifier):
    """Drops items whose normalised prompt (NFKC, casefold, no punctuation, collapsed spaces) repeats."""

    Config: ClassVar[type[StageConfig]] = ExactDedupConfig
    scope: ClassVar[Literal["item", "set"]] = "set"
    order: ClassVar[int] = 10
    config: ExactDedupConfig

    async def verify(self, items: Sequence[Item], ctx: StageContext) -> list[Verdict]:
        first_by_key: dict[str, int] = {}
        pairs: list[tuple[int, int]] = []
        for i, item in enumerate(items):
            key = normalize_text(item_text(item, self.config.fields))
            j = first_by_key.setdefault(key, i)
            if j != i:
                pairs.append((j, i))
        groups = groups_from_pairs(len(items), pairs)
        verdicts = [self.verdict(True) for _ in items]
        for decision in choose_keepers(items, groups):
            kept_id = items[decision.keep].id
            verdicts[decision.keep] = self.verdict(True, duplicates=[items[i].id for i in decision.drop])
            for i in decision.drop:
                verdicts[i] = self.verdict(False, reason="duplicate_exact", duplicate_of=kept_id)
        ctx.progress(self.name, len(items))
        return verdicts


class SemanticDedupConfig(StageConfig):
    """Similarity threshold and index choice for embedding dedup."""

    threshold: float = Field(default=0.82, gt=0.0, le=1.0,
                             description="Cosine similarity at or above which two items are near-duplicates.")
    fields: list[ItemField] = Field(
        default_factory=lambda: ["prompt"], min_length=1,
        description="Item fields whose text is embedded (joined by newlines).")
    index: IndexKind = Field(default="auto",
                             description="'flat' (exact), 'ivf' (approximate) or 'auto': flat up to exact_max_items.")
    exact_max_items: int = Field(default=20_000, ge=1,
                                 description="Largest pool searched with an exact index when index='auto'.")
    nprobe: int = Field(default=8, ge=1, description="IVF cells searched per query; higher finds more, slower.")


@verifiers.register("dedup_semantic")
class SemanticDedup(Verifier):
    """Drops near-duplicate prompts: faiss neighbours above `threshold`, grouped transitively (union-find)."""

    Config: ClassVar[type[StageConfig]] = SemanticDedupConfig
    scope: ClassVar[Literal["item", "set"]] = "set"
    order: ClassVar[int] = 30
    config: SemanticDedupConfig

    async def verify(self, items: Sequence[Item], ctx: StageContext) -> list[Verdict]:
        if len(items) < 2:  # nothing to compare: skip loading the embedding model
            ctx.progress(self.name, len(items))
            return [self.verdict(True) for _ in items]
        vectors = ctx.embedder.encode([item_text(it, self.config.fields) for it in items])
        verdicts = self.verdicts_for_vectors(items, vectors, seed=ctx.random_seed)
        ctx.progress(self.name, len(items))
        return verdicts

    def verdicts_for_vectors(self, items: Sequence[Item], vectors: np.ndarray, *, seed: int = 0) -> list[Verdict]:
        """The dedup decision for items with precomputed L2-normalised vectors (one row per item)."""
        if len(vectors) != len(items):
            raise ValueError(f"got {len(vectors)} vectors for {len(items)} items")
        cfg = self.config
        pairs = similar_pairs(vectors, cfg.threshold, kind=cfg.index, exact_max=cfg.exact_max_items,
                              nprobe=cfg.nprobe, seed=seed)
        groups = groups_from_pairs(len(items), ((a, b) for a, b, _ in pairs))
        verdicts = [self.verdict(True) for _ in items]
        for decision in choose_keepers(items, groups):
            kept = decision.keep
            # A transitive member may not be a direct neighbour of the kept item, so its
            # similarity is measured against the kept item itself, not taken from the pair list.
            sims = {i: float(np.dot(vectors[i], vectors[kept])) for i in decision.drop}
            verdicts[kept] = self.verdict(True, duplicates=[items[i].id for i in decision.drop])
            for i in decision.drop:
                verdicts[i] = self.verdict(False, score=round(sims[i], 6), reason="near_duplicate",
                                        duplicate_of=items[kept].id, similarity=round(sims[i], 6))
        return verdicts
