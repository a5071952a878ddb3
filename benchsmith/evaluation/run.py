"""`evaluate_version`: the panel answers a published version; figures, results file, summary and plot.

Results go to ``outputs/<suite>/evaluations/<version>/<run>.json`` with ``<run>.md`` and
``<run>.png`` beside it, never into the immutable version folder.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from benchsmith.errors import SpecError
from benchsmith.evaluation import stats
from benchsmith.evaluation.panel import Reply, answer_all, build_solver_clients, judge_equivalent
from benchsmith.evaluation.scoring import Score, score_reply
from benchsmith.exports.formats import ItemView, view
from benchsmith.exports.source import open_version
from benchsmith.llm.client import LLMClient
from benchsmith.llm.usage import CallBudget, UsageMeter
from benchsmith.records import Item
from benchsmith.spec import SolverSpec
from benchsmith.text import repeated

IDK = "I don't know"
DIFFICULTY_BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass
class ModelRow:
    """One panel (or null) model's figures."""

    name: str
    accuracy: float | None
    ci95: tuple[float, float] | None
    correct: int
    scored: int
    failed: int = 0
    undecided: int = 0
    null: bool = False
    above_chance: bool = False
    failures: dict[str, int] = field(default_factory=dict)
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "accuracy": self.accuracy, "ci95": list(self.ci95) if self.ci95 else None,
                "correct": self.correct, "scored": self.scored, "failed": self.failed, "undecided": self.undecided,
                "null_model": self.null, "above_chance": self.above_chance, "failures": self.failures,
                "note": self.note}


@dataclass
class Evaluation:
    """What `evaluate_version` found and wrote."""

    suite: str
    version: str
    run: str
    models: list[ModelRow]
    null_models: list[ModelRow]
    chance: float
    separability: float | None
    separability_note: str | None
    agreement: stats.RankAgreement | None
    difficulty_histogram: list[int]
    flagged: list[str]
    """Warnings in plain words (a null model above chance, a model that failed every item)."""
    paths: dict[str, Path]
    """Where the results were written (empty until `write_evaluation`)."""
    data: dict[str, Any] = field(repr=False)
    bootstrap_s: float = 0.0


def evaluations_dir(outputs: Path, suite: str, version: str) -> Path:
    """outputs/<suite>/evaluations/<version>/ (beside the version folder, never inside it)."""
    return outputs / suite / "evaluations" / version


def latest_evaluation(outputs: Path, suite: str, version: str) -> dict[str, Any] | None:
    """The newest evaluation results of a version (by file name, which starts with the UTC time), or None."""
    folder = evaluations_dir(outputs, suite, version)
    for path in sorted(folder.glob("*.json"), reverse=True) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("suite") == suite:
            return data
    return None


def _null_replies(views: Sequence[ItemView]) -> dict[str, list[str]]:
    common = Counter(v.target for v in views).most_common(1)
    constant = common[0][0] if common else "A"
    shown = constant if len(constant) <= 24 else constant[:21] + "..."
    return {f"constant answer ({shown!r})": [constant] * len(views), f"'{IDK}'": [IDK] * len(views),
            "always option A": ["A"] * len(views)}


def _score_matrix(views: Sequence[ItemView], replies: Sequence[Reply]) -> list[Score | None]:
    return [None if r.text is None else score_reply(v, r.text) for v, r in zip(views, replies, strict=True)]


async def _judge_undecided(judge: LLMClient, views: Sequence[ItemView], scored: dict[str, list[Score | None]],
                           replies: dict[str, list[Reply]]) -> None:
    jobs = [(name, i) for name, row in scored.items() for i, s in enumerate(row) if s is not None and s.correct is None]

    async def one(name: str, i: int) -> None:
        verdict = await judge_equivalent(judge, views[i], replies[name][i].text or "")
        if verdict is not None:
            scored[name][i] = Score(verdict, "judge", scored[name][i].parsed)  # type: ignore[union-attr]

    await asyncio.gather(*(one(n, i) for n, i in jobs))
    await judge.aclose()


