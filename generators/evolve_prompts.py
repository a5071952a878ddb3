"""Prompt templates for the Evol-Instruct generator, and clean-up of what models send back.

The templates have to work for a 135M-parameter model under grammar-constrained JSON as
well as for strong models, so each one is short, states one task, and shows exactly one
example of the output object. In-depth operators rewrite the given prompt into a harder
one; the in-breadth operator writes a brand-new prompt in the same domain.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from benchsmith.text import clean_text

EvolveKind = Literal["open_qa", "code"]

IN_DEPTH_OPERATORS: tuple[str, ...] = (
    "add_constraints", "deepen", "concretize", "increase_reasoning", "complicate_input",
)
IN_BREADTH_OPERATORS: tuple[str, ...] = ("breadth",)
ALL_OPERATORS: tuple[str, ...] = IN_DEPTH_OPERATORS + IN_BREADTH_OPERATORS

# One sentence per operator: what to change. Kept imperative and concrete for small models.
_INSTRUCTIONS: dict[EvolveKind, dict[str, str]] = {
    "open_qa": {
        "add_constraints": "Add one new condition or requirement to the question so that it is harder to answer.",
        "deepen": "Make the question go deeper: ask for a more exact result or the reason behind it.",
        "concretize": "Replace general words in the question with specific details: names, numbers, places.",
        "increase_reasoning": "Change the question so that answering it needs several steps of reasoning.",
        "complicate_input": "Give the question more input to work with, such as a short list of values or "
                             "extra facts that must all be used.",
        "breadth": "Write a brand-new question on a different topic in the same field{domain_hint}, "
                   "about as long and as hard as the question below.",
    },
    "code": {
        "add_constraints": "Add one new requirement to the task, such as an edge case to handle or a limit on "
                           "time or memory.",
        "deepen": "Make the task go deeper: ask for a more general or more exact solution.",
        "concretize": "Replace general words in the task with specifics: a function name, argument types "
                      "and an example input with its output.",
        "increase_reasoning": "Change the task so that solving it needs an algorithm with several steps.",
        "complicate_input": "Make the input of the task more complex, for example nested lists, records with "
                            "several fields, or more than one argument.",
        "breadth": "Write a brand-new programming task on a different topic in the same field{domain_hint}, "
                   "about as long and as hard as the task below.",
    },
}

# The one example of the output object shown to the model. For open questions it holds
# placeholders: given a worked example, SmolLM2-135M copied its topic into most items,
# while strong models need only the shape. For code a real function works better: with
# placeholders the tiny model answered '<a Python solution>' instead of writing code.
# Outputs that copy the example's question are dropped ('copied_example').
EXAMPLES: dict[EvolveKind, dict[str, str]] = {
    "open_qa": {"question": "<the new question>", "reference_answer": "<its correct answer>"},
    # A neutral name: the tiny model reuses the example's function name in its own answers.
    "code": {"question": "Write a function solve(xs) that returns the sum of the even numbers in the list xs.",
             "reference_answer": "def solve(xs):\n    return sum(x for x in xs if x % 2 == 0)"},
}

_SYSTEM = {
    "open_qa": "You write exam questions with correct answers. You always reply with one JSON object.",
    "code": "You write programming tasks with correct solutions. You always reply with one JSON object.",
}

_NOUN = {"open_qa": "question", "code": "task"}


def output_schema(kind: EvolveKind) -> dict[str, Any]:
    """The JSON schema every evolve call asks for: one test case with its reference answer."""
    return {
        "type": "object",
        "properties": {
            # A question under ~15 characters is never a usable test case.
            "question": {"type": "string", "minLength": 15},
            "reference_answer": {"type": "string", "minLength": 1},
        },
        "required": ["question", "reference_answer"],
        "additionalProperties": False,
    }


def build_messages(*, operator: str, prompt: str, kind: EvolveKind, domain: str | None = None,
                   difficulty: str | None = None, item_language: str | None = None,
                   code_language: str = "Python") -> list[dict[str, str]]:
    """Chat messages asking to evolve `prompt` with `operator` into a test case plus answer."""
    noun = _NOUN[kind]
    domain_hint = f" ({domain})" if domain else ""
    instruction = _INSTRUCTIONS[kind][operator].format(domain_hint=domain_hint)
    if operator == "breadth":
        head = instruction
    else:
        head = f"Rewrite the {noun} below into a harder one. {instruction}"
    answer_what = (f"a short, correct {code_language} solution" if kind == "code"
                   else "the correct answer, short")
    rules = [
        f"Keep the new {noun} short (under 60 words) and self-contained.",
        f"Also give {answer_what}.",
    ]
    if difficulty:
        rules.append(f"The new {noun} should be {difficulty} for a strong student.")
    if item_language:
        rules.append(f"Write the {noun} and the answer in {item_language}.")
    # The seed goes last: small models continue from what they read most recently, and
    # put first they tend to copy the format example instead of rewriting the seed.
    lines = [head, *rules, "Reply with JSON only, in this form:", example_json(kind), "",
              f"{noun.capitalize()}: {prompt}"]
    return [{"role": "system", "content": _SYSTEM[kind]}, {"role": "user", "content": "\n".join(lines)}]


def example_json(kind: EvolveKind) -> str:
    """The format example shown to the model."""
    return json.dumps(EXAMPLES[kind], ensure_ascii=False)


def copies_example(text: str, kind: EvolveKind) -> bool:
    """True when `text` is the format example's question, or contains it verbatim."""
    example = EXAMPLES[kind]["question"]
    return normalise(text) == normalise(example) or example.lower() in text.lower()


def clean_code_answer(text: str) -> str:
    """Unwrap a ```fenced``` solution; keep code indentation intact."""
    out = clean_text(text) if not text.lstrip().startswith("```") else text.strip()
    fenced = re.fullmatch(r"```[\w+-]*\n?(.*?)\n?```", out, re.DOTALL)
    return fenced.group(1).rstrip() if fenced else out


def normalise(text: str) -> str:
    """Case- and whitespace-insensitive form used to spot echoed or copied prompts."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())
