"""Chunking: structure first, then the token budget, with overlap; offsets exact, always."""

from __future__ import annotations

import itertools
import random
import re
from pathlib import Path

import pytest
from doc_factory import make_big_pdf, make_pdf, write_html, write_markdown

from benchsmith.documents import Chunk, Document, Section
from benchsmith.ingest import (
    chunk_document,
    chunk_documents,
    estimate_tokens,
    ingest_folder,
)
from benchsmith.spec import DocumentSource

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "seeds" / "docs-example"
WORDS = ["pump", "valve", "harbor", "tide", "sensor", "battery", "robot", "anchor", "filter", "current", "depth", "survey", "crew", "dock", "hull", "motor", "keel", "signal", "brush", "tether"]


def ingest_docs(folder: Path) -> list[Document]:
    result = ingest_folder(DocumentSource(path=folder), folder)
    assert result.skipped == []
    return result.documents


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 18))).capitalize() + "."


def paragraph(rng: random.Random, n: int) -> str:
    return " ".join(sentence(rng) for _ in range(n))


def random_markdown(seed: int) -> str:
    """A document with random nesting of headings, paragraphs of random length and lists."""
    rng = random.Random(seed)
    lines = []
    for h1 in range(rng.randint(1, 4)):
        lines += [f"# Part {h1 + 1}", "", paragraph(rng, rng.randint(1, 12)), ""]
        for h2 in range(rng.randint(0, 3)):
            lines += [f"## Topic {h1 + 1}.{h2 + 1}", ""]
            for _ in range(rng.randint(1, 5)):
                lines += [paragraph(rng, rng.randint(1, 25)), ""]
            if rng.random() < 0.5:
                lines += [f"- {sentence(rng)}" for _ in range(rng.randint(2, 30))] + [""]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Document]:
    """Real ingested documents of every shape: the example corpus, random Markdown, a paged PDF,
    an HTML page, and one giant paragraph with no structure at all."""
    folder = tmp_path_factory.mktemp("chunk-corpus")
    for seed in range(6):
        write_markdown(folder / f"random-{seed}.md", random_markdown(seed))
    make_big_pdf(folder / "long.pdf", 40, chapter_every=10)
    rng = random.Random(99)
    write_html(folder / "faq.html", "".join(f"<h2>Q{i}</h2><p>{paragraph(rng, rng.randint(1, 6))}</p>"
                                            for i in range(40)), title="FAQ")
    (folder / "wall.txt").write_text(paragraph(random.Random(7), 300))
    (folder / "tiny.txt").write_text("Just one line.")
    return ingest_docs(folder) + ingest_docs(EXAMPLE)


def covered_chars(doc: Document, chunks: list[Chunk]) -> set[int]:
    return {i for c in chunks for i in range(c.start, c.end)}


@pytest.mark.parametrize(("size", "overlap"), [(400, 50), (120, 30), (60, 0), (50, 49), (2000, 200)])
def test_chunks_are_exact_slices_within_budget_covering_the_document(corpus: list[Document], size: int,
                                                                     overlap: int) -> None:
    for doc in corpus:
        chunks = chunk_document(doc, size, overlap)
        assert chunks, doc.path
        non_space = {i for i, ch in enumerate(doc.text) if not ch.isspace()}
        assert non_space <= covered_chars(doc, chunks), doc.path  # nothing is lost
        for c in chunks:
            assert c.text == doc.text[c.start:c.end]
            assert c.text == c.text.strip() and c.text
            assert c.tokens == estimate_tokens(c.text) <= size, (doc.path, c.tokens)
            assert (c.document_id, c.document_path, c.document_title) == (doc.id, doc.path, doc.title)
        assert [c.start for c in chunks] == sorted({c.start for c in chunks})  # strictly increasing
        assert [c.end for c in chunks] == sorted({c.end for c in chunks})
        for a, b in itertools.pairwise(chunks):
            if b.start < a.end:  # an overlap repeats at most `overlap` tokens
                assert estimate_tokens(doc.text[b.start:a.end]) <= overlap
        assert len({c.id for c in chunks}) == len(chunks)


def test_chunk_ids_are_deterministic_and_differ_between_documents(corpus: list[Document]) -> None:
    doc = corpus[0]
    assert [c.id for c in chunk_document(doc, 100, 10)] == [c.id for c in chunk_document(doc, 100, 10)]
    twin = doc.model_copy(update={"id": "f" * 64, "content_hash": "f" * 64})
    assert {c.id for c in chunk_document(doc, 100, 10)}.isdisjoint(c.id for c in chunk_document(twin, 100, 10))


def test_tiny_and_empty_documents(corpus: list[Document]) -> None:
    tiny = next(d for d in corpus if d.path == "tiny.txt")
    [only] = chunk_document(tiny, 400, 50)
    assert (only.text, only.start, only.end) == ("Just one line.", 0, len(tiny.text))
    empty = tiny.model_copy(update={"text": "  \n\n "})
    assert chunk_document(empty, 400, 50) == []
    # A whole document that fits the budget is one chunk even if it has many sections.
    small = next(d for d in corpus if d.path == "release-notes.md")
    assert len(small.sections) > 3
    assert len(chunk_document(small, 2000, 200)) == 1


def test_invalid_budgets_are_rejected(corpus: list[Document]) -> None:
    with pytest.raises(ValueError, match="overlap_tokens"):
        chunk_document(corpus[0], 100, 100)
    with pytest.raises(ValueError, match="chunk_tokens"):
        chunk_document(corpus[0], 0, 0)


