"""The `benchsmith` command line: run and validate suites.

Heavy modules (Prefect, torch, llama.cpp) are imported inside the commands, after the
environment for them is set, so `benchsmith --help` and `validate` stay quick.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.markup import escape
from rich.table import Table

from benchsmith.cli_common import DbOpt, SpecArg, WorkspaceOpt, console, out
from benchsmith.cli_common import fail as _fail
from benchsmith.cli_evaluate import register as register_evaluate
from benchsmith.cli_export import register as register_export
from benchsmith.cli_review import review_app, reviewers_app
from benchsmith.cli_schedule import register as register_schedule
from benchsmith.cli_versions import register as register_versions
from benchsmith.errors import BenchsmithError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="benchsmith: seed prompts in, a verified, deduplicated, versioned benchmark out.")


def _prepare_env(verbose: bool) -> None:
    """Settings read at import: quiet Prefect logs, no telemetry (there is no network), no download bars."""
    # Prefect's own logs (task failures with tracebacks, "Crash detected!", "Error logging to API")
    # stay off the console unless -v: benchsmith prints one clean `error:` line itself.
    if verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    else:
        os.environ["PREFECT_LOGGING_LEVEL"] = "CRITICAL"
        os.environ["PREFECT_LOGGING_TO_API_ENABLED"] = "false"
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


@app.command()
def validate(
    spec: SpecArg,
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", "-o", help="The output folder the run would publish under (default: the spec's).")] = None,
    workspace: WorkspaceOpt = Path(".benchsmith"),
    probe: Annotated[bool, typer.Option(
        "--probe", help="Also ask every configured endpoint for its models (a few seconds at most each).")] = False,
) -> None:
    """Check a spec (fields, stage names and parameters, seed file, output and workspace folders) without
    running it."""
    from benchsmith.fsutil import check_writable_folder
    from benchsmith.llm.endpoints import resolve_endpoint
    from benchsmith.llm.probe import probe_endpoints
    from benchsmith.seeds import load_seeds
    from benchsmith.spec import load_spec

    try:
        suite = load_spec(spec)
        check_writable_folder(workspace, "workspace")
        check_writable_folder(output_dir or suite.publish.output_dir, "output folder")
        if suite.documents is not None:
            source = _describe_documents(suite)
        else:
            source = f"{len(load_seeds(suite).seeds)} seeds"
        endpoints = [resolve_endpoint(role, suite.llm.endpoint(role)).describe() for role in suite.llm.role_names()]
        probes = probe_endpoints(suite.llm) if probe else []
    except BenchsmithError as err:
        raise _fail(err) from None
    failed = [r for r in probes if not r.ok]
    if failed:
        for r in failed:
            console.print(f"[bold red]error:[/] {escape(r.detail)}", highlight=False)
        raise typer.Exit(1)
    out.print(f"[green]ok[/] {escape(str(spec))}: suite [bold]{escape(suite.suite)}[/], {escape(source)}, "
              f"target {suite.target_items} items, budget {suite.budget.max_llm_calls} LLM calls")
    out.print(f"  generators: {', '.join(g.name for g in suite.generators)}")
    out.print(f"  verifiers:  {', '.join(v.name for v in suite.verifiers) or '(none)'}; "
              f"dedup exact={suite.dedup.exact} semantic={suite.dedup.semantic} (threshold {suite.dedup.threshold})")
    for line in endpoints:
        out.print(f"  {escape(line)}", highlight=False)
    for r in probes:
        note = f" ({r.warning})" if r.warning else ""
        out.print(f"  [green]answers[/] {escape(r.detail)}{escape(note)}", highlight=False)


def _describe_documents(suite: object) -> str:
    """Ingest the documents folder (quick) and say what a run would build from."""
    from benchsmith.ingest import chunk_documents, ingest_folder
    from benchsmith.spec import SuiteSpec

    assert isinstance(suite, SuiteSpec) and suite.documents is not None
    result = ingest_folder(suite.documents, suite.documents_path)
    chunks = chunk_documents(result.documents, suite.documents.chunk_tokens, suite.documents.overlap_tokens)
    for skipped in result.skipped:
        what = f"{skipped.path}: {skipped.reason} {skipped.detail}".rstrip()
        out.print(f"  [yellow]skipped[/] {escape(what)}", highlight=False)
    return f"{len(result.documents)} documents in {len(chunks)} chunks ({len(result.skipped)} files skipped)"


@app.command()
def run(
    spec: SpecArg,
    new_version: Annotated[bool, typer.Option(
        "--new-version", "--force", help="Publish a new version even if the content is unchanged (a refresh suite: "
                                         "even if this month has a version, as YYYY.MM.N).")] = False,
    skip_bad_seeds: Annotated[bool, typer.Option(
        "--skip-bad-seeds", help="Skip malformed seed lines (reported) instead of failing.")] = False,
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", "-o", help="Publish under this folder instead of the spec's publish.output_dir.")] = None,
    workspace: WorkspaceOpt = Path(".benchsmith"),
    db: DbOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's logs.")] = False,
    task_runner: Annotated[str | None, typer.Option(
        "--task-runner", help="Where tasks run: 'in_process' (default) or 'dask' "
                              "(overrides the spec's execution.task_runner).")] = None,
    ignore_tampered: Annotated[bool, typer.Option(
        "--ignore-tampered", help="Build on the newest published version that still matches its manifest, "
                                  "skipping (and naming) versions whose files were changed.")] = False,
    dask_address: Annotated[str | None, typer.Option(
        "--dask-address", help="Scheduler of an existing Dask cluster (tcp://host:8786); implies --task-runner dask. "
                               "Without it, dask starts a LocalCluster of execution.dask_workers processes.")] = None,
) -> None:
    """Generate, verify, dedup and publish a suite."""
    _prepare_env(verbose)
    from benchsmith.flows import prefect_api

    prefect_api.start_early()  # its seconds of start-up overlap the imports and checks below
    from benchsmith import progress
    from benchsmith.spec import TaskRunnerName, load_spec

    try:
        suite = load_spec(spec)
        if task_runner not in (None, "in_process", "dask"):
            from benchsmith.errors import SpecError

            raise SpecError(f"--task-runner: expected 'in_process' or 'dask', got {task_runner!r}")
    except BenchsmithError as err:
        raise _fail(err) from None
    console.print(f"[bold]benchsmith[/] run [cyan]{escape(suite.suite)}[/]: target {suite.target_items} items, "
                  f"budget {suite.budget.max_llm_calls} LLM calls", highlight=False)
    from benchsmith.flows.run_suite import run_suite

    if suite.refresh.enabled:
        from benchsmith.cli_schedule import run_refresh

        run_refresh(suite, workspace=workspace, output_dir=output_dir, force=new_version, db_url=db,
                    task_runner=task_runner, dask_address=dask_address, print_report=_print_report,
                    bad_input=_bad_input)
        return
    try:
        with progress.for_console(console) as sink, progress.installed(sink):
            report = run_suite(suite, workspace=workspace, new_version=new_version, db_url=db,
                               skip_bad_seeds=skip_bad_seeds, output_dir=output_dir,
                               ignore_tampered=ignore_tampered,
                               task_runner=cast("TaskRunnerName | None", task_runner),  # checked above
                               dask_address=dask_address)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: nothing was published; run the same command again to resume.")
        raise typer.Exit(130) from None
    except BenchsmithError as err:
        raise _fail(err, 2 if _bad_input(err) else 1) from None
    _print_report(report)
    if report.publish is None:
        raise typer.Exit(1)


def _bad_input(err: BenchsmithError) -> bool:
    """Errors in what the user gave (spec, seed file, documents folder): exit code 2, as documented."""
    from benchsmith.errors import SeedError, SpecError
    from benchsmith.ingest import IngestError

    return isinstance(err, (SpecError, SeedError, IngestError))


def _print_report(report: object) -> None:
    from benchsmith.flows.run_suite import RunReport

    assert isinstance(report, RunReport)
    outcome = report.outcome
    for skipped in report.skipped_seeds:
        console.print(f"[yellow]skipped seed[/] line {skipped.line}: {escape(skipped.reason)}", highlight=False)
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
            "max_rounds": "maximum number of rounds reached",
            "sources_exhausted": "every source used up (e.g. per-document quotas reached)",
            }.get(outcome.stop_reason, outcome.stop_reason)
    out.print(f"stopped: [bold]{stop}[/] after {outcome.rounds} round(s): {len(outcome.published)} items kept, "
              f"{calls} new LLM calls, {hits} cached, {tokens} tokens, {report.elapsed_s:.1f}s")
    if outcome.calls_per_item is not None:
        per_min = outcome.min_llm_calls / len(outcome.published)
        out.print(f"  LLM calls per published item: {outcome.calls_per_item:.2f} "
                  f"(the spec needs at least {per_min:.0f} when every candidate survives; "
                  f"{outcome.llm_calls} calls accounted, cached included"
                  + (f", {outcome.canary_llm_calls} of them on canaries" if outcome.canary_llm_calls else "")
                  + f"); tasks ran {report.task_runner}",
                  highlight=False)
    for role, model in report.models.items():
        out.print(f"  {role}: {escape(model)}", highlight=False)
    _print_quality(outcome.reports.get("quality") or [])
    if report.review is not None:
        _print_review(report.review)
        return
    pub = report.publish
    if pub is None:
        out.print("[red]nothing survived the filters: no version published[/]")
    elif pub.status == "exists":
        out.print(f"version [bold]{pub.version}[/] already exists with this content: nothing new published "
                  f"({escape(str(pub.path))}); use --new-version to publish it again")
    else:
        parent = f" (parent {pub.parent})" if pub.parent else ""
        out.print(f"published version [bold green]{pub.version}[/]{escape(parent)}: {escape(str(pub.path))}")
        out.print(f"  load it with: datasets.load_dataset({escape(repr(str(pub.path)))})", highlight=False)


def _print_review(review: object) -> None:
    """What the review gate let through, and what still waits in the queue."""
    from benchsmith.flows.publish_reviewed import ReviewPublish

    assert isinstance(review, ReviewPublish)
    for note in review.notes:
        out.print(f"  {escape(note)}", highlight=False)
    stats = review.stats
    if review.held_back:
        out.print(f"[yellow]{escape(review.suite)}: {review.waiting} queued item(s) still undecided "
                  f"(gate: {review.gate}): nothing published.[/] Open the queue: {escape(review.review_command)}, "
                  f"then run [bold]benchsmith publish {escape(review.suite)}[/]", highlight=False)
        return
    pub = review.publish
    if pub is None:
        out.print(f"[red]{escape(review.suite)}: nothing to publish (every item was rejected or none survived)[/]")
        return
    if pub.status == "exists":
        out.print(f"{escape(review.suite)}: nothing new to publish (version {pub.version} already holds these "
                  "decisions)", highlight=False)
        return
    rate = "n/a" if stats.acceptance_rate is None else f"{stats.acceptance_rate:.1%}"
    reasons = ", ".join(f"{k}: {v}" for k, v in sorted(stats.reject_reasons.items())) or "none"
    out.print(f"published version [bold green]{pub.version}[/] of {escape(review.suite)}: "
              f"{escape(str(pub.path))}", highlight=False)
    out.print(f"  review: {stats.reviewed} reviewed ({stats.accepted} accepted, {stats.edited} edited, "
              f"{stats.rejected} rejected; acceptance {rate}; reject reasons {escape(reasons)})", highlight=False)
    audit = stats.audit
    if audit.quality is not None and audit.ci95 is not None:
        out.print(f"  auto-accepted quality {audit.quality:.1%} [{audit.ci95.low:.1%}, {audit.ci95.high:.1%}] "
                  f"(audit {audit.decided}/{audit.sampled}, 95% Wilson)", highlight=False)
    if review.waiting:
        out.print(f"  {review.waiting} item(s) still pending: they join a later version "
                  f"({escape(review.review_command)})", highlight=False)


@app.command()
def publish(
    suite: Annotated[str, typer.Argument(help="The suite whose latest run to publish, as reviewed so far.")],
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", "-o", help="Publish under this folder instead of the spec's publish.output_dir.")] = None,
    workspace: WorkspaceOpt = Path(".benchsmith"),
    db: DbOpt = None,
    new_version: Annotated[bool, typer.Option(
        "--new-version", help="Publish a new version even if the content is unchanged.")] = False,
    ignore_tampered: Annotated[bool, typer.Option(
        "--ignore-tampered", help="Build on the newest published version that still matches its manifest.")] = False,
) -> None:
    """Publish a suite's latest run with its reviewers' decisions (accepted and edited items; never rejected)."""
    from benchsmith.flows.publish_reviewed import publish_reviewed

    try:
        review = publish_reviewed(workspace, suite, output_dir, new_version=new_version, db_url=db,
                                  ignore_tampered=ignore_tampered)
    except BenchsmithError as err:
        raise _fail(err) from None
    _print_review(review)
    if review.held_back or review.publish is None:
        raise typer.Exit(1)


def _print_quality(reports: list[dict[str, Any]]) -> None:
    """Each quality report's figures on one line, then its warnings in plain words."""
    from benchsmith.quality import warnings_of

    for rep in reports:
        facts = "; ".join(f"{k}: {v:.3g}" if isinstance(v, float) else f"{k}: {v}"
                          for k, v in (rep.get("facts") or {}).items())
        out.print(f"  {escape(rep['title'])}: {escape(facts)}", highlight=False)
    for warning in warnings_of(reports):
        console.print(f"[bold yellow]warning:[/] {escape(warning)}", highlight=False)


