"""What every module of the command line shares: the two consoles, common options, the error exit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

console = Console(stderr=True)
"""Errors, warnings and progress (stderr)."""
out = Console()
"""Results (stdout)."""

SpecArg = Annotated[Path, typer.Argument(help="Suite spec (YAML), e.g. seeds/reasoning.yaml.")]
WorkspaceOpt = Annotated[Path, typer.Option("--workspace", "-w", envvar="BENCHSMITH_WORKSPACE",
                                            help="Workspace folder: database, LLM cache, task results.")]
DbOpt = Annotated[str | None, typer.Option(
    "--db", envvar="BENCHSMITH_DB",
    help="Workspace database URL, e.g. postgresql+psycopg://user@host/benchsmith "
         "(default: the SQLite file <workspace>/workspace.db).")]
"""Every command that opens the workspace database takes it (`benchsmith.store.DB_ENV` is the same variable)."""


def fail(err: BaseException, code: int = 2) -> typer.Exit:
    """Print one clean `error:` line for `err` and return the exit to raise."""
    console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False)
    return typer.Exit(code)
