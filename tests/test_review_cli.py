"""`benchsmith reviewers add|list` and `benchsmith review`, on a Typer app as benchsmith.cli registers them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import typer
from typer.testing import CliRunner

import benchsmith.cli  # noqa: F401  (cli_review reuses its console and options)
from benchsmith.cli_review import review_app, reviewers_app
from benchsmith.process import free_port
from benchsmith.review import open_review_store, verify_login

app = typer.Typer()
app.add_typer(reviewers_app, name="reviewers")
app.add_typer(review_app, name="review")
runner = CliRunner()


def test_reviewers_add_and_list(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    r = runner.invoke(app, ["reviewers", "add", "alice", "--role", "admin", "--password-stdin", "-w", ws],
                      input="alice-password\n")
    assert r.exit_code == 0, r.output
    assert "added reviewer alice (admin)" in r.output
    r = runner.invoke(app, ["reviewers", "add", "bob", "-w", ws], input="bob-password\nbob-password\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["reviewers", "add", "alice", "--password-stdin", "-w", ws], input="whatever-pass\n")
    assert r.exit_code == 2 and "already exists" in r.output
    r = runner.invoke(app, ["reviewers", "add", "carol", "--role", "boss", "--password-stdin", "-w", ws],
                      input="carol-password\n")
    assert r.exit_code == 2 and "role must be one of" in r.output
    r = runner.invoke(app, ["reviewers", "list", "-w", ws])
    assert r.exit_code == 0 and "alice" in r.output and "bob" in r.output and "reviewer" in r.output
    with open_review_store(ws) as store:
        assert verify_login(store, "bob", "bob-password") is not None


def test_review_prints_url_and_serves_the_workspace(tmp_path: Path) -> None:
    # The real command in its own process: it prints the queue's URL, then serves the workspace's app there.
    ws = tmp_path / "ws"
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "benchsmith", "review", "--port", str(port), "-w", str(ws)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                login = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "benchsmith review did not start"
                time.sleep(0.2)
        assert login.status_code == 200 and 'name="csrf"' in login.text
        assert httpx.get(f"http://127.0.0.1:{port}/queue", timeout=5, follow_redirects=False).status_code in (302, 303)
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert f"http://127.0.0.1:{port}/queue" in output and "no reviewer accounts" in output, output
    assert (ws / "workspace.db").exists()  # the workspace's own database, created on first use