# --- standalone checks on any dataset ------------------------------------------------------

InputArg = Annotated[Path, typer.Argument(help="JSONL, Parquet or CSV file (or a `datasets` folder) to check.")]
FieldOpt = Annotated[list[str], typer.Option("--field", "-f", help="Text field to check (repeat to join several).")]
IdFieldOpt = Annotated[str | None, typer.Option("--id-field", help="Field with each row's id (default: row position).")]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Per-row JSONL report "
                                                "(default: <file stem>.<command>.jsonl here).")]
FailOpt = Annotated[bool, typer.Option("--fail-on-match", help="Exit with status 1 if any row is flagged.")]


def _report_path(output: Path | None, file: Path, command: str) -> Path:
    if output is not None:
        return output
    stem = file.name.split(".")[0] or "report"
    return Path(f"{stem}.{command}.jsonl")


def _summary_table(title: str, counts: list[tuple[str, int]], total: int) -> Table:
    table = Table(title=escape(title), title_justify="left")
    table.add_column("verdict")
    table.add_column("rows", justify="right")
    table.add_column("share", justify="right")
    for name, n in counts:
        table.add_row(name, str(n), f"{(n / total if total else 0):.1%}")
    return table


def _examples_table(title: str, rows: list[dict[str, Any]], match_key: str, match_text: str,
                    limit: int = 5) -> Table | None:
    flagged = sorted((r for r in rows if r.get("method")), key=lambda r: -(r.get("score") or 0.0))[:limit]
    if not flagged:
        return None
    table = Table(title=title, title_justify="left")
    for col in ("id", "method", "score", "matched", "text", "matched text"):
        table.add_column(col, overflow="fold")
    def cell(value: object, limit: int = 80) -> str:
        # User text: one line, and escaped so "[a, b]" is not read as console markup.
        return escape(" ".join(str(value if value is not None else "").split())[:limit])

    for r in flagged:
        score = r.get("score")
        table.add_row(cell(r["id"]), cell(r["method"]), f"{score:.3f}" if isinstance(score, float) else cell(score),
                      cell(r.get(match_key)), cell(r.get("text")), cell(r.get(match_text)))
    return table


