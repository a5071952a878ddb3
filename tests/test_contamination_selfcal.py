"""Contamination at corpus scale: rare-token evidence, the leave-one-out null, the thresholds it sets, the report."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchsmith.index.evidence import CorpusEvidence, NullSettings
from benchsmith.index.neighbours import VectorIndex
from benchsmith.index.rarity import RarityWeights, TokenSets, number_agreement, number_sets, pair_overlap
from benchsmith.index.selfcal import MIN_NULL, leave_one_out
from benchsmith.quality import StageReport
from benchsmith.records import Item, Lineage, Verdict
from benchsmith.stages import StageContext
from benchsmith.verifiers.contamination import Contamination, ContaminationConfig

LIN = Lineage(generator="test")

COUNTRIES = ["France", "Germany", "Italy", "Spain", "Portugal", "Poland", "Austria", "Hungary", "Greece", "Norway",
             "Sweden", "Finland", "Denmark", "Ireland", "Belgium", "Netherlands", "Switzerland", "Romania",
             "Bulgaria", "Serbia", "Croatia", "Slovenia", "Slovakia", "Czechia", "Estonia", "Latvia", "Lithuania",
             "Ukraine", "Turkey", "Egypt", "Morocco", "Kenya", "Nigeria", "Ghana", "Ethiopia", "Peru", "Chile",
             "Brazil", "Argentina", "Colombia", "Mexico", "Canada", "Japan", "China", "India", "Nepal", "Vietnam",
             "Thailand", "Indonesia", "Australia"]


def item(prompt: str) -> Item:
    return Item.create(prompt=prompt, reference_answer="", lineage=LIN)




def corpus_file(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"prompt": t}) + "\n" for t in texts), encoding="utf-8")
    return path


def run(items: list[Item], ctx: StageContext, **params: Any) -> tuple[list[Verdict], StageReport | None]:
    stage = Contamination(params)
    verdicts = asyncio.run(stage.verify(items, ctx))
    return verdicts, stage.report()


# --- rare-token overlap --------------------------------------------------------------------


def test_rare_overlap_weighs_what_identifies_a_problem() -> None:
    corpus = [f"A train travels {n} km in {n % 7 + 2} hours. What is its average speed?" for n in range(10, 200)]
    sets = TokenSets.of(corpus)
    weights = RarityWeights(sets)
    # Words every entry has weigh nothing; a number seen once weighs more than the style words.
    w = weights.of(TokenSets.of(["travels 123 zebra"]).tokens)
    assert w.min() < 0.01 and w.max() == pytest.approx(weights.unseen)
    queries = TokenSets.of([
        corpus[5],                                                   # verbatim
        "What average speed does a train have if it covers 15 km in 3 hours?",  # reworded, numbers kept
        "A train travels 999 km in 11 hours. What is its average speed?",  # same style, other problem
    ])
    ov = pair_overlap(queries, np.array([0, 1, 2]), sets, np.array([5, 5, 5]), weights)
    assert ov[0] == pytest.approx(1.0)
    assert ov[1] > 0.6 > 0.1 > ov[2]
    # Empty texts and no pairs are not errors.
    empty = TokenSets.of(["", "!!!"])
    assert pair_overlap(empty, np.array([0, 1]), sets, np.array([0, 1]), weights).tolist() == [0.0, 0.0]
    assert len(pair_overlap(queries, np.array([], dtype=np.int64), sets, np.array([], dtype=np.int64), weights)) == 0


def test_number_agreement_compares_sets_of_values() -> None:
    queries = number_sets(["8 persons build a wall 140 m long in 42 days; 30 persons, 100 m?",
                           "Rs. 1,000 at 5 % for 5 years", "no numbers here", "half of 0.50 is 0.25",
                           "2 and 3", "-5 and 5/8",
                           # a code prompt reworded with its doctest value restated in the prose
                           "Return the fractional part (for 3.5 the answer is 0.5).\n>>> f(3.5)\n0.5",
                           # the description copied without its examples: numbers dropped, none changed
                           "Return the decimal part, always smaller than 1.",
                           # one number of three changed: the same template asking about another number
                           "a train 360 m long at 45 km/h passes a 150 m platform"])
    refs = number_sets(["18 persons build a wall 140 m long in 42 days; 30 persons, 100 m?",
                        "5 years, 5 per cent, rupees 1000", "x = 3", "0.5 halved: 0.250", "4 and 7", "5 5 8",
                        "Return the decimal part (smaller than 1).\n>>> f(3.5)\n0.5",
                        "Return the decimal part, always smaller than 1.\n>>> f(3.5)\n0.5",
                        "a train 360 m long at 45 km/h passes a 140 m platform"])
    n = len(refs)
    agree = number_agreement(queries, np.arange(n), refs, np.arange(n))
    # Values said twice count once (row 1, row 6: with multisets these were -0.67 and -1); a set that holds
    # the other (rows 6, 7) is no evidence either way; values that differ on both sides (rows 0, 4, 8) count
    # against.
    assert agree.tolist() == pytest.approx([-0.4, 1.0, 0.0, 1.0, -1.0, 1.0, 0.0, 0.0, 2 * 2 / 3 - 2])
    same = number_agreement(queries, np.array([6]), number_sets(["f(3.5) gives 0.5; 0.5 for 3.5"]), np.array([0]))
    assert same.tolist() == [1.0]
    assert len(number_agreement(queries, np.array([], dtype=np.int64), refs, np.array([], dtype=np.int64))) == 0


# --- the stage: the failure the issue reports, and its fix -----------------------------------


def test_same_template_with_other_numbers_passes_numbers_kept_is_flagged(tmp_path: Path, ctx: StageContext) -> None:
    rng = np.random.default_rng(3)
    refs = [f"A shop sells pens at {a} dollars each. Mia buys {b} pens and pays with a {c} dollar note. "
            f"How much change does she get?" for a, b, c in rng.integers(2, 400, size=(200, 3))]
    path = corpus_file(tmp_path / "shop.jsonl", refs)
    a, b, c = refs[7].split(" at ")[1].split()[0], refs[7].split("buys ")[1].split()[0], refs[7].split("a ")[-1]
    items = [item(f"Mia pays with a {c.split()[0]} dollar note for {b} pens at {a} dollars each. What change is she "
                  "given?"),                                   # reworded, numbers kept
             item(refs[7].replace(f" {b} pens", " 977 pens"))]  # the same template asking about another number
    verdicts, _ = run(items, ctx, references=[{"path": str(path), "name": "shop"}])
    assert not verdicts[0].passed and verdicts[0].details["number_agreement"] == 1.0
    assert verdicts[1].passed and verdicts[1].details["number_agreement"] < 0
    # Without the number signal the template variant is flagged as well.
    plain, _ = run(items[1:], ctx, references=[{"path": str(path), "name": "shop"}], number_weight=0.0)
    assert plain[0].details["evidence_score"] > verdicts[1].details["evidence_score"]


def test_reworded_code_prompt_that_restates_its_examples_keeps_its_numbers(ctx: StageContext) -> None:
    # HumanEval/25 with its docstring reworded, the doctest values restated in the prose (8, 2, 70, ...) and
    # the examples kept: with number multisets the repeats made this -0.8 and the item passed.
    reworded = ('from typing import List\n\n\ndef factorize(n: int) -> List[int]:\n    """Return the prime '
                'factorisation of an integer as a list of primes sorted in ascending order, repeating each '
                'prime as many times as it divides the number, e.g. 70 -> [2, 5, 7] and 8 -> [2, 2, 2].\n'
                '    >>> factorize(8)\n    [2, 2, 2]\n    >>> factorize(25)\n    [5, 5]\n'
                '    >>> factorize(70)\n    [2, 5, 7]\n    """\n')
    verdicts, _ = run([item(reworded)], ctx, references=["humaneval"])
    assert not verdicts[0].passed and verdicts[0].details["matched_id"] == "HumanEval/25"
    assert verdicts[0].details["number_agreement"] == 1.0


