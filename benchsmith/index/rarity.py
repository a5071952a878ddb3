"""Rare-token overlap: what separates "the same problem reworded" from "another problem of the same style".

Two distinct problems of one benchmark share its phrasing ("how many", "write a
function that", "what percent of"), so their embeddings and even their short n-grams
are close. A rewording of one problem keeps what makes it *that* problem: its
numbers, its names, its rare content words. This module measures exactly that.

- `TokenSets`: the distinct tokens of each text (`benchsmith.index.ngrams` tokens and
  hashes, so normalisation is the one the n-gram index uses), in CSR layout.
- `RarityWeights`: inverse document frequency of every token in a reference corpus.
  Words every item of the corpus uses weigh ~0; a token the corpus has never seen weighs
  the most. Numbers need no special case: "90" is rare in a corpus of word problems and
  "2" is not, which is right, as "2" says little about which problem it is.
- `pair_overlap`: for pairs (query text, reference text), the rarity-weighted share of
  tokens they have in common, relative to the lighter of the two (so a reference copied
  inside a longer instruction, or a reference's description copied without its examples,
  still scores high). Vectorised over all pairs at once: one sort-based membership test
  on (pair, token) keys, no Python loop per pair.
- `number_sets` / `number_agreement`: the distinct number values of two texts. A rewording
  keeps every number of its problem; the same template with other numbers is, by this
  project's definition, a different test case. Agreement is +1 when the two sets of values
  are equal, falls to -1 as values differ (each side has values the other lacks;
  `number_agreement`), and is 0 (no evidence either way) when either text has no number or
  one side's values are all in the other's (numbers dropped or added, none changed). Sets, not multisets: a code
  prompt reworded with its doctest values restated in the prose ("for 3.5 the answer is
  0.5") keeps its numbers; counting repeats made that -1.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xxhash

from benchsmith.index.ngrams import _mix64, token_hashes

_PAIR_SALT = np.uint64(0xA24BAED4963EE407)


@dataclass(frozen=True)
class TokenSets:
    """Distinct token hashes of each text: text i owns `tokens[offsets[i]:offsets[i + 1]]` (sorted)."""

    tokens: np.ndarray   # uint64
    offsets: np.ndarray  # int64, len(texts) + 1

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @classmethod
    def of(cls, texts: Sequence[str]) -> TokenSets:
        """Token sets of `texts` (tokens as in `benchsmith.index.ngrams.tokenize`)."""
        hashes, offsets = token_hashes(texts)
        n = len(texts)
        owners = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))
        # Sort by (owner, hash) and drop repeats within a text: a word said twice counts once.
        order = np.lexsort((hashes, owners))
        hashes, owners = hashes[order], owners[order]
        keep = np.ones(len(hashes), dtype=bool)
        if len(hashes):
            keep[1:] = (hashes[1:] != hashes[:-1]) | (owners[1:] != owners[:-1])
        hashes, owners = hashes[keep], owners[keep]
        counts = np.bincount(owners, minlength=n)
        out = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=out[1:])
        return cls(tokens=np.ascontiguousarray(hashes), offsets=out)

    def lengths(self) -> np.ndarray:
        """Distinct tokens per text."""
        return np.diff(self.offsets)

    def gather(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The tokens of texts `rows` concatenated, and for each token its position in `rows`."""
        rows = np.asarray(rows, dtype=np.int64)
        lens = self.lengths()[rows]
        total = int(lens.sum())
        which = np.repeat(np.arange(len(rows), dtype=np.int64), lens)
        # Position inside each text: a running index minus where the text's run started.
        run_start = np.zeros(len(rows), dtype=np.int64)
        if len(rows) > 1:
            np.cumsum(lens[:-1], out=run_start[1:])
        pos = self.offsets[rows][which] + (np.arange(total, dtype=np.int64) - run_start[which])
        return self.tokens[pos], which


