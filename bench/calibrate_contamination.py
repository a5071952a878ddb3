"""Contamination calibration at corpus scale (run by bench/calibrate.py, or alone).

For every corpus of bench/contamination_set.py and every reference fold, the
`contamination` stage itself scores each labelled case against the whole reference part.
One run per (rarity weight, number weight) extracts the evidence (a fixed, tiny score threshold makes every
verdict carry its best evidence score); thresholds are then swept over those figures, with
the self-calibrated threshold recomputed from each corpus's own null exactly as the stage
computes it. Defaults are chosen on the `tune` half; the `heldout` half is reported, and
finally the stage is run as configured by default and its figures printed.

Targets at the defaults: recall 100% on (a) copies, >= 95% on (b) rephrasings, false
positives <= 0.5% on (c) distinct problems of the same benchmark.

    python bench/calibrate_contamination.py [--workspace .benchsmith] [--corpus humaneval] [--no-tune]
        [--seed N] [--show] [--no-compare] [--set FIELD=VALUE ...]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
from contamination_set import SEED, CorpusSet, build_all  # noqa: E402

from benchsmith.embeddings import Embedder  # noqa: E402
from benchsmith.records import Item, Lineage  # noqa: E402
from benchsmith.references import load_reference  # noqa: E402
from benchsmith.stages import StageContext  # noqa: E402
from benchsmith.verifiers.contamination import Contamination, ContaminationConfig, corpus_evidence  # noqa: E402

TARGETS = {"copy": 1.0, "rephrase": 0.95, "distinct": 0.005}
GROUPS = ("copy", "rephrase", "distinct", "variant", "duplicate", "outside")
"""Share flagged per group: (a) copy, (b) rephrase, (c) distinct carry the targets; look-alikes
(`variant`), in-corpus duplicates set apart from (c) (`duplicate`) and HumanEval positives outside
the (b) definition (`outside`) are reported with no target (bench/contamination_set.py)."""
GRID = {"rarity_weight": (0.5, 0.7), "number_weight": (0.0, 0.2, 0.3), "null_quantile": (0.995, 0.999),
        "null_margin": (0.025, 0.05), "score_ceiling": (1.45, 1.55),
        "ngram_threshold": (0.1, 0.2, 0.3)}


def _default(name: str) -> Any:
    return ContaminationConfig.model_fields[name].default


@dataclass
class Scored:
    """One labelled case's figures from a stage run."""

    corpus: str
    fold: int
    group: str
    kind: str
    split: str
    ngram: float
    evidence: float
    flagged: bool
    text: str = ""
    details: dict[str, Any] | None = None


def reference_files(cs: CorpusSet, root: Path) -> list[Path]:
    """Each fold's references as a JSONL file (stable content, so the stage's caches are reused)."""
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for f, refs in enumerate(cs.folds):
        path = root / f"{cs.name}-fold{f}.jsonl"
        body = "".join(json.dumps({"prompt": t}, ensure_ascii=False) + "\n" for t in refs)
        if not path.exists() or path.read_text(encoding="utf-8") != body:
            path.write_text(body, encoding="utf-8")
        out.append(path)
    return out


def run_stage(cs: CorpusSet, files: list[Path], params: dict[str, Any], ctx: StageContext,
              ) -> tuple[list[Scored], list[dict[str, Any]]]:
    """The stage on every fold's cases; the scored cases and the stage's per-fold reports."""
    lin = Lineage(generator="calibration")
    scored, reports = [], []
    for f, (path, cases) in enumerate(zip(files, cs.cases)):
        stage = Contamination({"references": [{"path": str(path), "name": cs.name}], **params})
        items = [Item.create(prompt=c.text, reference_answer="", lineage=lin) for c in cases]
        verdicts = asyncio.run(stage.verify(items, ctx))
        report = stage.report()
        reports.append(report.data["corpora"][0] if report else {})
        for c, v in zip(cases, verdicts):
            scored.append(Scored(cs.name, f, c.group, c.kind, c.split, float(v.details.get("ngram_score") or 0.0),
                                 float(v.details.get("evidence_score") or 0.0), not v.passed, c.text, v.details))
    return scored, reports


