"""Script-aware tokenisation and hashed n-grams, for contamination checks at scale.

Normalisation (version `NORMALISATION_VERSION`, part of every stored index's key):

1. NFKC, then casefold: full-width forms, ligatures and case variants compare equal.
2. Underscores become spaces, so `has_close_elements` and "has close elements" share tokens.
3. Tokens are runs of word characters (letters, digits, and combining marks, which
   Python's `\\w` leaves out: without them Hindi or Arabic with diacritics would be
   chopped into fragments).
4. Scripts written without spaces (Han, kana, Thai, Lao, Khmer, Myanmar, Tibetan, Yi)
   have no words to split on, so each of their characters is its own token: a Chinese
   text gets character n-grams, neither one giant "word" (that would never match) nor
   nothing at all.

An n-gram is `n` consecutive tokens. Tokens are hashed once with xxh3-64 and n-grams
are combined from token hashes with numpy, vectorised over a whole batch of texts, into
uint64 keys. A text with fewer than `n` tokens (but at least one) yields one key for its
whole token sequence (a different hash family, so it only equals the same short text).
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

import numpy as np
import xxhash

NORMALISATION_VERSION = 1
"""Bump when tokens or hashes change: every stored n-gram index is keyed by it."""

# Ranges of scripts written without spaces between words.
_NO_SPACE_RANGES = (
    (0x0E00, 0x0EFF),    # Thai, Lao
    (0x0F00, 0x0FFF),    # Tibetan
    (0x1000, 0x109F),    # Myanmar
    (0x1780, 0x17FF),    # Khmer
    (0x19E0, 0x19FF),    # Khmer symbols
    (0x2E80, 0x2FDF),    # CJK radicals, Kangxi radicals
    (0x3005, 0x3007),    # 々 〆 〇
    (0x3021, 0x3029),    # Hangzhou numerals
    (0x3040, 0x30FF),    # Hiragana, Katakana
    (0x31F0, 0x31FF),    # Katakana phonetic extensions
    (0x3400, 0x4DBF),    # CJK extension A
    (0x4E00, 0x9FFF),    # CJK unified ideographs
    (0xA000, 0xA4CF),    # Yi
    (0xAA60, 0xAA7F),    # Myanmar extended-A
    (0xF900, 0xFAFF),    # CJK compatibility ideographs
    (0x20000, 0x3134F),  # CJK extensions B-G
)


def _char_class(ranges: Iterable[tuple[int, int]]) -> str:
    return "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" if a != b else re.escape(chr(a)) for a, b in ranges)


@functools.cache
def _combining_mark_ranges() -> tuple[tuple[int, int], ...]:
    """Code point ranges of Unicode categories Mn, Mc, Me (computed once; ~0.2 s)."""
    out: list[tuple[int, int]] = []
    start = prev = -2
    for cp in range(sys.maxunicode + 1):
        if unicodedata.category(chr(cp))[0] == "M":
            if cp != prev + 1:
                if start >= 0:
                    out.append((start, prev))
                start = cp
            prev = cp
    if start >= 0:
        out.append((start, prev))
    return tuple(out)


@functools.cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    no_space = _char_class(_NO_SPACE_RANGES)
    marks = _char_class(_combining_mark_ranges())
    word = re.compile(f"[\\w{marks}]+")
    has_no_space = re.compile(f"[{no_space}]")
    split_no_space = re.compile(f"[{no_space}]|[^{no_space}]+")
    return word, has_no_space, split_no_space


_ASCII_WORD = re.compile(r"[a-z0-9]+")  # after casefold and "_" -> " ", ASCII \w is [a-z0-9]


def normalize(text: str) -> str:
    """NFKC + casefold + underscores as spaces: the text that tokens are cut from."""
    return unicodedata.normalize("NFKC", text).casefold().replace("_", " ")


_LETTER = re.compile(r"[^\W\d_]")
_LATIN_LETTER = re.compile(r"[A-Za-z\u00C0-\u024F\u1E00-\u1EFF]")


def latin_share(text: str) -> float:
    """Share of the text's letters that are Latin script (1.0 for ASCII or letter-free text).

    English sentence embedders put unrelated texts in other scripts close together, so
    callers use this to decide whether an embedding comparison means anything.
    """
    if text.isascii():
        return 1.0
    letters = len(_LETTER.findall(text))
    if letters == 0:
        return 1.0
    return len(_LATIN_LETTER.findall(text)) / letters


def tokenize(text: str) -> list[str]:
    """Normalised word tokens; characters of scripts without spaces are one token each."""
    norm = normalize(text)
    if norm.isascii():  # the common case: no marks, no scripts without spaces
        return _ASCII_WORD.findall(norm)
    word, has_no_space, split_no_space = _patterns()
    tokens = word.findall(norm)
    if has_no_space.search(norm) is None:
        return tokens
    out: list[str] = []
    for tok in tokens:
        if has_no_space.search(tok) is None:
            out.append(tok)
        else:
            out.extend(split_no_space.findall(tok))
    return out


# Odd 64-bit multipliers, one per position in the n-gram (fixed: they are part of the
# hash, hence of the normalisation version). Drawn once from a seeded generator.
_MAX_N = 64
_POSITION_MULTIPLIERS = np.random.default_rng(20260514).integers(
    1, 2**63, size=_MAX_N, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
_SHORT_SALT = np.uint64(0x9E3779B97F4A7C15)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, vectorised: spreads the bits of a linear combination."""
    x = x.copy()
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


