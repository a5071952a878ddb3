"""A suite's published history: list its versions, diff two of them, verify their files.

What `benchsmith versions`, `diff` and `verify` print, and what flows read before a
refresh. A diff is `benchsmith.changes.diff_items` over the two versions' data files, the
function a publish writes its changelog entry with, so the two always agree. Verifying
re-hashes every file a manifest lists (`benchsmith.publish.check_version`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from benchsmith.changes import ItemDiff, diff_items
from benchsmith.errors import PublishError
from benchsmith.publish import check_version, published_versions, read_manifest, version_items
from benchsmith.records import Item
from benchsmith.versioning import parse_version

PRIVATE_SUFFIX = "-private"
"""A suite's held-back items live in `outputs/<suite>-private/<version>/`."""


def private_suite(suite: str) -> str:
    """The name of the folder holding a suite's private (held-back) versions."""
    return f"{suite}{PRIVATE_SUFFIX}"


def held_back_for(manifest: dict[str, Any] | None) -> str | None:
    """The public version a held-back version was written for (its manifest's `held_back_for`)."""
    target = (manifest or {}).get("held_back_for") or {}
    version = target.get("version") if isinstance(target, dict) else None
    return version if isinstance(version, str) else None


def orphaned_held_back(output_root: Path, suite: str) -> set[str]:
    """Held-back versions of `suite` whose public release does not exist.

    A release writes its held-back version first and its public version last (the commit
    point), so a run that stopped between the two leaves one of these. It belongs to no
    release: planning, releasing and novelty leave it out, and the next run of the same
    release reuses it, or moves it aside when its items differ
    (`benchsmith.refresh.publish_release`).
    """
    public = {name for name, _ in published_versions(output_root / suite)}
    return {name for name, manifest in published_versions(output_root / private_suite(suite))
            if manifest is not None and (held_back_for(manifest) or name) not in public}


@dataclass(frozen=True)
class VersionInfo:
    """One line of `benchsmith versions`."""

    name: str
    size: int | None
    """Items in the version's split (None when its data cannot be read)."""
    created_at: str
    parent: str | None
    added: int | None
    retired: int | None
    edited: int | None
    cycle: str | None = None
    """The month the version belongs to (YYYY-MM)."""
    problems: list[str] = field(default_factory=list)
    """What no longer matches the manifest (empty when the files verify)."""

    def as_json(self) -> dict[str, Any]:
        """The line as plain data (`versions --json`)."""
        return {"version": self.name, "size": self.size, "created_at": self.created_at, "parent": self.parent,
                "added": self.added, "retired": self.retired, "edited": self.edited, "cycle": self.cycle,
                "intact": not self.problems, "problems": self.problems}


def version_names(suite_dir: Path) -> list[str]:
    """Published version names of a suite, oldest first."""
    return [name for name, _ in reversed(published_versions(suite_dir))]


def _items(suite_dir: Path, name: str) -> list[Item]:
    manifest = read_manifest(suite_dir / name)
    if manifest is None:
        raise PublishError(f"{suite_dir / name}: manifest.json missing or unreadable; "
                           f"`benchsmith verify {suite_dir.name} {name}` says what is wrong")
    return version_items(suite_dir / name, manifest)


def _require(suite_dir: Path, name: str) -> None:
    known = version_names(suite_dir)
    if name not in known:
        listed = ", ".join(known) or "none"
        raise PublishError(f"suite {suite_dir.name!r} has no version {name!r} under {suite_dir.parent} "
                           f"(published: {listed})")


def diff_versions(suite_dir: Path, old: str, new: str) -> ItemDiff:
    """Added, retired and edited items from version `old` to version `new`."""
    for name in (old, new):
        _require(suite_dir, name)
    return diff_items(_items(suite_dir, old), _items(suite_dir, new), old_name=old, new_name=new)


def list_releases(suite_dir: Path) -> list[VersionInfo]:
    """Every published version, oldest first, with its size, date, changes against its parent and problems.

    The counts come from the data files (the same `diff_items` the changelog used), not
    from what the manifest claims; `problems` from re-hashing every listed file.
    """
    out: list[VersionInfo] = []
    cache: dict[str, list[Item] | None] = {}

    def items_of(name: str) -> list[Item] | None:
        if name not in cache:
            try:
                cache[name] = _items(suite_dir, name)
            except PublishError:
                cache[name] = None
        return cache[name]

    for name in version_names(suite_dir):
        manifest, problems = check_version(suite_dir / name)
        meta = manifest or read_manifest(suite_dir / name) or {}
        parent = meta.get("parent")
        mine = items_of(name)
        added = retired = edited = None
        if mine is not None:
            before = items_of(parent) if parent else []
            if before is not None:
                counts = diff_items(before, mine, old_name=parent, new_name=name).counts()
                added, retired, edited = counts["added"], counts["retired"], counts["edited"]
        out.append(VersionInfo(name=name, size=len(mine) if mine is not None else None,
                               created_at=str(meta.get("created_at", "")), parent=parent, added=added,
                               retired=retired, edited=edited, cycle=meta.get("cycle") or _calendar_cycle(name),
                               problems=[f"{rel}: {detail}" for rel, _, detail in problems]))
    return out


def _calendar_cycle(name: str) -> str | None:
    parsed = parse_version(name)
    if parsed and parsed[0] == "calendar":
        return f"{parsed[1][0]:04d}-{parsed[1][1]:02d}"
    return None


def version_of_month(suite_dir: Path, today: date) -> str | None:
    """The newest version already published for `today`'s month (manifest `cycle`, else a calendar name)."""
    month = today.strftime("%Y-%m")
    for name, manifest in published_versions(suite_dir):  # newest first
        cycle = (manifest or {}).get("cycle") or _calendar_cycle(name)
        if cycle == month:
            return name
    return None


@dataclass(frozen=True)
class FileProblem:
    """One file of a version that does not match its manifest."""

    version: str
    file: str
    kind: str
    """'changed' (tampered), 'missing', 'extra' (not in the manifest) or 'manifest' (none to check against)."""
    detail: str


def verify_suite(suite_dir: Path, version: str | None = None) -> tuple[list[str], list[FileProblem]]:
    """Re-hash the files of every version (or one) against its manifest: (versions checked, problems)."""
    if version is not None:
        _require(suite_dir, version)
    names = [version] if version is not None else version_names(suite_dir)
    if not names:
        raise PublishError(f"suite {suite_dir.name!r} has no published version under {suite_dir.parent}")
    problems: list[FileProblem] = []
    kinds = {"unlisted": "extra"}
    for name in names:
        _, found = check_version(suite_dir / name)
        problems += [FileProblem(name, rel, kinds.get(kind, kind), detail) for rel, kind, detail in found]
    return names, problems
