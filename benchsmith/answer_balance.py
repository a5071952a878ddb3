"""Answer balance: could a model that always gives the same answer score well on this suite?

A suite whose true/false items are mostly "True", or whose MCQs mostly have the correct
option at "A", lets a null model (one that never reads the question) beat chance. This
module measures it over the published items: per kind the answer distribution (true/false
counts, the correct option's position for MCQ), the score of the best constant answer
("always True", "always A": per kind, and over the whole suite with open answers scoring 0),
chance level (50% for true/false, 1/len(choices) for MCQ), and a warning for every kind whose
best constant answer beats chance by more than `max_excess` (10 points by default).

The flow calls it once on the items it publishes; the report lands in the run summary, the
card's "Quality" section and manifest.json like every `StageReport`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from benchsmith.quality import StageReport
from benchsmith.records import Item
from benchsmith.text import mcq_answer_index, normalize_text

__all__ = ["DEFAULT_MAX_EXCESS", "answer_balance_report"]

DEFAULT_MAX_EXCESS = 0.10
"""How far (as a share, 0.10 = 10 points) the best constant answer may beat chance before a warning."""

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _kind_figures(kind: str, answers: Counter[str], chance: float) -> dict[str, Any]:
    """Figures of one kind; answers counted under 'other' are never a constant answer's pick."""
    n = sum(answers.values())
    named = sorted((a, c) for a, c in answers.items() if a != "other")
    best, hits = max(named, key=lambda kv: kv[1]) if named else ("", 0)  # ties: the first label
    return {"kind": kind, "n": n, "distribution": dict(named), "other": answers["other"], "best_constant": best,
            "best_constant_hits": hits, "best_constant_score": hits / n, "chance": chance}


def answer_balance_report(items: Sequence[Item], *, max_excess: float = DEFAULT_MAX_EXCESS) -> StageReport | None:
    """The answer-balance report over `items` (the published ones); None when none is true/false or MCQ.

    A true/false answer other than True/False and an MCQ answer that names no option are
    counted as 'other' (they cannot be hit by a constant answer).
    """
    tf: Counter[str] = Counter()
    mcq: Counter[str] = Counter()
    mcq_chance: list[float] = []
    for item in items:
        if item.kind == "true_false":
            ref = normalize_text(item.reference_answer)
            tf[ref.capitalize() if ref in ("true", "false") else "other"] += 1
        elif item.kind == "mcq":
            idx = mcq_answer_index(item)
            mcq[_LETTERS[idx] if idx is not None and idx < len(_LETTERS) else "other"] += 1
            mcq_chance.append(1 / len(item.choices) if item.choices else 0.0)
    if not tf and not mcq:
        return None
    kinds: list[dict[str, Any]] = []
    if tf:
        kinds.append(_kind_figures("true_false", tf, 0.5))
    if mcq:
        kinds.append(_kind_figures("mcq", mcq, sum(mcq_chance) / len(mcq_chance)))

    total = len(items)
    suite_hits = sum(k["best_constant_hits"] for k in kinds)
    suite_chance = (0.5 * sum(tf.values()) + sum(mcq_chance)) / total
    facts: dict[str, str | int | float] = {}
    warnings: list[str] = []
    names = {"true_false": "true/false", "mcq": "multiple choice"}
    for k in kinds:
        label = names[k["kind"]]
        dist = ", ".join(f"{a} {n}" for a, n in k["distribution"].items())
        if k["other"]:
            dist += f", other {k['other']}"
        facts[f"{label} answers" if k["kind"] == "true_false" else f"{label} correct positions"] = dist or "none"
        facts[f"{label}: best constant answer"] = (f"always {k['best_constant']!r}: {_pct(k['best_constant_score'])} "
                                                   f"(chance {_pct(k['chance'])})")
        k["excess"] = k["best_constant_score"] - k["chance"]
        k["flagged"] = k["excess"] > max_excess + 1e-12
        if k["flagged"]:
            warnings.append(f"Unbalanced {label} answers: always answering {k['best_constant']!r} scores "
                            f"{_pct(k['best_constant_score'])} on the {k['n']} {label} items, "
                            f"{100 * k['excess']:.1f} points above chance ({_pct(k['chance'])}).")
    constants = " / ".join(repr(k["best_constant"]) for k in kinds)
    facts["best constant answer, whole suite"] = (f"{_pct(suite_hits / total)} (always {constants}; "
                                                  f"open answers score 0; chance {_pct(suite_chance)})")
    data = {"kinds": kinds, "items": total, "best_constant_score": suite_hits / total, "chance": suite_chance,
            "max_excess": max_excess, "flagged": any(k["flagged"] for k in kinds)}
    return StageReport(stage="answer_balance", title="Answer balance (null model)", facts=facts,
                       warnings=warnings, data=data)
