"""Version names for published suites.

Two schemes:

- ``calendar`` (default): ``YYYY.MM`` for the first version of a month, then
  ``YYYY.MM.1``, ``YYYY.MM.2``… The month comes from an injectable ``today``.
- ``sequential``: ``v1``, ``v2``…

Only canonical names count as versions (``2026.11``, ``2026.11.3``, ``v12``); anything else
in a suite folder (``.tmp-*`` folders of an unfinished publish, stray files, ``2026.11.01``,
``latest``) is ignored, so junk never confuses the numbering.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Literal

VersionScheme = Literal["calendar", "sequential"]

# Canonical forms only: two-digit month, no leading zeros in the counters.
_CALENDAR = re.compile(r"^(?P<year>\d{4})\.(?P<month>0[1-9]|1[0-2])(?:\.(?P<n>[1-9]\d*))?$")
_SEQUENTIAL = re.compile(r"^v(?P<n>[1-9]\d*)$")


def parse_version(name: str) -> tuple[VersionScheme, tuple[int, ...]] | None:
    """The scheme and numeric parts of a version name, or None if `name` is not a version.

    ``2026.11`` → ``('calendar', (2026, 11, 0))``, ``2026.11.2`` → ``('calendar', (2026, 11, 2))``,
    ``v3`` → ``('sequential', (3,))``.
    """
    m = _CALENDAR.match(name)
    if m:
        return "calendar", (int(m["year"]), int(m["month"]), int(m["n"] or 0))
    m = _SEQUENTIAL.match(name)
    if m:
        return "sequential", (int(m["n"]),)
    return None


def is_version(name: str) -> bool:
    """Whether `name` is a canonical version name of either scheme."""
    return parse_version(name) is not None


def version_key(name: str) -> tuple[int, tuple[int, ...]]:
    """Sort key: sequential versions sort before calendar ones, each numerically.

    Raises ValueError for a name that is not a version.
    """
    parsed = parse_version(name)
    if parsed is None:
        raise ValueError(f"not a version name: {name!r}")
    scheme, parts = parsed
    return (0 if scheme == "sequential" else 1, parts)


def sort_versions(names: Iterable[str]) -> list[str]:
    """The version names among `names`, oldest first; non-versions are dropped."""
    return sorted({n for n in names if is_version(n)}, key=version_key)


def list_versions(suite_dir: Path) -> list[str]:
    """Version folders in `suite_dir`, oldest first (files, temp folders and junk ignored)."""
    if not suite_dir.is_dir():
        return []
    return sort_versions(p.name for p in suite_dir.iterdir() if p.is_dir())


def next_version(existing: Iterable[str], scheme: VersionScheme = "calendar", today: date | None = None) -> str:
    """The name of the version after `existing` (junk names are ignored).

    Calendar names never go backwards: if a version of a later month already exists
    (a clock set back, a folder copied from elsewhere), numbering continues in that month,
    so that name order stays creation order.
    """
    names = [n for n in existing if is_version(n)]
    if scheme == "sequential":
        nums = [parse_version(n)[1][0] for n in names if parse_version(n)[0] == "sequential"]  # type: ignore[index]
        return f"v{max(nums, default=0) + 1}"
    if scheme != "calendar":
        raise ValueError(f"unknown versioning scheme {scheme!r}: expected 'calendar' or 'sequential'")
    today = today or date.today()
    cal = [parse_version(n)[1] for n in names if parse_version(n)[0] == "calendar"]  # type: ignore[index]
    month = max([(today.year, today.month), *((y, m) for y, m, _ in cal)])
    used = [n for y, m, n in cal if (y, m) == month]
    base = f"{month[0]:04d}.{month[1]:02d}"
    if not used:
        return base
    return f"{base}.{max(used) + 1}"