def _doc(text: str, sections: list[Section] | None = None) -> Document:
    return Document(id="d" * 64, path="x.md", format="markdown", title="X", content_hash="d" * 64, text=text,
                    sections=sections or [])


def test_sections_come_first_and_carry_their_heading_path() -> None:
    rng = random.Random(3)
    parts = [("Handbook", 1), ("Leave", 2), ("Parental leave", 3), ("Sick leave", 3), ("Pay", 2)]
    text = ""
    heads = []
    for heading, level in parts:
        if text:
            text += "\n\n"
        body = paragraph(rng, 1)
        while estimate_tokens(heading + "\n\n" + body) < 45:  # each section 45-80 tokens
            body += " " + sentence(rng)
        assert estimate_tokens(heading + "\n\n" + body) <= 80
        heads.append((len(text), level, heading))
        text += heading + "\n\n" + body
    sections = [Section(heading=h, level=lv, start=st,
                        end=next((s2 for s2, l2, _ in heads[i + 1:] if l2 <= lv), len(text)))
                for i, (st, lv, h) in enumerate(heads)]
    doc = _doc(text, sections)
    chunks = chunk_document(doc, 100, 20)  # cores of at most 80 tokens: one section each, two never fit
    # Each chunk is one section, starts at its heading, and borrows nothing from the section before.
    assert [c.start for c in chunks] == [h[0] for h in heads]
    assert [c.section for c in chunks] == ["Handbook", "Handbook > Leave", "Handbook > Leave > Parental leave",
                                           "Handbook > Leave > Sick leave", "Handbook > Pay"]


def test_long_sections_split_at_paragraphs_then_sentences_with_overlap() -> None:
    rng = random.Random(5)
    paras = [paragraph(rng, 3) for _ in range(30)]  # ~30-45 tokens each
    text = "Guide\n\n" + "\n\n".join(paras)
    doc = _doc(text, [Section(heading="Guide", level=1, start=0, end=len(text))])
    chunks = chunk_document(doc, 200, 40)
    assert len(chunks) > 3
    for c in chunks:
        # Chunk cores end where a paragraph ends: the next characters are a blank line (or the end).
        assert doc.text[c.end:c.end + 2] in ("\n\n", "")
        assert c.section == "Guide"
    for a, b in itertools.pairwise(chunks):
        shared = doc.text[b.start:a.end]
        assert b.start < a.end and 0 < estimate_tokens(shared) <= 40
        assert re.match(r"[A-Z]", b.text)  # the overlap starts at a sentence, not mid-word

    # A single paragraph longer than the budget is cut at sentence ends.
    long = _doc(paragraph(random.Random(8), 60))
    for c in chunk_document(long, 120, 0):
        assert c.text.endswith(".")


def test_text_without_any_boundary_still_fits_the_budget() -> None:
    doc = _doc("x," * 3000)  # 6,000 tokens, no whitespace at all
    chunks = chunk_document(doc, 100, 10)
    assert all(c.tokens <= 100 for c in chunks)
    assert "".join(doc.text[c.start:c.end] for c in chunk_document(doc, 100, 0)) == doc.text


def test_pages_of_chunks_match_the_page_spans(tmp_path: Path) -> None:
    make_big_pdf(tmp_path / "long.pdf", 30, chapter_every=10)
    [doc] = ingest_docs(tmp_path)
    chunks = chunk_document(doc, 150, 20)
    for c in chunks:
        first, last = doc.pages[c.page_start - 1], doc.pages[c.page_end - 1]
        assert first.start <= c.start < first.end
        assert last.start < c.end <= last.end
        assert c.section and c.section.startswith("Chapter ")
    assert {c.page_start for c in chunks} == set(range(1, 31))
    # Chapter 2 starts on page 11: the chunk holding page 11's marker is in that chapter.
    marker = doc.text.index("Marker sentence for page 11 ")
    holder = next(c for c in chunks if c.start <= marker < c.end)
    assert holder.section == "Chapter 2" and holder.page_start == 11


def test_heading_in_the_middle_of_a_page_keeps_page_numbers(tmp_path: Path) -> None:
    make_pdf(tmp_path / "m.pdf", [[("h1", "Alpha"), ("p", paragraph(random.Random(1), 8)), ("h1", "Beta"),
                                   ("p", paragraph(random.Random(2), 8))],
                                  [("p", paragraph(random.Random(3), 8))]])
    [doc] = ingest_docs(tmp_path)
    chunks = chunk_document(doc, 120, 0)
    beta = next(c for c in chunks if c.text.startswith("Beta"))
    assert (beta.section, beta.page_start) == ("Beta", 1)
    assert chunks[-1].page_end == 2


def test_chunk_documents_keeps_document_order(corpus: list[Document]) -> None:
    chunks = chunk_documents(corpus, 300, 30)
    order = [c.document_id for c in chunks]
    assert list(dict.fromkeys(order)) == list(dict.fromkeys(d.id for d in corpus))


def test_example_corpus_chunks_have_sections_and_pages() -> None:
    docs = {d.path: d for d in ingest_docs(EXAMPLE)}
    chunks = chunk_documents(docs.values(), 120, 20)
    sections = {c.section for c in chunks}
    assert "Leave > Parental leave" in sections or "Leave" in sections
    manual = [c for c in chunks if c.document_path == "hs200-operator-manual.pdf"]
    assert all(c.page_start is not None and c.page_end >= c.page_start for c in manual)
    assert {c.page_start for c in manual} >= {1, 2, 3, 4, 5}
    assert all(c.page_start is None for c in chunks if c.document_path != "hs200-operator-manual.pdf")
    # Every document yields at least one chunk: small documents are not lost.
    assert {c.document_path for c in chunks} == set(docs)
