"""Canaries: deliberately defective items planted among a run's candidates.

A canary is derived from a real candidate and carries its defect under
`metadata["canary"]`; it goes through the verifiers like any other item and is never
published. How many of them each stage caught says whether the filters work.

Everything here is a pure function of its inputs (candidates, a seed, the corpus), so the
same run plants the same canaries and a rerun replays its cached tasks. Which stage is
expected to catch which defect is not fixed here: the core knows no stage by name, and
`catch_report` only reads the verdicts the canaries came back with.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from benchsmith.errors import is_transient
from benchsmith.quality import StageReport
from benchsmith.records import Citation, Item, content_hash
from benchsmith.text import normalize_answer, normalize_text

if TYPE_CHECKING:
    from benchsmith.documents import Corpus

CANARY_KEY = "canary"
"""The metadata key that marks a canary; its value names the defect."""
SOURCE_KEY = "canary_of"
"""The metadata key holding the id of the real item a canary was derived from."""

Defect = Literal["swapped_answer", "truncated_question", "answer_in_question", "near_copy", "fake_quote"]
DEFECTS: tuple[Defect, ...] = ("swapped_answer", "truncated_question", "answer_in_question", "near_copy",
                               "fake_quote")
"""Every defect, in the order they are planted in turn."""
POOL_DEFECTS: frozenset[Defect] = frozenset({"near_copy"})
"""Defects planted into the pool the set stages see (copies of items that passed the per-item stages);
the others go through the per-item stages."""
CITATION_DEFECTS: frozenset[Defect] = frozenset({"fake_quote"})
"""Defects that need items with citations (documents suites)."""

_LEAD_INS = ("Question: ", "Please answer: ", "Quick question: ")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")


def is_canary(item: Item) -> bool:
    """True for a planted defective item."""
    return bool(item.metadata.get(CANARY_KEY))


def defect_of(item: Item) -> str | None:
    """The defect a canary carries (None for a real item)."""
    value = item.metadata.get(CANARY_KEY)
    return str(value) if value else None


def real_items(items: Iterable[Item]) -> list[Item]:
    """The items that are not canaries, in order."""
    return [it for it in items if not is_canary(it)]


def applicable(defects: Sequence[Defect], *, citations: bool) -> list[Defect]:
    """The requested defects a suite can carry: citation defects only where items cite sources."""
    return [d for d in dict.fromkeys(defects) if citations or d not in CITATION_DEFECTS]


def run_target(candidates: int, *, share: float, minimum: int, maximum: int) -> int:
    """How many canaries a run should hold once it has generated `candidates` real candidates."""
    if candidates <= 0 or share <= 0 or maximum <= 0:
        return 0
    return min(maximum, max(minimum, math.ceil(share * candidates)))


def in_turn(defects: Sequence[Defect], start: int, n: int) -> list[Defect]:
    """`n` defects taken in turn from `defects`, continuing at position `start` (earlier rounds' canaries)."""
    return [defects[(start + i) % len(defects)] for i in range(n)] if defects else []


class Planting(BaseModel):
    """The canaries `plant` made, and the defects it could not plant with why."""

    items: list[Item] = Field(default_factory=list)
    not_planted: dict[str, str] = Field(default_factory=dict, description="Defect → why no canary of it was made.")


def _swapped(item: Item, partners: Sequence[Item], rng: random.Random) -> dict[str, Any] | str:
    own = normalize_answer(item.reference_answer)
    if item.kind == "mcq":
        # Another of its own options: still a well-formed MCQ, with the wrong key.
        wrong = [c for c in item.choices if c.strip() and normalize_answer(c) != own]
        if wrong:
            return {"reference_answer": rng.choice(wrong)}
    # Partners in a random order until one answers differently: normalising every partner's
    # answer first cost ~0.1 s per canary on a 2,000-item pool, with the event loop stopped.
    for i in rng.sample(range(len(partners)), len(partners)):
        p = partners[i]
        if p.id != item.id and p.reference_answer.strip() and normalize_answer(p.reference_answer) != own:
            return {"reference_answer": p.reference_answer}
    return "needs two candidates with different answers"


def _truncated(item: Item, rng: random.Random) -> dict[str, Any] | str:
    prompt = item.prompt.strip()
    sentences = _SENTENCE_BREAK.split(prompt)
    if len(sentences) >= 2 and sentences[-1].rstrip().endswith("?"):
        return {"prompt": " ".join(sentences[:-1])}  # the question itself removed
    words = prompt.split()
    if len(words) < 4:
        return "needs a question of at least four words"
    cut = rng.randint(max(2, len(words) * 2 // 5), max(2, len(words) * 3 // 5))
    return {"prompt": " ".join(words[:cut]).rstrip(" ,;:.!?")}  # cut mid-sentence


def _answer_in_question(item: Item) -> dict[str, Any] | str:
    answer = item.reference_answer.strip().rstrip(".")
    if not answer:
        return "needs a non-empty answer"
    return {"prompt": f"The answer is {answer}. {item.prompt.strip()}"}


def _near_copy(item: Item, rng: random.Random) -> dict[str, Any] | str:
    prompt = item.prompt.strip()
    if not prompt:
        return "needs a non-empty question"
    return {"prompt": rng.choice(_LEAD_INS) + prompt[:1].lower() + prompt[1:], "verdicts": list(item.verdicts)}


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_BREAK.split(" ".join(text.split())) if len(s.strip()) >= 20]


def _fake_quote(item: Item, corpus: Corpus | None, rng: random.Random) -> dict[str, Any] | str:
    if not item.citations:
        return "needs an item with citations"
    first = item.citations[0]
    chunks = corpus.chunks_by_id if corpus is not None else {}
    source = chunks[first.chunk_id].text if first.chunk_id in chunks else first.quote
    norm_source = normalize_text(source)
    # A real sentence from another passage: fluent, on topic, and not in the cited one.
    pool = [s for c in (corpus.chunks if corpus is not None else []) if c.id != first.chunk_id
            for s in _sentences(c.text) if normalize_text(s) not in norm_source]
    if pool:
        fake = rng.choice(pool)
    else:
        fake = " ".join(reversed(first.quote.split()))
        if len(fake) < 20 or normalize_text(fake) in norm_source:
            return "needs another passage to quote from"
    cited = first.model_copy(update={"quote": fake, "start": None, "end": None})
    citations: list[Citation] = [cited, *item.citations[1:]]
    return {"citations": citations}


def _derive(defect: Defect, item: Item, partners: Sequence[Item], rng: random.Random,
            corpus: Corpus | None) -> Item | str:
    """The canary of `defect` derived from `item`, or why there is none."""
    if defect == "swapped_answer":
        change = _swapped(item, partners, rng)
    elif defect == "truncated_question":
        change = _truncated(item, rng)
    elif defect == "answer_in_question":
        change = _answer_in_question(item)
    elif defect == "near_copy":
        change = _near_copy(item, rng)
    else:
        change = _fake_quote(item, corpus, rng)
    if isinstance(change, str):
        return change
    fields: dict[str, Any] = {"verdicts": [], "review_status": "pending", **change,
                              "metadata": {**item.metadata, CANARY_KEY: defect, SOURCE_KEY: item.id}}
    canary = item.model_copy(update=fields)
    # Its own hash space: a canary never shares an id with a real item.
    canary_id = content_hash("canary", defect, item.id, canary.prompt, canary.reference_answer,
                             [c.quote for c in canary.citations])
    return canary.model_copy(update={"id": canary_id})


def plant(candidates: Sequence[Item], defects: Sequence[Defect], seed: int | str, *,
          partners: Sequence[Item] = (), corpus: Corpus | None = None,
          exclude_ids: Iterable[str] = ()) -> Planting:
    """One canary per entry of `defects`, each derived from a candidate chosen by `seed`.

    `partners` are further real items a swapped answer may come from (earlier rounds'),
    `corpus` the documents suite's chunks (a fake quote is a sentence of another passage),
    `exclude_ids` canaries already planted (never planted twice). A defect no candidate
    can carry (a swapped answer with one candidate) is left out and named in `not_planted`.
    """
    rng = random.Random(f"canaries|{seed}")
    order = list(range(len(candidates)))
    rng.shuffle(order)
    seen = set(exclude_ids)
    everyone = [*candidates, *(p for p in partners if p.id not in {c.id for c in candidates})]
    out = Planting()
    for n, defect in enumerate(defects):
        reason = "no candidate to derive it from"
        # Start each canary at another candidate, so that one item does not carry every defect.
        for k in range(len(order)):
            source = candidates[order[(n + k) % len(order)]]
            made = _derive(defect, source, everyone, rng, corpus)
            if isinstance(made, str):
                reason = made
                continue
            if made.id in seen:
                reason = "every candidate already carries it"
                continue
            seen.add(made.id)
            out.items.append(made)
            break
        else:
            out.not_planted.setdefault(defect, reason)
    return out


def _outcome(item: Item) -> str:
    """The stage that caught the canary, '' when it passed everything, '?' when it was never judged."""
    failed = item.failed_verdict
    if failed is None:
        return ""
    return "?" if is_transient(failed.reason) else failed.stage


def _breakdown(counts: Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def catch_report(canaries: Sequence[Item], stages: Sequence[str], *, not_planted: dict[str, str] | None = None,
                 calls: int = 0, stage: str = "canaries") -> StageReport:
    """The catch table: per defect and per stage, how many canaries were caught; which passed everything.

    `stages` is the run's stage order (for the table's rows); `calls` the LLM calls the canaries
    cost (overhead on top of the published items' calls); `not_planted` the defects that could not
    be planted, with why.
    """
    not_planted = dict(not_planted or {})
    outcomes = [(defect_of(it) or "?", _outcome(it)) for it in canaries]
    order = list(dict.fromkeys([*stages, *(s for _, s in outcomes if s not in ("", "?"))]))
    defects = [d for d in DEFECTS if any(o[0] == d for o in outcomes)]
    planted = Counter(d for d, _ in outcomes)
    caught: dict[str, Counter[str]] = {d: Counter() for d in defects}
    by_stage: dict[str, Counter[str]] = {s: Counter() for s in order}
    passed, unjudged = Counter[str](), Counter[str]()
    for d, s in outcomes:
        if s == "":
            passed[d] += 1
        elif s == "?":
            unjudged[d] += 1
        else:
            caught[d][s] += 1
            by_stage[s][d] += 1
    for d in caught:  # stage order, not arrival order
        caught[d] = Counter({s: caught[d][s] for s in order if caught[d][s]})
    total_caught = sum(sum(c.values()) for c in caught.values())
    facts: dict[str, str | int | float] = {"planted": len(canaries), "caught": f"{total_caught} of {len(canaries)}"}
    for d in defects:
        n_caught = sum(caught[d].values())
        detail = f" ({_breakdown(caught[d])})" if n_caught else ""
        facts[d] = f"{n_caught} of {planted[d]} caught{detail}"
    for s in order:
        if by_stage[s]:
            facts[f"caught by {s}"] = f"{sum(by_stage[s].values())} ({_breakdown(by_stage[s])})"
    facts["passed everything"] = sum(passed.values())
    if unjudged:
        facts["not judged"] = sum(unjudged.values())
    if not_planted:
        facts["not planted"] = "; ".join(f"{d}: {why}" for d, why in not_planted.items())
    facts["LLM calls (overhead)"] = calls
    warnings: list[str] = []
    if passed:
        warnings.append(f"the filters let {sum(passed.values())} of {len(canaries)} canaries through "
                        f"({', '.join(f'{d} {passed[d]} of {planted[d]}' for d in defects if passed[d])}): "
                        "deliberately defective items that no stage caught")
    if unjudged:
        warnings.append(f"{sum(unjudged.values())} canaries were never judged (a failed call or the spent budget)")
    if not_planted:
        warnings.append("canaries not planted: " + "; ".join(f"{d} ({why})" for d, why in not_planted.items()))
    data: dict[str, Any] = {
        "planted": dict(planted), "stages": order,
        "caught": {d: dict(caught[d]) for d in defects},
        "caught_by_any": {d: sum(caught[d].values()) for d in defects},
        "by_stage": {s: dict(c) for s, c in by_stage.items() if c},
        "passed_everything": {d: passed[d] for d in defects},
        "not_judged": {d: unjudged[d] for d in defects if unjudged[d]},
        "not_planted": not_planted, "llm_calls": calls,
        "items": [{"id": it.id, "defect": d, "source": it.metadata.get(SOURCE_KEY),
                   "caught_by": s if s not in ("", "?") else None, "judged": s != "?",
                   "reason": (it.failed_verdict.reason if it.failed_verdict else None)}
                  for it, (d, s) in zip(canaries, outcomes)],
    }
    return StageReport(stage=stage, title="Canaries", facts=facts, warnings=warnings, data=data)
