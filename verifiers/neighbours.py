"""Nearest-neighbour search over normalised embeddings with faiss.

One place decides which faiss index to build: an exact `IndexFlatIP` up to
`exact_max` vectors (quadratic but exact; all pairs of 20k MiniLM-sized vectors take a
few seconds on two cores), an `IndexIVFFlat` above it so dedup and contamination stay
sub-quadratic (60k vectors: about 20 s against 45 s flat on two busy cores). IVF rather
than HNSW because IVF supports range search, which finds every neighbour above a
similarity threshold however many there are.

Vectors must be L2-normalised float32, so inner product is cosine similarity.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np

IndexKind = Literal["auto", "flat", "ivf"]

# 4*sqrt(n) lists of ~sqrt(n)/4 vectors: with nprobe 8 a query scans ~2*sqrt(n) vectors. Fewer,
# larger lists (sqrt(n)) made range search 3x slower at 60k in our measurements.
_LISTS_PER_SQRT_N = 4
_MIN_POINTS_PER_LIST = 8
# k-means on a sample of 32 points per list with 10 iterations: centroids only route
# queries, and near-duplicates land in the same or a probed neighbouring cell anyway.
_TRAIN_POINTS_PER_LIST = 32
_TRAIN_ITERATIONS = 10


def _as_matrix(vectors: np.ndarray, name: str = "vectors") -> np.ndarray:
    arr = np.asarray(vectors)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n, dim), got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float32)


@dataclass(frozen=True)
class RangeHit:
    """Neighbours of one query above the threshold: database row ids and their similarities."""

    query: int
    ids: np.ndarray
    similarities: np.ndarray


class VectorIndex:
    """A faiss inner-product index over a fixed set of vectors, exact or IVF by size.

    `kind="auto"` picks flat for n <= exact_max, else IVF with about 4*sqrt(n) lists
    (`nlist`) of which `nprobe` are searched per query. The index is built on
    construction; the `kind_used` attribute says which one was built.
    """

    def __init__(self, vectors: np.ndarray, *, kind: IndexKind = "auto", exact_max: int = 20_000,
                 nlist: int | None = None, nprobe: int = 8, seed: int = 0) -> None:
        import faiss  # heavy; imported where needed so that stage modules import quickly

        data = _as_matrix(vectors)
        self.n, self.dim = data.shape
        if self.dim == 0:
            raise ValueError("vectors have dimension 0")
        if nprobe < 1:
            raise ValueError(f"nprobe must be >= 1, got {nprobe}")
        use_ivf = kind == "ivf" or (kind == "auto" and self.n > exact_max)
        # IVF needs training points; with very few vectors an exact index is the only sane choice.
        if use_ivf and self.n >= 2:
            lists = nlist or min(int(_LISTS_PER_SQRT_N * math.sqrt(self.n)), self.n // _MIN_POINTS_PER_LIST)
            lists = max(1, min(lists, self.n))
            quantizer = faiss.IndexFlatIP(self.dim)
            index = faiss.IndexIVFFlat(quantizer, self.dim, lists, faiss.METRIC_INNER_PRODUCT)
            index.cp.seed = seed
            index.cp.niter = _TRAIN_ITERATIONS
            index.cp.max_points_per_centroid = _TRAIN_POINTS_PER_LIST  # faiss samples (seeded) down to this
            index.cp.min_points_per_centroid = 1  # small pools: no 'too few training points' warning
            index.train(data)
            index.add(data)
            index.nprobe = min(nprobe, lists)
            self.kind_used: Literal["flat", "ivf"] = "ivf"
            self.nlist = lists
        else:
            index = faiss.IndexFlatIP(self.dim)
            if self.n:
                index.add(data)
            self.kind_used = "flat"
            self.nlist = 0
        self._index = index
        # The IVF index does not own its quantizer; a Python reference keeps it alive as long as the index.
        self._quantizer = quantizer if self.kind_used == "ivf" else None

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-`k` (similarities, ids) per query; ids are -1 where fewer than k exist."""
        q = _as_matrix(queries, "queries")
        self._check_dim(q)
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if q.shape[0] == 0 or self.n == 0:
            return (np.zeros((q.shape[0], k), np.float32), np.full((q.shape[0], k), -1, np.int64))
        sims, ids = self._index.search(q, k)
        return sims, ids

    def range(self, queries: np.ndarray, threshold: float, *, batch: int = 4096) -> Iterator[RangeHit]:
        """For each query, every indexed vector with similarity >= `threshold` (queries with none are skipped)."""
        q = _as_matrix(queries, "queries")
        self._check_dim(q)
        if self.n == 0:
            return
        # faiss returns similarities strictly greater than the radius; nudge it so ">=" holds.
        radius = float(np.nextafter(np.float32(threshold), np.float32(-np.inf)))
        for start in range(0, q.shape[0], batch):
            lims, sims, ids = self._index.range_search(q[start:start + batch], radius)
            for j in range(len(lims) - 1):
                lo, hi = lims[j], lims[j + 1]
                if hi > lo:
                    yield RangeHit(query=start + j, ids=ids[lo:hi], similarities=sims[lo:hi])

    def _check_dim(self, q: np.ndarray) -> None:
        if q.shape[1] != self.dim:
            raise ValueError(f"query dimension {q.shape[1]} does not match index dimension {self.dim}")


def similar_pairs(vectors: np.ndarray, threshold: float, *, kind: IndexKind = "auto", exact_max: int = 20_000,
                  nprobe: int = 8, seed: int = 0) -> list[tuple[int, int, float]]:
    """All pairs (i, j, similarity) with i < j and cosine >= `threshold` within one set of vectors.

    With an IVF index the search is approximate: a pair whose vectors fall in cells that
    are not probed can be missed (raise `nprobe` to trade speed for recall).
    """
    if not -1.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a cosine similarity in [-1, 1], got {threshold}")
    data = _as_matrix(vectors)
    if data.shape[0] < 2:
        return []
    index = VectorIndex(data, kind=kind, exact_max=exact_max, nprobe=nprobe, seed=seed)
    best: dict[tuple[int, int], float] = {}
    for hit in index.range(data, threshold):
        i = hit.query
        for j, sim in zip(hit.ids.tolist(), hit.similarities.tolist()):
            if j == i or j < 0:
                continue
            key = (i, j) if i < j else (j, i)
            # IVF may find (i, j) from one side only, and float noise can differ by side.
            if sim > best.get(key, -2.0):
                best[key] = sim
    return sorted((a, b, s) for (a, b), s in best.items())
