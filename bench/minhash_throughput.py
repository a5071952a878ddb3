"""Throughput of `dedup_minhash` against a plain datasketch MinHashLSH loop, in the same run.

    python bench/minhash_throughput.py            # 100,000 items (the issue's figure)
    python bench/minhash_throughput.py --n 20000  # a quick run
    python bench/minhash_throughput.py --choose   # the measurement behind the default shingle size/threshold

The corpus is synthetic benchmark-style prompts (2-4 sentences of 8-20 words from a
6,000-word vocabulary) with planted near-duplicates: 2% of the items get one to three
edited copies (a word substituted, inserted or deleted, two sentences swapped, case and
punctuation changed). Both sides use the same tokens, shingle size, num_perm, threshold
and LSH bands; the baseline is what one writes from datasketch's README: per item a
`MinHash`, `update` per shingle (sha1 hash), `query` the `MinHashLSH`, `insert`, and
verify candidates with `MinHash.jaccard`. Printed: items/s of both, the speed-up, and
the recall of planted duplicate pairs and agreement of the two pair sets.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchsmith.index.minhash import DEFAULT_NUM_PERM, DEFAULT_SHINGLE_SIZE, DEFAULT_THRESHOLD, lsh_params, tokenize
from benchsmith.records import Item, Lineage
from benchsmith.verifiers.minhash import MinHashDedup

_CONSONANTS = "bcdfghjklmnprstvwz"
_VOWELS = "aeiou"


def vocabulary(size: int, rng: random.Random) -> list[str]:
    """Pronounceable pseudo-words (distinct), with a few very common English function words first."""
    words = ["the", "a", "of", "to", "and", "in", "is", "that", "for", "what", "which", "how", "with", "on"]
    seen = set(words)
    while len(words) < size:
        w = "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(rng.randint(1, 4)))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


def _sentence(rng: random.Random, vocab: list[str]) -> str:
    # Zipf-ish: function words are frequent, like in real prompts.
    n = rng.randint(8, 20)
    words = [vocab[min(int(rng.paretovariate(0.6)) - 1, len(vocab) - 1)] if rng.random() < 0.3
             else rng.choice(vocab) for _ in range(n)]
    return " ".join(words).capitalize() + rng.choice([".", "?", "."])


def edit(text: str, rng: random.Random, vocab: list[str]) -> str:
    """A lexical near-duplicate: one or two small edits of the kind paraphrasing generators make."""
    sentences = [s for s in text.replace("?", "?|").replace(".", ".|").split("|") if s.strip()]
    for _ in range(rng.randint(1, 2)):
        op = rng.choice(["substitute", "insert", "delete", "swap", "case"])
        if op == "swap" and len(sentences) > 1:
            a, b = rng.sample(range(len(sentences)), 2)
            sentences[a], sentences[b] = sentences[b], sentences[a]
            continue
        k = rng.randrange(len(sentences))
        words = sentences[k].split()
        p = rng.randrange(len(words))
        if op == "substitute":
            words[p] = rng.choice(vocab)
        elif op == "insert":
            words.insert(p, rng.choice(vocab))
        elif op == "delete" and len(words) > 3:
            del words[p]
        else:
            words = [w.upper() if rng.random() < 0.3 else w for w in words]
        sentences[k] = " ".join(words)
    return " ".join(s.strip() for s in sentences)


def corpus(n: int, seed: int = 0, dup_rate: float = 0.02) -> tuple[list[str], set[tuple[int, int]]]:
    """n texts and the planted duplicate pairs (i < j) among them (copies of one source pair up too)."""
    rng = random.Random(seed)
    vocab = vocabulary(6000, rng)
    texts: list[str] = []
    families: list[list[int]] = []
    while len(texts) < n:
        base = " ".join(_sentence(rng, vocab) for _ in range(rng.randint(2, 4)))
        family = [len(texts)]
        texts.append(base)
        if rng.random() < dup_rate:
            for _ in range(rng.randint(1, 3)):
                if len(texts) < n:
                    family.append(len(texts))
                    texts.append(edit(base, rng, vocab))
        families.append(family)
    order = list(range(len(texts)))
    rng.shuffle(order)
    where = {old: new for new, old in enumerate(order)}
    planted = {tuple(sorted((where[a], where[b]))) for fam in families for a, b in combinations(fam, 2)}
    return [texts[i] for i in order], planted  # type: ignore[misc]


def baseline(texts: list[str], *, shingle_size: int, num_perm: int, threshold: float) -> set[tuple[int, int]]:
    """The plain datasketch loop: MinHash + update per shingle, query, insert, verify by jaccard."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, params=lsh_params(threshold, num_perm))
    sketches: list[MinHash] = []
    pairs: set[tuple[int, int]] = set()
    for i, text in enumerate(texts):
        words = tokenize(text)
        grams = ([" ".join(words[p:p + shingle_size]) for p in range(len(words) - shingle_size + 1)]
                 or ([" ".join(words)] if words else []))
        m = MinHash(num_perm=num_perm, seed=1)
        for g in grams:
            m.update(g.encode("utf-8"))
        sketches.append(m)
        if not grams:
            continue
        for j in lsh.query(m):
            if m.jaccard(sketches[j]) >= threshold:
                pairs.add((j, i))
        lsh.insert(i, m)
    return pairs


