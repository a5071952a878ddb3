"""Exact and semantic dedup: duplicate groups, which member is kept, and the large-pool index path."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from benchsmith.embeddings import Embedder
from benchsmith.index.groups import UnionFind, choose_keepers, groups_from_pairs
from benchsmith.index.neighbours import VectorIndex, similar_pairs
from benchsmith.records import Item, Lineage, Verdict
from benchsmith.stages import StageContext, verifiers
from benchsmith.verifiers.dedup import ExactDedup, SemanticDedup

LIN = Lineage(generator="test")


def make(prompt: str, score: float | None = None, answer: str = "an answer", **kw) -> Item:
    item = Item.create(prompt=prompt, reference_answer=answer, lineage=LIN, **kw)
    if score is not None:
        item = item.with_verdict(Verdict(stage="llm_judge", passed=True, score=score, ranks_quality=True))
    return item


@pytest.fixture(scope="module")
def embedder(tmp_path_factory) -> Embedder:
    return Embedder(cache_dir=tmp_path_factory.mktemp("emb"))


def test_registered_as_set_stages():
    assert verifiers.get("dedup_exact") is ExactDedup and ExactDedup.scope == "set"
    assert verifiers.get("dedup_semantic") is SemanticDedup and SemanticDedup.scope == "set"


# --- exact -----------------------------------------------------------------------------


def test_exact_keeps_best_scored_and_points_to_it():
    items = [
        make("What is 2+2?", score=3.0),
        make("How many legs does a spider have?", score=4.0),
        make("  what is 2 + 2", score=4.5),
        make("WHAT IS 2+2 !!", score=4.5),  # ties the best: the earlier one is kept
        make("Ｗhat  is 2+2？", score=1.0),  # full-width forms normalise away (NFKC)
    ]
    verdicts = asyncio.run(ExactDedup().verify(items, StageContext()))
    assert [v.passed for v in verdicts] == [False, True, True, False, False]
    for i in (0, 3, 4):
        assert verdicts[i].reason == "duplicate_exact"
        assert verdicts[i].details["duplicate_of"] == items[2].id
    assert sorted(verdicts[2].details["duplicates"]) == sorted(items[i].id for i in (0, 3, 4))
    assert verdicts[1].details == {}


def test_exact_without_scores_keeps_first_seen_and_fields_option():
    a = make("Pick one colour.", kind="mcq", choices=["red", "blue"], answer="red")
    b = make("pick one colour", kind="mcq", choices=["green", "blue"], answer="blue")
    by_prompt = asyncio.run(ExactDedup().verify([a, b], StageContext()))
    assert [v.passed for v in by_prompt] == [True, False]
    assert by_prompt[1].details["duplicate_of"] == a.id
    by_choices = asyncio.run(ExactDedup({"fields": ["prompt", "choices"]}).verify([a, b], StageContext()))
    assert [v.passed for v in by_choices] == [True, True]


def test_exact_empty_and_single():
    assert asyncio.run(ExactDedup().verify([], StageContext())) == []
    [v] = asyncio.run(ExactDedup().verify([make("Only one question here?")], StageContext()))
    assert v.passed


# --- union-find / keeper choice ---------------------------------------------------------


def test_union_find_transitive_groups():
    uf = UnionFind(6)
    assert uf.union(0, 1) and uf.union(1, 2) and not uf.union(2, 0)
    uf.union(4, 5)
    assert uf.groups() == [[0, 1, 2], [4, 5]]
    assert groups_from_pairs(3, []) == []


def test_choose_keepers_best_score_then_first():
    items = [make("a question one", 2.0), make("a question two", 5.0), make("a question three", 5.0)]
    [d] = choose_keepers(items, [[2, 0, 1]])
    assert d.keep == 1 and d.drop == (0, 2)


# --- semantic on real MiniLM embeddings --------------------------------------------------

PARAPHRASES = [
    "What is the capital city of France?",
    "What's the capital of France?",
    "Which city is the capital of France?",
]
UNRELATED = [
    "How does photosynthesis store energy in glucose molecules?",
    "Write a Python function that reverses a linked list in place.",
    "What caused the fall of the Western Roman Empire?",
]


def test_semantic_groups_paraphrases_keeps_unrelated(embedder):
    items = [make(PARAPHRASES[0], 3.0), make(UNRELATED[0], 4.0), make(PARAPHRASES[1], 4.0),
             make(UNRELATED[1], 2.0), make(PARAPHRASES[2], 3.5), make(UNRELATED[2], 1.0)]
    ctx = StageContext(embedder_factory=lambda: embedder)
    verdicts = asyncio.run(SemanticDedup().verify(items, ctx))  # default threshold 0.9
    assert [v.passed for v in verdicts] == [False, True, True, True, False, True]
    vecs = embedder.encode(PARAPHRASES)
    for i, para in ((0, 0), (4, 2)):
        v = verdicts[i]
        assert v.reason == "near_duplicate"
        assert v.details["duplicate_of"] == items[2].id  # the best-scored paraphrase
        assert v.details["similarity"] == pytest.approx(float(vecs[para] @ vecs[1]), abs=1e-4)
        assert 0.9 <= v.details["similarity"] <= 1.0
    assert sorted(verdicts[2].details["duplicates"]) == sorted([items[0].id, items[4].id])


def test_semantic_threshold_controls_grouping(embedder):
    items = [make(p) for p in PARAPHRASES]
    ctx = StageContext(embedder_factory=lambda: embedder)
    strict = asyncio.run(SemanticDedup({"threshold": 0.999}).verify(items, ctx))
    assert all(v.passed for v in strict)


def test_semantic_zero_and_one_item_do_not_load_the_model():
    def no_embedder() -> Embedder:
        raise AssertionError("the embedder must not be needed for fewer than two items")

    ctx = StageContext(embedder_factory=no_embedder)
    assert asyncio.run(SemanticDedup().verify([], ctx)) == []
    [v] = asyncio.run(SemanticDedup().verify([make("A single question?")], ctx))
    assert v.passed


# --- large-pool index path with synthetic vectors -----------------------------------------


def _planted(n_random: int, n_dupes: int, dim: int = 32, seed: int = 7):
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n_random, dim)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    sources = rng.choice(n_random, size=n_dupes, replace=False)
    noisy = base[sources] + 0.02 * rng.standard_normal((n_dupes, dim)).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    return np.vstack([base, noisy]), {(int(s), n_random + k) for k, s in enumerate(sources)}


def test_large_pool_uses_ivf_and_finds_planted_duplicates():
    vectors, planted = _planted(600, 25)
    assert VectorIndex(vectors, exact_max=100).kind_used == "ivf"
    assert VectorIndex(vectors, exact_max=10_000).kind_used == "flat"
    ivf_pairs = similar_pairs(vectors, 0.9, exact_max=100, nprobe=2)
    flat_pairs = similar_pairs(vectors, 0.9, kind="flat")
    assert {(a, b) for a, b, _ in flat_pairs} == planted
    assert {(a, b) for a, b, _ in ivf_pairs} == planted

    items = [make(f"synthetic question number {i}") for i in range(len(vectors))]
    stage = SemanticDedup({"threshold": 0.9, "exact_max_items": 100, "nprobe": 2})
    verdicts = stage.verdicts_for_vectors(items, vectors)
    dropped = {i for i, v in enumerate(verdicts) if not v.passed}
    # No scores: the earlier item of each pair (the original) is kept, the copy dropped.
    assert dropped == {b for _, b in planted}
    for a, b in planted:
        assert verdicts[b].details["duplicate_of"] == items[a].id
        assert verdicts[b].details["similarity"] == pytest.approx(float(vectors[a] @ vectors[b]), abs=1e-5)


def test_vector_index_search_and_errors():
    vectors, _ = _planted(50, 0)
    index = VectorIndex(vectors)
    sims, ids = index.search(vectors[:3], k=1)
    assert ids[:, 0].tolist() == [0, 1, 2] and np.allclose(sims[:, 0], 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="dimension"):
        index.search(np.zeros((1, 5), np.float32), k=1)
    with pytest.raises(ValueError, match="threshold"):
        similar_pairs(vectors, 1.5)
    assert similar_pairs(vectors[:1], 0.5) == []


def test_transitive_chain_is_one_group_and_similarity_is_to_the_kept_item():
    # a~b and b~c are above the threshold, a~c is not: still one group (union-find).
    angles = np.radians([0.0, 20.0, 40.0, 90.0])
    vectors = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    items = [make("chain a", 5.0), make("chain b", 1.0), make("chain c", 2.0), make("far away", 1.0)]
    verdicts = SemanticDedup({"threshold": 0.9}).verdicts_for_vectors(items, vectors)
    assert [v.passed for v in verdicts] == [True, False, False, True]
    assert verdicts[2].details["duplicate_of"] == items[0].id
    assert verdicts[2].details["similarity"] == pytest.approx(np.cos(np.radians(40.0)), abs=1e-5)
    assert verdicts[1].details["similarity"] == pytest.approx(np.cos(np.radians(20.0)), abs=1e-5)
    with pytest.raises(ValueError, match="vectors for"):
        SemanticDedup().verdicts_for_vectors(items, vectors[:2])
