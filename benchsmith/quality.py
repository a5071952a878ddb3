"""What a run measured about its own filters: one `StageReport` per stage that has something to say.

Stages produce reports through two hooks of `Verifier` (see `benchsmith.stages`):
`report()` for what a stage measured while it ran (contamination's null distribution and
thresholds), `assess(items)` for what can only be judged over the run's final items (a
judge's score spread and canary catch rate). Flow-level measurements (canaries, answer
balance) use the same record. They end up in three places: warnings printed at the end of
the run, the dataset card's "Quality" section, and `manifest.json` (`reports.quality`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field

Fact = str | int | float


class StageReport(BaseModel):
    """One stage's (or one flow step's) quality figures."""

    stage: str = Field(description="The stage (or flow step, e.g. 'canaries') that measured this.")
    title: str = Field(description="Heading in the card, e.g. 'Judge health (llm_judge)'.")
    facts: dict[str, Fact] = Field(default_factory=dict, description="Label → value, shown as a table.")
    warnings: list[str] = Field(default_factory=list,
                                description="Plain-words warnings: printed after the run and put in the card.")
    data: dict[str, Any] = Field(default_factory=dict, description="Machine-readable figures (manifest only).")


def merge_reports(reports: Iterable[StageReport | None]) -> list[StageReport]:
    """Drop the Nones and keep one report per (stage, title), the last one winning.

    A set stage runs once per round; its last round's report describes the published pool.
    """
    out: dict[tuple[str, str], StageReport] = {}
    for report in reports:
        if report is not None:
            out[(report.stage, report.title)] = report
    return list(out.values())


def warnings_of(reports: Sequence[StageReport] | Sequence[Mapping[str, Any]]) -> list[str]:
    """Every warning of the reports (models or their JSON dumps), in order, without repeats."""
    seen: dict[str, None] = {}
    for report in reports:
        for text in (report.warnings if isinstance(report, StageReport) else report.get("warnings", [])):
            seen.setdefault(str(text), None)
    return list(seen)


def _cell(value: Any) -> str:
    text = "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (pipes and newlines in cells escaped; floats to 4 significant digits)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_quality_markdown(reports: Sequence[Mapping[str, Any]]) -> str:
    """The card's "Quality" section body from the reports' JSON dumps (as the manifest holds them)."""
    if not reports:
        return "No stage reported quality figures for this run."
    parts: list[str] = []
    warnings = warnings_of(reports)
    if warnings:
        parts.append("**Warnings**\n\n" + "\n".join(f"- {w}" for w in warnings))
    for report in reports:
        lines = [f"### {report['title']}"]
        facts = report.get("facts") or {}
        if facts:
            lines.append(markdown_table(["", ""], list(facts.items())))
        parts.append("\n\n".join(lines))
    return "\n\n".join(parts)
