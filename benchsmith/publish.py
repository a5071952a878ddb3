"""Publish a run's items as an immutable, versioned dataset folder.

Layout of ``outputs/<suite>/<version>/``::

    data/<split>.parquet        the published items: the only file `datasets` loads
    rejected/rejected.parquet   dropped candidates with their verdicts (audit, not a split; never
                                the planted canaries, which manifest.json's reports.quality sums up)
    README.md                   dataset card; its YAML front matter is what `load_dataset(folder)` reads
    CHANGELOG.md                this version's entry, then every earlier entry
    manifest.json               suite, version, parent, spec + hash, models, counts, funnel,
                                usage, and the sha256/size of every other file

Publishing is atomic: everything is written into ``outputs/<suite>/.tmp-*``, fsynced, made
read-only and renamed into place. An existing version folder is never overwritten; a
crash leaves at most a ``.tmp-*`` folder, which the next publish removes. Publishing the
same spec and the same item ids as the latest version is a no-op (status ``exists``).

Nothing is built on a version that no longer matches its manifest (rows removed, card
edited, manifest deleted, bytes overwritten): `find_verified_version` checks the latest
version first and the publish stops with `TamperedVersionError`, naming each bad file,
unless it is told to build on the newest version that still verifies (``ignore_tampered``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, cast

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from benchsmith.canaries import is_canary
from benchsmith.card import render_card, render_changelog_entry
from benchsmith.changes import ItemDiff, diff_items, render_changes_markdown
from benchsmith.errors import PublishError
from benchsmith.funnel import Funnel
from benchsmith.records import Item
from benchsmith.spec import SuiteSpec
from benchsmith.versioning import is_version, list_versions, next_version, version_key

MANIFEST_FORMAT = 1
REJECTED_PATH = "rejected/rejected.parquet"

# ---------------------------------------------------------------------------------------
# Item ⇄ row. Columns are flat and stable so that parquet, `datasets` and eval harnesses
# see the same schema in every version; free-form dicts travel as JSON strings because a
# struct's fields would change from item to item.

CITATION_TYPE = pa.struct([
    pa.field("quote", pa.string()),
    pa.field("document", pa.string()),
    pa.field("section", pa.string()),
    pa.field("chunk_id", pa.string()),
    pa.field("start", pa.int64()),
    pa.field("end", pa.int64()),
])
LINEAGE_TYPE = pa.struct([
    pa.field("generator", pa.string()),
    pa.field("operator", pa.string()),
    pa.field("model", pa.string()),
    pa.field("endpoint", pa.string()),
    pa.field("params", pa.string()),  # JSON
    pa.field("parent_id", pa.string()),
    pa.field("seed_id", pa.string()),
])
VERDICT_TYPE = pa.struct([
    pa.field("stage", pa.string()),
    pa.field("passed", pa.bool_()),
    pa.field("score", pa.float64()),
    pa.field("reason", pa.string()),
    pa.field("details", pa.string()),  # JSON
    pa.field("ranks_quality", pa.bool_()),
])
ITEM_SCHEMA = pa.schema([
    pa.field("id", pa.string()),
    pa.field("kind", pa.string()),
    pa.field("prompt", pa.string()),
    pa.field("reference_answer", pa.string()),
    pa.field("choices", pa.list_(pa.string())),
    pa.field("citations", pa.list_(CITATION_TYPE)),
    pa.field("seed_id", pa.string()),
    pa.field("lineage", LINEAGE_TYPE),
    pa.field("verdicts", pa.list_(VERDICT_TYPE)),
    pa.field("review_status", pa.string()),
    pa.field("metadata", pa.string()),  # JSON
])
"""The explicit parquet schema of published and rejected items."""


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _dumps(value: Any, *, item_id: str, where: str) -> str:
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=_json_default)
    except (TypeError, ValueError) as err:  # ValueError: circular reference
        raise PublishError(f"item {item_id}: {where} cannot be written as JSON: {err}") from None


def item_to_row(item: Item) -> dict[str, Any]:
    """One parquet row (matching `ITEM_SCHEMA`) for an item; raises PublishError if a dict field is not JSON."""
    lineage = item.lineage
    return {
        "id": item.id,
        "kind": item.kind,
        "prompt": item.prompt,
        "reference_answer": item.reference_answer,
        "choices": list(item.choices),
        "citations": [c.model_dump() for c in item.citations],
        "seed_id": item.seed_id,
        "lineage": {
            "generator": lineage.generator,
            "operator": lineage.operator,
            "model": lineage.model,
            "endpoint": lineage.endpoint,
            "params": _dumps(lineage.params, item_id=item.id, where="lineage.params"),
            "parent_id": lineage.parent_id,
            "seed_id": lineage.seed_id,
        },
        "verdicts": [
            {"stage": v.stage, "passed": v.passed, "score": v.score, "reason": v.reason,
             "details": _dumps(v.details, item_id=item.id, where=f"verdict {v.stage!r} details"),
             "ranks_quality": v.ranks_quality}
            for v in item.verdicts
        ],
        "review_status": item.review_status,
        "metadata": _dumps(item.metadata, item_id=item.id, where="metadata"),
    }


def _as_list(value: Any) -> list[Any]:
    # numpy arrays (from pandas) have no truth value, so test for None explicitly.
    return [] if value is None else list(value)


def _records(value: Any) -> list[dict[str, Any]]:
    """A list<struct> column value as a list of dicts, whatever reader produced it."""
    if value is None:
        return []
    if isinstance(value, Mapping):  # `datasets` may decode a list of structs as a dict of lists
        columns = {k: _as_list(v) for k, v in value.items()}
        n = len(next(iter(columns.values()), []))
        return [{k: col[i] for k, col in columns.items()} for i in range(n)]
    return [dict(v) for v in value]


def _loads(text: Any) -> dict[str, Any]:
    if text is None or text == "":
        return {}
    return json.loads(text) if isinstance(text, str) else dict(text)


def row_to_item(row: Mapping[str, Any]) -> Item:
    """The item of a row written by `item_to_row` (as read back by pyarrow, pandas or `datasets`)."""
    lineage = dict(row["lineage"])
    lineage["params"] = _loads(lineage.get("params"))
    verdicts = []
    for v in _records(row.get("verdicts")):
        v = dict(v)
        v["details"] = _loads(v.get("details"))
        verdicts.append(v)
    return Item.model_validate({
        "id": row["id"],
        "kind": row["kind"],
        "prompt": row["prompt"],
        "reference_answer": row["reference_answer"],
        "choices": [str(c) for c in _as_list(row.get("choices"))],
        "citations": _records(row.get("citations")),
        "seed_id": row.get("seed_id"),
        "lineage": lineage,
        "verdicts": verdicts,
        "review_status": row.get("review_status") or "pending",
        "metadata": _loads(row.get("metadata")),
    })


def items_to_table(items: list[Item]) -> pa.Table:
    """A pyarrow table of `items` with exactly `ITEM_SCHEMA`."""
    return pa.Table.from_pylist([item_to_row(it) for it in items], schema=ITEM_SCHEMA)


def read_items(path: Path) -> list[Item]:
    """The items of a parquet file written by `publish_version`."""
    return [row_to_item(r) for r in pq.read_table(path).to_pylist()]


# ---------------------------------------------------------------------------------------
# Reading what is already published.


def read_manifest(version_dir: Path) -> dict[str, Any] | None:
    """A version's manifest, or None when it is missing or unreadable."""
    try:
        data = json.loads((version_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def latest_version(suite_dir: Path) -> tuple[str, dict[str, Any]] | None:
    """The most recently created version that has a manifest, as (name, manifest).

    Ordered by the manifest's `created_at`, then by name, so a suite that switched
    versioning scheme still finds its real latest version. Nothing is checked against the
    manifest here: before building on a version, use `find_verified_version`.
    """
    found = []
    for name in list_versions(suite_dir):
        manifest = read_manifest(suite_dir / name)
        if manifest is not None:
            found.append((str(manifest.get("created_at", "")), version_key(name), name, manifest))
    if not found:
        return None
    _, _, name, manifest = max(found, key=lambda t: (t[0], t[1]))
    return name, manifest


def version_items(version_dir: Path, manifest: Mapping[str, Any]) -> list[Item]:
    """The items of a published version (its data split); PublishError if they cannot be read."""
    data_file = version_dir / "data" / f"{manifest.get('split', 'test')}.parquet"
    try:
        return read_items(data_file)
    except (OSError, pa.ArrowException, ValueError) as err:
        raise PublishError(f"cannot read the items of {version_dir}: {err}") from None


def version_item_ids(version_dir: Path, manifest: Mapping[str, Any]) -> list[str]:
    """The ids of a published version's items."""
    data_file = version_dir / "data" / f"{manifest.get('split', 'test')}.parquet"
    try:
        return [str(i) for i in pq.read_table(data_file, columns=["id"]).column("id").to_pylist()]
    except (OSError, pa.ArrowException) as err:
        raise PublishError(f"cannot read the items of {version_dir}: {err}") from None


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_version(version_dir: Path) -> tuple[dict[str, Any] | None, list[tuple[str, str, str]]]:
    """(manifest, problems) of a version folder; each problem is (file relative to the folder, kind, detail).

    Kinds: 'manifest' (manifest.json missing, unreadable or without a `files` table; the
    manifest returned is then None), 'missing', 'changed', 'unlisted'.
    """
    try:
        data = json.loads((version_dir / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, [("manifest.json", "manifest", "missing")]
    except (OSError, ValueError) as err:
        return None, [("manifest.json", "manifest", f"unreadable ({err})")]
    listed = data.get("files") if isinstance(data, dict) else None
    if not isinstance(listed, dict) or not all(isinstance(meta, dict) for meta in listed.values()):
        return None, [("manifest.json", "manifest", "has no 'files' table of sha256 and sizes")]
    manifest = cast(dict[str, Any], data)
    problems: list[tuple[str, str, str]] = []
    for rel, meta in sorted(listed.items()):
        path = version_dir / rel
        if not path.is_file():
            problems.append((rel, "missing", "missing (listed in manifest.json)"))
            continue
        size = path.stat().st_size
        if size != meta.get("size"):
            problems.append((rel, "changed", f"size and sha256 differ from manifest.json "
                                             f"({size} bytes, manifest.json says {meta.get('size')})"))
        elif sha256_file(path) != meta.get("sha256"):
            problems.append((rel, "changed", "sha256 differs from manifest.json"))
    data_rel = f"data/{manifest.get('split', 'test')}.parquet"
    if data_rel not in listed and not (version_dir / data_rel).is_file():
        problems.append((data_rel, "missing", "missing (and not listed in manifest.json)"))
    on_disk = {p.relative_to(version_dir).as_posix() for p in version_dir.rglob("*") if p.is_file()}
    problems += [(rel, "unlisted", "not listed in manifest.json")
                 for rel in sorted(on_disk - set(listed) - {"manifest.json"})]
    return manifest, problems


def verify_version(version_dir: Path) -> list[str]:
    """Problems with a published folder: files missing, changed, or not in the manifest. Empty = intact.

    `version_problems` says the same with each file's full path and what differs.
    """
    manifest, problems = check_version(version_dir)
    if manifest is None:
        return [f"{version_dir}: manifest.json missing or unreadable"]
    wording = {"missing": "missing", "changed": "content differs from the manifest",
               "unlisted": "not listed in the manifest"}
    return [f"{rel}: {wording[kind]}" for rel, kind, _ in problems]


def version_problems(version_dir: Path) -> list[str]:
    """Like `verify_version`, one line per file as '<version_dir>/<file>: <what is wrong>'. Empty = intact.

    E.g. 'outputs/demo/2026.11/data/test.parquet: sha256 differs from manifest.json'.
    """
    return [f"{version_dir / rel}: {detail}" for rel, _, detail in check_version(version_dir)[1]]


# Files only a publish writes: a version folder holding one of them but no readable
# manifest.json is a published version whose manifest was deleted or damaged, not junk.
_PUBLISHED_FILES = ("manifest.json", "README.md", "CHANGELOG.md", REJECTED_PATH)


def _looks_published(version_dir: Path) -> bool:
    return (any((version_dir / rel).is_file() for rel in _PUBLISHED_FILES)
            or any(p.is_file() for p in (version_dir / "data").glob("*.parquet")))


def published_versions(suite_dir: Path) -> list[tuple[str, dict[str, Any] | None]]:
    """Every published version folder, newest first, as (name, manifest or None).

    Ordered as `latest_version` orders them (manifest `created_at`, then name). A folder
    without a readable manifest is listed (with None) when it holds files that only a
    publish writes (README.md, CHANGELOG.md, data/*.parquet, ...): it is a published version
    whose manifest was deleted or damaged. Having no `created_at`, it is placed just after
    the version that precedes it by name. Folders with none of those files (empty, or
    someone else's) are not versions and are left out, as before.
    """
    readable: list[tuple[tuple[str, tuple[int, tuple[int, ...]]], str, dict[str, Any] | None]] = []
    orphans: list[str] = []
    for name in list_versions(suite_dir):
        manifest = read_manifest(suite_dir / name)
        if manifest is not None:
            readable.append(((str(manifest.get("created_at", "")), version_key(name)), name, manifest))
        elif _looks_published(suite_dir / name):
            orphans.append(name)
    found = list(readable)
    for name in orphans:
        before = [(key[1], key[0]) for key, _, _ in readable if key[1] < version_key(name)]
        created_at = max(before)[1] if before else ""
        found.append(((created_at, version_key(name)), name, None))
    found.sort(key=lambda t: t[0], reverse=True)
    return [(name, manifest) for _, name, manifest in found]


class TamperedVersionError(PublishError):
    """The newest published version no longer matches its manifest.json, so nothing may be built on it.

    `tampered` maps each version skipped over (newest first) to its problems, one line per
    file ('<folder>/<file>: <what is wrong>'); `fallback` is the newest version that still
    verifies, or None when none does.
    """

    def __init__(self, message: str, *, tampered: Mapping[str, list[str]] | None = None,
                 fallback: str | None = None) -> None:  # defaults: the error pickles (Dask, Prefect)
        super().__init__(message)
        self.tampered = dict(tampered or {})
        self.fallback = fallback


@dataclass(frozen=True)
class VerifiedVersion:
    """What `find_verified_version` found: the version to build on and what was skipped to reach it."""

    version: str | None
    """The newest version that verifies against its manifest.json; None if there is none."""
    manifest: dict[str, Any] = field(repr=False)
    """Its manifest ({} when `version` is None)."""
    skipped: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """Newer versions that failed verification, newest first: {name: [(file, what is wrong)]}."""


def find_verified_version(suite_dir: Path, *, ignore_tampered: bool = False) -> VerifiedVersion:
    """The newest published version of a suite, checked against its manifest.json before anything builds on it.

    Every file listed must be present with its sha256 and size, nothing unlisted may have
    been added, and the manifest itself must be there (`published_versions` says which
    folders are versions). If the newest version fails, raises `TamperedVersionError`
    naming each bad file and the newest version that still verifies; with
    `ignore_tampered`, tampered versions are skipped instead (and listed in `skipped`).
    Only as many versions are hashed as needed: normally just the newest.
    """
    skipped: dict[str, list[tuple[str, str]]] = {}
    found: tuple[str, dict[str, Any]] | None = None
    for name, _ in published_versions(suite_dir):
        manifest, problems = check_version(suite_dir / name)
        if manifest is not None and not problems:
            found = name, manifest
            break
        skipped[name] = [(rel, detail) for rel, _, detail in problems]
    fallback = found[0] if found else None
    if skipped and not ignore_tampered:
        tampered = {name: [f"{suite_dir / name / rel}: {detail}" for rel, detail in problems]
                    for name, problems in skipped.items()}
        names = list(tampered)
        head = (f"the newest published version {names[0]} does not match its manifest.json"
                if len(names) == 1 else
                f"the newest published versions {', '.join(names)} do not match their manifest.json")
        hint = (f"rerun with --ignore-tampered to build on the newest version that still verifies ({fallback})"
                if fallback else
                "rerun with --ignore-tampered to publish a version with no parent, "
                "since no published version still verifies")
        lines = [f"{suite_dir}: {head}; refusing to build on {'it' if len(names) == 1 else 'them'}:",
                 *(f"  {line}" for bad in tampered.values() for line in bad),
                 f"restore the files named above, or {hint} (tampered folders are left as they are; "
                 "the new version gets a name never used before)"]
        raise TamperedVersionError("\n".join(lines), tampered=tampered, fallback=fallback)
    if found is None:
        return VerifiedVersion(None, {}, skipped)
    return VerifiedVersion(found[0], found[1], skipped)


def latest_verified_version(suite_dir: Path, *, ignore_tampered: bool = False) -> str | None:
    """The name of the version the next publish builds on (see `find_verified_version`); None if none.

    Raises `TamperedVersionError` when the newest version fails its manifest, unless
    `ignore_tampered`, which returns the newest version that still verifies instead.
    A flow can call this before it generates anything, to stop before spending LLM calls.
    """
    return find_verified_version(suite_dir, ignore_tampered=ignore_tampered).version


# ---------------------------------------------------------------------------------------
# Temp folders. A `.tmp-*` folder belongs to a publish in progress unless its process is
# gone (or it is old): only those are removed, so two publishers never delete each other's work.

_TMP_PREFIX = ".tmp-"
_TMP_NAME = re.compile(r"^\.tmp-.*-(?P<pid>\d+)-[0-9a-f]+$")
_STALE_AFTER_S = 6 * 3600
_active: set[Path] = set()
_active_lock = threading.Lock()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def clean_stale_temp(suite_dir: Path) -> list[Path]:
    """Remove `.tmp-*` folders left by crashed or interrupted publishes; returns what was removed."""
    removed: list[Path] = []
    if not suite_dir.is_dir():
        return removed
    for path in suite_dir.iterdir():
        if not path.name.startswith(_TMP_PREFIX):
            continue
        with _active_lock:
            if path in _active:
                continue
        m = _TMP_NAME.match(path.name)
        pid = int(m["pid"]) if m else None
        try:
            age = time.time() - path.lstat().st_mtime
        except OSError:
            continue
        live_elsewhere = pid is not None and pid != os.getpid() and _pid_alive(pid)
        if live_elsewhere and age < _STALE_AFTER_S:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":  # directories cannot be opened for fsync elsewhere
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(root: Path, rel: str, data: bytes) -> dict[str, Any]:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def _parquet_bytes(items: list[Item]) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(items_to_table(items), sink)
    return cast(bytes, sink.getvalue().to_pybytes())


def _make_read_only(root: Path) -> None:
    # Files only: read-only directories would make `rm -r` of an old version fail.
    for path in root.rglob("*"):
        if path.is_file():
            path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)


# ---------------------------------------------------------------------------------------
# Publishing.


@dataclass(frozen=True)
class PublishResult:
    """What `publish_version` did."""

    status: Literal["published", "exists"]
    """'published': a new folder; 'exists': the latest version already holds this content."""
    version: str
    path: Path
    parent: str | None
    manifest: dict[str, Any] = field(repr=False)


def publish_version(*, spec: SuiteSpec, items: list[Item], rejected: list[Item], funnel: Funnel,
                    models: dict[str, str], usage: dict[str, Any], stop_reason: str,
                    new_version: bool = False, output_dir: Path | None = None,
                    today: date | None = None, reports: dict[str, Any] | None = None,
                    ignore_tampered: bool = False, version: str | None = None,
                    extra_manifest: Mapping[str, Any] | None = None) -> PublishResult:
    """Publish `items` as the next version of `spec.suite` under `output_dir` (default: the spec's).

    Returns status 'exists' (writing nothing) when the latest version has the same spec hash
    and the same item ids, unless `new_version` is set. `reports` (dedup, contamination,
    review summaries) go into the manifest as they are. Raises PublishError for an empty
    or inconsistent item list, an item that cannot be serialised, or a version folder that
    appeared meanwhile (never overwritten).

    The latest version is checked against its manifest.json before anything builds on it
    (parent, item counts, changelog, the 'exists' check): if a file of it was changed,
    removed or added, or its manifest is gone, raises `TamperedVersionError` naming each
    file, before writing anything, `new_version` or not. With `ignore_tampered` the
    tampered versions are skipped instead: the parent is the newest version that still
    verifies (none if none does), counts and changelog are relative to it, the skipped
    versions are listed in the manifest (`skipped_tampered`) and the changelog entry, and
    a new version is always written (never 'exists': the tampered folder would stay the
    latest). Its name is new, after every existing folder; tampered folders are left as they are.

    Every published item's metadata gets `introduced_in` (the version it first appeared in,
    carried over from the parent for kept items) and `retired_in: null`; the manifest lists
    the items retired since the parent (`retired`, each with its `retired_in`) and the ids
    of every change (`changes`), which the changelog entry lists too (`benchsmith.changes`).
    `version` forces the new version's name (a private release named like its public one);
    `extra_manifest` adds keys to the manifest (a refresh's plan and source window).
    """
    if not items:
        raise PublishError(f"suite {spec.suite!r}: refusing to publish a version with no items")
    planted = [it.id for it in items if is_canary(it)]
    if planted:
        raise PublishError(f"suite {spec.suite!r}: refusing to publish canaries (planted defective items): "
                           f"{', '.join(planted[:5])}")
    # Canaries are no candidates: they are summed up in the 'canaries' quality report, not kept in rejected/.
    rejected = [it for it in rejected if not is_canary(it)]
    ids = [it.id for it in items]
    dupes = sorted(i for i, n in Counter(ids).items() if n > 1)
    if dupes:
        raise PublishError(f"suite {spec.suite!r}: item ids appear more than once: {', '.join(dupes[:5])}")

    root = Path(output_dir) if output_dir is not None else spec.publish.output_dir
    suite_dir = root / spec.suite
    spec_hash = spec.spec_hash()
    split = spec.publish.split

    # Before reading anything of the latest version: raises TamperedVersionError unless ignore_tampered.
    base = find_verified_version(suite_dir, ignore_tampered=ignore_tampered)
    parent, parent_manifest, skipped = base.version, base.manifest, base.skipped
    parent_ids: set[str] = set()
    parent_items: list[Item] = []
    if parent is not None:
        parent_items = version_items(suite_dir / parent, parent_manifest)
        parent_ids = {it.id for it in parent_items}
        if (not new_version and version is None and not skipped and parent_manifest.get("spec_hash") == spec_hash
                and parent_ids == set(ids)):
            return PublishResult("exists", parent, suite_dir / parent, parent_manifest.get("parent"), parent_manifest)

    suite_dir.mkdir(parents=True, exist_ok=True)
    clean_stale_temp(suite_dir)
    if version is None:
        version = next_version(list_versions(suite_dir), spec.publish.versioning, today)
    elif not is_version(version):
        raise PublishError(f"suite {spec.suite!r}: {version!r} is not a version name (2026.11, 2026.11.1 or v3)")
    target = suite_dir / version
    created_at = datetime.now(UTC).isoformat()
    items = stamp_lifecycle(items, parent_items, parent, version)
    changes = diff_items(parent_items, items, old_name=parent, new_name=version)
    counts = {
        "published": len(items),
        "rejected": len(rejected),
        "added": len(set(ids) - parent_ids),
        "removed": len(parent_ids - set(ids)),
        "kept": len(set(ids) & parent_ids),
    }
    previous_changelog = ""
    if parent is not None:
        try:
            previous_changelog = (suite_dir / parent / "CHANGELOG.md").read_text(encoding="utf-8")
        except OSError:
            previous_changelog = ""

    tmp = suite_dir / f"{_TMP_PREFIX}{version}-{os.getpid()}-{secrets.token_hex(4)}"
    with _active_lock:  # registered before it exists, so a concurrent cleanup never sees it unclaimed
        _active.add(tmp)
    try:
        tmp.mkdir()
        files: dict[str, Any] = {}
        files[f"data/{split}.parquet"] = _write_file(tmp, f"data/{split}.parquet", _parquet_bytes(items))
        files[REJECTED_PATH] = _write_file(tmp, REJECTED_PATH, _parquet_bytes(rejected))
        manifest: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "suite": spec.suite,
            "version": version,
            "parent": parent,
            **({"skipped_tampered": {name: [f"{rel}: {detail}" for rel, detail in problems]
                                     for name, problems in skipped.items()}} if skipped else {}),
            "created_at": created_at,
            "cycle": (today or date.today()).strftime("%Y-%m"),
            "spec_hash": spec_hash,
            "spec": spec.model_dump(mode="json"),
            "split": split,
            "models": dict(models),
            "counts": counts,
            "funnel": funnel.model_dump(mode="json"),
            "stop_reason": stop_reason,
            "usage": usage,
            "reports": reports or {},
            "changes": changes.ids(),
            "retired": retired_entries(changes, parent_items, version),
            **dict(extra_manifest or {}),
        }
        card = render_card(spec=spec, version=version, items=items,
                           manifest={**manifest, "data_bytes": files[f"data/{split}.parquet"]["size"]})
        files["README.md"] = _write_file(tmp, "README.md", card.encode("utf-8"))
        entry = render_changelog_entry(manifest=manifest, parent_spec_hash=parent_manifest.get("spec_hash"))
        if skipped:
            entry = (entry.rstrip("\n") + f"\n- Not built on: {', '.join(skipped)} (no longer matching "
                     "manifest.json; skipped with --ignore-tampered)\n")
        entry = changelog_entry(entry, changes)
        changelog = _join_changelog(spec.suite, entry, previous_changelog)
        files["CHANGELOG.md"] = _write_file(tmp, "CHANGELOG.md", changelog.encode("utf-8"))
        manifest["files"] = dict(sorted(files.items()))
        try:
            blob = json.dumps(manifest, indent=2, ensure_ascii=False, default=_json_default)
        except (TypeError, ValueError) as err:
            raise PublishError(f"suite {spec.suite!r}: manifest cannot be written as JSON (usage/reports?): "
                               f"{err}") from None
        _write_file(tmp, "manifest.json", (blob + "\n").encode("utf-8"))
        for d in (tmp / "data", tmp / "rejected", tmp):
            _fsync_dir(d)
        _make_read_only(tmp)
        commit_folder(tmp, target)
    except BaseException:  # Ctrl-C included: leave no half-written folder behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        with _active_lock:
            _active.discard(tmp)
    _fsync_dir(suite_dir)
    return PublishResult("published", version, target, parent, manifest)


LIFECYCLE_KEYS = ("introduced_in", "retired_in")
"""Metadata keys a publish sets on every item (`stamp_lifecycle`)."""


def strip_lifecycle(items: list[Item]) -> list[Item]:
    """`items` without the metadata keys a publish added (what the run produced)."""
    return [it.model_copy(update={"metadata": {k: v for k, v in it.metadata.items() if k not in LIFECYCLE_KEYS}})
            for it in items]


def stamp_lifecycle(items: list[Item], parent_items: list[Item], parent: str | None, version: str) -> list[Item]:
    """`items` with `introduced_in` (kept items keep their parent's) and `retired_in: null` in their metadata."""
    introduced = {it.id: str(it.metadata.get("introduced_in") or parent) for it in parent_items}
    return [it.model_copy(update={"metadata": {**it.metadata, "introduced_in": introduced.get(it.id, version),
                                               "retired_in": None}})
            for it in items]


def retired_entries(changes: ItemDiff, parent_items: list[Item], version: str) -> list[dict[str, Any]]:
    """The manifest's `retired` list: each item retired by this version, when it came and when it went."""
    by_id = {it.id: it for it in parent_items}
    return [{"id": ref.id, "introduced_in": by_id[ref.id].metadata.get("introduced_in") or changes.old,
             "retired_in": version} for ref in changes.retired]


def changelog_entry(entry: str, changes: ItemDiff) -> str:
    """A changelog entry (`render_changelog_entry`) followed by the lists of what changed."""
    listed = render_changes_markdown(changes)
    return entry.rstrip("\n") + "\n" + (f"\n{listed}\n" if listed else "")


def commit_folder(tmp: Path, target: Path) -> None:
    """Rename a finished temp folder to `target`; PublishError if `target` exists in any form.

    os.rename silently replaces an *empty* directory, hence the check; a non-empty one
    that appears after the check (a concurrent publish of the same name) makes the rename
    itself fail, which is reported the same way.
    """
    if target.exists() or target.is_symlink():
        raise PublishError(f"{target} already exists; published versions are never overwritten")
    try:
        os.rename(tmp, target)
    except OSError as err:
        raise PublishError(f"{target} could not be created ({err.strerror}); "
                           "another publish probably took this version name") from None


def _join_changelog(suite: str, entry: str, previous: str) -> str:
    """Title, this entry, then every earlier entry (everything from the first '## ' heading)."""
    lines = previous.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("## ")), len(lines))
    older = "\n".join(lines[start:]).strip()
    parts = [f"# Changelog: {suite}", entry.strip()] + ([older] if older else [])
    return "\n\n".join(parts) + "\n"