@dataclass(frozen=True)
class HashedNgrams:
    """The hashed n-grams of a batch of texts: `keys[i]` came from text `owners[i]`.

    Owners are non-decreasing (texts in input order); a text may repeat a key (see
    `distinct_sorted`).
    """

    keys: np.ndarray     # uint64
    owners: np.ndarray   # int64, non-decreasing
    n_texts: int
    n: int

    def __len__(self) -> int:
        return self.n_texts

    def distinct_sorted(self) -> tuple[np.ndarray, np.ndarray]:
        """(keys, owners) with each (key, text) pair once, sorted by key.

        One stable sort: owners are non-decreasing, so equal keys stay ordered by owner
        and a repeat within a text sits right after its first occurrence. (Lookups need
        sorted keys anyway: `searchsorted` with sorted needles is ~15x faster than with
        random ones, which miss the cache at every step.)
        """
        order = np.argsort(self.keys, kind="stable")
        keys, owners = self.keys[order], self.owners[order]
        if len(keys):
            keep = np.ones(len(keys), dtype=bool)
            keep[1:] = (keys[1:] != keys[:-1]) | (owners[1:] != owners[:-1])
            keys, owners = keys[keep], owners[keep]
        return keys, owners


_ASCII_TABLE = bytes(c + 32 if 65 <= c <= 90 else c if (48 <= c <= 57 or 97 <= c <= 122) else 32
                     for c in range(256))
"""ASCII bytes -> lower-case letters and digits kept, everything else a space (NFKC and
casefold are the identity / lower() on ASCII, so this *is* `tokenize` for ASCII text)."""

_TOKEN_P = np.uint64(0x100000001B3)       # FNV-64 prime: odd, so the polynomial hash is well spread
_TOKEN_LEN_SALT = np.uint64(0xD6E8FEB86659FD93)
_MAX_VECTOR_TOKEN = 64                    # longer tokens (rare) are hashed one by one with xxh3