class RarityWeights:
    """Inverse document frequency of tokens in a reference corpus: log((N + 1) / df)."""

    def __init__(self, corpus: TokenSets) -> None:
        self.n_docs = len(corpus)
        # Token sets hold each token once per text, so counting hashes counts documents.
        self.keys, df = np.unique(corpus.tokens, return_counts=True)
        # log((N + 1) / df): ~0 for a word every entry has, still > 0 in a corpus of one entry
        # (where log(N / df) would weigh everything 0); unseen tokens count as df = 1/2.
        self._idf = np.log((self.n_docs + 1.0) / df)
        self.unseen = float(np.log(2.0 * (self.n_docs + 1.0)))
        """The weight of a token no reference text has: the rarest there is."""

    @classmethod
    def uniform(cls) -> RarityWeights:
        """Every token weighs 1: `pair_overlap` then is plain containment (shared / smaller set)."""
        w = cls(TokenSets(tokens=np.zeros(0, dtype=np.uint64), offsets=np.zeros(1, dtype=np.int64)))
        w.unseen = 1.0
        return w

    def of(self, tokens: np.ndarray) -> np.ndarray:
        """Weights of token hashes (unseen tokens get `unseen`)."""
        if len(self.keys) == 0:
            return np.full(len(tokens), self.unseen)
        pos = np.searchsorted(self.keys, tokens)
        np.minimum(pos, len(self.keys) - 1, out=pos)
        hit = self.keys[pos] == tokens
        return np.where(hit, self._idf[pos], self.unseen)

    def totals(self, sets: TokenSets) -> np.ndarray:
        """Sum of token weights per text."""
        w = self.of(sets.tokens)
        owners = np.repeat(np.arange(len(sets), dtype=np.int64), sets.lengths())
        return np.bincount(owners, weights=w, minlength=len(sets))


def pair_overlap(queries: TokenSets, q_rows: np.ndarray, refs: TokenSets, r_rows: np.ndarray,
                 weights: RarityWeights, *, q_totals: np.ndarray | None = None,
                 r_totals: np.ndarray | None = None, lighter: bool = True) -> np.ndarray:
    """Rarity-weighted overlap of each pair (queries[q_rows[p]], refs[r_rows[p]]), in [0, 1].

    shared weight / min(weight of the query's tokens, weight of the reference's tokens)
    (`lighter=False`: / max, so that both sides must be mostly shared);
    0.0 where either text has no tokens. `q_totals` / `r_totals` (from `weights.totals`)
    may be passed to avoid recomputing them for every batch of pairs.
    """
    q_rows, r_rows = _rows(q_rows, r_rows)
    n_pairs = len(q_rows)
    if n_pairs == 0:
        return np.zeros(0, dtype=np.float64)
    qt = weights.totals(queries) if q_totals is None else q_totals
    rt = weights.totals(refs) if r_totals is None else r_totals
    a_tok, a_pair, shared = _shared(queries, q_rows, refs, r_rows)
    w = weights.of(a_tok[shared])
    got = np.bincount(a_pair[shared], weights=w, minlength=n_pairs)
    denom = (np.minimum if lighter else np.maximum)(qt[q_rows], rt[r_rows])
    out: np.ndarray = np.divide(got, denom, out=np.zeros(n_pairs, dtype=np.float64),
                                where=(denom > 0) & (np.minimum(qt[q_rows], rt[r_rows]) > 0))
    return out


