"""`answer_balance_report`: answer distribution, best constant answer and chance, on hand-built items."""

from __future__ import annotations

import pytest

from benchsmith.answer_balance import answer_balance_report
from benchsmith.records import Item, Lineage

LIN = Lineage(generator="test")


def _tf(i: int, answer: str) -> Item:
    return Item.create(kind="true_false", prompt=f"True or false: statement {i}.", reference_answer=answer,
                       choices=["True", "False"], lineage=LIN)


def _mcq(i: int, correct: int, n: int = 4) -> Item:
    choices = [f"option {i}-{k}" for k in range(n)]
    return Item.create(kind="mcq", prompt=f"Which option {i}?", reference_answer=choices[correct], choices=choices,
                       lineage=LIN)


def _open(i: int) -> Item:
    return Item.create(prompt=f"What is {i} + {i}?", reference_answer=str(2 * i), lineage=LIN)


def test_the_docs_example_of_the_issue_is_flagged() -> None:
    # Five "True" statements and one open question: always "True" scores 83% of the true/false items.
    report = answer_balance_report([*(_tf(i, "True") for i in range(5)), _open(0)])
    assert report is not None and report.stage == "answer_balance"
    [tf] = report.data["kinds"]
    assert tf["distribution"] == {"True": 5} and tf["best_constant"] == "True"
    assert tf["best_constant_score"] == 1.0 and tf["chance"] == 0.5
    assert report.data["best_constant_score"] == pytest.approx(5 / 6)
    assert report.data["chance"] == pytest.approx(2.5 / 6)
    assert report.data["flagged"] and len(report.warnings) == 1 and "'True'" in report.warnings[0]
    assert report.facts["true/false: best constant answer"] == "always 'True': 100.0% (chance 50.0%)"


def test_balanced_answers_are_not_flagged_and_figures_add_up() -> None:
    items = [_tf(0, "True"), _tf(1, "False"), _tf(2, "false"), _tf(3, "True"),
             *(_mcq(i, i % 4) for i in range(8)), _open(1), _open(2)]
    report = answer_balance_report(items)
    assert report is not None and not report.warnings and not report.data["flagged"]
    tf, mcq = report.data["kinds"]
    assert tf["distribution"] == {"False": 2, "True": 2} and tf["best_constant_score"] == 0.5
    assert mcq["distribution"] == {"A": 2, "B": 2, "C": 2, "D": 2}
    assert mcq["best_constant"] == "A" and mcq["best_constant_score"] == 0.25 and mcq["chance"] == 0.25
    # Over the whole suite: 2 (True) + 2 (A) of 14 items; chance 4 * 0.5 + 8 * 0.25 = 4 of 14.
    assert report.data["best_constant_score"] == pytest.approx(4 / 14)
    assert report.data["chance"] == pytest.approx(4 / 14)
    assert report.facts["multiple choice correct positions"] == "A 2, B 2, C 2, D 2"


def test_flag_only_above_ten_points_over_chance() -> None:
    # 6 of 10 True: 60%, exactly 10 points over chance: not flagged; 7 of 10 is.
    six = answer_balance_report([_tf(i, "True" if i < 6 else "False") for i in range(10)])
    seven = answer_balance_report([_tf(i, "True" if i < 7 else "False") for i in range(10)])
    assert six is not None and not six.warnings
    assert seven is not None and seven.warnings and seven.data["kinds"][0]["excess"] == pytest.approx(0.2)
    # MCQ: 2 of 5 at "B" with 4 options is 40% against 25% chance.
    mcq = answer_balance_report([_mcq(0, 1), _mcq(1, 1), _mcq(2, 0), _mcq(3, 2), _mcq(4, 3)])
    assert mcq is not None and mcq.data["kinds"][0]["best_constant"] == "B" and mcq.warnings
    # A stricter limit is a parameter.
    assert answer_balance_report([_tf(i, "True" if i < 6 else "False") for i in range(10)], max_excess=0.05).warnings


def test_mixed_option_counts_odd_answers_and_nothing_to_report() -> None:
    report = answer_balance_report([_mcq(0, 0, n=2), _mcq(1, 1, n=5), _tf(2, "Maybe")])
    assert report is not None
    tf, mcq = report.data["kinds"]
    assert tf["other"] == 1 and tf["best_constant_score"] == 0.0
    assert mcq["chance"] == pytest.approx((1 / 2 + 1 / 5) / 2)
    assert answer_balance_report([_open(1), _open(2)]) is None
    assert answer_balance_report([]) is None
