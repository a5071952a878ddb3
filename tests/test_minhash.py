"""MinHash lexical dedup: signatures equal datasketch's, near-duplicates caught, distinct items kept."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash
from pydantic import ValidationError

from benchsmith.index.minhash import (
    estimated_jaccard,
    lean_minhashes,
    lexical_pairs,
    shingle_texts,
    signatures,
    tokenize,
)
from benchsmith.records import Item, Lineage, Verdict
from benchsmith.stages import StageContext, verifiers
from benchsmith.text import normalize_text
from benchsmith.verifiers.minhash import MinHashDedup

LIN = Lineage(generator="test")


def make(prompt: str, score: float | None = None, **kw) -> Item:
    item = Item.create(prompt=prompt, reference_answer=kw.pop("answer", "an answer"), lineage=LIN, **kw)
    if score is not None:
        item = item.with_verdict(Verdict(stage="llm_judge", passed=True, score=score, ranks_quality=True))
    return item


# The light-edit threshold these mechanism tests were written for; the stage's default is
# the stricter calibrated 0.8 (see test_default_keeps_same_scenario_other_numbers_apart).
EDITS = {"threshold": 0.5}


def run(stage: MinHashDedup, items: list[Item]) -> list[Verdict]:
    return asyncio.run(stage.verify(items, StageContext()))


BASE = ("A farmer has 17 sheep and buys 5 more at the market on Tuesday. Later that week a storm "
        "breaks the fence and all but 9 of the sheep run away into the hills. How many sheep does "
        "the farmer have left, and how many ran away?")
REORDERED = ("Later that week a storm breaks the fence and all but 9 of the sheep run away into the hills. "
             "A farmer has 17 sheep and buys 5 more at the market on Tuesday. How many sheep does "
             "the farmer have left, and how many ran away?")
EDITED = ("A farmer has 17 sheep and buys 5 more at the market on Wednesday. Later that week a storm "
          "breaks the fence and all but 9 of the sheep run away into the hills! How many sheep does "
          "the farmer still have left, and how many ran away?")
SIBLING = ("A baker has 40 loaves and sells 12 more at the stall on Monday. Later that day a delivery "
           "van arrives late and all but 6 of the rolls are stale. How many loaves does the baker "
           "have left, and how many were sold?")
OTHER = ("Write a Python function that merges two sorted lists into one sorted list in linear time "
         "without using the built-in sort, and explain its complexity.")


def test_registered_as_set_stage() -> None:
    assert verifiers.get("dedup_minhash") is MinHashDedup and MinHashDedup.scope == "set"


def test_signatures_equal_datasketch_update_batch() -> None:
    texts = [BASE, OTHER, "short one", "", "法国的首都是哪个城市？", "ما هي عاصمة فرنسا؟"]
    sh = shingle_texts(texts, 3)
    sig = signatures(sh, num_perm=64, seed=7)
    for d in range(len(texts)):
        m = MinHash(num_perm=64, seed=7, hashfunc=lambda v: v)
        m.update_batch([int(h) for h in sh.hashes[sh.offsets[d]:sh.offsets[d + 1]]])
        assert np.array_equal(m.hashvalues, sig[d]), texts[d]
    lean = lean_minhashes(sig[:2], seed=7)
    assert isinstance(lean[0], LeanMinHash)
    assert lean[0].jaccard(lean[1]) == pytest.approx(float(estimated_jaccard(sig, np.array([0]), np.array([1]))[0]))


def test_long_text_spanning_permutation_blocks_matches_datasketch() -> None:
    # ~45k shingles: more than one permutation block, so the per-block minima must combine.
    rng = np.random.default_rng(3)
    words = [f"w{int(x)}" for x in rng.integers(0, 5000, size=45_000)]
    texts = ["a small text before it", " ".join(words), "and one after"]
    sh = shingle_texts(texts, 3)
    assert sh.count(1) == 45_000 - 2
    sig = signatures(sh, num_perm=32)
    m = MinHash(num_perm=32, seed=1, hashfunc=lambda v: v)
    m.update_batch([int(h) for h in sh.hashes[sh.offsets[1]:sh.offsets[2]]])
    assert np.array_equal(m.hashvalues, sig[1])


def test_catches_reordered_and_edited_keeps_best_and_distinct() -> None:
    items = [make(BASE, 3.0), make(SIBLING, 4.0), make(REORDERED, 4.5), make(OTHER, 2.0), make(EDITED, 4.0)]
    verdicts = run(MinHashDedup(EDITS), items)
    assert [v.passed for v in verdicts] == [False, True, True, True, False]
    for i in (0, 4):
        v = verdicts[i]
        assert v.reason == "near_duplicate_lexical"
        assert v.details["duplicate_of"] == items[2].id  # the best-scored member of the group
        assert 0.5 <= v.details["jaccard"] <= 1.0 and v.score == v.details["jaccard"]
    assert sorted(verdicts[2].details["duplicates"]) == sorted([items[0].id, items[4].id])
    # A stricter threshold separates the lightly reordered copy from the edited one.
    strict = run(MinHashDedup({"threshold": 0.95}), items)
    assert all(v.passed for v in strict)


def test_jaccard_in_details_is_the_estimate_against_the_kept_item() -> None:
    items = [make(BASE), make(EDITED)]
    verdicts = run(MinHashDedup({**EDITS, "num_perm": 256}), items)
    sh = shingle_texts([BASE, EDITED], 3)
    sig = signatures(sh, num_perm=256)
    expected = float(estimated_jaccard(sig, np.array([1]), np.array([0]))[0])
    assert verdicts[1].details["jaccard"] == pytest.approx(expected, abs=1e-4)
    # ... and close to the exact Jaccard of the 3-word shingle sets.
    def grams(t: str) -> set[str]:
        w = tokenize(t)
        return {" ".join(w[i:i + 3]) for i in range(len(w) - 2)}
    exact = len(grams(BASE) & grams(EDITED)) / len(grams(BASE) | grams(EDITED))
    assert abs(expected - exact) < 0.12


def test_shingle_size_changes_sensitivity() -> None:
    items = [make("What is the capital city of France today?"), make("What is the capital city of Spain today?")]
    # One word of seven differs: most unigrams are shared, few 3-grams are.
    assert [v.passed for v in run(MinHashDedup({"shingle_size": 1, "threshold": 0.6}), items)] == [True, False]
    assert all(v.passed for v in run(MinHashDedup({"shingle_size": 3, "threshold": 0.6}), items))


CHINESE = [
    "法国的首都是哪个城市？请简要说明这个城市的历史和文化。",
    "一个农民有十七只羊，又买了五只，后来跑掉了九只，还剩几只？",
    "请写一个Python函数，把两个有序列表合并成一个有序列表。",
    "光合作用是如何把太阳能储存在葡萄糖分子中的？",
    "为什么天空是蓝色的？请用瑞利散射来解释。",
]
ARABIC = [
    "ما هي عاصمة فرنسا؟ اشرح باختصار تاريخ هذه المدينة وثقافتها.",
    "لدى مزارع سبعة عشر خروفا واشترى خمسة أخرى، ثم هرب تسعة، كم بقي لديه؟",
    "اكتب دالة بلغة بايثون تدمج قائمتين مرتبتين في قائمة واحدة مرتبة.",
    "كيف يخزن التمثيل الضوئي طاقة الشمس في جزيئات الجلوكوز؟",
]


def test_chinese_and_arabic_distinct_items_are_kept() -> None:
    items = [make(t) for t in CHINESE + ARABIC]
    assert all(v.passed for v in run(MinHashDedup(EDITS), items))
    # Characters of space-less scripts are tokens, so a Chinese sentence is not one giant word.
    assert len(tokenize(CHINESE[0])) > 20
    assert tokenize("ما هي عاصمة فرنسا؟") == ["ما", "هي", "عاصمة", "فرنسا"]


def test_chinese_and_arabic_near_duplicates_are_caught() -> None:
    zh_copy = CHINESE[1].replace("九只", "八只")  # one character changed
    ar_copy = ARABIC[0].replace("وثقافتها", "وثقافتها الغنية")  # one word added
    items = [make(t) for t in CHINESE + ARABIC] + [make(zh_copy), make(ar_copy)]
    verdicts = run(MinHashDedup(EDITS), items)
    dropped = {i for i, v in enumerate(verdicts) if not v.passed}
    assert dropped == {len(items) - 2, len(items) - 1}
    assert verdicts[-2].details["duplicate_of"] == items[1].id
    assert verdicts[-1].details["duplicate_of"] == items[len(CHINESE)].id


def test_texts_without_words_never_match() -> None:
    items = [make("???"), make("!!!"), make("… — …"), make(OTHER)]
    verdicts = run(MinHashDedup(EDITS), items)
    assert all(v.passed for v in verdicts)


def test_tokens_follow_textnorm_for_spaced_scripts() -> None:
    for text in [BASE, "Ｗhat  is 2+2？", "naïve café — déjà vu!", "Größe STRASSE", ARABIC[1]]:
        assert tokenize(text) == normalize_text(text).split()


def test_fields_and_short_texts() -> None:
    a = make("Pick one.", kind="mcq", choices=["red apple", "blue sky"], answer="red apple")
    b = make("Pick one!", kind="mcq", choices=["green grass", "yellow sun"], answer="green grass")
    # Prompts shorter than a shingle are one shingle: identical after normalisation -> duplicates.
    assert [v.passed for v in run(MinHashDedup(EDITS), [a, b])] == [True, False]
    assert all(v.passed for v in run(MinHashDedup({"fields": ["prompt", "choices"]}), [a, b]))


def test_empty_single_and_config_errors() -> None:
    assert run(MinHashDedup(EDITS), []) == []
    [v] = run(MinHashDedup(EDITS), [make(BASE)])
    assert v.passed
    with pytest.raises(ValidationError):
        MinHashDedup({"shingle_size": 0})
    with pytest.raises(ValidationError):
        MinHashDedup({"threshold": 1.5})
    with pytest.raises(ValidationError):
        MinHashDedup({"shingles": 3})
    with pytest.raises(ValueError, match="texts for"):
        MinHashDedup().verdicts_for_texts([make(BASE)], [BASE, OTHER])


def test_lsh_finds_planted_pairs_among_many_and_no_false_pairs() -> None:
    rng = np.random.default_rng(11)
    vocab = [f"word{i}" for i in range(3000)]
    texts = [" ".join(rng.choice(vocab, size=30)) for _ in range(1500)]
    planted = set()
    for k in range(0, 1500, 50):  # 30 copies with one substituted word (Jaccard ~0.8)
        words = texts[k].split()
        words[15] = "changed"
        texts.append(" ".join(words))
        planted.add((k, len(texts) - 1))
    sh = shingle_texts(texts, 3)
    sig = signatures(sh)
    i, j, jac = lexical_pairs(sig, 0.5)
    assert set(zip(i.tolist(), j.tolist())) == planted
    assert (jac >= 0.5).all()


def test_default_keeps_same_scenario_other_numbers_apart() -> None:
    # Calibration (docs/calibration.md): changed numbers make a different test case.
    # A pair from bench/data/calibration_pairs.jsonl (label 0: the answer differs).
    a = make("Write a function that returns the third largest distinct number in a list of integers, "
             "or None if there is none.")
    b = make("Write a function that returns the second largest distinct number in a list of integers, "
             "or None if there is none.")
    assert all(v.passed for v in run(MinHashDedup(), [a, b]))
    assert not all(v.passed for v in run(MinHashDedup(EDITS), [a, b])), "the pair is lexically close"
