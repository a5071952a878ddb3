"""Text normalisation shared by the rule checks, exact dedup and (later) MinHash/contamination.

Two texts that differ only in case, Unicode compatibility forms, whitespace or
punctuation normalise to the same string, so "What is 2+2?" and "what is 2 + 2" collide.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Literal

from benchsmith.records import Item

ItemField = Literal["prompt", "reference_answer", "choices"]

# Unicode category P* is punctuation, S* symbols (+, $, ©, emoji). Both are dropped:
# duplicate prompts often differ only in quote styles, bullets or trailing marks.
_DROP_CATEGORIES = ("P", "S")
_WS = re.compile(r"\s+")


def _strip_punct(text: str) -> str:
    # Replaced by a space rather than removed so "2+2" and "2 + 2" normalise alike and
    # "end.Start" does not glue two words together.
    return "".join(" " if unicodedata.category(ch)[0] in _DROP_CATEGORIES else ch for ch in text)


def normalize_text(text: str, *, strip_punctuation: bool = True) -> str:
    """NFKC, casefold, (optionally) punctuation/symbols to spaces, whitespace collapsed, stripped."""
    out = unicodedata.normalize("NFKC", text).casefold()
    if strip_punctuation:
        out = _strip_punct(out)
    return _WS.sub(" ", out).strip()


def contains_phrase(haystack_norm: str, needle_norm: str) -> bool:
    """Whether normalised `needle` occurs in normalised `haystack` on word boundaries.

    Both arguments must already be normalised: word boundaries are then single spaces,
    so "cat" does not match inside "concatenate".
    """
    if not needle_norm:
        return False
    return f" {needle_norm} " in f" {haystack_norm} "


def item_text(item: Item, fields: Sequence[ItemField] = ("prompt",)) -> str:
    """The text of an item that dedup compares: the chosen fields joined by newlines."""
    parts: list[str] = []
    for name in fields:
        if name == "prompt":
            parts.append(item.prompt)
        elif name == "reference_answer":
            parts.append(item.reference_answer)
        elif name == "choices":
            parts.extend(item.choices)
        else:  # pragma: no cover - guarded by the Literal type in stage configs
            raise ValueError(f"unknown item field {name!r}; expected prompt, reference_answer or choices")
    return "\n".join(parts)


# -- model output clean-up and MCQ answers (generators and verifiers both need these) --

_PLACEHOLDER = re.compile(r"\s*<[^<>\n]{1,80}>\s*")


def is_placeholder(text: str) -> bool:
    """True for a bare '<...>' placeholder such as '<its correct answer>' or '<python solution>'."""
    return _PLACEHOLDER.fullmatch(text) is not None


# Leftovers that Evol-Instruct-style prompts make models echo before the real text:
# '#Rewritten Prompt#:', '**New question:**', 'Question:', 'Answer -' and the like.
_LABEL = re.compile(
    r"""^\s*(?:[#*_\s]*)
        (?:the\s+)?(?:rewritten|new|created|given|evolved|harder|final|reference|correct)?\s*
        (?:prompt|question|task|instruction|problem|answer|solution)\s*
        (?:[#*_\s]*)[:\-–]\s*(?:[#*_]*)\s*""",
    re.IGNORECASE | re.VERBOSE,
)
_BARE_MARKUP = re.compile(r"^\s*#+[^#\n]{0,40}#+\s*:?\s*")  # '#Rewritten Prompt#' with no colon
_QUOTES = ('"', "'", "“", "”", "`")


def clean_text(text: str) -> str:
    """Strip echoed labels, markdown bold and wrapping quotes from a model's text field."""
    out = text.strip()
    for _ in range(3):  # labels can stack: '#Rewritten Prompt#: Question: ...'
        before = out
        out = _LABEL.sub("", out, count=1)
        out = _BARE_MARKUP.sub("", out, count=1)
        out = out.strip()
        if out == before:
            break
    if len(out) >= 2 and out[0] in _QUOTES and out[-1] in _QUOTES and "\n" not in out:
        out = out[1:-1].strip()
    return out


_LETTER = re.compile(r"^\(?([A-Za-z])[).:]?$")


def mcq_answer_index(item: Item) -> int | None:
    """Index of the correct choice: the answer is a choice's text (up to case and spacing) or its letter
    ('B', '(b)', 'B.'); None when it is neither."""
    answer = item.reference_answer.strip()
    normed = [normalize_text(c, strip_punctuation=False) for c in item.choices]
    target = normalize_text(answer, strip_punctuation=False)
    if target in normed:
        return normed.index(target)
    m = _LETTER.match(answer)
    if m:
        idx = ord(m.group(1).upper()) - ord("A")
        if idx < len(item.choices):
            return idx
    return None
