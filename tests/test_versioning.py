"""Version names: calendar and sequential schemes, robust to junk in the suite folder."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from benchsmith.versioning import is_version, list_versions, next_version, parse_version, sort_versions

NOV = date(2026, 11, 20)


def test_parse_canonical_names() -> None:
    assert parse_version("2026.11") == ("calendar", (2026, 11, 0))
    assert parse_version("2026.11.3") == ("calendar", (2026, 11, 3))
    assert parse_version("v7") == ("sequential", (7,))


@pytest.mark.parametrize("name", [
    ".tmp-2026.11-123-abcd", "2026.11.01", "2026.13", "2026.00", "2026.1", "2026.11.0", "v0", "v01", "V3",
    "latest", "2026.11.x", "README.md", "", "2026.11.2.1",
])
def test_junk_is_not_a_version(name: str) -> None:
    assert parse_version(name) is None
    assert not is_version(name)


def test_sort_is_numeric_not_lexical() -> None:
    names = ["2026.11.10", "junk", "2026.11.2", "2026.11", "2026.09", "2025.12.1", "v10", "v9"]
    assert sort_versions(names) == ["v9", "v10", "2025.12.1", "2026.09", "2026.11", "2026.11.2", "2026.11.10"]


@pytest.mark.parametrize(("existing", "expected"), [
    ([], "2026.11"),
    (["2026.11"], "2026.11.1"),
    (["2026.11", "2026.11.1"], "2026.11.2"),
    (["2026.11", "2026.11.9", "2026.11.10"], "2026.11.11"),
    (["2026.10", "2026.10.4"], "2026.11"),  # a new month starts again
    (["2026.11", "v3", ".tmp-2026.11.1-99-ab", "2026.11.01"], "2026.11.1"),  # junk ignored
])
def test_calendar_next(existing: list[str], expected: str) -> None:
    assert next_version(existing, "calendar", NOV) == expected


def test_calendar_never_goes_backwards() -> None:
    # A clock set back must not produce a name that sorts before the latest version.
    name = next_version(["2026.12"], "calendar", NOV)
    assert name == "2026.12.1"
    assert sort_versions(["2026.12", name])[-1] == name


def test_calendar_default_today_is_current_month() -> None:
    before = date.today()
    name = next_version([])
    after = date.today()
    assert name in {f"{d.year:04d}.{d.month:02d}" for d in (before, after)}


@pytest.mark.parametrize(("existing", "expected"), [
    ([], "v1"),
    (["v1"], "v2"),
    (["v1", "v2", "v10"], "v11"),
    (["2026.11", "v01", "v2", "vx"], "v3"),
])
def test_sequential_next(existing: list[str], expected: str) -> None:
    assert next_version(existing, "sequential", NOV) == expected


def test_unknown_scheme_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown versioning scheme 'semver'"):
        next_version([], "semver")  # type: ignore[arg-type]


def test_list_versions_reads_only_version_folders(tmp_path: Path) -> None:
    assert list_versions(tmp_path / "missing") == []
    for d in ["2026.11", "2026.11.2", "2026.11.10", ".tmp-2026.11.11-1-ab", "notes", "v1"]:
        (tmp_path / d).mkdir()
    (tmp_path / "2026.12").write_text("a file, not a version folder")
    versions = list_versions(tmp_path)
    assert versions == ["v1", "2026.11", "2026.11.2", "2026.11.10"]
    assert next_version(versions, "calendar", NOV) == "2026.11.11"
    assert next_version(versions, "sequential") == "v2"
