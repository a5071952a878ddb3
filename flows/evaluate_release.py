"""The quality figures of a release, computed before it is published so that its card carries them.

A version folder is immutable, so the figures must exist before it is written. With a
`solvers:` panel in the spec, the run answers the release's final items with the panel
just before publishing (`benchsmith.evaluation.evaluate_items`: the code of `benchsmith
evaluate`, through the workspace's LLM cache, on a usage meter the run's ledger adds up),
puts the figures in the card's Quality section (`benchsmith.card`, from
`reports.evaluation`), and, once the version exists, writes the full results beside it:
``outputs/<suite>/evaluations/<version>/<UTC time>-release.json`` (.md, .png), which
`benchsmith versions` shows as the latest evaluation.

- **Budget.** The panel needs one call per model and item (plus a repair for a malformed
  reply). It runs only when what the run has left of `budget.max_llm_calls` (every call
  the run accounted for, cached ones included, as the plan counts them) covers that;
  otherwise nothing is sent, the card says "not evaluated" with the calls it needed,
  the run summary warns, and `benchsmith evaluate SUITE VERSION --spec SPEC` evaluates
  the version later. Generation never stops early to make room: budget for both.
- **Reference ranking.** `solvers_reference:` (a file of model -> score, as
  `evaluate --reference` reads) adds the agreement figures. A file that cannot be read
  is a warning naming it; the rest of the evaluation is kept.
- **No judge.** Long answers that no exact or numeric match decides count as wrong and
  are counted apart (each row's note); `benchsmith evaluate --judge` decides them.
- **Review-gated suites** publish after the review queue, possibly much later
  (`publish_reviewed`, also `benchsmith publish`): `evaluate_reviewed` answers the items
  the reviewers let through at that moment, on a budget of its own (`budget.max_llm_calls`,
  the run being over), through the same cache, so a second publish of the same items costs
  nothing.
- A null model above chance, or a model that failed every item, is a warning of the
  run summary and of the card.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from benchsmith import aio, progress
from benchsmith.card import EVALUATION_STAGE
from benchsmith.errors import BenchsmithError
from benchsmith.evaluation import Evaluation, evaluate_items, load_reference, write_evaluation
from benchsmith.flows.build_suite import RunOutcome
from benchsmith.flows.run_context import Ledger, RunConfig, TaskUsage
from benchsmith.llm.usage import CallBudget, UsageMeter
from benchsmith.publish import PublishResult
from benchsmith.quality import StageReport
from benchsmith.records import Item
from benchsmith.refresh import RefreshPlan, assemble, load_release_inputs
from benchsmith.spec import SuiteSpec

STAGE = EVALUATION_STAGE
"""The quality report's `stage`, and the key of `reports` the card reads (`reports.evaluation`)."""
TITLE = "Solver panel evaluation"


@dataclass
class ReleaseEvaluation:
    """An evaluation of the items about to be published, waiting for the version's name."""

    evaluation: Evaluation


def panel_calls(spec: SuiteSpec, n_items: int) -> int:
    """Calls the panel needs for `n_items` items (one per model and item; repairs aside)."""
    return len(spec.solvers) * n_items


