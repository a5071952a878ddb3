"""Cohen's and Fleiss' kappa against textbook values, missing ratings and the undefined cases."""

from __future__ import annotations

import pytest

from benchsmith.agreement import (
    cohen_kappa,
    fleiss_kappa,
    fleiss_kappa_counts,
    item_table,
    pairwise_cohen,
    strength,
)


def _pairs(table: dict[tuple[str, str], int]) -> tuple[list[str], list[str]]:
    a: list[str] = []
    b: list[str] = []
    for (x, y), n in table.items():
        a += [x] * n
        b += [y] * n
    return a, b


def test_cohen_textbook_example() -> None:
    # Wikipedia, "Cohen's kappa", simple example: 50 proposals, two readers; p_o = 0.7, p_e = 0.5.
    a, b = _pairs({("yes", "yes"): 20, ("yes", "no"): 5, ("no", "yes"): 10, ("no", "no"): 15})
    k = cohen_kappa(a, b)
    assert k.observed == pytest.approx(0.7) and k.expected == pytest.approx(0.5)
    assert k.kappa == pytest.approx(0.4) and k.n_items == 50 and k.note is None
    assert k.describe() == "0.400 (fair, 50 items)"


@pytest.mark.parametrize(("table", "expected"), [
    # Wikipedia's "same agreement, different kappa" pair: p_o = 0.60 in both.
    ({("yes", "yes"): 45, ("yes", "no"): 15, ("no", "yes"): 25, ("no", "no"): 15}, 0.1304),
    ({("yes", "yes"): 25, ("yes", "no"): 35, ("no", "yes"): 5, ("no", "no"): 35}, 0.2593),
])
def test_cohen_depends_on_the_marginals(table: dict[tuple[str, str], int], expected: float) -> None:
    a, b = _pairs(table)
    k = cohen_kappa(a, b)
    assert k.observed == pytest.approx(0.6) and k.kappa == pytest.approx(expected, abs=1e-4)


def test_cohen_three_categories_by_hand() -> None:
    a = ["x", "x", "y", "y", "z", "z"]
    b = ["x", "y", "y", "y", "z", "x"]
    # p_o = 4/6; p_e = (2*2 + 2*3 + 2*1) / 36 = 12/36.
    assert cohen_kappa(a, b).kappa == pytest.approx((4 / 6 - 12 / 36) / (1 - 12 / 36))


def test_cohen_skips_missing_and_says_when_undefined() -> None:
    k = cohen_kappa([True, False, None, True], [True, False, True, None])
    assert k.n_items == 2 and k.kappa == pytest.approx(1.0)
    same = cohen_kappa([True, True, True], [True, True, True])
    assert same.kappa is None and same.observed == 1.0
    assert "same label (True)" in (same.note or "") and same.describe().startswith("undefined: ")
    none = cohen_kappa([True, None], [None, False])
    assert none.kappa is None and none.n_items == 0 and "no item was rated by both" in (none.note or "")
    with pytest.raises(ValueError, match="aligned"):
        cohen_kappa([True], [True, False])


def test_cohen_below_chance_is_negative() -> None:
    k = cohen_kappa([True, False, True, False], [False, True, False, True])
    assert k.kappa == pytest.approx(-1.0) and strength(-1.0) == "poor"


def test_fleiss_textbook_example() -> None:
    # Fleiss (1971) as on Wikipedia: 10 subjects, 14 raters, 5 categories.
    counts = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
              [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    k = fleiss_kappa_counts(counts)
    assert k.observed == pytest.approx(0.378, abs=5e-4) and k.expected == pytest.approx(0.213, abs=5e-4)
    assert k.kappa == pytest.approx(0.210, abs=5e-4) and k.n_items == 10 and k.n_raters == 14
    # The same table as labels, one row of 14 ratings per subject.
    labels = [[c for c, n in enumerate(row) for _ in range(n)] for row in counts]
    assert fleiss_kappa(labels).kappa == pytest.approx(k.kappa)


def test_fleiss_equals_cohen_shape_and_handles_missing_by_hand() -> None:
    table = [[True, True, False], [True, True, None], [False, False, False], [True, False, None]]
    # Per-item agreement 1/3, 1, 1, 0 -> mean 7/12; 5 of 10 ratings are True -> p_e = 0.5.
    k = fleiss_kappa(table)
    assert k.n_items == 4 and k.kappa == pytest.approx((7 / 12 - 0.5) / 0.5)
    # Items with fewer than two ratings do not count.
    assert fleiss_kappa([*table, [True, None, None]]).kappa == pytest.approx(k.kappa)


def test_fleiss_undefined_cases() -> None:
    same = fleiss_kappa([["pass", "pass"], ["pass", "pass", "pass"]])
    assert same.kappa is None and "every rating of the 2 items is pass" in (same.note or "")
    lonely = fleiss_kappa([["pass", None], [None, "fail"]])
    assert lonely.kappa is None and lonely.n_items == 0


def test_pairwise_and_item_table() -> None:
    ratings = {"a": [1, 1, 2, None], "b": [1, 2, 2, 2], "c": [1, 1, 2, 2]}
    assert item_table(ratings) == [[1, 1, 1], [1, 2, 1], [2, 2, 2], [None, 2, 2]]
    pairs = pairwise_cohen(ratings)
    assert list(pairs) == [("a", "b"), ("a", "c"), ("b", "c")]
    assert pairs[("a", "c")].kappa == pytest.approx(1.0) and pairs[("a", "c")].n_items == 3
    with pytest.raises(ValueError, match="aligned"):
        item_table({"a": [1], "b": [1, 2]})


@pytest.mark.parametrize(("kappa", "word"), [(-0.1, "poor"), (0.0, "slight"), (0.2, "slight"), (0.35, "fair"),
                                             (0.5, "moderate"), (0.7, "substantial"), (0.95, "almost perfect")])
def test_strength_words(kappa: float, word: str) -> None:
    assert strength(kappa) == word
