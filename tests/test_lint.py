"""The habits the test command enforces: `ruff check .` (lint + import order) and `mypy` (strict, on the core).

Both run as the developer runs them, from the repository root with its pyproject.toml configuration.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)


def test_ruff_check_passes() -> None:
    result = _run("ruff", "check", ".")
    assert result.returncode == 0, f"`ruff check .` failed (exit {result.returncode}):\n{result.stdout}"


@pytest.mark.timeout(900)  # a cold mypy cache type-checks numpy, torch and friends' stubs: a minute or more
def test_mypy_passes() -> None:
    result = _run("mypy")
    assert result.returncode == 0, f"`mypy` failed (exit {result.returncode}):\n{result.stdout}"
