"""Diversity selection: cluster-balanced choice of the published items, best-judged first.

When more items survive than a suite's target, taking the best-judged ones tends to
publish many variants of the same few topics (the judge likes the same kind of item).
`select_diverse` clusters the items' embeddings (MiniBatchKMeans), then fills the target
in a few rounds, the iterative cluster reweighting of "Diversify and Conquer" (Yu et al.,
2024) adapted to selection without training:

- each round shares its budget among clusters in proportion to a weight: the mean judge
  score of the cluster's remaining items, divided by (1 + items already taken from it);
  after each round the weights are recomputed, so a cluster that has given a lot yields
  to the others and small clusters are emptied before big ones are plundered;
- inside a cluster the best-scored item comes first; among equal scores, the one farthest
  (cosine) from everything selected so far, so near-variants are not taken together.

The report names each cluster by its most distinctive terms (class-based TF-IDF over the
prompts, as BERTopic does) and gives two diversity figures for the candidates and the
selection: the entropy of the cluster distribution, and the mean distance from each
item to its nearest neighbour in the same set. `render_diversity_markdown` turns it into
a dataset-card section.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from benchsmith.records import Item

_ROUNDS = 4
_LABEL_TERMS = 3
_NN_SAMPLE = 5000  # items whose nearest neighbour is measured: the figure is a mean, a sample suffices


@dataclass
class DiversitySelection:
    """The chosen items, the rest, and the report for the manifest and dataset card."""

    selected: list[Item]
    """`target` items (or all of them, if there are fewer), in input order."""
    surplus: list[Item]
    """The other items, in input order."""
    report: dict[str, Any]
    """JSON-ready: clusters table, entropy and nearest-neighbour figures (see `select_diverse`)."""
    clusters: dict[str, int] = field(default_factory=dict)
    """Cluster index of every item, by item id."""


def default_clusters(n: int, target: int) -> int:
    """About 2*sqrt(target) clusters (a handful of items from each), at least 2, at most n and 256."""
    return max(1, min(n, 256, max(2, round(2 * math.sqrt(max(1, target))))))


def select_diverse(items: Sequence[Item], vectors: np.ndarray, target: int, *, seed: int = 0,
                   n_clusters: int | None = None) -> DiversitySelection:
    """Choose `target` of `items` balanced over embedding clusters, preferring higher `quality_score()`.

    `vectors` are the items' L2-normalised embeddings, one row per item. Deterministic for
    a given seed. The report holds `clusters` (a list of {cluster, label, terms, size,
    selected, mean_score}), `entropy` ({candidates, selected, max} in bits), and
    `mean_nn_distance` ({candidates, selected}: mean cosine distance to the nearest other item).
    """
    vecs = np.ascontiguousarray(vectors, dtype=np.float32)
    if vecs.ndim != 2 or len(vecs) != len(items):
        raise ValueError(f"need one vector per item: got shape {vecs.shape} for {len(items)} items")
    if target < 1:
        raise ValueError(f"target must be >= 1, got {target}")
    n = len(items)
    if n == 0:
        return DiversitySelection([], [], _report([], np.zeros(0, int), [], np.zeros(0, bool), vecs, seed, 0, target))
    k = min(n, n_clusters) if n_clusters else default_clusters(n, target)
    if k < 1:
        raise ValueError(f"n_clusters must be >= 1, got {n_clusters}")
    labels = _cluster(vecs, k, seed)
    k = int(labels.max()) + 1
    scores = np.array([it.quality_score() for it in items], np.float64)
    chosen = _choose(vecs, labels, scores, min(target, n), k)
    names = cluster_labels([it.prompt for it in items], labels, k)
    report = _report(items, labels, names, chosen, vecs, seed, k, target)
    return DiversitySelection(
        selected=[it for it, c in zip(items, chosen) if c],
        surplus=[it for it, c in zip(items, chosen) if not c],
        report=report,
        clusters={it.id: int(c) for it, c in zip(items, labels)},
    )


def _cluster(vecs: np.ndarray, k: int, seed: int) -> np.ndarray:
    if k <= 1 or len(vecs) <= 1:
        return np.zeros(len(vecs), np.int64)
    from sklearn.cluster import MiniBatchKMeans

    km = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=min(len(vecs), 2048))
    raw = km.fit_predict(vecs)
    # Renumber by first appearance so that cluster ids are dense and stable in the report.
    _, first = np.unique(raw, return_index=True)
    order = np.argsort(first)
    remap = np.empty(raw.max() + 1, np.int64)
    remap[np.unique(raw)[order]] = np.arange(len(order))
    return cast(np.ndarray, remap[raw])


def _largest_remainder(budget: int, weights: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Integers summing to min(budget, caps.sum()), proportional to weights, none above its cap."""
    alloc = np.zeros(len(weights), np.int64)
    budget = int(min(budget, caps.sum()))
    while budget > 0:
        open_ = (alloc < caps) & (weights > 0)
        if not open_.any():
            open_ = alloc < caps
            w = open_.astype(np.float64)
        else:
            w = np.where(open_, weights, 0.0)
        share = budget * w / w.sum()
        base = np.minimum(np.floor(share).astype(np.int64), caps - alloc)
        rest = budget - int(base.sum())
        # Hand out the remainder by largest fractional part (ties: lower cluster id).
        frac = np.where(open_ & (alloc + base < caps), share - np.floor(share), -1.0)
        for c in np.argsort(-frac, kind="stable")[:rest]:
            if frac[c] >= 0:
                base[c] += 1
        if base.sum() == 0:  # every open cluster is at its cap or weightless: nothing more to give
            break
        alloc += base
        budget -= int(base.sum())
    return alloc


