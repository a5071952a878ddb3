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
        [--seed N] [--show] [--no-compare] [--grid NAME,...] [--set FIELD=VALUE ...]
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
GRID: dict[str, tuple[Any, ...]] = {
    "rarity_weight": (0.5, 0.7), "number_weight": (0.0, 0.2, 0.3), "example_weight": (0.0, 0.2, 0.3, 0.5),
    "null_quantile": (0.995, 0.999), "null_margin": (0.025, 0.05), "score_ceiling": (1.45, 1.55),
    "ngram_threshold": (0.1, 0.2, 0.3)}
"""`ngram_number_veto` is not swept: it follows from the definition of a test case (a changed number makes
another one), and on the tune half it changes no target (docs/calibration.md); its effect is printed apart."""
STAGE_RUN = ("rarity_weight", "number_weight", "example_weight")
"""Settings that change the evidence of each case (one stage run per combination); the others are applied
to the figures of those runs (thresholds from each corpus's null, the n-gram rule and its veto)."""


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
    set_aside: bool = False
    """The n-gram hit was set aside for changed numbers (`ngram_number_veto`)."""
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
                                 float(v.details.get("evidence_score") or 0.0), not v.passed,
                                 bool(v.details.get("ngram_set_aside")), c.text, v.details))
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
          names: tuple[str, ...] = tuple(GRID)) -> dict[str, Any]:
    """Choose the settings `names` of GRID on the `tune` half (the others stay at the stage's defaults)."""
    unknown = [k for k in names if k not in GRID]
    if unknown:
        raise SystemExit(f"--grid: unknown setting(s) {', '.join(unknown)}; known: {', '.join(GRID)}")
    grid = {k: (GRID[k] if k in names else (_default(k),)) for k in GRID}
    # Every case carries its evidence (a tiny score threshold) and whether its n-gram hit would be set aside
    # (computed for hits at the lowest n-gram threshold swept).
    base = {"score_threshold": 1e-6, "embedding_threshold": None, "ngram_threshold": min(grid["ngram_threshold"]),
            "ngram_number_veto": True}
    rest = [k for k in grid if k not in STAGE_RUN]
    candidates = []
    for run in itertools.product(*(grid[k] for k in STAGE_RUN)):
        weights = dict(zip(STAGE_RUN, run))
        feats: dict[str, list[Scored]] = {}
        for cs in sets:
            feats[cs.name], _ = run_stage(cs, files[cs.name], {**base, **weights}, ctx)
        for values in itertools.product(*(grid[k] for k in rest)):
            params = {**weights, **dict(zip(rest, values))}
            per_corpus = {}
            for cs in sets:
                rows = [r for r in feats[cs.name] if r.split == "tune"]
                flags = flags_at(cs, files[cs.name], rows, params, embedder, ctx.random_seed)
                per_corpus[cs.name] = rates(rows, flags)
            candidates.append((params, per_corpus))
    # Most (corpus, target) pairs met on the tune half first (copy recall 100%, rephrase recall >= 95%,
    # distinct FPR <= 0.5%), then copy recall, then the lowest worst-case FPR, then the best mean rephrase
    # recall (ties: the first in grid order, i.e. the smaller weight, quantile, margin...). No setting meets every target on HumanEval (its prose
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
    print(f"swept on the tune half: {', '.join(names)}; fixed at the defaults: "
          f"{', '.join(k for k in GRID if k not in names) or 'none'}\n")
    print("| " + " | ".join(names) + " | corpus | copy recall | rephrase recall | distinct FPR |")
    print("|" + "---:|" * len(names) + "---|---:|---:|---:|")
    for params, pc in sorted(candidates, key=key, reverse=True)[:8]:
        for name, r in pc.items():
            print("| " + " | ".join(str(params[k]) for k in names) + f" | {name} | {r['copy'][0]:.3f} | "
                  f"{r['rephrase'][0]:.3f} | {r.get('distinct', (float('nan'), 0))[0]:.4f} |")
    return best[0]


def flags_at(cs: CorpusSet, files: list[Path], rows: list[Scored], params: dict[str, Any], embedder: Embedder,
             seed: int) -> np.ndarray:
    """What the stage would flag with `params`: n-gram (unless set aside) OR evidence >= the fold's threshold."""
    stage = Contamination({"references": ["humaneval"], **params})
    settings = stage.null_settings(seed)
    thresholds = {}
    for f, path in enumerate(files):
        from benchsmith.references import ReferenceSource

        corpus = load_reference(ReferenceSource(path=path, name=cs.name))
        thresholds[f] = corpus_evidence(corpus, embedder, seed).threshold(settings)[0].value
    veto = bool(params.get("ngram_number_veto", _default("ngram_number_veto")))
    return np.array([(r.ngram >= params["ngram_threshold"] and not (veto and r.set_aside))
                     or r.evidence >= thresholds[r.fold] for r in rows])


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
                              show: bool = False, compare: bool = True,
                              grid: tuple[str, ...] = tuple(GRID)) -> None:
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
        chosen = sweep(sets, files, ctx, embedder, grid)
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
    for title, prev in (("Defaults without the n-gram veto", {"ngram_number_veto": False}),
                        ("Defaults without the example signal", {"example_weight": 0.0}),
                        ("Last version's defaults (no example signal, no n-gram veto)",
                         {"example_weight": 0.0, "ngram_number_veto": False}),
                        ("Evidence without numbers or examples, 13-gram 0.03, ceiling 1.35",
                         {"ngram_threshold": 0.03, "number_weight": 0.0, "example_weight": 0.0,
                          "ngram_number_veto": False, "score_ceiling": 1.35})):
        prev_scored, prev_reports = {}, {}
        for cs in sets:
            prev_scored[cs.name], prev_reports[cs.name] = run_stage(cs, files[cs.name], {"ngram_n": ngram_n, **prev},
                                                                    ctx)
        print_results(title, sets, prev_scored, prev_reports, "heldout")
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
    ap.add_argument("--grid", default=",".join(GRID), metavar="NAME,...",
                    help="the settings to sweep on the tune half (others stay at the stage defaults); default all: "
                         + ",".join(GRID))
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="override a stage setting for the figures 'at the defaults' (JSON value), e.g. "
                         "--set number_weight=0.5; for trying settings on the tune half")
    args = ap.parse_args()
    overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    embedder = Embedder(cache_dir=args.workspace / "embeddings")
    contamination_calibration(args.workspace, embedder, args.ngram_n, args.corpus, tune=not args.no_tune,
                              overrides=overrides, seed=args.seed, show=args.show, compare=not args.no_compare,
                              grid=tuple(g for g in args.grid.split(",") if g))
    return 0


if __name__ == "__main__":
    sys.exit(main())
