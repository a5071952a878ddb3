"""`publish.hub` (issue 12): the commit a push sends, no request without a token, and a hub that
is not there costs the push and nothing else; successive pushes leave `main` exactly the newest
version. There is no network here: the "hub" is a loopback HTTP server that records what it is
sent (and refuses it), a port nobody listens on, or `fake_hub.FakeHub`, which takes real pushes."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fake_hub import FakeHub
from suite_factory import make_spec

from benchsmith.errors import SpecError
from benchsmith.funnel import Funnel
from benchsmith.hub import hub_commit, push_version
from benchsmith.process import free_port
from benchsmith.publish import publish_version, verify_version
from benchsmith.records import Item, Lineage
from benchsmith.spec import HubSpec, parse_spec


class _Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, str]] = []

    def _refuse(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        type(self).seen.append((self.command, self.path, self.headers.get("authorization") or ""))
        body = b'{"error": "Invalid credentials in Authorization header"}'
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _refuse

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hub_server() -> Iterator[tuple[str, list[tuple[str, str, str]]]]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.seen
    finally:
        server.shutdown()
        server.server_close()


def _version(tmp_path: Path) -> Path:
    spec = parse_spec({"suite": "hubbed", "seeds": {"path": "s.jsonl"}, "target_items": 2,
                       "generators": [{"name": "evolve"}], "publish": {"hub": {"repo_id": "acme/hubbed"}}})
    items = [Item.create(prompt=f"What is {n} plus {n}?", reference_answer=str(2 * n), lineage=Lineage(generator="x"))
             for n in (2, 3)]
    res = publish_version(spec=spec, items=items, rejected=[], funnel=Funnel(), models={}, usage={},
                          stop_reason="target_reached", output_dir=tmp_path / "outputs", today=date(2026, 11, 5))
    return res.path


def test_the_commit_holds_every_file_of_the_version_and_is_tagged_with_its_name(tmp_path: Path) -> None:
    import json

    folder = _version(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    commit = hub_commit(folder, HubSpec(repo_id="acme/hubbed"))
    assert (commit.repo_id, commit.tag) == ("acme/hubbed", "2026.11")
    assert commit.paths == [*sorted(manifest["files"]), "manifest.json"]
    assert {"README.md", "CHANGELOG.md", "data/test.parquet", "manifest.json"} <= set(commit.paths)
    for op in commit.operations:  # the bytes sent are the bytes the manifest vouches for
        digest = hashlib.sha256((folder / op.path_in_repo).read_bytes()).hexdigest()
        assert op.upload_info.sha256.hex() == digest
        if op.path_in_repo != "manifest.json":
            assert digest == manifest["files"][op.path_in_repo]["sha256"]


def test_without_a_token_nothing_is_sent(tmp_path: Path, hub_server: tuple[str, list[Any]]) -> None:
    url, seen = hub_server
    folder = _version(tmp_path)
    pushed = push_version(folder, HubSpec(repo_id="acme/hubbed", endpoint=url), env={})
    assert pushed.status == "skipped" and "$HF_TOKEN is not set" in pushed.message
    assert seen == []
    # With a token, the push is attempted (and the refusal reported, the version untouched).
    refused = push_version(folder, HubSpec(repo_id="acme/hubbed", endpoint=url, token_env="MY_HUB"),
                           env={"MY_HUB": "hf_secret"})
    assert refused.status == "failed" and "acme/hubbed" in refused.message and url in refused.message
    assert seen and seen[0][0] == "POST" and seen[0][1] == "/api/repos/create" and seen[0][2] == "Bearer hf_secret"
    assert "hf_secret" not in refused.message
    assert verify_version(folder) == []


def test_an_unreachable_hub_is_named_and_the_version_stays(tmp_path: Path) -> None:
    folder = _version(tmp_path)
    dead = f"http://127.0.0.1:{free_port()}"
    pushed = push_version(folder, HubSpec(repo_id="acme/hubbed", endpoint=dead), env={"HF_TOKEN": "hf_x"})
    assert pushed.status == "failed" and dead in pushed.message and "ConnectError" in pushed.message
    assert f"published locally at {folder}" in pushed.message and "benchsmith push hubbed 2026.11" in pushed.message
    assert verify_version(folder) == []


@pytest.mark.usefixtures("prefect_local_api")
def test_a_run_pushes_after_publishing_and_a_refusing_hub_costs_nothing_else(
        tmp_path: Path, fake_llm: Any, hub_server: tuple[str, list[Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    from benchsmith.flows.run_suite import run_suite

    url, seen = hub_server
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    spec = make_spec(tmp_path, fake_llm, canaries={"enabled": False},
                     publish={"output_dir": str(tmp_path / "outputs"),
                              "hub": {"repo_id": "acme/suite", "endpoint": url}})
    report = run_suite(spec, workspace=tmp_path / "ws")
    assert report.publish is not None and report.publish.status == "published"
    # The push really went out, after the run's embedder had put huggingface_hub in offline mode.
    assert seen and seen[0][:2] == ("POST", "/api/repos/create")
    assert report.hub is not None and report.hub.status == "failed" and "401" in report.hub.message
    assert url in report.hub.message and "published locally" in report.hub.message
    assert f"benchsmith push {spec.suite} {report.publish.version}" in report.hub.message
    assert verify_version(report.publish.path) == []


def _published(tmp_path: Path, split: str, month: int) -> Path:
    spec = parse_spec({"suite": "hubbed", "seeds": {"path": "s.jsonl"}, "target_items": 2,
                       "generators": [{"name": "evolve"}], "publish": {"split": split, "hub": {"repo_id": "acme/hubbed"}}})
    items = [Item.create(prompt=f"What is {n} times {month}?", reference_answer=str(n * month),
                         lineage=Lineage(generator="x")) for n in (2, 3)]
    res = publish_version(spec=spec, items=items, rejected=[], funnel=Funnel(), models={}, usage={},
                          stop_reason="target_reached", output_dir=tmp_path / "outputs", today=date(2026, month, 5))
    return res.path


def test_a_push_makes_main_exactly_the_new_version_and_tags_keep_the_old_one(tmp_path: Path) -> None:
    # November publishes split "test"; December's spec renamed it "eval". Were November's
    # data/test.parquet left on main, `load_dataset` would show both splits, one of them stale.
    november, december = _published(tmp_path, "test", 11), _published(tmp_path, "eval", 12)
    with FakeHub() as hub:
        spec = HubSpec(repo_id="acme/hubbed", endpoint=hub.url)
        first = push_version(november, spec, env={"HF_TOKEN": "hf_x"})
        assert first.status == "pushed", first.message
        second = push_version(december, spec, env={"HF_TOKEN": "hf_x"})
        assert second.status == "pushed", second.message
        assert "removing 1 file(s)" in second.message

        def local(folder: Path) -> dict[str, bytes]:
            return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}

        main = hub.files("acme/hubbed", "main")
        assert main.pop(".gitattributes")  # the hub's own file stays
        assert main == local(december)
        assert "data/test.parquet" not in main and "data/eval.parquet" in main
        tagged = hub.files("acme/hubbed", "2026.11")
        tagged.pop(".gitattributes")
        assert tagged == local(november)
        assert hub.files("acme/hubbed", "2026.12") == hub.files("acme/hubbed", "main")


def test_a_bad_repo_id_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"publish\.hub\.repo_id"):
        parse_spec({"suite": "x", "seeds": {"path": "s.jsonl"}, "target_items": 2, "generators": [{"name": "evolve"}],
                    "publish": {"hub": {"repo_id": "no-owner"}}}, tmp_path / "spec.yaml")


def test_push_command_checks_the_version_and_says_why_nothing_was_pushed(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    _version(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "HF_TOKEN"}

    def push(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "benchsmith", "push", "hubbed", *args, "-o",
                               str(tmp_path / "outputs")], env=env, text=True, capture_output=True, timeout=120)

    untokened = push()
    assert untokened.returncode == 1 and "$HF_TOKEN is not set" in untokened.stderr and "acme/hubbed" in untokened.stderr
    bad = push("2026.11", "--repo-id", "not a repo")
    assert bad.returncode == 2 and "publish.hub" in bad.stderr
    missing = push("2031.01")
    assert missing.returncode == 2 and "no version '2031.01'" in missing.stderr