def _check_panel(solvers: Sequence[SolverSpec]) -> None:
    if not solvers:
        raise SpecError("no solver panel: pass --model NAME@BASE_URL (repeatable) or a spec with `solvers:`")
    names = [s.name for s in solvers]
    dupes = repeated(names)
    if dupes:
        raise SpecError(f"panel model listed twice: {', '.join(dupes)} (label one: LABEL=NAME@BASE_URL)")


def evaluate_version(outputs: Path, suite: str, version: str | None, solvers: Sequence[SolverSpec], *,
                     workspace: Path = Path(".benchsmith"), concurrency: int = 16,
                     reference: dict[str, float] | None = None,
                     judge: SolverSpec | None = None, run: str | None = None, resamples: int = 1000,
                     seed: int = 0, max_retries: int = 4, cache: bool = True) -> Evaluation:
    """Run the panel `solvers` on a published version and write the results (see the module docstring)."""
    _check_panel(solvers)
    source = open_version(outputs, suite, version)
    result = asyncio.run(evaluate_items(
        source.items, solvers, suite=source.suite, version=source.version, usage=UsageMeter(),
        cache_dir=workspace / "llm-cache" if cache else None, concurrency=concurrency, reference=reference,
        judge=judge, run=run, resamples=resamples, seed=seed, max_retries=max_retries,
        source_sha256=source.data_sha256))
    return write_evaluation(outputs, result)


def write_evaluation(outputs: Path, result: Evaluation) -> Evaluation:
    """Write `result` to outputs/<suite>/evaluations/<version>/<run>.json (.md, .png); `result.paths` says where."""
    from benchsmith.evaluation.report import write_results

    result.paths = write_results(evaluations_dir(outputs, result.suite, result.version), result.run, result.data)
    return result


