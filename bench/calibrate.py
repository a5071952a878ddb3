"""Calibrate dedup and contamination thresholds on the labelled pairs in bench/data/.

Sweeps, on bench/data/calibration_pairs.jsonl (see bench/make_calibration_set.py for
what the labels mean):

1. semantic dedup — cosine similarity (all-MiniLM-L6-v2) of each pair, `qa` + `code` groups;
2. MinHash dedup — estimated Jaccard similarity, same pairs (only when the `dedup_minhash`
   stage is installed);
3. contamination at corpus scale (bench/calibrate_contamination.py): per corpus (HumanEval,
   BIG-bench StrategyQA and MathQA), recall on copies and rephrasings and the false-positive
   rate on distinct problems of the same benchmark, each searched against the whole reference
   corpus, with the self-calibrated thresholds; tuning sweep on one half, figures on the other.

Prints precision / recall / F1 per threshold (markdown tables), the chosen threshold (the
highest whose F1 is within 0.02 of the best) and the figures at the current defaults.

    python bench/calibrate.py [--workspace .benchsmith] [--ngram-n 13] [--seed N] [--no-tune]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchsmith.embeddings import Embedder  # noqa: E402
from benchsmith.references import builtin_path  # noqa: E402
from benchsmith.stages import verifiers  # noqa: E402
from benchsmith.text import normalize_text  # noqa: E402
from benchsmith.verifiers.contamination import ContaminationConfig  # noqa: E402
from benchsmith.verifiers.dedup import SemanticDedupConfig  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from calibrate_contamination import contamination_calibration  # noqa: E402
from contamination_set import SEED  # noqa: E402

DATA = ROOT / "bench" / "data" / "calibration_pairs.jsonl"


def load_pairs() -> list[dict]:
    with gzip.open(builtin_path("humaneval"), "rt", encoding="utf-8") as fh:
        he = {r["task_id"]: r["prompt"] for r in map(json.loads, fh)}
    pairs = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    for p in pairs:
        if p.get("a_ref"):
            p["a"] = he[p["a_ref"]]
        if p.get("b_ref"):
            p["b"] = he[p["b_ref"]]
    return pairs


def prf(pred: np.ndarray, correct: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall, F1. `pred`: flagged; `correct`: flagged for the right reason (right match)."""
    tp = int(np.sum(pred & correct & (labels == 1)))
    flagged = int(np.sum(pred))
    positives = int(np.sum(labels == 1))
    p = tp / flagged if flagged else 1.0
    r = tp / positives if positives else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


F1_MARGIN = 0.02
"""The chosen threshold is the highest one within this much F1 of the best: a few items of
this set should not decide a default, and between near-equal F1s the stricter threshold
drops fewer good items."""


def sweep(name: str, scores: np.ndarray, labels: np.ndarray, thresholds: Sequence[float],
          right_match: np.ndarray | None = None, default: float | None = None) -> float:
    """Print the table; return the chosen threshold (the highest within F1_MARGIN of the best F1)."""
    right = np.ones(len(scores), dtype=bool) if right_match is None else right_match
    rows = []
    for t in thresholds:
        p, r, f = prf(scores >= t, right, labels)
        rows.append((t, p, r, f))
    best_f1 = max(row[3] for row in rows)
    best = max((row for row in rows if row[3] >= best_f1 - F1_MARGIN), key=lambda row: row[0])
    print(f"\n### {name}\n")
    print(f"{int(np.sum(labels == 1))} duplicates / {int(np.sum(labels == 0))} non-duplicates\n")
    print("| threshold | precision | recall | F1 |")
    print("|---:|---:|---:|---:|")
    for t, p, r, f in rows:
        marks = (" **chosen**" if t == best[0] else "") + (" (best F1)" if f == best_f1 else "")
        if default is not None and abs(t - default) < 1e-9:
            marks += " (default)"
        print(f"| {t:.2f} | {p:.3f} | {r:.3f} | {f:.3f} |{marks}")
    if default is not None and not any(abs(t - default) < 1e-9 for t in thresholds):
        p, r, f = prf(scores >= default, right, labels)
        print(f"| {default:.2f} | {p:.3f} | {r:.3f} | {f:.3f} | (default) |")
    return best[0]


