"""Contamination of 100,000 items against a 100,000-item reference corpus, embeddings precomputed.

Times the `contamination` stage at its defaults (n-grams + embedding neighbours +
rare-token, number and code-example evidence + the n-gram veto for changed numbers + the
self-calibrated threshold, leave-one-out null included) and, in the same run, the last
version's default (the same without the example signal and the veto), the previous default
(without numbers either, 13-gram threshold 0.03) and the plain rule (n-grams OR cosine >=
0.68, no null, no token statistics), and prints the ratios. Texts are generated word problems of one
style (names, numbers, units from templates); vectors are clustered random unit vectors
handed to the stage by a precomputed "embedder", since embedding 200,000 texts (~90 texts/s
on two cores) is not what is measured here.

    python bench/contamination_scale.py [--items 100000] [--refs 100000] [--warm-runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchsmith.records import Item, Lineage  # noqa: E402
from benchsmith.stages import StageContext  # noqa: E402
from benchsmith.verifiers import contamination  # noqa: E402
from benchsmith.verifiers.contamination import Contamination  # noqa: E402

NAMES = ["Ana", "Ben", "Chen", "Dara", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jon", "Kai", "Lea", "Mo", "Nia", "Oto"]
THINGS = ["apples", "books", "marbles", "tickets", "stamps", "coins", "pencils", "shells", "cards", "bricks"]
TEMPLATES = [
    "{a} has {x} {t}. {b} gives {a} {y} more {t}. How many {t} does {a} have now?",
    "A shop sells {t} at {x} dollars each. {a} buys {y} of them. How much does {a} pay?",
    "{a} reads {x} pages a day. How many days does {a} need for a book of {y} pages?",
    "A tank holds {x} litres and fills at {y} litres per minute. How long does it take to fill?",
    "{a} and {b} share {x} {t} in the ratio {y}:3. How many {t} does {b} get?",
]


class Precomputed:
    """An embedder that returns vectors fixed in advance for known texts."""

    def __init__(self, texts: list[str], vectors: np.ndarray) -> None:
        self.rows = {t: i for i, t in enumerate(texts)}
        self.vectors = vectors

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.vectors[[self.rows[t] for t in texts]]


def make(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        tpl = TEMPLATES[i % len(TEMPLATES)]
        a, b = rng.choice(NAMES, 2, replace=False)
        out.append(f"[{seed}-{i}] " + tpl.format(a=a, b=b, t=rng.choice(THINGS), x=int(rng.integers(2, 5000)),
                                                  y=int(rng.integers(2, 900))))
    return out


def vectors(n: int, rng: np.random.Generator, centroids: np.ndarray) -> np.ndarray:
    home = rng.integers(0, len(centroids), n)
    v = centroids[home] + 0.08 * rng.normal(size=(n, centroids.shape[1])).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def run(stage: Contamination, items: list[Item], ctx: StageContext) -> tuple[float, int]:
    t0 = time.perf_counter()
    verdicts = asyncio.run(stage.verify(items, ctx))
    return time.perf_counter() - t0, sum(not v.passed for v in verdicts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--refs", type=int, default=100_000)
    ap.add_argument("--warm-runs", type=int, default=3, help="warm rounds (each rule's fastest is reported)")
    args = ap.parse_args()
    if args.warm_runs < 2:
        ap.error("--warm-runs must be at least 2 (the first round refills the shared caches)")
    rng = np.random.default_rng(0)
    dim = 384
    centroids = rng.normal(size=(2000, dim)).astype(np.float32)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    refs, texts = make(args.refs, 1), make(args.items, 2)
    embedder = Precomputed(refs + texts, np.vstack([vectors(len(refs), rng, centroids),
                                                    vectors(len(texts), rng, centroids)]))
    lin = Lineage(generator="bench")
    items = [Item.create(prompt=t, reference_answer="", lineage=lin) for t in texts]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "refs.jsonl"
        path.write_text("".join(json.dumps({"prompt": t}) + "\n" for t in refs), encoding="utf-8")
        source = [{"path": str(path), "name": "synthetic"}]
        print(f"# contamination: {len(items):,} items x {len(refs):,} references, embeddings precomputed, "
              f"{os.cpu_count()} CPUs")
        rules = (("plain rule (13-gram 0.03 OR cosine 0.68)",
                  {"embedding_threshold": 0.68, "ngram_threshold": 0.03}),
                 ("previous default (evidence without numbers, 13-gram 0.03)",
                  {"number_weight": 0.0, "ngram_threshold": 0.03, "score_ceiling": 1.35,
                   "example_weight": 0.0, "ngram_number_veto": False}),
                 ("last version's default (no example signal, no n-gram veto)",
                  {"example_weight": 0.0, "ngram_number_veto": False}),
                 ("defaults (evidence + numbers + examples + n-gram veto + self-calibration)", {}))
        cold: dict[str, tuple[float, int, str]] = {}
        contexts: dict[str, StageContext] = {}
        # Cold: each rule gets a fresh workspace and process caches on first use, so the n-gram index and
        # faiss index builds are in its timing.
        for label, params in rules:
            contamination._VECTOR_CACHE.clear()  # cold: the faiss index (and token statistics) built again
            contamination._PROSE_NUMBERS.clear()
            ctx = StageContext(workspace=Path(tmp) / f"ws-{len(cold)}", embedder_factory=lambda: embedder)
            stage = Contamination({"references": source, **params})
            seconds, flagged = run(stage, items, ctx)
            report = stage.report()
            extra = ""
            if report is not None and report.data["corpora"][0].get("null"):
                row = report.data["corpora"][0]
                extra = f"; threshold {row['threshold']} ({row['source']}), null sample {row['queries']}"
            cold[label], contexts[label] = (seconds, flagged, extra), ctx
        # Warm: the rules take turns, `--warm-runs` rounds, and each keeps its fastest run, so that load from
        # other processes (which comes and goes over minutes) weighs on all alike. The first round refills
        # the process caches the last cold run left to one rule (the corpus's faiss index and statistics are
        # shared by all rules), hence at least two rounds.
        warm: dict[str, float] = {}
        for _ in range(args.warm_runs):
            for label, params in rules:
                seconds, _ = run(Contamination({"references": source, **params}), items, contexts[label])
                warm[label] = min(warm.get(label, seconds), seconds)
        figures = {}
        for label, _ in rules:
            seconds, flagged, extra = cold[label]
            figures[label] = (seconds, warm[label], flagged)
            print(f"- {label}: {seconds:.1f}s cold, {warm[label]:.1f}s warm (best of {args.warm_runs}), "
                  f"{flagged:,} flagged{extra}")
        (plain_c, plain_w, _), (old_c, old_w, _), (last_c, last_w, _), (new_c, new_w, _) = figures.values()
        print(f"\nnew / last version's default: {new_c / last_c:.2f}x cold ({new_c - last_c:+.1f}s), "
              f"{new_w / last_w:.2f}x warm ({new_w - last_w:+.1f}s)")
        print(f"new / previous default: {new_c / old_c:.2f}x cold ({new_c - old_c:+.1f}s), "
              f"{new_w / old_w:.2f}x warm ({new_w - old_w:+.1f}s)")
        print(f"new / plain rule: {new_c / plain_c:.2f}x cold ({new_c - plain_c:+.1f}s), "
              f"{new_w / plain_w:.2f}x warm ({new_w - plain_w:+.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
