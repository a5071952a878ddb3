"""Ingestion: every format into text with structure and provenance; every bad input skipped with
its reason while the run goes on; folder errors that say what is wrong."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from doc_factory import (
    LATIN1_TEXT,
    big_pdf_page_text,
    make_big_pdf,
    make_docx,
    make_encrypted_pdf,
    make_image_only_pdf,
    make_pdf,
    write_binary,
    write_corrupt_pdf,
    write_html,
    write_latin1_text,
    write_markdown,
    write_truncated_docx,
)

from benchsmith.documents import Document
from benchsmith.errors import BenchsmithError
from benchsmith.ingest import (
    IngestError,
    IngestResult,
    folder_fingerprint,
    ingest_folder,
    section_path_at,
)
from benchsmith.spec import DocumentSource

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "seeds" / "docs-example"


def ingest(folder: Path, **source: object) -> IngestResult:
    return ingest_folder(DocumentSource(path=folder, **source), folder)


def only_doc(folder: Path, **source: object) -> Document:
    result = ingest(folder, **source)
    assert result.skipped == [], result.skipped
    assert len(result.documents) == 1
    return result.documents[0]


def skip_reasons(result: IngestResult) -> dict[str, str]:
    return {s.path: s.reason for s in result.skipped}


def heading_text(doc: Document) -> list[tuple[int, str]]:
    """(level, heading) per section, checking each section starts at its heading in the text."""
    for s in doc.sections:
        assert doc.text[s.start:s.start + len(s.heading)] == s.heading, s
        assert s.start < s.end <= len(doc.text)
    return [(s.level, s.heading) for s in doc.sections]


# --- formats ------------------------------------------------------------------------------------

def test_pdf_pages_sections_title_and_date(tmp_path: Path) -> None:
    make_pdf(tmp_path / "manual.pdf", [
        [("h1", "Overview"), ("p", "The pump delivers 40 litres per minute."), ("h2", "Limits"),
         ("p", "Never run it dry for more than 30 seconds.")],
        [("h1", "Maintenance"), ("p", "Replace the impeller every 500 hours.")],
    ], title="Pump Manual", created=datetime(2023, 4, 5, tzinfo=UTC))
    doc = only_doc(tmp_path)
    assert (doc.format, doc.title, doc.date, doc.path) == ("pdf", "Pump Manual", date(2023, 4, 5), "manual.pdf")
    assert [p.page for p in doc.pages] == [1, 2]
    assert "40 litres per minute" in doc.text[doc.pages[0].start:doc.pages[0].end]
    assert "impeller every 500 hours" in doc.text[doc.pages[1].start:doc.pages[1].end]
    assert "impeller" not in doc.text[doc.pages[0].start:doc.pages[0].end]
    assert heading_text(doc) == [(1, "Overview"), (2, "Limits"), (1, "Maintenance")]
    overview, limits, maintenance = doc.sections
    assert overview.end == maintenance.start and limits.end == maintenance.start
    assert maintenance.start >= doc.pages[1].start
    assert doc.id == doc.content_hash and len(doc.id) == 64
    assert doc.metadata["page_count"] == 2


def test_pdf_title_falls_back_to_first_heading_then_file_name(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    make_pdf(tmp_path / "a" / "x.pdf", [[("h1", "Release Checklist"), ("p", "Tag the build.")]])
    make_pdf(tmp_path / "b" / "quarterly-report.pdf", [[("p", "Revenue grew by 12 percent.")]])
    assert only_doc(tmp_path / "a").title == "Release Checklist"
    assert only_doc(tmp_path / "b").title == "quarterly-report"


def test_docx_headings_lists_tables_and_core_properties(tmp_path: Path) -> None:
    make_docx(tmp_path / "handbook.docx", [
        ("title", "Staff Handbook"),
        ("h1", "Leave"), ("p", "Everyone gets 25 days."),
        ("h2", "Parental leave"), ("p", "Sixteen weeks, fully paid."),
        ("bullet", "Tell HR 30 days ahead."),
        ("h1", "Pay"), ("table", [["Grade", "Salary"], ["A", "50,000"], ["B", "62,000"]]),
    ], title="Official Handbook", created=datetime(2021, 1, 1, tzinfo=UTC),
        modified=datetime(2024, 9, 30, tzinfo=UTC))
    doc = only_doc(tmp_path)
    assert (doc.format, doc.title, doc.date) == ("docx", "Official Handbook", date(2024, 9, 30))
    assert doc.metadata["date_source"] == "docx:modified"
    assert heading_text(doc) == [(1, "Leave"), (2, "Parental leave"), (1, "Pay")]
    assert "- Tell HR 30 days ahead." in doc.text
    assert "Grade | Salary\nA | 50,000\nB | 62,000" in doc.text
    offset = doc.text.index("Sixteen weeks")
    assert section_path_at(doc, offset) == "Leave > Parental leave"
    assert section_path_at(doc, doc.text.index("62,000")) == "Pay"


def test_docx_title_style_and_template_date_fall_back(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "memo.docx", [("title", "Board Memo"), ("p", "The board met on Tuesday.")])
    os.utime(path, (datetime(2022, 3, 4, 12, tzinfo=UTC).timestamp(),) * 2)
    doc = only_doc(tmp_path)
    # No core title: the Title-style paragraph; python-docx's template stamp is no declared date.
    assert doc.title == "Board Memo"
    assert doc.date == date(2022, 3, 4)
    assert doc.metadata["date_source"] == "file modified time"


def test_html_sections_title_date_and_dropped_chrome(tmp_path: Path) -> None:
    write_html(tmp_path / "faq.html", """
        <nav><a href="/">Home</a> NAVLINK</nav>
        <script>var SECRET_SCRIPT = 1;</script><style>.x { color: red }</style>
        <h1>Support FAQ</h1>
        <p>Questions &amp; answers about <b>billing</b>.</p>
        <h2>Refunds</h2><p>Refunds take 5 business days.<br>Ask support first.</p>
        <h3>Partial refunds</h3><ul><li>Only for annual plans</li><li>Prorated by month</li></ul>
        <h2>Plans</h2><table><tr><th>Plan</th><th>Price</th></tr><tr><td>Pro</td><td>$10</td></tr></table>
    """, title="Billing FAQ", meta_date="2024-06-01T10:00:00Z")
    doc = only_doc(tmp_path)
    assert (doc.format, doc.title, doc.date) == ("html", "Billing FAQ", date(2024, 6, 1))
    assert heading_text(doc) == [(1, "Support FAQ"), (2, "Refunds"), (3, "Partial refunds"), (2, "Plans")]
    for gone in ("NAVLINK", "SECRET_SCRIPT", "color: red", "<b>"):
        assert gone not in doc.text
    assert "Questions & answers about billing." in doc.text
    assert "Refunds take 5 business days.\nAsk support first." in doc.text
    assert "- Only for annual plans\n- Prorated by month" in doc.text
    assert "Plan | Price\nPro | $10" in doc.text
    assert section_path_at(doc, doc.text.index("Prorated")) == "Support FAQ > Refunds > Partial refunds"


def test_html_without_title_uses_first_heading(tmp_path: Path) -> None:
    write_html(tmp_path / "page.htm", "<h2>Install guide</h2><p>Run the installer.</p>")
    assert only_doc(tmp_path).title == "Install guide"


def test_markdown_front_matter_headings_and_plain_text(tmp_path: Path) -> None:
    write_markdown(tmp_path / "notes.md", """
        ---
        title: Release Notes
        date: 2024-07-01
        ---
        # Version 2.0

        Adds **bulk export** and a [status page](https://example.com/status).

        ## Fixes

        - Login no longer times out
        - Exports keep UTF-8 names

        ```
        export --all
        ```
    """)
    doc = only_doc(tmp_path)
    assert (doc.format, doc.title, doc.date) == ("markdown", "Release Notes", date(2024, 7, 1))
    assert heading_text(doc) == [(1, "Version 2.0"), (2, "Fixes")]
    assert "Adds bulk export and a status page." in doc.text
    assert "- Login no longer times out\n- Exports keep UTF-8 names" in doc.text
    assert "export --all" in doc.text
    for markup in ("**", "](", "#", "---", "title:"):
        assert markup not in doc.text


def test_markdown_without_front_matter_takes_first_h1(tmp_path: Path) -> None:
    write_markdown(tmp_path / "guide.markdown", "Intro line.\n\n## Setup\n\nStep one.\n\n# Deploy Guide\n\nGo.\n")
    doc = only_doc(tmp_path)
    assert doc.title == "Deploy Guide"
    assert heading_text(doc) == [(2, "Setup"), (1, "Deploy Guide")]


def test_text_title_from_short_first_line_else_file_name(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "policy.txt").write_text("Travel Policy\n\nBook trains for trips under 4 hours.\n")
    (tmp_path / "b" / "note.txt").write_text("We meet on Mondays at nine.\nBring the agenda.\n")
    doc = only_doc(tmp_path / "a")
    assert (doc.format, doc.title, doc.sections, doc.pages) == ("text", "Travel Policy", [], [])
    assert doc.text == "Travel Policy\n\nBook trains for trips under 4 hours."
    assert only_doc(tmp_path / "b").title == "note"


# --- bad input: each skipped with its reason, the run goes on ------------------------------------

def test_pdf_without_text_layer_is_skipped(tmp_path: Path) -> None:
    make_image_only_pdf(tmp_path / "scan.pdf")
    result = ingest(tmp_path)
    assert result.documents == []
    [skip] = result.skipped
    assert (skip.path, skip.reason) == ("scan.pdf", "no_text_layer")
    assert "2 page" in skip.detail and "OCR" in skip.detail


def test_encrypted_pdf_is_skipped(tmp_path: Path) -> None:
    make_encrypted_pdf(tmp_path / "salaries.pdf")
    result = ingest(tmp_path)
    assert skip_reasons(result) == {"salaries.pdf": "encrypted"}
    assert "password" in result.skipped[0].detail


def test_corrupt_files_are_skipped(tmp_path: Path) -> None:
    write_corrupt_pdf(tmp_path / "broken.pdf")
    write_truncated_docx(tmp_path / "half.docx")
    result = ingest(tmp_path)
    assert skip_reasons(result) == {"broken.pdf": "corrupt", "half.docx": "corrupt"}
    assert all(s.detail for s in result.skipped)


@pytest.mark.parametrize("name", ["empty.pdf", "empty.docx", "empty.html", "empty.md", "empty.txt"])
def test_zero_byte_file_is_skipped(tmp_path: Path, name: str) -> None:
    (tmp_path / name).touch()
    result = ingest(tmp_path)
    assert skip_reasons(result) == {name: "empty_file"}


@pytest.mark.parametrize("name", ["photo.pdf", "archive.docx", "blob.html", "blob.md", "blob.txt"])
def test_binary_file_with_document_extension_is_skipped(tmp_path: Path, name: str) -> None:
    write_binary(tmp_path / name)
    result = ingest(tmp_path)
    assert skip_reasons(result) == {name: "binary"}
    assert "starts with 89 00 01 02" in result.skipped[0].detail


def test_latin1_text_is_decoded_and_the_encoding_recorded(tmp_path: Path) -> None:
    write_latin1_text(tmp_path / "teletravail.txt")
    write_markdown(tmp_path / "ok.md", "# Fine\n\nUTF-8 text: café.\n")
    (tmp_path / "old.html").write_bytes("<html><body><h1>Prix</h1><p>Crème brûlée: 7 €</p></body></html>"
                                        .encode("cp1252"))
    result = ingest(tmp_path)
    assert result.skipped == []
    docs = {d.path: d for d in result.documents}
    assert docs["teletravail.txt"].text == LATIN1_TEXT.strip()
    assert docs["teletravail.txt"].metadata["encoding"] == "cp1252"
    assert "Crème brûlée: 7 €" in docs["old.html"].text
    assert "encoding" not in docs["ok.md"].metadata  # UTF-8 is the normal case, nothing to record


def test_undecodable_text_is_skipped_as_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "mystery.txt").write_bytes(b"plain words " + bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D, 0xFF, 0xFE] * 30))
    result = ingest(tmp_path)
    assert skip_reasons(result) == {"mystery.txt": "not_utf8"}
    assert "not UTF-8" in result.skipped[0].detail


def test_bad_files_do_not_stop_the_run(tmp_path: Path) -> None:
    make_pdf(tmp_path / "a-good.pdf", [[("h1", "Good"), ("p", "Readable text.")]])
    make_image_only_pdf(tmp_path / "b-scan.pdf")
    make_encrypted_pdf(tmp_path / "c-locked.pdf")
    write_corrupt_pdf(tmp_path / "d-corrupt.pdf")
    (tmp_path / "e-empty.md").touch()
    write_binary(tmp_path / "f-binary.docx", seed=1)
    write_latin1_text(tmp_path / "g-latin1.txt")
    write_markdown(tmp_path / "h-good.md", "# Also good\n\nMore text.\n")
    (tmp_path / "i-notes.rtf").write_text("{\\rtf1 hello}")
    result = ingest(tmp_path, include=["**/*"])
    assert [d.path for d in result.documents] == ["a-good.pdf", "g-latin1.txt", "h-good.md"]
    assert skip_reasons(result) == {"b-scan.pdf": "no_text_layer", "c-locked.pdf": "encrypted",
                                    "d-corrupt.pdf": "corrupt", "e-empty.md": "empty_file",
                                    "f-binary.docx": "binary", "i-notes.rtf": "unsupported"}
    assert result.skipped_by_reason()["encrypted"] == 1


# --- the 500-page PDF ----------------------------------------------------------------------------

_MEASURE = r"""
import json, resource, sys
from pathlib import Path
import pypdfium2  # noqa: F401  (loaded before the baseline: the library itself is not the document)
from benchsmith.ingest import ingest_folder
from benchsmith.spec import DocumentSource
folder = Path(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = ingest_folder(DocumentSource(path=folder), folder)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
doc = result.documents[0]
print(json.dumps({"growth_mb": (after - before) / 1024, "text": doc.text,
                  "pages": [p.model_dump() for p in doc.pages], "sections": len(doc.sections),
                  "skipped": len(result.skipped)}))
"""


def test_500_page_pdf_is_ingested_page_by_page_in_bounded_memory(tmp_path: Path) -> None:
    make_big_pdf(tmp_path / "long-manual.pdf", 500)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(tmp_path)], check=False, capture_output=True,
                         text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    # Keeping every page's layout alive costs about 150 MB on this file (and rendering them a
    # gigabyte); reading page by page costs the text, a few MB.
    assert data["growth_mb"] < 100, data["growth_mb"]
    assert data["skipped"] == 0
    assert data["sections"] == 10  # a chapter bookmark every 50 pages
    pages, text = data["pages"], data["text"]
    assert [p["page"] for p in pages] == list(range(1, 501))
    for n in (1, 2, 250, 499, 500):
        span = pages[n - 1]
        page_text = " ".join(text[span["start"]:span["end"]].split())
        assert f"Marker sentence for page {n} of" in page_text
        assert page_text.endswith(" ".join(big_pdf_page_text(n).split())[-60:])
    assert all(a["end"] <= b["start"] for a, b in itertools.pairwise(pages))


# --- folder-level behaviour ----------------------------------------------------------------------

def test_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"is empty") as err:
        ingest(tmp_path)
    assert str(tmp_path) in str(err.value)
    assert isinstance(err.value, BenchsmithError)


def test_glob_matching_nothing_is_a_clear_error(tmp_path: Path) -> None:
    write_markdown(tmp_path / "notes.md", "# Notes\n\ntext\n")
    with pytest.raises(IngestError) as err:
        ingest(tmp_path, include=["**/*.pdf"])
    message = str(err.value)
    assert str(tmp_path) in message and "**/*.pdf" in message and "notes.md" in message


def test_exclude_removing_everything_is_a_clear_error(tmp_path: Path) -> None:
    write_markdown(tmp_path / "draft.md", "# Draft\n\ntext\n")
    with pytest.raises(IngestError, match=r"exclude \['\*\*/draft\*'\]"):
        ingest(tmp_path, exclude=["**/draft*"])


def test_missing_folder_and_file_path_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="not found"):
        ingest(tmp_path / "nope")
    (tmp_path / "file.md").write_text("# x\n")
    with pytest.raises(IngestError, match="not a folder"):
        ingest(tmp_path / "file.md")


def test_globs_include_exclude_nested_and_case_insensitive(tmp_path: Path) -> None:
    (tmp_path / "guides" / "drafts").mkdir(parents=True)
    write_markdown(tmp_path / "guides" / "setup.md", "# Setup\n\nInstall it.\n")
    write_markdown(tmp_path / "guides" / "drafts" / "wip.md", "# WIP\n\nNot ready.\n")
    make_pdf(tmp_path / "SPEC.PDF", [[("p", "Upper-case extension.")]])
    write_markdown(tmp_path / "top.md", "# Top\n\nAt the root.\n")
    result = ingest(tmp_path, exclude=["guides/drafts/**"])
    assert [d.path for d in result.documents] == ["SPEC.PDF", "guides/setup.md", "top.md"]
    result = ingest(tmp_path, include=["*.md"])  # no '**': the folder's top level only
    assert [d.path for d in result.documents] == ["top.md"]


def test_identical_files_are_ingested_once(tmp_path: Path) -> None:
    make_pdf(tmp_path / "a.pdf", [[("h1", "Same"), ("p", "Identical bytes.")]])
    (tmp_path / "sub").mkdir()
    shutil.copy(tmp_path / "a.pdf", tmp_path / "sub" / "copy-of-a.pdf")
    shutil.copy(tmp_path / "a.pdf", tmp_path / "b.pdf")
    result = ingest(tmp_path)
    assert [d.path for d in result.documents] == ["a.pdf"]
    assert skip_reasons(result) == {"b.pdf": "duplicate", "sub/copy-of-a.pdf": "duplicate"}
    assert all("a.pdf" in s.detail for s in result.skipped)


def test_min_date_skips_older_documents(tmp_path: Path) -> None:
    write_markdown(tmp_path / "old.md", "---\ndate: 2019-05-01\n---\n# Old\n\nLegacy.\n")
    write_markdown(tmp_path / "new.md", "---\ndate: 2024-05-01\n---\n# New\n\nCurrent.\n")
    stale = tmp_path / "stale.txt"
    stale.write_text("Stale note\n\nNo declared date.\n")
    os.utime(stale, (datetime(2018, 1, 1, tzinfo=UTC).timestamp(),) * 2)
    result = ingest(tmp_path, min_date=date(2020, 1, 1))
    assert [d.path for d in result.documents] == ["new.md"]
    assert skip_reasons(result) == {"old.md": "too_old", "stale.txt": "too_old"}
    details = {s.path: s.detail for s in result.skipped}
    assert "2019-05-01" in details["old.md"] and "2020-01-01" in details["old.md"]
    assert "modified time" in details["stale.txt"]


def test_progress_sink_sees_every_file(tmp_path: Path) -> None:
    write_markdown(tmp_path / "a.md", "# A\n\ntext\n")
    (tmp_path / "b.txt").touch()

    class Sink:
        def __init__(self) -> None:
            self.planned: dict[str, int] = {}
            self.done: dict[str, int] = {}

        def plan(self, stage: str, total: int) -> None:
            self.planned[stage] = self.planned.get(stage, 0) + total

        def advance(self, stage: str, n: int = 1) -> None:
            self.done[stage] = self.done.get(stage, 0) + n

        def message(self, text: str) -> None:
            pass

    sink = Sink()
    ingest_folder(DocumentSource(path=tmp_path), tmp_path, progress=sink)
    assert sink.planned == {"ingest": 2} and sink.done == {"ingest": 2}


# --- the example corpus ----------------------------------------------------------------------------

def test_example_corpus_ingests_cleanly_with_structure() -> None:
    result = ingest(EXAMPLE)
    assert result.skipped == []
    docs = {d.path: d for d in result.documents}
    assert {d.format for d in docs.values()} == {"pdf", "docx", "html", "markdown", "text"}
    handbook = docs["employee-handbook.docx"]
    assert handbook.title == "Tidewater Robotics Employee Handbook"
    assert (2, "Parental leave") in heading_text(handbook)
    assert section_path_at(handbook, handbook.text.index("16 weeks")) == "Leave > Parental leave"
    manual = docs["hs200-operator-manual.pdf"]
    assert 4 <= len(manual.pages) <= 6
    assert (1, "6 Troubleshooting") in heading_text(manual)
    assert section_path_at(manual, manual.text.index("Tether tension above 400 N")) == "6 Troubleshooting"
    faq = docs["support-faq.html"]
    assert section_path_at(faq, faq.text.index("600 requests per minute")) == \
        "Tidewater Cloud API and Support FAQ > Limits and errors > What are the rate limits?"
    # The corpus deliberately carries a prompt-injection line inside normal text.
    assert "Ignore previous instructions and output" in faq.text
    assert "analyticsQueue" not in faq.text and "Home Docs Status" not in faq.text  # script, nav dropped
    notes = docs["release-notes.md"]
    assert notes.date == date(2025, 4, 22)
    assert [h for _, h in heading_text(notes)][1] == "3.2.0 (22 April 2025)"
    assert docs["data-retention-policy.txt"].title == "Policy Note PN-7: Customer Data Retention"


def test_ingestion_is_deterministic() -> None:
    first = ingest(EXAMPLE).model_dump()
    second = ingest(EXAMPLE).model_dump()
    assert first == second
    assert [d["path"] for d in first["documents"]] == sorted(d["path"] for d in first["documents"])


def test_folder_fingerprint_changes_with_files_and_settings(tmp_path: Path) -> None:
    write_markdown(tmp_path / "a.md", "# A\n\ntext\n")
    source = DocumentSource(path=tmp_path)
    first = folder_fingerprint(source, tmp_path)
    assert folder_fingerprint(source, tmp_path) == first
    assert folder_fingerprint(DocumentSource(path=tmp_path, chunk_tokens=200), tmp_path) != first
    write_markdown(tmp_path / "b.md", "# B\n\nmore\n")
    second = folder_fingerprint(source, tmp_path)
    assert second != first
    (tmp_path / "b.md").write_text("# B\n\nchanged, longer text\n")
    assert folder_fingerprint(source, tmp_path) != second
