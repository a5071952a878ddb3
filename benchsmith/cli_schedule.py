"""`benchsmith server`, `schedule` and `serve`: monthly releases on Prefect.

Registered on the main app by `benchsmith.cli`; the logic is `benchsmith.flows.deploy`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from benchsmith.cli_common import SpecArg, WorkspaceOpt, console, out
from benchsmith.cli_common import fail as _fail
from benchsmith.errors import BenchsmithError

ApiOpt = Annotated[str | None, typer.Option("--api-url", help="Prefect API (default: PREFECT_API_URL, else the "
                                                              "workspace's `benchsmith server`).")]
WaitOpt = Annotated[float, typer.Option("--wait", min=0, help="Seconds to wait for the Prefect server to answer "
                                                              "(it may still be starting).")]


def _code(err: BenchsmithError) -> int:
    """Exit 1 when the server never answered (nothing wrong with the input), 2 for bad input."""
    from benchsmith.flows.deploy import ServerUnreachable

    return 1 if isinstance(err, ServerUnreachable) else 2


def _use_api(workspace: Path, api: str | None) -> str:
    """The API URL to use, set as PREFECT_API_URL (for the flow runs `serve` starts, too).

    Called before anything imports Prefect's settings: set later, the variable would be
    ignored and Prefect would register the deployment on a throwaway server of its own.
    """
    from benchsmith.flows.deploy import api_url

    url: str = api_url(workspace, api)
    os.environ["PREFECT_API_URL"] = url
    return url


@contextlib.contextmanager
def _connected(url: str, wait: float) -> Iterator[None]:
    """Once the server at `url` answers (bounded wait), Prefect's client pointed at it for the block."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from benchsmith.flows.deploy import wait_for_api

    wait_for_api(url, timeout_s=wait, on_wait=lambda line: console.print(escape(line), highlight=False))
    with temporary_settings({PREFECT_API_URL: url}):
        yield


def _quiet_prefect() -> None:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def server_command(port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port on 127.0.0.1.")] = 4200,
                   workspace: WorkspaceOpt = Path(".benchsmith")) -> None:
    """Start Prefect's server and UI on 127.0.0.1 (SQLite under the workspace) and print the UI's URL."""
    from benchsmith.flows.deploy import prefect_home, record_api_url, server_argv, server_env

    home = prefect_home(workspace)
    home.mkdir(parents=True, exist_ok=True)
    url = record_api_url(workspace, port)
    out.print(f"Prefect UI at [bold]http://127.0.0.1:{port}[/] (API {escape(url)}; database "
              f"{escape(str(home / 'prefect.db'))}); Ctrl-C stops", highlight=False)
    out.print(f"  for the `prefect` CLI: export PREFECT_API_URL={escape(url)}", highlight=False)
    proc = subprocess.Popen(server_argv(port), env=server_env(workspace, port))

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # `kill %1` of `benchsmith server &` (SIGTERM) must stop Prefect's server too, not orphan it.
    signal.signal(signal.SIGTERM, stop)
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
    if code not in (0, -15, 130):
        raise typer.Exit(1)


