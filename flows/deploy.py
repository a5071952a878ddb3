"""Prefect deployments of the `suite-refresh` flow: a server, a schedule, the process that serves it.

- `server_command`: Prefect's own server with its UI, on 127.0.0.1, with its SQLite database
  and settings under `<workspace>/prefect/`; the API URL is written to
  `<workspace>/prefect/api-url`, so `schedule` and `serve` find it without an export.
- `schedule`: registers (or updates) a deployment named after the suite whose parameters are
  the spec's absolute path, the workspace and the outputs root, with a cron schedule.
- `serve_deployments`: Prefect's `serve` for every deployment of the flow: it polls the API for
  due runs and executes each one in a subprocess. A Prefect worker does the same from a work
  pool (`schedule --pool NAME`, then `prefect worker start --pool NAME`).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from benchsmith.errors import BenchsmithError

API_URL_FILE = "api-url"


class DeployError(BenchsmithError):
    """No Prefect API to talk to, a bad cron expression, or a deployment that does not exist."""


class ServerUnreachable(DeployError):
    """The Prefect API named (or recorded by `benchsmith server`) did not answer in time."""


def prefect_home(workspace: Path) -> Path:
    """Where `benchsmith server` keeps Prefect's database and settings for this workspace."""
    return workspace.resolve() / "prefect"


def server_env(workspace: Path, port: int) -> dict[str, str]:
    """The environment of the server process: its own home and SQLite file, the UI pointed at its API."""
    home = prefect_home(workspace)
    url = f"http://127.0.0.1:{port}/api"
    return {**os.environ, "PREFECT_HOME": str(home),
            "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
            "PREFECT_UI_API_URL": url, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "true"}


def server_argv(port: int) -> list[str]:
    """`prefect server start` on loopback, run by this Python."""
    return [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]


def record_api_url(workspace: Path, port: int) -> str:
    """Write the server's API URL where `api_url` finds it; returns it."""
    home = prefect_home(workspace)
    home.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}/api"
    (home / API_URL_FILE).write_text(url + "\n", encoding="utf-8")
    return url


