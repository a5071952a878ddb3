"""Contamination: code examples as evidence (real HumanEval prompts), and n-gram hits set aside for changed numbers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchsmith.embeddings import Embedder
from benchsmith.index.evidence import CorpusEvidence, NullSettings
from benchsmith.index.examples import example_agreement, example_sets, prose_texts, split_examples
from benchsmith.index.ngrams import NgramIndex, TokenHasher
from benchsmith.index.rarity import RarityWeights, numbers_of
from benchsmith.records import Item, Lineage, Verdict
from benchsmith.references import ReferenceCorpus, ReferenceSource, load_reference
from benchsmith.stages import StageContext
from benchsmith.verifiers.contamination import Contamination, ContaminationConfig

LIN = Lineage(generator="test")


def item(prompt: str) -> Item:
    return Item.create(prompt=prompt, reference_answer="", lineage=LIN)


def run(items: list[Item], ctx: StageContext, **params: Any) -> list[Verdict]:
    params.setdefault("references", ["humaneval"])
    return asyncio.run(Contamination(params).verify(items, ctx))


@pytest.fixture(scope="module")
def humaneval() -> ReferenceCorpus:
    return load_reference(ReferenceSource(builtin="humaneval"))


def prompt(corpus: ReferenceCorpus, task: int) -> str:
    return corpus.texts[corpus.ids.index(f"HumanEval/{task}")]


# HumanEval/29 (filter_by_prefix) and /7 (filter_by_substring) are twin tasks: the same docstring phrasing,
# the same first example. These rewordings keep each one's signature and examples, function and parameters
# renamed (bench/make_calibration_set.py): MiniLM puts both at cosine 0.69-0.83 of their own task, as close
# as the twin, so the evidence without examples missed them.
STARTING_WITH = ('from typing import List\n\n\ndef starting_with(words: List[str], start: str) -> List[str]:\n'
                 '    """Return the words from a list that begin with a given start; an empty\n'
                 '    list gives an empty list.\n    >>> starting_with([], \'a\')\n    []\n'
                 '    >>> starting_with([\'abc\', \'bcd\', \'cde\', \'array\'], \'a\')\n'
                 '    [\'abc\', \'array\']\n    """\n')
KEEP_CONTAINING = ('from typing import List\n\n\ndef keep_containing(words: List[str], needle: str) -> List[str]:\n'
                   '    """Write a function that receives a list of words and a needle and\n'
                   '    returns only the words that contain the needle, in their original\n    order.\n'
                   '    >>> keep_containing([], \'a\')\n    []\n'
                   '    >>> keep_containing([\'abc\', \'bacd\', \'cde\', \'array\'], \'a\')\n'
                   '    [\'abc\', \'bacd\', \'array\']\n    """\n')


# --- the examples of a code prompt -----------------------------------------------------------


def test_examples_of_real_humaneval_prompts_survive_renames_and_reformatting(humaneval: ReferenceCorpus) -> None:
    prefix = prompt(humaneval, 29)
    ex = split_examples(prefix)
    assert ex.examples == ("f([],'a')→[]", "f(['abc','bcd','cde','array'],'a')→['abc','array']")
    # Renamed function and parameters, other quotes, other indentation: the same examples.
    assert split_examples(STARTING_WITH).examples == ex.examples
    edited = prefix.replace("filter_by_prefix", "pick").replace("'", '"').replace("    ", "\t")
    assert split_examples(edited).examples == ex.examples
    # The twin's second example differs ('bacd'): same calls, other outputs.
    assert split_examples(prompt(humaneval, 7)).examples[1] != ex.examples[1]
    # Call-and-result lines without `>>>` count as well (HumanEval/72 `will_it_fly(...) ➞ True`, /95 `==`).
    assert "f([3],5)→true" in split_examples(prompt(humaneval, 72)).examples
    assert len(split_examples(prompt(humaneval, 95)).examples) >= 4
    # Most HumanEval prompts carry examples (the rest describe them in prose: "For lst = [...] the output ...").
    assert sum(bool(split_examples(t).examples) for t in humaneval.texts) >= 140
    # The prose is the prompt without its examples: HumanEval/2's 3.5 and 0.5 are example values only.
    truncate = prompt(humaneval, 2)
    assert {"3.5", "0.5"} <= set(numbers_of(truncate))
    assert not {"3.5", "0.5"} & set(numbers_of(prose_texts([truncate])[0]))
    assert "Given a positive floating point number" in prose_texts([truncate])[0]
    # Text that is not code has no examples and is its own prose.
    question = "A train travels 120 km in 2 hours. f(x) = 3? What is its speed?"
    assert split_examples(question).examples == () and prose_texts([question]) == [question]


