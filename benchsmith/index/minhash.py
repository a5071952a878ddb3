"""Lexical near-duplicates: MinHash over word shingles, LSH banding, union-find groups.

Catches what exact dedup cannot (a word changed, sentences reordered, a clause added)
without embeddings: two items whose sets of word n-grams have an estimated Jaccard
similarity at or above `threshold` are duplicates; groups are formed transitively and the
best-scored member is kept, as in the other dedup stages.

Signatures are datasketch's ("affine32" scheme: MurmurHash3 pre-mix, then
`a*h + b mod 2^32` per permutation, permutations from `datasketch.MinHash(seed=...)`), so a
row equals `MinHash(num_perm, seed, hashfunc=<shingle hash>).update_batch(...)` and can be
handed to datasketch as a `LeanMinHash` (`lean_minhashes`). What is different is the
speed: a per-item loop spends its time hashing tokens one Python call at a time. Here
each distinct word is hashed once per call, shingle hashes are combined with numpy over
the whole corpus, and the permutations are applied to blocks of shingles of many items at
once. Candidate pairs come from datasketch's `MinHashLSH` banding (its `b` x `r` choice
for the threshold), then every candidate's Jaccard is estimated from the signatures, so
band collisions below the threshold are not reported.

Tokens are words of the normalised text (NFKC, casefold, punctuation and symbols as
spaces, see `benchsmith.text`). Scripts written without spaces (Chinese, Japanese,
Thai, ...) have one token per character, so their shingles are character n-grams instead
of one giant "word" per sentence.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np

if TYPE_CHECKING:
    from datasketch import LeanMinHash

# Measured with `python bench/minhash_throughput.py --choose` on 1,200 near-duplicate pairs
# (a word inserted or substituted, a courtesy prefix or suffix, case and punctuation, two
# sentences swapped) against 1,200 template siblings (same templates, other slot values:
# different questions). Exact shingle Jaccard, best F1 per size: 1-grams 0.996 at t=0.80,
# 2-grams 0.998 at 0.65, 3-grams 0.997 at 0.55, 4-grams 0.988, 5-grams 0.986 (5-grams at
# t=0.8 keep only 40% recall: one edit changes five shingles of a short prompt). Through
# MinHash estimates (128 permutations) and LSH, 3-grams at 0.5 had the best recall:
# precision 0.983, recall 0.999 (2-grams at 0.65: 0.993 / 0.969 with datasketch's bands).
# On the labelled calibration set (docs/calibration.md), though, 0.5 also merges "same
# scenario, other numbers" pairs — different test cases — at precision 0.21 (23 of 29 flags
# wrong); 0.8 flags 6 at precision 0.83. A benchmark must keep those apart, so the default
# is 0.8; MinHash is for light-edit copies, and paraphrases are the semantic stage's job.
DEFAULT_SHINGLE_SIZE = 3
DEFAULT_THRESHOLD = 0.8
DEFAULT_NUM_PERM = 128

# datasketch's banding weighs false positives and false negatives equally by default; at
# t=0.5 with 128 permutations that is 25 bands of 5 rows, which finds a pair of Jaccard 0.6
# only 87% of the time. False positives cost little here (each candidate is checked on its
# signature), so misses weigh 4x: 30 bands of 4 rows, 98% at 0.6, 86% at 0.5.
LSH_WEIGHTS = (0.2, 0.8)
_MAX_BUCKET = 1000  # larger LSH buckets are chained, not expanded into all their pairs

_UINT32_MAX = np.uint32(0xFFFFFFFF)
_SHINGLE_BLOCK = 1 << 15  # shingles per permutation block: 32k x 128 perms x 4 B = 16 MiB
# Characters of scripts written without spaces between words: one token each.
_NO_SPACE_SCRIPTS = (
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3040-\u30ff\u3100-\u312f\u31a0-\u31ff"  # CJK radicals, kana, bopomofo
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
    "\U00020000-\U0003134f"  # CJK extensions
)
_TOKEN = re.compile(f"[{_NO_SPACE_SCRIPTS}]|[^\\s{_NO_SPACE_SCRIPTS}]+")


@functools.lru_cache(maxsize=1)
def _punctuation_table() -> dict[int, str]:
    # The same rule as textnorm.normalize_text (categories P* and S* become spaces), as a
    # str.translate table: one C-level pass instead of a Python call per character.
    return {cp: " " for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp))[0] in "PS"}


def tokenize(text: str) -> list[str]:
    """Words of the normalised text; characters of space-less scripts (CJK, Thai, ...) are words."""
    norm = unicodedata.normalize("NFKC", text).casefold().translate(_punctuation_table())
    return norm.split() if norm.isascii() else _TOKEN.findall(norm)


def _token_hash(token: str) -> int:
    # Stable across processes (Python's hash() is salted), so verdicts are reproducible.
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


def _mix64(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads the folded shingle value over all 64 bits."""
    h = h ^ (h >> np.uint64(30))
    h = h * np.uint64(0xBF58476D1CE4E5B9)
    h = h ^ (h >> np.uint64(27))
    h = h * np.uint64(0x94D049BB133111EB)
    return cast(np.ndarray, h ^ (h >> np.uint64(31)))


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser, the pre-mix of datasketch's affine32 scheme."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return cast(np.ndarray, h ^ (h >> np.uint32(16)))


