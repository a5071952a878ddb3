"""The Prefect artifact of a run: its funnel and what it released, as a markdown table.

Every `suite-run` flow run leaves one, so the Prefect UI shows, per run of a scheduled
deployment, how many candidates each stage kept and which version came out of it. Writing
it never fails a run that has already published: an API hiccup is a warning.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from benchsmith import progress
from benchsmith.publish import PublishResult
from benchsmith.quality import markdown_table

if TYPE_CHECKING:
    from benchsmith.flows.build_suite import RunOutcome


def artifact_key(suite: str) -> str:
    """A Prefect artifact key for a suite (lower-case letters, digits and dashes only)."""
    return "release-" + re.sub(r"[^a-z0-9-]+", "-", suite.lower()).strip("-")


def release_markdown(suite: str, outcome: RunOutcome, published: PublishResult | None,
                     held_back: PublishResult | None) -> str:
    """The funnel and the release summary of one run."""
    rows = [(s, received, kept, dropped, reasons) for s, received, kept, dropped, reasons in outcome.funnel.as_rows()]
    parts = [f"# {suite}: run summary", "## Funnel",
             markdown_table(["stage", "in", "kept", "dropped", "reasons"], rows) if rows else "No stages ran.",
             "## Release"]
    if published is None:
        parts.append(f"Nothing published (stop reason: {outcome.stop_reason}).")
    else:
        manifest = published.manifest
        changes = manifest.get("changes") or {}
        refresh = manifest.get("refresh") or {}
        facts = [
            ["version", published.version], ["status", published.status], ["parent", published.parent or "none"],
            ["items", str((manifest.get("counts") or {}).get("published", "?"))],
            ["added", str(len(changes.get("added", [])))], ["retired", str(len(changes.get("retired", [])))],
            ["edited", str(len(changes.get("edited", [])))], ["kept", str(changes.get("kept", "?"))],
            ["stop reason", outcome.stop_reason], ["path", f"`{published.path}`"],
        ]
        if refresh:
            facts.append(["released from held-back", str(refresh.get("released_from") or "none")])
        if held_back is not None:
            facts.append(["held back", f"{(held_back.manifest.get('counts') or {}).get('published', '?')} items in "
                                       f"`{held_back.path}`"])
        window = manifest.get("sources_window")
        if window:
            facts.append(["source window", f"{window['min_source_date']} to {window['until']}"])
        parts.append(markdown_table(["", ""], facts))
    return "\n\n".join(parts) + "\n"


async def release_artifact(suite: str, outcome: RunOutcome, published: PublishResult | None,
                           held_back: PublishResult | None) -> None:
    """Attach the run summary to the current Prefect flow run as a markdown artifact."""
    from prefect.artifacts import acreate_markdown_artifact

    try:
        await acreate_markdown_artifact(markdown=release_markdown(suite, outcome, published, held_back),
                                        key=artifact_key(suite), description=f"{suite}: funnel and release")
    except Exception as err:  # noqa: BLE001 (the version is published; a summary that failed is no reason to fail)
        progress.sink().message(f"warning: the run summary artifact could not be written: {err}")
