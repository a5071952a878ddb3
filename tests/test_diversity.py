"""Diversity selection: balanced over clusters, best-scored first inside them, sane report, deterministic."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from benchsmith.diversity import cluster_labels, render_diversity_markdown, select_diverse
from benchsmith.records import Item, Lineage, Verdict

LIN = Lineage(generator="test")
TOPICS = [
    ("fruit", ["apple", "banana", "orchard", "ripe"], 120),
    ("engines", ["piston", "engine", "torque", "cylinder"], 40),
    ("music", ["violin", "cello", "sonata", "orchestra"], 12),
    ("astronomy", ["planet", "orbit", "telescope", "comet"], 8),
]


def planted(seed: int = 0, spread: float = 0.35):
    """Items in four topic clusters of very unequal size, with judge scores 1-5."""
    rng = np.random.default_rng(seed)
    items, vectors, topic_of = [], [], []
    for t, (_, words, size) in enumerate(TOPICS):
        centre = rng.standard_normal(64)
        for i in range(size):
            v = centre + spread * rng.standard_normal(64)
            vectors.append(v / np.linalg.norm(v))
            prompt = f"Question {t}.{i}: what about the {words[i % 4]} and the {words[(i + 1) % 4]}?"
            item = Item.create(prompt=prompt, reference_answer="a", lineage=LIN)
            score = float(rng.integers(1, 6))
            items.append(item.with_verdict(Verdict(stage="llm_judge", passed=True, score=score, ranks_quality=True)))
            topic_of.append(t)
    return items, np.array(vectors, np.float32), topic_of


def counts_by_topic(items: list[Item], chosen: list[Item], topic_of: list[int]) -> Counter:
    where = {it.id: t for it, t in zip(items, topic_of)}
    return Counter(where[it.id] for it in chosen)


def test_selection_is_balanced_over_unequal_clusters() -> None:
    items, vectors, topic_of = planted()
    result = select_diverse(items, vectors, 48, seed=0, n_clusters=4)
    assert len(result.selected) == 48 and len(result.surplus) == len(items) - 48
    got = counts_by_topic(items, result.selected, topic_of)
    # Water-filling: the two small topics are taken whole, the big ones share the rest
    # about evenly (top-score selection would take ~33 fruit items of 48).
    assert got[3] == 8 and got[2] == 12
    assert abs(got[0] - got[1]) <= 4 and got[0] <= 16
    top_score = sorted(items, key=lambda it: -it.quality_score())[:48]
    assert counts_by_topic(items, top_score, topic_of)[0] > got[0]
    # Input order is kept in both lists, and they partition the items.
    assert [it.id for it in result.selected] == [it.id for it in items if it in result.selected]
    assert {it.id for it in result.selected} | {it.id for it in result.surplus} == {it.id for it in items}


def test_higher_scores_preferred_inside_a_cluster() -> None:
    items, vectors, topic_of = planted()
    result = select_diverse(items, vectors, 48, seed=0, n_clusters=4)
    chosen = {it.id for it in result.selected}
    for t in (0, 1):  # the clusters that were not taken whole
        members = [it for it, tt in zip(items, topic_of) if tt == t]
        worst_in = min(it.quality_score() for it in members if it.id in chosen)
        best_out = max(it.quality_score() for it in members if it.id not in chosen)
        assert worst_in >= best_out


def test_report_figures_and_labels() -> None:
    items, vectors, topic_of = planted()
    result = select_diverse(items, vectors, 48, seed=0, n_clusters=4)
    report = result.report
    json.dumps(report)  # goes into manifest.json as it is
    assert (report["candidates"], report["selected"], report["n_clusters"]) == (len(items), 48, 4)
    table = {row["cluster"]: row for row in report["clusters"]}
    assert sum(r["size"] for r in table.values()) == len(items)
    assert sum(r["selected"] for r in table.values()) == 48
    # Every cluster is labelled by words of its own topic.
    for row in table.values():
        topic = Counter(topic_of[i] for i, it in enumerate(items) if result.clusters[it.id] == row["cluster"])
        words = TOPICS[topic.most_common(1)[0][0]][1]
        assert row["terms"] and set(row["terms"]) <= set(words), row
    ent = report["entropy"]
    assert ent["max"] == pytest.approx(2.0)
    assert 0 < ent["candidates"] < ent["selected"] <= ent["max"]
    nn = report["mean_nn_distance"]
    assert 0 < nn["candidates"] < nn["selected"] < 2  # the selection is more spread out
    md = render_diversity_markdown(report)
    assert md.startswith("## Topic diversity")
    assert "| Cluster entropy (bits; max 2.0) |" in md
    for row in table.values():
        assert f"| {row['label']} | {row['size']} | {row['selected']} |" in md


def test_deterministic_for_a_seed() -> None:
    items, vectors, _ = planted()
    a = select_diverse(items, vectors, 30, seed=4)
    b = select_diverse(items, vectors, 30, seed=4)
    assert [it.id for it in a.selected] == [it.id for it in b.selected]
    assert a.report == b.report


def test_ties_are_broken_towards_spread() -> None:
    # One cluster, equal scores: the picks should not be the near-identical pair.
    base = np.array([[1.0, 0.0, 0.0], [0.999, 0.045, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    items = [Item.create(prompt=f"q{i}", reference_answer="a", lineage=LIN) for i in range(4)]
    result = select_diverse(items, base, 3, seed=0, n_clusters=1)
    picked = {items.index(it) for it in result.selected}
    assert {2, 3} <= picked and len(picked & {0, 1}) == 1


def test_edge_cases_and_errors() -> None:
    items, vectors, _ = planted()
    everything = select_diverse(items[:10], vectors[:10], 50, seed=0)
    assert len(everything.selected) == 10 and everything.surplus == []
    assert select_diverse([], np.zeros((0, 64), np.float32), 5).selected == []
    with pytest.raises(ValueError, match="one vector per item"):
        select_diverse(items[:3], vectors[:2], 2)
    with pytest.raises(ValueError, match="target"):
        select_diverse(items[:3], vectors[:3], 0)
    # Texts without usable words (stop words, other scripts) still get a table row.
    labels = cluster_labels(["the of and", "法国的首都", "!!!"], np.array([0, 1, 1]), 2)
    assert len(labels) == 2