def test_example_agreement_scores_the_own_task_not_its_twin(humaneval: ReferenceCorpus) -> None:
    refs = example_sets(humaneval.texts)
    weights = RarityWeights(refs)
    queries = example_sets([STARTING_WITH, KEEP_CONTAINING, prompt(humaneval, 29).split(">>> filter_by_prefix([")[0]
                            + ">>> f([], 'a')\n    []\n    \"\"\"\n", "no code at all"])
    own = [humaneval.ids.index("HumanEval/29"), humaneval.ids.index("HumanEval/7")]
    q = np.array([0, 0, 1, 1, 2, 2, 3])
    r = np.array([own[0], own[1], own[1], own[0], own[0], own[1], own[0]])
    agree = example_agreement(queries, q, refs, r, weights)
    # Own task: every example kept, 1.0. Twin: one example shared, one each that the other lacks: 0.
    assert agree[:4].tolist() == [1.0, 0.0, 1.0, 0.0]
    # Only the shared trivial example kept (examples dropped, none changed): weak evidence, for both twins.
    assert 0.0 < agree[4] < 0.6 and 0.0 < agree[5] < 0.6
    assert agree[6] == 0.0


def test_twin_tasks_leave_the_null_of_humaneval_unchanged(humaneval: ReferenceCorpus, embedder: Embedder) -> None:
    # The corpus's own distinct tasks share examples only as twins do (each has examples the other lacks),
    # so the example term adds nothing to the leave-one-out null: the threshold stays where it was.
    model = CorpusEvidence(list(humaneval.texts), np.asarray(embedder.encode(humaneval.texts), dtype=np.float32))
    base = dict(k=3, rarity_weight=0.5, ngram_n=13, copy_overlap=0.5, sample=2000, quantile=0.999, margin=0.05,
                floor=0.9, ceiling=1.45, default=1.1, number_weight=0.2)
    without = model.null(NullSettings(**base, example_weight=0.0))  # type: ignore[arg-type]
    with_examples = model.null(NullSettings(**base, example_weight=0.5))  # type: ignore[arg-type]
    assert with_examples.quantile(0.999) == pytest.approx(without.quantile(0.999))
    assert with_examples.quantile(0.9) == pytest.approx(without.quantile(0.9), abs=0.01)


KEEP_CONTAINING_RENAMED = ('from typing import List\n\n\ndef keep_containing(words: List[str], needle: str) -> '
                           'List[str]:\n    """ Filter an input list of words only for ones that contain given needle\n'
                           '    >>> keep_containing([], \'a\')\n    []\n'
                           '    >>> keep_containing([\'abc\', \'bacd\', \'cde\', \'array\'], \'a\')\n'
                           '    [\'abc\', \'bacd\', \'array\']\n    """\n')
PICK_LONGEST = ('from typing import List, Optional\n\n\ndef pick_longest(items: List[str]) -> Optional[str]:\n'
                '    """From a list of items, return the longest string; if several share the\n'
                '    maximum length return the first of them, and return None for an empty\n    list.\n'
                '    >>> pick_longest([])\n\n    >>> pick_longest([\'a\', \'b\', \'c\'])\n    \'a\'\n'
                '    >>> pick_longest([\'a\', \'bb\', \'ccc\'])\n    \'ccc\'\n    """\n')
TRUNCATE = ('\n\ndef truncate_number(number: float) -> float:\n    """Given a positive float, return only its '
            'fractional part, i.e. what is\n    left after removing the integer part (for 3.5 the answer is 0.5).\n'
            '    >>> truncate_number(3.5)\n    0.5\n    """\n')