@task(name="evaluate-release", cache_policy=NO_CACHE, persist_result=False)
async def evaluate_release_task(run: RunConfig, items: list[Item], version: str, budget: int,
                                reference: dict[str, float] | None) -> tuple[Evaluation, TaskUsage]:
    """The panel's figures on `items`, at most `budget` uncached calls, with the usage it cost."""
    usage = UsageMeter()
    spec = run.spec
    progress.sink().message(f"evaluating the release with the solver panel ({len(spec.solvers)} model(s), "
                            f"{len(items)} items)…")
    result = await evaluate_items(
        items, spec.solvers, suite=spec.suite, version=version, usage=usage, cache_dir=run.workspace / "llm-cache",
        concurrency=spec.llm.concurrency, budget=CallBudget(budget), reference=reference,
        max_retries=spec.llm.max_retries, seed=spec.random_seed,
        run=datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-release")
    return result, TaskUsage(usage=usage.snapshot(), run_token=run.run_token)


def _release_items(run: RunConfig, outcome: RunOutcome, refresh: RefreshPlan | None,
                   release_spec: SuiteSpec | None) -> tuple[list[Item], str] | None:
    """The items the run is about to publish and the version's name (a placeholder until published), or None."""
    if refresh is not None and release_spec is not None:
        if not (outcome.published or refresh.new_total == 0):
            return None
        parent_items, held = load_release_inputs(refresh, release_spec, run.output_dir)
        return assemble(refresh, parent_items, held, outcome.published).public, refresh.version
    if outcome.published and not run.spec.review.enabled:
        return outcome.published, "(unpublished)"
    return None


def _facts(ev: Evaluation) -> dict[str, str | int | float]:
    data = ev.data
    facts: dict[str, str | int | float] = {
        "panel": ", ".join(f"{p['name']} ({p['model']})" for p in data["panel"]), "items": data["items"],
        "separability": ev.separability if ev.separability is not None else str(ev.separability_note)}
    for row in ev.models:
        facts[f"accuracy {row.name}"] = "failed every item" if row.accuracy is None or row.ci95 is None else (
            f"{row.accuracy:.1%} [{row.ci95[0]:.1%}, {row.ci95[1]:.1%}]")
    if ev.agreement is not None and ev.agreement.kendall_tau is not None:
        facts["Kendall's tau vs reference"] = ev.agreement.kendall_tau
    floor = max((r.accuracy or 0.0 for r in ev.null_models), default=0.0)
    facts["null-model floor"] = f"{floor:.1%} (chance {ev.chance:.1%})"
    return facts


def _attach(reports: dict[str, Any], report: StageReport, summary: dict[str, Any]) -> None:
    """Put the panel's report in `reports` (the quality list, and `reports.evaluation` the card reads)."""
    quality = [q for q in reports.get("quality") or [] if q.get("stage") != STAGE]
    reports["quality"] = [*quality, report.model_dump(mode="json")]
    reports[STAGE] = summary


def _skip(reports: dict[str, Any], spec: SuiteSpec, needed: int, left: int, whose: str) -> None:
    """The card and the run summary say the release was not evaluated, and why."""
    reason = (f"not evaluated: the panel needs {needed} LLM calls ({len(spec.solvers)} model(s) x "
              f"{needed // max(len(spec.solvers), 1)} items) and {whose} has {left} left (budget.max_llm_calls "
              f"{spec.budget.max_llm_calls}); run `benchsmith evaluate {spec.suite} VERSION --spec SPEC`")
    _attach(reports, StageReport(stage=STAGE, title=TITLE, facts={"status": "not evaluated", "calls needed": needed,
                                                                  "calls left": left},
                                 warnings=[f"solver panel: {reason}"]), {"skipped": reason})


def _reference(spec: SuiteSpec, warnings: list[str]) -> dict[str, float] | None:
    """The spec's `solvers_reference` ranking, or None (a file that cannot be read is a warning)."""
    if spec.solvers_reference is None:
        return None
    path = spec.resolve(spec.solvers_reference)
    try:
        return load_reference(path)
    except BenchsmithError as err:
        warnings.append(f"solvers_reference: {err}; the evaluation has no agreement figures")
        return None


def _attach_figures(reports: dict[str, Any], ev: Evaluation, warnings: list[str]) -> ReleaseEvaluation:
    # The card's figures; the version's name and data hash are the manifest's own, the per-item answers
    # go to the results file only.
    summary = {k: v for k, v in ev.data.items() if k not in ("per_item", "usage", "timing", "version",
                                                              "source_sha256")}
    summary["warnings"] = warnings + ev.flagged
    _attach(reports, StageReport(stage=STAGE, title=TITLE, facts=_facts(ev),
                                 warnings=[f"solver panel: {w}" for w in ev.flagged] + warnings,
                                 data={"separability": ev.separability,
                                       "difficulty_histogram": ev.difficulty_histogram}), summary)
    return ReleaseEvaluation(ev)


async def evaluate_release(run: RunConfig, outcome: RunOutcome, ledger: Ledger, refresh: RefreshPlan | None = None,
                           release_spec: SuiteSpec | None = None) -> ReleaseEvaluation | None:
    """With `solvers:`, evaluate the release about to be published (see the module docstring): its
    calls are charged to `ledger`, its figures put in `outcome.reports` for the card and the run summary."""
    spec = run.spec
    if not spec.solvers:
        return None
    found = _release_items(run, outcome, refresh, release_spec)
    if found is None:
        return None
    items, version = found
    needed, left = panel_calls(spec, len(items)), ledger.left()
    if needed > left:
        _skip(outcome.reports, spec, needed, left, "the run's budget")
        return None
    warnings: list[str] = []
    reference = _reference(spec, warnings)
    quoted: Any = quote(items)  # Prefect would otherwise walk every item looking for futures
    ev, usage = await evaluate_release_task(run, quoted, version, left, reference)
    ledger.charge(usage)
    return _attach_figures(outcome.reports, ev, warnings)


def evaluate_reviewed(spec: SuiteSpec, items: list[Item], workspace: Path,
                      reports: dict[str, Any]) -> ReleaseEvaluation | None:
    """With `solvers:`, the panel's figures on the items a reviewed suite is about to publish, put in
    `reports` for the card. Synchronous (it runs after the run's flow, or from `benchsmith publish`),
    on a budget of `budget.max_llm_calls` of its own; None without a panel or when that cannot cover it."""
    if not spec.solvers or not items:
        return None
    needed, left = panel_calls(spec, len(items)), spec.budget.max_llm_calls
    if needed > left:
        _skip(reports, spec, needed, left, "the publish's budget")
        return None
    warnings: list[str] = []
    reference = _reference(spec, warnings)
    progress.sink().message(f"evaluating the release with the solver panel ({len(spec.solvers)} model(s), "
                            f"{len(items)} items)…")
    ev = aio.run(evaluate_items(
        items, spec.solvers, suite=spec.suite, version="(unpublished)", usage=UsageMeter(),
        cache_dir=workspace / "llm-cache", concurrency=spec.llm.concurrency, budget=CallBudget(left),
        reference=reference, max_retries=spec.llm.max_retries, seed=spec.random_seed,
        run=datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-release"))
    return _attach_figures(reports, ev, warnings)


def record_evaluation_at(output_dir: Path, pending: ReleaseEvaluation | None, published: PublishResult | None) -> None:
    """Write the evaluation beside the version just published (nothing when nothing new was published)."""
    if pending is None or published is None or published.status != "published":
        return
    ev = pending.evaluation
    split = str(published.manifest.get("split") or "test")
    sha = ((published.manifest.get("files") or {}).get(f"data/{split}.parquet") or {}).get("sha256")
    ev.version = published.version
    ev.data.update(version=published.version, source_sha256=sha)
    try:
        write_evaluation(output_dir, ev)
    except (BenchsmithError, OSError) as err:  # the version is published; its card already has the figures
        progress.sink().message(f"warning: the release's evaluation could not be written: {err}")


def record_evaluation(run: RunConfig, pending: ReleaseEvaluation | None, published: PublishResult | None) -> None:
    """`record_evaluation_at` the run's output folder."""
    record_evaluation_at(run.output_dir, pending, published)
