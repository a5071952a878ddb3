"""Live-benchmark releases: what the next version keeps, retires, releases and needs anew.

A spec with `refresh.enabled` publishes releases of a constant size (`refresh.size`):

1. *Plan* (`plan_refresh`, before anything is spent): the month's version name, the parent
   (the newest version that verifies), which of the parent's items retire (the oldest
   `retire_share`, by `introduced_in`, ties broken by a seeded hash), which held-back items
   of the latest private version are released now, and how many new items to make. A
   month that already has a version gives `RefreshExists` unless forced.
2. *Build*: the ordinary build flow makes the new items with `build_spec`: the plan's
   target, a random seed of the release's own (so each month's generation differs and a
   resumed run repeats its own month exactly), `novelty` against every earlier version,
   public and private (retired items included: they are in the versions they were
   published in), and relative `min_date` resolved against the plan's day.
3. *Assemble* (`assemble`): parent − retired + released + new public items; the rest of
   the new items are the next private version. When fewer new items survived than
   planned, fewer items retire, so the size stays constant as long as it can.

Kept items never go through novelty (they are not new); the stage leaves an item that
carries `introduced_in` and is live in the latest version alone in any case.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from benchsmith import progress
from benchsmith.errors import PublishError
from benchsmith.funnel import Funnel
from benchsmith.publish import (
    PublishResult,
    find_verified_version,
    publish_version,
    published_versions,
    read_manifest,
    version_item_ids,
    version_items,
)
from benchsmith.records import Item, content_hash
from benchsmith.releases import held_back_for, orphaned_held_back, private_suite, version_of_month
from benchsmith.spec import StageSpec, SuiteSpec
from benchsmith.versioning import is_version, list_versions, next_version, version_key


class RefreshPlan(BaseModel):
    """What one release will do, decided before anything is generated."""

    model_config = ConfigDict(extra="forbid")

    suite: str
    version: str = Field(description="The name the release gets (public and private alike).")
    cycle: str = Field(description="The month it belongs to, YYYY-MM.")
    today: date = Field(description="The day the plan was made for (relative dates count back from it).")
    parent: str | None = Field(description="The public version it builds on.")
    size: int = Field(description="Items the public version should hold.")
    retire: list[str] = Field(default_factory=list, description="Parent ids to retire, oldest first.")
    released_from: str | None = Field(default=None, description="Private version whose items go public now.")
    released: list[str] = Field(default_factory=list, description="Ids of those items.")
    new_public: int = Field(description="New items the public version needs.")
    new_private: int = Field(description="New items to hold back for the next release.")
    random_seed: int = Field(description="The release's own generation seed.")
    window: dict[str, str] | None = Field(default=None, description="The source window (documents.min_date).")

    @property
    def new_total(self) -> int:
        """New items to generate."""
        return self.new_public + self.new_private


@dataclass(frozen=True)
class RefreshExists:
    """The month already has a version: nothing is planned."""

    suite: str
    version: str
    cycle: str


def release_seed(spec: SuiteSpec, version: str) -> int:
    """A generation seed per release: differs between months, the same on every retry of one."""
    return int(content_hash("refresh", spec.random_seed, spec.suite, version), 16) % (2 ** 31)


def source_window(spec: SuiteSpec, today: date) -> dict[str, str] | None:
    """The source window of a documents suite with a `min_date`: from the resolved day up to `today`."""
    if spec.documents is None or spec.documents.min_date is None:
        return None
    written = spec.documents.min_date
    start = spec.documents.min_date_on(today)
    assert start is not None
    return {"min_source_date": start.isoformat(), "written": str(written), "until": today.isoformat()}


def resolve_dates(spec: SuiteSpec, today: date) -> SuiteSpec:
    """The spec with a relative `documents.min_date` replaced by the day it means on `today`."""
    if spec.documents is None or spec.documents.min_date is None or isinstance(spec.documents.min_date, date):
        return spec
    docs = spec.documents.model_copy(update={"min_date": spec.documents.min_date_on(today)})
    resolved = spec.model_copy(update={"documents": docs})
    resolved.source_path = spec.source_path
    return resolved


def retirement_order(items: Sequence[Item], seed: int) -> list[Item]:
    """`items` oldest first: by the version that introduced them, then by a seeded hash (no favourites)."""
    def key(it: Item) -> tuple[Any, ...]:
        intro = it.metadata.get("introduced_in")
        age = version_key(intro) if isinstance(intro, str) and is_version(intro) else (-1, ())
        return (age, content_hash("retire", seed, it.id))

    return sorted(items, key=key)


def _latest_private(spec: SuiteSpec, root: Path) -> tuple[str, list[Item]] | None:
    found = published_versions(root / private_suite(spec.suite))
    orphans = orphaned_held_back(root, spec.suite)  # written by a release that never went public
    for name, manifest in found:  # newest first; the newest readable one is the one waiting
        if manifest is not None and name not in orphans:
            return name, version_items(root / private_suite(spec.suite) / name, manifest)
    return None


def plan_refresh(spec: SuiteSpec, output_root: Path, *, today: date | None = None,
                 force: bool = False) -> RefreshPlan | RefreshExists:
    """Plan the next release of `spec.suite` under `output_root` (see the module docstring).

    Raises `TamperedVersionError` when the newest version no longer matches its manifest
    (nothing is built on it).
    """
    today = today or date.today()
    cycle = today.strftime("%Y-%m")
    suite_dir = output_root / spec.suite
    existing = version_of_month(suite_dir, today)
    if existing is not None and not force:
        return RefreshExists(spec.suite, existing, cycle)
    cfg = spec.refresh
    size = cfg.size_of(spec.target_items)
    base = find_verified_version(suite_dir)
    parent_items = version_items(suite_dir / base.version, base.manifest) if base.version else []
    # An orphaned held-back version (a run stopped before its public publish) does not take its name:
    # the next run of that release gets the same name and reuses it.
    taken = set(list_versions(suite_dir)) | (set(list_versions(output_root / private_suite(spec.suite)))
                                             - orphaned_held_back(output_root, spec.suite))
    version = next_version(taken, spec.publish.versioning, today)
    seed = release_seed(spec, version)
    k = cfg.retire_count(size) if parent_items else 0
    # Growing to `size` (a first release, or a larger size) retires nothing beyond what the size allows.
    k = min(k, max(0, len(parent_items) - size + k))
    retire = [it.id for it in retirement_order(parent_items, seed)[:k]]
    released_from, released = None, []
    waiting = _latest_private(spec, output_root)
    already = (base.manifest.get("refresh") or {}).get("released_from")
    if cfg.private and waiting is not None and waiting[0] != already:
        parent_ids = {it.id for it in parent_items}
        released_from = waiting[0]
        released = [it.id for it in waiting[1] if it.id not in parent_ids]
    room = size - (len(parent_items) - len(retire))
    released = released[:max(0, room)]
    new_public = max(0, room - len(released))
    new_private = cfg.retire_count(size) if cfg.private else 0
    return RefreshPlan(suite=spec.suite, version=version, cycle=cycle, today=today, parent=base.version, size=size,
                       retire=retire, released_from=released_from, released=released, new_public=new_public,
                       new_private=new_private, random_seed=seed, window=source_window(spec, today))


def build_spec(spec: SuiteSpec, plan: RefreshPlan) -> SuiteSpec:
    """The spec the build flow runs for this release: its target, its seed, novelty, resolved dates."""
    verifiers = list(spec.verifiers)
    if not any(v.name == "novelty" for v in verifiers):
        verifiers.append(StageSpec(name="novelty"))
    built = resolve_dates(spec, plan.today).model_copy(update={
        "target_items": max(1, plan.new_total), "random_seed": plan.random_seed, "verifiers": verifiers})
    built.source_path = spec.source_path
    return built


@dataclass
class Release:
    """What a release publishes: the public items, the held-back ones, and what retired."""

    public: list[Item]
    private: list[Item]
    retired: list[str]
    new: int
    """New items in the public version."""
    short_by: int
    """New public items planned but not made (fewer items retired to keep the size)."""


def assemble(plan: RefreshPlan, parent_items: Sequence[Item], held_back: Sequence[Item],
             new_items: Sequence[Item]) -> Release:
    """Parent − retired + released + new; the new items beyond the public need are held back."""
    new_public = list(new_items[:plan.new_public])
    rest = list(new_items[plan.new_public:])
    short = plan.new_public - len(new_public)
    retire = plan.retire[:max(0, len(plan.retire) - short)]
    gone = set(retire)
    wanted = set(plan.released)
    released = [it for it in held_back if it.id in wanted]
    public = [it for it in parent_items if it.id not in gone] + released + new_public
    return Release(public=public, private=rest[:plan.new_private], retired=retire, new=len(new_public),
                   short_by=max(0, short - len(plan.retire)))


def load_release_inputs(plan: RefreshPlan, spec: SuiteSpec, output_root: Path) -> tuple[list[Item], list[Item]]:
    """The parent's items and the held-back items the plan releases, checked to be what the plan saw."""
    suite_dir = output_root / spec.suite
    base = find_verified_version(suite_dir)
    if base.version != plan.parent:
        raise PublishError(f"suite {spec.suite!r}: the latest version is now {base.version}, not {plan.parent} as "
                           "when this release was planned (another publish ran meanwhile); run again")
    parent_items = version_items(suite_dir / base.version, base.manifest) if base.version else []
    held: list[Item] = []
    if plan.released_from:
        folder = output_root / private_suite(spec.suite) / plan.released_from
        manifest = next((m for n, m in published_versions(folder.parent) if n == plan.released_from), None)
        if manifest is None:
            raise PublishError(f"{folder}: the held-back version to release has no readable manifest.json")
        held = version_items(folder, manifest)
    return parent_items, held


