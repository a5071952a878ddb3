"""Exports of published versions that evaluation harnesses run unchanged.

`export_version(outputs, suite, version, target, dest)` writes one of:

- ``lm-eval``: an lm-evaluation-harness task folder (`benchsmith.exports.lm_eval`);
- ``inspect``: an inspect-ai task file with its samples (`benchsmith.exports.inspect_task`);
- ``jsonl`` / ``csv``: one file of harness-ready rows (`benchsmith.exports.tabular`).

Every target asks the same question in the same words (`benchsmith.exports.formats`), the
words `benchsmith evaluate` uses too. The published version is checked against its
manifest first; the export folder records the sha256 of the data it came from.
"""

from __future__ import annotations

from pathlib import Path

from benchsmith.exports.formats import ItemView, task_name, view
from benchsmith.exports.source import PublishedVersion, VersionNotFoundError, open_version, resolve_version
from benchsmith.exports.writer import (
    TARGETS,
    ExportError,
    ExportResult,
    Target,
    default_dest,
    relative_files,
    staging,
    write_export_manifest,
    write_views_parquet,
)

__all__ = ["TARGETS", "ExportError", "ExportResult", "ItemView", "PublishedVersion", "Target",
           "VersionNotFoundError", "default_dest", "export_version", "open_version", "resolve_version", "view"]


def export_version(outputs: Path, suite: str, version: str | None, target: str, dest: Path | None = None, *,
                   force: bool = False) -> ExportResult:
    """Export `suite`'s `version` (latest when None) under the outputs root `outputs` for `target`.

    `dest` defaults to exports/<suite>-<version>-<target>/. A non-empty `dest` is refused
    unless `force`, which replaces it once the new export is complete.

    Raises ExportError (unknown target, destination not empty), VersionNotFoundError, PublishError.
    """
    if target not in TARGETS:
        raise ExportError(f"--to: unknown export target {target!r}; choose one of {', '.join(TARGETS)}")
    tgt: Target = target  # narrowed by the membership test above
    source = open_version(outputs, suite, version)
    dest = (dest if dest is not None else default_dest(source.suite, source.version, tgt)).resolve()
    views = [view(it) for it in source.items]
    name = task_name(source.suite, source.version)
    counts = {fam: sum(v.family == fam for v in views) for fam in ("open", "choice")}
    with staging(dest, force) as folder:
        tasks, commands = _write(tgt, folder, dest, name, views, source)
        result_fields = {"tasks": tasks, "commands": commands, "counts": counts}
        write_export_manifest(folder, source, tgt, result_fields, lambda: relative_files(folder))
        files = relative_files(folder)
    return ExportResult(target=tgt, dest=dest, tasks=tasks, commands=commands, files=files, counts=counts)


def _write(target: Target, folder: Path, dest: Path, name: str, views: list[ItemView],
           source: PublishedVersion) -> tuple[list[str], list[str]]:
    if target == "lm-eval":
        from benchsmith.exports import lm_eval

        for family in ("open", "choice"):
            members = [v for v in views if v.family == family]
            if members:
                write_views_parquet(folder / "data" / f"{family}.parquet", members)
        return lm_eval.write(folder, dest, name, views)
    if target == "inspect":
        from benchsmith.exports import inspect_task

        return inspect_task.write(folder, dest, name, views, source.suite, source.version)
    from benchsmith.exports import tabular

    path = folder / f"{name}.{target}"
    (tabular.write_jsonl if target == "jsonl" else tabular.write_csv)(path, views)
    return [], [f"python -c \"import datasets; print(datasets.load_dataset('{target if target == 'csv' else 'json'}', "
                f"data_files={str(dest / path.name)!r})['train'])\""]
