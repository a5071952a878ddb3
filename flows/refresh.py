"""A suite's next live release: plan it, build its new items, publish it — once per month.

`refresh_run` is what `benchsmith run` does for a spec with `refresh.enabled`, and what the
`suite-refresh` flow (the one `benchsmith schedule` deploys) does on every scheduled run:

1. plan the release (`benchsmith.refresh.plan_refresh`): a month that already has a version
   publishes nothing unless forced (then `YYYY.MM.N`);
2. run the suite (`flows.run_suite.run_suite`) with that plan: the ordinary build, whose
   tasks are cached by their inputs, so a run killed mid-way resumes from the tasks that
   finished and repeats no LLM call they made, then one atomic publish of the release.

A run that fails at any stage publishes nothing: the public and the held-back versions are
each written to a temporary folder and renamed into place only when complete, the held-back
one first and the public one last (the release's commit point). A run stopped between the
two leaves a held-back version that nothing reads until the next run of the release reuses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from prefect import flow

from benchsmith.refresh import RefreshExists, RefreshPlan, plan_refresh
from benchsmith.spec import SuiteSpec, load_spec

FLOW_NAME = "suite-refresh"
"""The name of the flow `benchsmith schedule` deploys and `benchsmith serve` runs."""


@dataclass
class RefreshResult:
    """What one refresh did: 'exists' (the month has a version), 'published', or 'nothing' survived."""

    status: Literal["exists", "published", "nothing"]
    suite: str
    version: str | None
    plan: RefreshPlan | None = None
    report: Any = None
    """The `RunReport` of the run (None when nothing ran)."""

    def summary(self) -> dict[str, Any]:
        """Plain data for the flow's return value and logs."""
        pub = self.report.publish if self.report is not None else None
        held = self.report.held_back if self.report is not None else None
        return {"status": self.status, "suite": self.suite, "version": self.version,
                "parent": self.plan.parent if self.plan else None,
                "path": str(pub.path) if pub is not None else None,
                "held_back": str(held.path) if held is not None else None,
                "retired": len(self.plan.retire) if self.plan else 0,
                "new": self.plan.new_total if self.plan else 0}


def refresh_run(spec: SuiteSpec, *, workspace: Path = Path(".benchsmith"), output_dir: Path | None = None,
                today: date | None = None, force: bool = False, **run_options: Any) -> RefreshResult:
    """Publish the next release of a `refresh:` suite (see the module docstring).

    `today` decides the month (and relative source dates); `force` publishes a `.N` version in
    a month that already has one. `run_options` go to `run_suite` (task runner, database, ...).
    """
    from benchsmith.flows.run_suite import run_suite

    root = (output_dir or spec.publish.output_dir).resolve()
    plan = plan_refresh(spec, root, today=today, force=force)
    if isinstance(plan, RefreshExists):
        return RefreshResult("exists", spec.suite, plan.version)
    report = run_suite(spec, workspace=workspace, output_dir=root, refresh=plan, **run_options)
    if report.publish is None:
        return RefreshResult("nothing", spec.suite, None, plan, report)
    return RefreshResult("published", spec.suite, report.publish.version, plan, report)


@flow(name=FLOW_NAME, log_prints=True, validate_parameters=True)
def suite_refresh(spec_path: str, workspace: str = ".benchsmith", output_dir: str | None = None,
                  force: bool = False, today: str | None = None) -> dict[str, Any]:
    """One scheduled release of the suite in `spec_path` (the deployment's parameters say where things are)."""
    from prefect.artifacts import create_markdown_artifact

    from benchsmith.flows.run_summary import artifact_key, release_markdown

    spec = load_spec(spec_path)
    result = refresh_run(spec, workspace=Path(workspace), output_dir=Path(output_dir) if output_dir else None,
                         today=date.fromisoformat(today) if today else None, force=force)
    if result.status == "exists":
        markdown = (f"# {spec.suite}: nothing to do\n\nVersion {result.version} already holds this month's release; "
                    "nothing was published (run with force=true to publish a `.N` version).\n")
    else:
        report = result.report
        markdown = release_markdown(spec.suite, report.outcome, report.publish, report.held_back)
    create_markdown_artifact(markdown=markdown, key=artifact_key(spec.suite), description=f"{spec.suite}: release")
    summary = result.summary()
    print(f"{spec.suite}: {summary['status']} {summary['version'] or ''}".rstrip())
    return summary
