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
