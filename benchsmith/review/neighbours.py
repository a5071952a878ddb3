"""Nearest neighbours and clusters of queued items, computed once at enqueue time.

The item page shows an item's nearest neighbours among the items of its run (kept,
queued and dropped alike) with their cosine similarity, and the queue filters by
embedding cluster. Both come from the project's own machinery: the sentence embedder
(whose disk cache already holds the vectors semantic dedup computed for the run),
`VectorIndex` for the top-k search, and the diversity selection's MiniBatchKMeans
clustering with its class-based TF-IDF labels. They are stored with the queue entry, so
the pages never embed or search anything.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from benchsmith.records import Item
from benchsmith.review.routing import ROUTE_KEY

if TYPE_CHECKING:
    from benchsmith.embeddings import Embedder

NEIGHBOURS = 5
"""Neighbours kept per queued item."""
SNIPPET_CHARS = 160
"""Prompt characters kept per neighbour: enough to recognise it on the item page."""
MAX_CLUSTERS = 100
"""At most this many clusters per run, however large."""
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Neighbourhood:
    """A queued item's nearest neighbours (JSON-ready, most similar first) and its cluster label."""

    neighbours: list[dict[str, Any]]
    cluster: str | None


def _snippet(text: str) -> str:
    one_line = _SPACE.sub(" ", text).strip()
    return one_line if len(one_line) <= SNIPPET_CHARS else one_line[:SNIPPET_CHARS - 1] + "…"


def _status(item: Item) -> str:
    """What the run did with a neighbour: kept (published or auto-accepted), queued, or dropped (by which stage)."""
    if item.metadata.get(ROUTE_KEY):
        return "queued"
    failed = next((v for v in item.verdicts if not v.passed), None)
    return f"dropped by {failed.stage}" if failed is not None else "kept"


def _cluster_names(pool: Sequence[Item], vectors: np.ndarray, seed: int) -> dict[str, str]:
    """Item id → cluster label ('tank, litres, minutes'), from the diversity selection's clustering."""
    from benchsmith.diversity import select_diverse  # scikit-learn: only when clustering

    if len(pool) < 2:
        return {}
    # Half as many clusters as the diversity selection makes (about 2*sqrt(n)): a review filter is
    # useful when a cluster holds a topic's worth of items.
    k = max(1, min(MAX_CLUSTERS, round(math.sqrt(len(pool)))))
    chosen = select_diverse(pool, vectors, target=len(pool), seed=seed, n_clusters=k)
    labels: dict[int, str] = {}
    seen: dict[str, int] = {}
    for row in chosen.report.get("clusters", []):
        label = str(row.get("label") or f"cluster {row['cluster']}")
        seen[label] = seen.get(label, 0) + 1
        # Two clusters with the same top terms stay apart in the filter.
        labels[int(row["cluster"])] = label if seen[label] == 1 else f"{label} ({seen[label]})"
    return {item_id: labels.get(c, f"cluster {c}")[:200] for item_id, c in chosen.clusters.items()}


def neighbourhoods(queued: Sequence[Item], pool: Sequence[Item], embedder: Embedder, *, k: int = NEIGHBOURS,
                   seed: int = 0) -> dict[str, Neighbourhood]:
    """For each queued item, its `k` most similar other items of `pool` (prompts compared) and its cluster.

    `pool` is what the item is compared against (the run's items); the queued items join it
    if they are not in it. Similarity is the cosine of the all-MiniLM-L6-v2 prompt
    embeddings, as semantic dedup measures it.
    """
    from benchsmith.index.neighbours import VectorIndex

    items: dict[str, Item] = {it.id: it for it in pool}
    for it in queued:
        items.setdefault(it.id, it)
    everything = list(items.values())
    if not queued:
        return {}
    vectors = embedder.encode([it.prompt for it in everything])
    index = VectorIndex(vectors, kind="flat" if len(everything) <= 20_000 else "auto", seed=seed)
    row_of = {it.id: i for i, it in enumerate(everything)}
    query_rows = [row_of[it.id] for it in queued]
    sims, ids = index.search(vectors[query_rows], min(k + 1, len(everything)))
    clusters = _cluster_names(everything, vectors, seed)
    out: dict[str, Neighbourhood] = {}
    for qi, item in enumerate(queued):
        found = []
        for sim, j in zip(sims[qi].tolist(), ids[qi].tolist()):
            if j < 0 or j == row_of[item.id]:
                continue
            other = everything[j]
            found.append({"id": other.id, "similarity": round(float(sim), 4), "prompt": _snippet(other.prompt),
                          "status": _status(other)})
        out[item.id] = Neighbourhood(neighbours=found[:k], cluster=clusters.get(item.id))
    return out
