"""Grounding verification throughput: N items against their chunks (target: 10,000 in < 10 s).

Builds a synthetic corpus (documents of ~1,500-character chunks of English-ish text)
and items with 1-3 citations each: most quote their chunk verbatim (some with other
case and spacing), a share carry fabricated quotes, so the fuzzy path (rapidfuzz
`partial_ratio` with a score cutoff) is exercised as well as the exact one. Prints
items/s and the verdict mix.

    python bench/grounding_throughput.py [--items 10000] [--fabricated 0.2] [--chunks 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchsmith.documents import Chunk, Corpus, Document
from benchsmith.records import Citation, Item, Lineage, content_hash
from benchsmith.stages import StageContext
from benchsmith.testing.fake_openai import _VOCAB
from benchsmith.verifiers.grounding import Grounding


def _sentence(rng: random.Random) -> str:
    words = rng.choices(_VOCAB, k=rng.randint(8, 22))
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def build_corpus(n_chunks: int, chunks_per_doc: int, rng: random.Random) -> tuple[list[Document], list[Chunk]]:
    docs, chunks = [], []
    for d in range(0, n_chunks, chunks_per_doc):
        spans, parts, pos = [], [], 0
        for _ in range(min(chunks_per_doc, n_chunks - d)):
            text = ""
            while len(text) < 1500:
                text += _sentence(rng) + " "
            text = text.strip()
            parts.append(text)
            spans.append((pos, pos + len(text)))
            pos += len(text) + 2
        doc_text = "\n\n".join(parts)
        doc_id = content_hash("bench-doc", d)
        docs.append(Document(id=doc_id, path=f"doc{d}.md", format="markdown", title=f"Doc {d}",
                             content_hash=doc_id, text=doc_text))
        for s, e in spans:
            chunks.append(Chunk(id=content_hash(doc_id, s, e), document_id=doc_id, document_path=f"doc{d}.md",
                                text=doc_text[s:e], start=s, end=e))
    return docs, chunks


def build_items(chunks: list[Chunk], n: int, fabricated: float, rng: random.Random) -> list[Item]:
    items = []
    for i in range(n):
        cits, quotes = [], []
        for _ in range(rng.randint(1, 3)):
            chunk = rng.choice(chunks)
            if rng.random() < fabricated:
                quote = _sentence(rng)
                cits.append(Citation(quote=quote, document=chunk.document_path, chunk_id=chunk.id))
            else:
                a = rng.randrange(0, len(chunk.text) - 200)
                b = a + rng.randint(60, 200)
                quote = chunk.text[a:b]
                cit = Citation(quote=quote, document=chunk.document_path, chunk_id=chunk.id,
                               start=chunk.start + a, end=chunk.start + b)
                if rng.random() < 0.2:  # a model's copy: other case and spacing, no offsets
                    cit = Citation(quote=quote.upper().replace(" ", "  "), document=chunk.document_path,
                                   chunk_id=chunk.id)
                cits.append(cit)
            quotes.append(quote)
        answer = " ".join(rng.choice(quotes).split()[2:7])
        items.append(Item.create(prompt=f"Synthetic question {i}?", reference_answer=answer or "x", citations=cits,
                                 lineage=Lineage(generator="bench")))
    return items


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--chunks", type=int, default=2_000)
    ap.add_argument("--chunks-per-doc", type=int, default=50)
    ap.add_argument("--fabricated", type=float, default=0.2, help="Share of citations with made-up quotes.")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--target-s", type=float, default=10.0)
    args = ap.parse_args(argv)

    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    docs, chunks = build_corpus(args.chunks, args.chunks_per_doc, rng)
    items = build_items(chunks, args.items, args.fabricated, rng)
    n_cits = sum(len(i.citations) for i in items)
    print(f"built {len(docs)} documents, {len(chunks)} chunks, {len(items)} items, {n_cits} citations "
          f"in {time.perf_counter() - t0:.1f} s")

    ctx = StageContext(corpus=Corpus.of(chunks, docs))
    t0 = time.perf_counter()
    verdicts = asyncio.run(Grounding().verify(items, ctx))
    dt = time.perf_counter() - t0
    mix = Counter(v.reason or "passed" for v in verdicts)
    print(f"grounding: {len(items)} items in {dt:.2f} s = {len(items) / dt:,.0f} items/s "
          f"({n_cits / dt:,.0f} citations/s)")
    print("verdicts: " + ", ".join(f"{k} {v}" for k, v in mix.most_common()))
    ok = dt < args.target_s
    print(f"target {args.items} items < {args.target_s:.0f} s: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
