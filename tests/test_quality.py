"""Quality reports (run summary, manifest, card) and the spec's named extra LLM roles."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from benchsmith.card import DEMO_MODEL, demonstration_notice
from benchsmith.errors import SpecError
from benchsmith.llm.endpoints import build_clients
from benchsmith.publish import publish_version
from benchsmith.quality import StageReport, merge_reports, render_quality_markdown, warnings_of
from benchsmith.spec import LLMSpec, load_spec
from benchsmith.testing.fake_openai import FakeOpenAIServer
from tests.test_publish import MODELS, USAGE, make_funnel, make_item, make_spec

JUDGE_REPORT = StageReport(stage="llm_judge", title="Judge health (llm_judge)",
                           facts={"score std": 0.0421, "canaries caught": "0 of 4"},
                           warnings=["the judge's verdicts carry little information: its scores barely vary"],
                           data={"scores": [3, 3, 3]})


def test_merge_keeps_the_last_report_per_stage_and_title() -> None:
    first = StageReport(stage="contamination", title="Contamination", facts={"round": 1})
    last = StageReport(stage="contamination", title="Contamination", facts={"round": 2})
    merged = merge_reports([first, None, JUDGE_REPORT, last])
    assert [r.facts.get("round") for r in merged if r.stage == "contamination"] == [2]
    assert len(merged) == 2


def test_warnings_are_listed_once_from_models_or_dumps() -> None:
    dumps = [JUDGE_REPORT.model_dump(mode="json"), JUDGE_REPORT.model_dump(mode="json")]
    assert warnings_of(dumps) == JUDGE_REPORT.warnings
    assert warnings_of([JUDGE_REPORT]) == JUDGE_REPORT.warnings


def test_quality_markdown_has_the_warnings_and_a_table_per_report() -> None:
    text = render_quality_markdown([JUDGE_REPORT.model_dump(mode="json")])
    assert "**Warnings**" in text and "carry little information" in text
    assert "### Judge health (llm_judge)" in text
    assert "| score std | 0.0421 |" in text and "| canaries caught | 0 of 4 |" in text
    assert "No stage reported" in render_quality_markdown([])


def test_published_card_and_manifest_carry_the_quality_reports(tmp_path: Path) -> None:
    reports = {"quality": [JUDGE_REPORT.model_dump(mode="json")]}
    res = publish_version(spec=make_spec(), items=[make_item(i) for i in range(4)], rejected=[],
                          funnel=make_funnel(), models=MODELS, usage=USAGE, stop_reason="target_reached",
                          output_dir=tmp_path, today=date(2026, 11, 3), reports=reports)
    card = (res.path / "README.md").read_text()
    quality = card.split("## Quality", 1)[1].split("\n## ", 1)[0]
    assert "carry little information" in quality and "| score std | 0.0421 |" in quality
    assert "demonstration model" not in card  # real models: no notice
    manifest = json.loads((res.path / "manifest.json").read_text())
    assert manifest["reports"]["quality"] == reports["quality"]


def test_card_says_at_the_top_when_the_demonstration_model_did_the_work(tmp_path: Path) -> None:
    models = {"generator": DEMO_MODEL, "judge": DEMO_MODEL}
    res = publish_version(spec=make_spec(), items=[make_item(i) for i in range(4)], rejected=[],
                          funnel=make_funnel(), models=models, usage=USAGE, stop_reason="target_reached",
                          output_dir=tmp_path, today=date(2026, 11, 3))
    body = (res.path / "README.md").read_text().split("---\n", 2)[2]
    head = body.split("\n## ", 1)[0]  # before the first section
    assert "Made with a demonstration model" in head and "generator and judge" in head
    assert "not a benchmark to report scores on" in head
    assert demonstration_notice({"generator": "gpt-4o @ https://api.openai.com/v1"}) == []
    assert "The judge of this version was" in demonstration_notice({"generator": "x", "judge": DEMO_MODEL})[0]


def _spec_file(tmp_path: Path, llm_yaml: str) -> Path:
    (tmp_path / "seeds.jsonl").write_text('{"id": "s1", "prompt": "What is 2 + 2?"}\n')
    path = tmp_path / "suite.yaml"
    path.write_text("suite: roles\nseeds: {path: seeds.jsonl}\ntarget_items: 1\n"
                    "generators: [{name: evolve}]\n" + llm_yaml)
    return path


def test_named_roles_load_and_resolve(tmp_path: Path, fake_llm: FakeOpenAIServer) -> None:
    path = _spec_file(tmp_path, f"llm:\n  roles:\n    solver: {{base_url: '{fake_llm.base_url}', model: solver-7b}}\n")
    spec = load_spec(path)
    assert spec.llm.role_names() == ("generator", "judge", "solver")
    clients = build_clients(spec.llm, cache_dir=None, roles=("solver",))
    assert list(clients) == ["solver"] and clients["solver"].model == "solver-7b"


def test_a_builtin_role_under_roles_names_the_field_and_the_file(tmp_path: Path) -> None:
    path = _spec_file(tmp_path, "llm:\n  roles:\n    judge: {model: x}\n")
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert "llm.roles" in str(err.value) and str(path) in str(err.value) and "built-in role" in str(err.value)


def test_an_unknown_role_lists_the_defined_ones() -> None:
    with pytest.raises(SpecError, match="no LLM role 'solver': this spec defines generator, judge"):
        LLMSpec().endpoint("solver")