@app.command()
def dedup(
    file: InputArg,
    field: FieldOpt = ["prompt"],  # noqa: B006 (typer reads the default; it is never mutated)
    id_field: IdFieldOpt = None,
    threshold: Annotated[float | None, typer.Option("--threshold", "-t", min=0.0, max=1.0,
                                                    help="Cosine similarity for semantic near-duplicates "
                                                         "(default: the dedup_semantic stage's).")] = None,
    minhash: Annotated[bool, typer.Option("--minhash/--no-minhash", help="Also run MinHash near-duplicate "
                                                                         "detection, when installed.")] = True,
    semantic: Annotated[bool, typer.Option("--semantic/--no-semantic", help="Run embedding near-duplicate "
                                                                            "detection.")] = True,
    output: OutputOpt = None,
    workspace: WorkspaceOpt = Path(".benchsmith"),
    fail_on_match: FailOpt = False,
) -> None:
    """Find exact and near-duplicate rows in any dataset; write a per-row JSONL report."""
    _prepare_env(False)
    import asyncio

    from benchsmith import standalone
    from benchsmith.context import StageContext

    try:
        inputs = standalone.load_inputs(file, field, id_field)
        stages = standalone.dedup_stages(threshold=threshold, minhash=minhash, semantic=semantic)
        ctx = StageContext(workspace=workspace)
        final = asyncio.run(standalone.run_dedup(inputs, stages, ctx))
        rows = standalone.dedup_report(inputs, final)
        report = _report_path(output, file, "dedup")
        standalone.write_jsonl(report, rows)
    except (BenchsmithError, ValueError) as err:
        raise _fail(err) from None
    counts = standalone.verdict_counts(rows)
    methods = standalone.method_counts(rows, "duplicate")
    lines = [("kept", counts["kept"])] + [(f"duplicate ({m})", n) for m, n in sorted(methods.items())]
    if counts["skipped"]:
        lines.append(("skipped (no text)", counts["skipped"]))
    out.print(_summary_table(f"dedup — {file} ({len(rows)} rows; stages: "
                             f"{', '.join(s.name for s in stages)})", lines, len(rows)))
    examples = _examples_table("examples", rows, "duplicate_of", "duplicate_of_text")
    if examples is not None:
        out.print(examples)
    out.print(f"report: {escape(str(report))}", highlight=False)
    if fail_on_match and counts["duplicate"]:
        raise typer.Exit(1)


