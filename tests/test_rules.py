"""Rule checks: each rule drops what it should and keeps an ordinary item."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from benchsmith.records import Item, Lineage
from benchsmith.stages import StageContext, verifiers
from benchsmith.text import contains_phrase, mcq_answer_index, normalize_text
from benchsmith.verifiers.rules import RuleChecks, RulesConfig, check_item

LIN = Lineage(generator="test")


def make(prompt: str, answer: str = "Paris is the capital.", **kw) -> Item:
    return Item.create(prompt=prompt, reference_answer=answer, lineage=LIN, **kw)


def run(items, **config):
    stage = RuleChecks(config)
    return asyncio.run(stage.verify(items, StageContext()))


def test_registered_under_rules():
    assert verifiers.get("rules") is RuleChecks
    assert RuleChecks.scope == "item"


def test_good_item_passes():
    [v] = run([make("What is the capital city of France?", "Paris")])
    assert v.passed and v.reason is None and v.stage == "rules"


@pytest.mark.parametrize(
    ("prompt", "answer", "reason"),
    [
        ("   ", "Paris", "empty"),
        ("What is the capital city of France?", "  ", "empty_answer"),
        ("Capital?", "Paris", "too_short"),
        ("Why? " * 2000, "Because.", "too_long"),
        ("What is the capital city of France?", "x" * 5000, "too_long"),
        ("Answer this: {question}", "Paris", "template_leftover"),
        ("<your question here> about the capital of France", "Paris", "template_leftover"),
        ("[INSERT TOPIC] What is the capital of France?", "Paris", "template_leftover"),
        ("TODO: write a question about the capital of France", "Paris", "template_leftover"),
        ("#Rewritten Prompt#: What is the capital city of France?", "Paris", "template_leftover"),
        ("#Given Prompt# What is the capital city of France?", "Paris", "template_leftover"),
        ("Here is the rewritten prompt: what is the capital of France?", "Paris", "template_leftover"),
        ("What is the capital city of France?", "As an AI language model, I think Paris.", "template_leftover"),
        ("Given that the mitochondria is the powerhouse of the cell, what is the powerhouse of the cell?",
         "The mitochondria is the powerhouse of the cell.", "answer_leak"),
    ],
)
def test_each_rule_drops_with_its_reason(prompt, answer, reason):
    [v] = run([make(prompt, answer)])
    assert not v.passed
    assert v.reason == reason
    assert reason in v.details["reasons"]


def test_answer_bounds_are_configurable():
    item = make("What is the capital city of France?", "Paris")
    assert run([item], min_answer_chars=10)[0].reason == "too_short"
    assert run([item], min_answer_chars=10)[0].details["field"] == "reference_answer"
    assert run([item], max_answer_chars=3)[0].reason == "too_long"
    assert run([item], min_prompt_chars=100)[0].reason == "too_short"
    assert run([item])[0].passed


def test_ordinary_words_are_not_leftovers():
    # Lower-case "todo", a real Python f-string placeholder name and "AI model" in a topic are fine.
    item = make("In a todo list app, what does the AI model {x} placeholder in the f-string f'{x}' print?", "x")
    assert run([item])[0].passed


def test_short_answers_in_prompt_are_not_leaks():
    # "9" appears in the question legitimately; only long answers count as leaks.
    assert run([make("Which number is larger, 7 or 9?", "9")])[0].passed
    leak = make("The answer is forty two point five. What is the answer?", "forty-two point five")
    assert run([leak], min_leak_chars=8)[0].reason == "answer_leak"
    assert run([leak], min_leak_chars=40)[0].passed


def test_leak_needs_word_boundaries():
    # The normalised answer occurs only inside longer words, so it is not a leak.
    item = make("Explain how concatenate functions with catalogues work in general.", "cat functions with cat")
    assert not contains_phrase(normalize_text(item.prompt), normalize_text(item.reference_answer))
    assert run([item], min_leak_chars=3)[0].passed


@pytest.mark.parametrize(
    ("choices", "answer", "problem"),
    [
        (["Paris"], "Paris", "too_few_choices"),
        (["Paris", "paris ", "Lyon"], "Paris", "duplicate_choices"),
        (["Paris", "Lyon", "Nice"], "Marseille", "answer_not_in_choices"),
        (["Paris", "", "Nice"], "Paris", "empty_choice"),
    ],
)
def test_mcq_invalid(choices, answer, problem):
    [v] = run([make("Which city is the capital of France?", answer, kind="mcq", choices=choices)])
    assert v.reason == "mcq_invalid"
    assert v.details["problem"] == problem


def test_valid_mcq_by_text_or_letter_and_answer_in_prompt_is_no_leak():
    choices = ["The river Seine in Paris", "The river Rhone in Lyon", "The river Loire in Tours"]
    prompt = ("Which river flows through the French capital? A. The river Seine in Paris "
              "B. The river Rhone in Lyon C. The river Loire in Tours")
    by_text = make(prompt, "The river Seine in Paris", kind="mcq", choices=choices)
    by_letter = make(prompt, "(A)", kind="mcq", choices=choices)
    assert mcq_answer_index(by_text) == 0 and mcq_answer_index(by_letter) == 0
    assert [v.passed for v in run([by_text, by_letter])] == [True, True]
    assert mcq_answer_index(make(prompt, "D", kind="mcq", choices=choices)) is None


def test_details_list_every_broken_rule_first_reason_wins():
    problems = check_item(make("{question}", ""), RulesConfig())
    reasons = [r for r, _ in problems]
    assert reasons[0] == "empty_answer"
    assert "template_leftover" in reasons and "too_short" in reasons


def test_extra_patterns_and_bad_config():
    item = make("Lorem ipsum: what is the capital city of France?", "Paris")
    assert run([item])[0].passed
    assert run([item], extra_leftover_patterns=[r"\blorem ipsum\b"])[0].reason == "template_leftover"
    with pytest.raises(ValidationError, match="regular expression"):
        RulesConfig(extra_leftover_patterns=["(unclosed"])
    with pytest.raises(ValidationError, match="min_prompt_chars"):
        RulesConfig(min_prompt_chars=50, max_prompt_chars=10)
    with pytest.raises(ValidationError):
        RulesConfig(min_prompt_char=5)  # typo: unknown keys are errors


def test_progress_and_order():
    seen = []
    ctx = StageContext(progress=lambda stage, n: seen.append((stage, n)))
    items = [make("What is the capital city of France?", "Paris"), make("", "x"),
             make("What is the capital city of Spain?", "Madrid")]
    verdicts = asyncio.run(RuleChecks().verify(items, ctx))
    assert [v.passed for v in verdicts] == [True, False, True]
    assert sum(n for _, n in seen) == 3


def test_normalize_text():
    assert normalize_text("  Ｗhat’s  2+2?\n") == normalize_text("what s 2 + 2")
    assert normalize_text("STRASSE") == normalize_text("straße")


# --- a test case is a test case: the prompt asks something, the answer has content ---------

def _seed_prompts() -> list[str]:
    import json
    from pathlib import Path

    seeds = Path(__file__).resolve().parents[1] / "seeds"
    reasoning = [json.loads(line)["prompt"] for line in (seeds / "reasoning_seeds.jsonl").read_text().splitlines()
                 if line.strip()]
    coding = [line.strip() for line in (seeds / "coding_seeds.txt").read_text().splitlines()
              if line.strip() and not line.lstrip().startswith("#")]
    assert len(reasoning) == 20 and len(coding) == 15
    return reasoning + coding


def test_every_example_seed_asks_something():
    from benchsmith.verifiers.rules import prompt_asks

    assert [p for p in _seed_prompts() if not prompt_asks(p)] == []


@pytest.mark.parametrize("prompt", [
    "What is the capital city of France?",
    "What is the capital city of France",
    "True or false: The Acme parking garage opens at 6:30 on weekdays.",
    "Which of the following is a prime number? A. 4 B. 6 C. 7 D. 9",
    "List every valid order of the meetings A, B and C.",
    "Given a list of integers, return the second largest distinct number.",
    "Please summarise the Tidewater Robotics leave policy in two sentences.",
    "A train leaves at 22:45 and the journey takes 3 hours and 40 minutes. Find the arrival time.",
    "Explain why the sky looks blue at noon and red at sunset.",
    "Write a function that checks whether a string is a palindrome.",
    "Compute the area of a circle with a radius of 3 cm.",
])
def test_prompts_that_ask_pass(prompt):
    [v] = run([make(prompt, "An answer with content")])
    assert v.passed, v.details


@pytest.mark.parametrize("prompt", [
    "One tap fills a tank in 6 hours.",  # the embedded run of seeds/reasoning.yaml published this
    "The facts: 3.0 (2024)",  # and seeds/docs-example.yaml this
    "Employees at Harbor Lane Bakery, who work nights, receive 24 days of paid leave.",
    "The warranty lasts 30 days, which is short for a robot of this price.",
])
def test_statements_that_ask_nothing_are_no_question(prompt):
    [v] = run([make(prompt, "24 days")])
    assert not v.passed and v.reason == "no_question" and v.details["field"] == "prompt"
    assert run([make(prompt, "24 days")], prompt_asks=False)[0].passed


def test_extra_ask_patterns_for_other_languages():
    item = make("Calcule l'aire d'un cercle de rayon 3 cm.", "28,27 cm²")
    assert run([item])[0].reason == "no_question"
    assert run([item], extra_ask_patterns=[r"^\s*Calcule\b"])[0].passed


@pytest.mark.parametrize("answer", ["{", "...", " ?! ", "—", "[]"])
def test_answers_without_content(answer):
    [v] = run([make("What is the capital city of France?", answer)])
    assert not v.passed and v.reason == "answer_no_content" and v.details["content_chars"] == 0


def test_answer_content_threshold():
    item = make("How many sides does a triangle have?", "3")
    assert run([item])[0].passed  # one digit is content
    assert run([item], min_answer_content_chars=2)[0].reason == "answer_no_content"
    assert run([make("What is the capital city of France?", "{")], min_answer_content_chars=0)[0].passed


def test_every_item_kind_of_the_generators_passes():
    mcq = make("Which river flows through Paris?", "Seine", kind="mcq", choices=["Seine", "Rhone", "Loire"])
    tf = make("True or false: the Seine flows through Paris.", "True", kind="true_false", choices=["True", "False"])
    code = make("Write a function that reverses a list of integers.", "def f(xs):\n    return xs[::-1]", kind="code")
    opn = make("How many full boxes of 6 can a bakery fill with 100 muffins?", "16")
    assert [v.passed for v in run([mcq, tf, code, opn])] == [True, True, True, True]


@pytest.mark.parametrize("prompt", [
    "True or false: True/False:",  # the embedded docs-example run published these two
    "compare and combine",
    "True or false: the answer?",
])
def test_prompts_without_substance(prompt):
    [v] = run([make(prompt, "True")])
    assert not v.passed and "no_substance" in v.details["reasons"], v.details
    assert "no_substance" not in run([make(prompt, "True")], min_prompt_words=0)[0].details.get("reasons", [])


def test_short_real_questions_have_substance():
    from benchsmith.verifiers.rules import content_words

    assert [content_words(p) for p in ("What is 2 + 2?", "True or false: the sky is blue.", "Are webhooks retried?")] \
        == [4, 3, 3]
    assert all(content_words(p) >= 3 for p in _seed_prompts())
