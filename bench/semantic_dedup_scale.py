"""Semantic dedup at scale: the `dedup_semantic` pair search on precomputed embeddings.

    python bench/semantic_dedup_scale.py                      # 10k, 100k, 1M; brute force at 10k, 100k
    python bench/semantic_dedup_scale.py --sizes 10000,30000 --baseline-sizes 10000   # quick

Data: synthetic 384-d L2-normalised vectors shaped like sentence embeddings of a topical
corpus (n/500 topics; items of a topic have cosine ~0.55, unrelated items ~0) with planted
near-duplicate groups: 1% of the items are sources with one to three noisy copies each
(cosine 0.93-0.99 to the source). Timed: exactly what `SemanticDedup.verdicts_for_vectors`
runs before building verdicts, with the stage's default config (threshold 0.9,
exact_max_items 20,000, nprobe 8): `similar_pairs` (exact faiss range search up to 20k
vectors, the IVF self-join above) and union-find grouping. The baseline is brute force:
every pair scored by blocked matrix products (upper-triangle blocks only), same grouping.

Each measurement runs in its own process, so "peak RSS" (getrusage) is that
measurement's, input vectors included. Printed per run: seconds (wall and CPU), peak
RSS, pairs found, recall of planted pairs (found as a direct pair / put in one group), and
at sizes with a baseline, recall against the brute-force pair set; then the growth ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

DIM = 384


def planted(n: int, seed: int = 0, dup_rate: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """(vectors, planted source/copy index pairs). Built in place in chunks: peak ~ the output."""
    rng = np.random.default_rng(seed)
    n_topics = max(10, n // 500)
    centres = rng.standard_normal((n_topics, DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    n_src = max(1, int(n * dup_rate))
    copies = rng.integers(1, 4, size=n_src)
    n_copies = int(copies.sum())
    order = rng.permutation(n)
    copy_pos, base_pos = order[:n_copies], order[n_copies:]
    x = np.empty((n, DIM), np.float32)
    step = 1 << 17
    for s in range(0, len(base_pos), step):
        rows = base_pos[s:s + step]
        topic = rng.integers(0, n_topics, size=len(rows))
        noise = rng.standard_normal((len(rows), DIM), dtype=np.float32) / np.float32(np.sqrt(DIM))
        v = np.float32(np.sqrt(0.55)) * centres[topic] + np.float32(np.sqrt(0.45)) * noise
        x[rows] = v / np.linalg.norm(v, axis=1, keepdims=True)
    sources = rng.choice(base_pos, size=n_src, replace=False)
    src_of = np.repeat(sources, copies)
    for s in range(0, n_copies, step):
        rows, src = copy_pos[s:s + step], src_of[s:s + step]
        eps = rng.uniform(0.15, 0.35, size=len(rows)).astype(np.float32)[:, None]
        v = x[src] + eps * rng.standard_normal((len(rows), DIM), dtype=np.float32) / np.float32(np.sqrt(DIM))
        x[rows] = v / np.linalg.norm(v, axis=1, keepdims=True)
    pairs = np.stack([np.minimum(src_of, copy_pos), np.maximum(src_of, copy_pos)], axis=1)
    return x, pairs


def brute_force_pairs(x: np.ndarray, threshold: float, block: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Every pair i < j with cosine >= threshold: blocked x @ x.T, upper-triangle blocks only."""
    out_i, out_j = [], []
    for a in range(0, len(x), block):
        xa = x[a:a + block]
        for b in range(a, len(x), block):
            sims = xa @ x[b:b + block].T
            r, c = np.nonzero(sims >= np.float32(threshold))
            r, c = r + a, c + b
            keep = r < c
            out_i.append(r[keep])
            out_j.append(c[keep])
    return np.concatenate(out_i), np.concatenate(out_j)


