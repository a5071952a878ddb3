"""The dataset card (README.md) and changelog entry of a published version.

The card's YAML front matter is the part machines read: `datasets.load_dataset(folder)`
takes its `configs` to find the split (so `rejected/` is never loaded as data), and the
Hugging Face Hub reads license, task categories, size category, pretty name and tags.
The body is for people: what is in the version, how it was made and how to load it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from benchsmith.quality import markdown_table, render_quality_markdown
from benchsmith.records import Item
from benchsmith.spec import SuiteSpec

# Item kind → Hugging Face task category.
_TASK_CATEGORY = {
    "open_qa": "question-answering",
    "mcq": "multiple-choice",
    "true_false": "text-classification",
    "code": "text-generation",
}

_SIZE_BOUNDS = [
    (1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"),
]


def size_category(n: int) -> str:
    """The Hub's size category for a dataset of `n` rows."""
    return next((label for bound, label in _SIZE_BOUNDS if n < bound), "n>1B")


def dataset_info(*, items: Sequence[Item], split: str, data_bytes: int) -> dict[str, Any]:
    """The card's `dataset_info`: features and split sizes.

    `datasets` caches a local folder under its base name and a hash of the card's YAML
    only (not of the files), so two versions named alike — `2026.11` of two suites —
    would share one cache entry without something version-specific here. The split's
    byte size and row count are that, and the features document the columns.
    """
    from datasets import Features

    from benchsmith.publish import ITEM_SCHEMA  # late: publish imports this module

    return {
        "features": Features.from_arrow_schema(ITEM_SCHEMA)._to_yaml_list(),
        "splits": [{"name": split, "num_bytes": data_bytes, "num_examples": len(items)}],
        "download_size": data_bytes,
        "dataset_size": data_bytes,
    }


def front_matter(*, spec: SuiteSpec, version: str, items: Sequence[Item], split: str,
                 data_bytes: int = 0) -> dict[str, Any]:
    """The card's YAML metadata."""
    kinds = sorted({it.kind for it in items})
    return {
        "pretty_name": f"{spec.suite} {version}",
        "license": spec.publish.license,
        "task_categories": sorted({_TASK_CATEGORY[k] for k in kinds}) or ["question-answering"],
        "size_categories": [size_category(len(items))],
        "tags": ["benchsmith", "benchmark", "synthetic", "llm-generated", spec.suite],
        "configs": [{
            "config_name": "default",
            "data_files": [{"split": split, "path": f"data/{split}.parquet"}],
        }],
        "dataset_info": dataset_info(items=items, split=split, data_bytes=data_bytes),
    }


def _usage_section(usage: Mapping[str, Any]) -> str:
    if not usage:
        return "No LLM usage was recorded."
    # The common shape is role → {counter: number}; anything else is shown as JSON.
    if all(isinstance(v, Mapping) and all(isinstance(x, (int, float)) for x in v.values()) for v in usage.values()):
        keys = sorted({k for v in usage.values() for k in v})
        return markdown_table(["role", *keys], [[role, *(v.get(k, "") for k in keys)] for role, v in usage.items()])
    return "```json\n" + json.dumps(usage, indent=2, sort_keys=True, default=str) + "\n```"


def _source_label(spec: SuiteSpec) -> str:
    if spec.seeds is not None:
        return f"the seeds in `{spec.seeds.path}`"
    assert spec.documents is not None
    return f"the documents in `{spec.documents.path}`"


def _report_sections(reports: Mapping[str, Any]) -> list[str]:
    """Card sections for the reports the run produced (drops with examples, coverage, diversity)."""
    from benchsmith.reports import render_stage_reports_markdown

    sections = ["## What the filters removed\n\n" + render_stage_reports_markdown(reports.get("stages") or {})]
    if reports.get("coverage"):
        from benchsmith.coverage import render_coverage_markdown

        sections.append(render_coverage_markdown(reports["coverage"]).strip())  # it brings its own heading
    if reports.get("diversity"):
        from benchsmith.diversity import render_diversity_markdown

        sections.append("## Diversity\n\n" + render_diversity_markdown(reports["diversity"]))
    return sections


DEMO_MODEL = "embedded SmolLM2-135M-Instruct"
"""How `RunConfig.models()` names the embedded demonstration model in a manifest."""