async def evaluate_items(items: Sequence[Item], solvers: Sequence[SolverSpec], *, suite: str, version: str,
                         usage: UsageMeter, cache_dir: Path | None, concurrency: int = 16,
                         budget: CallBudget | None = None, reference: dict[str, float] | None = None,
                         judge: SolverSpec | None = None, run: str | None = None, resamples: int = 1000,
                         seed: int = 0, max_retries: int = 4, source_sha256: str | None = None) -> Evaluation:
    """The panel's figures on `items` (those of `suite` `version`), computed but not written
    (`write_evaluation` writes them). A run evaluates its release this way before publishing it,
    so that the card can carry the figures; calls go through `cache_dir`, on `usage` and `budget`."""
    _check_panel(solvers)
    names = [s.name for s in solvers]
    views = [view(it) for it in items]
    started = time.monotonic()
    clients = build_solver_clients(solvers, cache_dir=cache_dir, concurrency=concurrency, usage=usage,
                                   max_retries=max_retries, budget=budget)
    replies = await answer_all(clients, views)
    scored = {name: _score_matrix(views, rows) for name, rows in replies.items()}
    if judge is not None:
        (judge_client,) = build_solver_clients([judge], cache_dir=cache_dir, concurrency=concurrency, usage=usage,
                                               max_retries=max_retries, budget=budget).values()
        await _judge_undecided(judge_client, views, scored, replies)
    answer_s = time.monotonic() - started

    # Panel rows: a failed call counts as wrong (it is the model's endpoint's failure), and is counted.
    matrix = np.array([[1.0 if s is not None and s.correct else 0.0 for s in scored[n]] for n in names])
    nulls = _null_replies(views)
    null_matrix = np.array([[1.0 if score_reply(v, r).correct else 0.0 for v, r in zip(views, rows, strict=True)]
                            for rows in nulls.values()])
    t0 = time.perf_counter()
    boot, intervals = stats.bootstrap_accuracy(np.vstack([matrix, null_matrix]), resamples=resamples, seed=seed)
    bootstrap_s = time.perf_counter() - t0
    chance = stats.chance_accuracy([len(v.choices) for v in views])

    rows: list[ModelRow] = []
    live: list[int] = []
    flagged: list[str] = []
    for i, name in enumerate(names):
        errors = [r.error or "" for r in replies[name] if r.text is None]
        failures = Counter(e.split(":", 1)[0] for e in errors)
        failed = len(errors)
        undecided = sum(1 for s in scored[name] if s is not None and s.correct is None)
        if views and failed == len(views):
            reason = ", ".join(f"{k} ({n})" for k, n in failures.most_common(3))
            detail = next((e.split(":", 1)[1].strip() for e in errors if ":" in e), "")
            detail = f": {detail[:200]}" if detail else ""
            rows.append(ModelRow(name, None, None, 0, 0, failed=failed, failures=dict(failures),
                                 note=f"failed every item: {reason}; not scored"))
            flagged.append(f"{name}: failed every item ({reason}{detail}); left out of the figures")
            continue
        live.append(i)
        ci = intervals[i]
        note = f"{failed} item(s) failed and count as wrong" if failed else None
        if undecided:
            note = ((note + "; ") if note else "") + f"{undecided} long answer(s) undecided (no judge): counted wrong"
        rows.append(ModelRow(name, float(matrix[i].mean()), (ci.low, ci.high), int(matrix[i].sum()), len(views),
                             failed=failed, undecided=undecided, failures=dict(failures), note=note))
    null_rows: list[ModelRow] = []
    for j, name in enumerate(nulls):
        k = len(names) + j
        ci = intervals[k]
        above = ci.low > chance
        null_rows.append(ModelRow(name, float(null_matrix[j].mean()), (ci.low, ci.high), int(null_matrix[j].sum()),
                                  len(views), null=True, above_chance=above))
        if above:
            flagged.append(f"null model {name} scores {null_matrix[j].mean():.1%} (95% CI from {ci.low:.1%}), above "
                           f"chance ({chance:.1%}): the benchmark rewards an answer that ignores the question")

    live_intervals = [intervals[i] for i in live]
    sep = stats.separability(live_intervals)
    sep_note = None if sep is not None else (
        f"undefined: the panel has {len(live)} scored model(s); separability needs at least two")
    agreement = None
    if reference is not None:
        agreement = stats.rank_agreement([names[i] for i in live], [float(matrix[i].mean()) for i in live],
                                         live_intervals, boot[live], reference)
    live_matrix = matrix[live]
    difficulty = stats.item_difficulty(live_matrix) if live else np.zeros(len(views))
    discrimination = stats.item_discrimination(live_matrix)
    hist, _ = np.histogram(difficulty, bins=DIFFICULTY_BINS)

    run = run or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    data: dict[str, Any] = {
        "format": 1, "suite": suite, "version": version, "run": run,
        "created_at": datetime.now(UTC).isoformat(), "source_sha256": source_sha256, "items": len(views),
        "panel": [{"name": s.name, "model": s.model_name, "base_url": s.base_url} for s in solvers],
        "judge": None if judge is None else {"name": judge.name, "model": judge.model_name, "base_url": judge.base_url},
        "models": [r.as_json() for r in rows], "null_models": [r.as_json() for r in null_rows], "chance": chance,
        "separability": sep, "separability_note": sep_note,
        "agreement": None if agreement is None else {
            "models": agreement.models, "kendall_tau": agreement.kendall_tau,
            "agreement_with_confidence": agreement.agreement_with_confidence,
            "confident_pairs": agreement.confident_pairs, "pair_rank_brier": agreement.brier, "note": agreement.note},
        "difficulty_histogram": {"bins": list(DIFFICULTY_BINS), "counts": [int(c) for c in hist]},
        "flagged": flagged,
        "per_item": [
            {"id": v.id, "kind": v.kind, "target": v.target,
             "difficulty": float(difficulty[i]) if live else None, "discrimination": discrimination[i],
             "answers": {n: {"reply": replies[n][i].text, "error": replies[n][i].error,
                             "correct": None if scored[n][i] is None else scored[n][i].correct,  # type: ignore[union-attr]
                             "method": None if scored[n][i] is None else scored[n][i].method}  # type: ignore[union-attr]
                         for n in names}}
            for i, v in enumerate(views)],
        "usage": usage.snapshot(),
        "timing": {"answer_s": answer_s, "bootstrap_s": bootstrap_s, "resamples": resamples},
    }
    return Evaluation(suite=suite, version=version, run=run, models=rows, null_models=null_rows,
                      chance=chance, separability=sep, separability_note=sep_note, agreement=agreement,
                      difficulty_histogram=[int(c) for c in hist], flagged=flagged, paths={}, data=data,
                      bootstrap_s=bootstrap_s)
