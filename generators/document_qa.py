"""The `document_qa` generator: grounded questions with citations from document chunks.

Question types: single-hop (one chunk), multi-hop (two or three chunks of one document)
and cross-document (one chunk from each of two documents). Item kinds: open answer,
multiple choice (the model writes the answer and distractors; we shuffle) and
true/false. Each LLM call returns quotes tagged with their passage, and each quote is
located in its chunk to give a citation with *document* offsets. For small models that
cannot quote, `evidence: facts` turns it round: the generator picks a sentence per chunk,
the model asks about it, and the sentence is the citation.

Sampling is coverage-aware and a pure function of (chunks, n, round, random seed): requests
go to documents round-robin, so a 300-page manual gets no more requests per round than a
one-page memo; a per-document quota caps any one document; within a document, chunks are
visited in a fixed seeded order from an offset that moves on with each round, so later
rounds ask about chunks earlier rounds did not use (exactly so while `n` stays the same).
"""

from __future__ import annotations

import asyncio
import random
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, Field, field_validator

from benchsmith.aio import gather_or_cancel
from benchsmith.documents import Chunk
from benchsmith.errors import BudgetExhausted, LLMOutputError, LLMRequestError
from benchsmith.generators.document_prompts import (
    ITEM_KINDS,
    QUESTION_TYPES,
    Difficulty,
    DocItemKind,
    QuestionType,
    build_messages,
    output_schema,
    passage_tag,
)
from benchsmith.quotes import DEFAULT_SUPPORT_THRESHOLD, QuoteMatch, content_words, locate_quote, support_score
from benchsmith.records import Citation, Item, Lineage, content_hash
from benchsmith.stages import GenerationFailure, GenerationResult, Generator, StageConfig, StageContext, generators
from benchsmith.text import Number, clean_text, contradiction_signal, is_placeholder, numbers_in, numbers_match

if TYPE_CHECKING:
    from benchsmith.llm.client import LLMClient

LETTERS = "ABCDEFGH"
# Evidence is added until the grounding verifier's default answer-support test would pass.
ANSWER_SUPPORT_THRESHOLD: float = DEFAULT_SUPPORT_THRESHOLD


def _weights(value: Any, known: Sequence[str], what: str) -> dict[str, float]:
    """A list of names (equal weights) or a {name: weight} map, checked against `known`."""
    if isinstance(value, (list, tuple)):
        value = {name: 1.0 for name in value}
    if not isinstance(value, dict) or not value:
        raise ValueError(f"give {what} as a list or a {{name: weight}} map; known: {', '.join(known)}")
    for name, w in value.items():
        if name not in known:
            raise ValueError(f"unknown {what[:-1]} {name!r}; known: {', '.join(known)}")
        if not isinstance(w, (int, float)) or w < 0:
            raise ValueError(f"weight of {name!r} must be a number >= 0, got {w!r}")
    if sum(value.values()) <= 0:
        raise ValueError(f"at least one of the {what} needs a weight above 0")
    return {name: float(w) for name, w in value.items()}


