"""Split a document into chunks by structure first, then by token budget, with overlap.

The text is cut recursively at the strongest boundary that makes pieces fit: headings (top
level first), then blank lines, line breaks, sentence ends, spaces, and at last every N tokens.
The pieces ("atoms") are packed greedily into chunks of at most `chunk_tokens - overlap_tokens`;
when a chunk is full it ends at the strongest boundary in its second half, so chunks tend to
end where sections and paragraphs end. A chunk that continues its section mid-way starts with
the last `overlap_tokens` of the previous chunk (snapped to a sentence or word start); one that
starts at a heading needs no overlap. `chunk.text == doc.text[chunk.start:chunk.end]` always.

Tokens are approximated by a regex (words and punctuation marks), close enough to BPE counts
for sizing prompts and free of any model download.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

from benchsmith.documents import Chunk, Document, Section
from benchsmith.records import content_hash

_TOKEN = re.compile(r"\w+|[^\w\s]")
_SEPARATORS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"\n[ \t]*\n\s*"), 20),                          # paragraphs
    # Sentence ends before line breaks: in PDF text a single newline is usually just where the
    # line wrapped, while a list item or table row without a full stop still breaks at its newline.
    (re.compile(r"[.!?…]+[\"'”’)\]]*\s+"), 12),                   # sentences
    (re.compile(r"\n\s*"), 8),                                     # lines
    (re.compile(r"[;:]\s+"), 6),                                   # clauses
    (re.compile(r"\s+"), 3),                                       # words
)
_TOP = 1000             # the document start
_HEADING_BASE = 100     # a heading of level L is a boundary of strength 100 - L
_TOKEN_CUT = 0          # a cut between tokens inside an endless run of text
# Where an overlap may start: after a sentence end or a line break.
# (A line start counts unless it continues a sentence in lower case, as wrapped PDF lines do.)
_SENTENCE_START = re.compile(r"(?:[.!?…]+[\"'”’)\]]*\s+(?=\S)|\n\s*(?=[^\s\-a-z]|- ))")


def estimate_tokens(text: str) -> int:
    """Approximate token count: words and punctuation marks (no tokenizer download)."""
    return sum(1 for _ in _TOKEN.finditer(text))


@dataclass(frozen=True)
class _Atom:
    start: int
    end: int
    tokens: int
    strength: int  # how strong the boundary before this atom is


class _Chunker:
    def __init__(self, doc: Document, budget: int) -> None:
        self.text = doc.text
        self.budget = budget
        # Token start offsets: the token count of any span is two bisections.
        self.starts = [m.start() for m in _TOKEN.finditer(self.text)]
        self.headings = sorted(doc.sections, key=lambda s: s.start)
        self.heading_starts = [s.start for s in self.headings]

    def tokens(self, start: int, end: int) -> int:
        return bisect_left(self.starts, end) - bisect_left(self.starts, start)

    def split(self, start: int, end: int, stage: int, strength: int, out: list[_Atom]) -> None:
        """Append atoms covering [start, end), each within the budget. Stage 0 = headings,
        1.. = the separators, past them = fixed token windows."""
        n = self.tokens(start, end)
        if n <= self.budget:
            if self.text[start:end].strip():
                out.append(_Atom(start, end, n, strength))
            return
        cuts: list[tuple[int, int]] = []  # (offset, strength)
        if stage == 0:
            lo = bisect_right(self.heading_starts, start)
            hi = bisect_left(self.heading_starts, end)
            inside = self.headings[lo:hi]
            if not inside:
                self.split(start, end, 1, strength, out)
                return
            top = min(s.level for s in inside)
            cuts = [(s.start, _HEADING_BASE - top) for s in inside if s.level == top]
            next_stage = 0  # each piece may hold deeper headings
        elif stage <= len(_SEPARATORS):
            pattern, sep_strength = _SEPARATORS[stage - 1]
            cuts = [(m.end(), sep_strength) for m in pattern.finditer(self.text, start, end)
                    if start < m.end() < end]
            next_stage = stage + 1
            if not cuts:
                self.split(start, end, stage + 1, strength, out)
                return
        else:
            first = bisect_left(self.starts, start)
            last = bisect_left(self.starts, end)
            cuts = [(self.starts[k], _TOKEN_CUT) for k in range(first + self.budget, last, self.budget)]
            next_stage = stage
        bounds = [(start, strength), *cuts, (end, 0)]
        for (s, st), (e, _) in itertools.pairwise(bounds):
            if e > s:
                self.split(s, e, next_stage, st, out)

    def pack(self, atoms: list[_Atom]) -> list[tuple[int, int, int]]:
        """Greedy packing into (start, end, strength-at-start) cores of at most `budget` tokens."""
        cores: list[tuple[int, int, int]] = []
        i = 0
        min_fill = self.budget / 2
        while i < len(atoms):
            j = i
            filled = 0
            while j < len(atoms) and filled + atoms[j].tokens <= self.budget:
                filled += atoms[j].tokens
                j += 1
            if j == i:  # cannot happen (atoms fit the budget), but never loop forever
                j = i + 1
            elif j < len(atoms):
                # Full: end before the strongest boundary that still leaves the chunk half full
                # (the latest of equally strong ones); the greedy end (before atom j) is a candidate.
                candidates = [(atoms[j].strength, j)]
                acc = 0
                for k in range(i + 1, j):
                    acc += atoms[k - 1].tokens
                    if acc >= min_fill:
                        candidates.append((atoms[k].strength, k))
                j = max(candidates)[1]
            cores.append((atoms[i].start, atoms[j - 1].end, atoms[i].strength))
            i = j
        return cores

    def overlap_start(self, prev_start: int, core_start: int, overlap: int) -> int:
        """Where a chunk starts so it repeats about `overlap` tokens of the previous one."""
        ci = bisect_left(self.starts, core_start)
        pi = bisect_left(self.starts, prev_start)
        # Start after the previous core's first token: a chunk never swallows the whole previous one.
        oi = max(pi + 1, ci - overlap)
        if oi >= ci:
            return core_start
        pos = self.starts[oi]
        if not self._sentence_start(pos):
            # Prefer the first sentence start in the overlap, unless it leaves too little overlap.
            m = _SENTENCE_START.search(self.text, pos, core_start)
            if m and self.tokens(m.end(), core_start) >= max(1, overlap // 4):
                pos = m.end()
        return pos

    def _sentence_start(self, pos: int) -> bool:
        if pos == 0 or (self.text[pos - 1] == "\n" and not self.text[pos].islower()):
            return True
        before = self.text[max(0, pos - 8):pos]
        return before[-1:].isspace() and before.rstrip()[-1:] in (".", "!", "?", "…")


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


class _SectionIndex:
    """Heading paths by offset in O(depth) after an O(n) pass: each section knows its parent (the
    nearest earlier section of a smaller level), and the innermost candidate for an offset is the
    last section starting at or before it."""

    def __init__(self, sections: Iterable[Section]) -> None:
        self.sections = sorted(sections, key=lambda s: (s.start, s.level))
        self.starts = [s.start for s in self.sections]
        self.parent: list[int] = []
        stack: list[int] = []
        for i, sec in enumerate(self.sections):
            while stack and self.sections[stack[-1]].level >= sec.level:
                stack.pop()
            self.parent.append(stack[-1] if stack else -1)
            stack.append(i)

    def path(self, offset: int) -> str | None:
        chain: list[str] = []
        i = bisect_right(self.starts, offset) - 1
        while i >= 0:
            sec = self.sections[i]
            if sec.start <= offset < sec.end:
                chain.append(sec.heading)
            i = self.parent[i]
        return " > ".join(reversed(chain)) or None


def section_path_at(doc: Document, offset: int) -> str | None:
    """The heading path governing `offset`, e.g. 'Handbook > Leave > Parental leave' (None before any heading)."""
    return _SectionIndex(doc.sections).path(offset)


def page_at(doc: Document, offset: int) -> int | None:
    """The 1-based page holding `offset` (an offset between two pages counts for the next page)."""
    return _page_at([p.end for p in doc.pages], doc, offset)


def _page_at(ends: list[int], doc: Document, offset: int) -> int | None:
    if not doc.pages:
        return None
    return doc.pages[min(bisect_right(ends, offset), len(doc.pages) - 1)].page


def chunk_document(doc: Document, chunk_tokens: int = 400, overlap_tokens: int = 50) -> list[Chunk]:
    """Split a document into chunks of at most `chunk_tokens` approximate tokens.

    Consecutive chunks within a section share about `overlap_tokens`. A document that fits
    the budget is one chunk; an empty one gives none. Ids hash the document id and offsets.
    """
    if chunk_tokens < 1:
        raise ValueError(f"chunk_tokens must be at least 1, got {chunk_tokens}")
    if not 0 <= overlap_tokens < chunk_tokens:
        raise ValueError(f"overlap_tokens must be in [0, chunk_tokens), got {overlap_tokens} with "
                         f"chunk_tokens={chunk_tokens}")
    text = doc.text
    start, end = _strip(text, 0, len(text))
    if start >= end:
        return []
    chunker = _Chunker(doc, chunk_tokens - overlap_tokens)
    if chunker.tokens(start, end) <= chunk_tokens:
        spans = [(start, end, start)]
    else:
        atoms: list[_Atom] = []
        chunker.split(start, end, 0, _TOP, atoms)
        spans = []
        prev_core = start
        for n, (core_start, core_end, strength) in enumerate(chunker.pack(atoms)):
            s, e = _strip(text, core_start, core_end)
            if s >= e:
                continue
            c_start = s
            if n and overlap_tokens and strength < _HEADING_BASE - 9:
                c_start = chunker.overlap_start(prev_core, s, overlap_tokens)
            spans.append((c_start, e, s))
            prev_core = s
    sections = _SectionIndex(doc.sections)
    page_ends = [p.end for p in doc.pages]
    chunks = []
    for c_start, c_end, core_start in spans:
        chunks.append(Chunk(
            id=content_hash("chunk", doc.id, c_start, c_end),
            document_id=doc.id,
            document_path=doc.path,
            document_title=doc.title,
            text=text[c_start:c_end],
            start=c_start,
            end=c_end,
            section=sections.path(core_start),
            page_start=_page_at(page_ends, doc, c_start),
            page_end=_page_at(page_ends, doc, c_end - 1),
            tokens=chunker.tokens(c_start, c_end),
        ))
    return chunks


def chunk_documents(docs: Iterable[Document], chunk_tokens: int = 400, overlap_tokens: int = 50) -> list[Chunk]:
    """Chunks of every document, in document order."""
    return [c for doc in docs for c in chunk_document(doc, chunk_tokens, overlap_tokens)]