def schedule_command(
    spec: SpecArg,
    cron: Annotated[str, typer.Option("--cron", help="When to run, as cron: '0 6 1 * *' is 06:00 on the 1st.")],
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", "-o", help="Publish under this folder instead of the spec's publish.output_dir.")] = None,
    workspace: WorkspaceOpt = Path(".benchsmith"),
    timezone: Annotated[str | None, typer.Option("--timezone", help="Time zone of the cron schedule "
                                                                    "(default UTC).")] = None,
    pool: Annotated[str | None, typer.Option("--pool", help="Deploy to this Prefect work pool (run it with "
                                                            "`prefect worker start --pool NAME`) instead of "
                                                            "`benchsmith serve`.")] = None,
    api: ApiOpt = None,
    wait: WaitOpt = 30.0,
) -> None:
    """Register a deployment of the suite's monthly refresh with a cron schedule."""
    _quiet_prefect()
    from benchsmith.flows.deploy import check_cron, schedule
    from benchsmith.spec import load_spec

    try:
        url = _use_api(workspace, api)
        check_cron(cron)  # bad input first: no need to wait for a server to say so
        load_spec(spec)
        with _connected(url, wait):
            name, deployment_id = schedule(spec, cron=cron, workspace=workspace, output_dir=output_dir,
                                           timezone=timezone, pool=pool)
    except BenchsmithError as err:
        raise _fail(err, _code(err)) from None
    out.print(f"[green]scheduled[/] {escape(name)} ({deployment_id}) at '{escape(cron)}'"
              f"{' ' + escape(timezone) if timezone else ' UTC'}", highlight=False)
    runner = f"prefect worker start --pool {pool}" if pool else f"benchsmith serve -w {workspace}"
    out.print(f"  runs execute while `{escape(runner)}` is running; trigger one now with "
              f"`PREFECT_API_URL={escape(url)} prefect deployment run '{escape(name)}'`", highlight=False)


def serve_command(
    names: Annotated[list[str] | None, typer.Argument(help="Only these deployments (suite names; default: all).",
                                                      show_default=False)] = None,
    workspace: WorkspaceOpt = Path(".benchsmith"),
    limit: Annotated[int, typer.Option("--limit", min=1, help="Runs at most at once (default 1: runs that share a "
                                                              "workspace wait for each other instead of failing "
                                                              "on its lock).")] = 1,
    api: ApiOpt = None,
    wait: WaitOpt = 30.0,
) -> None:
    """Execute the scheduled refresh runs (Prefect's serve); Ctrl-C stops."""
    _quiet_prefect()
    from benchsmith.flows.deploy import serve_deployments

    try:
        url = _use_api(workspace, api)
        with _connected(url, wait):
            console.print(f"serving refresh deployments from {escape(url)}", highlight=False)
            serve_deployments(names or None, limit=limit)
    except BenchsmithError as err:
        raise _fail(err, _code(err)) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def run_refresh(spec: object, *, workspace: Path, output_dir: Path | None, force: bool, db_url: str | None,
                task_runner: str | None, dask_address: str | None, print_report: Callable[[object], None],
                bad_input: Callable[[BenchsmithError], bool]) -> None:
    """`benchsmith run` of a `refresh:` suite: this month's release, or the one it already has."""
    from benchsmith import progress
    from benchsmith.flows.refresh import refresh_run
    from benchsmith.spec import SuiteSpec

    assert isinstance(spec, SuiteSpec)
    try:
        with progress.for_console(console) as sink, progress.installed(sink):
            result = refresh_run(spec, workspace=workspace, output_dir=output_dir, force=force, db_url=db_url,
                                 task_runner=task_runner, dask_address=dask_address)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: nothing was published; run the same command again to resume.")
        raise typer.Exit(130) from None
    except BenchsmithError as err:
        raise _fail(err, 2 if bad_input(err) else 1) from None
    if result.status == "exists":
        out.print(f"{escape(spec.suite)}: version [bold]{result.version}[/] already holds this month's release; "
                  "nothing published (--force publishes another, YYYY.MM.N)", highlight=False)
        return
    print_report(result.report)
    plan = result.plan
    if plan is not None and result.report.publish is not None:
        held = result.report.held_back
        out.print(f"  release: {len(plan.retire)} retired (oldest first), {plan.new_public} new"
                  + (f", {len(plan.released)} released from {plan.released_from}" if plan.released_from else "")
                  + (f"; {len(held.manifest['changes']['added'])} held back in {escape(str(held.path))}"
                     if held is not None else ""), highlight=False)
    if result.report.publish is None:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the commands to the main app."""
    app.command("server")(server_command)
    app.command("schedule")(schedule_command)
    app.command("serve")(serve_command)