def demonstration_notice(models: Mapping[str, str]) -> list[str]:
    """A warning for the top of the card when the embedded demonstration model generated or judged."""
    roles = sorted(role for role, model in models.items() if model == DEMO_MODEL)
    if not roles:
        return []
    return [f"> **Made with a demonstration model.** The {' and '.join(roles)} of this version "
            f"{'was' if len(roles) == 1 else 'were'} SmolLM2-135M-Instruct, the small model benchsmith embeds so "
            "that it runs without an API key. Its items are weak and its verdicts carry little information: this "
            "version shows what the pipeline does, it is not a benchmark to report scores on. Point the `llm` "
            "roles at a capable model for a real suite."]


def window_section(spec: SuiteSpec, manifest: Mapping[str, Any]) -> list[str]:
    """'Time window': the sources' date window (a `min_date`, resolved on the run's day), the models'
    training cutoffs (`llm.cutoffs`), and the release's rotation (a `refresh:` suite)."""
    window = manifest.get("sources_window")
    cutoffs = spec.llm.cutoffs
    refresh = manifest.get("refresh")
    if not window and not cutoffs and not refresh:
        return []
    lines: list[str] = []
    if window:
        lines.append(f"Sources dated from **{window['min_source_date']}** to **{window['until']}** "
                     f"(`documents.min_date: {window['written']}`, resolved on the day of the run); older "
                     "documents were left out.")
    if cutoffs:
        lines.append("Training-data cutoffs the spec states for its models:\n\n" + markdown_table(
            ["role", "model", "cutoff"],
            [[role, (manifest.get("models") or {}).get(role, "-"), day.isoformat()]
             for role, day in sorted(cutoffs.items())]))
        if window:
            after = all(window["min_source_date"] > day.isoformat() for day in cutoffs.values())
            lines.append("Every source is newer than every stated cutoff." if after else
                         "Some sources are older than a stated cutoff: those models may have seen them.")
    if refresh:
        lines.append(f"Release rotation: {refresh.get('retired', 0)} oldest item(s) retired, {refresh.get('new', 0)} "
                     f"new, {refresh.get('released', 0)} released from held-back version "
                     f"{refresh.get('released_from') or '-'}, {refresh.get('held_back', 0)} newly held back "
                     f"(target size {refresh.get('size')}, retire share {refresh.get('retire_share', 0):.3g}). "
                     "Each item's `metadata` says `introduced_in`; retired items are listed in `manifest.json`.")
    return ["## Time window\n\n" + "\n\n".join(lines)]


EVALUATION_STAGE = "evaluation"
"""The stage of the solver panel's quality report (`flows.evaluate_release`); `reports.evaluation`
holds its figures."""


def quality_section(reports: Mapping[str, Any]) -> str:
    """The Quality section's body: the stages' reports, then the solver panel's evaluation of the
    release (`reports.evaluation`, rendered by `benchsmith.evaluation.report.card_lines`)."""
    quality = [q for q in reports.get("quality") or [] if q.get("stage") != EVALUATION_STAGE]
    evaluation = reports.get(EVALUATION_STAGE)
    parts = [render_quality_markdown(quality)] if quality or not evaluation else []
    if evaluation:
        if evaluation.get("skipped"):
            lines = [f"Not evaluated: {str(evaluation['skipped']).removeprefix('not evaluated: ')}."]
        else:
            from benchsmith.evaluation.report import card_lines

            lines = card_lines(evaluation) + [f"- **Warning:** {w}" for w in evaluation.get("warnings") or []]
            lines.append("- Per-model table, per-item answers and the plot: `evaluations/<version>/` beside this "
                         "version's folder; `benchsmith evaluate` runs it again.")
        parts.append("### Solver panel evaluation\n\n" + "\n".join(lines))
    return "\n\n".join(parts)