def _choose(vecs: np.ndarray, labels: np.ndarray, scores: np.ndarray, target: int, k: int) -> np.ndarray:
    """Boolean mask of the chosen items (module docstring: rounds of reweighted cluster budgets)."""
    n = len(labels)
    chosen = np.zeros(n, bool)
    if target >= n:
        chosen[:] = True
        return chosen
    lo, hi = scores.min(), scores.max()
    norm = (scores - lo) / (hi - lo) if hi > lo else np.ones(n)
    members = [np.flatnonzero(labels == c) for c in range(k)]
    taken = np.zeros(k, np.int64)
    # Distance of every item to its nearest selected item so far (2 = farther than anything).
    nearest = np.full(n, 2.0, np.float32)
    for r in range(_ROUNDS):
        left = target - int(chosen.sum())
        if left <= 0:
            break
        budget = math.ceil(left / (_ROUNDS - r))
        remaining = np.array([int((~chosen[m]).sum()) for m in members])
        quality = np.array([float(norm[m[~chosen[m]]].mean()) if rem else 0.0
                            for m, rem in zip(members, remaining)])
        # +0.5 keeps a cluster of low-scored items in play: balance first, quality as a tilt.
        weights = (0.5 + quality) / (1.0 + taken)
        for c, count in enumerate(_largest_remainder(budget, weights, remaining)):
            for _ in range(int(count)):
                pick = _best_in_cluster(members[c], chosen, scores, nearest)
                chosen[pick] = True
                taken[c] += 1
                # Only this cluster's distances: picks elsewhere are far away by construction.
                m = members[c]
                nearest[m] = np.minimum(nearest[m], 1.0 - vecs[m] @ vecs[pick])
    left = target - int(chosen.sum())
    if left > 0:  # rounding left a few: best remaining overall
        rest = np.flatnonzero(~chosen)
        chosen[rest[np.lexsort((-nearest[rest], -scores[rest]))[:left]]] = True
    return chosen


def _best_in_cluster(member_ids: np.ndarray, chosen: np.ndarray, scores: np.ndarray, nearest: np.ndarray) -> int:
    """Highest score first; among equal scores, the item farthest from everything selected."""
    cand = member_ids[~chosen[member_ids]]
    top = cand[scores[cand] >= scores[cand].max() - 1e-9]
    return int(top[np.argmax(nearest[top])])


def cluster_labels(texts: Sequence[str], labels: np.ndarray, k: int, *, terms: int = _LABEL_TERMS) -> list[list[str]]:
    """The most distinctive words of each cluster (class-based TF-IDF); [] where none can be found."""
    if k == 0:
        return []
    from sklearn.feature_extraction.text import CountVectorizer

    try:
        counts = CountVectorizer(stop_words="english", max_features=50_000).fit(texts)
    except ValueError:  # no words at all (e.g. only stop words or symbols)
        return [[] for _ in range(k)]
    matrix = counts.transform(texts)
    vocab = counts.get_feature_names_out()
    from scipy import sparse

    onehot = sparse.csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(k, len(labels)))
    per_cluster = np.asarray((onehot @ matrix).todense(), dtype=np.float64)  # (k, vocab) word counts
    tf = per_cluster / np.maximum(per_cluster.sum(axis=1, keepdims=True), 1.0)
    avg_words = per_cluster.sum() / k
    idf = np.log1p(avg_words / np.maximum(per_cluster.sum(axis=0), 1.0))
    ctfidf = tf * idf
    out = []
    for c in range(k):
        best = [i for i in np.argsort(-ctfidf[c], kind="stable")[:terms] if ctfidf[c, i] > 0]
        out.append([str(vocab[i]) for i in best])
    return out