def rates(rows: list[Scored], flags: np.ndarray) -> dict[str, tuple[float, int]]:
    """Share flagged per group: recall for copy/rephrase, false-positive rate for distinct/variant."""
    out = {}
    groups = np.array([r.group for r in rows])
    for g in GROUPS:
        m = groups == g
        if m.any():
            out[g] = (float(flags[m].mean()), int(m.sum()))
    return out


def sweep(sets: list[CorpusSet], files: dict[str, list[Path]], ctx: StageContext, embedder: Embedder,
          ) -> dict[str, Any]:
    """Choose the weights, null quantile, margin, ceiling and n-gram threshold on the `tune` half."""
    base = {"score_threshold": 1e-6, "embedding_threshold": None}
    candidates = []
    for weight, nweight in itertools.product(GRID["rarity_weight"], GRID["number_weight"]):
        feats: dict[str, list[Scored]] = {}
        for cs in sets:
            feats[cs.name], _ = run_stage(cs, files[cs.name],
                                          {**base, "rarity_weight": weight, "number_weight": nweight}, ctx)
        for q, margin, ceiling, ng in itertools.product(GRID["null_quantile"], GRID["null_margin"],
                                                        GRID["score_ceiling"], GRID["ngram_threshold"]):
            params = {"rarity_weight": weight, "number_weight": nweight, "null_quantile": q, "null_margin": margin,
                      "score_ceiling": ceiling, "ngram_threshold": ng}
            per_corpus = {}
            for cs in sets:
                rows = [r for r in feats[cs.name] if r.split == "tune"]
                flags = flags_at(cs, files[cs.name], rows, params, embedder, ctx.random_seed)
                per_corpus[cs.name] = rates(rows, flags)
            candidates.append((params, per_corpus))
    # Most (corpus, target) pairs met on the tune half first (copy recall 100%, rephrase recall >= 95%,
    # distinct FPR <= 0.5%), then copy recall, then the lowest worst-case FPR, then the best mean rephrase
    # recall (ties: the later in the grid). No setting meets every target on HumanEval (its prose
    # paraphrases need the judge), so "best worst-case rephrase recall" would let HumanEval pick settings
    # that cost MathQA its false-positive rate.
    def key(entry: tuple[dict[str, Any], dict[str, dict[str, tuple[float, int]]]]) -> tuple[float, ...]:
        _, pc = entry
        met = sum(int(r["copy"][0] >= TARGETS["copy"]) + int(r["rephrase"][0] >= TARGETS["rephrase"])
                  + int(r.get("distinct", (0.0, 0))[0] <= TARGETS["distinct"]) for r in pc.values())
        copy = min(r["copy"][0] for r in pc.values())
        reph = [r["rephrase"][0] for r in pc.values()]
        worst_fpr = max(r.get("distinct", (0.0, 0))[0] for r in pc.values())
        return (float(met), copy, -worst_fpr, float(np.mean(reph)))
    best = max(candidates, key=key)
    print("\n#### Tuning: the best settings on the tune half\n")
    print("| rarity_weight | number_weight | null_quantile | null_margin | score_ceiling | ngram_threshold | corpus "
          "| copy recall | rephrase recall | distinct FPR |")
    print("|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for params, pc in sorted(candidates, key=key, reverse=True)[:5]:
        for name, r in pc.items():
            print(f"| {params['rarity_weight']} | {params['number_weight']} | {params['null_quantile']} | "
                  f"{params['null_margin']} | {params['score_ceiling']} | {params['ngram_threshold']} | {name} | {r['copy'][0]:.3f} | {r['rephrase'][0]:.3f} | "
                  f"{r.get('distinct', (float('nan'), 0))[0]:.4f} |")
    return best[0]


def flags_at(cs: CorpusSet, files: list[Path], rows: list[Scored], params: dict[str, Any], embedder: Embedder,
             seed: int) -> np.ndarray:
    """What the stage would flag with `params`: n-gram OR evidence >= the fold's self-calibrated threshold."""
    stage = Contamination({"references": ["humaneval"], **params})
    settings = stage.null_settings(seed)
    thresholds = {}
    for f, path in enumerate(files):
        from benchsmith.references import ReferenceSource

        corpus = load_reference(ReferenceSource(path=path, name=cs.name))
        thresholds[f] = corpus_evidence(corpus, embedder, seed).threshold(settings)[0].value
    return np.array([r.ngram >= params["ngram_threshold"] or r.evidence >= thresholds[r.fold] for r in rows])


def print_results(title: str, sets: list[CorpusSet], scored: dict[str, list[Scored]],
                  reports: dict[str, list[dict[str, Any]]], split: str) -> None:
    print(f"\n#### {title} ({split} half)\n")
    print("| corpus | references | threshold (source) | (a) copy recall | (b) rephrase recall | (c) distinct FPR "
          "| look-alikes flagged | in-corpus duplicates flagged | outside (b) found |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for cs in sets:
        rows = [r for r in scored[cs.name] if r.split == split]
        flags = np.array([r.flagged for r in rows])
        rt = rates(rows, flags)
        reps = reports[cs.name]
        values = sorted({float(r["threshold"]) for r in reps if r})
        sources = ", ".join(sorted({str(r.get("source")) for r in reps if r}))
        thr = (f"{values[0]:g}" if len(values) == 1 else f"{values[0]:g}–{values[-1]:g}") + f" ({sources})" \
            if values else "–"
        refs = "/".join(str(len(f)) for f in cs.folds[:2]) if len(cs.folds) > 1 else str(len(cs.folds[0]))

        def cell(g: str, rt: dict[str, tuple[float, int]] = rt) -> str:
            return f"{rt[g][0]:.3f} (n={rt[g][1]})" if g in rt else "–"
        print(f"| {cs.name} | {refs} | {thr} | {cell('copy')} | {cell('rephrase')} | {cell('distinct')} | "
              f"{cell('variant')} | {cell('duplicate')} | {cell('outside')} |")
    print("\nBy kind (share flagged):\n")
    for cs in sets:
        rows = [r for r in scored[cs.name] if r.split == split]
        total: Counter[str] = Counter()
        hit: Counter[str] = Counter()
        for r in rows:
            total[f"{r.group}/{r.kind}"] += 1
            hit[f"{r.group}/{r.kind}"] += int(r.flagged)
        print(f"- {cs.name}: " + ", ".join(f"{k} {hit[k] / total[k]:.2f} (n={total[k]})" for k in sorted(total)))
    print("\nNull distributions (leave-one-out best evidence score / cosine of sampled references):\n")
    for cs in sets:
        for f, r in enumerate(reports[cs.name]):
            if r:
                print(f"- {cs.name} fold {f}: {r['references']} references, {r['queries']} sampled, "
                      f"{r['copies_skipped']} near-copy neighbours skipped; {json.dumps(r['null'])}; "
                      f"threshold {r['threshold']} ({r['source']}: {r['note']})")


def show_errors(sets: list[CorpusSet], scored: dict[str, list[Scored]], split: str) -> None:
    """Print every miss of (a)/(b) and every false positive of (c) with its figures (for reading by hand)."""
    print(f"\n#### Misses and false positives ({split} half)\n")
    for cs in sets:
        for r in scored[cs.name]:
            if r.split != split:
                continue
            miss = r.group in ("copy", "rephrase") and not r.flagged
            false_pos = r.group == "distinct" and r.flagged
            if not (miss or false_pos):
                continue
            d = r.details or {}
            print(f"- {cs.name} fold {r.fold} {'MISS' if miss else 'FALSE POSITIVE'} {r.group}/{r.kind}: "
                  f"13-gram {d.get('ngram_score')}, cosine {d.get('embedding_score')}, rare {d.get('rare_overlap')}, "
                  f"numbers {d.get('number_agreement')}, evidence {d.get('evidence_score')} / threshold "
                  f"{d.get('evidence_threshold')}, method {d.get('method')}")
            print(f"    item: {r.text[:400]!r}")
            if false_pos:
                print(f"    matched: {str(d.get('matched_text', ''))[:400]!r}")


def contamination_calibration(workspace: Path, embedder: Embedder, ngram_n: int, only: str | None = None,
                              tune: bool = True, overrides: dict[str, Any] | None = None, seed: int = SEED,
                              show: bool = False, compare: bool = True) -> None:
    """Print the tuning sweep and the held-out figures per corpus (module docstring)."""
    t0 = time.perf_counter()
    sets = [cs for cs in build_all(seed) if only is None or cs.name == only]
    files = {cs.name: reference_files(cs, workspace / "calibration-refs") for cs in sets}
    ctx = StageContext(workspace=workspace, embedder_factory=lambda: embedder)
    print(f"\n### Contamination at corpus scale (seed {seed}; set built in {time.perf_counter() - t0:.1f}s)\n")
    for cs in sets:
        groups = Counter(c.group for c in cs.all_cases())
        cleaning: Counter[str] = Counter()
        for counts in cs.cleaning:
            cleaning.update(counts)
        print(f"- {cs.name}: {len(cs.folds)} reference fold(s) of {', '.join(str(len(f)) for f in cs.folds)} "
              f"entries; cases {dict(groups)}; held-out items by cleaning rule {dict(cleaning)}")
    if tune:
        chosen = sweep(sets, files, ctx, embedder)
        print(f"\nchosen on the tune half: {chosen}")
        print("defaults in the stage: " + ", ".join(f"{k}={_default(k)}" for k in chosen))
    base = {"ngram_n": ngram_n, **(overrides or {})}
    scored, reports = {}, {}
    for cs in sets:
        scored[cs.name], reports[cs.name] = run_stage(cs, files[cs.name], base, ctx)
    for split in ("tune", "heldout"):
        print_results("The `contamination` stage at its defaults", sets, scored, reports, split)
        if show:
            show_errors(sets, scored, split)
    if not compare:
        print(f"\ncontamination calibration: {time.perf_counter() - t0:.1f}s")
        return
    prev = {"ngram_n": ngram_n, "ngram_threshold": 0.03, "number_weight": 0.0, "score_ceiling": 1.35}
    prev_scored, prev_reports = {}, {}
    for cs in sets:
        prev_scored[cs.name], prev_reports[cs.name] = run_stage(cs, files[cs.name], prev, ctx)
    print_results("Previous defaults (evidence without numbers, 13-gram 0.03, ceiling 1.35)", sets, prev_scored,
                  prev_reports, "heldout")
    old = {"ngram_n": ngram_n, "ngram_threshold": 0.03, "embedding_threshold": 0.68}
    old_scored, old_reports = {}, {}
    for cs in sets:
        old_scored[cs.name], old_reports[cs.name] = run_stage(cs, files[cs.name], old, ctx)
    print_results("Plain rule of earlier versions (n-gram 0.03 OR cosine 0.68)", sets, old_scored, old_reports, "heldout")
    print(f"\ncontamination calibration: {time.perf_counter() - t0:.1f}s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workspace", type=Path, default=Path(".benchsmith"))
    ap.add_argument("--ngram-n", type=int, default=_default("ngram_n"))
    ap.add_argument("--corpus", default=None, help="only this corpus (humaneval, strategyqa, mathqa)")
    ap.add_argument("--no-tune", action="store_true", help="skip the sweep; only the figures at the defaults")
    ap.add_argument("--seed", type=int, default=SEED,
                    help=f"seed of the set's splits and edits (default {SEED}); another seed is a fresh split")
    ap.add_argument("--show", action="store_true", help="print every miss and false positive with its figures")
    ap.add_argument("--no-compare", action="store_true", help="skip the earlier rules' figures")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="override a stage setting for the figures 'at the defaults' (JSON value), e.g. "
                         "--set number_weight=0.5; for trying settings on the tune half")
    args = ap.parse_args()
    overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    embedder = Embedder(cache_dir=args.workspace / "embeddings")
    contamination_calibration(args.workspace, embedder, args.ngram_n, args.corpus, tune=not args.no_tune,
                              overrides=overrides, seed=args.seed, show=args.show, compare=not args.no_compare)
    return 0


if __name__ == "__main__":
    sys.exit(main())