def test_same_style_distinct_questions_pass_rewordings_are_flagged(tmp_path: Path, ctx: StageContext) -> None:
    # A corpus of one template: every clean question of that style is close to some reference by cosine.
    refs = [f"What is the capital city of {c}?" for c in COUNTRIES]
    path = corpus_file(tmp_path / "capitals.jsonl", refs)
    items = [item("Which city is the capital of France?"),            # reworded reference 0
             item("WHAT IS THE CAPITAL CITY OF   JAPAN"),               # surface copy of a reference
             item("What is the capital city of Narnia?"),               # same style, a different problem
             item("What is the capital city of Atlantis?")]
    verdicts, report = run(items, ctx, references=[{"path": str(path), "name": "capitals"}])
    assert [v.passed for v in verdicts] == [False, False, True, True]
    assert verdicts[0].details["matched_text"] == refs[0]
    # The old rule, cosine 0.68, cannot tell them apart: it flags the distinct ones too.
    assert all(v.details["embedding_score"] >= 0.68 for v in verdicts)
    old, _ = run(items, ctx, references=[{"path": str(path), "name": "capitals"}], embedding_threshold=0.68)
    assert not any(v.passed for v in old)
    # Every verdict carries its evidence, and the report says where the threshold came from.
    assert verdicts[2].details["evidence_score"] < verdicts[2].details["evidence_threshold"]
    assert report is not None and report.stage == "contamination"
    corpus = report.data["corpora"][0]
    assert corpus["source"] == "self-calibrated" and corpus["references"] == len(refs)
    assert corpus["null"]["score_p50"] <= corpus["null"]["score_p99"] <= corpus["null"]["score_max"]
    assert report.facts["capitals: evidence threshold"] == corpus["threshold"]
    assert "self-calibrated" in str(report.facts["capitals: threshold source"])
    assert not report.warnings


