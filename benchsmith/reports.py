"""Per-stage drop reports: how many items each stage removed, why, with examples.

Built from the items' final verdicts, so the numbers always agree with the funnel. The
examples show what a maintainer needs to judge a filter at a glance: the dropped
prompt, the reason, and what it was matched against (the item it duplicated, the
reference it resembles) with the score.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from benchsmith.records import Item

EXAMPLES_PER_STAGE = 3
_SHOWN_DETAILS = ("similarity", "jaccard", "score", "method", "matched_reference", "matched_id", "version",
                  "matched_text", "quote", "best_score")


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def stage_reports(items: Sequence[Item], stages: Sequence[str]) -> dict[str, dict[str, Any]]:
    """stage → {removed, reasons, examples} for every stage that dropped something."""
    by_id = {it.id: it for it in items}
    reports: dict[str, dict[str, Any]] = {}
    for stage in stages:
        dropped = [it for it in items if (v := it.verdict(stage)) is not None and not v.passed]
        if not dropped:
            continue
        examples = []
        for it in dropped[:EXAMPLES_PER_STAGE]:
            verdict = it.verdict(stage)
            assert verdict is not None
            example: dict[str, Any] = {"id": it.id, "prompt": _short(it.prompt), "reason": verdict.reason}
            if verdict.score is not None:
                example["score"] = round(float(verdict.score), 4)
            twin = by_id.get(str(verdict.details.get("duplicate_of", "")))
            if twin is not None:
                example["duplicate_of"] = {"id": twin.id, "prompt": _short(twin.prompt)}
            for key in _SHOWN_DETAILS:
                if key in verdict.details and verdict.details[key] is not None:
                    value = verdict.details[key]
                    example[key] = _short(value) if isinstance(value, str) else value
            examples.append(example)
        reasons = Counter(it.verdict(stage).reason or "dropped" for it in dropped)  # type: ignore[union-attr]
        reports[stage] = {"removed": len(dropped), "reasons": dict(reasons.most_common()), "examples": examples}
    return reports


def render_stage_reports_markdown(reports: dict[str, dict[str, Any]]) -> str:
    """The drop reports as Markdown for the dataset card."""
    if not reports:
        return "No stage removed any item."
    lines = []
    for stage, rep in reports.items():
        reasons = ", ".join(f"{r}: {n}" for r, n in rep["reasons"].items())
        lines.append(f"**{stage}** removed {rep['removed']} ({reasons}). Examples:")
        for ex in rep["examples"]:
            extra = ""
            if "duplicate_of" in ex:
                extra = f" — duplicates “{ex['duplicate_of']['prompt']}”"
            if "similarity" in ex:
                extra += f" (similarity {ex['similarity']:.3f})" if isinstance(ex["similarity"], float) else ""
            if "matched_text" in ex:
                extra += f" — matches {ex.get('matched_reference', 'a reference')} “{ex['matched_text']}”"
            lines.append(f"- `{ex['reason']}`: “{ex['prompt']}”{extra}")
        lines.append("")
    return "\n".join(lines).rstrip()
