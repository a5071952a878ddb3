"""Scoring one model reply against one item, without a model where that decides.

- choice items (mcq, true/false): the option the reply names, read from the forms models
  use: "B", "b)", "(B)", "B. Jupiter", "The answer is (B)", "Answer: b", the option's text
  ("Jupiter"), or for true/false "True"/"false";
- open items: numeric match when the reference is a number ("42.0" and "42", "1,000" and
  "1000", "25%" and "0.25"; the last number of the reply is its answer), else normalised
  exact match (case, punctuation, articles, whitespace; an "The answer is" lead-in dropped);
- anything else is *undecided*: the reply may say the same in other words. A judge decides
  those when `evaluate` has one; without one they count as wrong and are counted apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from benchsmith.exports.formats import LETTERS, ItemView
from benchsmith.text import normalize_answer, numbers_in, numbers_match

Method = Literal["letter", "option_text", "numeric", "exact", "judge", "undecided", "unparsed", "error"]

SHORT_ANSWER_WORDS = 8
"""References of at most this many words are short answers: text that does not match is wrong,
not undecided (a judge is asked only about longer ones)."""

_LEAD_IN = re.compile(r"^\s*(?:(?:so|thus|therefore|hence)[,:]?\s+)?(?:the\s+)?(?:final\s+|correct\s+)?"
                      r"(?:answer|option|choice)\s*(?:is|would be|:)?\s*:?\s*", re.IGNORECASE)
_LETTER_ALONE = re.compile(r"^\s*[\(\[]?\s*([A-Za-z])\s*[\)\]\.:,]?(?:\s|$)")
_LETTER_MARKED = re.compile(r"(?:answer|option|choice)\s*(?:is|would be|:)?\s*:?\s*[\(\[]?([A-Za-z])\b"
                            r"|[\(\[]([A-Za-z])[\)\]]", re.IGNORECASE)
_TRUTH = re.compile(r"\b(true|false)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Score:
    """How one reply scored: `correct` None when undecided (or the call failed)."""

    correct: bool | None
    method: Method
    parsed: str
    """What was read from the reply: the option letter, the number, or the normalised text."""


def strip_lead_in(text: str) -> str:
    """The reply without "The answer is", "Answer:", "So the final answer is" in front."""
    return _LEAD_IN.sub("", text.strip(), count=1).strip()


def parse_choice(reply: str, choices: tuple[str, ...] | list[str]) -> tuple[int, Method] | None:
    """(index, how) of the option a reply names, or None when it names none (or several)."""
    n = len(choices)
    text = reply.strip()
    if not text or n == 0:
        return None
    body = strip_lead_in(text)
    m = _LETTER_ALONE.match(body)
    # A lone letter counts only as a letter: "B", "b)", "(B)", "B. Jupiter", "B Jupiter"; not "A train".
    if m is not None:
        idx = LETTERS.find(m.group(1).upper())
        rest = body[m.end():].strip()
        punctuated = m.group(0).strip() != m.group(1)  # bracketed or followed by ) . : ,
        if 0 <= idx < n and (not rest or punctuated or normalize_answer(rest) == normalize_answer(choices[idx])):
            return idx, "letter"
    normed = [normalize_answer(c) for c in choices]
    said = normalize_answer(body)
    if said in normed and normed.count(said) == 1:
        return normed.index(said), "option_text"
    marked = {LETTERS.find((a or b).upper()) for a, b in _LETTER_MARKED.findall(text)}
    marked = {i for i in marked if 0 <= i < n}
    if len(marked) == 1:
        return marked.pop(), "letter"
    inside = [i for i, c in enumerate(normed) if c and f" {c} " in f" {said} "]
    if len(inside) == 1:
        return inside[0], "option_text"
    truths = {t.lower() for t in _TRUTH.findall(text)}
    if len(truths) == 1:
        t = truths.pop()
        hits = [i for i, c in enumerate(normed) if c == t]
        if len(hits) == 1:
            return hits[0], "option_text"
    return None


def score_reply(v: ItemView, reply: str) -> Score:
    """Score one reply to the item `v` (see the module docstring)."""
    if v.family == "choice":
        found = parse_choice(reply, v.choices)
        if found is None:
            return Score(False, "unparsed", reply.strip()[:80])
        idx, how = found
        return Score(idx == v.answer_index, how, LETTERS[idx])
    body = strip_lead_in(reply)
    ref_numbers = numbers_in(v.target)
    if len(ref_numbers) == 1 and len(v.target.split()) <= SHORT_ANSWER_WORDS:
        said = numbers_in(body)
        if said:
            last = said[-1]
            shown = f"{last.value:g}"
            return Score(numbers_match(ref_numbers[0], last), "numeric", shown)
    said_text, ref_text = normalize_answer(body), normalize_answer(v.target)
    if said_text == ref_text:
        return Score(True, "exact", said_text[:80])
    if len(v.target.split()) <= SHORT_ANSWER_WORDS:
        # A short reference inside a short reply ("It is Paris.") is the answer; a long reply is not judged here.
        if ref_text and f" {ref_text} " in f" {said_text} " and len(said_text.split()) <= 3 * len(ref_text.split()) + 3:
            return Score(True, "exact", said_text[:80])
        return Score(False, "exact", said_text[:80])
    return Score(None, "undecided", said_text[:80])
