"""Finding quotes in source text and checking that evidence supports a claim.

No model is involved. A quote is looked up after normalisation (NFKC, case-folding,
whitespace collapsed): an exact substring scores 100, otherwise rapidfuzz's
`partial_ratio` (best-aligned window) must reach the threshold. Support is a cheap
lexical check: most content words of a claim must occur in the evidence. The document
generator uses the locator to turn a model's quote into offsets, and the grounding
verifier uses the same code to check them, so what is cited is what is checked.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz

from benchsmith.records import Item
from benchsmith.text import mcq_answer_index

DEFAULT_SUPPORT_THRESHOLD = 0.5
"""Share of a claim's content words that must occur in its evidence."""

_WS = re.compile(r"\s+")
_WORD = re.compile(r"\w+")

# Function words carry no evidence: an answer "It is in the north" must not count as
# supported because "it", "is", "in" and "the" occur in every quote.
STOPWORDS = frozenset("""
a an the and or but if then than so of to in on at by for from with without into onto over under about
as is are was were be been being am do does did done has have had having it its this that these those
there here which who whom whose what when where why how not no nor yes any all each every some such
can could may might must shall should will would i you he she we they me him her us them my your his
our their also only just very more most less least other another same both either neither per via
""".split())  # noqa: SIM905 (a word list reads better as text)


def normalise_for_match(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: the form quotes and chunks are compared in."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


# -- locating a quote (used by the generator to build citations) ------------------------

@dataclass(frozen=True)
class QuoteMatch:
    """Where a quote was found: offsets into the searched text and the match score (0-100)."""

    start: int
    end: int
    score: float


def _mapped_normalisation(text: str) -> tuple[str, list[int]]:
    """Lower-cased, whitespace-collapsed text and, per character, its offset in `text`."""
    out: list[str] = []
    where: list[int] = []
    for m in re.finditer(r"\S+", text):
        if out:
            out.append(" ")
            where.append(m.start() - 1)
        for i, ch in enumerate(m.group(0), start=m.start()):
            low = ch.lower()
            out.append(low)
            where.extend([i] * len(low))
    return "".join(out), where


def _widen_to_words(text: str, start: int, end: int) -> tuple[int, int]:
    # A fuzzy alignment can cut a word in two; a citation should not.
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and end > 0 and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    return start, end


def locate_quote(quote: str, text: str, *, threshold: float = 90.0) -> QuoteMatch | None:
    """The span of `text` that `quote` comes from, or None when nothing scores `threshold`.

    Tries an exact find, then a case- and whitespace-insensitive find, then the best
    fuzzy alignment (rapidfuzz `partial_ratio_alignment`). Offsets are into `text`.
    """
    q = quote.strip()
    if not q or not text:
        return None
    pos = text.find(q)
    if pos >= 0:
        return QuoteMatch(pos, pos + len(q), 100.0)
    norm_text, where = _mapped_normalisation(text)
    norm_q, _ = _mapped_normalisation(q)
    if not norm_q or not norm_text:
        return None
    pos = norm_text.find(norm_q)
    if pos >= 0:
        return QuoteMatch(where[pos], where[pos + len(norm_q) - 1] + 1, 100.0)
    if len(norm_q) > len(norm_text):
        return None  # a quote longer than the text cannot come from it
    al = fuzz.partial_ratio_alignment(norm_q, norm_text, score_cutoff=threshold)
    if al is None or al.score < threshold or al.dest_end <= al.dest_start:
        return None
    start, end = where[al.dest_start], where[al.dest_end - 1] + 1
    start, end = _widen_to_words(text, start, end)
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return QuoteMatch(start, end, float(al.score))


# -- answer support -----------------------------------------------------------------------

_SUFFIXES = ("ing", "ies", "es", "ed", "ly", "s")


@functools.lru_cache(maxsize=1 << 16)  # the same words recur across items: stemming dominated the cost
def _stem(word: str) -> str:
    for suf in _SUFFIXES:
        if len(word) > len(suf) + 3 and word.endswith(suf):
            return word[: -len(suf)]
    return word


def content_words(text: str) -> list[str]:
    """Stemmed, case-folded words of `text` that are not stop words (numbers count)."""
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    return [_stem(w) for w in words if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def support_score(claim: str, evidence: str) -> float | None:
    """Share of the claim's content words found in the evidence; None when it has none."""
    words = content_words(claim)
    if not words:
        return None
    have = set(content_words(evidence))
    return sum(1 for w in words if w in have) / len(words)


_TF_PREFIX = re.compile(r"^\s*true\s+or\s+false\s*[:?.-]\s*", re.IGNORECASE)


def claim_text(item: Item) -> str:
    """What the quotes must support: the answer, the correct option (MCQ), or the statement (true/false)."""
    if item.kind == "true_false":
        statement = item.metadata.get("statement")
        return str(statement) if statement else _TF_PREFIX.sub("", item.prompt)
    if item.kind == "mcq" and item.choices:
        idx = mcq_answer_index(item)
        if idx is not None:
            return item.choices[idx]
    return item.reference_answer