class DocumentQAConfig(StageConfig):
    """Parameters of the `document_qa` generator."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    question_types: dict[QuestionType, float] = Field(
        default_factory=lambda: {"single_hop": 0.5, "multi_hop": 0.3, "cross_document": 0.2})
    """Question types and their weights (a list means equal weights): single_hop (one chunk), multi_hop (2-3
    chunks of one document), cross_document (chunks of two documents; skipped with a single document)."""
    kinds: dict[DocItemKind, float] = Field(default_factory=lambda: {"open_qa": 0.5, "mcq": 0.3, "true_false": 0.2})
    """Item kinds and their weights (a list means equal weights): open_qa, mcq, true_false."""
    difficulty: Difficulty = "medium"
    """Difficulty asked for in the prompt: easy, medium or hard."""
    per_document_quota: int = Field(default=20, ge=1)
    """Most items per document in one run (counted for every document an item draws on). Earlier rounds'
    items count when the flow passes `ctx.document_item_counts`."""
    n_choices: int = Field(default=4, ge=3, le=len(LETTERS))
    """Options per multiple-choice item (the correct one and n_choices - 1 distractors)."""
    max_hops: int = Field(default=3, ge=2, le=4)
    """Most chunks a multi-hop question draws on (at least 2)."""
    quote_match_threshold: float = Field(default=90.0, ge=50.0, le=100.0)
    """rapidfuzz partial_ratio a model's quote must reach to be cited with offsets; keep it at or above the
    grounding verifier's threshold. Text found in no passage is left out when other quotes were found
    (listed in metadata['unlocated_quotes']), else kept without offsets so that grounding drops the item."""
    evidence: Literal["quotes", "facts"] = "quotes"
    """Where the citations come from. 'quotes': the model copies the supporting sentences and each is located
    in its passage. 'facts': the generator picks one sentence per passage (seeded, preferring sentences with
    numbers) and asks the model about it; those sentences are the citations. Use 'facts' for small models that
    cannot quote (the embedded SmolLM2-135M): their quotes are mostly invented."""
    add_evidence: bool = True
    """When the model's located quotes do not support its answer (too few of the answer's words occur in
    them: the grounding verifier's answer-support test), also cite the passage sentences that do, if any.
    Small models often quote a heading or the wrong sentence; added citations are verbatim source text and
    are counted in metadata['added_evidence']. Answers that no passage sentence supports stay unsupported."""
    item_language: str | None = None
    """Natural language of the items, e.g. 'French' (default: whatever the documents use)."""
    max_tokens: int | None = Field(default=None, ge=16, le=32768)
    """Completion token limit per call (default: the generator endpoint's max_tokens)."""
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    """Sampling temperature (default: the generator endpoint's temperature)."""

    @field_validator("question_types", mode="before")
    @classmethod
    def _types(cls, value: Any) -> dict[str, float]:
        return _weights(value, QUESTION_TYPES, "question_types")

    @field_validator("kinds", mode="before")
    @classmethod
    def _kinds(cls, value: Any) -> dict[str, float]:
        return _weights(value, ITEM_KINDS, "kinds")


@dataclass(frozen=True)
class PlannedRequest:
    """One LLM call: which chunks, which question type and kind."""

    index: int
    question_type: QuestionType
    kind: DocItemKind
    chunks: tuple[Chunk, ...]
    cache_salt: str
    correct_position: int | None = None
    """MCQ: where the correct option goes after shuffling (cycled, so positions are spread evenly)."""
    truth: bool | None = None
    """True/false: whether the model is asked for a true or a false statement (alternating)."""
    facts: tuple[tuple[int, int], ...] = ()
    """evidence='facts': per chunk, the (start, end) of the sentence to ask about, relative to the chunk."""


def _by_document(chunks: Sequence[Chunk]) -> OrderedDict[str, list[Chunk]]:
    """Chunks grouped per document; documents by path, chunks by offset (input order does not matter)."""
    groups: dict[str, list[Chunk]] = {}
    for c in chunks:
        groups.setdefault(c.document_id, []).append(c)
    ordered = sorted(groups.items(), key=lambda kv: (kv[1][0].document_path, kv[0]))
    return OrderedDict((doc_id, sorted(cs, key=lambda c: (c.start, c.end, c.id))) for doc_id, cs in ordered)


def _seeded(*parts: Any) -> random.Random:
    return random.Random(int(content_hash(*parts), 16))


def plan_requests(chunks: Sequence[Chunk], n: int, round_index: int, random_seed: int, config: DocumentQAConfig,
                  used: Mapping[str, int] | None = None) -> list[PlannedRequest]:
    """Deterministic plan for up to `n` items over `chunks`.

    `used` maps document id → items already made from it in this run (the quota counts
    them). Fewer than `n` requests come back when every document's quota is spent.
    """
    docs = _by_document(chunks)
    if n <= 0 or not docs:
        return []
    doc_ids = list(docs)
    n_docs = len(doc_ids)
    left = {d: config.per_document_quota - int((used or {}).get(d, 0)) for d in doc_ids}
    rng = _seeded("document_qa-plan", random_seed, round_index)
    types = {t: w for t, w in config.question_types.items() if w > 0 and not (t == "cross_document" and n_docs < 2)}
    if not types:  # only cross_document was asked for, and there is one document
        types = {"multi_hop": 1.0}
    kinds = {k: w for k, w in config.kinds.items() if w > 0}

    # 1. Documents round-robin (from an offset that rotates with the round), types and kinds drawn.
    start = (_seeded("document_qa-offset", random_seed).randrange(n_docs) + round_index * n) % n_docs
    drafts: list[tuple[QuestionType, DocItemKind, list[str], int]] = []  # type, kind, documents, hops
    cursor = start
    while len(drafts) < n:
        doc = next((doc_ids[(cursor + k) % n_docs] for k in range(n_docs) if left[doc_ids[(cursor + k) % n_docs]] > 0),
                   None)
        if doc is None:
            break  # every quota is spent
        cursor = (doc_ids.index(doc) + 1) % n_docs
        qtype: QuestionType = rng.choices(list(types), weights=list(types.values()))[0]
        kind: DocItemKind = rng.choices(list(kinds), weights=list(kinds.values()))[0]
        hops = rng.randint(2, config.max_hops)
        members = [doc]
        if qtype == "cross_document":
            # The partner is the next document round the ring with quota left.
            partner = next((doc_ids[(cursor + k) % n_docs] for k in range(n_docs - 1)
                            if doc_ids[(cursor + k) % n_docs] != doc and left[doc_ids[(cursor + k) % n_docs]] > 0),
                           None)
            if partner is None:
                qtype = "multi_hop"
            else:
                members.append(partner)
        if qtype == "multi_hop":
            hops = min(hops, len(docs[doc]))
            if hops < 2:
                qtype = "single_hop"  # a one-chunk document still yields single-hop items
        for d in members:
            left[d] -= 1
        drafts.append((qtype, kind, members, hops if qtype == "multi_hop" else 1))

    # 2. Chunks: each document's chunks in a fixed seeded order, read from an offset that
    # moves on by this round's consumption, so consecutive rounds visit different chunks.
    need = {d: 0 for d in doc_ids}
    for _, _, members, hops in drafts:
        for d in members:
            need[d] += hops
    order = {d: docs[d][:] for d in doc_ids}
    for d in doc_ids:
        _seeded("document_qa-chunks", random_seed, d).shuffle(order[d])
    taken = {d: 0 for d in doc_ids}

    def take(d: str, k: int) -> list[Chunk]:
        size = len(order[d])
        base = round_index * need[d] + taken[d]
        taken[d] += k
        return [order[d][(base + j) % size] for j in range(k)]

    plan: list[PlannedRequest] = []
    # The correct option's position cycles over the round's MCQs; each round starts where the
    # previous one would have ended (exactly so when the kinds' shares hold), so positions stay
    # even over a run's rounds, not only within one round.
    mcq_share = kinds.get("mcq", 0.0) / sum(kinds.values())
    mcq_offset = (_seeded("document_qa-mcq", random_seed).randrange(config.n_choices)
                  + round_index * round(n * mcq_share)) % config.n_choices
    n_mcq = n_tf = 0
    for i, (qtype, kind, members, hops) in enumerate(drafts):
        picked = [c for d in members for c in take(d, hops)]
        if qtype == "multi_hop":
            picked.sort(key=lambda c: c.start)  # read in document order
        correct = truth = None
        if kind == "mcq":
            correct = (mcq_offset + n_mcq) % config.n_choices
            n_mcq += 1
        elif kind == "true_false":
            truth = (n_tf + round_index) % 2 == 0
            n_tf += 1
        salt = f"document_qa/seed={random_seed}/round={round_index}/request={i}"
        facts: tuple[tuple[int, int], ...] = ()
        if config.evidence == "facts":
            spans = [pick_fact(c, _seeded("document_qa-fact", random_seed, round_index, i, c.id)) for c in picked]
            # A passage with no usable sentence (a table, a list of names): the model quotes instead.
            facts = tuple(s for s in spans if s is not None) if all(s is not None for s in spans) else ()
        plan.append(PlannedRequest(index=i, question_type=qtype, kind=kind, chunks=tuple(picked), cache_salt=salt,
                                   correct_position=correct, truth=truth, facts=facts))
    return plan


# A sentence starts after whitespace and ends at . ! or ? before whitespace ("3.0" does not
# end it); it may run on over a single line break (PDF text wraps lines) but not into a
# blank line, a list item or a numbered heading.
_FACT = re.compile(r"(?<!\S)[^\s.!?](?:[^.!?\n]|[.!?](?=\S)|\n(?![\n\-*•#\d]))*[.!?](?=\s|$)")
_HEADING_LINE = re.compile(r"^[^\n.!?:]{1,60}\n", re.MULTILINE)
_BULLET = re.compile(r"[-*•]\s+")


def fact_candidates(text: str) -> list[tuple[int, int]]:
    """Spans of `text` worth asking about: whole sentences (6+ content words, not too long), else,
    for passages without any (tables, specification lists), lines with 4+ content words."""
    out = []
    for m in _FACT.finditer(text):
        start, end = m.start(), m.end()
        while (head := _HEADING_LINE.match(text, start)) is not None and head.end() < end:
            start = head.end()  # headings glued to the sentence below them
        bullet = _BULLET.match(text, start)
        if bullet is not None:
            start = bullet.end()
        span = text[start:end]
        if 40 <= len(span) <= 400 and not span.endswith("?") and len(content_words(span)) >= 6:
            out.append((start, end))
    if not out:
        for m in re.finditer(r"[^\n]+", text):
            line = m.group()
            if 20 <= len(line.strip()) <= 300 and not line.rstrip().endswith("?") and len(content_words(line)) >= 4:
                lead = len(line) - len(line.lstrip())
                out.append((m.start() + lead, m.start() + len(line.rstrip())))
    return out


def pick_fact(chunk: Chunk, rng: random.Random) -> tuple[int, int] | None:
    """A sentence of the chunk to ask about; sentences with numbers are twice as likely (they make checkable facts)."""
    spans = fact_candidates(chunk.text)
    if not spans:
        return None
    weights = [2.0 if any(ch.isdigit() for ch in chunk.text[s:e]) else 1.0 for s, e in spans]
    return rng.choices(spans, weights=weights)[0]


@generators.register("document_qa")
class DocumentQA(Generator):
    """Grounded single-hop, multi-hop and cross-document questions (open, MCQ, true/false) with citations."""

    Config = DocumentQAConfig
    config: DocumentQAConfig

    def plan(self, chunks: Sequence[Chunk], n: int, round_index: int, random_seed: int = 0,
             used: Mapping[str, int] | None = None) -> list[PlannedRequest]:
        """The requests `generate` would send, without sending them."""
        return plan_requests(chunks, n, round_index, random_seed, self.config, used)

    async def generate(self, seeds: Sequence[Any], n: int, round_index: int, ctx: StageContext,
                       shard: tuple[int, int] = (0, 1)) -> GenerationResult:
        """Make up to `n` items from the chunks in `seeds`; failed calls become `GenerationFailure`s."""
        chunks = list(seeds)
        bad = next((c for c in chunks if not isinstance(c, Chunk)), None)
        if bad is not None:
            raise TypeError(f"document_qa generates from document chunks, got a {type(bad).__name__}; "
                            "use it in a suite with `documents:` instead of `seeds:`")
        plan = self.shard_of(self.plan(chunks, n, round_index, ctx.random_seed, ctx.document_item_counts), shard)
        if not plan:
            return GenerationResult()
        client = ctx.client("generator")
        budget_spent = asyncio.Event()
        outcomes = await gather_or_cancel([self._run(req, round_index, client, ctx, budget_spent) for req in plan])
        result = GenerationResult()
        for out in outcomes:
            if isinstance(out, Item):
                result.items.append(out)
            elif out is not None:
                result.failures.append(out)
        return result

    async def _run(self, req: PlannedRequest, round_index: int, client: LLMClient, ctx: StageContext,
                   budget_spent: asyncio.Event) -> Item | GenerationFailure | None:
        cfg = self.config
        if budget_spent.is_set():
            return None
        tag = passage_tag(req.chunks, req.cache_salt)
        facts = [c.text[s:e] for c, (s, e) in zip(req.chunks, req.facts, strict=False)]
        messages = build_messages(chunks=req.chunks, question_type=req.question_type, kind=req.kind,
                                  difficulty=cfg.difficulty, tag=tag, n_choices=cfg.n_choices, truth=req.truth,
                                  item_language=cfg.item_language, facts=facts)
        min_quotes = len(req.chunks) if req.question_type != "single_hop" else 1
        schema = output_schema(req.kind, len(req.chunks), min_quotes=min_quotes, n_choices=cfg.n_choices,
                               with_quotes=not facts, truth=req.truth)
        try:
            out = await client.complete_json(messages, schema, schema_name=f"document_{req.kind}",
                                             temperature=cfg.temperature, max_tokens=cfg.max_tokens,
                                             cache_salt=req.cache_salt)
        except BudgetExhausted:
            budget_spent.set()
            return None
        except (LLMOutputError, LLMRequestError) as err:
            ctx.progress(self.name, 1)
            return _failure(req, err.reason, str(err))
        ctx.progress(self.name, 1)
        return self._make_item(out, req, round_index, client, ctx)

    def _make_item(self, out: dict[str, Any], req: PlannedRequest, round_index: int, client: LLMClient,
                   ctx: StageContext) -> Item | GenerationFailure:
        cfg = self.config
        metadata: dict[str, Any] = {
            "question_type": req.question_type,
            "document_ids": list(dict.fromkeys(c.document_id for c in req.chunks)),
            "chunk_ids": [c.id for c in req.chunks],
            "difficulty": cfg.difficulty,
        }
        choices: list[str] = []
        truth = req.truth is not False
        if req.kind == "true_false":
            statement = _TRUTH_LABEL.sub("", clean_text(str(out.get("statement", ""))), count=1)
            if not statement or is_placeholder(statement):
                return _failure(req, "empty_output" if not statement else "copied_example", statement[:200])
            # The answer is the plan's truth value, not the model's say: the plan balances True and False.
            question, answer, claim = f"True or false: {statement}", "True" if truth else "False", statement
            choices = ["True", "False"]
            metadata.update(statement=statement, truth=truth)
        else:
            question = clean_text(str(out.get("question", "")))
            answer = claim = clean_text(str(out.get("answer", "")))
            if not question or not answer:
                return _failure(req, "empty_output", f"question={question!r}, answer={answer!r}")
            if is_placeholder(question) or is_placeholder(answer):
                return _failure(req, "copied_example", f"{question[:100]} / {answer[:100]}")
            if req.kind == "mcq":
                distractors = [clean_text(str(d)) for d in out.get("distractors") or []]
                if any(is_placeholder(d) for d in distractors):
                    return _failure(req, "copied_example", f"distractors: {distractors}"[:300])
                choices = shuffle_options(answer, distractors, req.correct_position or 0,
                                          _seeded("document_qa-shuffle", req.cache_salt))
                idx = choices.index(answer)
                metadata.update(correct_index=idx, correct_letter=LETTERS[idx])
        if req.facts:
            found = CitationResult([Citation(quote=c.text[s:e], document=c.document_path, section=_section_label(c),
                                             chunk_id=c.id, start=c.start + s, end=c.start + e)
                                    for c, (s, e) in zip(req.chunks, req.facts, strict=True)],
                                   [100.0] * len(req.facts), [])
            metadata["evidence"] = "facts"
        else:
            found = build_citations(out.get("quotes") or [], req.chunks, cfg.quote_match_threshold)
        if not found.citations:
            return _failure(req, "no_quotes", "the model gave no usable quote")
        citations = list(found.citations)
        scores = list(found.scores)
        if cfg.add_evidence and all(c.start is not None for c in citations):
            added = supporting_evidence(claim, req.chunks, citations, ANSWER_SUPPORT_THRESHOLD)
            citations += added
            scores += [100.0] * len(added)
            if added:
                metadata["added_evidence"] = len(added)
        if req.kind == "true_false" and not truth:
            falsified = falsify(claim, " ".join(c.quote for c in citations), out,
                                _seeded("document_qa-falsify", req.cache_salt))
            if falsified is None:
                return _failure(req, "not_falsified", f"no detail of {claim[:200]!r} could be changed")
            statement, metadata["perturbation"] = falsified
            question = f"True or false: {statement}"
            metadata["statement"] = statement
        metadata["quote_scores"] = scores
        if found.unlocated:
            metadata["unlocated_quotes"] = [t[:300] for t in found.unlocated]
        params: dict[str, Any] = {
            "temperature": cfg.temperature if cfg.temperature is not None else getattr(client, "temperature", None),
            "max_tokens": cfg.max_tokens if cfg.max_tokens is not None else getattr(client, "max_tokens", None),
            "round": round_index, "request": req.index, "kind": req.kind, "difficulty": cfg.difficulty,
            "random_seed": ctx.random_seed, "cache_salt": req.cache_salt,
        }
        if req.kind == "mcq":
            params["n_choices"] = cfg.n_choices
        if cfg.item_language:
            metadata["language"] = cfg.item_language
        first = req.chunks[0].id
        lineage = Lineage(generator=self.name, operator=req.question_type, model=client.model,
                          endpoint=client.base_url, params=params, seed_id=first)
        return Item.create(kind=req.kind, prompt=question, reference_answer=answer, choices=choices,
                           citations=citations, seed_id=first, lineage=lineage, metadata=metadata)


def shuffle_options(answer: str, distractors: Sequence[str], correct_position: int, rng: random.Random) -> list[str]:
    """Options with the distractors in random order and the answer at `correct_position`."""
    wrong = list(distractors)
    rng.shuffle(wrong)
    pos = min(max(correct_position, 0), len(wrong))
    return [*wrong[:pos], answer, *wrong[pos:]]


def _section_label(chunk: Chunk) -> str | None:
    if chunk.section:
        return chunk.section
    if chunk.page_start is not None:
        if chunk.page_end in (None, chunk.page_start):
            return f"p. {chunk.page_start}"
        return f"pp. {chunk.page_start}-{chunk.page_end}"
    return None


@dataclass
class CitationResult:
    """What became of a model's quotes."""

    citations: list[Citation]
    scores: list[float | None]
    """Match score (0-100) per citation; None for a quote that was not found."""
    unlocated: list[str]
    """Quote text found in no passage and left out because other quotes were found."""


# Small models prefix the statement with its own verdict: "True: The filter ...".
# "True; the request body failed validation." came out of the embedded model, too.
_TRUTH_LABEL = re.compile(r"^\s*(?:true|false)\s*[:;,.\-–]\s*", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _best_match(text: str, order: Sequence[Chunk], threshold: float) -> tuple[Chunk, QuoteMatch] | None:
    best: tuple[Chunk, QuoteMatch] | None = None
    for chunk in order:
        m = locate_quote(text, chunk.text, threshold=threshold)
        if m is not None and (best is None or m.score > best[1].score):
            best = (chunk, m)
            if m.score >= 100.0:
                break
    return best


def build_citations(quotes: Sequence[Any], chunks: Sequence[Chunk], threshold: float) -> CitationResult:
    """Citations for the model's quotes, with document offsets.

    A quote is looked up in the passage it names first, then in the other passages
    (models mislabel passages); ellipses split it into separately located parts, and a
    part that is not found whole is tried sentence by sentence (small models run on past
    the source sentence with invented text). A located quote is replaced by the exact
    source text, so every citation is verbatim. Text found nowhere is left out when
    anything else was found (and listed in `unlocated`); when nothing was found it is kept
    as written, without offsets, so that the grounding verifier drops the item and says why.
    """
    located: list[tuple[Citation, float]] = []
    missing: list[tuple[str, Chunk]] = []
    seen: set[tuple[str, int, int]] = set()
    for q in quotes:
        if not isinstance(q, Mapping):
            continue
        try:
            named = int(q.get("passage", 1)) - 1
        except (TypeError, ValueError):
            named = 0
        order = ([chunks[named]] if 0 <= named < len(chunks) else []) + [
            c for i, c in enumerate(chunks) if i != named]
        for part in _split_ellipsis(str(q.get("text", ""))):
            if is_placeholder(part):
                continue
            whole = _best_match(part, order, threshold)
            pieces = [(part, whole)] if whole is not None else [
                (s, _best_match(s, order, threshold)) for s in _SENTENCE_END.split(part) if s.strip()]
            for text, found in pieces:
                if found is None:
                    missing.append((text, order[0]))
                    continue
                chunk, m = found
                if (chunk.id, m.start, m.end) in seen:
                    continue
                seen.add((chunk.id, m.start, m.end))
                located.append((Citation(quote=chunk.text[m.start:m.end], document=chunk.document_path,
                                         section=_section_label(chunk), chunk_id=chunk.id,
                                         start=chunk.start + m.start, end=chunk.start + m.end), round(m.score, 2)))
    if located:
        return CitationResult([c for c, _ in located], [s for _, s in located], [t for t, _ in missing])
    return CitationResult([Citation(quote=t, document=c.document_path, section=_section_label(c), chunk_id=c.id)
                           for t, c in missing], [None] * len(missing), [])


_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


def supporting_evidence(claim: str, chunks: Sequence[Chunk], citations: Sequence[Citation], threshold: float,
                        max_added: int = 2) -> list[Citation]:
    """Passage sentences to cite so that the quotes support `claim`, or [] when none get there.

    Greedy: add the sentence that raises the answer-support score most, at most
    `max_added` times, and only if the score then reaches `threshold`.
    """
    evidence = " ".join(c.quote for c in citations)
    current = support_score(claim, evidence)
    if current is None or current >= threshold:
        return []
    have = {(c.chunk_id, c.start, c.end) for c in citations}
    candidates: list[tuple[Chunk, int, int]] = []
    for chunk in chunks:
        for m in _SENTENCE.finditer(chunk.text):
            start = m.start() + len(m.group()) - len(m.group().lstrip())
            end = m.end() - (len(m.group()) - len(m.group().rstrip()))
            if end - start >= 15 and (chunk.id, chunk.start + start, chunk.start + end) not in have:
                candidates.append((chunk, start, end))
    added: list[tuple[Chunk, int, int]] = []
    for _ in range(max_added):
        scored = [(support_score(claim, f"{evidence} {c.text[s:e]}") or 0.0, (c, s, e)) for c, s, e in candidates
                  if (c, s, e) not in added]
        if not scored:
            break
        best_score, best = max(scored, key=lambda x: x[0])
        if best_score <= current:
            break
        added.append(best)
        evidence += " " + best[0].text[best[1]:best[2]]
        current = best_score
        if current >= threshold:
            break
    if current < threshold:
        return []
    return [Citation(quote=c.text[s:e], document=c.document_path, section=_section_label(c), chunk_id=c.id,
                     start=c.start + s, end=c.start + e) for c, s, e in added]


# -- false statements: a fact with one detail changed --------------------------------------

_AUXILIARY = re.compile(r"\b(is|are|was|were|can|must|will|should|may|has|have|does|do|did)\b(?!\s+not\b)",
                        re.IGNORECASE)
_UNNEGATE: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p, re.IGNORECASE), r) for p, r in (
    (r"\b(can)not\b", r"\1"), (r"\b(ca)n't\b", r"\1n"), (r"\bwon't\b", "will"), (r"\b(\w+)n't\b", r"\1"),
    (r"\b(is|are|was|were|can|must|will|should|may|has|have|does|do|did)\s+not\b", r"\1"), (r"\bnever\s+", "")))


