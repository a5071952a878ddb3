"""How a published item is put to a model under test: one wording for every harness.

The exports (lm-eval, inspect-ai, JSONL, CSV) and `benchsmith evaluate` all ask the same
question in the same words, so a score from a harness and one from `evaluate` measure the
same thing. Two families:

- **choice** items (`mcq`, and `true_false`, whose options are True and False when the
  item lists none): the options are lettered A, B, ... and the target is the letter;
- **open** items (`open_qa`, `code`): the target is the reference answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from benchsmith.records import Item
from benchsmith.text import mcq_answer_index, normalize_text

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
Family = Literal["choice", "open"]

OPEN_INSTRUCTION = "Give only the final answer, as short as it can be (a number, a name, a few words)."
CHOICE_INSTRUCTION = "Answer with the letter of the correct option only."


@dataclass(frozen=True)
class ItemView:
    """What a harness needs of one item."""

    id: str
    kind: str
    family: Family
    stem: str
    """The item's prompt alone (no options, no instruction)."""
    question: str
    """The item's prompt, with the lettered options for choice items (no instruction)."""
    choices: tuple[str, ...]
    """The option texts (choice items); empty for open items."""
    answer_index: int | None
    """Index of the correct option (choice items)."""
    target: str
    """The expected answer: the option letter (choice items) or the reference answer."""
    reference_answer: str

    @property
    def instruction(self) -> str:
        """How to answer, one sentence."""
        return CHOICE_INSTRUCTION if self.family == "choice" else OPEN_INSTRUCTION

    @property
    def prompt(self) -> str:
        """The whole prompt sent to a chat model: question, options, instruction."""
        return f"{self.question}\n\n{self.instruction}"

    @property
    def letters(self) -> tuple[str, ...]:
        """The option letters, A, B, ... (choice items)."""
        return tuple(LETTERS[: len(self.choices)])


def true_false_choices(item: Item) -> list[str]:
    """The options of a true/false item: its own when it lists two, else True and False."""
    if len(item.choices) == 2:
        return list(item.choices)
    return ["True", "False"]


def answer_index(item: Item, choices: list[str]) -> int | None:
    """Index of the correct option among `choices` (a choice text or letter as the reference)."""
    if item.kind == "true_false":
        ref = normalize_text(item.reference_answer)
        normed = [normalize_text(c) for c in choices]
        return normed.index(ref) if ref in normed else None
    return mcq_answer_index(item)


def view(item: Item) -> ItemView:
    """The harness view of `item`. A choice item whose answer is not among its options is
    treated as open (the mcq verifier drops such items; an export never guesses)."""
    if item.kind in ("mcq", "true_false"):
        choices = true_false_choices(item) if item.kind == "true_false" else list(item.choices)
        idx = answer_index(item, choices)
        if idx is not None and 0 < len(choices) <= len(LETTERS):
            options = "\n".join(f"{LETTERS[i]}. {c}" for i, c in enumerate(choices))
            return ItemView(id=item.id, kind=item.kind, family="choice", stem=item.prompt.strip(),
                            question=f"{item.prompt.strip()}\n\n{options}", choices=tuple(choices),
                            answer_index=idx, target=LETTERS[idx], reference_answer=item.reference_answer)
    return ItemView(id=item.id, kind=item.kind, family="open", stem=item.prompt.strip(),
                    question=item.prompt.strip(), choices=(),
                    answer_index=None, target=item.reference_answer.strip(),
                    reference_answer=item.reference_answer)


def task_name(suite: str, version: str) -> str:
    """A harness task name for a version: lower-case letters, digits and '_' ('reasoning_mini_2026_11')."""
    raw = f"{suite}_{version}".lower()
    name = "".join(ch if ch.isalnum() else "_" for ch in raw)
    name = "_".join(p for p in name.split("_") if p)
    return name if name[:1].isalpha() else f"b_{name}"
