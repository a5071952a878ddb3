"""Citation grounding: every quote is in its cited chunk, and the quotes support the answer.

No model is involved. A quote is looked up in its chunk after normalisation (NFKC,
case-folding, whitespace collapsed): an exact substring scores 100, otherwise
rapidfuzz's `partial_ratio` (best-aligned window) must reach the threshold. Offsets, when
the citation has them, must point at the same text in the document. Answer support is a
cheap lexical check: most content words of the answer (for MCQ the correct option, for
true/false the statement) must occur in the quotes.

The same quote locator is used by the document generator to turn a model's quote into
document offsets, so what the generator cites is what this stage checks.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field
from rapidfuzz import fuzz

from benchsmith.documents import Chunk, Document
from benchsmith.records import Citation, Item, Verdict
from benchsmith.stages import StageConfig, StageContext, Verifier, verifiers
from verifiers.rules import mcq_answer_index

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


# -- the stage ----------------------------------------------------------------------------

GroundingReason = Literal["no_citations", "unknown_chunk", "quote_too_short", "quote_not_found",
                          "offset_mismatch", "answer_unsupported"]


class GroundingConfig(StageConfig):
    """Thresholds of the grounding check."""

    threshold: float = Field(default=90.0, ge=0.0, le=100.0,
                             description="rapidfuzz partial_ratio (0-100) a quote must reach in its cited chunk.")
    min_quote_chars: int = Field(default=5, ge=1,
                                 description="Quotes shorter than this (normalised) are 'quote_too_short': "
                                             "a few characters match almost anywhere.")
    check_offsets: bool = Field(default=True,
                                description="Check that citation offsets point at the quote in the document text.")
    answer_support_threshold: float = Field(
        default=0.5, ge=0.0, le=1.0,
        description="Share of the answer's content words that must occur in the quotes (0 disables the check).")


class _Sources:
    """Chunks and documents of the run, with normalised chunk texts computed once."""

    def __init__(self, chunks: Mapping[str, Chunk], documents: Mapping[str, Document] | None) -> None:
        self.chunks = chunks
        self.documents = documents or {}
        self._norm: dict[str, str] = {}

    def norm_chunk(self, chunk_id: str) -> str:
        norm = self._norm.get(chunk_id)
        if norm is None:
            norm = self._norm[chunk_id] = normalise_for_match(self.chunks[chunk_id].text)
        return norm


def _quote_score(norm_quote: str, norm_source: str, threshold: float) -> float:
    if norm_quote in norm_source:
        return 100.0
    if len(norm_quote) > len(norm_source):
        # partial_ratio would align the source inside the quote: a quote that pads a
        # real chunk with made-up text would score 100. Compare the whole strings instead.
        return float(fuzz.ratio(norm_quote, norm_source))
    return float(fuzz.partial_ratio(norm_quote, norm_source, score_cutoff=threshold))


def _offsets_ok(cit: Citation, chunk: Chunk, norm_quote: str, sources: _Sources, threshold: float) -> bool:
    assert cit.start is not None and cit.end is not None
    if not (chunk.start <= cit.start < cit.end <= chunk.end):
        return False
    doc = sources.documents.get(chunk.document_id)
    span = (doc.text[cit.start:cit.end] if doc is not None
            else chunk.text[cit.start - chunk.start:cit.end - chunk.start])
    norm_span = normalise_for_match(span)
    return norm_span == norm_quote or fuzz.ratio(norm_span, norm_quote, score_cutoff=threshold) >= threshold


@verifiers.register("grounding")
class Grounding(Verifier):
    """Drops items whose quotes are not in their cited chunks, or whose answer the quotes do not support."""

    Config: ClassVar[type[StageConfig]] = GroundingConfig
    scope: ClassVar[Literal["item", "set"]] = "item"
    config: GroundingConfig

    async def verify(self, items: Sequence[Item], ctx: StageContext) -> list[Verdict]:
        chunks = ctx.extras.get("chunks")
        if chunks is None:
            raise RuntimeError("the grounding verifier needs the run's chunks in ctx.extras['chunks'] "
                               "({chunk.id: Chunk}); it only applies to document suites")
        sources = _Sources(chunks, ctx.extras.get("documents"))
        verdicts = [self.check(item, sources) for item in items]
        ctx.progress(self.name, len(items))
        return verdicts

    def check(self, item: Item, sources: _Sources) -> Verdict:
        """The verdict for one item."""
        cfg = self.config
        if not item.citations:
            return self.keep(False, reason="no_citations")
        scores: list[float] = []
        for n, cit in enumerate(item.citations):
            if cit.chunk_id is None or cit.chunk_id not in sources.chunks:
                return self.keep(False, reason="unknown_chunk", citation=n, chunk_id=cit.chunk_id)
            norm_quote = normalise_for_match(cit.quote)
            if len(norm_quote) < cfg.min_quote_chars:
                return self.keep(False, reason="quote_too_short", citation=n, quote=cit.quote,
                                 min_chars=cfg.min_quote_chars)
            score = _quote_score(norm_quote, sources.norm_chunk(cit.chunk_id), cfg.threshold)
            if score < cfg.threshold:
                # With score_cutoff rapidfuzz reports 0 below the cutoff; the real best
                # score is worth its cost here (failures only) for the reviewer.
                best = fuzz.partial_ratio(norm_quote, sources.norm_chunk(cit.chunk_id))
                return self.keep(False, score=round(best / 100, 4), reason="quote_not_found", citation=n,
                                 quote=cit.quote[:300], chunk_id=cit.chunk_id, best_score=round(best, 2),
                                 threshold=cfg.threshold)
            if (cfg.check_offsets and cit.start is not None and cit.end is not None
                    and not _offsets_ok(cit, sources.chunks[cit.chunk_id], norm_quote, sources, cfg.threshold)):
                return self.keep(False, reason="offset_mismatch", citation=n, start=cit.start, end=cit.end,
                                 chunk_id=cit.chunk_id)
            scores.append(score)
        details: dict[str, Any] = {"quote_scores": [round(s, 2) for s in scores]}
        if cfg.answer_support_threshold > 0:
            support = support_score(claim_text(item), " ".join(c.quote for c in item.citations))
            details["answer_support"] = None if support is None else round(support, 4)
            if support is not None and support < cfg.answer_support_threshold:
                return self.keep(False, score=round(support, 4), reason="answer_unsupported",
                                 threshold=cfg.answer_support_threshold, **details)
        return self.keep(True, score=round(min(scores) / 100, 4), **details)
