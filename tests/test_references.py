"""Reference corpora: every file format, the built-in HumanEval, and every way input can be wrong."""

from __future__ import annotations

import gzip
import json
import os
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from benchsmith.references import (
    ReferenceCorpusError,
    ReferenceSource,
    builtin_path,
    load_reference,
    read_records,
    stringify,
)

ROWS = [
    {"qid": "q1", "question": "What is the boiling point of water?", "answer": "100 C"},
    {"qid": "q2", "question": "Name the largest planet.", "answer": "Jupiter"},
    {"qid": "q3", "question": "Who wrote Hamlet?", "answer": "Shakespeare"},
]


def write_jsonl(path: Path, rows: list[dict], gz: bool = False) -> Path:
    text = "".join(json.dumps(r) + "\n" for r in rows)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[dict], sep: str = ",") -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=sep)
        w.writeheader()
        w.writerows(rows)
    return path


def src(path: Path, **kw) -> ReferenceSource:
    return ReferenceSource(path=path, **kw)


# --- formats ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["jsonl", "jsonl.gz", "json", "parquet", "csv", "tsv"])
def test_every_file_format_reads_the_same_entries(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"ref.{kind}"
    if kind in ("jsonl", "jsonl.gz"):
        write_jsonl(path, ROWS, gz=kind.endswith("gz"))
    elif kind == "json":
        path.write_text(json.dumps(ROWS), encoding="utf-8")
    elif kind == "parquet":
        pq.write_table(pa.Table.from_pylist(ROWS), path)
    else:
        write_csv(path, ROWS, sep="\t" if kind == "tsv" else ",")
    corpus = load_reference(src(path, fields=["question", "answer"], id_field="qid"))
    assert corpus.name == "ref"
    assert corpus.rows == 3 and len(corpus) == 6
    assert corpus.ids == ["q1", "q1", "q2", "q2", "q3", "q3"]
    assert corpus.entry_fields == ["question", "answer"] * 3
    assert corpus.texts[2] == "Name the largest planet." and corpus.texts[5] == "Shakespeare"
    e = corpus.entry(3)
    assert (e.corpus, e.id, e.field, e.text) == ("ref", "q2", "answer", "Jupiter")


def test_datasets_folders_saved_to_disk_and_loadable(tmp_path: Path) -> None:
    import datasets

    one = tmp_path / "saved"
    datasets.Dataset.from_list(ROWS).save_to_disk(str(one))
    corpus = load_reference(src(one, fields=["question"], id_field="qid"))
    assert corpus.ids == ["q1", "q2", "q3"] and corpus.name == "saved"

    multi = tmp_path / "saved_dict"
    datasets.DatasetDict({"train": datasets.Dataset.from_list(ROWS[:2]),
                          "test": datasets.Dataset.from_list(ROWS[2:])}).save_to_disk(str(multi))
    assert len(load_reference(src(multi, fields=["question"]))) == 3  # all splits by default
    only_test = load_reference(src(multi, fields=["question"], id_field="qid", split="test"))
    assert only_test.ids == ["q3"]
    with pytest.raises(ReferenceCorpusError, match=r"no split 'dev'; splits: (train, test|test, train)"):
        load_reference(src(multi, fields=["question"], split="dev"))

    # A folder of data files, as published versions are: read with load_dataset(folder).
    plain = tmp_path / "published" / "data"
    plain.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(ROWS), plain / "test.parquet")
    corpus = load_reference(src(tmp_path / "published", fields=["answer"], id_field="qid"))
    assert sorted(corpus.texts) == ["100 C", "Jupiter", "Shakespeare"]


def test_builtin_humaneval_reads_the_installed_package_data() -> None:
    path = builtin_path("humaneval")
    assert path.name == "HumanEval.jsonl.gz" and path.is_file()
    corpus = load_reference(ReferenceSource(builtin="humaneval"))
    assert corpus.name == "humaneval" and len(corpus) == 164 == corpus.rows
    assert corpus.ids[0] == "HumanEval/0" and corpus.entry_fields[0] == "prompt"
    assert "def has_close_elements(" in corpus.texts[0]
    solutions = load_reference(ReferenceSource(builtin="humaneval", fields=["canonical_solution"], name="he-sol"))
    assert solutions.name == "he-sol" and solutions.entry_fields[0] == "canonical_solution"
    assert solutions.fingerprint != corpus.fingerprint


