"""Citation grounding: every quote is in its cited chunk, and the quotes support the answer.

No model is involved. A quote is looked up in its chunk after normalisation (NFKC,
case-folding, whitespace collapsed): an exact substring scores 100, otherwise
rapidfuzz's `partial_ratio` (best-aligned window) must reach the threshold. Offsets, when
the citation has them, must point at the same text in the document. Answer support is a
cheap lexical check: most content words of the answer (for MCQ the correct option, for
true/false the statement) must occur in the quotes.

A true/false item whose answer is "False" states a fact with one detail changed, so its quotes
must *contradict* it: the statement is still about the quoted fact (the support test above),
and the change shows (`benchsmith.text.contradiction_signal`: the recorded perturbation holds,
a number differs, or a negation was added or removed). A false statement that its quotes simply
support is 'false_statement_supported'. A "True" statement with a number its quotes do not have
is 'statement_contradicted'.

The same quote locator is used by the document generator to turn a model's quote into
document offsets, so what the generator cites is what this stage checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field
from rapidfuzz import fuzz

from benchsmith.documents import Chunk, Document
from benchsmith.quotes import DEFAULT_SUPPORT_THRESHOLD, claim_text, normalise_for_match, support_score
from benchsmith.records import Citation, Item, Verdict
from benchsmith.stages import ItemVerifier, StageConfig, StageContext, verifiers
from benchsmith.text import contradiction_signal, normalize_text, numbers_in, numbers_match

# -- the stage ----------------------------------------------------------------------------

GroundingReason = Literal["no_citations", "unknown_chunk", "quote_too_short", "quote_not_found",
                          "offset_mismatch", "answer_unsupported", "false_statement_supported",
                          "statement_contradicted"]


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
        default=DEFAULT_SUPPORT_THRESHOLD, ge=0.0, le=1.0,
        description="Share of the answer's content words that must occur in the quotes (0 disables the check).")
    check_truth: bool = Field(
        default=True,
        description="True/false items: a 'False' statement must be contradicted by its quotes (a recorded "
                    "perturbation, a different number, an added or removed negation), and a 'True' statement "
                    "must have no number its quotes lack.")


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
class Grounding(ItemVerifier):
    """Drops items whose quotes are not in their cited chunks, or whose answer the quotes do not support."""

    Config: ClassVar[type[StageConfig]] = GroundingConfig
    scope: ClassVar[Literal["item", "set"]] = "item"
    config: GroundingConfig

    def prepare(self, items: Sequence[Item], ctx: StageContext) -> None:
        if ctx.corpus is None:
            raise RuntimeError("the grounding verifier needs the run's document chunks (ctx.corpus); "
                               "it only applies to document suites")
        self._sources = _Sources(ctx.corpus.chunks_by_id, ctx.corpus.documents_by_id)

    def check(self, item: Item, ctx: StageContext) -> Verdict:
        """The verdict for one item."""
        cfg, sources = self.config, self._sources
        if not item.citations:
            return self.verdict(False, reason="no_citations")
        scores: list[float] = []
        for n, cit in enumerate(item.citations):
            if cit.chunk_id is None or cit.chunk_id not in sources.chunks:
                return self.verdict(False, reason="unknown_chunk", citation=n, chunk_id=cit.chunk_id)
            norm_quote = normalise_for_match(cit.quote)
            if len(norm_quote) < cfg.min_quote_chars:
                return self.verdict(False, reason="quote_too_short", citation=n, quote=cit.quote,
                                 min_chars=cfg.min_quote_chars)
            score = _quote_score(norm_quote, sources.norm_chunk(cit.chunk_id), cfg.threshold)
            if score < cfg.threshold:
                # With score_cutoff rapidfuzz reports 0 below the cutoff; the real best
                # score is worth its cost here (failures only) for the reviewer.
                best = fuzz.partial_ratio(norm_quote, sources.norm_chunk(cit.chunk_id))
                return self.verdict(False, score=round(best / 100, 4), reason="quote_not_found", citation=n,
                                 quote=cit.quote[:300], chunk_id=cit.chunk_id, best_score=round(best, 2),
                                 threshold=cfg.threshold)
            if (cfg.check_offsets and cit.start is not None and cit.end is not None
                    and not _offsets_ok(cit, sources.chunks[cit.chunk_id], norm_quote, sources, cfg.threshold)):
                return self.verdict(False, reason="offset_mismatch", citation=n, start=cit.start, end=cit.end,
                                 chunk_id=cit.chunk_id)
            scores.append(score)
        details: dict[str, Any] = {"quote_scores": [round(s, 2) for s in scores]}
        if cfg.answer_support_threshold > 0:
            support = support_score(claim_text(item), " ".join(c.quote for c in item.citations))
            details["answer_support"] = None if support is None else round(support, 4)
            if support is not None and support < cfg.answer_support_threshold:
                return self.verdict(False, score=round(support, 4), reason="answer_unsupported",
                                 threshold=cfg.answer_support_threshold, **details)
        if cfg.check_truth and item.kind == "true_false":
            problem = self._truth_problem(item, " ".join(c.quote for c in item.citations), details)
            if problem is not None:
                return self.verdict(False, score=0.0, reason=problem, **details)
        return self.verdict(True, score=round(min(scores) / 100, 4), **details)

    @staticmethod
    def _truth_problem(item: Item, evidence: str, details: dict[str, Any]) -> GroundingReason | None:
        """Why the quotes do not bear out the item's truth value (details gain the evidence), or None."""
        statement = claim_text(item)
        truth = normalize_text(item.reference_answer)
        if truth == "false":
            pert = item.metadata.get("perturbation")
            pert = pert if isinstance(pert, Mapping) else {}
            original, changed = str(pert.get("original") or ""), str(pert.get("changed") or "")
            signal = contradiction_signal(statement, evidence, original=original or None, changed=changed or None)
            details["contradiction"] = signal
            if original and changed and changed in statement:
                # The fact before it was perturbed: the quotes should support it.
                restored = support_score(statement.replace(changed, original, 1), evidence)
                details["original_support"] = None if restored is None else round(restored, 4)
            return "false_statement_supported" if signal is None else None
        if truth == "true":
            have = numbers_in(evidence)
            missing = [n.value for n in numbers_in(statement) if not any(numbers_match(n, e) for e in have)]
            if missing:
                details["numbers_not_in_quotes"] = missing
                return "statement_contradicted"
        return None
