"""Publishing under review: what a run may publish given the reviewers' decisions so far.

A run with a `review:` section saves its items (auto-accepted, queued, rejected) and queues
the doubtful ones (`run_suite`). What a version then holds is read back from the workspace
database: the run's auto-accepted items (less any audit item a reviewer rejected), its
queued items a reviewer accepted or edited (the edited text), never a rejected one, and
items of earlier runs decided since that no version holds yet (`gate: decided` carries the
undecided ones forward this way). `gate: all` publishes nothing while an item the run
queued is undecided. The same code serves the end of `benchsmith run` and `benchsmith
publish SUITE`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from benchsmith.errors import BenchsmithError, SpecError
from benchsmith.flows.evaluate_release import evaluate_reviewed, record_evaluation_at
from benchsmith.flows.run_context import RunConfig
from benchsmith.funnel import Funnel
from benchsmith.hub import HubPush, push_version
from benchsmith.publish import PublishResult, publish_version, published_versions, version_item_ids
from benchsmith.records import Item
from benchsmith.review.accounts import list_reviewers
from benchsmith.review.conflicts import agreement
from benchsmith.review.db import DecisionRow, QueueEntryRow, open_review_store
from benchsmith.review.queue import Entry
from benchsmith.review.routing import route_of
from benchsmith.review.stats import ReviewStats, review_stats
from benchsmith.spec import SuiteSpec, load_spec
from benchsmith.store import RunInfo, Store
from benchsmith.workspace_lock import workspace_lock

REPORTS_DIR = "run-reports"
"""Workspace folder keeping each review run's reports, for a later `benchsmith publish`."""
_DECIDED = ("accepted", "edited", "rejected")


class ReviewPublishError(BenchsmithError):
    """Nothing to publish under review (no such run, a spec without `review:`, a changed spec)."""


@dataclass
class ReviewedSelection:
    """What a run may publish now, and what still waits."""

    items: list[Item]
    rejected: list[Item]
    waiting: list[str]  # item ids this run queued that nobody decided yet
    stats: ReviewStats


@dataclass
class ReviewPublish:
    """What publishing a reviewed run did: the version (None when the gate held it back) and the stats."""

    suite: str
    run_id: str
    gate: str
    publish: PublishResult | None
    waiting: int
    stats: ReviewStats
    workspace: Path
    held_back: bool = False  # gate: all with undecided items
    hub: HubPush | None = None  # with `publish.hub`: what the push of the new version did
    notes: list[str] = field(default_factory=list)

    @property
    def review_command(self) -> str:
        """What a person types to open the queue of this workspace."""
        return f"benchsmith review -w {self.workspace}"


# -- reports kept beside the store -----------------------------------------------------------

def save_run_reports(workspace: Path, run_id: str, reports: dict[str, Any]) -> None:
    """Keep a run's reports (stages, quality, coverage) so that a later publish can put them in the card."""
    folder = workspace / REPORTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{run_id}.json.tmp"
    tmp.write_text(json.dumps(reports, default=str), encoding="utf-8")
    tmp.replace(folder / f"{run_id}.json")


