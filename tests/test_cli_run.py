"""`benchsmith run` as a user runs it: a real process, real signals, real files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from suite_factory import make_spec

from benchsmith.store import Store

REPO = Path(__file__).resolve().parents[1]


def cli(*args: str, cwd: Path, **kwargs: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    return subprocess.Popen([sys.executable, "-m", "benchsmith", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, **kwargs)


def wait_for(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def children_matching(pid: int, needle: str) -> list[int]:
    """Processes whose parent is `pid` and whose command line contains `needle`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and needle in cmdline:
            found.append(int(entry.name))
    return found


def start_slow_run(tmp_path: Path, fake_llm: Any, *, latency_s: float, requests: int) -> tuple[Any, Any]:
    """A CLI run on a slow fake server, returned once it has sent `requests` requests (and still runs)."""
    fake_llm.configure(latency_s=latency_s)
    spec = make_spec(tmp_path, fake_llm, llm={
        "generator": {"base_url": fake_llm.base_url, "model": "fake-model", "timeout_s": 5},
        "judge": {"base_url": fake_llm.base_url, "model": "fake-model", "timeout_s": 5}, "concurrency": 2})
    proc = cli("run", str(spec.source_path), cwd=tmp_path)
    wait_for(lambda: fake_llm.stats()["requests"] >= requests or proc.poll() is not None, 120,
             "the run to make requests")
    assert proc.poll() is None, proc.communicate()[0]
    return spec, proc


@pytest.mark.slow
def test_ctrl_c_publishes_nothing_and_the_next_run_resumes(tmp_path: Path, fake_llm: Any) -> None:
    spec, proc = start_slow_run(tmp_path, fake_llm, latency_s=0.4, requests=4)
    os.killpg(proc.pid, signal.SIGINT)
    output = proc.communicate(timeout=90)[0]
    assert proc.returncode == 130, output
    assert "interrupted" in output
    suite_dir = tmp_path / "outputs" / spec.suite
    assert not suite_dir.exists() or not [p for p in suite_dir.iterdir() if not p.name.startswith(".")]
    answered_before = fake_llm.stats()["requests"]
    with Store.open(tmp_path / ".benchsmith") as store:
        assert [r.status for r in store.runs(spec.suite)] == ["interrupted"]

    fake_llm.configure(latency_s=0.0)
    rerun = cli("run", str(spec.source_path), cwd=tmp_path)
    output = rerun.communicate(timeout=240)[0]
    assert rerun.returncode == 0, output
    assert "published version" in output and "funnel" in output
    assert "cached" in output
    assert "Error logging to API" not in output, output  # Prefect's logs were sent before its server stopped
    with Store.open(tmp_path / ".benchsmith") as store:
        latest = store.latest_run(spec.suite)
        assert latest is not None and latest.status == "succeeded"
        hits = sum(r.get("cache_hits", 0) for r in (latest.usage or {}).values())
    assert hits >= 1, "the resumed run should replay answers of the interrupted one"
    assert answered_before >= 4


@pytest.mark.slow
def test_ctrl_c_stops_the_embedded_server(tmp_path: Path) -> None:
    spec = REPO / "seeds" / "coding.yaml"
    proc = cli("run", str(spec), "--output-dir", str(tmp_path / "outputs"), cwd=tmp_path)
    wait_for(lambda: children_matching(proc.pid, "llama_cpp.server") or proc.poll() is not None, 240,
             "the embedded llama.cpp server to start")
    servers = children_matching(proc.pid, "llama_cpp.server")
    assert servers, proc.communicate()[0]
    time.sleep(3)
    os.killpg(proc.pid, signal.SIGINT)
    output = proc.communicate(timeout=90)[0]
    assert proc.returncode == 130, output
    for pid in servers:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2], \
            f"llama.cpp server {pid} outlived the run"
    assert not (tmp_path / "outputs" / "coding-mini").exists()


@pytest.mark.slow
def test_one_run_per_workspace_and_a_killed_runs_lock_is_taken_over(tmp_path: Path, fake_llm: Any) -> None:
    spec, first = start_slow_run(tmp_path, fake_llm, latency_s=0.5, requests=2)

    started = time.monotonic()
    second = cli("run", str(spec.source_path), cwd=tmp_path)
    output = second.communicate(timeout=60)[0]
    assert second.returncode == 1, output
    assert time.monotonic() - started < 30, "the second run must not wait for the first"
    assert "is in use by" in output and f"pid {first.pid}" in output and "started" in output, output

    os.killpg(first.pid, signal.SIGKILL)  # a crash: no clean-up at all
    first.wait(timeout=30)
    fake_llm.configure(latency_s=0.0)
    third = cli("run", str(spec.source_path), cwd=tmp_path)
    output = third.communicate(timeout=240)[0]
    assert third.returncode == 0, output
    assert f"taking over the workspace lock of a run of suite {spec.suite!r} (pid {first.pid}" in output, output
    assert "published version" in output
    with Store.open(tmp_path / ".benchsmith") as store:
        statuses = [r.status for r in store.runs(spec.suite)]
    # The SIGKILLed run never finished: it is recorded as crashed, not left 'running' forever.
    assert sorted(statuses) == ["crashed", "succeeded"], statuses
