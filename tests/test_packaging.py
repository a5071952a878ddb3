"""The wheel installs one import name, `benchsmith`, with flows/generators/verifiers inside it.

The repository keeps `flows/`, `generators/` and `verifiers/` at the top level and maps them
to `benchsmith.*` in pyproject.toml; "verifiers", "flows" and "generators" are other projects'
import names, so the wheel must never install them as top-level packages.

The wheel is built from a copy of the source tree (without build/, *.egg-info, caches): an
in-tree build would reuse whatever an earlier build left in build/lib, so a stale layout
could hide or fake a problem.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

REPO = Path(__file__).resolve().parents[1]
MOVED = ("flows", "generators", "verifiers")  # top-level folders installed as benchsmith.<name>


class Built(NamedTuple):
    path: Path
    workdir: Path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    assert (REPO / "pyproject.toml").is_file(), REPO
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".pytest_cache", ".benchsmith", "outputs",
        ".venv"))
    out = work / "dist"
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-input",
                           "--disable-pip-version-check", "-w", str(out), str(src)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"pip wheel failed:\n{done.stdout}\n{done.stderr}"
    [path] = out.glob("benchsmith-*.whl")
    return Built(path, work)


@pytest.fixture
def wheel(built: Built) -> Iterator[zipfile.ZipFile]:
    with zipfile.ZipFile(built.path) as zf:
        yield zf


def _dist_info(names: list[str]) -> str:
    infos = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
    assert len(infos) == 1, infos
    return infos.pop()


def test_only_benchsmith_is_top_level(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    info = _dist_info(names)
    top = {n.split("/")[0] for n in names} - {info}
    assert top == {"benchsmith"}, f"unexpected top-level entries in the wheel: {sorted(top - {'benchsmith'})}"
    for folder in MOVED:
        assert not any(n.startswith(f"{folder}/") for n in names), f"{folder}/ is installed at the top level"
        assert f"benchsmith/{folder}/__init__.py" in names, f"benchsmith/{folder}/ is missing"


def test_every_source_module_is_packaged(wheel: zipfile.ZipFile) -> None:
    """Each .py of benchsmith/ and of the moved folders is in the wheel at its benchsmith.* place
    (catches a subpackage missing from pyproject's explicit `packages` list)."""
    names = set(wheel.namelist())
    expected = {f"benchsmith/{p.relative_to(REPO / 'benchsmith').as_posix()}"
                for p in (REPO / "benchsmith").rglob("*.py") if "__pycache__" not in p.parts}
    for folder in MOVED:
        expected |= {f"benchsmith/{folder}/{p.relative_to(REPO / folder).as_posix()}"
                     for p in (REPO / folder).rglob("*.py") if "__pycache__" not in p.parts}
    missing = sorted(expected - names)
    assert not missing, f"source modules missing from the wheel: {missing}"


def test_metadata_names_only_benchsmith(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    info = _dist_info(names)
    if f"{info}/top_level.txt" in names:
        top_level = wheel.read(f"{info}/top_level.txt").decode().split()
        assert top_level == ["benchsmith"], top_level
    record = f"{info}/RECORD"
    assert record in names
    rows = list(csv.reader(io.StringIO(wheel.read(record).decode())))
    recorded = {row[0] for row in rows if row}
    assert recorded == set(names) - {n for n in names if n.endswith("/")}, "RECORD does not match the wheel's files"
    outside = sorted(p for p in recorded if not p.startswith(("benchsmith/", f"{info}/")))
    assert not outside, f"RECORD installs files outside benchsmith/: {outside}"
    entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    assert "benchsmith = benchsmith.cli:app" in entry_points


def test_unpacked_wheel_imports_and_finds_its_stages(wheel: zipfile.ZipFile, built: Built) -> None:
    """The wheel's own files (not the repository's) import, and the registries find the stages."""
    root = built.workdir / "unpacked"
    wheel.extractall(root)
    code = ("import sys; sys.path.insert(0, sys.argv[1])\n"
            "import benchsmith, benchsmith.flows, benchsmith.generators, benchsmith.verifiers\n"
            "assert benchsmith.__file__.startswith(sys.argv[1]), benchsmith.__file__\n"
            "from benchsmith.stages import generators, verifiers\n"
            "print(' '.join(generators.names()), '|', ' '.join(verifiers.names()))\n")
    done = subprocess.run([sys.executable, "-c", code, str(root)], cwd=root.parent, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    gens, vers = (part.split() for part in done.stdout.strip().split("|"))
    assert "evolve" in gens and {"rules", "dedup_exact", "dedup_semantic"} <= set(vers), done.stdout
