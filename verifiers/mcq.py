"""MCQ sanity: exactly one correct option, distinct distractors, no give-away options.

Applies to `mcq` and `true_false` items; other kinds pass untouched. Options are
compared after normalisation (case, punctuation, spacing), so "Paris." and "paris"
are the same option.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field

from benchsmith.records import Item, Verdict
from benchsmith.stages import ItemVerifier, StageConfig, StageContext, verifiers
from benchsmith.text import normalize_text, repeated

McqReason = Literal["too_few_options", "empty_option", "duplicate_options", "banned_option",
                    "answer_not_in_options", "invalid_true_false"]

DEFAULT_BANNED: tuple[str, ...] = ("all of the above", "none of the above", "both a and b", "all of these",
                                   "none of these")
_LETTER = re.compile(r"^\(?([A-Ha-h])[).:]?$")


class McqConfig(StageConfig):
    """Rules for multiple-choice and true/false items."""

    min_options: int = Field(default=3, ge=2, description="MCQ items need at least this many options.")
    banned_options: list[str] = Field(
        default_factory=lambda: list(DEFAULT_BANNED),
        description="Options that are not allowed (matched after normalisation); empty list allows all.")


def check_mcq(item: Item, config: McqConfig) -> tuple[McqReason, dict[str, Any]] | None:
    """The first problem of an MCQ or true/false item, or None."""
    if item.kind == "true_false":
        ref = normalize_text(item.reference_answer)
        if ref not in {"true", "false"}:
            return "invalid_true_false", {"reference_answer": item.reference_answer}
        if item.choices and sorted(normalize_text(c) for c in item.choices) != ["false", "true"]:
            return "invalid_true_false", {"choices": item.choices}
        return None
    options = item.choices
    if len(options) < config.min_options:
        return "too_few_options", {"options": len(options), "min": config.min_options}
    normed = [normalize_text(o) for o in options]
    if any(not n for n in normed):
        return "empty_option", {"index": normed.index("")}
    dupes = repeated(normed)
    if dupes:
        return "duplicate_options", {"duplicates": dupes}
    banned = {normalize_text(b) for b in config.banned_options}
    for i, n in enumerate(normed):
        if n in banned:
            return "banned_option", {"index": i, "option": options[i]}
    ref = normalize_text(item.reference_answer)
    matches = [i for i, n in enumerate(normed) if n == ref]
    if not matches:
        m = _LETTER.match(item.reference_answer.strip())
        idx = ord(m.group(1).upper()) - ord("A") if m else -1
        if not 0 <= idx < len(options):
            return "answer_not_in_options", {"reference_answer": item.reference_answer}
    return None


@verifiers.register("mcq")
class McqSanity(ItemVerifier):
    """Drops multiple-choice items without exactly one correct, distinct option, and malformed true/false items."""

    Config: ClassVar[type[StageConfig]] = McqConfig
    scope: ClassVar[Literal["item", "set"]] = "item"
    config: McqConfig

    def check(self, item: Item, ctx: StageContext) -> Verdict:
        if item.kind not in ("mcq", "true_false"):
            return self.verdict(True, applicable=False)
        problem = check_mcq(item, self.config)
        return self.verdict(True) if problem is None else self.verdict(False, reason=problem[0], **problem[1])
