"""`benchsmith export`: task folders and files that lm-eval and inspect-ai run unchanged.

The fast tests check what is written; the slow ones run the real harnesses (installed by
the `test` extra) against the fake OpenAI server, scripted to answer a known subset of the
items correctly, and compare the accuracy each harness reports with that share.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from published_factory import SUITE, make_items, marker, publish_mini
from typer.testing import CliRunner

from benchsmith.cli import app
from benchsmith.errors import PublishError
from benchsmith.exports import ExportError, VersionNotFoundError, export_version, view
from benchsmith.exports.lm_eval import CHOICE_LETTER_REGEX
from benchsmith.publish import sha256_file
from benchsmith.testing.fake_openai import FakeOpenAIServer

NAME = "mini_eval_v1"


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    root = tmp_path / "outputs"
    publish_mini(root)
    return root


def test_views_letter_the_options_and_name_the_correct_one() -> None:
    views = [view(it) for it in make_items()]
    assert [v.family for v in views] == ["open"] * 6 + ["choice"] * 6
    planet, brazil, moon, false = views[6], views[9], views[10], views[11]
    assert planet.target == "B" and planet.choices == ("Mars", "Jupiter", "Venus", "Mercury")
    assert "\nB. Jupiter\n" in planet.prompt and planet.prompt.endswith("letter of the correct option only.")
    assert brazil.target == "B"  # its reference is the letter itself
    assert moon.choices == ("True", "False") and moon.target == "A" and false.target == "B"
    assert views[1].target == "155" and views[1].answer_index is None


def test_lm_eval_folder_points_at_its_own_data(outputs: Path, tmp_path: Path) -> None:
    dest = tmp_path / "lm"
    result = export_version(outputs, SUITE, None, "lm-eval", dest)
    assert result.tasks[0] == NAME and result.counts == {"open": 6, "choice": 6}
    group = yaml.safe_load((dest / f"{NAME}.yaml").read_text())
    assert group["task"] == [f"{NAME}_open", f"{NAME}_choice_gen"]
    for stem, output_type in (("open", "generate_until"), ("choice_gen", "generate_until"),
                              ("choice", "multiple_choice")):
        task = yaml.safe_load((dest / f"{NAME}_{stem}.yaml").read_text())
        assert task["task"] == f"{NAME}_{stem}" and task["output_type"] == output_type
        assert task["dataset_path"] == "parquet"
        data = Path(task["dataset_kwargs"]["data_files"]["test"])
        assert data.is_absolute() and data.is_file() and data.parent == dest / "data"
    task = yaml.safe_load((dest / f"{NAME}_choice.yaml").read_text())
    assert task["doc_to_choice"] == "letters" and task["doc_to_target"] == "answer_index"
    rows = pq.read_table(dest / "data" / "choice.parquet").to_pylist()
    assert [r["answer_index"] for r in rows] == [1, 0, 2, 1, 0, 1]
    assert [r["target"] for r in rows] == ["B", "A", "C", "B", "A", "B"]
    manifest = json.loads((dest / "benchsmith-export.json").read_text())
    published = outputs / SUITE / "v1" / "data" / "test.parquet"
    assert manifest["source"]["sha256"] == sha256_file(published) and manifest["version"] == "v1"
    assert not (dest / "utils.py").exists()  # everything the harness needs is in YAML and the data
    assert not list(tmp_path.glob(".lm.tmp-*"))


@pytest.mark.parametrize("reply,letter", [("B", "B"), ("The answer is (B)", "B"), ("b)", "B"), ("Answer: c", "C"),
                                          ("(D) Mercury", "D"), ("A. Mars", "A")])
def test_lm_eval_letter_filter_reads_common_reply_forms(reply: str, letter: str) -> None:
    import re

    assert re.findall(CHOICE_LETTER_REGEX, reply.upper())[0] == letter


def test_inspect_task_file_and_samples(outputs: Path, tmp_path: Path) -> None:
    dest = tmp_path / "insp"
    result = export_version(outputs, SUITE, "v1", "inspect", dest)
    assert result.tasks == [f"{NAME}_choice", f"{NAME}_open"]
    source = (dest / f"{NAME}.py").read_text()
    compile(source, "task.py", "exec")
    assert "multiple_choice()" in source and "scorer=choice()" in source and "match(" in source
    samples = [json.loads(line) for line in (dest / "choice.jsonl").read_text().splitlines()]
    assert samples[0]["choices"] == ["Mars", "Jupiter", "Venus", "Mercury"] and samples[0]["target"] == "B"
    assert "A. " not in samples[0]["input"]  # multiple_choice() letters the options itself
    assert result.commands[0].startswith(f"cd {dest} && ") and f"inspect eval {NAME}.py" in result.commands[0]


def test_jsonl_and_csv_rows(outputs: Path, tmp_path: Path) -> None:
    export_version(outputs, SUITE, None, "jsonl", tmp_path / "j")
    export_version(outputs, SUITE, None, "csv", tmp_path / "c")
    rows = [json.loads(line) for line in (tmp_path / "j" / f"{NAME}.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and rows[6]["letters"] == ["A", "B", "C", "D"] and rows[0]["target"] == "Paris"
    with (tmp_path / "c" / f"{NAME}.csv").open(newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 12 and json.loads(table[6]["choices"])[1] == "Jupiter" and table[6]["target"] == "B"


def test_default_dest_and_non_empty_dest(outputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = export_version(outputs, SUITE, None, "jsonl")
    assert result.dest == tmp_path / "exports" / f"{SUITE}-v1-jsonl"
    (result.dest / "mine.txt").write_text("keep me")
    with pytest.raises(ExportError, match="not empty; pass --force"):
        export_version(outputs, SUITE, None, "jsonl")
    assert (result.dest / "mine.txt").read_text() == "keep me"
    again = export_version(outputs, SUITE, None, "jsonl", force=True)
    assert not (again.dest / "mine.txt").exists() and (again.dest / f"{NAME}.jsonl").is_file()


def test_missing_versions_and_changed_data_are_clear_errors(outputs: Path, tmp_path: Path) -> None:
    with pytest.raises(VersionNotFoundError, match=r"no version 'v9'.*published versions \(newest first\): v1"):
        export_version(outputs, SUITE, "v9", "lm-eval", tmp_path / "x")
    with pytest.raises(VersionNotFoundError, match=f"published suites there: {SUITE}"):
        export_version(outputs, "other", None, "lm-eval", tmp_path / "x")
    with pytest.raises(ExportError, match="unknown export target 'xls'"):
        export_version(outputs, SUITE, None, "xls", tmp_path / "x")
    data = outputs / SUITE / "v1" / "data" / "test.parquet"
    data.chmod(0o644)
    data.write_bytes(data.read_bytes() + b"\0")
    with pytest.raises(PublishError, match="sha256 differs from manifest.json"):
        export_version(outputs, SUITE, None, "lm-eval", tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_cli_prints_the_commands_and_refuses_a_full_folder(outputs: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    dest = tmp_path / "cli"
    res = runner.invoke(app, ["export", SUITE, "--to", "lm-eval", "-o", str(outputs), "--dest", str(dest)])
    assert res.exit_code == 0, res.output
    assert f"--include_path {dest} --tasks {NAME}" in res.output and "local-chat-completions" in res.output
    res = runner.invoke(app, ["export", SUITE, "--to", "lm-eval", "-o", str(outputs), "--dest", str(dest)])
    assert res.exit_code == 2 and "not empty" in res.output
    res = runner.invoke(app, ["export", SUITE, "v3", "-o", str(outputs)])
    assert res.exit_code == 2 and "published versions (newest first): v1" in res.output


# -- the real harnesses against the fake server ---------------------------------------------------------------

def _harness_env(fake: FakeOpenAIServer, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(OPENAI_BASE_URL=fake.base_url, OPENAI_MODEL=fake.model, OPENAI_API_KEY="none",
               HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               HF_HOME=str(tmp_path / "hf"), INSPECT_LOG_DIR=str(tmp_path / "inspect-logs"),
               NO_COLOR="1", INSPECT_DISPLAY="none")
    return env


def _script(fake: FakeOpenAIServer, answers: dict[int, str]) -> None:
    """Answer item n's question with answers[n]; everything else with "I don't know"."""
    for n, reply in answers.items():
        fake.add_rule(match=marker(n), raw=reply)
    fake.add_rule(raw="I don't know")