def refresh_manifest(plan: RefreshPlan, spec: SuiteSpec, release: Release) -> dict[str, Any]:
    """What a public release's manifest says about the refresh (`refresh` and `sources_window`)."""
    out: dict[str, Any] = {"refresh": {
        "size": plan.size, "retire_share": spec.refresh.retire_share, "retired": len(release.retired),
        "new": release.new,
        "released_from": plan.released_from, "released": len(plan.released), "private": spec.refresh.private,
        "held_back": len(release.private), "short_by": release.short_by, "random_seed": plan.random_seed}}
    if plan.window:
        out["sources_window"] = plan.window
    return out


def _publish_held_back(*, spec: SuiteSpec, plan: RefreshPlan, items: list[Item], output_dir: Path,
                       common: dict[str, Any]) -> PublishResult:
    """The release's held-back version: written first, or the one an interrupted run of it left.

    A held-back version whose public release does not exist is an orphan (`orphaned_held_back`):
    one with this release's name and the same items is this release's and is reused; any other
    is moved aside to `.orphaned-<version>-<time>` (kept, never listed) so the name is free.
    """
    suite = private_suite(spec.suite)
    folder = output_dir / suite / plan.version
    if folder.exists():
        manifest = read_manifest(folder)
        if plan.version not in orphaned_held_back(output_dir, spec.suite) or manifest is None:
            raise PublishError(f"{folder} already exists and is not a held-back version this release can reuse; "
                               "published versions are never overwritten")
        if held_back_for(manifest) == plan.version and \
                sorted(version_item_ids(folder, manifest)) == sorted(it.id for it in items):
            return PublishResult("exists", plan.version, folder, manifest.get("parent"), manifest)
        aside = folder.with_name(f".orphaned-{plan.version}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}")
        os.rename(folder, aside)
        progress.sink().message(f"{folder}: a held-back version left by an interrupted release with other items; "
                                f"moved to {aside.name}")
    private_spec = common["spec"].model_copy(update={"suite": suite})
    return publish_version(**{**common, "spec": private_spec}, items=items, rejected=[], reports={},
                           extra_manifest={"held_back_for": {"suite": spec.suite, "version": plan.version}})


