"""Seed loading: every format, errors that name file and line, skip_bad, limit, duplicate ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchsmith.errors import SeedError
from benchsmith.records import content_hash
from benchsmith.seeds import SkippedSeed, load_seed_file, load_seeds
from benchsmith.spec import SeedSource, SuiteSpec


def _spec(tmp_path: Path, seed_file: str, **seed_fields: object) -> SuiteSpec:
    """A minimal spec whose seed path is relative to a spec file in tmp_path."""
    spec = SuiteSpec.model_validate({
        "suite": "t", "target_items": 1, "generators": [{"name": "evolve"}],
        "seeds": {"path": seed_file, **seed_fields},
    })
    spec.source_path = tmp_path / "suite.yaml"
    return spec


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- formats -------------------------------------------------------------------------

def test_jsonl_fields_metadata_and_blank_lines(tmp_path: Path) -> None:
    _write(tmp_path, "s.jsonl",
           '{"id": "a1", "domain": "math", "prompt": "  What is 2+2?  ", "level": 3}\n'
           "\n"
           '{"prompt": "Name a prime above 10."}\n')
    result = load_seeds(_spec(tmp_path, "s.jsonl"))
    first, second = result.seeds
    assert (first.id, first.prompt, first.domain, first.metadata) == ("a1", "What is 2+2?", "math", {"level": 3})
    assert first.source == "s.jsonl:1"
    # No id field: the id is the content hash of the prompt; the blank line keeps numbering honest.
    assert second.id == content_hash("Name a prime above 10.")
    assert second.source == "s.jsonl:3" and second.domain is None
    assert result.path == (tmp_path / "s.jsonl").resolve()
    assert result.skipped == []


def test_jsonl_custom_field_names(tmp_path: Path) -> None:
    _write(tmp_path, "s.jsonl", '{"key": 7, "topic": "geo", "question": "How many sides has a hexagon?"}\n')
    seed = load_seeds(_spec(tmp_path, "s.jsonl", prompt_field="question", id_field="key",
                            domain_field="topic")).seeds[0]
    assert (seed.id, seed.domain, seed.prompt, seed.metadata) == ("7", "geo", "How many sides has a hexagon?", {})


def test_yaml_list_of_strings_and_objects(tmp_path: Path) -> None:
    _write(tmp_path, "s.yaml",
           "# comment\n"
           "- What is the capital of Peru?\n"
           "- id: q2\n"
           "  domain: history\n"
           "  prompt: When did the Berlin Wall fall?\n"
           "  source_note: mine\n")
    seeds = load_seeds(_spec(tmp_path, "s.yaml")).seeds
    assert [s.prompt for s in seeds] == ["What is the capital of Peru?", "When did the Berlin Wall fall?"]
    assert seeds[0].id == content_hash("What is the capital of Peru?")
    assert (seeds[1].id, seeds[1].domain, seeds[1].metadata) == ("q2", "history", {"source_note": "mine"})
    assert [s.source for s in seeds] == ["s.yaml:2", "s.yaml:3"]


def test_yaml_mapping_with_seeds_key(tmp_path: Path) -> None:
    _write(tmp_path, "s.yml", "seeds:\n  - First prompt here\n  - prompt: Second prompt here\n")
    seeds = load_seeds(_spec(tmp_path, "s.yml")).seeds
    assert [s.prompt for s in seeds] == ["First prompt here", "Second prompt here"]
    assert [s.source for s in seeds] == ["s.yml:2", "s.yml:3"]


def test_txt_comments_and_blank_lines(tmp_path: Path) -> None:
    _write(tmp_path, "s.txt", "# header\n\nWrite a sort.\n   \n  # indented comment\nReverse a list.\n")
    seeds = load_seeds(_spec(tmp_path, "s.txt")).seeds
    assert [(s.prompt, s.source) for s in seeds] == [("Write a sort.", "s.txt:3"), ("Reverse a list.", "s.txt:6")]


def test_explicit_format_overrides_extension(tmp_path: Path) -> None:
    _write(tmp_path, "seeds.data", '{"prompt": "a JSONL line in a .data file"}\n')
    assert load_seeds(_spec(tmp_path, "seeds.data", format="jsonl")).seeds[0].prompt == "a JSONL line in a .data file"
    with pytest.raises(SeedError, match=r"seeds\.data.*extension '\.data'"):
        load_seeds(_spec(tmp_path, "seeds.data"))


def test_load_seed_file_without_spec(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.txt", "only one\n")
    result = load_seed_file(path)
    assert [s.prompt for s in result.seeds] == ["only one"]


# --- errors name file and line ----------------------------------------------------------

def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match=r"nope\.jsonl: seed file not found"):
        load_seeds(_spec(tmp_path, "nope.jsonl"))


@pytest.mark.parametrize("name,text", [("e.jsonl", ""), ("e.txt", "\n  \n"), ("e.yaml", "")])
def test_empty_file(tmp_path: Path, name: str, text: str) -> None:
    _write(tmp_path, name, text)
    with pytest.raises(SeedError, match=rf"{name.replace('.', '[.]')}: seed file is empty"):
        load_seeds(_spec(tmp_path, name))


def test_only_comments_means_no_seeds(tmp_path: Path) -> None:
    _write(tmp_path, "c.txt", "# nothing\n# here\n")
    with pytest.raises(SeedError, match=r"c\.txt: no seeds found"):
        load_seeds(_spec(tmp_path, "c.txt"))


@pytest.mark.parametrize("line3,message", [
    ('{"prompt": "broken",', r"bad\.jsonl:3: malformed JSON"),
    ('["a", "list"]', r"bad\.jsonl:3: expected a JSON object, got a list"),
    ('{"text": "no prompt"}', r"bad\.jsonl:3: no 'prompt' field \(fields: text\)"),
    ('{"prompt": 42}', r"bad\.jsonl:3: 'prompt' must be a string, got a number"),
    ('{"prompt": "   "}', r"bad\.jsonl:3: 'prompt' is empty"),
    ('{"prompt": "ok", "id": ""}', r"bad\.jsonl:3: 'id' must be a non-empty string"),
    ('{"prompt": "ok", "domain": 5}', r"bad\.jsonl:3: 'domain' must be a string"),
])
def test_jsonl_line_errors(tmp_path: Path, line3: str, message: str) -> None:
    _write(tmp_path, "bad.jsonl", '{"prompt": "one"}\n\n' + line3 + "\n" + '{"prompt": "four"}\n')
    with pytest.raises(SeedError, match=message):
        load_seeds(_spec(tmp_path, "bad.jsonl"))


def test_duplicate_ids(tmp_path: Path) -> None:
    _write(tmp_path, "d.jsonl", '{"id": "x", "prompt": "one"}\n{"id": "y", "prompt": "two"}\n'
                                '{"id": "x", "prompt": "three"}\n')
    with pytest.raises(SeedError, match=r"d\.jsonl:3: duplicate seed id 'x', first seen at line 1"):
        load_seeds(_spec(tmp_path, "d.jsonl"))


def test_duplicate_prompts_without_ids(tmp_path: Path) -> None:
    _write(tmp_path, "d.txt", "Same prompt\nOther\nSame prompt\n")
    with pytest.raises(SeedError, match=r"d\.txt:3: duplicate seed prompt .*first seen at line 1"):
        load_seeds(_spec(tmp_path, "d.txt"))


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    _write(tmp_path, "y.yaml", "- fine prompt\n- [unclosed\n- third\n")
    with pytest.raises(SeedError, match=r"y\.yaml:\d+: not valid YAML"):
        load_seeds(_spec(tmp_path, "y.yaml"))


def test_yaml_entry_errors_name_line(tmp_path: Path) -> None:
    _write(tmp_path, "y.yaml", "- fine prompt\n- 42\n- id: z\n  text: no prompt\n")
    with pytest.raises(SeedError, match=r"y\.yaml:2: expected a string or a mapping, got a number"):
        load_seeds(_spec(tmp_path, "y.yaml"))
    _write(tmp_path, "y2.yaml", "- fine prompt\n- id: z\n  text: no prompt\n")
    with pytest.raises(SeedError, match=r"y2\.yaml:2: no 'prompt' field"):
        load_seeds(_spec(tmp_path, "y2.yaml"))


def test_yaml_wrong_shapes(tmp_path: Path) -> None:
    _write(tmp_path, "m.yaml", "prompts:\n  - a\n")
    with pytest.raises(SeedError, match=r"m\.yaml:1: .*'seeds:' list \(unknown key\(s\) prompts\)"):
        load_seeds(_spec(tmp_path, "m.yaml"))
    _write(tmp_path, "s.yaml", "just a string\n")
    with pytest.raises(SeedError, match=r"s\.yaml:1: expected a list of seeds, got a string"):
        load_seeds(_spec(tmp_path, "s.yaml"))


def test_not_utf8_names_line(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_bytes(b"good line\nbad \xff byte\n")
    with pytest.raises(SeedError, match=r"b\.txt:2: not UTF-8"):
        load_seeds(_spec(tmp_path, "b.txt"))


# --- skip_bad and limit -------------------------------------------------------------------

def test_skip_bad_records_skipped_lines(tmp_path: Path) -> None:
    lines = [
        '{"id": "a", "prompt": "good one"}',
        '{"id": "b", "prompt": ',
        '{"id": "c", "text": "no prompt"}',
        '{"id": "a", "prompt": "duplicate id"}',
        '{"id": "d", "prompt": "good two"}',
    ]
    _write(tmp_path, "s.jsonl", "\n".join(lines) + "\n")
    result = load_seeds(_spec(tmp_path, "s.jsonl"), skip_bad=True)
    assert [s.id for s in result.seeds] == ["a", "d"]
    assert [s.line for s in result.skipped] == [2, 3, 4]
    assert all(isinstance(s, SkippedSeed) for s in result.skipped)
    assert result.skipped[0].reason.startswith("malformed JSON")
    assert "no 'prompt' field" in result.skipped[1].reason
    assert "duplicate seed id 'a'" in result.skipped[2].reason


def test_skip_bad_still_fails_on_missing_empty_or_all_bad(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="not found"):
        load_seeds(_spec(tmp_path, "missing.jsonl"), skip_bad=True)
    _write(tmp_path, "empty.jsonl", "\n")
    with pytest.raises(SeedError, match="empty"):
        load_seeds(_spec(tmp_path, "empty.jsonl"), skip_bad=True)
    _write(tmp_path, "bad.jsonl", "{oops\n[1]\n")
    with pytest.raises(SeedError, match=r"bad\.jsonl: no seeds found \(2 bad entries skipped\)"):
        load_seeds(_spec(tmp_path, "bad.jsonl"), skip_bad=True)


def test_limit_keeps_first_n_but_checks_whole_file(tmp_path: Path) -> None:
    _write(tmp_path, "s.txt", "".join(f"prompt number {i}\n" for i in range(10)))
    seeds = load_seeds(_spec(tmp_path, "s.txt", limit=3)).seeds
    assert [s.prompt for s in seeds] == ["prompt number 0", "prompt number 1", "prompt number 2"]

    _write(tmp_path, "late.jsonl", '{"prompt": "a"}\n{"prompt": "b"}\n{bad\n')
    with pytest.raises(SeedError, match=r"late\.jsonl:3"):
        load_seeds(_spec(tmp_path, "late.jsonl", limit=1))


def test_seed_source_default_for_direct_load(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.jsonl", json.dumps({"q": "hello there"}) + "\n")
    result = load_seed_file(path, SeedSource(path=path, prompt_field="q"))
    assert result.seeds[0].prompt == "hello there"