def falsify(statement: str, evidence: str, out: Mapping[str, Any], rng: random.Random
            ) -> tuple[str, dict[str, Any]] | None:
    """The false statement to publish and its perturbation record, or None when none can be made.

    The model was asked to change one detail of a fact and to say what it changed. When its
    statement is contradicted by the evidence (`contradiction_signal`) it is kept (`by: model`).
    Small models mostly restate the fact instead; then, while the statement is still about
    the evidence, the generator changes one detail itself (`by: generator`): a number the
    evidence has becomes another, else a negation is added or removed. A statement that is
    not about the evidence is kept as the model wrote it: grounding drops it ('answer_unsupported').
    """
    original, changed = clean_text(str(out.get("original") or "")), clean_text(str(out.get("changed") or ""))
    signal = contradiction_signal(statement, evidence, original=original or None, changed=changed or None)
    support = support_score(statement, evidence)
    about_evidence = support is None or support >= ANSWER_SUPPORT_THRESHOLD
    if signal is not None or not about_evidence:
        record: dict[str, Any] = {"by": "model", "signal": signal}
        if signal == "perturbation":
            record.update(original=original, changed=changed)
        return statement, record
    made = perturb(statement, evidence, rng)
    if made is None:
        return None
    new, orig, chg, signal = made
    return new, {"by": "generator", "original": orig, "changed": chg, "signal": signal,
                 "model_statement": statement[:500]}