def _need(tool: str) -> str:
    path = shutil.which(tool)
    assert path, f"`{tool}` is not installed: pip install -e '.[test]' installs lm-eval and inspect-ai"
    return path


@pytest.mark.slow
def test_lm_eval_runs_the_export_and_reports_the_scripted_accuracy(outputs: Path, tmp_path: Path,
                                                                  fake_llm: FakeOpenAIServer) -> None:
    _need("lm_eval")
    result = export_version(outputs, SUITE, None, "lm-eval", tmp_path / "lm")
    # Right: 2 of 6 open items, 4 of 6 choice items (in the reply forms chat models use).
    _script(fake_llm, {0: "Paris", 3: "42", 6: "The answer is (B)", 7: "A", 9: "b)", 10: "A"})
    out = tmp_path / "lm-results"
    proc = subprocess.run(["bash", "-c", f"{result.commands[0]} --output_path {out}"], env=_harness_env(fake_llm, tmp_path),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(next(out.rglob("results_*.json")).read_text())["results"]
    assert results[f"{NAME}_open"]["exact_match,answer"] == pytest.approx(2 / 6)
    assert results[f"{NAME}_choice_gen"]["exact_match,answer"] == pytest.approx(4 / 6)
    assert results[NAME]["exact_match,answer"] == pytest.approx(6 / 12)
    assert fake_llm.stats()["by_status"].get("200") == 12


@pytest.mark.slow
def test_inspect_runs_the_export_and_reports_the_scripted_accuracy(outputs: Path, tmp_path: Path,
                                                                   fake_llm: FakeOpenAIServer) -> None:
    _need("inspect")
    result = export_version(outputs, SUITE, None, "inspect", tmp_path / "insp")
    # Right: 3 of 6 choice items (inspect's multiple_choice asks for "ANSWER: X"), 3 of 6 open ones.
    _script(fake_llm, {6: "ANSWER: B", 7: "ANSWER: A", 11: "ANSWER: B", 0: "Paris", 3: "It is 42", 5: "6"})
    proc = subprocess.run(["bash", "-c", result.commands[0]], env=_harness_env(fake_llm, tmp_path),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    from inspect_ai.log import list_eval_logs, read_eval_log

    accuracy = {}
    for info in list_eval_logs(str(tmp_path / "inspect-logs")):
        log = read_eval_log(info)
        assert log.status == "success", log.error
        assert log.results is not None
        accuracy[log.eval.task] = log.results.scores[0].metrics["accuracy"].value
    assert accuracy == {f"{NAME}_choice": pytest.approx(3 / 6), f"{NAME}_open": pytest.approx(3 / 6)}


def test_a_suite_of_open_items_only_gets_no_choice_tasks(tmp_path: Path) -> None:
    publish_mini(tmp_path / "o", [it for it in make_items() if it.kind == "open_qa"])
    result = export_version(tmp_path / "o", SUITE, None, "lm-eval", tmp_path / "lm")
    assert result.tasks == [NAME, f"{NAME}_open"] and result.counts == {"open": 6, "choice": 0}
    assert sorted(p.name for p in (tmp_path / "lm").glob("*.yaml")) == [f"{NAME}.yaml", f"{NAME}_open.yaml"]
    assert len(result.commands) == 1  # no log-likelihood form without choice items
    inspect = export_version(tmp_path / "o", SUITE, None, "inspect", tmp_path / "insp")
    assert inspect.tasks == [f"{NAME}_open"] and "def mini_eval_v1_choice" not in (tmp_path / "insp" / f"{NAME}.py").read_text()
