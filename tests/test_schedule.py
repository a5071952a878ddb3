"""Scheduled releases on a real Prefect server (issue 12): `benchsmith schedule`, `serve`, `run_deployment`.

A `prefect server start` on a free loopback port with its own PREFECT_HOME and SQLite file,
the deployment registered through the CLI, its schedule read back through Prefect's client,
two triggered runs (a first release, then a rotation), and a serve process SIGKILLed mid-run:
nothing partial is published, and the next run repeats none of the LLM calls already made.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from suite_factory import make_spec

from benchsmith.changes import parse_changes_markdown
from benchsmith.flows.deploy import server_argv, server_env
from benchsmith.process import free_port
from benchsmith.publish import read_items, verify_version

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    ws = tmp_path_factory.mktemp("prefect-ws")
    port = free_port()
    log = (ws / "server.log").open("wb")
    proc = subprocess.Popen(server_argv(port), env=server_env(ws, port), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 240
    try:
        while True:
            assert proc.poll() is None, f"prefect server start exited:\n{(ws / 'server.log').read_text()[-3000:]}"
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "prefect server did not answer within 240 s"
            time.sleep(1)
        assert (ws / "prefect" / "prefect.db").is_file()  # its own SQLite file under the workspace
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _env(api: str) -> dict[str, str]:
    return {**os.environ, "PREFECT_API_URL": api, "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "PREFECT_LOGGING_LEVEL": "WARNING"}


def _cli(*args: str, api: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchsmith", *args], env=_env(api), cwd=cwd, text=True,
                          capture_output=True, timeout=300)


def _serve(ws: Path, api: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "benchsmith", "serve", "-w", str(ws)], env=_env(api),
                            stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with_children = os.getpgid(proc.pid)
    os.killpg(with_children, signal.SIGKILL)  # the serve process and the flow run it started
    proc.wait(timeout=30)


def _trigger(api: str, name: str, parameters: dict[str, Any], timeout: float = 420) -> Any:
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api}):
        return run_deployment(name, parameters=parameters, timeout=timeout)


CHROMIUM = "/usr/bin/chromium"


def _screenshot_deployment(api: str, deployment_id: Any, path: Path) -> None:
    """The Prefect UI's page of the deployment, in headless Chromium: it shows the schedule and both runs.

    Copied to `$BENCHSMITH_SHOTS/` when set (`BENCHSMITH_SHOTS=docs/img` refreshes the README's).
    """
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: the test command runs apt-get install -y chromium"
    ui = api.removesuffix("/api")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{ui}/deployments/deployment/{deployment_id}")
            page.get_by_text("At 06:00 AM on day 1 of the month").wait_for(timeout=60_000)  # the cron, as the UI says it
            page.get_by_text("Completed").nth(1).wait_for(timeout=60_000)                   # both triggered runs
            text = page.inner_text("body")
            assert "suite-refresh" in text and "Scheduled for" in text  # the next monthly run is queued
            page.screenshot(path=str(path))
        finally:
            browser.close()
    assert path.stat().st_size > 20_000
    keep = os.environ.get("BENCHSMITH_SHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)


@pytest.mark.timeout(1200)
def test_schedule_serve_two_releases_and_a_killed_run(prefect_server: str, tmp_path: Path, fake_llm: Any) -> None:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    api = prefect_server
    spec = make_spec(tmp_path, fake_llm, target_items=6, budget={"max_llm_calls": 200, "max_rounds": 4},
                     canaries={"enabled": False}, refresh={"enabled": True, "retire_share": 1 / 3})
    ws, out = tmp_path / "ws", tmp_path / "outputs"
    scheduled = _cli("schedule", str(tmp_path / "spec.yaml"), "--cron", "0 6 1 * *", "-w", str(ws), "-o", str(out),
                     api=api, cwd=tmp_path)
    assert scheduled.returncode == 0, scheduled.stdout + scheduled.stderr
    name = f"suite-refresh/{spec.suite}"
    assert name in scheduled.stdout

    async def read() -> Any:
        async with get_client() as client:
            return await client.read_deployment_by_name(name)

    with temporary_settings({PREFECT_API_URL: api}):
        deployment = asyncio.run(read())
    assert [s.schedule.cron for s in deployment.schedules] == ["0 6 1 * *"]
    assert deployment.parameters["spec_path"] == str((tmp_path / "spec.yaml").resolve())

    bad = _cli("schedule", str(tmp_path / "spec.yaml"), "--cron", "every month", "-w", str(ws), api=api, cwd=tmp_path)
    assert bad.returncode == 2 and "not a cron expression" in bad.stderr

    log = tmp_path / "serve.log"
    serve = _serve(ws, api, log)
    try:
        first = _trigger(api, name, {"today": "2026-11-05"})
        assert first.state.is_completed(), (first.state, log.read_text()[-3000:])
        second = _trigger(api, name, {"today": "2026-12-03"})
        assert second.state.is_completed(), (second.state, log.read_text()[-3000:])
        with temporary_settings({PREFECT_API_URL: api}):
            served = asyncio.run(read())
        # `serve` re-applies the deployment: the monthly schedule must survive it.
        assert [(s.schedule.cron, s.active) for s in served.schedules] == [("0 6 1 * *", True)]
        _screenshot_deployment(api, deployment.id, tmp_path / "prefect-deployment.png")
    finally:
        _kill(serve)

    suite_dir = out / spec.suite
    assert sorted(p.name for p in suite_dir.iterdir()) == ["2026.11", "2026.12"]
    v1 = {it.id for it in read_items(suite_dir / "2026.11" / "data" / "test.parquet")}
    v2 = {it.id for it in read_items(suite_dir / "2026.12" / "data" / "test.parquet")}
    assert len(v1) == len(v2) == 6 and len(v1 - v2) == 2 and len(v2 - v1) == 2
    diff = json.loads(_cli("diff", spec.suite, "2026.11", "2026.12", "-o", str(out), "--json",
                           api=api, cwd=tmp_path).stdout)
    entry = (suite_dir / "2026.12" / "CHANGELOG.md").read_text().split("## 2026.11 ")[0]
    assert parse_changes_markdown(entry) == {"added": [a["id"] for a in diff["added"]],
                                             "retired": [r["id"] for r in diff["retired"]], "edited": []}

    async def artifacts() -> list[Any]:
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

        async with get_client() as client:
            return list(await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[second.id]))))

    with temporary_settings({PREFECT_API_URL: api}):
        found = asyncio.run(artifacts())
    assert found and "2026.12" in found[0].data and "## Funnel" in found[0].data

    # SIGKILL mid-run, while the judge's calls hang (the generate task has finished): no partial version,
    # and the next run repeats none of the generation calls (the finished task comes from its stored result).
    judge = "\n\nReference answer:\n"
    fake_llm.add_rule(match=judge, hang_s=120)
    start = fake_llm.stats()["requests"]
    serve = _serve(ws, api, log)
    from prefect.deployments import run_deployment

    with temporary_settings({PREFECT_API_URL: api}):
        killed = run_deployment(name, parameters={"today": "2027-01-04"}, timeout=0)

    def is_judge(body: dict[str, Any]) -> bool:
        return judge in str(body["messages"][-1]["content"])

    def new_bodies(since: int) -> list[dict[str, Any]]:
        count = fake_llm.stats()["requests"] - since
        return fake_llm.requests()[-count:] if count > 0 else []

    deadline = time.monotonic() + 240
    while not any(is_judge(b) for b in new_bodies(start)):
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.2)
    _kill(serve)
    generated = {json.dumps(b, sort_keys=True) for b in new_bodies(start) if not is_judge(b)}
    assert generated and killed.id
    assert not (suite_dir / "2027.01").exists()
    assert sorted(p.name for p in suite_dir.iterdir() if not p.name.startswith(".tmp-")) == ["2026.11", "2026.12"]

    fake_llm.reset()  # the judge answers again
    serve = _serve(ws, api, log)
    try:
        resumed = _trigger(api, name, {"today": "2027-01-04"})
        assert resumed.state.is_completed(), (resumed.state, log.read_text()[-3000:])
    finally:
        _kill(serve)
    after = new_bodies(0)
    assert after and not ({json.dumps(b, sort_keys=True) for b in after} & generated)  # 0 repeated generation calls
    assert all(is_judge(b) for b in after)  # only the judge calls that never finished were sent again
    assert sorted(p.name for p in suite_dir.iterdir() if not p.name.startswith(".")) == [
        "2026.11", "2026.12", "2027.01"]
    assert verify_version(suite_dir / "2027.01") == []
    assert len(read_items(suite_dir / "2027.01" / "data" / "test.parquet")) == 6
