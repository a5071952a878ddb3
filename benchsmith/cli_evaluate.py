"""`benchsmith evaluate`: a solver panel answers a published version; the figures, a results file and a plot.

Registered on the main app by `benchsmith.cli` (`register`); the logic is `benchsmith.evaluation`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from benchsmith.cli_common import WorkspaceOpt, console, fail, out
from benchsmith.cli_export import OutputsOpt, SuiteArg, VersionArg
from benchsmith.errors import BenchsmithError


def evaluate_command(
    suite: SuiteArg,
    version: VersionArg = None,
    model: Annotated[list[str] | None, typer.Option(
        "--model", "-m", help="Panel model as NAME@BASE_URL (or LABEL=NAME@BASE_URL); repeatable. Keys: "
                              "OPENAI_API_KEY.")] = None,
    spec: Annotated[Path | None, typer.Option(
        "--spec", "-s", help="Take the panel from this spec's `solvers:`.")] = None,
    reference: Annotated[Path | None, typer.Option(
        "--reference", "-r", help="Reference ranking (JSON or CSV of model -> score, e.g. an Arena export).")] = None,
    judge: Annotated[str | None, typer.Option(
        "--judge", help="NAME@BASE_URL of a judge for long answers that no exact or numeric match decides.")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, max=1024,
                                             help="Requests in flight per endpoint.")] = 16,
    run: Annotated[str | None, typer.Option(
        "--run", help="Name of this run's results (default: the UTC time).")] = None,
    cache: Annotated[bool, typer.Option("--cache/--no-cache", help="Reuse cached answers (workspace "
                                                                   "llm-cache).")] = True,
    output_dir: OutputsOpt = Path("outputs"),
    workspace: WorkspaceOpt = Path(".benchsmith"),
) -> None:
    """Run a panel of models on a published version: accuracy with 95% CIs, separability, null models,
    agreement with a reference ranking, per-item difficulty; results beside the version, never in it."""
    from benchsmith.evaluation import evaluate_version, load_reference, parse_model_option
    from benchsmith.spec import SolverSpec, load_spec

    try:
        solvers: list[SolverSpec] = [parse_model_option(m) for m in model or []]
        if spec is not None:
            solvers += load_spec(spec).solvers
        ref = load_reference(reference) if reference is not None else None
        judge_spec = parse_model_option(judge) if judge else None
        result = evaluate_version(output_dir, suite, version, solvers, workspace=workspace, concurrency=concurrency,
                                  reference=ref, judge=judge_spec, run=run, cache=cache)
    except BenchsmithError as err:
        raise fail(err) from None
    table = Table(title=f"evaluation — {escape(result.suite)} {escape(result.version)} "
                        f"({result.data['items']} items)", title_justify="left")
    for col, just in (("model", "left"), ("accuracy", "right"), ("95% CI", "left"), ("correct", "right"),
                      ("failed", "right"), ("note", "left")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for row in result.models + result.null_models:
        acc = "n/a" if row.accuracy is None else f"{row.accuracy:.1%}"
        ci = "" if row.ci95 is None else f"[{row.ci95[0]:.1%}, {row.ci95[1]:.1%}]"
        note = row.note or ("[bold red]above chance[/]" if row.above_chance else "")
        name = f"[dim](null) {escape(row.name)}[/]" if row.null else escape(row.name)
        table.add_row(name, acc, ci, f"{row.correct}/{row.scored}", str(row.failed), note)
    out.print(table)
    sep = "undefined" if result.separability is None else f"{result.separability:.1%}"
    out.print(f"chance {result.chance:.1%}; separability {sep}"
              + (f" ({escape(result.separability_note)})" if result.separability_note else ""), highlight=False)
    agr = result.agreement
    if agr is not None:
        tau = "n/a" if agr.kendall_tau is None else f"{agr.kendall_tau:.2f}"
        awc = "n/a" if agr.agreement_with_confidence is None else f"{agr.agreement_with_confidence:.1%}"
        brier = "n/a" if agr.brier is None else f"{agr.brier:.3f}"
        out.print(f"reference ranking: Kendall's tau {tau}; agreement with confidence {awc} "
                  f"({agr.confident_pairs} separated pairs); pair-rank Brier {brier}"
                  + (f" ({escape(agr.note)})" if agr.note else ""), highlight=False)
    hist = ", ".join(f"{n}" for n in result.difficulty_histogram)
    out.print(f"difficulty histogram (solved by 0-20%, ..., 80-100% of the panel): {hist}", highlight=False)
    usage = result.data.get("usage") or {}
    calls = sum(int(u.get("calls", 0)) for u in usage.values())
    hits = sum(int(u.get("cache_hits", 0)) for u in usage.values())
    tokens = sum(int(u.get("prompt_tokens", 0)) + int(u.get("completion_tokens", 0)) for u in usage.values())
    out.print(f"{calls} LLM calls, {hits} cached, {tokens} tokens; answered in "
              f"{result.data['timing']['answer_s']:.1f} s", highlight=False)
    for warning in result.flagged:
        console.print(f"[bold yellow]warning:[/] {escape(warning)}", highlight=False)
    for kind, path in result.paths.items():
        out.print(f"  {kind}: {escape(str(path))}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add `evaluate` to the main app."""
    app.command("evaluate")(evaluate_command)
