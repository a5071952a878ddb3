"""Checks on published rows shared by the fault tests and `bench/faults.py`, and example seeds."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from benchsmith.records import content_hash

EXAMPLE_SEEDS: tuple[str, ...] = (
    "A train leaves at 9:10 and arrives at 11:45. How long is the journey in minutes?",
    "Write a function that returns the second largest distinct number in a list.",
    "A rectangle has a perimeter of 30 cm and one side of 6 cm. What is its area?",
    "Three friends split a bill of 84 dollars so that one pays twice as much as each other. Who pays what?",
    "Explain why the sum of two odd numbers is always even, with a short proof.",
    "A tank fills at 12 litres per minute and drains at 4 litres per minute. How long to fill 200 litres?",
)
"""Seed prompts of the small suites the tests and benches build on the fake server."""

_ID = re.compile(r"^[0-9a-f]{16}$")


def malformed_rows(rows: Iterable[dict[str, Any]], *, stages: Sequence[str] = ("rules", "llm_judge"),
                   generator: str = "evolve") -> list[tuple[str, str]]:
    """(id, problem) for every published row that is not a well-formed item.

    Well formed: a 16-hex id that is the content hash and unique, a non-empty prompt and
    reference answer, every verdict passed and each of `stages` present, the judge's five
    scores integers 1-5 (when judged), and lineage from `generator` with a seed id.
    """
    bad: list[tuple[str, str]] = []
    seen: set[str] = set()
    for row in rows:
        rid = row.get("id")
        problems = []
        if not isinstance(rid, str) or not _ID.match(rid):
            problems.append(f"id {rid!r}")
        elif rid in seen:
            problems.append("duplicate id")
        prompt, answer = row.get("prompt"), row.get("reference_answer")
        if not isinstance(prompt, str) or not prompt.strip():
            problems.append("empty prompt")
        if not isinstance(answer, str) or not answer.strip():
            problems.append("empty reference_answer")
        if isinstance(prompt, str) and isinstance(answer, str) and isinstance(rid, str) and \
                rid != content_hash(row.get("kind"), prompt.strip(), answer.strip(), list(row.get("choices") or [])):
            problems.append("id is not the content hash")
        verdicts = row.get("verdicts") or []
        names = [v.get("stage") for v in verdicts]
        if not verdicts or not all(v.get("passed") for v in verdicts):
            problems.append(f"verdicts {[(v.get('stage'), v.get('passed'), v.get('reason')) for v in verdicts]}")
        missing = [s for s in stages if s not in names]
        if missing:
            problems.append(f"missing verdicts {missing}: stages {names}")
        judge = next((v for v in verdicts if v.get("stage") == "llm_judge"), None)
        if judge is not None:
            scores = json.loads(judge.get("details") or "{}").get("scores") or {}
            if len(scores) != 5 or not all(isinstance(s, int) and 1 <= s <= 5 for s in scores.values()):
                problems.append(f"judge scores {scores}")
        if not row.get("seed_id") or (row.get("lineage") or {}).get("generator") != generator:
            problems.append("lineage")
        seen.add(str(rid))
        bad.extend((str(rid), p) for p in problems)
    return bad
