"""Versions you can trust (issue 12): `benchsmith versions`, `diff` and `verify` on real published versions."""

from __future__ import annotations

import json
import stat
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from suite_factory import make_spec
from typer.testing import CliRunner

from benchsmith.changes import diff_items, parse_changes_markdown
from benchsmith.cli import app
from benchsmith.flows.refresh import refresh_run
from benchsmith.funnel import Funnel
from benchsmith.publish import publish_version, read_items
from benchsmith.records import Item, Lineage
from benchsmith.spec import parse_spec

runner = CliRunner()


def cli(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    return result


@pytest.mark.usefixtures("prefect_local_api")
def test_versions_diff_and_verify_on_two_releases(tmp_path: Path, fake_llm: Any) -> None:
    spec = make_spec(tmp_path, fake_llm, target_items=6, budget={"max_llm_calls": 200, "max_rounds": 4},
                     canaries={"enabled": False}, refresh={"enabled": True, "retire_share": 0.5})
    ws, out = tmp_path / "ws", tmp_path / "outputs"
    refresh_run(spec, workspace=ws, output_dir=out, today=date(2026, 11, 2))
    refresh_run(spec, workspace=ws, output_dir=out, today=date(2026, 12, 1))
    common = ["-o", str(out), "-w", str(ws)]

    listed = cli("versions", spec.suite, *common, "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)["versions"]
    assert [(r["version"], r["size"], r["added"], r["retired"], r["parent"], r["intact"]) for r in rows] == [
        ("2026.11", 6, 6, 0, None, True), ("2026.12", 6, 3, 3, "2026.11", True)]
    assert rows[1]["created_at"] >= rows[0]["created_at"] and rows[1]["cycle"] == "2026-12"
    table = cli("versions", spec.suite, *common)
    assert table.exit_code == 0 and "2026.12" in table.stdout and "2026.11" in table.stdout

    diffed = cli("diff", spec.suite, "2026.11", "2026.12", *common, "--json")
    assert diffed.exit_code == 0, diffed.output
    diff = json.loads(diffed.stdout)
    assert diff["counts"] == {"added": 3, "retired": 3, "edited": 0, "kept": 3}
    v1 = {it.id: it for it in read_items(out / spec.suite / "2026.11" / "data" / "test.parquet")}
    v2 = {it.id: it for it in read_items(out / spec.suite / "2026.12" / "data" / "test.parquet")}
    assert {a["id"] for a in diff["added"]} == set(v2) - set(v1)
    assert {r["id"] for r in diff["retired"]} == set(v1) - set(v2)
    assert all(a["prompt"] == v2[a["id"]].prompt for a in diff["added"])
    changelog = (out / spec.suite / "2026.12" / "CHANGELOG.md").read_text().split("## 2026.11 ")[0]
    assert parse_changes_markdown(changelog) == {"added": [a["id"] for a in diff["added"]],
                                                 "retired": [r["id"] for r in diff["retired"]], "edited": []}
    plain = cli("diff", spec.suite, "2026.11", "2026.12", *common)
    assert "3 added, 3 retired, 0 edited, 3 unchanged" in plain.stdout
    unknown = cli("diff", spec.suite, "2026.11", "2027.01", *common)
    assert unknown.exit_code == 2 and "no version '2027.01'" in unknown.output and "2026.12" in unknown.output

    ok = cli("verify", spec.suite, *common)
    assert ok.exit_code == 0 and "ok" in ok.stdout and "2026.12" in ok.stdout

    # Tamper: change bytes of the card, delete the changelog, add a file.
    folder = out / spec.suite / "2026.12"
    card = folder / "README.md"
    card.chmod(stat.S_IRUSR | stat.S_IWUSR)
    card.write_text(card.read_text().replace("# ", "# Edited ", 1))
    (folder / "CHANGELOG.md").unlink()
    (folder / "data" / "extra.parquet").write_bytes(b"PAR1")
    bad = cli("verify", spec.suite, "2026.12", *common, "--json")
    assert bad.exit_code == 1
    problems = {(p["file"], p["kind"]) for p in json.loads(bad.stdout)["problems"]}
    assert problems == {("README.md", "changed"), ("CHANGELOG.md", "missing"), ("data/extra.parquet", "extra")}
    said = cli("verify", spec.suite, *common)
    assert said.exit_code == 1 and "ok" in said.stdout  # 2026.11 still verifies
    assert "tampered:" in said.output and str(card) in said.output.replace("\n", "")
    assert "2026.11" in said.stdout
    flagged = json.loads(cli("versions", spec.suite, *common, "--json").stdout)["versions"]
    assert [r["intact"] for r in flagged] == [True, False]


def _item(text: str, **metadata: Any) -> Item:
    return Item.create(prompt=text, reference_answer="42.", lineage=Lineage(generator="evolve"), metadata=metadata)


def test_an_edited_item_is_an_edit_not_an_add_and_a_retire(tmp_path: Path) -> None:
    spec = parse_spec({"suite": "ed", "seeds": {"path": "s.jsonl"}, "target_items": 2,
                       "generators": [{"name": "evolve"}]})
    a, b = _item("What is six times seven?"), _item("What is forty plus two?")
    edited = _item("What is six multiplied by seven?", edited_from=a.id)
    kw: dict[str, Any] = dict(spec=spec, rejected=[], funnel=Funnel(), models={}, usage={},
                              stop_reason="target_reached", output_dir=tmp_path)
    publish_version(items=[a, b], today=date(2026, 11, 1), **kw)
    res = publish_version(items=[edited, b], today=date(2026, 12, 1), **kw)
    direct = diff_items([a, b], [edited, b], old_name="2026.11", new_name="2026.12")
    assert direct.counts() == {"added": 0, "retired": 0, "edited": 1, "kept": 1}
    assert res.manifest["changes"]["edited"] == [[a.id, edited.id]]
    shown = cli("diff", "ed", "2026.11", "2026.12", "-o", str(tmp_path), "--json")
    assert json.loads(shown.stdout)["edited"] == [{"old_id": a.id, "new_id": edited.id, "old_prompt": a.prompt,
                                                    "new_prompt": edited.prompt}]
    entry = (res.path / "CHANGELOG.md").read_text().split("## 2026.11 ")[0]
    assert parse_changes_markdown(entry) == {"added": [], "retired": [], "edited": [edited.id]}


def test_versions_of_an_unknown_suite_is_a_clear_error(tmp_path: Path) -> None:
    result = cli("versions", "nope", "-o", str(tmp_path))
    assert result.exit_code == 1 and "suite 'nope' has no published version" in result.output
    result = cli("verify", "nope", "-o", str(tmp_path))
    assert result.exit_code == 2 and "no published version" in result.output
