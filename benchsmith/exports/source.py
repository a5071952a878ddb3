"""Opening a published version for export or evaluation: which one, checked against its manifest.

Every command that reads published versions (`export`, `evaluate`) goes through
`open_version`: the suite and version are looked up under an outputs root, a version
that does not exist is an error that lists the ones that do, and the data file is checked
against manifest.json before a single row is read (a harness must run exactly what was
published).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchsmith.errors import PublishError
from benchsmith.publish import published_versions, read_items, sha256_file
from benchsmith.records import Item


class VersionNotFoundError(PublishError):
    """The suite or version asked for is not published under the outputs root."""


@dataclass(frozen=True)
class PublishedVersion:
    """One published version, opened: where it lives, its manifest and its items."""

    suite: str
    version: str
    path: Path
    """The version folder, outputs/<suite>/<version>/ (absolute)."""
    manifest: dict[str, Any] = field(repr=False)
    items: list[Item] = field(repr=False)

    @property
    def split(self) -> str:
        """The split name the data file is published under ('test' unless the spec says otherwise)."""
        return str(self.manifest.get("split") or "test")

    @property
    def data_file(self) -> Path:
        """The parquet file of the published items."""
        return self.path / "data" / f"{self.split}.parquet"

    @property
    def data_sha256(self) -> str | None:
        """The data file's sha256 as the manifest records it."""
        meta = (self.manifest.get("files") or {}).get(f"data/{self.split}.parquet") or {}
        sha = meta.get("sha256")
        return str(sha) if sha else None


def list_suite_versions(outputs: Path, suite: str) -> list[str]:
    """The published versions of `suite` under `outputs`, newest first."""
    return [name for name, _ in published_versions(outputs / suite)]


def resolve_version(outputs: Path, suite: str, version: str | None) -> tuple[str, Path]:
    """(version, folder) of `suite`'s `version` under `outputs`, or of its latest version when None.

    Raises VersionNotFoundError naming the outputs root and listing the versions (or suites) that exist.
    """
    suite_dir = outputs / suite
    versions = list_suite_versions(outputs, suite) if suite_dir.is_dir() else []
    if not versions:
        suites = sorted(p.name for p in outputs.iterdir()
                        if p.is_dir() and list_suite_versions(outputs, p.name)) if outputs.is_dir() else []
        known = f"published suites there: {', '.join(suites)}" if suites else "nothing is published there"
        raise VersionNotFoundError(f"suite {suite!r} has no published version under {outputs} ({known}); "
                                   "pass the outputs root with --output-dir/-o")
    if version is None:
        return versions[0], suite_dir / versions[0]
    if version not in versions:
        raise VersionNotFoundError(f"suite {suite!r} has no version {version!r} under {outputs}; "
                                   f"published versions (newest first): {', '.join(versions)}")
    return version, suite_dir / version


def open_version(outputs: Path, suite: str, version: str | None = None, *, verify: bool = True) -> PublishedVersion:
    """The published `version` of `suite` (latest when None), its data file checked against the manifest.

    Raises VersionNotFoundError (no such suite or version) or PublishError (manifest missing,
    data file missing or changed since publishing, unreadable parquet).
    """
    name, path = resolve_version(outputs, suite, version)
    path = path.resolve()
    manifest = next((m for n, m in published_versions(outputs / suite) if n == name), None)
    if manifest is None:
        raise PublishError(f"{path}: manifest.json is missing or unreadable; cannot tell what was published")
    opened = PublishedVersion(suite=suite, version=name, path=path, manifest=manifest, items=[])
    data = opened.data_file
    if not data.is_file():
        raise PublishError(f"{data}: the data file of {suite} {name} is missing")
    if verify:
        expected = opened.data_sha256
        if expected is None:
            raise PublishError(f"{path / 'manifest.json'}: lists no sha256 for data/{opened.split}.parquet")
        if sha256_file(data) != expected:
            raise PublishError(f"{data}: sha256 differs from manifest.json; the published data was changed "
                               "after publishing, so it is not exported or evaluated")
    try:
        items = read_items(data)
    except Exception as err:  # pyarrow raises several types for a damaged file
        raise PublishError(f"{data}: cannot read the published items: {err}") from None
    return PublishedVersion(suite=suite, version=name, path=path, manifest=manifest, items=items)