def stage_pairs(texts: list[str], items: list[Item], stage: MinHashDedup) -> tuple[set[tuple[int, int]], int]:
    verdicts = stage.verdicts_for_texts(items, texts)
    index = {it.id: k for k, it in enumerate(items)}
    dropped = sum(not v.passed for v in verdicts)
    return {tuple(sorted((index[v.details["duplicate_of"]], k))) for k, v in enumerate(verdicts)  # type: ignore[misc]
            if not v.passed}, dropped


def group_recall(planted: set[tuple[int, int]], pairs: set[tuple[int, int]], n: int) -> float:
    """Share of planted pairs that end up in one duplicate group."""
    from benchsmith.index.groups import UnionFind

    uf = UnionFind(n)
    for a, b in pairs:
        uf.union(a, b)
    return sum(uf.find(a) == uf.find(b) for a, b in planted) / max(1, len(planted))


def run(n: int, seed: int) -> None:
    texts, planted = corpus(n, seed)
    lin = Lineage(generator="bench")
    items = [Item(id=f"i{k}", prompt=t, reference_answer="-", lineage=lin) for k, t in enumerate(texts)]
    cfg = {"shingle_size": DEFAULT_SHINGLE_SIZE, "num_perm": DEFAULT_NUM_PERM, "threshold": DEFAULT_THRESHOLD}
    stage = MinHashDedup(cfg)
    print(f"{n:,} items, {len(planted):,} planted duplicate pairs; shingle_size={cfg['shingle_size']} "
          f"num_perm={cfg['num_perm']} threshold={cfg['threshold']} bands x rows={lsh_params(cfg['threshold'], cfg['num_perm'])}")
    stage.verdicts_for_texts(items[:2000], texts[:2000])  # warm-up: punctuation table, permutations

    t0 = time.perf_counter()
    kept_edges, dropped = stage_pairs(texts, items, stage)
    t_stage = time.perf_counter() - t0
    t0 = time.perf_counter()
    base = baseline(texts, **cfg)
    t_base = time.perf_counter() - t0

    print(f"{'':28}{'seconds':>9}{'items/s':>11}{'planted recall':>16}")
    print(f"{'datasketch loop (baseline)':28}{t_base:9.2f}{n / t_base:11,.0f}{group_recall(planted, base, n):16.4f}")
    print(f"{'dedup_minhash (stage)':28}{t_stage:9.2f}{n / t_stage:11,.0f}{group_recall(planted, kept_edges, n):16.4f}")
    print(f"speed-up: {t_base / t_stage:.1f}x; items dropped by the stage: {dropped:,}")


# ---------------------------------------------------------------------------------------
# --choose: which shingle size and threshold separate near-duplicates from hard negatives.

_TEMPLATES = [
    "Write a Python function that takes a list of {a} and returns the {b} of the {c} elements.",
    "What is the {b} of {a} in a {c} graph with {d} vertices?",
    "Explain why the {a} of a {c} system increases when the {b} is {d}.",
    "A train travels {d} kilometres in {a} hours. What is its {b} speed in the {c} segment?",
    "In the novel by the {c} author, why does the {a} character refuse the {b} offer?",
    "Which {a} enzyme catalyses the {b} step of {c} metabolism in {d} cells?",
]
_SLOTS = {
    "a": ["integers", "strings", "floats", "tuples", "words", "dates", "prices", "names", "ages", "scores"],
    "b": ["sum", "product", "maximum", "minimum", "average", "median", "count", "variance", "range", "mode"],
    "c": ["even", "odd", "positive", "negative", "prime", "unique", "sorted", "first", "last", "largest"],
    "d": ["three", "five", "seven", "ten", "twelve", "twenty", "fifty", "hundred", "six", "nine"],
}


def _fill(rng: random.Random, template: str) -> str:
    return template.format(**{k: rng.choice(v) for k, v in _SLOTS.items()})


