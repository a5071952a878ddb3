"""Inputs of any size run: seeds and chunks never travel through Prefect's API (issue 9).

Prefect rejects flow and task-run parameters over 512 KB; 3,000 seeds or 8 Markdown files
used to end in a 422 that printed the whole input. The flow takes a small `RunConfig` and
reads its sources itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from suite_factory import make_spec

from benchsmith.flows.run_suite import run_suite
from benchsmith.spec import load_spec

pytestmark = [pytest.mark.usefixtures("prefect_local_api"), pytest.mark.slow]


def test_ten_thousand_seeds(tmp_path: Path, fake_llm: Any) -> None:
    spec = make_spec(tmp_path, fake_llm)
    seeds = [{"id": f"s{i}", "prompt": f"Seed question {i}: a train leaves at {i % 24}:{i % 60:02d} and travels "
                                       f"{100 + i} km at {40 + i % 80} km/h. When does it arrive?"}
             for i in range(10_000)]
    (tmp_path / "seeds.jsonl").write_text("".join(json.dumps(s) + "\n" for s in seeds))
    assert (tmp_path / "seeds.jsonl").stat().st_size > 1_000_000
    report = run_suite(spec, workspace=tmp_path / "ws")
    assert report.seed_count == 10_000
    assert report.publish is not None and report.publish.status == "published"
    assert len(report.outcome.published) == spec.target_items


SENTENCE = "Staff record every entry in the ledger before noon."


def test_a_five_megabyte_documents_folder(tmp_path: Path, fake_llm: Any) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for f in range(8):
        paragraphs = [f"## Part {p}\n\nPart {p} of handbook {f} covers procedure {f}-{p} for the warehouse team, "
                      f"with checklist items {p * 3}, {p * 3 + 1} and {p * 3 + 2} for shift {p % 3}. {SENTENCE}"
                      for p in range(3_500)]
        (docs / f"handbook-{f}.md").write_text(f"# Handbook {f}\n\n" + "\n\n".join(paragraphs) + "\n")
    assert sum(p.stat().st_size for p in docs.iterdir()) > 5_000_000
    fake_llm.add_rule(match="Staff record every entry", response={
        "quotes": [{"passage": 1, "text": SENTENCE}],
        "question": "By what time of day must warehouse staff record every ledger entry?",
        "answer": "before noon"})
    endpoint = {"base_url": fake_llm.base_url, "model": "fake-model", "timeout_s": 5}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({
        "suite": "large-docs", "documents": {"path": "docs"}, "target_items": 1,
        "budget": {"max_llm_calls": 20, "max_rounds": 2},
        "generators": [{"name": "document_qa", "params": {"question_types": ["single_hop"], "kinds": ["open_qa"]}}],
        "verifiers": [{"name": "rules"}, {"name": "grounding"}], "dedup": {"semantic": False},
        "llm": {"generator": endpoint, "judge": endpoint, "concurrency": 4, "max_retries": 1},
        "publish": {"output_dir": str(tmp_path / "outputs")}}))
    report = run_suite(load_spec(path), workspace=tmp_path / "ws")
    assert report.publish is not None and report.publish.status == "published"
    coverage = report.outcome.reports["coverage"]
    assert json.dumps(coverage).count("handbook-") >= 8
