"""Bad input through the real CLI: a clear error, exit 2, and user text shown as it is (never as markup)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "benchsmith", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def write_spec(folder: Path, **overrides: object) -> Path:
    (folder / "seeds.jsonl").write_text(json.dumps({"id": "s0", "prompt": "What is 2 + 2, and why?"}) + "\n")
    data: dict[str, object] = {"suite": "markup-check", "seeds": {"path": "seeds.jsonl"}, "target_items": 2,
                               "generators": [{"name": "evolve"}]}
    data.update(overrides)
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_brackets_in_a_bad_value_are_shown_not_read_as_markup(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, suite="[/bold]Bad Name")
    for command in ("validate", "run"):
        done = cli(command, str(spec), cwd=tmp_path)
        text = done.stdout + done.stderr
        assert done.returncode == 2, text
        assert "MarkupError" not in text and "Traceback" not in text, text
        assert "[/bold]Bad Name" in text, text
        assert "^[a-z0-9][a-z0-9_.-]*$" in text, "the suite-name rule must show its character classes"


def test_brackets_in_a_seed_path_are_shown(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, seeds={"path": "data/[/x]seeds.jsonl"})
    done = cli("run", str(spec), cwd=tmp_path)
    text = done.stdout + done.stderr
    assert done.returncode == 2, text
    assert "[/x]seeds.jsonl" in text and "Traceback" not in text, text


def test_an_output_folder_that_cannot_be_written_fails_before_any_call(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    spec = write_spec(tmp_path, publish={"output_dir": str(tmp_path / "a-file" / "outputs")},
                      llm={"generator": {"base_url": "http://127.0.0.1:9/v1", "model": "m"},
                           "judge": {"base_url": "http://127.0.0.1:9/v1", "model": "m"}})
    for command in ("validate", "run"):
        done = cli(command, str(spec), cwd=tmp_path)
        text = done.stdout + done.stderr
        assert done.returncode == 2, text
        assert "a-file" in text and "is a file, not a folder" in text, text
        assert "Traceback" not in text and "NotADirectoryError" not in text, text
        # Checked before anything else: the unreachable endpoint is never contacted.
        assert "cannot reach" not in text, text


def test_a_workspace_that_cannot_be_written_fails_before_any_call(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    spec = write_spec(tmp_path)
    done = cli("run", str(spec), "--workspace", str(tmp_path / "a-file" / "ws"), cwd=tmp_path)
    text = done.stdout + done.stderr
    assert done.returncode == 2, text
    assert "workspace" in text.lower() and "a-file" in text and "Traceback" not in text, text


def test_a_failing_run_prints_one_clean_error_and_leaves_no_log_behind(tmp_path: Path) -> None:
    from benchsmith.process import free_port

    dead = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    spec = write_spec(tmp_path, llm={"generator": {"base_url": dead, "model": "m"},
                                     "judge": {"base_url": dead, "model": "m"}})
    proc = subprocess.Popen([sys.executable, "-m", "benchsmith", "run", str(spec)], cwd=tmp_path,
                            env={**os.environ, "COLUMNS": "250", "NO_COLOR": "1"}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    text = proc.communicate(timeout=180)[0]
    assert proc.returncode == 1, text
    assert "Traceback" not in text and "Crash detected" not in text and "Error logging to API" not in text, text
    assert "error:" in text and dead in text, text
    assert not Path(f"/tmp/benchsmith-prefect-api-{proc.pid}.log").exists(), "an empty server log was left behind"


def test_a_documents_folder_of_unreadable_files_is_bad_input(tmp_path: Path, fake_llm: Any) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (docs / "binary.txt").write_bytes(bytes(range(256)) * 4)
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump({
        "suite": "unreadable-docs", "documents": {"path": "docs"}, "target_items": 2,
        "generators": [{"name": "document_qa"}],
        "llm": {"generator": {"base_url": fake_llm.base_url, "model": "m"},
                "judge": {"base_url": fake_llm.base_url, "model": "m"}}}))
    done = cli("run", str(spec_path), cwd=tmp_path)
    text = done.stdout + done.stderr
    assert done.returncode == 2, text
    assert "no document with text" in text and "Traceback" not in text, text


def test_a_port_that_never_speaks_http_fails_in_seconds_naming_it(tmp_path: Path) -> None:
    import socket
    import threading
    import time

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:  # accept connections and say nothing
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    silent = f"http://127.0.0.1:{server.getsockname()[1]}/v1"
    spec = write_spec(tmp_path, llm={"generator": {"base_url": silent, "model": "m", "timeout_s": 120},
                                     "judge": {"base_url": silent, "model": "m", "timeout_s": 120}})
    try:
        for args in (("validate", str(spec), "--probe"), ("run", str(spec))):
            started = time.monotonic()
            done = cli(*args, cwd=tmp_path)
            text = done.stdout + done.stderr
            assert done.returncode == 1, text
            assert time.monotonic() - started < 60, "a silent endpoint must fail in seconds, not after timeouts"
            assert silent in text and "no HTTP response" in text and "Traceback" not in text, text
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in accepted:
            conn.close()
        server.close()