def test_a_one_item_corpus_has_no_null_and_falls_back_to_the_default(tmp_path: Path, ctx: StageContext) -> None:
    path = corpus_file(tmp_path / "one.jsonl", ["Write a function that reverses a linked list in place."])
    verdicts, report = run([item("Implement in-place reversal of a linked list as a function."),
                            item("What is the boiling point of water at sea level?")], ctx,
                           references=[{"path": str(path), "name": "one"}])
    assert report is not None
    corpus = report.data["corpora"][0]
    default = ContaminationConfig.model_fields["default_score_threshold"].default
    assert corpus["source"] == "default" and corpus["threshold"] == default and corpus["null_scores"] == 0
    assert "no null distribution" in corpus["note"]
    assert any("one" in w and "default" in w for w in report.warnings)
    assert all(v.details["evidence_threshold"] == default for v in verdicts)
    assert not verdicts[0].passed and verdicts[1].passed


def test_fixed_threshold_and_plain_cosine_rule_are_reported_as_such(tmp_path: Path, ctx: StageContext) -> None:
    path = corpus_file(tmp_path / "c.jsonl", [f"What is the capital city of {c}?" for c in COUNTRIES])
    _, report = run([item("Name the capital of Peru.")], ctx, references=[{"path": str(path)}], score_threshold=1.2)
    assert report is not None and report.data["corpora"][0]["source"] == "fixed"
    assert report.data["corpora"][0]["threshold"] == 1.2
    _, report = run([item("Name the capital of Peru.")], ctx, references=[{"path": str(path)}],
                    embedding_threshold=0.7)
    assert report is not None and "plain cosine rule" in str(report.facts["c: rule"])


def test_no_report_before_the_stage_ran() -> None:
    assert Contamination({"references": ["humaneval"]}).report() is None


# --- the null distribution ---------------------------------------------------------------------


class CountingIndex:
    """A VectorIndex that counts the queries it was asked: the work the null costs."""

    def __init__(self, inner: VectorIndex) -> None:
        self.inner = inner
        self.n = inner.n
        self.queries = 0

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self.queries += len(queries)
        return self.inner.search(queries, k)


def test_null_skips_near_copies_inside_the_corpus_and_needs_enough_scores() -> None:
    rng = np.random.default_rng(0)
    texts = [f"problem {i} about topic {i * 7919 % 1000} with value {i * 31}" for i in range(60)]
    texts += texts[:10]  # ten exact duplicates: their neighbour is themselves at another position
    vecs = rng.normal(size=(len(texts), 16)).astype(np.float32)
    vecs[60:] = vecs[:10]
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    sets = TokenSets.of(texts)
    null = leave_one_out(VectorIndex(vecs), vecs, texts, sets, RarityWeights(sets), k=3, rarity_weight=0.5,
                         ngram_n=5, copy_overlap=0.5, sample=1000, seed=0)
    assert null.queries == len(texts) and null.copies_skipped >= 20  # each duplicate seen from both sides
    assert null.usable and null.scores.max() < 1.4  # the duplicates' cosine-1.0 pairs are not in the null
    one = leave_one_out(VectorIndex(vecs[:1]), vecs[:1], texts[:1], TokenSets.of(texts[:1]),
                        RarityWeights(TokenSets.of(texts[:1])), k=3, rarity_weight=0.5, ngram_n=5,
                        copy_overlap=0.5, sample=100, seed=0)
    assert not one.usable and one.queries == 0 and len(one.scores) < MIN_NULL


@pytest.mark.slow
def test_null_of_a_200k_corpus_stays_linear() -> None:
    """200,000 references: the null searches only `sample` of them (each against the whole corpus)."""
    n, dim = 200_000, 32
    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    texts = [f"q{i} item {i % 977} of {i % 13}" for i in range(n)]
    model = CorpusEvidence(texts, vecs)
    counting = CountingIndex(model.index)
    model.index = counting  # type: ignore[assignment]
    settings = NullSettings(k=3, rarity_weight=0.5, ngram_n=13, copy_overlap=0.5, sample=2000, quantile=0.995,
                            margin=0.05, floor=0.9, ceiling=1.35, default=1.1)
    threshold, null = model.threshold(settings)
    assert counting.queries == 2000 and null.queries == 2000 and null.references == n
    assert threshold.source == "self-calibrated" and 0.9 <= threshold.value <= 1.35
    model.threshold(settings)  # measured once per settings, then kept
    assert counting.queries == 2000
