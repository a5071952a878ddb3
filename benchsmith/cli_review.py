"""`benchsmith reviewers add|list` and `benchsmith review [serve|export|import]`: accounts, the web app, JSONL.

Registered on the main app by `benchsmith.cli`; the web stack loads only when `review` runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from benchsmith.cli_common import DbOpt, WorkspaceOpt, console, out
from benchsmith.cli_common import fail as _fail
from benchsmith.errors import BenchsmithError

reviewers_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Reviewer accounts of the review queue.")


@reviewers_app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="Login name: letters, digits, '.', '_' or '-'.")],
    role: Annotated[str, typer.Option("--role", help="reviewer, or admin (also resolves conflicts).")] = "reviewer",
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input (for scripts).")] = False,
    workspace: WorkspaceOpt = Path(".benchsmith"),
    db: DbOpt = None,
) -> None:
    """Create a reviewer account; the password is prompted twice (or read with --password-stdin)."""
    from benchsmith.review import add_reviewer, open_review_store

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with open_review_store(workspace, db) as store:
            reviewer = add_reviewer(store, name, password, role)
    except BenchsmithError as err:
        raise _fail(err) from None
    out.print(f"[green]added[/] reviewer [bold]{escape(reviewer.name)}[/] ({reviewer.role})", highlight=False)


@reviewers_app.command("list")
def list_command(workspace: WorkspaceOpt = Path(".benchsmith"), db: DbOpt = None) -> None:
    """List reviewer accounts."""
    from benchsmith.review import list_reviewers, open_review_store

    try:
        with open_review_store(workspace, db) as store:
            reviewers = list_reviewers(store)
    except BenchsmithError as err:
        raise _fail(err) from None
    if not reviewers:
        console.print("no reviewers yet: add one with `benchsmith reviewers add NAME --role admin`")
        return
    table = Table("name", "role", "created")
    for r in reviewers:
        table.add_row(escape(r.name), r.role, f"{r.created_at:%Y-%m-%d %H:%M}")
    out.print(table)


review_app = typer.Typer(
    add_completion=False, invoke_without_command=True,
    help="The review queue: `benchsmith review` (or `review serve`) starts the web app; `review export` and "
         "`review import` move decisions as JSONL to and from other labelling tools.")

HostOpt = Annotated[str, typer.Option("--host", help="Address to listen on (loopback by default).")]
PortOpt = Annotated[int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)]


def _serve(host: str, port: int, workspace: Path, db: str | None) -> None:
    from benchsmith.review import list_reviewers, open_review_store
    from benchsmith.review.web import serve

    try:
        with open_review_store(workspace, db) as store:
            if not list_reviewers(store):
                console.print("[bold yellow]warning:[/] no reviewer accounts: nobody can log in. "
                              "Add one with `benchsmith reviewers add NAME --role admin`.")
    except BenchsmithError as err:
        raise _fail(err) from None
    shown = f"[{host}]" if ":" in host else host
    out.print(f"review queue at [bold]http://{escape(shown)}:{port}/queue[/] (Ctrl-C stops)", highlight=False)
    try:
        serve(workspace, host=host, port=port, db_url=db)
    except OSError as err:
        raise _fail(err) from None


@review_app.callback()
def review_main(
    ctx: typer.Context,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    workspace: WorkspaceOpt = Path(".benchsmith"),
    db: DbOpt = None,
) -> None:
    """Start the review web app on the workspace database and print its URL (the same as `review serve`)."""
    if ctx.invoked_subcommand is None:
        _serve(host, port, workspace, db)


@review_app.command("serve")
def serve_command(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    workspace: WorkspaceOpt = Path(".benchsmith"),
    db: DbOpt = None,
) -> None:
    """Start the review web app on the workspace database and print its URL."""
    _serve(host, port, workspace, db)


@review_app.command("export")
def export_command(
    suite: Annotated[str | None, typer.Option("--suite", help="Only this suite's decisions.")] = None,
    out_file: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write to this JSONL file (default: standard output).")] = None,
    workspace: WorkspaceOpt = Path(".benchsmith"),
    db: DbOpt = None,
) -> None:
    """Export every review decision as JSONL: item id, suite, decision, edited fields, reviewer, time, reason."""
    from benchsmith.review import open_review_store
    from benchsmith.review.interchange import export_decisions, export_lines

    try:
        with open_review_store(workspace, db) as store:
            if out_file is None:
                for line in export_lines(store, suite):
                    sys.stdout.write(line + "\n")
                return
            n = export_decisions(store, out_file, suite)
    except (BenchsmithError, OSError) as err:
        raise _fail(err) from None
    console.print(f"exported {n} decision(s) to {escape(str(out_file))}", highlight=False)


@review_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="JSONL of decisions, as `review export` writes them.")],
    workspace: WorkspaceOpt = Path(".benchsmith"),
    db: DbOpt = None,
) -> None:
    """Import decisions made elsewhere (Argilla, Label Studio): all or nothing; repeats are skipped."""
    from benchsmith.review import open_review_store
    from benchsmith.review.interchange import import_decisions
    from benchsmith.review.recheck import EditChecker

    try:
        with open_review_store(workspace, db) as store:
            result = import_decisions(store, file, check=EditChecker(store, workspace))
    except BenchsmithError as err:
        raise _fail(err) from None
    counts = ", ".join(f"{v} {k}" for k, v in sorted(result.by_decision.items())) or "nothing new"
    out.print(f"imported {result.applied} decision(s) from {escape(str(file))} ({escape(counts)}); "
              f"{result.skipped} already recorded", highlight=False)