def test_rephrased_code_prompts_are_flagged_by_their_examples(ctx: StageContext) -> None:
    # The rephrasings the evidence without examples missed (docs/calibration.md): both twins renamed, and two
    # reworded docstrings whose cosine and rare-token overlap fell short of the threshold.
    items = [item(KEEP_CONTAINING_RENAMED), item(PICK_LONGEST), item(TRUNCATE)]
    verdicts = run(items, ctx)
    assert [v.passed for v in verdicts] == [False, False, False]
    assert [v.details["matched_id"] for v in verdicts] == ["HumanEval/7", "HumanEval/12", "HumanEval/2"]
    assert all(v.details["example_agreement"] == 1.0 for v in verdicts)
    assert ContaminationConfig.model_fields["example_weight"].default > 0
    # Without the example term none is found: the twin's wording is as close as their own task's.
    plain = run(items, ctx, example_weight=0.0)
    assert [v.passed for v in plain] == [True, True, True]
    assert all(v.details["evidence_score"] < v.details["evidence_threshold"] for v in plain)
    # The self-calibrated threshold is the same with and without it (the twins' null scores do not move).
    assert plain[0].details["evidence_threshold"] == verdicts[0].details["evidence_threshold"]
    # The reworded twins are the hard case: their examples agree with their own task (1.0) and not with the
    # twin (0.0), but their wording scores them below both; their evidence sits at the threshold
    # (docs/calibration.md), so only their example agreement is asserted here.
    close = run([item(STARTING_WITH), item(KEEP_CONTAINING)], ctx)
    assert [v.details["example_agreement"] for v in close] == [1.0, 1.0]
    assert all(abs(v.details["evidence_score"] - v.details["evidence_threshold"]) < 0.05 for v in close)


# --- n-gram hits whose numbers changed ------------------------------------------------------

TEMPLATE = ("A can do a piece of work in {a} days and B can do it in {b} days. They work together for {c} days "
            "and then A leaves. In how many days will B finish the remaining work?")


def template_corpus(tmp_path: Path) -> tuple[Path, list[str], np.ndarray]:
    values = np.random.default_rng(5).integers(2, 90, size=(300, 3))
    refs = [TEMPLATE.format(a=a, b=b, c=c) for a, b, c in values]
    path = tmp_path / "work.jsonl"
    path.write_text("".join(json.dumps({"prompt": t}) + "\n" for t in refs), encoding="utf-8")
    return path, refs, values


def test_ngram_hit_with_a_changed_number_is_set_aside_copies_are_not(tmp_path: Path, ctx: StageContext) -> None:
    path, refs, values = template_corpus(tmp_path)
    target = refs[250]  # late in the corpus: its template n-grams point at earlier siblings
    a, b, _ = values[250]
    changed = TEMPLATE.format(a=a, b=b, c=977)
    wrapped = f"Solve the following problem.\n\n{target.upper()}"
    items = [item(target), item(wrapped), item(changed)]
    source = {"references": [{"path": str(path), "name": "work"}], "embedding": False}
    verdicts = run(items, ctx, **source)
    # Copies, verbatim or surface-edited, stay flagged by the n-gram rule: the n-grams holding their numbers
    # point at an entry with those numbers, even when the others point at siblings with other numbers.
    assert [v.passed for v in verdicts[:2]] == [False, False]
    assert all(v.details["method"] == "ngram" for v in verdicts[:2])
    # The same template with a number changed is another test case: set aside.
    assert verdicts[2].details["ngram_score"] >= 0.2
    assert verdicts[2].passed and verdicts[2].details["ngram_set_aside"] == "numbers_changed"
    stage = Contamination({**source, "embedding": True})
    asyncio.run(stage.verify(items, ctx))
    report = stage.report()
    assert report is not None and report.data["ngram_vetoed"] == 1
    # With the veto off the n-gram rule flags it.
    off = run(items[2:], ctx, **source, ngram_number_veto=False)
    assert not off[0].passed and off[0].details["method"] == "ngram"


def test_code_prompt_with_changed_examples_keeps_its_ngram_hit(ctx: StageContext,
                                                               humaneval: ReferenceCorpus) -> None:
    # Example values are not the problem's numbers: HumanEval/0 with its second example changed is still the
    # same function to write, and its description's n-grams still flag it.
    original = prompt(humaneval, 0)
    changed = original.replace("[1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)", "[1.5, 7.25, 9.0], 0.6)").replace(
        "True", "False")
    assert changed != original
    verdicts = run([item(changed)], ctx, embedding=False)
    assert not verdicts[0].passed and verdicts[0].details["matched_id"] == "HumanEval/0"
    assert "ngram_set_aside" not in verdicts[0].details


def test_matched_refs_lists_every_entry_the_matched_ngrams_point_at() -> None:
    texts = ["one two three four five", "one two three four six", "seven eight nine ten eleven"]
    index = NgramIndex.build(texts, 3)
    q, r = index.matched_refs(TokenHasher().ngrams(["one two three four six", "nothing here at all"], 3))
    # "one two three" points at entry 0 (the first holding it), "three four six" at entry 1; text 1 matches none.
    assert list(zip(q.tolist(), r.tolist())) == [(0, 0), (0, 1)]
    with pytest.raises(ValueError, match="3-gram index"):
        index.matched_refs(TokenHasher().ngrams(["a b c d"], 2))