def by_kind(name: str, pairs: Sequence[dict], flagged: np.ndarray, right: np.ndarray | None = None) -> None:
    """Recall per duplicate kind and false-positive rate per non-duplicate kind."""
    right = np.ones(len(pairs), dtype=bool) if right is None else right
    hit: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for p, f, ok in zip(pairs, flagged, right):
        key = f"{p['kind']} ({'dup' if p['label'] else 'non-dup'})"
        total[key] += 1
        hit[key] += int(bool(f) and (bool(ok) or not p["label"]))
    print(f"\n{name}, by kind (duplicates: share found; non-duplicates: share wrongly flagged):\n")
    print("| kind | n | flagged |")
    print("|---|---:|---:|")
    for key in sorted(total):
        print(f"| {key} | {total[key]} | {hit[key] / total[key]:.2f} |")


def exact_jaccard(a: str, b: str, k: int) -> float:
    """Jaccard similarity of the sets of k-word shingles of the normalised texts."""
    def shingles(text: str) -> set[tuple[str, ...]]:
        toks = normalize_text(text).split()
        return {tuple(toks[i:i + k]) for i in range(max(1, len(toks) - k + 1))}

    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


def minhash_scorer() -> Callable[[Sequence[tuple[str, str]]], np.ndarray] | None:
    """Estimated Jaccard per pair from the MinHash stage's own signatures, if that stage exists."""
    if "dedup_minhash" not in verifiers:
        return None
    try:
        from benchsmith.verifiers import minhash  # written beside this module; its API is looked up, not assumed
    except ImportError:
        return None
    fn = getattr(minhash, "pair_jaccard", None)
    return fn if callable(fn) else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workspace", type=Path, default=Path(".benchsmith"),
                    help="where the embedding cache and n-gram indexes live")
    ap.add_argument("--ngram-n", type=int, default=ContaminationConfig.model_fields["ngram_n"].default)
    ap.add_argument("--corpus", default=None, help="contamination: only this corpus (humaneval, strategyqa, mathqa)")
    ap.add_argument("--seed", type=int, default=SEED,
                    help=f"contamination: seed of the set's splits and edits (default {SEED}); another is a fresh split")
    ap.add_argument("--no-tune", action="store_true", help="contamination: skip the tuning sweep (~2 min)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    pairs = load_pairs()
    print(f"# calibration on {DATA.relative_to(ROOT)}: {len(pairs)} pairs "
          f"({sum(p['label'] for p in pairs)} duplicates)")
    embedder = Embedder(cache_dir=args.workspace / "embeddings")

    # 1. semantic dedup: pairwise cosine on the qa + code groups.
    dedup = [p for p in pairs if p["group"] in ("qa", "code")]
    labels = np.array([p["label"] for p in dedup])
    va = embedder.encode([p["a"] for p in dedup])
    vb = embedder.encode([p["b"] for p in dedup])
    cos = np.sum(va * vb, axis=1)
    sem_default = SemanticDedupConfig.model_fields["threshold"].default
    best_sem = sweep("Semantic dedup: cosine similarity (qa + code pairs)", cos, labels,
                     np.round(np.arange(0.70, 0.99, 0.02), 2), default=sem_default)
    by_kind(f"Semantic dedup at cosine {best_sem:.2f}", dedup, cos >= best_sem)

    # 2. MinHash, when the stage is there.
    scorer = minhash_scorer()
    if scorer is None:
        # What MinHash estimates, computed exactly: guides its threshold for a given shingle size.
        print("\n(no `dedup_minhash` stage exposing `pair_jaccard`: exact Jaccard of word shingles instead, "
              "which is what MinHash estimates)")
        for k in (3, 5):
            jac = np.array([exact_jaccard(p["a"], p["b"], k) for p in dedup])
            best_j = sweep(f"Exact Jaccard of word {k}-shingles (qa + code pairs)", jac, labels,
                           np.round(np.arange(0.05, 0.96, 0.05), 2))
            by_kind(f"Jaccard ({k}-shingles) at {best_j:.2f}", dedup, jac >= best_j)
    else:
        jac = np.asarray(scorer([(p["a"], p["b"]) for p in dedup]), dtype=float)
        best_mh = sweep("MinHash dedup: estimated Jaccard (qa + code pairs)", jac, labels,
                        np.round(np.arange(0.10, 0.96, 0.05), 2))
        by_kind(f"MinHash at Jaccard {best_mh:.2f}", dedup, jac >= best_mh)

    # 3. contamination at corpus scale: per corpus, copies / rephrasings / distinct problems.
    print(f"\nsemantic dedup: chosen cosine {best_sem:.2f}; {time.perf_counter() - t0:.1f}s so far")
    contamination_calibration(args.workspace, embedder, args.ngram_n, only=args.corpus, tune=not args.no_tune,
                              seed=args.seed)
    print(f"\n{time.perf_counter() - t0:.1f}s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