def _paraphrase_edit(text: str, rng: random.Random) -> str:
    """Edits that keep the question: filler words, a courtesy clause, a changed word, reordering."""
    words = text.split()
    op = rng.choice(["prefix", "suffix", "insert", "substitute", "case_punct", "prefix_suffix"])
    if op == "prefix":
        return rng.choice(["Please answer:", "Question:", "Consider the following."]) + " " + text
    if op == "suffix":
        return text + " " + rng.choice(["Explain your answer.", "Show your work.", "Be concise."])
    if op == "prefix_suffix":
        return "Question: " + text + " Explain briefly."
    if op == "insert":
        p = rng.randrange(1, len(words))
        return " ".join(words[:p] + [rng.choice(["exactly", "really", "then", "also"])] + words[p:])
    if op == "substitute":
        p = rng.randrange(len(words))
        return " ".join(words[:p] + [rng.choice(["given", "this", "such"])] + words[p + 1:])
    return text.lower().replace("?", " ?").replace(".", " !")


def _pairs(rng: random.Random, sentences: int, count: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(near-duplicate pairs, template-sibling pairs) of items made of `sentences` template fills."""
    positives, negatives = [], []
    for _ in range(count):
        templates = [rng.choice(_TEMPLATES) for _ in range(sentences)]
        a = [_fill(rng, t) for t in templates]
        edited = list(a)
        k = rng.randrange(sentences)
        edited[k] = _paraphrase_edit(edited[k], rng)
        if sentences > 1 and rng.random() < 0.5:  # and reorder two sentences
            i, j = rng.sample(range(sentences), 2)
            edited[i], edited[j] = edited[j], edited[i]
        positives.append((" ".join(a), " ".join(edited)))
        b = [_fill(rng, t) for t in templates]  # every slot drawn again: another question
        while b == a:
            b = [_fill(rng, t) for t in templates]
        negatives.append((" ".join(a), " ".join(b)))
    return positives, negatives


def choose(seed: int) -> None:
    """Precision/recall of shingle Jaccard (exact, and MinHash-estimated at the defaults)."""
    rng = random.Random(seed)
    short_pos, short_neg = _pairs(rng, 1, 600)
    long_pos, long_neg = _pairs(rng, 3, 600)
    positives, negatives = short_pos + long_pos, short_neg + long_neg
    print(f"{len(positives)} near-duplicate pairs and {len(negatives)} template siblings (hard negatives: "
          "same templates, slots drawn again), half one-sentence, half three-sentence items")
    print(f"{'k':>2} {'best t':>7} {'P':>6} {'R':>6} {'F1':>6}   recall/precision at t = 0.4, 0.5, 0.6, 0.7, 0.8")

    def grams(s: str, k: int) -> set[str]:
        w = tokenize(s)
        return {" ".join(w[p:p + k]) for p in range(len(w) - k + 1)} or {" ".join(w)}

    def jaccard(x: str, y: str, k: int) -> float:
        gx, gy = grams(x, k), grams(y, k)
        return len(gx & gy) / len(gx | gy)

    def pr(pos: np.ndarray, neg: np.ndarray, t: float) -> tuple[float, float]:
        tp, fp = int((pos >= t).sum()), int((neg >= t).sum())
        return tp / max(1, tp + fp), tp / len(pos)

    for k in range(1, 6):
        pos = np.array([jaccard(x, y, k) for x, y in positives])
        neg = np.array([jaccard(x, y, k) for x, y in negatives])
        best = (0.0, 0.0, 0.0, 0.0)
        for t in np.arange(0.3, 0.96, 0.05):
            p, r = pr(pos, neg, t)
            f1 = 2 * p * r / max(1e-9, p + r)
            if f1 > best[3] + 1e-9:
                best = (float(t), p, r, f1)
        cells = [f"{r:.2f}/{p:.2f}" for p, r in (pr(pos, neg, t) for t in (0.4, 0.5, 0.6, 0.7, 0.8))]
        print(f"{k:>2} {best[0]:7.2f} {best[1]:6.3f} {best[2]:6.3f} {best[3]:6.3f}   {'  '.join(cells)}")

    # The stage itself (MinHash estimates + LSH banding) at the defaults, on the same pairs.
    lin = Lineage(generator="bench")
    stage = MinHashDedup()
    tp = fp = 0
    for label, pairs in ((True, positives), (False, negatives)):
        for x, y in pairs:
            items = [Item(id="x", prompt=x, reference_answer="-", lineage=lin),
                     Item(id="y", prompt=y, reference_answer="-", lineage=lin)]
            found = not stage.verdicts_for_texts(items, [x, y])[1].passed
            tp += found and label
            fp += found and not label
    print(f"dedup_minhash at its defaults (k={DEFAULT_SHINGLE_SIZE}, t={DEFAULT_THRESHOLD}, "
          f"{DEFAULT_NUM_PERM} permutations): precision {tp / max(1, tp + fp):.3f}, recall {tp / len(positives):.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="items in the synthetic corpus")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--choose", action="store_true", help="measure shingle sizes/thresholds instead")
    args = ap.parse_args()
    if args.choose:
        choose(args.seed)
    else:
        run(args.n, args.seed)


if __name__ == "__main__":
    main()