def publish_release(*, spec: SuiteSpec, plan: RefreshPlan, items: list[Item], rejected: list[Item], funnel: Funnel,
                    models: dict[str, str], usage: dict[str, Any], stop_reason: str, reports: dict[str, Any],
                    output_dir: Path) -> tuple[PublishResult, PublishResult | None]:
    """Publish the release `plan` describes with the run's new `items`: (public version, held-back version).

    Each is one atomic `publish_version` named `plan.version`. The held-back one is written
    first and the public one last: the public folder's rename is the release's commit point.
    A run stopped between the two leaves an orphaned held-back version that nothing reads
    (`benchsmith.releases.orphaned_held_back`) and that the next run of the release reuses;
    never a public release without its held-back part.
    """
    parent_items, held = load_release_inputs(plan, spec, output_dir)
    release = assemble(plan, parent_items, held, items)
    if not release.public:
        raise PublishError(f"suite {spec.suite!r}: the release {plan.version} would hold no items")
    public_spec = resolve_dates(spec, plan.today)
    common: dict[str, Any] = dict(spec=public_spec, funnel=funnel, models=models, usage=usage,
                                  stop_reason=stop_reason, output_dir=output_dir, today=plan.today,
                                  version=plan.version)
    private = (_publish_held_back(spec=spec, plan=plan, items=release.private, output_dir=output_dir, common=common)
               if release.private else None)
    public = publish_version(**common, items=release.public, rejected=rejected, reports=reports,
                             extra_manifest=refresh_manifest(plan, spec, release))
    return public, private
