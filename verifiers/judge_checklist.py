"""Checklist judging (TICK, Cook et al. 2024): the judge writes yes/no checks, then answers them.

Call 1 shows the judge the test case and asks for up to `k` yes/no questions that a
sound version of it must satisfy (each phrased so that "yes" is good). Call 2 shows the
test case again with those checks and asks for an answer to each, with a short reason.
The item's score is the share of "yes": a score the judge cannot inflate by a vague
overall impression, since every point is tied to one stated check.

Both calls go through the role's LLM client (schema-checked, repaired once, cached):
the checks are part of the second request, so a rerun replays both from the cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchsmith.errors import LLMOutputError
from benchsmith.records import Item

CHECKLIST_REQUEST = "Write the checklist for this test case."
"""Opens the user message of call 1 (tests script the fake server by it)."""
ANSWER_REQUEST = "Answer every check for this test case."
"""Opens the user message of call 2."""

CHECKLIST_SYSTEM = (
    "You are a strict reviewer of benchmark test cases. For the test case you are shown, write a checklist: "
    "short yes/no questions that a sound version of this particular test case must satisfy, each phrased so "
    "that 'yes' is good. Cover whether the question is clear and unambiguous, whether it can be answered "
    "without unseen context, whether it has one checkable answer, and whether the reference answer is "
    "correct and complete, with checks specific to this test case rather than generic ones. "
    "Reply with JSON only."
)

ANSWER_SYSTEM = (
    "You are a strict reviewer of benchmark test cases. Answer each check of the checklist about the test case "
    "with 'yes' or 'no' and a one sentence reason. Judge the reference answer yourself; do not trust it. "
    "Answer 'no' when in doubt. Reply with JSON only, one answer per check, in the checklist's order."
)


def item_block(item: Item) -> str:
    """The test case as the judge sees it (the rubric judge shows the same)."""
    parts = [f"Kind: {item.kind}", f"Question:\n{item.prompt.strip()}"]
    if item.choices:
        parts.append("Choices:\n" + "\n".join(f"{chr(ord('A') + i)}. {c}" for i, c in enumerate(item.choices)))
    parts.append(f"Reference answer:\n{item.reference_answer.strip()}")
    if item.citations:
        parts.append("Supporting quotes:\n" + "\n".join(f"- {c.quote.strip()}" for c in item.citations))
    return "\n\n".join(parts)


def checklist_schema(max_checks: int) -> dict[str, Any]:
    """JSON schema of call 1: between 1 and `max_checks` checks."""
    return {"type": "object",
            "properties": {"checks": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                                      "maxItems": max_checks}},
            "required": ["checks"], "additionalProperties": False}


def checklist_messages(item: Item, max_checks: int) -> list[dict[str, str]]:
    """The chat messages of call 1."""
    return [{"role": "system", "content": CHECKLIST_SYSTEM},
            {"role": "user", "content": f"{CHECKLIST_REQUEST} Write at most {max_checks} checks.\n\n"
                                        f"{item_block(item)}"}]


def answers_schema(n_checks: int) -> dict[str, Any]:
    """JSON schema of call 2: exactly one yes/no answer (with a reason) per check."""
    answer = {"type": "object", "properties": {"answer": {"type": "string", "enum": ["yes", "no"]},
                                               "reason": {"type": "string"}},
              "required": ["answer", "reason"], "additionalProperties": False}
    return {"type": "object",
            "properties": {"answers": {"type": "array", "items": answer, "minItems": n_checks,
                                       "maxItems": n_checks}},
            "required": ["answers"], "additionalProperties": False}


def answers_messages(item: Item, checks: list[str]) -> list[dict[str, str]]:
    """The chat messages of call 2."""
    listed = "\n".join(f"{i}. {c}" for i, c in enumerate(checks, 1))
    return [{"role": "system", "content": ANSWER_SYSTEM},
            {"role": "user", "content": f"{ANSWER_REQUEST}\n\n{item_block(item)}\n\nChecklist:\n{listed}"}]


def read_checks(answer: dict[str, Any], max_checks: int) -> list[str]:
    """The checks of call 1's answer, stripped, without blanks or repeats."""
    checks = list(dict.fromkeys(" ".join(str(c).split()) for c in answer.get("checks", [])))
    checks = [c for c in checks if c][:max_checks]
    if not checks:
        raise LLMOutputError("the judge wrote a checklist with no usable check", reason="schema_mismatch")
    return checks


@dataclass(frozen=True)
class ChecklistResult:
    """One judge's checklist verdict on one item."""

    checks: list[str]
    answers: list[bool]
    reasons: list[str]

    @property
    def score(self) -> float:
        """Share of checks answered 'yes'."""
        return sum(self.answers) / len(self.answers)

    def details(self, reason_max_chars: int) -> dict[str, Any]:
        return {"checks": self.checks, "answers": ["yes" if a else "no" for a in self.answers],
                "reasons": [r[:reason_max_chars] for r in self.reasons]}


def read_answers(checks: list[str], answer: dict[str, Any]) -> ChecklistResult:
    """Call 2's answer against the checks it answers."""
    rows = answer.get("answers", [])
    if len(rows) != len(checks):  # the schema fixes the length; a lenient endpoint may not enforce it
        raise LLMOutputError(f"the judge answered {len(rows)} of {len(checks)} checks", reason="schema_mismatch")
    return ChecklistResult(checks=checks, answers=[str(r.get("answer")) == "yes" for r in rows],
                           reasons=[str(r.get("reason", "")) for r in rows])