def measure(n: int, method: str, seed: int, pairs_out: str) -> dict:
    """One measurement (in a child process): generate, time the pair search + grouping, report."""
    from benchsmith.index.groups import UnionFind, groups_from_pairs
    from benchsmith.index.neighbours import similar_pair_arrays
    from benchsmith.verifiers.dedup import SemanticDedupConfig

    x, planted_pairs = planted(n, seed)
    cfg = SemanticDedupConfig()
    stats = None
    t0, c0 = time.perf_counter(), time.process_time()
    if method == "stage":
        i, j, _, stats = similar_pair_arrays(x, cfg.threshold, kind=cfg.index, exact_max=cfg.exact_max_items,
                                             nprobe=cfg.nprobe, seed=seed)
    else:
        i, j = brute_force_pairs(x, cfg.threshold)
    groups = groups_from_pairs(n, zip(i.tolist(), j.tolist()))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    np.save(pairs_out, np.stack([i, j], axis=1))

    found = set(zip(i.tolist(), j.tolist()))
    direct = sum((int(a), int(b)) in found for a, b in planted_pairs) / len(planted_pairs)
    uf = UnionFind(n)
    for g in groups:
        for m in g[1:]:
            uf.union(g[0], m)
    grouped = sum(uf.find(int(a)) == uf.find(int(b)) for a, b in planted_pairs) / len(planted_pairs)
    return {"n": n, "method": method, "wall_s": wall, "cpu_s": cpu, "pairs": len(found), "groups": len(groups),
            "planted_pair_recall": direct, "planted_group_recall": grouped,
            "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
            "path": stats.kind if stats else "brute", "nlist": stats.nlist if stats else 0,
            "extra_probes": stats.extra_probes_per_vector if stats else 0.0,
            "capped": stats.capped_vectors if stats else 0}


def run_child(n: int, method: str, seed: int, tmp: Path) -> tuple[dict, Path]:
    pairs_out = tmp / f"{method}-{n}.npy"
    cmd = [sys.executable, __file__, "--child", f"{n}:{method}", "--seed", str(seed), "--pairs-out", str(pairs_out)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"measurement {method} at {n:,} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), pairs_out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated pool sizes")
    ap.add_argument("--baseline-sizes", default="10000,100000", help="sizes that also run brute force")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--pairs-out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        n, method = args.child.split(":")
        print(json.dumps(measure(int(n), method, args.seed, args.pairs_out)))
        return

    sizes = [int(s) for s in args.sizes.split(",") if s]
    base_sizes = {int(s) for s in args.baseline_sizes.split(",") if s}
    print(f"semantic dedup on {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"threshold 0.9, nprobe 8, exact up to 20,000 (dedup_semantic defaults)")
    header = (f"{'n':>10} {'method':>11} {'path':>5} {'wall s':>8} {'CPU s':>8} {'peak RSS':>9} {'pairs':>8} "
              f"{'planted':>8} {'grouped':>8} {'vs brute':>9}")
    print(header)
    results: dict[tuple[int, str], dict] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for n in sizes:
            methods = ["stage"] + (["brute"] if n in base_sizes else [])
            pair_files = {}
            for method in methods:
                results[(n, method)], pair_files[method] = run_child(n, method, args.seed, tmp)
            vs = ""
            if "brute" in pair_files:
                truth = {tuple(p) for p in np.load(pair_files["brute"]).tolist()}
                got = {tuple(p) for p in np.load(pair_files["stage"]).tolist()}
                vs = f"{len(truth & got) / max(1, len(truth)):.4f}"
            for method in methods:
                r = results[(n, method)]
                print(f"{n:>10,} {method:>11} {r['path']:>5} {r['wall_s']:8.2f} {r['cpu_s']:8.2f} "
                      f"{r['peak_rss_gib']:7.2f}Gi {r['pairs']:8,} {r['planted_pair_recall']:8.4f} "
                      f"{r['planted_group_recall']:8.4f} {vs if method == 'stage' else '':>9}", flush=True)
            r = results[(n, "stage")]
            if r["path"] == "ivf":
                print(f"{'':>10} {'':>11} IVF self-join: {r['nlist']:,} cells, {r['extra_probes']:.2f} extra cells "
                      f"probed per vector, {r['capped']:,} vectors hit the nprobe cap")
    print()
    stage_sizes = sorted(n for n, m in results if m == "stage")
    for a, b in pairwise(stage_sizes):
        ra, rb = results[(a, "stage")], results[(b, "stage")]
        print(f"growth {b:,}/{a:,} ({b / a:.0f}x items; quadratic would be {(b / a) ** 2:.0f}x): "
              f"wall {rb['wall_s'] / ra['wall_s']:.1f}x, CPU {rb['cpu_s'] / ra['cpu_s']:.1f}x")
    for n in sorted(base_sizes):
        if (n, "brute") in results and (n, "stage") in results:
            rs, rb = results[(n, "stage")], results[(n, "brute")]
            print(f"at {n:,}: brute force {rb['wall_s']:.1f}s vs stage {rs['wall_s']:.1f}s "
                  f"({rb['wall_s'] / rs['wall_s']:.1f}x faster)")
    if (1_000_000, "stage") in results:
        r = results[(1_000_000, "stage")]
        ok = r["wall_s"] < 180 and r["peak_rss_gib"] < 8
        print(f"budget at 1,000,000 (< 180 s, < 8 GiB): {r['wall_s']:.1f} s, {r['peak_rss_gib']:.2f} GiB -> "
              f"{'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
