"""`benchsmith reviewers add|list` and `benchsmith review`: accounts and the review web app.

Registered on the main app by `benchsmith.cli`; the web stack loads only when `review` runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from benchsmith.cli_common import WorkspaceOpt, console, out
from benchsmith.cli_common import fail as _fail
from benchsmith.errors import BenchsmithError

reviewers_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Reviewer accounts of the review queue.")

DbOpt = Annotated[str | None, typer.Option(
    "--db", envvar="BENCHSMITH_DB", help="Database URL (default: the workspace's SQLite file).")]


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


def review_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)] = 8000,
    workspace: WorkspaceOpt = Path(".benchsmith"),
    db: DbOpt = None,
) -> None:
    """Start the review web app on the workspace database and print its URL."""
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
