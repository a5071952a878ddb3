"""`benchsmith reviewers add|list` and `benchsmith review`, on a Typer app as benchsmith.cli registers them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import benchsmith.cli  # noqa: F401  (cli_review reuses its console and options)
from benchsmith.cli_review import review_app, reviewers_app
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


def test_review_prints_url_and_serves_the_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_serve(workspace: Path, host: str, port: int, db_url: str | None = None) -> None:
        seen.update(workspace=workspace, host=host, port=port, db_url=db_url)

    monkeypatch.setattr("benchsmith.review.web.serve", fake_serve)
    r = runner.invoke(app, ["review", "--port", "8123", "-w", str(tmp_path / "ws")])
    assert r.exit_code == 0, r.output
    assert "http://127.0.0.1:8123/queue" in r.output and "no reviewer accounts" in r.output
    assert seen == {"workspace": tmp_path / "ws", "host": "127.0.0.1", "port": 8123, "db_url": None}