def _entropy_bits(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum() if counts.sum() else np.zeros(0)
    return float(-(p * np.log2(p)).sum()) if len(p) else 0.0


def mean_nn_distance(vecs: np.ndarray, *, seed: int = 0) -> float | None:
    """Mean cosine distance from an item to its nearest other item (on a sample of 5,000); None below 2 items."""
    if len(vecs) < 2:
        return None
    from benchsmith.index.neighbours import VectorIndex

    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(vecs), size=min(len(vecs), _NN_SAMPLE), replace=False))
    sims, ids = VectorIndex(vecs, seed=seed).search(vecs[sample], 2)
    # The nearest hit is usually the item itself; take the best hit that is not.
    other = np.where(ids[:, 0] == sample, sims[:, 1], sims[:, 0])
    return float(np.mean(1.0 - np.clip(other, -1.0, 1.0)))


def _report(items: Sequence[Item], labels: np.ndarray, names: list[list[str]], chosen: np.ndarray,
            vecs: np.ndarray, seed: int, k: int, target: int) -> dict[str, Any]:
    scores = np.array([it.quality_score() for it in items], np.float64)
    table = []
    for c in range(k):
        m = labels == c
        table.append({"cluster": c, "label": ", ".join(names[c]) if names[c] else f"cluster {c}",
                      "terms": names[c], "size": int(m.sum()), "selected": int((m & chosen).sum()),
                      "mean_score": round(float(scores[m].mean()), 4) if m.any() else None})
    pool_counts = np.bincount(labels, minlength=k) if len(labels) else np.zeros(k, int)
    sel_counts = np.bincount(labels[chosen], minlength=k) if chosen.any() else np.zeros(k, int)
    nn_pool, nn_sel = mean_nn_distance(vecs, seed=seed), mean_nn_distance(vecs[chosen], seed=seed)
    return {
        "method": "minibatch_kmeans+cluster_balanced",
        "candidates": len(items),
        "target": target,
        "selected": int(chosen.sum()),
        "n_clusters": k,
        "seed": seed,
        "clusters": table,
        "entropy": {"candidates": round(_entropy_bits(pool_counts), 4),
                    "selected": round(_entropy_bits(sel_counts), 4),
                    "max": round(math.log2(k), 4) if k > 1 else 0.0},
        "mean_nn_distance": {"candidates": None if nn_pool is None else round(nn_pool, 4),
                             "selected": None if nn_sel is None else round(nn_sel, 4)},
    }


def _cell(value: Any) -> str:
    return "–" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def render_diversity_markdown(report: Mapping[str, Any], *, max_rows: int = 30) -> str:
    """A dataset-card section ("## Topic diversity") from a `select_diverse` report."""
    ent, nn = report.get("entropy", {}), report.get("mean_nn_distance", {})
    lines = [
        "## Topic diversity",
        "",
        (f"{report.get('selected', 0)} of {report.get('candidates', 0)} candidate items were selected across "
         f"{report.get('n_clusters', 0)} topic clusters (MiniBatchKMeans over sentence embeddings), balanced "
         "over clusters and best-judged first inside each."),
        "",
        "| Figure | Candidates | Selected |",
        "|---|---:|---:|",
        (f"| Cluster entropy (bits; max {_cell(ent.get('max'))}) | {_cell(ent.get('candidates'))} "
         f"| {_cell(ent.get('selected'))} |"),
        f"| Mean nearest-neighbour cosine distance | {_cell(nn.get('candidates'))} | {_cell(nn.get('selected'))} |",
        "",
        "| Cluster | Top terms | Candidates | Selected |",
        "|---:|---|---:|---:|",
    ]
    rows = sorted(report.get("clusters", []), key=lambda r: (-r.get("size", 0), r.get("cluster", 0)))
    for row in rows[:max_rows]:
        lines.append(f"| {_cell(row.get('cluster'))} | {_cell(row.get('label'))} | {_cell(row.get('size'))} "
                     f"| {_cell(row.get('selected'))} |")
    if len(rows) > max_rows:
        rest = rows[max_rows:]
        lines.append(f"| … | {len(rest)} smaller clusters | {sum(r.get('size', 0) for r in rest)} "
                     f"| {sum(r.get('selected', 0) for r in rest)} |")
    return "\n".join(lines) + "\n"