def _rows(q_rows: np.ndarray, r_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q_rows = np.asarray(q_rows, dtype=np.int64)
    r_rows = np.asarray(r_rows, dtype=np.int64)
    if len(q_rows) != len(r_rows):
        raise ValueError(f"{len(q_rows)} query rows but {len(r_rows)} reference rows")
    return q_rows, r_rows


def _shared(queries: TokenSets, q_rows: np.ndarray, refs: TokenSets, r_rows: np.ndarray,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The query side's tokens of every pair, the pair each belongs to, and whether the pair's reference has it."""
    a_tok, a_pair = queries.gather(q_rows)
    b_tok, b_pair = refs.gather(r_rows)
    with np.errstate(over="ignore"):
        salt_a = _mix64(a_pair.astype(np.uint64) * _PAIR_SALT + np.uint64(1))
        salt_b = _mix64(b_pair.astype(np.uint64) * _PAIR_SALT + np.uint64(1))
    # A (pair, token) key per token: a token is shared when the same key occurs on both sides.
    a_key = a_tok ^ salt_a
    b_key = b_tok ^ salt_b
    shared = np.isin(a_key, b_key, kind="sort") if len(b_key) else np.zeros(len(a_key), dtype=bool)
    return a_tok, a_pair, shared


# --- numbers ------------------------------------------------------------------------------

_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
"""Integers, decimals, thousands separators; a sign, a percent sign or a fraction bar is not
part of the number ("-5", "5 %" and "5/8" keep 5, 5 and 5, 8), so rewording them changes nothing."""


def _canonical(number: str) -> str:
    value = number.replace(",", "")
    whole, _, frac = value.partition(".")
    whole, frac = whole.lstrip("0") or "0", frac.rstrip("0")
    return f"{whole}.{frac}" if frac else whole


def numbers_of(text: str) -> list[str]:
    """The numbers of `text` in order, canonical ("1,000.50" is "1000.5", "007" is "7")."""
    return [_canonical(m) for m in _NUMBER.findall(text)]


def value_sets(values: Sequence[Sequence[str]]) -> TokenSets:
    """Per text, the distinct strings of `values[i]`, hashed, in the `TokenSets` layout (sorted within each text)."""
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    hashes: list[int] = []
    for i, vals in enumerate(values):
        hashes.extend(xxhash.xxh3_64_intdigest(v.encode()) for v in set(vals))
        offsets[i + 1] = len(hashes)
    tokens = np.array(hashes, dtype=np.uint64)
    owners = np.repeat(np.arange(len(values), dtype=np.int64), np.diff(offsets))
    order = np.lexsort((tokens, owners))
    return TokenSets(tokens=np.ascontiguousarray(tokens[order]), offsets=offsets)


def number_sets(texts: Sequence[str]) -> TokenSets:
    """The distinct number values of each text (a value said twice is one number: a rewording that
    restates an example's value, or a question that repeats a figure, adds nothing new)."""
    return value_sets([numbers_of(t) for t in texts])


def number_agreement(queries: TokenSets, q_rows: np.ndarray, refs: TokenSets, r_rows: np.ndarray) -> np.ndarray:
    """Per pair, in [-1, 1]: +1 when the two sets of number values are equal; 0 when either text has no
    number or one set holds the other (numbers dropped or added, none changed); otherwise
    2 * shared / max(sizes) - 2, clipped at -1 (one of five numbers changed gives -0.4)."""
    q_rows, r_rows = _rows(q_rows, r_rows)
    n_pairs = len(q_rows)
    if n_pairs == 0:
        return np.zeros(0, dtype=np.float64)
    _, a_pair, shared = _shared(queries, q_rows, refs, r_rows)
    got = np.bincount(a_pair[shared], minlength=n_pairs).astype(np.float64)
    na = queries.lengths()[q_rows]
    nb = refs.lengths()[r_rows]
    big = np.maximum(na, nb)
    share = np.divide(got, big, out=np.zeros(n_pairs), where=big > 0)
    out = np.where(share >= 1.0, 1.0, np.maximum(-1.0, 2.0 * share - 2.0))
    # One side's values all in the other's: numbers dropped (a description without its examples) or
    # added (a value restated, an instruction's "2 sentences"), none changed: no evidence either way.
    out[(got >= np.minimum(na, nb)) & (share < 1.0)] = 0.0
    out[(na == 0) | (nb == 0)] = 0.0
    return out