@app.command()
def contamination(
    file: InputArg,
    against: Annotated[list[str], typer.Option("--against", "-a", help="Reference corpus: a JSONL/Parquet/CSV file, "
                                               "a `datasets` folder, or a built-in name (humaneval). Repeatable.")],
    field: FieldOpt = ["prompt"],  # noqa: B006
    id_field: IdFieldOpt = None,
    against_field: Annotated[list[str] | None, typer.Option("--against-field", help="Reference field(s) to compare "
                                                            "(default: the built-in's, else 'prompt').")] = None,
    against_id_field: Annotated[str | None, typer.Option("--against-id-field", help="Reference id field.")] = None,
    ngram_n: Annotated[int, typer.Option("--ngram-n", min=1, max=64, help="Tokens per n-gram.")] = 13,
    ngram_threshold: Annotated[float | None, typer.Option("--ngram-threshold", min=0.0, max=1.0,
                                                          help="Share of a row's n-grams found that flags it.")] = None,
    embedding_threshold: Annotated[float | None, typer.Option("--embedding-threshold", min=0.0, max=1.0,
                                                              help="Cosine similarity that flags a row.")] = None,
    embedding: Annotated[bool, typer.Option("--embedding/--no-embedding", help="Also compare embeddings.")] = True,
    output: OutputOpt = None,
    workspace: WorkspaceOpt = Path(".benchsmith"),
    fail_on_match: FailOpt = False,
) -> None:
    """Check any dataset against reference benchmarks (n-grams, embeddings); write a per-row JSONL report."""
    _prepare_env(False)
    import asyncio

    from pydantic import ValidationError

    from benchsmith import standalone
    from benchsmith.context import StageContext
    from benchsmith.references import ReferenceSource
    from benchsmith.verifiers.contamination import Contamination

    try:
        refs = []
        for value in against:
            ref = ReferenceSource.parse_spec_string(value)
            if against_field:
                ref["fields"] = against_field
            if against_id_field:
                ref["id_field"] = against_id_field
            refs.append(ref)
        params: dict[str, object] = {"references": refs, "ngram_n": ngram_n, "embedding": embedding}
        if ngram_threshold is not None:
            params["ngram_threshold"] = ngram_threshold
        if embedding_threshold is not None:
            params["embedding_threshold"] = embedding_threshold
        stage = Contamination(params)
        inputs = standalone.load_inputs(file, field, id_field)
        ctx = StageContext(workspace=workspace)
        verdicts = asyncio.run(stage.verify(inputs.items, ctx))
        rows = standalone.contamination_report(inputs, verdicts)
        report = _report_path(output, file, "contamination")
        standalone.write_jsonl(report, rows)
    except ValidationError as err:
        raise _fail(ValueError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()))) \
            from None
    except (BenchsmithError, ValueError) as err:
        raise _fail(err) from None
    counts = standalone.verdict_counts(rows)
    methods = standalone.method_counts(rows, "contaminated")
    lines = [("clean", counts["clean"])] + [(f"contaminated ({m})", n) for m, n in sorted(methods.items())]
    if counts["skipped"]:
        lines.append(("skipped (no text)", counts["skipped"]))
    names = ", ".join(r.label for r in stage.config.references)
    out.print(_summary_table(f"contamination — {file} against {names} ({len(rows)} rows)", lines, len(rows)))
    examples = _examples_table("examples", rows, "matched_id", "matched_text")
    if examples is not None:
        out.print(examples)
    out.print(f"report: {escape(str(report))}", highlight=False)
    if fail_on_match and counts["contaminated"]:
        raise typer.Exit(1)


