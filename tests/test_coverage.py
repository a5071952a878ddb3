"""Coverage report of a documents suite: numbers, reasons for empty documents, Markdown."""

from __future__ import annotations

import json

from docqa_factory import chunk_paragraphs, filler, make_document

from benchsmith.coverage import coverage_report, render_coverage_markdown
from benchsmith.documents import SkippedDocument
from benchsmith.records import Citation, Item, Lineage, Verdict
from benchsmith.stages import GenerationFailure

HANDBOOK = make_document("handbook.md", [filler("handbook", i) for i in range(4)])
PRODUCTS = make_document("products|zephyr.md", [filler("zephyr", i) for i in range(3)])
FAQ = make_document("faq.md", [filler("faq", i) for i in range(2)])
PRICES = make_document("prices.md", [filler("prices", 0)])
EMPTY = make_document("blank.md", [""])
DOCS = [HANDBOOK, PRODUCTS, FAQ, PRICES, EMPTY]
CH = {d.path: chunk_paragraphs(d) for d in DOCS if d is not EMPTY}
CHUNKS = [c for cs in CH.values() for c in cs]
SKIPPED = [SkippedDocument(path="scan.pdf", reason="no_text_layer", detail="0 characters on 3 pages"),
           SkippedDocument(path="locked.pdf", reason="encrypted")]


def _item(n: int, chunks: list, *, qtype: str = "single_hop", kind: str = "open_qa",
          verdicts: list[Verdict] | None = None) -> Item:
    return Item.create(
        kind=kind, prompt=f"Question number {n} about the rules?", reference_answer=f"Answer {n}",
        citations=[Citation(quote=c.text[:20], document=c.document_path, chunk_id=c.id) for c in chunks],
        seed_id=chunks[0].id, lineage=Lineage(generator="document_qa", operator=qtype),
        verdicts=verdicts or [Verdict(stage="grounding", passed=True)],
        metadata={"question_type": qtype, "document_ids": list(dict.fromkeys(c.document_id for c in chunks)),
                  "chunk_ids": [c.id for c in chunks]})


def _dropped(stage: str, reason: str) -> list[Verdict]:
    return [Verdict(stage=stage, passed=False, reason=reason)]


def _report() -> tuple[dict, list[Item], list[Item]]:
    h, p = CH["handbook.md"], CH["products|zephyr.md"]
    published = [
        _item(1, [h[0]]),
        _item(2, [h[0], h[1]], qtype="multi_hop", kind="mcq"),
        _item(3, [h[2], p[0]], qtype="cross_document", kind="true_false"),
        _item(4, [h[3]], kind="mcq"),
    ]
    faq = CH["faq.md"]
    dropped = [
        _item(5, [faq[0]], verdicts=_dropped("grounding", "quote_not_found")),
        _item(6, [faq[1]], verdicts=_dropped("grounding", "quote_not_found")),
        _item(7, [faq[0]], verdicts=_dropped("answerability", "not_answerable")),
        _item(8, [h[1]], verdicts=_dropped("mcq", "duplicate_options")),
        _item(9, [h[1]]),  # passed every stage but was not published
    ]
    failures = [GenerationFailure(seed_id=CH["prices.md"][0].id, operator="single_hop", reason="invalid_json")] * 2
    report = coverage_report(DOCS, SKIPPED, CHUNKS, published, published + dropped, failures=failures)
    return report, published, dropped


def test_coverage_numbers() -> None:
    report, _, _ = _report()
    assert report["documents"] == {"total": 5, "covered": 2, "share_covered": 0.4, "skipped": 2}
    # Covered chunks: handbook 0-3 (4) and products 0 (1) of 4+3+2+1 = 10.
    assert report["chunks"] == {"total": 10, "covered": 5, "share_covered": 0.5}
    assert report["items"] == {"published": 4, "generated": 9}
    rows = {r["path"]: r for r in report["items_per_document"]}
    assert [r["path"] for r in report["items_per_document"]] == sorted(rows)
    assert (rows["handbook.md"]["items_published"], rows["handbook.md"]["items_generated"]) == (4, 6)
    assert (rows["handbook.md"]["chunks"], rows["handbook.md"]["chunks_covered"]) == (4, 4)
    assert (rows["products|zephyr.md"]["items_published"], rows["products|zephyr.md"]["chunks_covered"]) == (1, 1)
    assert (rows["faq.md"]["items_published"], rows["faq.md"]["items_generated"]) == (0, 3)
    assert report["items_per_question_type"] == {"cross_document": 1, "multi_hop": 1, "single_hop": 2}
    assert report["items_per_kind"] == {"mcq": 2, "open_qa": 1, "true_false": 1}
    json.dumps(report)  # goes into manifest.json as is


def test_documents_that_yielded_nothing_say_why() -> None:
    report, _, _ = _report()
    why = {e["path"]: e for e in report["yielded_nothing"]}
    assert set(why) == {"scan.pdf", "locked.pdf", "faq.md", "prices.md", "blank.md"}
    assert why["scan.pdf"] == {"path": "scan.pdf", "stage": "ingestion", "reason": "no_text_layer",
                               "detail": "0 characters on 3 pages"}
    assert why["locked.pdf"]["reason"] == "encrypted"
    assert why["faq.md"]["reason"] == "no_items_survived"
    assert why["faq.md"]["drop_reasons"] == {"grounding:quote_not_found": 2, "answerability:not_answerable": 1}
    assert why["prices.md"]["reason"] == "generation_failed" and why["prices.md"]["failure_reasons"] == {
        "invalid_json": 2}
    assert (why["blank.md"]["stage"], why["blank.md"]["reason"]) == ("chunking", "no_chunks")


def test_unsampled_document_and_items_without_metadata() -> None:
    faq = CH["faq.md"]
    # An item from another source: no metadata, documents found through its citations.
    bare = Item.create(prompt="Which ledger records the faq entries?", reference_answer="The faq ledger",
                       citations=[Citation(quote="faq ledger", chunk_id=faq[1].id)],
                       lineage=Lineage(generator="manual"))
    report = coverage_report([FAQ, PRICES], [], CH["faq.md"] + CH["prices.md"], [bare], [bare])
    assert report["documents"]["covered"] == 1 and report["chunks"]["covered"] == 1
    assert report["items_per_question_type"] == {"unknown": 1}
    [e] = report["yielded_nothing"]
    assert (e["path"], e["reason"]) == ("prices.md", "not_sampled")


def test_markdown_rendering() -> None:
    report, _, _ = _report()
    md = render_coverage_markdown(report)
    assert md.startswith("## Coverage\n")
    assert "Documents covered: 2 of 5 ingested (40%); 2 file(s) skipped at ingestion" in md
    assert "Chunks covered: 5 of 10 (50%)" in md
    assert "| handbook.md | 4 | 4 | 6 | 4 |" in md
    assert "| products\\|zephyr.md | 3 | 1 | 1 | 1 |" in md  # a pipe in a path does not break the table
    assert "- `scan.pdf`: ingestion: no_text_layer (0 characters on 3 pages)" in md
    assert "grounding:quote_not_found ×2" in md
    assert "Per question type: cross_document 1, multi_hop 1, single_hop 2" in md
    empty = coverage_report([], [], [], [], [])
    assert "0 of 0" in render_coverage_markdown(empty)
