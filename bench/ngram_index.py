"""N-gram contamination index at scale: build over >= 10M reference n-grams, check 100k items.

Synthetic data that looks like text to the tokenizer: a Zipf-distributed vocabulary of
50,000 words. The reference corpus has `--refs` documents of `--doc-tokens` words (100k
x 112 words = 10.0M 13-grams); the checked set has `--items` items of the same length
(~100 13-grams each), of which 10 % carry a planted copy of a 60-word span of a
reference, so the run also shows that the index finds what it should (and nothing else).

Measured, in one run:
1. build — tokenise, hash, sort and save the index (`load_or_build`, as the stage does);
2. reuse — the same call again: the stored index is memory-mapped, not rebuilt;
3. check — hash the items' n-grams and look them up (what the stage does per run);
4. stage — the whole `contamination` stage (n-grams only) over the same 100k items,
   verdicts included.

Budgets: build < 60 s, check of 100k items < 30 s. Exits 1 if one is missed.

    python bench/ngram_index.py [--refs 100000] [--items 100000] [--doc-tokens 112] [--n 13]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchsmith.records import Item, Lineage  # noqa: E402
from benchsmith.references import ReferenceSource, load_reference  # noqa: E402
from benchsmith.stages import StageContext  # noqa: E402
from benchsmith.verifiers import ngrams  # noqa: E402
from benchsmith.verifiers.contamination import Contamination  # noqa: E402

BUILD_BUDGET_S = 60.0
CHECK_BUDGET_S = 30.0


def synthetic_texts(n_docs: int, n_tokens: int, rng: np.random.Generator, vocab: np.ndarray) -> list[str]:
    ids = rng.zipf(1.3, size=(n_docs, n_tokens)) % len(vocab)
    return [" ".join(row) for row in vocab[ids]]


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--refs", type=int, default=100_000)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--doc-tokens", type=int, default=112)
    ap.add_argument("--n", type=int, default=13)
    ap.add_argument("--planted", type=float, default=0.10, help="share of items that copy a reference span")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    vocab = np.array([f"w{i}{chr(97 + i % 26)}" for i in range(50_000)])
    t = time.perf_counter()
    refs = synthetic_texts(args.refs, args.doc_tokens, rng, vocab)
    items = synthetic_texts(args.items, args.doc_tokens, rng, vocab)
    span = 60
    planted = rng.choice(args.items, size=int(args.items * args.planted), replace=False)
    planted_ref = rng.integers(0, args.refs, size=len(planted))
    for i, r in zip(planted.tolist(), planted_ref.tolist()):
        words = refs[r].split()
        start = int(rng.integers(0, len(words) - span + 1))
        mine = items[i].split()
        items[i] = " ".join(mine[: args.doc_tokens - span] + words[start:start + span])
    print(f"setup: {args.refs:,} reference docs and {args.items:,} items of {args.doc_tokens} words "
          f"({len(planted):,} with a planted {span}-word copy) in {time.perf_counter() - t:.1f}s", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-ngram-") as tmp:
        tmp_path = Path(tmp)
        ref_file = tmp_path / "refs.jsonl"
        with ref_file.open("w", encoding="utf-8") as fh:
            for i, text in enumerate(refs):
                fh.write(json.dumps({"id": f"r{i}", "prompt": text}) + "\n")
        t = time.perf_counter()
        corpus = load_reference(ReferenceSource(path=ref_file, id_field="id"))
        load_s = time.perf_counter() - t
        fp = corpus.fingerprint
        root = tmp_path / "ws" / "indexes"

        # 1. build
        builds = ngrams.BUILD_COUNT
        t = time.perf_counter()
        index, built = ngrams.load_or_build(corpus.texts, fp, args.n, root)
        build_s = time.perf_counter() - t
        assert built and ngrams.BUILD_COUNT == builds + 1
        folder = ngrams.index_folder(root, fp, args.n)
        size_mib = sum(f.stat().st_size for f in folder.iterdir()) / 2**20
        total = int(index.meta["ngrams_total"])  # type: ignore[call-overload]
        print(f"build:  {total:,} reference {args.n}-grams ({len(index):,} distinct) indexed and saved in "
              f"{build_s:.1f}s ({total / build_s / 1e6:.2f}M n-grams/s); {size_mib:.0f} MiB on disk; "
              f"corpus file read in {load_s:.1f}s", flush=True)

        # 2. reuse
        t = time.perf_counter()
        index, built = ngrams.load_or_build(corpus.texts, fp, args.n, root)
        reuse_s = time.perf_counter() - t
        assert not built and ngrams.BUILD_COUNT == builds + 1
        print(f"reuse:  stored index memory-mapped in {reuse_s * 1000:.0f} ms (no rebuild)", flush=True)

        # 3. check (hash + lookup)
        t = time.perf_counter()
        grams = ngrams.TokenHasher().ngrams(items, args.n)
        hash_s = time.perf_counter() - t
        overlap = index.lookup(grams)
        check_s = time.perf_counter() - t
        n_queries = len(grams.keys)
        flagged = overlap.fraction >= Contamination.Config.model_fields["ngram_threshold"].default
        is_planted = np.zeros(args.items, dtype=bool)
        is_planted[planted] = True
        found = int(np.sum(flagged & is_planted))
        right_ref = int(np.sum(np.array([corpus.ids[overlap.best_ref[i]] == f"r{r}"
                                         for i, r in zip(planted.tolist(), planted_ref.tolist())])))
        false_flags = int(np.sum(flagged & ~is_planted))
        print(f"check:  {args.items:,} items ({n_queries:,} {args.n}-grams) in {check_s:.1f}s "
              f"(hashing {hash_s:.1f}s, lookup {check_s - hash_s:.1f}s; {args.items / check_s:,.0f} items/s); "
              f"planted copies found {found}/{len(planted)} (right reference {right_ref}), "
              f"other items flagged {false_flags}", flush=True)

        # 4. the stage itself, n-grams only, verdicts included
        lin = Lineage(generator="bench")
        stage_items = [Item(id=str(i), prompt=text, reference_answer="", lineage=lin) for i, text in enumerate(items)]
        stage = Contamination({"references": [{"path": str(ref_file), "id_field": "id"}], "embedding": False})
        ctx = StageContext(workspace=tmp_path / "ws")
        t = time.perf_counter()
        verdicts = asyncio.run(stage.verify(stage_items, ctx))
        stage_s = time.perf_counter() - t
        stage_flagged = sum(1 for v in verdicts if not v.passed)
        assert ngrams.BUILD_COUNT == builds + 1, "the stage rebuilt the index"
        print(f"stage:  contamination stage (n-grams only) over {args.items:,} items in {stage_s:.1f}s, "
              f"{stage_flagged:,} flagged; peak RSS {rss_mib():,.0f} MiB", flush=True)

    ok_build = build_s < BUILD_BUDGET_S and total >= 10_000_000
    ok_check = check_s < CHECK_BUDGET_S
    print(f"budgets: build {build_s:.1f}s < {BUILD_BUDGET_S:.0f}s over >= 10M n-grams: "
          f"{'ok' if ok_build else 'MISSED'}; check {check_s:.1f}s < {CHECK_BUDGET_S:.0f}s: "
          f"{'ok' if ok_check else 'MISSED'}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0 if ok_build and ok_check else 1


if __name__ == "__main__":
    sys.exit(main())
