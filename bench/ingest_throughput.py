"""Ingestion + chunking throughput on ~1,000 pages of mixed PDF, HTML and Markdown.

Builds a corpus in a temporary folder (not timed): by default 600 PDF pages in 6 files of
100 pages, and 200 pages' worth each of HTML and Markdown in files of 10 pages (a "page" is
about 3,000 characters), with headings, paragraphs, lists and tables. Then times
`ingest_folder` and `chunk_documents` over it, and prints pages/s, seconds per phase and
format, and whether the budget holds (1,000 pages in under 60 s). Exits 1 if it does not.

    python bench/ingest_throughput.py [--pdf-pages 600] [--html-pages 200] [--md-pages 200]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fpdf import FPDF

from benchsmith.ingest import chunk_documents, ingest_folder
from benchsmith.spec import DocumentSource

PAGE_CHARS = 3000
WORDS = ["the", "robot", "cleans", "hull", "with", "brushes", "while", "operator", "watches", "tether", "tension", "battery", "level", "depth", "sensor", "reading", "dock", "crane", "lowers", "vessel", "harbor", "marina", "maintenance", "interval", "replaces", "seals", "every", "months", "firmware", "update", "installs", "automatically", "when", "docked", "warranty", "covers", "defects", "materials", "workmanship", "years", "customer", "support", "answers", "tickets", "within", "hours", "telemetry", "sampled", "once", "per", "second", "retained", "eighteen"]
BUDGET_S = 60.0
BUDGET_PAGES = 1000


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20))).capitalize() + "."


def page_blocks(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """About PAGE_CHARS characters: a heading, paragraphs, sometimes a list."""
    blocks: list[tuple[str, str]] = [("h", f"Section {n}: {sentence(rng)[:40].rstrip('.')}")]
    size = len(blocks[0][1])
    while size < PAGE_CHARS:
        kind = "li" if rng.random() < 0.15 else "p"
        text = sentence(rng) if kind == "li" else " ".join(sentence(rng) for _ in range(rng.randint(3, 6)))
        blocks.append((kind, text))
        size += len(text)
    return blocks


def write_pdf(path: Path, rng: random.Random, pages: int, first: int) -> None:
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_creation_date(datetime(2025, 1, 1, tzinfo=UTC))
    for n in range(first, first + pages):
        pdf.add_page()
        y = 15.0
        for kind, text in page_blocks(rng, n):
            if kind == "h":
                pdf.set_font("Helvetica", "B", 13)
                pdf.set_y(y - 4)
                pdf.start_section(text, level=0)
                pdf.text(12, y, text)
                y += 8
                continue
            pdf.set_font("Helvetica", size=9)
            for line in textwrap.wrap(("- " if kind == "li" else "") + text, 105):
                pdf.text(12, y, line)
                y += 4.3
            y += 2
    pdf.output(str(path))


def write_html(path: Path, rng: random.Random, pages: int, first: int) -> None:
    body = []
    for n in range(first, first + pages):
        for kind, text in page_blocks(rng, n):
            body.append(f"<h2>{text}</h2>" if kind == "h" else f"<ul><li>{text}</li></ul>" if kind == "li"
                        else f"<p>{text}</p>")
        body.append(f"<table><tr><th>Page</th><th>Value</th></tr><tr><td>{n}</td><td>{n * 7}</td></tr></table>")
    html = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Part {first}</title>"
            "<script>var tracking = true;</script></head><body><nav>Home Docs</nav><h1>Knowledge base</h1>"
            + "\n".join(body) + "</body></html>")
    path.write_text(html, encoding="utf-8")


def write_markdown(path: Path, rng: random.Random, pages: int, first: int) -> None:
    out = [f"---\ntitle: Notes {first}\ndate: 2025-01-01\n---\n", f"# Notes {first}\n"]
    for n in range(first, first + pages):
        for kind, text in page_blocks(rng, n):
            out.append(f"## {text}\n" if kind == "h" else f"- {text}\n" if kind == "li" else f"{text}\n")
        out.append(f"| Page | Value |\n|---|---|\n| {n} | {n * 7} |\n")
    path.write_text("\n".join(out), encoding="utf-8")


def build(folder: Path, pdf_pages: int, html_pages: int, md_pages: int) -> None:
    rng = random.Random(0)
    for i, first in enumerate(range(0, pdf_pages, 100)):
        write_pdf(folder / f"manual-{i:02d}.pdf", rng, min(100, pdf_pages - first), first + 1)
    for i, first in enumerate(range(0, html_pages, 10)):
        write_html(folder / f"kb-{i:02d}.html", rng, min(10, html_pages - first), first + 1)
    for i, first in enumerate(range(0, md_pages, 10)):
        write_markdown(folder / f"notes-{i:02d}.md", rng, min(10, md_pages - first), first + 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pdf-pages", type=int, default=600)
    parser.add_argument("--html-pages", type=int, default=200)
    parser.add_argument("--md-pages", type=int, default=200)
    parser.add_argument("--chunk-tokens", type=int, default=400)
    parser.add_argument("--overlap-tokens", type=int, default=50)
    args = parser.parse_args()
    total_pages = args.pdf_pages + args.html_pages + args.md_pages

    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        build(folder, args.pdf_pages, args.html_pages, args.md_pages)
        build_s = time.perf_counter() - t0
        size_mb = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        print(f"corpus: {total_pages} pages ({args.pdf_pages} PDF, {args.html_pages} HTML, {args.md_pages} Markdown) "
              f"in {len(list(folder.iterdir()))} files, {size_mb:.1f} MB; built in {build_s:.1f} s (not timed)")

        source = DocumentSource(path=folder, chunk_tokens=args.chunk_tokens, overlap_tokens=args.overlap_tokens)
        t0 = time.perf_counter()
        result = ingest_folder(source, folder)
        ingest_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        chunks = chunk_documents(result.documents, args.chunk_tokens, args.overlap_tokens)
        chunk_s = time.perf_counter() - t1
        total_s = ingest_s + chunk_s

    if result.skipped:
        print(f"unexpected skips: {result.skipped}")
        return 1
    by_format: dict[str, int] = {}
    for d in result.documents:
        by_format[d.format] = by_format.get(d.format, 0) + len(d.text)
    chars = sum(by_format.values())
    print(f"documents: {len(result.documents)}, text: {chars / 1e6:.2f} M characters "
          f"({', '.join(f'{k} {v / 1e6:.2f} M' for k, v in sorted(by_format.items()))})")
    print(f"chunks: {len(chunks)} at {args.chunk_tokens} tokens / {args.overlap_tokens} overlap "
          f"(mean {sum(c.tokens for c in chunks) / len(chunks):.0f} tokens)")
    print(f"ingest: {ingest_s:.2f} s   chunk: {chunk_s:.2f} s   total: {total_s:.2f} s")
    print(f"throughput: {total_pages / total_s:.0f} pages/s ({chars / total_s / 1e6:.2f} M chars/s)")
    budget = BUDGET_S * total_pages / BUDGET_PAGES
    ok = total_s < budget
    print(f"budget: {total_pages} pages in < {budget:.0f} s: {'OK' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
