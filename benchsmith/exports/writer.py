"""Where an export is written: a fresh folder, filled in a temporary sibling and renamed into place.

A non-empty destination is refused unless `force`; with `force` it is replaced as a whole
(only once the new export is complete, so a failed export leaves the old one as it was).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from benchsmith.errors import BenchsmithError
from benchsmith.exports.formats import ItemView
from benchsmith.exports.source import PublishedVersion

Target = Literal["lm-eval", "inspect", "jsonl", "csv"]
TARGETS: tuple[Target, ...] = ("lm-eval", "inspect", "jsonl", "csv")
EXPORT_MANIFEST = "benchsmith-export.json"


class ExportError(BenchsmithError):
    """An export could not be written (destination not empty, unknown target, ...)."""


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote and how to run it."""

    target: Target
    dest: Path
    tasks: list[str]
    """Task names the harness knows the export by (empty for jsonl/csv)."""
    commands: list[str]
    """Shell commands that run the export as written (the first is the main one)."""
    files: list[str] = field(default_factory=list)
    """Files written, relative to `dest`."""
    counts: dict[str, int] = field(default_factory=dict)
    """Items per family ('open', 'choice')."""


def default_dest(suite: str, version: str, target: Target, root: Path | None = None) -> Path:
    """exports/<suite>-<version>-<target>/ (under `root`, default the working directory)."""
    return (root or Path("exports")) / f"{suite}-{version}-{target}"


def check_dest(dest: Path, force: bool) -> None:
    """Refuse a destination that is a file, or a non-empty folder unless `force`."""
    if dest.exists() and not dest.is_dir():
        raise ExportError(f"{dest}: exists and is not a folder; choose another --dest")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise ExportError(f"{dest}: the folder is not empty; pass --force to replace it, or choose another --dest")


@contextmanager
def staging(dest: Path, force: bool) -> Iterator[Path]:
    """A temporary folder beside `dest` to write into; renamed to `dest` when the block succeeds.

    Paths written into files must name `dest`, not the staging folder: the caller gets the
    staging folder to write to and uses `dest` (absolute) in what it writes.
    """
    check_dest(dest, force)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.tmp-{os.getpid()}-{secrets.token_hex(3)}"
    tmp.mkdir()
    try:
        yield tmp
        check_dest(dest, force)  # it may have been filled meanwhile
        if dest.exists():
            old = dest.parent / f".{dest.name}.old-{os.getpid()}-{secrets.token_hex(3)}"
            os.rename(dest, old)
            os.rename(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


VIEW_SCHEMA = pa.schema([
    pa.field("id", pa.string()),
    pa.field("kind", pa.string()),
    pa.field("family", pa.string()),
    pa.field("prompt", pa.string()),
    pa.field("question", pa.string()),
    pa.field("choices", pa.list_(pa.string())),
    pa.field("letters", pa.list_(pa.string())),
    pa.field("answer_index", pa.int64()),
    pa.field("target", pa.string()),
    pa.field("reference_answer", pa.string()),
])
"""Columns of the derived files harnesses read: `prompt` is what a chat model is asked."""


def view_row(v: ItemView) -> dict[str, Any]:
    """One row of `VIEW_SCHEMA`."""
    return {"id": v.id, "kind": v.kind, "family": v.family, "prompt": v.prompt, "question": v.question,
            "choices": list(v.choices), "letters": list(v.letters), "answer_index": v.answer_index,
            "target": v.target, "reference_answer": v.reference_answer}


def write_views_parquet(path: Path, views: list[ItemView]) -> None:
    """The views as parquet with `VIEW_SCHEMA`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist([view_row(v) for v in views], schema=VIEW_SCHEMA), path)


def write_export_manifest(folder: Path, source: PublishedVersion, target: Target, result_fields: dict[str, Any],
                          files: Callable[[], list[str]]) -> None:
    """benchsmith-export.json: what was exported from where (the source's sha256), and how to run it."""
    data = {"suite": source.suite, "version": source.version, "target": target,
            "source": {"path": str(source.data_file), "sha256": source.data_sha256, "items": len(source.items)},
            **result_fields, "files": files()}
    (folder / EXPORT_MANIFEST).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def relative_files(folder: Path) -> list[str]:
    """Every file under `folder`, relative, sorted."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