def api_url(workspace: Path, explicit: str | None = None) -> str:
    """The Prefect API to use: `explicit`, else PREFECT_API_URL, else the workspace's `benchsmith server`."""
    if explicit:
        return explicit
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    try:
        return (prefect_home(workspace) / API_URL_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        raise DeployError("no Prefect server to talk to: start one with `benchsmith server` (same --workspace), "
                          "or set PREFECT_API_URL") from None


def wait_for_api(url: str, *, timeout_s: float = 30.0, on_wait: Callable[[str], None] | None = None,
                 poll_s: float = 0.5) -> None:
    """Return once the Prefect API at `url` answers its health check; DeployError naming `url` after `timeout_s`.

    `benchsmith server &` takes seconds (tens, the first time: it migrates its database)
    before it answers, and `benchsmith schedule` typed right after it must not fail for that.
    `on_wait` is told once, when the first check finds nothing.
    """
    import httpx

    deadline = time.monotonic() + timeout_s
    told = False
    last = "no answer"
    while True:
        try:
            answer = httpx.get(f"{url.rstrip('/')}/health", timeout=min(5.0, max(timeout_s, 0.5)))
            if answer.status_code == 200:
                return
            last = f"HTTP {answer.status_code}"
        except httpx.HTTPError as err:
            last = type(err).__name__ + (f": {err}" if str(err) else "")
        if time.monotonic() >= deadline:
            raise ServerUnreachable(f"no Prefect server answers at {url} (tried for {timeout_s:g} s; last: {last}): "
                                    "start one with `benchsmith server` (same --workspace), or point --api-url / "
                                    "PREFECT_API_URL at a running one")
        if not told and on_wait is not None:
            on_wait(f"waiting up to {timeout_s:g} s for the Prefect server at {url} to answer…")
            told = True
        time.sleep(poll_s)


def check_cron(cron: str) -> None:
    """A DeployError naming the expression unless it is a valid cron schedule."""
    from prefect.client.schemas.schedules import CronSchedule
    from pydantic import ValidationError

    try:
        CronSchedule(cron=cron)
    except ValidationError:
        raise DeployError(f"--cron {cron!r} is not a cron expression (five fields: minute hour day month weekday, "
                          "e.g. '0 6 1 * *' for 06:00 on the first of every month)") from None


def deployment_parameters(spec_path: Path, workspace: Path, output_dir: Path | None) -> dict[str, Any]:
    """The deployment's parameters: absolute paths, since the serving process may run elsewhere."""
    return {"spec_path": str(spec_path.resolve()), "workspace": str(workspace.resolve()),
            "output_dir": str(output_dir.resolve()) if output_dir else None}


def _deployment(name: str, parameters: dict[str, Any], cron: str | None, timezone: str | None,
                schedules: list[Any] | None = None) -> Any:
    from prefect.types.entrypoint import EntrypointType

    from benchsmith.flows.refresh import suite_refresh

    kwargs: dict[str, Any] = {}
    if cron is not None:
        from prefect.schedules import Cron

        kwargs["schedule"] = Cron(cron, timezone=timezone or "UTC")
    elif schedules:
        kwargs["schedules"] = schedules
    return suite_refresh.to_deployment(name=name, parameters=parameters, entrypoint_type=EntrypointType.MODULE_PATH,
                                       description=f"Monthly release of {name} (benchsmith)", **kwargs)


def schedule(spec_path: Path, *, cron: str, workspace: Path, output_dir: Path | None = None,
             timezone: str | None = None, pool: str | None = None) -> tuple[str, UUID]:
    """Register the suite's deployment with a cron schedule; returns (deployment full name, id)."""
    from benchsmith.flows.refresh import FLOW_NAME
    from benchsmith.spec import load_spec

    check_cron(cron)
    spec = load_spec(spec_path)
    if not spec.refresh.enabled:
        raise DeployError(f"{spec_path}: the spec has no `refresh: {{enabled: true}}` section; a scheduled run of it "
                          "would publish one version per month without rotation or novelty against earlier "
                          "versions (add the section, see seeds/README.md)")
    deployment = _deployment(spec.suite, deployment_parameters(spec_path, workspace, output_dir), cron, timezone)
    deployment_id = deployment.apply(work_pool_name=pool) if pool else deployment.apply()
    return f"{FLOW_NAME}/{spec.suite}", deployment_id


def _schedules_of(deployment: Any) -> list[Any]:
    """A registered deployment's schedules, as `to_deployment` takes them (active flags kept)."""
    from prefect.client.schemas.actions import DeploymentScheduleCreate

    return [DeploymentScheduleCreate(schedule=s.schedule, active=s.active) for s in deployment.schedules or []]


def serve_deployments(names: list[str] | None = None, *, limit: int | None = None) -> None:
    """Run every deployment of the refresh flow (or those named) with Prefect's `serve`, until stopped."""
    import asyncio

    from prefect import serve
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    from benchsmith.flows.refresh import FLOW_NAME

    async def registered() -> list[Any]:
        async with get_client() as client:
            return list(await client.read_deployments(flow_filter=FlowFilter(name=FlowFilterName(any_=[FLOW_NAME]))))

    found = asyncio.run(registered())
    if names:
        found = [d for d in found if d.name in names]
    if not found:
        raise DeployError("no deployment to serve: register one with `benchsmith schedule SPEC --cron '0 6 1 * *'`"
                          + (f" (asked for {', '.join(names)})" if names else ""))
    # `serve` re-applies each deployment: with the schedules `schedule` registered, which it would
    # otherwise clear (the monthly runs would never come).
    deployments = [_deployment(d.name, dict(d.parameters), None, None, schedules=_schedules_of(d)) for d in found]
    serve(*deployments, limit=limit, print_starting_message=True)
