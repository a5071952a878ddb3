"""Suite spec validation: every error names the file, the field path and what was expected."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from benchsmith.errors import SpecError
from benchsmith.spec import load_spec

REPO = Path(__file__).resolve().parents[1]

BASE = {
    "suite": "t-suite",
    "seeds": {"path": "seeds.txt"},
    "target_items": 3,
    "generators": [{"name": "evolve"}],
    "verifiers": [{"name": "rules"}],
}


def write_spec(tmp_path: Path, data: object, name: str = "spec.yaml") -> Path:
    (tmp_path / "seeds.txt").write_text("What is two plus two, shown step by step?\n")
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def spec_error(tmp_path: Path, data: object) -> str:
    path = write_spec(tmp_path, data)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    message = str(err.value)
    assert str(path) in message, "the error must name the file"
    return message


def test_valid_spec_loads_with_defaults(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path, BASE))
    assert spec.suite == "t-suite"
    assert spec.seed_path == tmp_path / "seeds.txt"
    assert spec.dedup.semantic and spec.dedup.threshold == 0.82
    assert spec.llm.judge.temperature == 0.0


def test_wrong_type_names_field_and_expectation(tmp_path: Path) -> None:
    message = spec_error(tmp_path, {**BASE, "target_items": "ten"})
    assert "target_items" in message
    assert "valid integer" in message and "'ten'" in message


def test_unknown_nested_key_names_its_path(tmp_path: Path) -> None:
    message = spec_error(tmp_path, {**BASE, "dedup": {"treshold": 0.8}})
    assert "dedup.treshold" in message
    assert "Extra inputs are not permitted" in message


def test_missing_required_field(tmp_path: Path) -> None:
    data = {k: v for k, v in BASE.items() if k != "target_items"}
    assert "target_items: Field required" in spec_error(tmp_path, data)


def test_exactly_one_source(tmp_path: Path) -> None:
    data = {k: v for k, v in BASE.items() if k != "seeds"}
    assert "exactly one source" in spec_error(tmp_path, data)
    both = {**BASE, "documents": {"path": "docs"}}
    assert "exactly one source" in spec_error(tmp_path, both)


def test_unknown_generator_lists_known_ones(tmp_path: Path) -> None:
    message = spec_error(tmp_path, {**BASE, "generators": [{"name": "evolv"}]})
    assert "generators[0].name" in message
    assert "Did you mean 'evolve'?" in message
    assert "Known generators:" in message and "evolve" in message.split("Known generators:")[1]


def test_unknown_verifier_lists_known_ones(tmp_path: Path) -> None:
    message = spec_error(tmp_path, {**BASE, "verifiers": [{"name": "llm-judge"}]})
    assert "verifiers[0].name" in message and "llm_judge" in message and "rules" in message


def test_bad_stage_parameter_names_its_path(tmp_path: Path) -> None:
    message = spec_error(tmp_path, {**BASE, "generators": [{"name": "evolve", "params": {"operators": ["fly"]}}]})
    assert "generators[0].params.operators" in message
    assert "fly" in message


def test_unknown_stage_parameter(tmp_path: Path) -> None:
    message = spec_error(tmp_path, {**BASE, "verifiers": [{"name": "rules", "params": {"min_chars": 3}}]})
    assert "verifiers[0].params.min_chars" in message


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    message = spec_error(tmp_path, "suite: x\nseeds: [unclosed\ntarget_items: 3\n")
    assert "not valid YAML" in message and "line" in message


def test_not_a_mapping(tmp_path: Path) -> None:
    assert "must be a YAML mapping" in spec_error(tmp_path, "- just\n- a list\n")


def test_missing_spec_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="spec file not found"):
        load_spec(tmp_path / "nope.yaml")


def test_spec_hash_changes_with_content_not_with_publishing(tmp_path: Path) -> None:
    a = load_spec(write_spec(tmp_path, BASE, "a.yaml"))
    b = load_spec(write_spec(tmp_path, {**BASE, "publish": {"output_dir": "elsewhere"}}, "b.yaml"))
    c = load_spec(write_spec(tmp_path, {**BASE, "target_items": 4}, "c.yaml"))
    assert a.spec_hash() == b.spec_hash()
    assert a.spec_hash() != c.spec_hash()


def test_example_specs_validate() -> None:
    for name in ("reasoning.yaml", "coding.yaml"):
        spec = load_spec(REPO / "seeds" / name)
        assert spec.seed_path.is_file()


def test_cli_validate_reports_error_and_exit_code(tmp_path: Path) -> None:
    path = write_spec(tmp_path, {**BASE, "generators": [{"name": "evolve", "params": {"depth": 0}}]})
    proc = subprocess.run([sys.executable, "-m", "benchsmith", "validate", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "generators[0].params.depth" in proc.stderr and str(path) in proc.stderr


def test_cli_validate_ok_shows_endpoints(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "benchsmith", "validate", str(REPO / "seeds" / "reasoning.yaml")],
                          capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert "reasoning-mini" in proc.stdout and "embedded" in proc.stdout


def test_cli_run_bad_seed_file_exits_2_naming_the_line(tmp_path: Path) -> None:
    path = write_spec(tmp_path, BASE)
    (tmp_path / "seeds.txt").write_text("")  # an empty seed file
    proc = subprocess.run([sys.executable, "-m", "benchsmith", "run", str(path)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "seeds.txt" in proc.stderr
    assert not (tmp_path / "outputs").exists()
