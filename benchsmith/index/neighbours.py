"""Nearest-neighbour search over normalised embeddings with faiss.

Two questions are asked of embeddings, answered by different machinery:

- **Queries against a fixed set** (novelty, contamination: new items against earlier
  versions or reference corpora): `VectorIndex`, an exact `IndexFlatIP` up to
  `exact_max` vectors and an `IndexIVFFlat` trained on a sample above it.
- **All similar pairs within one set** (semantic dedup): `similar_pairs`. Up to
  `exact_max` vectors this is an exact faiss range search; above it an IVF *self-join*
  (`_ivf_self_join`) that stays far below quadratic: a million vectors in about a minute
  on two cores (bench/semantic_dedup_scale.py).

How the self-join works, and why it does not miss pairs. Vectors are routed to their
nearest of `nlist` centroids (k-means trained hierarchically on a sample, exact routing
with one BLAS product per block). A pair (x, y) with x in cell A and y in cell B, A != B,
and cos(x, y) >= t satisfies

    gap_x(A, B) + gap_y(B, A) = <x - y, c_A - c_B> <= sqrt(2 - 2t) * |c_A - c_B|

where gap_x(A, B) = <x, c_A> - <x, c_B> >= 0 (A is x's nearest centroid). So at least one
of the two gaps is at most half that bound, and probing, for every vector, only the cells
whose gap is within half the bound (up to `nprobe` cells) still finds the pair from one
side. Most vectors sit well inside their cell and probe nothing but their own, which is
what makes the join cheap; cells are then joined with dense matrix products (BLAS),
not per-query scans. The only approximation is the `nprobe` cap.

Vectors must be L2-normalised float32, so inner product is cosine similarity.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np
from threadpoolctl import threadpool_limits

IndexKind = Literal["auto", "flat", "ivf"]

# VectorIndex (query/database search): 4*sqrt(n) lists of ~sqrt(n)/4 vectors; with nprobe 8
# a query scans ~2*sqrt(n) vectors. Fewer, larger lists (sqrt(n)) made range search 3x
# slower at 60k in our measurements.
_LISTS_PER_SQRT_N = 4
_MIN_POINTS_PER_LIST = 8
# k-means on a sample of 32 points per list with 10 iterations: centroids only route
# queries, and near-duplicates land in the same or a probed neighbouring cell anyway.
_TRAIN_POINTS_PER_LIST = 32
_TRAIN_ITERATIONS = 10

# Self-join: routing costs nlist dot products per vector and the join about
# (1 + extra probes) * n / nlist, and smaller cells need fewer extra probes. Measured on
# 1M clustered 384-d vectors (threshold 0.9): 1500 lists -> 3.7 extra probes per vector,
# 2200 -> 2.2, 3000 -> 1.1 and the lowest total time. Below ~256 vectors per cell the
# per-cell overhead wins (100k vectors: 390 cells beat 695), hence the floor on cell size.
_JOIN_LISTS_PER_SQRT_N = 3.0
_JOIN_TARGET_LIST = 256
_JOIN_MIN_LIST = 16
_ROUTE_BLOCK = 1 << 15  # vectors routed per faiss search call: bounded temporaries


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
    (`nlist`) of which `nprobe` are searched per query, trained on a seeded sample of
    32 vectors per list. The index is built on construction; the `kind_used` attribute
    says which one was built.
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
        index: faiss.Index
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

    def search(self, queries: np.ndarray, k: int, *, batch: int = 1 << 15) -> tuple[np.ndarray, np.ndarray]:
        """Top-`k` (similarities, ids) per query, in batches; ids are -1 where fewer than k exist."""
        q = _as_matrix(queries, "queries")
        self._check_dim(q)
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if q.shape[0] == 0 or self.n == 0:
            return (np.zeros((q.shape[0], k), np.float32), np.full((q.shape[0], k), -1, np.int64))
        sims = np.empty((q.shape[0], k), np.float32)
        ids = np.empty((q.shape[0], k), np.int64)
        for start in range(0, q.shape[0], batch):
            sims[start:start + batch], ids[start:start + batch] = self._index.search(q[start:start + batch], k)
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


# ---------------------------------------------------------------------------------------
# All pairs above a threshold within one set.


@dataclass(frozen=True)
class JoinStats:
    """What a self-join did: the path taken and how much work routing saved."""

    kind: Literal["flat", "ivf"]
    n: int
    nlist: int = 0
    extra_probes_per_vector: float = 0.0
    """Cells searched per vector besides its own (at most nprobe - 1)."""
    capped_vectors: int = 0
    """Vectors whose probes were cut by the nprobe cap: the only source of missed pairs."""
    pairs: int = 0


def similar_pair_arrays(vectors: np.ndarray, threshold: float, *, kind: IndexKind = "auto",
                        exact_max: int = 20_000, nprobe: int = 8, seed: int = 0, nlist: int | None = None,
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, JoinStats]:
    """All pairs with i < j and cosine >= `threshold`, as arrays (i, j, similarity) sorted by (i, j).

    The array form of `similar_pairs` for large sets (no Python tuple per pair), plus the
    join's statistics. `kind="auto"` is exact up to `exact_max` vectors and an IVF
    self-join above it; `nprobe` caps the cells searched per vector there.
    """
    if not -1.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a cosine similarity in [-1, 1], got {threshold}")
    if nprobe < 1:
        raise ValueError(f"nprobe must be >= 1, got {nprobe}")
    data = _as_matrix(vectors)
    n = data.shape[0]
    if n < 2:
        empty = np.zeros(0, np.int64)
        return empty, empty.copy(), np.zeros(0, np.float32), JoinStats(kind="flat", n=n)
    use_ivf = kind == "ivf" or (kind == "auto" and n > exact_max)
    if use_ivf and n >= 2 * _JOIN_MIN_LIST:
        # BLAS and faiss's OpenMP run single-threaded here and the work is spread over Python
        # threads instead (numpy and faiss release the GIL): their spinning worker threads made
        # the join 2-4x slower on a busy two-core machine, where other processes hold cores.
        with threadpool_limits(1):
            i, j, s, stats = _ivf_self_join(data, threshold, nprobe=nprobe, nlist=nlist, seed=seed)
    else:
        i, j, s = _flat_self_join(data, threshold)
        stats = JoinStats(kind="flat", n=n)
    order = np.lexsort((j, i))
    i, j, s = i[order], j[order], s[order]
    return i, j, s, JoinStats(**{**stats.__dict__, "pairs": len(i)})


def similar_pairs(vectors: np.ndarray, threshold: float, *, kind: IndexKind = "auto", exact_max: int = 20_000,
                  nprobe: int = 8, seed: int = 0) -> list[tuple[int, int, float]]:
    """All pairs (i, j, similarity) with i < j and cosine >= `threshold` within one set of vectors.

    Exact up to `exact_max` vectors (or with kind="flat"). Above it (or kind="ivf") an IVF
    self-join that misses a pair only when a vector would need more than `nprobe` cells
    (see the module docstring); raise `nprobe` to trade speed for recall.
    """
    i, j, s, _ = similar_pair_arrays(vectors, threshold, kind=kind, exact_max=exact_max, nprobe=nprobe, seed=seed)
    return list(zip(i.tolist(), j.tolist(), s.tolist()))


def _workers() -> int:
    return max(1, min(os.cpu_count() or 1, 16))


def _unique_pairs(i: np.ndarray, j: np.ndarray, s: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs oriented i < j, self-pairs removed, each pair once (the highest similarity seen)."""
    keep = i != j
    lo, hi, s = np.minimum(i, j)[keep], np.maximum(i, j)[keep], s[keep]
    key = lo.astype(np.int64) * n + hi
    # Sort by key, best similarity first within a key, then keep each key's first row:
    # float noise can make (i, j) and (j, i) differ in the last bit.
    order = np.lexsort((-s, key))
    key, lo, hi, s = key[order], lo[order], hi[order], s[order]
    first = np.ones(len(key), bool)
    first[1:] = key[1:] != key[:-1]
    return lo[first], hi[first], s[first]