def _space_joined(text: str) -> bytes:
    """The text's tokens as UTF-8, separated by single spaces (or runs of spaces)."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_TABLE)
    return " ".join(tokenize(text)).encode("utf-8")


def token_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """All texts' token hashes concatenated (uint64), and offsets into it (len(texts) + 1).

    Tokens are those of `tokenize`. Each text becomes its space-separated token bytes; all
    texts are joined and every token is hashed at once with numpy: a polynomial hash
    over its bytes, one vector step per byte position (tokens are short), then mixed with
    its length. Tokens over 64 bytes are hashed with xxh3 instead. Either way the hash
    depends only on the token's bytes, so a word hashes alike in every text.
    """
    parts = [_space_joined(t) for t in texts]
    blob = b" ".join(parts)
    # Byte offset where each text starts in the blob (texts are separated by one space).
    text_starts = np.zeros(len(texts), dtype=np.int64)
    if len(parts) > 1:
        np.cumsum(np.fromiter((len(b) + 1 for b in parts[:-1]), dtype=np.int64, count=len(parts) - 1),
                  out=text_starts[1:])
    arr = np.frombuffer(blob, dtype=np.uint8)
    is_tok = arr != 32
    edges = np.diff(is_tok.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts = np.nonzero(edges == 1)[0]
    ends = np.nonzero(edges == -1)[0]
    lengths = ends - starts
    hashes = np.zeros(len(starts), dtype=np.uint64)
    with np.errstate(over="ignore"):
        # Visit tokens longest first so that step k only touches the tokens longer than k.
        order = np.argsort(-np.minimum(lengths, _MAX_VECTOR_TOKEN), kind="stable")
        s_sorted = starts[order]
        l_sorted = np.minimum(lengths[order], _MAX_VECTOR_TOKEN)
        h = np.zeros(len(order), dtype=np.uint64)
        # active[k] = how many tokens have more than k bytes (l_sorted is non-increasing).
        active = np.searchsorted(-l_sorted, -np.arange(1, _MAX_VECTOR_TOKEN + 1), side="right")
        for k in range(_MAX_VECTOR_TOKEN):
            m = int(active[k])
            if m == 0:
                break
            h[:m] = h[:m] * _TOKEN_P + arr[s_sorted[:m] + k].astype(np.uint64) + np.uint64(1)
        hashes[order] = _mix64(h ^ (l_sorted.astype(np.uint64) * _TOKEN_LEN_SALT))
    for i in np.nonzero(lengths > _MAX_VECTOR_TOKEN)[0]:
        hashes[i] = xxhash.xxh3_64_intdigest(blob[starts[i]:ends[i]])
    counts = np.diff(np.searchsorted(starts, np.append(text_starts, len(blob))))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return hashes, offsets


class TokenHasher:
    """Hashes texts into n-grams (kept as a class so callers can hold one per corpus)."""

    def token_hashes(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """See `token_hashes`."""
        return token_hashes(texts)

    def ngrams(self, texts: Sequence[str], n: int) -> HashedNgrams:
        """Hashed n-grams of each text (see the module docstring for short texts)."""
        tokens, tok_offsets = token_hashes(texts)
        return ngrams_from_token_hashes(tokens, tok_offsets, n)


def ngrams_from_token_hashes(tokens: np.ndarray, offsets: np.ndarray, n: int) -> HashedNgrams:
    """Vectorised n-gram keys from concatenated token hashes (`offsets`: len(texts) + 1)."""
    if not 1 <= n <= _MAX_N:
        raise ValueError(f"n-gram size must be between 1 and {_MAX_N}, got {n}")
    n_texts = len(offsets) - 1
    lengths = np.diff(offsets)
    total = len(tokens)
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps on purpose
        # Full n-grams: a window at every token position p with p + n <= the end of its text.
        if total >= n:
            n_windows = total - n + 1
            acc = tokens[:n_windows] * _POSITION_MULTIPLIERS[0]
            for j in range(1, n):
                acc += tokens[j:j + n_windows] * _POSITION_MULTIPLIERS[j]
            owner = np.repeat(np.arange(n_texts, dtype=np.int64), lengths)[:n_windows]
            valid = np.arange(n, n_windows + n, dtype=np.int64) <= offsets[1:][owner]
            full_keys = _mix64(acc[valid])
            full_owner = owner[valid]
        else:
            full_keys = np.zeros(0, dtype=np.uint64)
            full_owner = np.zeros(0, dtype=np.int64)
        # Short texts (1 <= length < n): one key for the whole sequence, salted by its length.
        short = np.nonzero((lengths > 0) & (lengths < n))[0]
        short_keys = np.zeros(len(short), dtype=np.uint64)
        for k, t in enumerate(short):
            seq = tokens[offsets[t]:offsets[t + 1]]
            short_keys[k] = np.sum(seq * _POSITION_MULTIPLIERS[:len(seq)], dtype=np.uint64) \
                + _SHORT_SALT * np.uint64(len(seq))
        short_keys = _mix64(short_keys ^ _SHORT_SALT)
    if len(short):
        keys = np.concatenate([full_keys, short_keys])
        owners = np.concatenate([full_owner, short.astype(np.int64)])
        order = np.argsort(owners, kind="stable")  # keep owners non-decreasing
        keys, owners = keys[order], owners[order]
    else:
        keys, owners = full_keys, full_owner
    return HashedNgrams(keys=keys, owners=owners, n_texts=n_texts, n=n)


def ngram_overlap(a: str, b: str, n: int) -> float:
    """Fraction of `a`'s distinct n-grams that also occur in `b` (0.0 when `a` has none)."""
    grams = TokenHasher().ngrams([a, b], n)
    ka = np.unique(grams.keys[grams.owners == 0])
    kb = grams.keys[grams.owners == 1]
    if len(ka) == 0:
        return 0.0
    return float(np.isin(ka, kb).sum() / len(ka))


