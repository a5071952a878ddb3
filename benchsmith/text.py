"""Text normalisation shared by the rule checks, exact dedup and (later) MinHash/contamination.

Two texts that differ only in case, Unicode compatibility forms, whitespace or
punctuation normalise to the same string, so "What is 2+2?" and "what is 2 + 2" collide.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from benchsmith.records import Item

ItemField = Literal["prompt", "reference_answer", "choices"]

# Unicode category P* is punctuation, S* symbols (+, $, ©, emoji). Both are dropped:
# duplicate prompts often differ only in quote styles, bullets or trailing marks.
_DROP_CATEGORIES = ("P", "S")
_WS = re.compile(r"\s+")


def repeated(values: Sequence[str]) -> list[str]:
    """The values that occur more than once, sorted (for "listed twice" errors)."""
    seen: set[str] = set()
    twice: set[str] = set()
    for v in values:
        (twice if v in seen else seen).add(v)
    return sorted(twice)


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


# -- comparing short answers (answer checks) and spotting contradicted facts (true/false) --

_ARTICLES = frozenset({"a", "an", "the"})


def normalize_answer(text: str) -> str:
    """A short answer in the form answers are compared in: `normalize_text`, articles dropped
    ("The Seine." and "seine" are the same answer)."""
    return " ".join(w for w in normalize_text(text).split(" ") if w not in _ARTICLES)


# A number as people write it: -1,234.5 / 3/4 / 1 1/2 / 25% / .5 ; thousands separators only in groups of 3.
_NUMBER = re.compile(
    r"(?<![\w.])(?P<sign>[-−+])?(?:(?P<whole>\d+)\s+(?P<mnum>\d+)/(?P<mden>\d+)|(?P<num>\d+)/(?P<den>\d+)"
    r"|(?P<dec>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+))(?P<pct>\s?%|\s?percent\b)?(?![\w/])")


@dataclass(frozen=True)
class Number:
    """A number found in text: its value, how many decimals were written (None for fractions, exact),
    and whether it was a percentage ('25%' is 25 with `percent`)."""

    value: float
    decimals: int | None
    percent: bool = False
    start: int = 0
    """Offsets of the number (sign and percent sign included) in the NFKC form of the text searched."""
    end: int = 0


def numbers_in(text: str) -> list[Number]:
    """Every number in `text`, in order: integers, decimals, thousands separators, fractions, percentages."""
    out: list[Number] = []
    for m in _NUMBER.finditer(unicodedata.normalize("NFKC", text)):
        sign = -1.0 if m.group("sign") in ("-", "−") else 1.0
        decimals: int | None
        if m.group("mden") is not None:
            den = int(m.group("mden"))
            if den == 0:
                continue
            value, decimals = int(m.group("whole")) + int(m.group("mnum")) / den, None
        elif m.group("den") is not None:
            den = int(m.group("den"))
            if den == 0:
                continue
            value, decimals = int(m.group("num")) / den, None
        else:
            raw = m.group("dec").replace(",", "")
            value = float(raw)
            decimals = len(raw.split(".", 1)[1]) if "." in raw else 0
        out.append(Number(sign * value, decimals, m.group("pct") is not None, m.start(), m.end()))
    return out


def numbers_match(a: Number, b: Number, rel_tol: float = 1e-6) -> bool:
    """Whether two written numbers are the same answer: equal within `rel_tol`, or equal to the
    precision the less precise one was written with when that one has decimals (0.33 ~ 1/3, not
    16 ~ 16.4); a percentage also matches its fraction (25% ~ 0.25)."""
    def close(x: float, y: float) -> bool:
        if abs(x - y) <= rel_tol * max(abs(x), abs(y), 1e-12):
            return True
        written = [d for d in (a.decimals, b.decimals) if d is not None]
        least = min(written) if written else None
        return least is not None and least > 0 and abs(x - y) <= 0.5 * 10.0 ** -least + 1e-12

    if close(a.value, b.value):
        return True
    if a.percent != b.percent:
        pct, other = (a, b) if a.percent else (b, a)
        return abs(pct.value / 100 - other.value) <= max(rel_tol * abs(other.value), 1e-9)
    return False


_NEGATION = re.compile(r"\b(?:not|no|never|none|nor|cannot|without)\b|n't\b", re.IGNORECASE)


def has_negation(text: str) -> bool:
    """Whether `text` contains a negation word ('not', 'never', "isn't", 'cannot', 'without', ...)."""
    return _NEGATION.search(unicodedata.normalize("NFKC", text).replace("’", "'")) is not None


def contradiction_signal(statement: str, evidence: str, *, original: str | None = None,
                         changed: str | None = None) -> str | None:
    """Why `evidence` contradicts `statement` (a fact with one detail changed), or None when
    nothing shows that it does. Lexical, no model:

    - 'perturbation': the recorded change holds: `original` is in the evidence, `changed` is in
      the statement and not in the evidence;
    - 'number': the statement has a number that the evidence does not, and the evidence has numbers;
    - 'negation': one of them is negated and the other is not.
    """
    norm_s, norm_e = normalize_text(statement), normalize_text(evidence)
    if original and changed:
        o, c = normalize_text(original), normalize_text(changed)
        if (o and c and o != c and contains_phrase(norm_e, o) and contains_phrase(norm_s, c)
                and not contains_phrase(norm_e, c)):
            return "perturbation"
    ev_numbers = numbers_in(evidence)
    if ev_numbers and any(not any(numbers_match(n, e) for e in ev_numbers) for n in numbers_in(statement)):
        return "number"
    if has_negation(statement) != has_negation(evidence):
        return "negation"
    return None