# --- what stages there are ---------------------------------------------------------------


@app.command()
def stages(
    names: Annotated[list[str] | None, typer.Argument(help="Only these stages (default: all).",
                                                      show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
) -> None:
    """List the generators and verifiers a spec can name (built-in and plugins), with their parameters."""
    import json

    from benchsmith.stages import generators, verifiers

    try:
        rows = [_describe_stage(kind, registry, name)
                for kind, registry in (("generator", generators), ("verifier", verifiers))
                for name in registry.names()]
        errors = generators.plugin_errors + verifiers.plugin_errors
    except BenchsmithError as err:
        raise _fail(err, 1) from None
    if names:
        import difflib

        known = sorted({r["name"] for r in rows})
        broken = {e.entry_point: e for e in errors}
        unknown = [n for n in names if n not in known]
        for n in unknown:
            close = difflib.get_close_matches(n, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            message = str(broken[n]) if n in broken else f"unknown stage {n!r}.{hint}"
            console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
        if unknown:
            raise typer.Exit(2)
        rows = [r for r in rows if r["name"] in names]
    failures: list[dict[str, Any]] = [
        {"group": e.group, "entry_point": e.entry_point, "distribution": e.distribution, "error": str(e)}
        for e in errors]
    if as_json:
        sys.stdout.write(json.dumps({"stages": rows, "plugin_errors": failures}, indent=2) + "\n")
    else:
        _print_stages(rows)
    for failure in failures:
        console.print(f"[bold red]error:[/] {escape(failure['error'])}", highlight=False)
    if failures:
        raise typer.Exit(1)


def _describe_stage(kind: str, registry: object, name: str) -> dict[str, Any]:
    """One stage as plain data: what `stages --json` prints for it."""
    import inspect

    from benchsmith.registry import Registry

    assert isinstance(registry, Registry)
    cls = registry.get(name)
    origin = registry.origin(name)
    doc = cls.__dict__.get("__doc__")  # its own docstring, not the base class's
    summary = next((line for line in inspect.cleandoc(doc).splitlines() if line.strip()), "") if doc else ""
    return {
        "name": name, "kind": kind, "scope": getattr(cls, "scope", None) if kind == "verifier" else None,
        "uses_llm": bool(getattr(cls, "uses_llm", False)) if kind == "verifier" else None,
        "summary": summary, "source": origin.describe(), "builtin": origin.builtin,
        "distribution": origin.distribution, "version": origin.version, "entry_point": origin.entry_point,
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "parameters": _describe_config(cls.Config),
    }


def _describe_config(config: type) -> list[dict[str, Any]]:
    """Name, type, default and description of each field of a stage's pydantic Config."""
    from pydantic import BaseModel
    from pydantic_core import to_jsonable_python

    assert isinstance(config, type) and issubclass(config, BaseModel)
    params = []
    for field_name, info in config.model_fields.items():
        required = info.is_required()
        if required:
            default = None
        else:
            default = info.get_default(call_default_factory=True)
            try:
                default = to_jsonable_python(default)
            except Exception:  # noqa: BLE001 (an odd default still lists, as its repr)
                default = repr(default)
        params.append({"name": info.alias or field_name, "type": _type_name(info.annotation), "required": required,
                       "default": default, "description": info.description or ""})
    return params


def _type_name(tp: object) -> str:
    """A short, readable type: `int`, `list[str]`, `float | None`, `Literal['a', 'b']`."""
    import types
    import typing

    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is type(None):
        return "None"
    if origin is typing.Literal:
        return f"Literal[{', '.join(repr(a) for a in args)}]"
    if origin is typing.Union or origin is types.UnionType:
        return " | ".join(_type_name(a) for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is not None:
        base = getattr(origin, "__name__", str(origin).replace("typing.", ""))
        return f"{base}[{', '.join(_type_name(a) for a in args)}]" if args else base
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _print_stages(rows: list[dict[str, Any]]) -> None:
    table = Table(title="stages", title_justify="left")
    for col in ("name", "kind", "source", "description"):
        table.add_column(col, overflow="fold")
    for r in rows:
        kind = f"{r['kind']} ({r['scope']})" if r["scope"] else r["kind"]
        table.add_row(escape(r["name"]), kind, escape(r["source"]), escape(r["summary"]))
    out.print(table)
    for r in rows:
        if not r["parameters"]:
            out.print(f"[bold]{escape(r['name'])}[/]: no parameters")
            continue
        params = Table(title=f"{escape(r['name'])} — parameters", title_justify="left")
        for col in ("parameter", "type", "default", "description"):
            params.add_column(col, overflow="fold")
        for p in r["parameters"]:
            default = "(required)" if p["required"] else _json_default(p["default"])
            params.add_row(escape(p["name"]), escape(p["type"]), escape(default),
                           escape(" ".join(p["description"].split())))  # hard-wrapped in the source
        out.print(params)


def _json_default(value: object) -> str:
    """A parameter's default as it would be written in a spec (JSON, which YAML reads)."""
    import json

    return json.dumps(value, ensure_ascii=False)


# The commands of the other jobs (review, releases, refresh, harnesses) follow the build's own in `--help`,
# in the order a maintainer meets them.
app.add_typer(reviewers_app, name="reviewers")
app.add_typer(review_app, name="review")
register_versions(app)
register_schedule(app)
register_export(app)
register_evaluate(app)


def main() -> None:
    """Entry point for `python -m benchsmith`."""
    app()


if __name__ == "__main__":
    main()