def _flat_self_join(data: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact: a faiss range search of every vector against all of them."""
    index = VectorIndex(data, kind="flat")
    radius = float(np.nextafter(np.float32(threshold), np.float32(-np.inf)))
    parts_i, parts_j, parts_s = [], [], []
    for start in range(0, data.shape[0], 4096):
        lims, sims, ids = index._index.range_search(data[start:start + 4096], radius)
        counts = np.diff(lims).astype(np.int64)
        parts_i.append(np.repeat(np.arange(start, start + len(counts)), counts))
        parts_j.append(ids.astype(np.int64))
        parts_s.append(sims.astype(np.float32))
    return _unique_pairs(np.concatenate(parts_i), np.concatenate(parts_j), np.concatenate(parts_s), data.shape[0])


def _kmeans(points: np.ndarray, k: int, seed: int) -> np.ndarray:
    import faiss

    if k >= len(points):
        return np.array(points, dtype=np.float32, copy=True)
    km = faiss.Kmeans(points.shape[1], k, niter=_TRAIN_ITERATIONS, seed=seed, verbose=False,
                      max_points_per_centroid=64, min_points_per_centroid=1)
    km.train(np.ascontiguousarray(points))
    return np.ascontiguousarray(km.centroids, dtype=np.float32)


def train_centroids(data: np.ndarray, nlist: int, *, seed: int = 0,
                    sample_per_list: int = _TRAIN_POINTS_PER_LIST) -> np.ndarray:
    """About `nlist` k-means centroids of `data`, trained hierarchically on a seeded sample.

    Flat k-means with thousands of centroids costs more than the join it serves, so a
    coarse k-means (sqrt(nlist) centroids) splits the sample and each part gets its
    share of fine centroids, in proportion to its size so that cells stay balanced.
    """
    n = data.shape[0]
    rng = np.random.default_rng(seed)
    size = min(n, nlist * sample_per_list)
    sample = data[np.sort(rng.choice(n, size=size, replace=False))] if size < n else data
    coarse = _kmeans(sample, max(1, round(math.sqrt(nlist))), seed)
    part = np.argmax(sample @ coarse.T, axis=1)
    fine = []
    for c in range(len(coarse)):
        members = sample[part == c]
        if len(members):
            fine.append(_kmeans(members, max(1, round(nlist * len(members) / size)), seed + 1 + c))
    return np.ascontiguousarray(np.vstack(fine), dtype=np.float32)


def _route(data: np.ndarray, centroids: np.ndarray, nprobe: int) -> tuple[np.ndarray, np.ndarray]:
    """The `nprobe` nearest centroids of every vector (exact; BLAS in blocks): (similarities, ids)."""
    import faiss

    quantizer = faiss.IndexFlatIP(centroids.shape[1])
    quantizer.add(centroids)
    k = min(nprobe, len(centroids))
    sims = np.empty((data.shape[0], k), np.float32)
    ids = np.empty((data.shape[0], k), np.int64)

    def route_block(start: int) -> None:
        sims[start:start + _ROUTE_BLOCK], ids[start:start + _ROUTE_BLOCK] = quantizer.search(
            data[start:start + _ROUTE_BLOCK], k)

    with ThreadPoolExecutor(_workers()) as pool:
        list(pool.map(route_block, range(0, data.shape[0], _ROUTE_BLOCK)))
    return sims, ids


def _centroid_distances(centroids: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|c_a - c_b| for index arrays a, b (entries of b may be -1: distance 0), without a row per pair."""
    b_ok = np.maximum(b, 0)
    if len(centroids) <= 8192:  # the Gram matrix is at most 256 MiB
        gram = centroids @ centroids.T
        sq = np.diag(gram)[a] + np.diag(gram)[b_ok] - 2.0 * gram[a, b_ok]
    else:  # few distinct cell pairs: compute each once
        keys, inverse = np.unique(a.astype(np.int64) * len(centroids) + b_ok, return_inverse=True)
        ua, ub = keys // len(centroids), keys % len(centroids)
        diff_sq = np.empty(len(keys), np.float32)
        for start in range(0, len(keys), 1 << 16):
            d = centroids[ua[start:start + (1 << 16)]] - centroids[ub[start:start + (1 << 16)]]
            diff_sq[start:start + len(d)] = np.einsum("ij,ij->i", d, d)
        sq = diff_sq[inverse.reshape(-1)]
    return np.where(b >= 0, np.sqrt(np.maximum(sq, 0.0)), 0.0).astype(np.float32)


def _ivf_self_join(data: np.ndarray, threshold: float, *, nprobe: int, nlist: int | None, seed: int,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, JoinStats]:
    """Pairs above `threshold` by routing to centroids and joining cells with BLAS (module docstring)."""
    n = data.shape[0]
    lists = nlist or min(round(_JOIN_LISTS_PER_SQRT_N * math.sqrt(n)), n // _JOIN_TARGET_LIST)
    lists = max(1, min(lists, n // _JOIN_MIN_LIST))
    centroids = train_centroids(data, lists, seed=seed)
    n_cells = len(centroids)
    # One centroid more than may be probed, to tell whether the cap cut a vector short.
    sims, ids = _route(data, centroids, nprobe + 1)
    home = ids[:, 0]

    # Which extra cells each vector probes: gap to its own cell within half the bound
    # (module docstring), nearest first, at most nprobe - 1 of them. The cap is the one
    # place where a pair can be lost, so the vectors it cut short are counted.
    half_bound = 0.5 * math.sqrt(max(0.0, 2.0 - 2.0 * threshold))
    cols = ids.shape[1] - 1
    probe_q = np.repeat(np.arange(n, dtype=np.int64), cols)
    probe_cell = ids[:, 1:].reshape(-1)
    gap = (sims[:, :1] - sims[:, 1:]).reshape(-1)
    dist = _centroid_distances(centroids, np.repeat(home, cols), probe_cell)
    probe = ((probe_cell >= 0) & (gap <= half_bound * dist + 1e-6)).reshape(n, cols)
    allowed = min(cols, nprobe - 1)
    capped = int(np.count_nonzero(probe[:, allowed:].any(axis=1))) if allowed < cols else 0
    probe[:, allowed:] = False
    probe = probe.reshape(-1)
    probe_q, probe_cell = probe_q[probe], probe_cell[probe]

    order = np.argsort(home, kind="stable")
    starts = np.searchsorted(home[order], np.arange(n_cells + 1))
    by_cell = np.argsort(probe_cell, kind="stable")
    probe_q = probe_q[by_cell]
    probe_starts = np.searchsorted(probe_cell[by_cell], np.arange(n_cells + 1))

    thr = np.float32(threshold)

    def join_cells(cells: range) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        found = []
        for cell in cells:
            members = order[starts[cell]:starts[cell + 1]]
            if len(members) == 0:
                continue
            block = data[members]
            own = block @ block.T
            r, c = np.nonzero(own >= thr)
            upper = r < c
            if upper.any():
                found.append((members[r[upper]], members[c[upper]], own[r[upper], c[upper]]))
            visitors = probe_q[probe_starts[cell]:probe_starts[cell + 1]]
            if len(visitors):
                cross_sims = data[visitors] @ block.T
                r, c = np.nonzero(cross_sims >= thr)
                if len(r):
                    found.append((visitors[r], members[c], cross_sims[r, c]))
        return found

    chunks = [range(a, min(a + 64, n_cells)) for a in range(0, n_cells, 64)]
    with ThreadPoolExecutor(_workers()) as pool:
        results = [pair for found in pool.map(join_cells, chunks) for pair in found]
    out_i = [r[0] for r in results]
    out_j = [r[1] for r in results]
    out_s = [r[2] for r in results]
    stats = JoinStats(kind="ivf", n=n, nlist=n_cells, extra_probes_per_vector=len(probe_q) / n,
                      capped_vectors=capped)
    if not out_i:
        empty = np.zeros(0, np.int64)
        return empty, empty.copy(), np.zeros(0, np.float32), stats
    i, j, s = _unique_pairs(np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_s), n)
    return i, j, s, stats