_FOLD = np.uint64(0x100000001B3)  # FNV-1a's 64-bit prime: an odd multiplier for the fold


def _fold(token_hashes: np.ndarray) -> np.uint32:
    """The shingle hash of a short token sequence (fewer tokens than the shingle size)."""
    h = np.zeros(1, np.uint64)
    for t in token_hashes:
        h = h * _FOLD + t
    return cast(np.uint32, (_mix64(h) >> np.uint64(32)).astype(np.uint32)[0])


@dataclass(frozen=True)
class Shingles:
    """Shingle hashes of many texts: `hashes[offsets[d]:offsets[d+1]]` belong to text d."""

    hashes: np.ndarray
    """uint32 shingle hashes, grouped by text (duplicates within a text are harmless)."""
    offsets: np.ndarray
    """int64, length n + 1."""

    def count(self, d: int) -> int:
        """Shingles of text d (0 for a text with no tokens)."""
        return int(self.offsets[d + 1] - self.offsets[d])


def shingle_texts(texts: Sequence[str], shingle_size: int) -> Shingles:
    """Word n-gram hashes of every text; a text shorter than n words is one shingle of all of them."""
    if shingle_size < 1:
        raise ValueError(f"shingle_size must be >= 1, got {shingle_size}")
    tokens: list[str] = []
    lengths = np.zeros(len(texts), np.int64)
    for d, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{d}] is {type(text).__name__}, expected str")
        words = tokenize(text)
        lengths[d] = len(words)
        tokens.extend(words)
    # Each distinct word is hashed once; the corpus is then a numpy array of word hashes.
    vocab = {w: _token_hash(w) for w in dict.fromkeys(tokens)}
    word_h = np.fromiter(map(vocab.__getitem__, tokens), dtype=np.uint64, count=len(tokens))
    starts = np.zeros(len(texts) + 1, np.int64)
    np.cumsum(lengths, out=starts[1:])
    k = shingle_size

    # Regular shingles: fold k consecutive word hashes at every position, keep positions
    # whose k words lie inside one text.
    n_pos = max(0, len(word_h) - k + 1)
    folded = word_h[:n_pos].copy()
    for m in range(1, k):
        folded = folded * _FOLD + word_h[m:m + n_pos]
    text_of = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)[:n_pos]
    inside = np.arange(n_pos) + k <= starts[1:][text_of]
    hashes = (_mix64(folded[inside]) >> np.uint64(32)).astype(np.uint32)
    per_text = np.maximum(lengths - k + 1, 0)

    short = np.flatnonzero((lengths > 0) & (lengths < k))
    if len(short):  # rare (k is small): one shingle per short text, spliced into place
        per_text[short] = 1
        extra = np.array([_fold(word_h[starts[d]:starts[d + 1]]) for d in short], np.uint32)
        owner = np.concatenate([text_of[inside], short])
        merged = np.concatenate([hashes, extra])
        hashes = merged[np.argsort(owner, kind="stable")]
    offsets = np.zeros(len(texts) + 1, np.int64)
    np.cumsum(per_text, out=offsets[1:])
    return Shingles(hashes=hashes, offsets=offsets)


