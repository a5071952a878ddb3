"""Child server processes that never outlive benchsmith.

Used by the embedded llama.cpp server and by the fake OpenAI server in tests. A child:

- runs in its own process group (a terminal Ctrl-C reaches only us; we stop it ourselves,
  so it is not killed half-way through our own clean-up),
- gets PR_SET_PDEATHSIG(SIGTERM), so it dies if we are SIGKILLed or crash. Linux sends
  that signal when the *thread* that forked the child exits: start servers from a
  long-lived thread (normally the main thread), not from a short-lived worker,
- is stopped with SIGTERM to its group, then SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx

_PR_SET_PDEATHSIG = 1


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


# Resolved here, in the parent: between fork and exec (where preexec_fn runs, possibly in a
# multi-threaded process) the child must not dlopen or take locks, only make system calls.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _child_setup(parent_pid: int) -> Callable[[], None]:
    def setup() -> None:  # runs in the child between fork and exec
        if _prctl is not None:
            _prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        # The parent may have died before prctl took effect: then nobody would stop us.
        if os.getppid() != parent_pid:
            os._exit(1)

    return setup


def spawn(cmd: Sequence[str], *, log_path: Path, env: Mapping[str, str] | None = None,
          cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """Start `cmd` as a child that dies with us, stdout and stderr appended to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            list(cmd), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None, cwd=cwd,
            start_new_session=True, preexec_fn=_child_setup(os.getpid()),  # noqa: PLW1509 (see _prctl)
        )


def stop(proc: subprocess.Popen[bytes], *, grace_s: float = 5.0) -> None:
    """SIGTERM the child's process group, SIGKILL it after `grace_s`, and reap it.

    Safe to call twice and on a child that already exited. Ctrl-C while waiting still
    ends with the child killed before the KeyboardInterrupt goes on.
    """
    if proc.poll() is not None:
        return
    try:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
            return
        except subprocess.TimeoutExpired:
            pass
    finally:
        if proc.poll() is None:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)  # pid == pgid: start_new_session made it a group leader
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)


def log_tail(log_path: Path, max_lines: int = 30) -> str:
    """The last lines of a child's log, for error messages."""
    try:
        lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-max_lines:]) or "(log is empty)"


def wait_until_ready(proc: subprocess.Popen[bytes], url: str, *, timeout_s: float, what: str,
                     log_path: Path) -> None:
    """Poll `url` until it answers 200; raise RuntimeError with the log tail if the child dies or is slow."""
    deadline = time.monotonic() + timeout_s
    delay = 0.02
    with httpx.Client(timeout=2.0, trust_env=False) as http:
        while True:
            code = proc.poll()
            if code is not None:
                raise RuntimeError(f"{what} exited with code {code} before it was ready. "
                                   f"Log ({log_path}):\n{log_tail(log_path)}")
            try:
                if http.get(url).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not answer {url} within {timeout_s:.0f} s. "
                                   f"Log ({log_path}):\n{log_tail(log_path)}")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)


def process_alive(pid: int) -> bool:
    """True if `pid` exists and is not a zombie (zombies are dead, merely not yet reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X")
