"""The IVF self-join behind semantic dedup at scale: same pairs as exact search, planted pairs found."""

from __future__ import annotations

import numpy as np
import pytest

from benchsmith.index.neighbours import VectorIndex, similar_pair_arrays, similar_pairs, train_centroids
from benchsmith.records import Item, Lineage
from benchsmith.verifiers.dedup import SemanticDedup

DIM = 384


def clustered(n: int, *, seed: int = 0, topics: int = 60, dup_sources: int = 150):
    """Topical 384-d unit vectors (same-topic cosine ~0.55) with planted copies (cosine ~0.93-0.99)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((topics, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    noise = rng.standard_normal((n, DIM)).astype(np.float32) / np.sqrt(DIM)
    x = np.sqrt(0.55) * centres[rng.integers(0, topics, n)] + np.sqrt(0.45) * noise
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    sources = rng.choice(n, size=dup_sources, replace=False)
    eps = rng.uniform(0.15, 0.35, size=(dup_sources, 1)).astype(np.float32)
    copies = x[sources] + eps * rng.standard_normal((dup_sources, DIM)).astype(np.float32) / np.sqrt(DIM)
    copies /= np.linalg.norm(copies, axis=1, keepdims=True)
    vectors = np.vstack([x, copies]).astype(np.float32)
    return vectors, {(int(s), n + k) for k, s in enumerate(sources)}


@pytest.fixture(scope="module")
def pool():
    return clustered(30_000)


def test_ivf_self_join_at_30k_finds_planted_pairs(pool) -> None:
    vectors, planted = pool
    i, j, s, stats = similar_pair_arrays(vectors, 0.9, exact_max=5_000)  # lowered: 30k takes the IVF path
    assert stats.kind == "ivf" and stats.nlist > 50
    found = set(zip(i.tolist(), j.tolist()))
    assert planted <= found
    assert ((s >= 0.9) & (s <= 1.0 + 1e-6)).all() and (i < j).all()
    # Routing keeps most vectors in their own cell: the join is far from all-pairs.
    assert stats.extra_probes_per_vector < 4


def test_ivf_self_join_equals_exact_search() -> None:
    vectors, planted = clustered(8_000, seed=9, topics=20, dup_sources=60)
    i, j, s, stats = similar_pair_arrays(vectors, 0.85, kind="ivf")
    exact_i, exact_j, exact_s, exact_stats = similar_pair_arrays(vectors, 0.85, kind="flat")
    assert (stats.kind, exact_stats.kind) == ("ivf", "flat")
    assert set(zip(i.tolist(), j.tolist())) == set(zip(exact_i.tolist(), exact_j.tolist())) >= planted
    assert np.allclose(s, exact_s, atol=1e-5)  # both sorted by (i, j)


def test_nprobe_cap_is_the_only_loss_and_is_counted(pool) -> None:
    vectors, planted = pool
    i, j, _, stats = similar_pair_arrays(vectors, 0.9, exact_max=5_000, nprobe=1)
    assert stats.extra_probes_per_vector == 0
    found = set(zip(i.tolist(), j.tolist()))
    missed = planted - found
    # With no neighbouring cells searched, pairs split across cells are lost, and the
    # vectors that needed more cells are reported.
    assert missed and stats.capped_vectors >= len(missed)


def test_semantic_dedup_stage_on_the_ivf_path(pool) -> None:
    vectors, planted = pool
    lin = Lineage(generator="test")
    items = [Item(id=f"q{k}", prompt=f"question {k}", reference_answer="a", lineage=lin) for k in range(len(vectors))]
    verdicts = SemanticDedup({"exact_max_items": 5_000}).verdicts_for_vectors(items, vectors, seed=3)
    dropped = {k for k, v in enumerate(verdicts) if not v.passed}
    assert dropped == {b for _, b in planted}  # no scores: the original (earlier) item is kept
    for a, b in planted:
        assert verdicts[b].reason == "near_duplicate"
        assert verdicts[b].details["duplicate_of"] == items[a].id
        assert verdicts[b].details["similarity"] == pytest.approx(float(vectors[a] @ vectors[b]), abs=1e-5)


def test_deterministic_for_a_seed_and_list_form() -> None:
    vectors, planted = clustered(4_000, seed=5, topics=10, dup_sources=40)
    first = similar_pairs(vectors, 0.9, kind="ivf", seed=1)
    assert first == similar_pairs(vectors, 0.9, kind="ivf", seed=1)
    assert {(a, b) for a, b, _ in first} == planted
    assert all(a < b and 0.9 <= s <= 1.0 + 1e-6 for a, b, s in first)


def test_threshold_is_inclusive_on_both_paths() -> None:
    rng = np.random.default_rng(0)
    far = rng.standard_normal((200, 8)).astype(np.float32)
    far[:, :2] = 0  # orthogonal to the pair below
    far /= np.linalg.norm(far, axis=1, keepdims=True)
    pair = np.array([[1, 0] + [0] * 6, [0.6, 0.8] + [0] * 6], np.float32)
    vectors = np.vstack([pair, far])
    sim = float(vectors[0] @ vectors[1])
    for kind in ("flat", "ivf"):
        got = {(a, b) for a, b, _ in similar_pairs(vectors, sim, kind=kind)}
        assert (0, 1) in got, kind


def test_train_centroids_and_index_errors() -> None:
    vectors, _ = clustered(3_000, seed=2, topics=8, dup_sources=0)
    centroids = train_centroids(vectors, 40, seed=0)
    assert 30 <= len(centroids) <= 50 and centroids.dtype == np.float32
    with pytest.raises(ValueError, match="threshold"):
        similar_pair_arrays(vectors, 1.2)
    with pytest.raises(ValueError, match="nprobe"):
        similar_pair_arrays(vectors, 0.9, nprobe=0)
    with pytest.raises(ValueError, match="2-D"):
        similar_pair_arrays(vectors[0], 0.9)
    i, j, s, stats = similar_pair_arrays(vectors[:1], 0.5)
    assert len(i) == len(j) == len(s) == 0 and stats.n == 1
    # VectorIndex keeps its API: batched kNN search with IVF above exact_max.
    index = VectorIndex(vectors, exact_max=1_000)
    assert index.kind_used == "ivf"
    sims, ids = index.search(vectors[:5], 1, batch=2)
    assert ids[:, 0].tolist() == [0, 1, 2, 3, 4] and np.allclose(sims[:, 0], 1.0, atol=1e-5)
