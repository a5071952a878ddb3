"""The `benchsmith` command line: run and validate suites.

Heavy modules (Prefect, torch, llama.cpp) are imported inside the commands, after the
environment for them is set, so `benchsmith --help` and `validate` stay quick.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from benchsmith.errors import BenchsmithError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="benchsmith: seed prompts in, a verified, deduplicated, versioned benchmark out.")
console = Console(stderr=True)
out = Console()

SpecArg = Annotated[Path, typer.Argument(help="Suite spec (YAML), e.g. seeds/reasoning.yaml.")]
WorkspaceOpt = Annotated[Path, typer.Option("--workspace", "-w", envvar="BENCHSMITH_WORKSPACE",
                                            help="Workspace folder: database, LLM cache, task results.")]


def _prepare_env(verbose: bool) -> None:
    """Settings read at import: quiet Prefect logs, no telemetry (there is no network), no download bars."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if verbose else "ERROR")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def _fail(err: BaseException, code: int = 2) -> typer.Exit:
    console.print(f"[bold red]error:[/] {err}", highlight=False)
    return typer.Exit(code)


@app.command()
def validate(spec: SpecArg) -> None:
    """Check a spec (fields, stage names and parameters, seed file) without running it."""
    from benchsmith.llm.endpoints import ROLES, resolve_endpoint
    from benchsmith.seeds import load_seeds
    from benchsmith.spec import load_spec

    try:
        suite = load_spec(spec)
        seeds = load_seeds(suite)
        endpoints = [resolve_endpoint(role, getattr(suite.llm, role)).describe() for role in ROLES]
    except BenchsmithError as err:
        raise _fail(err) from None
    out.print(f"[green]ok[/] {spec}: suite [bold]{suite.suite}[/], {len(seeds.seeds)} seeds, "
              f"target {suite.target_items} items, budget {suite.budget.max_llm_calls} LLM calls")
    out.print(f"  generators: {', '.join(g.name for g in suite.generators)}")
    out.print(f"  verifiers:  {', '.join(v.name for v in suite.verifiers) or '(none)'}; "
              f"dedup exact={suite.dedup.exact} semantic={suite.dedup.semantic} (threshold {suite.dedup.threshold})")
    for line in endpoints:
        out.print(f"  {line}")


@app.command()
def run(
    spec: SpecArg,
    new_version: Annotated[bool, typer.Option("--new-version", help="Publish a new version even if the content is unchanged.")] = False,
    skip_bad_seeds: Annotated[bool, typer.Option("--skip-bad-seeds", help="Skip malformed seed lines (reported) instead of failing.")] = False,
    output_dir: Annotated[Path | None, typer.Option("--output-dir", "-o", help="Publish under this folder instead of the spec's publish.output_dir.")] = None,
    workspace: WorkspaceOpt = Path(".benchsmith"),
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's logs.")] = False,
) -> None:
    """Generate, verify, dedup and publish a suite."""
    _prepare_env(verbose)
    from benchsmith import progress
    from benchsmith.spec import load_spec

    try:
        suite = load_spec(spec)
    except BenchsmithError as err:
        raise _fail(err) from None
    console.print(f"[bold]benchsmith[/] run [cyan]{suite.suite}[/]: target {suite.target_items} items, "
                  f"budget {suite.budget.max_llm_calls} LLM calls", highlight=False)
    from flows.run_suite import run_suite

    try:
        with progress.for_console(console) as sink, progress.installed(sink):
            report = run_suite(suite, workspace=workspace, new_version=new_version,
                               skip_bad_seeds=skip_bad_seeds, output_dir=output_dir)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: nothing was published; run the same command again to resume.")
        raise typer.Exit(130) from None
    except BenchsmithError as err:
        raise _fail(err, 1) from None
    _print_report(report)
    if report.publish is None:
        raise typer.Exit(1)


def _print_report(report: object) -> None:
    from flows.run_suite import RunReport

    assert isinstance(report, RunReport)
    outcome = report.outcome
    for skipped in report.skipped_seeds:
        console.print(f"[yellow]skipped seed[/] line {skipped.line}: {skipped.reason}", highlight=False)
    table = Table(title=f"funnel — {outcome.suite}", title_justify="left")
    for col, just in (("stage", "left"), ("in", "right"), ("kept", "right"), ("dropped", "right"),
                      ("reasons", "left")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for stage, received, kept, dropped, reasons in outcome.funnel.as_rows():
        table.add_row(stage, str(received), str(kept), str(dropped), reasons)
    out.print(table)
    calls = sum(r.get("calls", 0) for r in report.usage.values())
    hits = sum(r.get("cache_hits", 0) for r in report.usage.values())
    tokens = sum(r.get("total_tokens", 0) for r in report.usage.values())
    stop = {"target_reached": "target reached", "budget_exhausted": "LLM-call budget exhausted",
            "max_rounds": "maximum number of rounds reached"}.get(outcome.stop_reason, outcome.stop_reason)
    out.print(f"stopped: [bold]{stop}[/] after {outcome.rounds} round(s): {len(outcome.published)} items kept, "
              f"{calls} new LLM calls, {hits} cached, {tokens} tokens, {report.elapsed_s:.1f}s")
    for role, model in report.models.items():
        out.print(f"  {role}: {model}", highlight=False)
    pub = report.publish
    if pub is None:
        out.print("[red]nothing survived the filters: no version published[/]")
    elif pub.status == "exists":
        out.print(f"version [bold]{pub.version}[/] already exists with this content: nothing new published "
                  f"({pub.path}); use --new-version to publish it again")
    else:
        parent = f" (parent {pub.parent})" if pub.parent else ""
        out.print(f"published version [bold green]{pub.version}[/]{parent}: {pub.path}")
        out.print(f"  load it with: datasets.load_dataset({str(pub.path)!r})", highlight=False)


def main() -> None:
    """Entry point for `python -m benchsmith`."""
    app()


if __name__ == "__main__":
    sys.exit(main())