@functools.lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutation parameters (a, b) for `num_perm` and `seed`."""
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    return np.ascontiguousarray(a, np.uint32), np.ascontiguousarray(b, np.uint32)


def signatures(shingles: Shingles, *, num_perm: int = DEFAULT_NUM_PERM, seed: int = 1) -> np.ndarray:
    """MinHash signatures (n, num_perm) uint32; a text without shingles gets all 0xFFFFFFFF.

    Row d equals datasketch's `MinHash(num_perm, seed, scheme="affine32", hashfunc=identity)`
    after `update_batch(shingles of d)`.
    """
    a, b = permutations(num_perm, seed)
    n = len(shingles.offsets) - 1
    sig = np.full((n, num_perm), _UINT32_MAX, np.uint32)
    nonempty = np.flatnonzero(np.diff(shingles.offsets) > 0)
    if len(nonempty) == 0:
        return sig
    starts = shingles.offsets[nonempty]  # strictly increasing: every segment is non-empty
    total = int(shingles.offsets[-1])
    owner = np.repeat(np.arange(len(nonempty)), np.diff(shingles.offsets)[nonempty])
    mixed = _fmix32(shingles.hashes)
    # Permutations along rows, shingles along columns: reduceat then runs over contiguous
    # memory (2.5x faster than the transposed layout).
    acc = np.full((num_perm, len(nonempty)), _UINT32_MAX, np.uint32)
    a_col, b_col = a[:, None], b[:, None]
    # Blocks of shingles (not of texts), so a very long text never needs a huge temporary;
    # a text cut by a block boundary gets the minimum of both parts.
    for s in range(0, total, _SHINGLE_BLOCK):
        e = min(total, s + _SHINGLE_BLOCK)
        permuted = a_col * mixed[None, s:e] + b_col  # uint32 arithmetic wraps: mod 2^32
        first, last = owner[s], owner[e - 1]
        seg = np.maximum(starts[first:last + 1], s) - s
        np.minimum(acc[:, first:last + 1], np.minimum.reduceat(permuted, seg, axis=1),
                   out=acc[:, first:last + 1])
    sig[nonempty] = acc.T
    return sig


def lean_minhashes(sig: np.ndarray, *, seed: int = 1) -> list[LeanMinHash]:
    """datasketch `LeanMinHash` objects for signature rows (for use with other datasketch indexes)."""
    from datasketch import LeanMinHash

    return [LeanMinHash(seed=seed, hashvalues=row, scheme="affine32") for row in sig]


@functools.lru_cache(maxsize=32)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) that datasketch's MinHashLSH picks for this threshold, num_perm and `LSH_WEIGHTS`."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=LSH_WEIGHTS)
    return lsh.b, lsh.r


def estimated_jaccard(sig: np.ndarray, i: np.ndarray, j: np.ndarray, *, block: int = 1 << 16) -> np.ndarray:
    """Fraction of equal signature entries for each pair (i[k], j[k])."""
    out = np.empty(len(i), np.float64)
    for s in range(0, len(i), block):
        out[s:s + block] = (sig[i[s:s + block]] == sig[j[s:s + block]]).mean(axis=1)
    return out


def lexical_pairs(sig: np.ndarray, threshold: float, *, valid: np.ndarray | None = None,
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) whose estimated Jaccard is >= `threshold`: LSH band collisions, then verified.

    Bands are datasketch MinHashLSH's (`lsh_params`); rows where `valid` is False (texts
    with no tokens) never pair. Returns (i, j, jaccard) sorted by (i, j).
    """
    n, num_perm = sig.shape
    bands, rows = lsh_params(threshold, num_perm)
    rows_ok = np.ones(n, bool) if valid is None else np.asarray(valid, bool)
    idx = np.flatnonzero(rows_ok)
    cand_i: list[np.ndarray] = []
    cand_j: list[np.ndarray] = []
    for band in range(bands):
        # A band's r values folded into one 64-bit key (MinHashLSH keys on the bytes of the
        # slice; a 64-bit fold collides about never, and every candidate is verified anyway).
        part = sig[idx, band * rows:(band + 1) * rows].astype(np.uint64)
        keys = np.zeros(len(idx), np.uint64)
        for col in range(rows):
            keys = keys * _FOLD + part[:, col]
        keys = _mix64(keys)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        same = sorted_keys[1:] == sorted_keys[:-1]
        if not same.any():
            continue
        # Buckets of size >= 2: all pairs inside each (pairs repeat across bands; deduped below).
        # Most are pairs, taken in one vectorised step; larger buckets one by one.
        bounds = np.flatnonzero(np.diff(np.concatenate(([False], same, [False])).astype(np.int8)))
        lo, hi = bounds[::2], bounds[1::2] + 1
        two = hi - lo == 2
        cand_i.append(idx[order[lo[two]]])
        cand_j.append(idx[order[lo[two] + 1]])
        for start, end in zip(lo[~two].tolist(), hi[~two].tolist()):
            members = idx[order[start:end]]
            if len(members) > _MAX_BUCKET:
                # Thousands of items sharing a band (one template filled many ways) would make
                # millions of pairs; each member is checked against its bucket neighbours and
                # the bucket's first member instead, enough to connect a group of duplicates.
                cand_i.append(np.concatenate([members[:-1], np.full(len(members) - 1, members[0])]))
                cand_j.append(np.concatenate([members[1:], members[1:]]))
                continue
            a, b = np.triu_indices(len(members), 1)
            cand_i.append(members[a])
            cand_j.append(members[b])
    if not cand_i:
        empty = np.zeros(0, np.int64)
        return empty, empty.copy(), np.zeros(0, np.float64)
    ci, cj = np.concatenate(cand_i), np.concatenate(cand_j)
    lo_, hi_ = np.minimum(ci, cj), np.maximum(ci, cj)
    key = np.unique(lo_.astype(np.int64) * n + hi_)
    i, j = key // n, key % n
    jac = estimated_jaccard(sig, i, j)
    keep = jac >= threshold - 1e-12
    return i[keep], j[keep], jac[keep]
