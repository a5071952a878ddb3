"""Cheap rule checks that need no model: length bounds, leftovers, leaks, broken MCQs.

They run first because they are free and catch the commonest failures of small
generator models: an empty answer, an evol-instruct scaffold ("#Rewritten Prompt#")
left in the text, a question that quotes its own answer, a multiple-choice item whose
answer is not among its choices.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from benchsmith.records import Item, Verdict
from benchsmith.stages import ItemVerifier, StageConfig, StageContext, verifiers
from benchsmith.text import contains_phrase, mcq_answer_index, normalize_text

# Scaffolding that a generator copied from its instructions instead of replacing.
# Case-insensitive unless noted; kept specific so that real prompts rarely match.
DEFAULT_LEFTOVER_PATTERNS: tuple[str, ...] = (
    # {question}, {{ prompt }}, {INSERT_TOPIC}: template variables that were never filled in.
    r"\{\{?\s*(?:question|prompt|answer|instruction|input|context|topic|text|passage|"
    r"placeholder|insert[\w ]*|your[\w ]*)\s*\}?\}",
    r"<\s*(?:your|insert|enter|add)\b[^>]*>",  # <your question here>
    r"\[\s*(?:insert|placeholder|your\s+\w+)",  # [INSERT ...], [your question]
    r"(?-i:\bTODO\b)",  # upper-case only: "todo list" is ordinary text
    r"\bas an ai (?:language )?model\b",
    r"\bhere is the (?:rewritten|revised|new|created|evolved) (?:prompt|question|instruction)\b",
    r"#\s*(?:rewritten|given|created|new|evolved)\s+prompt\s*#",
    r"^\s*(?:rewritten|given|created) prompt\s*:",
)

RuleReason = Literal["empty", "empty_answer", "template_leftover", "too_short", "too_long", "mcq_invalid",
                     "answer_leak"]


class RulesConfig(StageConfig):
    """Thresholds for the rule checks."""

    min_prompt_chars: int = Field(default=15, ge=0, description="Prompts shorter than this (stripped) are 'too_short'.")
    max_prompt_chars: int = Field(default=4000, ge=1, description="Prompts longer than this are 'too_long'.")
    min_answer_chars: int = Field(default=1, ge=1, description="Non-empty answers shorter than this are 'too_short'.")
    max_answer_chars: int = Field(default=4000, ge=1, description="Reference answers longer than this are 'too_long'.")
    min_leak_chars: int = Field(
        default=12, ge=1,
        description="A normalised answer at least this long that appears verbatim in the prompt is an 'answer_leak'. "
                    "Shorter answers (numbers, single words) appear in honest questions too often to count.")
    check_leftovers: bool = Field(default=True,
                                  description="Look for template/scaffold leftovers in prompt and answer.")
    extra_leftover_patterns: list[str] = Field(
        default_factory=list, description="More regular expressions (case-insensitive) that mark a template leftover.")
    min_choices: int = Field(default=2, ge=2, description="MCQ items need at least this many choices.")

    @field_validator("extra_leftover_patterns")
    @classmethod
    def _valid_regexes(cls, patterns: list[str]) -> list[str]:
        for p in patterns:
            try:
                re.compile(p)
            except re.error as err:
                raise ValueError(f"not a valid regular expression {p!r}: {err}") from None
        return patterns

    @model_validator(mode="after")
    def _bounds_ordered(self) -> RulesConfig:
        if self.min_prompt_chars > self.max_prompt_chars:
            raise ValueError(f"min_prompt_chars ({self.min_prompt_chars}) > max_prompt_chars ({self.max_prompt_chars})")
        if self.min_answer_chars > self.max_answer_chars:
            raise ValueError(f"min_answer_chars ({self.min_answer_chars}) > max_answer_chars ({self.max_answer_chars})")
        return self


def _compile(patterns: Sequence[str]) -> list[re.Pattern[str]]:
    return [re.compile(p, re.IGNORECASE | re.MULTILINE) for p in patterns]


def find_leftover(text: str, patterns: Sequence[re.Pattern[str]]) -> str | None:
    """The first template leftover found in `text`, or None."""
    for pat in patterns:
        m = pat.search(text)
        if m:
            return m.group(0)
    return None


def check_item(item: Item, config: RulesConfig, patterns: Sequence[re.Pattern[str]] | None = None
               ) -> list[tuple[RuleReason, dict[str, object]]]:
    """Every rule the item breaks, most fundamental first, each with details."""
    if patterns is None:
        patterns = _compile([*DEFAULT_LEFTOVER_PATTERNS, *config.extra_leftover_patterns])
    prompt, answer = item.prompt.strip(), item.reference_answer.strip()
    problems: list[tuple[RuleReason, dict[str, object]]] = []
    if not prompt:
        problems.append(("empty", {"field": "prompt"}))
    if not answer:
        problems.append(("empty_answer", {"field": "reference_answer"}))
    if config.check_leftovers:
        for field, text in (("prompt", prompt), ("reference_answer", answer)):
            found = find_leftover(text, patterns)
            if found is not None:
                problems.append(("template_leftover", {"field": field, "match": found}))
    if prompt and len(prompt) < config.min_prompt_chars:
        problems.append(("too_short", {"field": "prompt", "chars": len(prompt), "min": config.min_prompt_chars}))
    if len(prompt) > config.max_prompt_chars:
        problems.append(("too_long", {"field": "prompt", "chars": len(prompt), "max": config.max_prompt_chars}))
    if answer and len(answer) < config.min_answer_chars:
        problems.append(("too_short", {"field": "reference_answer", "chars": len(answer),
                                       "min": config.min_answer_chars}))
    if len(answer) > config.max_answer_chars:
        problems.append(("too_long", {"field": "reference_answer", "chars": len(answer),
                                      "max": config.max_answer_chars}))
    answer_is_choice = False
    if item.kind == "mcq":
        mcq = _mcq_problem(item, config.min_choices)
        if mcq is not None:
            problems.append(("mcq_invalid", mcq))
        answer_is_choice = mcq_answer_index(item) is not None
    # An MCQ prompt often lists its options, so the correct option in the prompt is no leak.
    if prompt and answer and not answer_is_choice:
        norm_answer = normalize_text(answer)
        if len(norm_answer) >= config.min_leak_chars and contains_phrase(normalize_text(prompt), norm_answer):
            problems.append(("answer_leak", {"answer": norm_answer}))
    return problems


def _mcq_problem(item: Item, min_choices: int) -> dict[str, object] | None:
    choices = [c.strip() for c in item.choices]
    if len(choices) < min_choices:
        return {"problem": "too_few_choices", "choices": len(choices), "min": min_choices}
    if any(not c for c in choices):
        return {"problem": "empty_choice"}
    normed = [normalize_text(c, strip_punctuation=False) for c in choices]
    dupes = sorted({c for c in normed if normed.count(c) > 1})
    if dupes:
        return {"problem": "duplicate_choices", "duplicates": dupes}
    if mcq_answer_index(item) is None:
        return {"problem": "answer_not_in_choices"}
    return None


@verifiers.register("rules")
class RuleChecks(ItemVerifier):
    """Drops items that break a cheap rule; the reason is the first rule broken, details list them all."""

    Config: ClassVar[type[StageConfig]] = RulesConfig
    scope: ClassVar[Literal["item", "set"]] = "item"
    config: RulesConfig

    def __init__(self, config: RulesConfig | dict[str, object] | None = None) -> None:
        super().__init__(config)  # type: ignore[arg-type]
        self._patterns = _compile([*DEFAULT_LEFTOVER_PATTERNS, *self.config.extra_leftover_patterns])

    def check(self, item: Item, ctx: StageContext) -> Verdict:
        problems = check_item(item, self.config, self._patterns)
        if not problems:
            return self.verdict(True)
        reason, first = problems[0]
        return self.verdict(False, reason=reason, **first, reasons=[r for r, _ in problems])