# --- the on-disk index -------------------------------------------------------------------

INDEX_FORMAT = 1
BUILD_COUNT = 0
"""How many indexes this process has built (not loaded): lets tests and benches see reuse."""


@dataclass(frozen=True)
class Overlap:
    """Per checked text: fraction of its n-grams in the index, and the reference entry sharing most."""

    fraction: np.ndarray    # float64, 0.0 for texts with no n-grams
    matched: np.ndarray     # int64, n-grams found
    total: np.ndarray       # int64, distinct n-grams of the text
    best_ref: np.ndarray    # int64, reference entry index, -1 when nothing matched
    best_shared: np.ndarray  # int64, n-grams shared with best_ref


class NgramIndex:
    """Sorted distinct n-gram keys (uint64) of a reference corpus, each with one entry index.

    A key that occurs in several reference entries points at the first of them: the
    entry an item shares most keys with is still found by vote, because the keys that
    make an item look like one reference are mostly unique to it.
    """

    def __init__(self, keys: np.ndarray, refs: np.ndarray, meta: dict[str, object]) -> None:
        if len(keys) != len(refs):
            raise ValueError(f"index keys ({len(keys)}) and refs ({len(refs)}) differ in length")
        self.keys = keys
        self.refs = refs
        self.meta = meta

    @property
    def n(self) -> int:
        return int(cast(int, self.meta["n"]))

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def build(cls, texts: Sequence[str], n: int, *, corpus_hash: str = "",
              hasher: TokenHasher | None = None) -> NgramIndex:
        """Index every distinct n-gram of `texts` (entry i = texts[i])."""
        import time

        global BUILD_COUNT
        t0 = time.perf_counter()
        grams = (hasher or TokenHasher()).ngrams(texts, n)
        # Stable sort: among equal keys the lowest entry index comes first and is kept.
        order = np.argsort(grams.keys, kind="stable")
        keys, refs = grams.keys[order], grams.owners[order]
        if len(keys):
            first = np.ones(len(keys), dtype=bool)
            first[1:] = keys[1:] != keys[:-1]
            keys, refs = keys[first], refs[first]
        ref_dtype = np.int32 if len(texts) < 2**31 else np.int64
        BUILD_COUNT += 1
        meta: dict[str, object] = {
            "format": INDEX_FORMAT, "corpus_hash": corpus_hash, "n": n,
            "normalisation_version": NORMALISATION_VERSION, "entries": len(texts),
            "ngrams_total": int(len(grams.keys)), "ngrams_distinct": int(len(keys)),
            "build_seconds": round(time.perf_counter() - t0, 3), "created_at": _now(),
        }
        return cls(np.ascontiguousarray(keys, dtype=np.uint64), refs.astype(ref_dtype), meta)

    def lookup(self, grams: HashedNgrams) -> Overlap:
        """How much of each text's n-gram set is in the index, and which entry it shares most with."""
        if grams.n != self.n:
            raise ValueError(f"n-grams of size {grams.n} cannot be looked up in a {self.n}-gram index")
        n_texts = len(grams)
        keys, owners = grams.distinct_sorted()
        total = np.bincount(owners, minlength=n_texts).astype(np.int64)
        if len(self.keys) and len(keys):
            pos = np.searchsorted(self.keys, keys)
            np.minimum(pos, len(self.keys) - 1, out=pos)
            found = np.asarray(self.keys[pos] == keys)
        else:
            pos = np.zeros(len(keys), dtype=np.int64)
            found = np.zeros(len(keys), dtype=bool)
        hit_owner = owners[found]
        matched = np.bincount(hit_owner, minlength=n_texts).astype(np.int64)
        fraction = np.divide(matched, total, out=np.zeros(n_texts, dtype=np.float64), where=total > 0)
        best_ref = np.full(n_texts, -1, dtype=np.int64)
        best_shared = np.zeros(n_texts, dtype=np.int64)
        if len(hit_owner):
            hit_ref = np.asarray(self.refs[pos[found]], dtype=np.int64)
            width = int(hit_ref.max()) + 1
            pairs, counts = np.unique(hit_owner * width + hit_ref, return_counts=True)
            p_owner, p_ref = pairs // width, pairs % width
            # Per text: most shared n-grams first, then the lowest entry index (stable ties).
            order = np.lexsort((p_ref, -counts, p_owner))
            p_owner, p_ref, counts = p_owner[order], p_ref[order], counts[order]
            first = np.ones(len(p_owner), dtype=bool)
            first[1:] = p_owner[1:] != p_owner[:-1]
            best_ref[p_owner[first]] = p_ref[first]
            best_shared[p_owner[first]] = counts[first]
        return Overlap(fraction=fraction, matched=matched, total=total, best_ref=best_ref,
                       best_shared=best_shared)

    def matched_refs(self, grams: HashedNgrams) -> tuple[np.ndarray, np.ndarray]:
        """Distinct (text, reference entry) pairs: the entries that the texts' matched n-grams point at.

        A key points at the first entry holding it, so these are not all entries sharing n-grams with a
        text, but they include every entry that holds one of its n-grams first (`lookup`'s best_ref among
        them); sorted by text, then entry.
        """
        if grams.n != self.n:
            raise ValueError(f"n-grams of size {grams.n} cannot be looked up in a {self.n}-gram index")
        keys, owners = grams.distinct_sorted()
        if not len(self.keys) or not len(keys):
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        pos = np.searchsorted(self.keys, keys)
        np.minimum(pos, len(self.keys) - 1, out=pos)
        found = np.asarray(self.keys[pos] == keys)
        refs = np.asarray(self.refs[pos[found]], dtype=np.int64)
        width = int(refs.max()) + 1 if len(refs) else 1
        pairs = np.unique(owners[found].astype(np.int64) * width + refs)
        return pairs // width, pairs % width

    # -- persistence --

    def save(self, folder: Path) -> Path:
        """Write keys.npy, refs.npy and meta.json into `folder` atomically (write aside, rename)."""
        import json
        import os
        import shutil
        import tempfile

        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            np.save(tmp / "keys.npy", self.keys)
            np.save(tmp / "refs.npy", self.refs)
            (tmp / "meta.json").write_text(json.dumps(self.meta, indent=2, sort_keys=True), encoding="utf-8")
            try:
                os.rename(tmp, folder)
            except OSError:
                if not (folder / "meta.json").is_file():  # not a concurrent writer's finished index
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return folder

    @classmethod
    def load(cls, folder: Path, *, mmap: bool = True) -> NgramIndex:
        """Open a saved index; the arrays are memory-mapped unless `mmap=False`."""
        import json

        folder = Path(folder)
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        mode: Literal["r"] | None = "r" if mmap else None
        keys = np.load(folder / "keys.npy", mmap_mode=mode)
        refs = np.load(folder / "refs.npy", mmap_mode=mode)
        if keys.dtype != np.uint64 or len(keys) != len(refs):
            raise ValueError(f"{folder}: not a valid n-gram index (keys {keys.dtype}, {len(keys)} vs {len(refs)} refs)")
        return cls(keys, refs, meta)


def index_folder(root: Path, corpus_hash: str, n: int) -> Path:
    """Where the index of a corpus (by content hash) for n-gram size `n` lives under `root`."""
    return Path(root) / f"ngrams-{corpus_hash}-n{n}-v{NORMALISATION_VERSION}.{INDEX_FORMAT}"


def load_or_build(texts: Sequence[str], corpus_hash: str, n: int, root: Path) -> tuple[NgramIndex, bool]:
    """The stored index for this corpus, n and normalisation, building and saving it if missing.

    Returns (index, built). A damaged stored index is rebuilt rather than trusted.
    """
    folder = index_folder(root, corpus_hash, n)
    if (folder / "meta.json").is_file():
        try:
            index = NgramIndex.load(folder)
            meta = index.meta
            if (meta.get("corpus_hash") == corpus_hash and meta.get("n") == n
                    and meta.get("normalisation_version") == NORMALISATION_VERSION):
                return index, False
        except (OSError, ValueError, KeyError):
            pass
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    index = NgramIndex.build(texts, n, corpus_hash=corpus_hash)
    index.save(folder)
    return NgramIndex.load(folder), True


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")