def render_card(*, spec: SuiteSpec, version: str, manifest: Mapping[str, Any], items: Sequence[Item]) -> str:
    """README.md: YAML front matter, then a human summary of the version."""
    split = manifest["split"]
    counts = manifest["counts"]
    meta = yaml.safe_dump(front_matter(spec=spec, version=version, items=items, split=split,
                                    data_bytes=int(manifest.get("data_bytes", 0))),
                          sort_keys=False, allow_unicode=True)
    parent = manifest.get("parent")
    if parent:
        change = f"{counts['added']} added, {counts['removed']} removed, {counts['kept']} kept since {parent}"
    else:
        change = "first version"
    kinds = Counter(it.kind for it in items)
    made_by = Counter((it.lineage.generator, it.lineage.operator or "-") for it in items)
    funnel_rows = [(s["stage"], s["received"], s["kept"], sum(s["dropped"].values()),
                    ", ".join(f"{r}: {n}" for r, n in sorted(s["dropped"].items(), key=lambda kv: -kv[1])))
                   for s in manifest["funnel"].get("stages", [])]
    summary = markdown_table(["", ""], [
        ["Version", version],
        ["Parent version", parent or "none"],
        ["Items", f"{counts['published']} in split `{split}` ({change})"],
        ["Kinds", ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items()))],
        ["Rejected candidates", f"{counts['rejected']} (in `rejected/`, not part of the dataset)"],
        ["Stop reason", manifest.get("stop_reason") or "-"],
        ["Spec hash", f"`{manifest['spec_hash']}`"],
        ["Created", manifest["created_at"]],
    ])
    sections = [
        f"---\n{meta}---",
        f"# {spec.suite} {version}",
        *demonstration_notice(manifest.get("models") or {}),
        spec.description.strip() or f"A benchmark suite generated by benchsmith from {_source_label(spec)}.",
        summary,
        "## How the items were made\n\n"
        + markdown_table(["generator", "operator", "items"], [(g, op, n) for (g, op), n in sorted(made_by.items())]),
        *window_section(spec, manifest),
        "## Models\n\n" + (markdown_table(["role", "model"], sorted(manifest["models"].items()))
                           if manifest["models"] else "No models recorded."),
        "## Funnel\n\n" + (markdown_table(["stage", "in", "kept", "dropped", "reasons"], funnel_rows)
                           if funnel_rows else "No stages recorded."),
        "## Quality\n\n" + quality_section(manifest.get("reports") or {}),
        *_report_sections(manifest.get("reports") or {}),
        "## LLM usage\n\n" + _usage_section(manifest.get("usage") or {}),
        "## Columns\n\n"
        "`id`, `kind`, `prompt`, `reference_answer`, `choices` (list of strings), `citations` (list of\n"
        "{quote, document, section, chunk_id, start, end}), `seed_id`, `lineage` ({generator, operator,\n"
        "model, endpoint, params (JSON string), parent_id, seed_id}), `verdicts` (list of {stage, passed,\n"
        "score, reason, details (JSON string)}), `review_status`, `metadata` (JSON string).",
        "## Load it\n\n"
        "```python\n"
        "import json\n"
        "from datasets import load_dataset\n\n"
        f'ds = load_dataset("{spec.publish.output_dir.as_posix()}/{spec.suite}/{version}", split="{split}")\n'
        'row = ds[0]\n'
        'print(row["prompt"], row["reference_answer"], json.loads(row["metadata"]))\n'
        "```\n\n"
        "`benchsmith.publish.row_to_item(row)` turns a row back into a `benchsmith.Item`.\n"
        "`manifest.json` holds the sha256 of every file; `CHANGELOG.md` the history of the suite.",
    ]
    return "\n\n".join(sections) + "\n"


def render_changelog_entry(*, manifest: Mapping[str, Any], parent_spec_hash: str | None) -> str:
    """This version's CHANGELOG.md entry."""
    counts = manifest["counts"]
    parent = manifest.get("parent")
    lines = [f"## {manifest['version']} ({manifest['created_at'][:10]})", ""]
    if parent:
        lines += [
            f"- Parent: {parent}",
            f"- Items: {counts['published']} ({counts['added']} added, {counts['removed']} removed, "
            f"{counts['kept']} kept)",
            f"- Spec: `{manifest['spec_hash']}`"
            + (" (unchanged)" if parent_spec_hash == manifest["spec_hash"] else f" (was `{parent_spec_hash}`)"),
        ]
    else:
        lines += [
            "- First version",
            f"- Items: {counts['published']} (all new)",
            f"- Spec: `{manifest['spec_hash']}`",
        ]
    lines += [
        f"- Rejected candidates: {counts['rejected']}",
        f"- Stop reason: {manifest.get('stop_reason') or '-'}",
    ]
    return "\n".join(lines) + "\n"
