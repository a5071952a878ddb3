"""`benchsmith schedule` / `serve` right after `benchsmith server &` (issue 12): they wait, bounded,
for the workspace's server, and name the URL they tried when it never answers."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from suite_factory import make_spec

from benchsmith.flows.deploy import ServerUnreachable, record_api_url, wait_for_api
from benchsmith.process import free_port


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        ok = self.path == "/api/health"
        self.send_response(200 if ok else 404)
        self.send_header("content-length", "4")
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, *args: Any) -> None:
        pass


def test_waits_for_a_server_that_comes_up_late() -> None:
    port = free_port()
    servers: list[ThreadingHTTPServer] = []

    def start_later() -> None:
        time.sleep(1.5)
        server = ThreadingHTTPServer(("127.0.0.1", port), _Health)
        servers.append(server)
        server.serve_forever()

    threading.Thread(target=start_later, daemon=True).start()
    told: list[str] = []
    started = time.monotonic()
    try:
        wait_for_api(f"http://127.0.0.1:{port}/api", timeout_s=20, on_wait=told.append, poll_s=0.2)
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()
    assert 1.2 < time.monotonic() - started < 15
    assert told == [f"waiting up to 20 s for the Prefect server at http://127.0.0.1:{port}/api to answer…"]


def test_a_server_that_never_answers_is_named(tmp_path: Path, fake_llm: Any) -> None:
    url = f"http://127.0.0.1:{free_port()}/api"
    with pytest.raises(ServerUnreachable, match=f"no Prefect server answers at {url} \\(tried for 0.5 s"):
        wait_for_api(url, timeout_s=0.5, poll_s=0.1)

    make_spec(tmp_path, fake_llm, refresh={"enabled": True})
    ws = tmp_path / "ws"
    recorded = record_api_url(ws, free_port())  # what `benchsmith server` leaves for schedule and serve
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    for args in (["schedule", str(tmp_path / "spec.yaml"), "--cron", "0 6 1 * *"], ["serve"]):
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "benchsmith", *args, "-w", str(ws), "--wait", "1"], env=env,
                              text=True, capture_output=True, timeout=120, cwd=tmp_path)
        said = " ".join((done.stdout + done.stderr).split())
        assert done.returncode == 1, said
        assert f"waiting up to 1 s for the Prefect server at {recorded}" in said
        assert f"no Prefect server answers at {recorded} (tried for 1 s" in said and "benchsmith server" in said
        assert time.monotonic() - started < 60
