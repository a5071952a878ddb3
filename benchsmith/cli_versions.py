"""`benchsmith versions`, `diff` and `verify`: a suite's published history, readable and checkable.

Registered on the main app by `benchsmith.cli`; the logic is `benchsmith.releases`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from benchsmith.changes import short
from benchsmith.cli_common import WorkspaceOpt, console, out
from benchsmith.cli_common import fail as _fail
from benchsmith.errors import BenchsmithError

SuiteArg = Annotated[str, typer.Argument(help="Suite name (the folder under the outputs root).")]
OutputsOpt = Annotated[Path, typer.Option("--output-dir", "-o", help="The outputs root the suite is published under.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


def _n(value: int | None) -> str:
    return "?" if value is None else str(value)


def versions_command(suite: SuiteArg, output_dir: OutputsOpt = Path("outputs"),
                     workspace: WorkspaceOpt = Path(".benchsmith"), as_json: JsonOpt = False) -> None:
    """List every published version of a suite: size, date, added/retired counts and parent."""
    from benchsmith.evaluation import latest_evaluation
    from benchsmith.evaluation.report import evaluation_brief
    from benchsmith.releases import list_releases, private_suite

    del workspace  # accepted like every command's; the history lives under the outputs root
    suite_dir = output_dir / suite
    try:
        rows = list_releases(suite_dir)
        held = list_releases(output_dir / private_suite(suite))
    except BenchsmithError as err:
        raise _fail(err) from None
    # The latest evaluation of each version (`benchsmith evaluate`, or the run's own before publishing).
    evals = {(name, r.name): evaluation_brief(latest_evaluation(output_dir, name, r.name))
             for name, listing in ((suite, rows), (private_suite(suite), held)) for r in listing}
    if as_json:
        sys.stdout.write(json.dumps({"suite": suite,
                                     "versions": [{**r.as_json(), "evaluation": evals[suite, r.name]} for r in rows],
                                     "private": [{**r.as_json(), "evaluation": evals[private_suite(suite), r.name]}
                                                 for r in held]}, indent=2) + "\n")
        return
    if not rows:
        raise _fail(BenchsmithError(f"suite {suite!r} has no published version under {output_dir}"), 1)
    for name, title, listing in ((suite, f"versions — {suite}", rows),
                                 (private_suite(suite), f"held back — {private_suite(suite)}", held)):
        if not listing:
            continue
        table = Table(title=escape(title), title_justify="left")
        for col in ("version", "items", "created", "added", "retired", "edited", "parent", "files"):
            table.add_column(col, justify="right" if col in ("items", "added", "retired", "edited") else "left")
        for r in listing:
            table.add_row(r.name, _n(r.size), r.created_at[:19].replace("T", " "), _n(r.added), _n(r.retired),
                          _n(r.edited), r.parent or "-", "ok" if not r.problems else f"[red]{len(r.problems)} bad[/]")
        out.print(table)
        _print_evaluations(name, [(r.name, evals[name, r.name]) for r in listing])


def _print_evaluations(suite: str, rows: list[tuple[str, dict[str, Any] | None]]) -> None:
    """The latest evaluation per version (`benchsmith.evaluation.report.evaluation_brief`), when any has one:
    its own table, so that the versions table keeps its width."""
    from benchsmith.evaluation.report import brief_cell

    if not any(brief for _, brief in rows):
        return
    table = Table(title=escape(f"latest evaluation — {suite}"), title_justify="left")
    for col in ("version", "best model, separability, date", "run"):
        table.add_column(col)
    for name, brief in rows:
        table.add_row(name, escape(brief_cell(brief)), escape(str(brief["run"])) if brief else "-")
    out.print(table)


def diff_command(suite: SuiteArg, old: Annotated[str, typer.Argument(help="The older version.")],
                 new: Annotated[str, typer.Argument(help="The newer version.")],
                 output_dir: OutputsOpt = Path("outputs"), workspace: WorkspaceOpt = Path(".benchsmith"),
                 as_json: JsonOpt = False) -> None:
    """Items added, retired and edited between two versions (ids and prompts)."""
    from benchsmith.releases import diff_versions

    del workspace
    try:
        diff = diff_versions(output_dir / suite, old, new)
    except BenchsmithError as err:
        raise _fail(err) from None
    if as_json:
        sys.stdout.write(json.dumps({"suite": suite, **diff.as_json()}, indent=2, ensure_ascii=False) + "\n")
        return
    c = diff.counts()
    out.print(f"{escape(suite)} {old} → {new}: {c['added']} added, {c['retired']} retired, {c['edited']} edited, "
              f"{c['kept']} unchanged", highlight=False, soft_wrap=True)
    for title, refs in (("added", diff.added), ("retired", diff.retired)):
        for r in refs:
            mark = "+" if title == "added" else "-"
            out.print(f"  {mark} {r.id}  {escape(short(r.prompt))}", highlight=False, soft_wrap=True)
    for e in diff.edited:
        out.print(f"  ~ {e.old_id} → {e.new_id}  {escape(short(e.new_prompt))}", highlight=False, soft_wrap=True)


def verify_command(suite: SuiteArg,
                   version: Annotated[str | None, typer.Argument(help="Only this version (default: all).")] = None,
                   output_dir: OutputsOpt = Path("outputs"), workspace: WorkspaceOpt = Path(".benchsmith"),
                   as_json: JsonOpt = False) -> None:
    """Re-check every file's sha256 against its manifest; name tampered, missing and extra files (exit 1)."""
    from benchsmith.releases import verify_suite

    del workspace
    try:
        names, problems = verify_suite(output_dir / suite, version)
    except BenchsmithError as err:
        raise _fail(err) from None
    if as_json:
        sys.stdout.write(json.dumps({"suite": suite, "checked": names, "ok": not problems, "problems": [
            {"version": p.version, "file": p.file, "kind": p.kind, "detail": p.detail} for p in problems]},
            indent=2) + "\n")
    else:
        bad = {p.version for p in problems}
        for name in names:
            if name not in bad:
                out.print(f"[green]ok[/] {escape(suite)}/{name}", highlight=False, soft_wrap=True)
        label = {"changed": "tampered", "missing": "missing", "extra": "extra file", "manifest": "manifest"}
        for p in problems:
            where = escape(str(output_dir / suite / p.version / p.file))
            console.print(f"[bold red]{label.get(p.kind, p.kind)}:[/] {where} — {escape(p.detail)}",
                          highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(1)


def push_command(suite: SuiteArg,
                 version: Annotated[str | None, typer.Argument(help="The version (default: the latest).")] = None,
                 repo_id: Annotated[str | None, typer.Option("--repo-id", help="Dataset repository 'owner/name' "
                                                                               "(default: the version's "
                                                                               "publish.hub.repo_id).")] = None,
                 output_dir: OutputsOpt = Path("outputs"), workspace: WorkspaceOpt = Path(".benchsmith")) -> None:
    """Push a published version to the Hugging Face Hub, tagged with its name (after checking its files)."""
    from benchsmith.hub import push_version
    from benchsmith.releases import verify_suite, version_names
    from benchsmith.spec import HubSpec

    del workspace
    suite_dir = output_dir / suite
    try:
        name = version or next(iter(reversed(version_names(suite_dir))), None)
        if name is None:
            raise BenchsmithError(f"suite {suite!r} has no published version under {output_dir}")
        _, problems = verify_suite(suite_dir, name)
        if problems:
            raise BenchsmithError(f"{suite_dir / name} no longer matches its manifest.json "
                                  f"({problems[0].file}: {problems[0].detail}); not pushed")
        from benchsmith.publish import read_manifest

        written = ((read_manifest(suite_dir / name) or {}).get("spec") or {}).get("publish", {}).get("hub")
        if written is None and repo_id is None:
            raise BenchsmithError(f"{suite}/{name}: its spec has no publish.hub; name the repository with --repo-id")
        hub = HubSpec.model_validate({**(written or {}), **({"repo_id": repo_id} if repo_id else {})})
        pushed = push_version(suite_dir / name, hub)
    except ValidationError as err:
        raise _fail(BenchsmithError(f"publish.hub: {err.errors()[0]['msg']}")) from None
    except BenchsmithError as err:
        raise _fail(err) from None
    if pushed.status != "pushed":
        raise _fail(BenchsmithError(pushed.message), 1)
    out.print(f"[green]{escape(pushed.message)}[/] {escape(pushed.url or '')}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the commands to the main app."""
    app.command("versions")(versions_command)
    app.command("diff")(diff_command)
    app.command("verify")(verify_command)
    app.command("push")(push_command)