def load_run_reports(workspace: Path, run_id: str) -> dict[str, Any]:
    """The reports `save_run_reports` kept ({} when there are none)."""
    try:
        data = json.loads((workspace / REPORTS_DIR / f"{run_id}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# -- reading decisions -----------------------------------------------------------------------

def _entries(store: Store, suite: str, item_ids: Sequence[str] | None = None) -> dict[str, Entry]:
    """Queue entries of a suite by item id (all of them when `item_ids` is None)."""
    out: dict[str, Entry] = {}
    with store.session() as s:
        base = select(QueueEntryRow).where(QueueEntryRow.suite == suite)
        if item_ids is None:
            rows = list(s.scalars(base))
        else:
            ids = list(item_ids)
            rows = []
            for i in range(0, len(ids), 500):  # SQLite's bound-parameter limit
                rows += list(s.scalars(base.where(QueueEntryRow.item_id.in_(ids[i:i + 500]))))
        for row in rows:
            out[row.item_id] = Entry.from_row(row)
    return out


def _reject_reasons(store: Store, entries: Iterable[Entry]) -> list[str | None]:
    """The reason code of the latest decision of each rejected entry."""
    ids = [e.id for e in entries if e.status == "rejected"]
    if not ids:
        return []
    latest: dict[int, str | None] = {}
    with store.session() as s:
        for i in range(0, len(ids), 500):
            q = (select(DecisionRow.entry_id, DecisionRow.reason_code)
                 .where(DecisionRow.entry_id.in_(ids[i:i + 500]), DecisionRow.decision == "reject")
                 .order_by(DecisionRow.created_at, DecisionRow.id))
            for entry_id, code in s.execute(q):
                latest[entry_id] = code
    return [latest.get(i) for i in ids]


def _published_ids(suite_dir: Path) -> set[str]:
    out: set[str] = set()
    for name, manifest in published_versions(suite_dir):
        if manifest is not None:
            out.update(version_item_ids(suite_dir / name, manifest))
    return out


def _decided_item(entry: Entry) -> Item:
    item = entry.current_item
    status = "edited" if entry.status == "edited" else "accepted"
    return item.model_copy(update={"review_status": status})


def reviewed_selection(store: Store, spec: SuiteSpec, run_items: Sequence[Item],
                       output_root: Path) -> ReviewedSelection:
    """What a run whose items are `run_items` (as saved: auto-accepted, queued, rejected) may publish now."""
    routed = [it for it in run_items if route_of(it) is not None]
    audit_ids = [it.id for it in routed if route_of(it) == "audit"]
    own = _entries(store, spec.suite, [it.id for it in routed])
    statuses = {it.id: own[it.id].status if it.id in own else "pending" for it in routed}
    # The decided items of earlier runs that no version holds yet: carried into this one.
    published_ids = _published_ids(output_root / spec.suite)
    mine = {it.id for it in run_items}
    carried = [e for e in _entries(store, spec.suite).values()
               if e.item_id not in mine and e.status in ("accepted", "edited")
               and e.current_item.id not in published_ids]
    items: list[Item] = []
    rejected: list[Item] = []
    for it in run_items:
        entry = own.get(it.id)
        status = statuses.get(it.id)
        if status in ("accepted", "edited") and entry is not None:
            items.append(_decided_item(entry))
        elif status == "rejected":
            rejected.append(it.model_copy(update={"review_status": "rejected"}))
        elif it.review_status == "auto_accepted":  # an audit item nobody decided yet counts as accepted
            items.append(it)
        elif status is None:  # never queued: a filter dropped it
            rejected.append(it)
    items += [_decided_item(e) for e in sorted(carried, key=lambda e: e.id)]
    seen: set[str] = set()
    unique = [it for it in items if not (it.id in seen or seen.add(it.id))]  # type: ignore[func-returns-value]
    waiting = [i for i, st in statuses.items() if st not in _DECIDED]
    # Agreement over the blind double reviews of every entry this version draws on.
    agree = agreement(store, [e.id for e in [*own.values(), *carried]])
    stats = review_stats(statuses, audit_ids, _reject_reasons(store, own.values()), carried_in=len(carried),
                         kappa=agree.overall.kappa if agree.overall else None, kappa_pairs=agree.kappa_by_pair(),
                         double_reviewed=agree.double_reviewed, conflicts=agree.conflicts + agree.resolved)
    return ReviewedSelection(items=unique, rejected=rejected, waiting=waiting, stats=stats)


def publish_run(store: Store, spec: SuiteSpec, run_id: str, *, workspace: Path, output_dir: Path,
                models: dict[str, str], usage: dict[str, Any], funnel: Funnel, stop_reason: str,
                reports: dict[str, Any], new_version: bool = False, ignore_tampered: bool = False) -> ReviewPublish:
    """Publish what run `run_id` may publish under the spec's gate, with the review stats in the reports."""
    run_items = store.items_for_run(run_id)
    sel = reviewed_selection(store, spec, run_items, output_dir)
    gate = spec.review.gate
    result = ReviewPublish(suite=spec.suite, run_id=run_id, gate=gate, publish=None, waiting=len(sel.waiting),
                           stats=sel.stats, workspace=workspace)
    if gate == "all" and sel.waiting:
        result.held_back = True
        second = _awaiting_second_review(store, spec.suite, sel.waiting)
        if second and len(list_reviewers(store)) < 2:
            # Blind double review needs two different people: say so, or the gate never opens.
            result.notes.append(
                f"{second} item(s) wait for a second, blind review, and this workspace has fewer than two reviewer "
                "accounts: add one (`benchsmith reviewers add NAME`) or set `review.double_share: 0` in the spec")
        return result
    if not sel.items:
        result.notes.append("nothing to publish: no item was auto-accepted or accepted in review")
        return result
    review_report = sel.stats.report()
    quality = [q for q in reports.get("quality") or [] if q.get("stage") != "review"]
    full = {**reports, "review": sel.stats.model_dump(mode="json"),
            "quality": [*quality, review_report.model_dump(mode="json")]}
    # The card is written once: the panel's figures (with `solvers:`) must be in `full` before it is.
    pending = evaluate_reviewed(spec, sel.items, workspace, full)
    result.publish = publish_version(spec=spec, items=sel.items, rejected=sel.rejected, funnel=funnel, models=models,
                                     usage=usage, stop_reason=stop_reason, new_version=new_version,
                                     output_dir=output_dir, reports=full, ignore_tampered=ignore_tampered)
    record_evaluation_at(output_dir, pending, result.publish)
    if spec.publish.hub is not None and result.publish.status == "published":
        # After the commit point: a hub that is down costs the push, never the local version.
        result.hub = push_version(result.publish.path, spec.publish.hub)
        result.notes.append(result.hub.message)
    return result


def _awaiting_second_review(store: Store, suite: str, item_ids: Sequence[str]) -> int:
    """How many of `item_ids` had their first blind review and wait for a second one."""
    return sum(1 for e in _entries(store, suite, item_ids).values()
               if e.reviews_needed >= 2 and e.status == "pending" and e.first_reviewer is not None)


def latest_review_run(store: Store, suite: str) -> RunInfo:
    """The newest succeeded run of a suite."""
    for run in store.runs(suite):
        if run.status == "succeeded":
            return run
    raise ReviewPublishError(f"suite {suite!r} has no succeeded run in this workspace: run `benchsmith run` first")


def publish_reviewed(workspace: Path, suite: str, output_dir: Path | None = None, *, spec: SuiteSpec | None = None,
                     db_url: str | None = None, new_version: bool = False,
                     ignore_tampered: bool = False) -> ReviewPublish:
    """`benchsmith publish SUITE`: publish the suite's latest run as its reviewers have decided so far.

    The spec is the run's own file unless given (it must still hash as the run's did);
    `output_dir` defaults to the spec's `publish.output_dir`. Under `gate: all` nothing is
    published while an item the run queued is undecided (`held_back`, `waiting`).
    """
    workspace = Path(workspace).resolve()
    with workspace_lock(workspace, suite=suite), open_review_store(workspace, db_url) as store:
        run = latest_review_run(store, suite)
        if spec is None:
            if not run.spec_path:
                raise ReviewPublishError(f"run {run.id} of {suite!r} recorded no spec file: pass the spec")
            spec = load_spec(run.spec_path)
        if spec.suite != suite:
            raise SpecError(f"the spec is for suite {spec.suite!r}, not {suite!r}")
        if not spec.review.enabled:
            raise ReviewPublishError(f"suite {suite!r} has no enabled `review:` section: `benchsmith run` "
                                     "publishes it directly")
        if spec.spec_hash() != run.spec_hash:
            raise ReviewPublishError(f"the spec of {suite!r} changed since run {run.id}: run `benchsmith run` "
                                     "again, then publish")
        out_root = Path(output_dir or spec.publish.output_dir).resolve()
        models = RunConfig(spec=spec, workspace=workspace, output_dir=out_root, run_token="publish").models()
        return publish_run(store, spec, run.id, workspace=workspace, output_dir=out_root, models=models,
                           usage=run.usage, funnel=run.funnel or Funnel(), stop_reason=run.stop_reason or "",
                           reports=load_run_reports(workspace, run.id), new_version=new_version,
                           ignore_tampered=ignore_tampered)