def _other_number(text: str, n: Number, evidence_numbers: Sequence[Number]) -> str | None:
    """A different value for the number `n` (written like it), one the evidence does not have."""
    raw = text[n.start:n.end]
    sign = raw[0] if raw[:1] in "-−+" else ""
    body = raw[len(sign):]
    pct = ""
    if n.percent:
        cut = len(body.rstrip("%").rstrip().removesuffix("percent").rstrip())
        body, pct = body[:cut], body[cut:]
    if n.decimals is None:  # a fraction: leave it alone
        return None
    whole, _, frac = body.replace(",", "").partition(".")
    value = int(whole or "0")
    is_year = n.decimals == 0 and 1900 <= value <= 2100 and not n.percent
    for step in range(1, 6):
        new = value + step if is_year or frac else (value * (step + 1) if value >= 2 else value + step + 1)
        if n.percent and new > 100:
            new = max(value // (step + 1), 1) if value > 1 else value + step
        new_text = f"{new:,}" if "," in body else str(new)
        candidate = new_text + (f".{frac}" if frac else "")
        parsed = numbers_in(candidate)
        if parsed and parsed[0].value != abs(n.value) and not any(numbers_match(parsed[0], e)
                                                                    for e in evidence_numbers):
            return sign + candidate + pct
    return None


def perturb(statement: str, evidence: str, rng: random.Random) -> tuple[str, str, str, str] | None:
    """(false statement, original words, changed words, contradiction signal) for a statement that
    restates the evidence, or None when it has no number and no verb to negate."""
    text = unicodedata.normalize("NFKC", statement)
    ev_numbers = numbers_in(evidence)
    shared = [n for n in numbers_in(text) if any(numbers_match(n, e) for e in ev_numbers)]
    rng.shuffle(shared)
    for n in shared:
        new = _other_number(text, n, ev_numbers)
        if new is not None:
            out = text[:n.start] + new + text[n.end:]
            signal = contradiction_signal(out, evidence)
            if signal is not None:
                return out, text[n.start:n.end], new, signal
    for pattern, repl in _UNNEGATE:  # a negated statement loses its negation
        m = pattern.search(text)
        if m is not None:
            orig, chg = m.group(0), m.expand(repl)
            out = text[:m.start()] + chg + text[m.end():]
            break
    else:  # else the first auxiliary verb is negated
        aux = _AUXILIARY.search(text)
        if aux is None:
            return None
        orig = aux.group(1)
        chg = ("Cannot" if orig[0].isupper() else "cannot") if orig.lower() == "can" else f"{orig} not"
        out = text[:aux.start()] + chg + text[aux.end():]
    signal = contradiction_signal(out, evidence)
    return (out, orig, chg, signal) if signal is not None else None


def _split_ellipsis(text: str) -> list[str]:
    # Wrapping quotes and stray JSON brackets are not part of the quote.
    parts = [p.strip(" \t\n\"'“”{}[]") for p in text.replace("…", "...").split("...")]
    return [p for p in parts if p]


def _failure(req: PlannedRequest, reason: str, detail: str) -> GenerationFailure:
    return GenerationFailure(seed_id=req.chunks[0].id if req.chunks else None, operator=req.question_type,
                             reason=reason, detail=detail[:500])


