"""Code examples of a prompt: the doctest calls and expected outputs that pin down which function it asks for.

A reworded code prompt keeps its examples: `>>> f([], 'a')` with `[]`, and
`f(['abc', 'bacd'], 'a')` with `['abc', 'bacd']`, survive a new docstring, a renamed
function and renamed parameters. Another task of the same benchmark rarely has the same
calls with the same outputs, even when its wording is nearly the same (HumanEval's
`filter_by_prefix` and `filter_by_substring` share their docstring's phrasing and their
trivial first example, not the second). So the set of examples two texts share is
evidence of the same problem that embeddings, which score such twin tasks alike, lack.

`split_examples` finds them in two shapes, the ones HumanEval-style prompts use:
- a doctest: a `>>> call` line and the output lines under it (up to a blank line, the next
  `>>>` or the end of the docstring);
- a line calling one of the functions the prompt defines (`def name(`), with whatever
  follows it on that line (`== 3`, `➞ True`, `=> "YES"`, `should return 16`).

Each example is normalised so that the edits a rephrasing may make do not change it:
the defined function names are masked (renames are allowed), whitespace and case are
dropped, quotes are one kind, and the arrow between call and result is one symbol. What
is left is the text *outside* the examples (`prose`): where the numbers of the problem
itself live, as opposed to the values of its examples (`benchsmith.index.rarity`).

Texts with no `def` and no `>>>` (word problems, questions) have no examples and their
prose is the whole text, so this signal is silent outside code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from benchsmith.index.rarity import RarityWeights, TokenSets, _rows, _shared, pair_overlap, value_sets

_DEF = re.compile(r"^\s*(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)
_DOCTEST = re.compile(r"^\s*>>>\s?(.*)$")
_DOC_END = re.compile(r"^\s*(?:[rRuUbB]{0,2})?(\"\"\"|''')")
_ARROW = re.compile(r"#?(?:==>|=>|➞|->|→|==|shouldreturn|returns|=)")
_LEAD = re.compile(r"^(?:[*\-•]|assert|for|print)+")
_QUOTE = re.compile(r"[\"“”‘’`]")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Examples:
    """A text's normalised code examples (in order, repeats dropped) and the text without them."""

    examples: tuple[str, ...]
    prose: str


def _normalise(example: str, names: re.Pattern[str] | None) -> str:
    text = names.sub("f", example) if names is not None else example
    text = _SPACE.sub("", text).casefold()
    text = _QUOTE.sub("'", text)
    text = _LEAD.sub("", text)
    return _ARROW.sub("→", text).rstrip(".,;")


def split_examples(text: str) -> Examples:
    """The code examples of `text` and its prose (module docstring); no examples outside code."""
    if ">>>" not in text and "def " not in text:
        return Examples((), text)
    defined = sorted(set(_DEF.findall(text)), key=len, reverse=True)
    names = re.compile(r"\b(?:" + "|".join(map(re.escape, defined)) + r")\b") if defined else None
    calls = re.compile(r"\b(?:" + "|".join(map(re.escape, defined)) + r")\s*\(\s*[^)\s]") if defined else None
    lines = text.split("\n")
    found: list[str] = []
    prose: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        doctest = _DOCTEST.match(line)
        if doctest:
            out: list[str] = []
            j = i + 1
            while j < len(lines) and lines[j].strip() and not _DOCTEST.match(lines[j]) \
                    and not _DOC_END.match(lines[j]):
                out.append(lines[j].strip())
                j += 1
            found.append(_normalise(doctest.group(1) + " → " + " ".join(out), names))
            i = j
            continue
        if calls is not None and not _DEF.match(line) and calls.search(line):
            found.append(_normalise(line, names))
        else:
            prose.append(line)
        i += 1
    return Examples(tuple(dict.fromkeys(e for e in found if e)), "\n".join(prose))


def example_sets(texts: Sequence[str]) -> TokenSets:
    """The distinct normalised examples of each text, hashed, in the `TokenSets` layout (empty outside code)."""
    return value_sets([split_examples(t).examples for t in texts])


def prose_texts(texts: Sequence[str]) -> list[str]:
    """Each text without its code examples (the text itself where it has none)."""
    return [split_examples(t).prose for t in texts]


def example_agreement(queries: TokenSets, q_rows: np.ndarray, refs: TokenSets, r_rows: np.ndarray,
                      weights: RarityWeights) -> np.ndarray:
    """Per pair, in [0, 1]: how much of the two texts' code examples agree, when none was changed.

    When one side's examples are all among the other's (the same examples, or some dropped or
    added), the rarity-weighted share of the *heavier* side's examples that the two share: 1 when
    they are the same, less the more was dropped (weights are the examples' rarity in the reference
    corpus, so a trivial `f([]) -> []` counts little). When each side has an example the other lacks
    (two tasks that share one example, as twin tasks of a benchmark do, or examples changed), 0: no
    evidence either way. 0 also when either text has none.
    """
    q_rows, r_rows = _rows(q_rows, r_rows)
    n_pairs = len(q_rows)
    if n_pairs == 0:
        return np.zeros(0, dtype=np.float64)
    share = pair_overlap(queries, q_rows, refs, r_rows, weights, lighter=False)
    _, a_pair, shared = _shared(queries, q_rows, refs, r_rows)
    got = np.bincount(a_pair[shared], minlength=n_pairs)
    contained = got >= np.minimum(queries.lengths()[q_rows], refs.lengths()[r_rows])
    out: np.ndarray = np.where(contained & (got > 0), share, 0.0)
    return out
