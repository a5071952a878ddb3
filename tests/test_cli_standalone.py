"""`benchsmith dedup` and `benchsmith contamination` as a user runs them: real processes on small files."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from benchsmith.references import ReferenceSource, load_reference

REPO = Path(__file__).resolve().parents[1]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "BENCHSMITH_WORKSPACE": str(cwd / "ws"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "benchsmith", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=600)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def read_report(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def one_line(text: str) -> str:
    return " ".join(text.split())


QUESTIONS = [
    {"id": "a", "prompt": "What is the capital city of Australia?"},
    {"id": "b", "prompt": "what is the capital city of australia"},
    {"id": "c", "prompt": "Which city is Australia's capital?"},
    {"id": "d", "prompt": "How many legs does a spider have?"},
    {"id": "e", "prompt": None},
]


def test_dedup_writes_a_per_row_report_and_a_summary(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "questions.jsonl", QUESTIONS)
    res = cli("dedup", str(src), "--id-field", "id", "--threshold", "0.9", "--no-minhash", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    rows = read_report(tmp_path / "questions.dedup.jsonl")  # default report name, in the working directory
    by_id = {r["id"]: r for r in rows}
    assert [r["id"] for r in rows] == ["a", "b", "c", "d", "e"]
    assert by_id["a"]["verdict"] == "kept" and by_id["d"]["verdict"] == "kept"
    assert by_id["b"] | {"text": None} == {
        "id": "b", "position": 1, "verdict": "duplicate", "reason": "duplicate_exact", "method": "exact",
        "score": 1.0, "duplicate_of": "a", "duplicate_of_position": 0,
        "duplicate_of_text": "What is the capital city of Australia?", "text": None}
    c = by_id["c"]
    assert c["verdict"] == "duplicate" and c["method"] == "semantic" and c["duplicate_of"] == "a"
    assert 0.9 <= c["score"] <= 1.0
    assert by_id["e"]["verdict"] == "skipped" and by_id["e"]["reason"] == "no_text"
    out = one_line(res.stdout)
    assert "dedup_exact, dedup_semantic" in out
    assert "kept │ 2 │ 40.0%" in out and "duplicate (exact) │ 1" in out and "duplicate (semantic) │ 1" in out
    assert "skipped (no text) │ 1" in out and "report: questions.dedup.jsonl" in out


def test_dedup_csv_with_output_path_and_fail_on_match(tmp_path: Path) -> None:
    src = tmp_path / "items.csv"
    with src.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["key", "question", "answer"])
        w.writerow(["k1", "Name the largest planet.", "Jupiter"])
        w.writerow(["k2", "NAME THE LARGEST PLANET!", "Jupiter, a gas giant"])
        w.writerow(["k3", "Who wrote Hamlet?", "Shakespeare"])
    report = tmp_path / "out" / "report.jsonl"
    res = cli("dedup", str(src), "--field", "question", "--id-field", "key", "--no-semantic", "--no-minhash",
              "-o", str(report), "--fail-on-match", cwd=tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr  # a duplicate was found and --fail-on-match asked for 1
    rows = read_report(report)
    assert [(r["id"], r["verdict"], r["duplicate_of"]) for r in rows] == [
        ("k1", "kept", None), ("k2", "duplicate", "k1"), ("k3", "kept", None)]
    # Two fields joined: the answers differ, so nothing is a duplicate any more and the exit status is 0.
    res = cli("dedup", str(src), "-f", "question", "-f", "answer", "--no-semantic", "--no-minhash",
              "-o", str(report), "--fail-on-match", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    rows = read_report(report)
    assert [r["verdict"] for r in rows] == ["kept"] * 3
    assert rows[1]["text"] == "NAME THE LARGEST PLANET!\nJupiter, a gas giant"


LONGEST_REPHRASED = '''from typing import List, Optional


def longest_string(strings: List[str]) -> Optional[str]:
    """ Return the longest of the given strings. When several strings share the maximum length,
    return the first of them. For an empty input list return None.
    >>> longest_string(['a', 'bb', 'ccc'])
    'ccc'
    """
'''


def test_contamination_against_humaneval(tmp_path: Path) -> None:
    he = load_reference(ReferenceSource(builtin="humaneval"))
    src = write_jsonl(tmp_path / "bench.jsonl", [
        {"qid": "x1", "task": he.texts[2]},
        {"qid": "x2", "task": LONGEST_REPHRASED},
        {"qid": "x3", "task": "Write a function that parses one line of CSV with quoted fields and returns the "
                              "list of field values."},
        {"qid": "x4", "task": ""},
    ])
    res = cli("contamination", str(src), "--field", "task", "--id-field", "qid", "--against", "humaneval",
              "--output", "report.jsonl", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    rows = {r["id"]: r for r in read_report(tmp_path / "report.jsonl")}
    x1, x2, x3, x4 = rows["x1"], rows["x2"], rows["x3"], rows["x4"]
    assert (x1["verdict"], x1["method"], x1["score"], x1["matched_reference"], x1["matched_id"],
            x1["matched_field"]) == ("contaminated", "ngram", 1.0, "humaneval", "HumanEval/2", "prompt")
    assert x1["matched_text"].strip().startswith("def truncate_number(number: float) -> float:")
    assert (x2["verdict"], x2["method"], x2["matched_id"]) == ("contaminated", "embedding", "HumanEval/12")
    assert x2["score"] == x2["embedding_score"] >= 0.9
    assert x3["verdict"] == "clean" and x3["matched_id"] is None and x3["score"] is None
    assert x3["ngram_score"] == 0.0 and x3["embedding_score"] < 0.6
    assert x4["verdict"] == "skipped"
    out = one_line(res.stdout)
    assert "against humaneval (4 rows)" in out
    assert "clean │ 1" in out and "contaminated (ngram) │ 1" in out and "contaminated (embedding) │ 1" in out
    assert "HumanEval/2" in out and "HumanEval/12" in out  # the examples table


def test_contamination_local_parquet_reference_without_embeddings(tmp_path: Path) -> None:
    ref = tmp_path / "old.parquet"
    pq.write_table(pa.Table.from_pylist([
        {"uid": 101, "question": "A farmer has seventeen sheep and all but nine run away through a hole in the fence "
                                 "near the river; how many sheep does the farmer have left at the end of the day?"},
        {"uid": 102, "question": "What is the chemical symbol for gold?"},
    ]), ref)
    src = tmp_path / "new.csv"
    src.write_text("prompt\n\"Puzzle: a farmer has seventeen sheep and all but nine run away through a hole in the "
                   "fence near the river; how many sheep does the farmer have left at the end of the day?\"\n"
                   "What is the chemical symbol for silver?\n", encoding="utf-8")
    res = cli("contamination", str(src), "-a", str(ref), "--against-field", "question", "--against-id-field", "uid",
              "--no-embedding", "--fail-on-match", cwd=tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr
    rows = read_report(tmp_path / "new.contamination.jsonl")
    assert [(r["id"], r["verdict"], r["matched_id"]) for r in rows] == [
        ("0", "contaminated", "101"), ("1", "clean", None)]
    assert rows[0]["matched_reference"] == "old" and rows[1]["embedding_score"] is None
    assert rows[0]["score"] > 0.8


def test_errors_name_the_file_and_the_field(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "items.jsonl", [{"question": "What is 2 + 2?"}])
    res = cli("dedup", str(src), "--no-semantic", cwd=tmp_path)
    err = one_line(res.stderr)
    assert res.returncode == 2
    assert f"error: {src}: field 'prompt' not found; available fields: 'question'" in err

    res = cli("contamination", str(src), "-f", "question", "-a", "humaneval", "--against-field", "docstring",
              cwd=tmp_path)
    err = one_line(res.stderr)
    assert res.returncode == 2 and "HumanEval.jsonl.gz): field 'docstring' not found" in err
    assert "'task_id', 'prompt', 'entry_point', 'canonical_solution', 'test'" in err

    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    res = cli("contamination", str(src), "-f", "question", "-a", str(empty), cwd=tmp_path)
    assert res.returncode == 2 and f"{empty}: the reference corpus has no text" in one_line(res.stderr)

    res = cli("contamination", str(tmp_path / "missing.parquet"), "-a", "humaneval", cwd=tmp_path)
    assert res.returncode == 2 and "missing.parquet: file not found" in one_line(res.stderr)

    res = cli("dedup", str(empty), cwd=tmp_path)
    assert res.returncode == 2 and f"{empty}: no rows to check" in one_line(res.stderr)

    blank = write_jsonl(tmp_path / "blank.jsonl", [{"prompt": " "}, {"prompt": None}])
    res = cli("dedup", str(blank), cwd=tmp_path)
    assert res.returncode == 2 and "null or blank in every one of the 2 rows" in one_line(res.stderr)

    res = cli("contamination", str(src), "-a", "humaneval", "--ngram-n", "0", cwd=tmp_path)
    assert res.returncode == 2 and "--ngram-n" in one_line(res.stderr)
    assert not (tmp_path / "items.contamination.jsonl").exists()  # no report for a failed run
