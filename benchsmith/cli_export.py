"""`benchsmith export`: a published version as an lm-eval task folder, an inspect-ai task file, JSONL or CSV.

Registered on the main app by `benchsmith.cli` (`register`); the logic is `benchsmith.exports`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from benchsmith.cli_common import WorkspaceOpt, fail, out
from benchsmith.errors import BenchsmithError

SuiteArg = Annotated[str, typer.Argument(help="The published suite, e.g. reasoning-mini.")]
VersionArg = Annotated[str | None, typer.Argument(help="Its version (default: the latest).")]
OutputsOpt = Annotated[Path, typer.Option("--output-dir", "-o", help="The outputs root the suite is published "
                                                                     "under (as for `run`).")]


def export_command(
    suite: SuiteArg,
    version: VersionArg = None,
    to: Annotated[str, typer.Option("--to", "-t", help="lm-eval, inspect, jsonl or csv.")] = "lm-eval",
    dest: Annotated[Path | None, typer.Option("--dest", "-d", help="Folder to write (default: "
                                              "exports/<suite>-<version>-<target>/).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a destination folder that is not empty.")] = False,
    output_dir: OutputsOpt = Path("outputs"),
    workspace: WorkspaceOpt = Path(".benchsmith"),  # accepted as by every command; an export needs none
) -> None:
    """Export a published version for an evaluation harness, and print the command that runs it."""
    from benchsmith.exports import export_version

    del workspace  # accepted like every command's; an export reads only the outputs root
    try:
        result = export_version(output_dir, suite, version, to, dest, force=force)
    except BenchsmithError as err:
        raise fail(err) from None
    counts = ", ".join(f"{n} {fam}" for fam, n in result.counts.items() if n)
    out.print(f"exported [bold]{escape(suite)}[/] to [cyan]{escape(result.target)}[/] ({counts} items): "
              f"{escape(str(result.dest))}", highlight=False)
    if result.tasks:
        out.print(f"  tasks: {escape(', '.join(result.tasks))}", highlight=False)
    out.print("run it (with OPENAI_BASE_URL and OPENAI_MODEL set for your endpoint):", highlight=False)
    for command in result.commands:
        # Plain print: the command must come out exactly as written, whatever the terminal width.
        print(f"  {command}")


def register(app: typer.Typer) -> None:
    """Add `export` to the main app."""
    app.command("export")(export_command)
