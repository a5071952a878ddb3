"""A documents suite end to end on the fake server: ingest, generate, ground, publish, cover."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import datasets
import pytest
import yaml

from benchsmith.flows.run_suite import run_suite
from benchsmith.ingest import ingest_folder
from benchsmith.spec import load_spec

pytestmark = pytest.mark.usefixtures("prefect_local_api")

DOCS = {
    "leave.md": ("# Leave policy\n\nEmployees at Harbor Lane Bakery receive 24 days of paid leave per year. "
                 "Unused leave of up to five days carries over to the next year.\n"),
    "ovens.md": ("# Oven maintenance\n\nThe deck ovens are descaled every Tuesday at 6 a.m. by the night shift. "
                 "A descaling cycle takes forty minutes at 90 degrees.\n"),
}
ANSWERS = {
    "24 days of paid leave": {"quotes": [{"passage": 1, "text": "Employees at Harbor Lane Bakery receive 24 days "
                                                               "of paid leave per year."}],
                              "question": "How many days of paid leave do Harbor Lane Bakery employees receive per year?",
                              "answer": "24 days of paid leave per year"},
    "descaled every Tuesday": {"quotes": [{"passage": 1, "text": "The deck ovens are descaled every Tuesday at "
                                                                 "6 a.m. by the night shift."}],
                               "question": "On which day and at what time are the bakery's deck ovens descaled?",
                               "answer": "every Tuesday at 6 a.m."},
}


def make_docs_spec(tmp_path: Path, fake_llm: Any) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text)
    (docs / "broken.pdf").write_bytes(b"this is not a pdf at all")
    endpoint = {"base_url": fake_llm.base_url, "model": "fake-model", "timeout_s": 3}
    spec = {
        "suite": f"docs-{tmp_path.name.lower()}"[:50].replace("_", "-"),
        "documents": {"path": "docs", "chunk_tokens": 200, "overlap_tokens": 20},
        "target_items": 2,
        "budget": {"max_llm_calls": 12, "max_rounds": 2},
        "generators": [{"name": "document_qa", "params": {
            "question_types": ["single_hop"], "kinds": ["open_qa"], "per_document_quota": 1}}],
        "verifiers": [{"name": "rules"}, {"name": "self_contained"}, {"name": "grounding"}],
        "dedup": {"semantic": False},
        "llm": {"generator": endpoint, "judge": endpoint, "concurrency": 4, "max_retries": 1},
        "publish": {"output_dir": str(tmp_path / "outputs")},
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_documents_suite_publishes_grounded_cited_items(tmp_path: Path, fake_llm: Any) -> None:
    for phrase, answer in ANSWERS.items():
        fake_llm.add_rule(match=phrase, response=answer)
    spec = load_spec(make_docs_spec(tmp_path, fake_llm))
    report = run_suite(spec, workspace=tmp_path / "ws")

    assert report.publish is not None and report.publish.status == "published"
    texts = {d.path: d.text for d in ingest_folder(spec.documents, spec.documents_path).documents}
    rows = list(datasets.load_dataset(str(report.publish.path))["test"])
    assert len(rows) == 2
    assert {r["citations"][0]["document"] for r in rows} == {"leave.md", "ovens.md"}
    for row in rows:
        assert row["lineage"]["generator"] == "document_qa"
        for cit in row["citations"]:
            assert texts[cit["document"]][cit["start"]:cit["end"]] == cit["quote"], "citation offsets must hold"
        assert [v["stage"] for v in row["verdicts"]][:3] == ["rules", "self_contained", "grounding"]

    manifest = json.loads((report.publish.path / "manifest.json").read_text())
    coverage = manifest["reports"]["coverage"]
    assert json.dumps(coverage).count("broken.pdf") >= 1, "the skipped file must be reported with its reason"
    card = (report.publish.path / "README.md").read_text()
    assert "## Coverage" in card and "broken.pdf" in card