def test_short_forms_and_source_validation(tmp_path: Path) -> None:
    assert ReferenceSource.model_validate("humaneval").builtin == "humaneval"
    assert ReferenceSource.model_validate("refs/old.jsonl").path == Path("refs/old.jsonl")
    # A file that happens to be called like a built-in is the file.
    (tmp_path / "humaneval").write_text("", encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert ReferenceSource.model_validate("humaneval").path == Path("humaneval")
    finally:
        os.chdir(cwd)
    with pytest.raises(ValidationError, match="exactly one of `path`"):
        ReferenceSource(path=Path("x.jsonl"), builtin="humaneval")
    with pytest.raises(ValidationError, match="exactly one of `path`"):
        ReferenceSource()
    with pytest.raises(ValidationError, match="unknown builtin 'mbpp'; built-ins: humaneval"):
        ReferenceSource(builtin="mbpp")
    with pytest.raises(ValidationError, match="Extra inputs"):
        ReferenceSource.model_validate({"builtin": "humaneval", "feilds": ["prompt"]})


def test_relative_paths_resolve_against_the_spec_folder(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "refs.jsonl", ROWS)
    source = ReferenceSource(path=Path("refs.jsonl"), fields=["question"])
    with pytest.raises(ReferenceCorpusError, match="refs.jsonl: file not found"):
        load_reference(source, base_dir=tmp_path / "elsewhere")
    assert len(load_reference(source, base_dir=tmp_path)) == 3


# --- bad input ----------------------------------------------------------------------------


def test_missing_field_names_the_file_the_field_and_what_exists(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "bench.jsonl", ROWS)
    with pytest.raises(ReferenceCorpusError) as err:
        load_reference(src(path, fields=["questoin"]))
    msg = str(err.value)
    assert str(path) in msg and "'questoin' not found" in msg and "did you mean 'question'?" in msg
    assert "available fields: 'qid', 'question', 'answer'" in msg
    with pytest.raises(ReferenceCorpusError,
                       match=r"bench.jsonl: field 'id' not found \(did you mean 'qid'\?\); available"):
        load_reference(src(path, fields=["question"], id_field="id"))
    csv_path = write_csv(tmp_path / "bench.csv", ROWS)
    with pytest.raises(ReferenceCorpusError, match=r"bench.csv: field 'text' not found.*'qid', 'question', 'answer'"):
        read_records(csv_path, ["text"])
    with pytest.raises(ReferenceCorpusError,
                       match=r"HumanEval.jsonl.gz\): field 'promt' not found.*'task_id', 'prompt'"):
        load_reference(ReferenceSource(builtin="humaneval", fields=["promt", "prompt"]))


def test_missing_file_unknown_format_and_broken_lines(tmp_path: Path) -> None:
    with pytest.raises(ReferenceCorpusError, match="nope.jsonl: file not found"):
        load_reference(src(tmp_path / "nope.jsonl"))
    (tmp_path / "x.xlsx").write_bytes(b"PK")
    with pytest.raises(ReferenceCorpusError, match=r"x.xlsx: unsupported file type; expected .jsonl"):
        load_reference(src(tmp_path / "x.xlsx"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "ok"}\n\n{"prompt": broken\n', encoding="utf-8")
    with pytest.raises(ReferenceCorpusError, match=r"bad.jsonl: line 3: not valid JSON"):
        load_reference(src(bad))
    arr = tmp_path / "arr.jsonl"
    arr.write_text('["not", "an", "object"]\n', encoding="utf-8")
    with pytest.raises(ReferenceCorpusError, match=r"arr.jsonl: line 1: expected a JSON object, got list"):
        load_reference(src(arr))
    notparquet = tmp_path / "fake.parquet"
    notparquet.write_text("hello", encoding="utf-8")
    with pytest.raises(ReferenceCorpusError, match=r"fake.parquet: cannot read as Parquet"):
        load_reference(src(notparquet))


def test_empty_corpus_is_an_error_unless_allowed(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ReferenceCorpusError, match=r"empty.jsonl: the reference corpus has no text in field\(s\) "
                                                   r"'prompt' \(0 rows.*allow_empty: true"):
        load_reference(src(empty))
    corpus = load_reference(src(empty, allow_empty=True))
    assert len(corpus) == 0 and corpus.rows == 0
    # Rows whose fields are all null or blank are just as empty, and the message counts them.
    blanks = write_jsonl(tmp_path / "blanks.jsonl", [{"prompt": None}, {"prompt": "   "}, {"other": "x"}])
    with pytest.raises(ReferenceCorpusError, match=r"\(3 rows, 3 null or blank values\)"):
        load_reference(src(blanks))
    header_only = tmp_path / "header.csv"
    header_only.write_text("prompt,id\n", encoding="utf-8")
    with pytest.raises(ReferenceCorpusError, match="header.csv: the reference corpus has no text"):
        load_reference(src(header_only))


def test_non_string_fields_are_stringified_or_rejected(tmp_path: Path) -> None:
    rows = [{"id": 7, "prompt": 42}, {"id": 8, "prompt": 2.5}, {"id": 9, "prompt": ["red", "blue", None]},
            {"id": 10, "prompt": {"b": 1, "a": "x"}}, {"id": 11, "prompt": True}, {"id": 12, "prompt": None},
            {"id": None, "prompt": "plain"}]
    path = write_jsonl(tmp_path / "mixed.jsonl", rows)
    corpus = load_reference(src(path, id_field="id"))
    assert corpus.texts == ["42", "2.5", "red\nblue", '{"a": "x", "b": 1}', "True", "plain"]
    assert corpus.ids == ["7", "8", "9", "10", "11", "6"]  # a null id falls back to the row position
    assert corpus.skipped_values == 1
    with pytest.raises(ReferenceCorpusError, match=r"mixed.jsonl: line 1: field 'prompt' is int, not text"):
        load_reference(src(path, non_string="error"))
    # Parquet keeps types too: a list column is one element per line.
    pq_path = tmp_path / "typed.parquet"
    pq.write_table(pa.Table.from_pylist([{"prompt": ["a", "b"]}, {"prompt": ["c"]}]), pq_path)
    assert load_reference(src(pq_path)).texts == ["a\nb", "c"]
    assert stringify(b"bytes") == "bytes"


def test_changed_file_is_reread_and_fingerprint_follows_content(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "refs.jsonl", ROWS)
    first = load_reference(src(path, fields=["question"]))
    again = load_reference(src(path, fields=["question"]))
    assert again is first  # cached while the file is unchanged
    time.sleep(0.01)
    write_jsonl(path, ROWS + [{"qid": "q4", "question": "What is 2 + 2?"}])
    changed = load_reference(src(path, fields=["question"]))
    assert len(changed) == 4 and changed.fingerprint != first.fingerprint
    # Same content elsewhere: same fingerprint (indexes are keyed by content, not by path).
    copy = write_jsonl(tmp_path / "copy.jsonl", ROWS + [{"qid": "q4", "question": "What is 2 + 2?"}])
    assert load_reference(src(copy, fields=["question"])).fingerprint == changed.fingerprint
