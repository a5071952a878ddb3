"""Contamination: n-gram normalisation and index, the stage against real HumanEval, bad input, the LLM judge."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from benchsmith.embeddings import Embedder
from benchsmith.index import ngrams
from benchsmith.index.ngrams import NgramIndex, TokenHasher, load_or_build, ngram_overlap, token_hashes, tokenize
from benchsmith.llm.client import LLMClient
from benchsmith.llm.usage import CallBudget
from benchsmith.records import Item, Lineage, Verdict
from benchsmith.references import ReferenceCorpusError, ReferenceSource, load_reference
from benchsmith.stages import StageContext, verifiers
from benchsmith.verifiers.contamination import Contamination

LIN = Lineage(generator="test")


def item(prompt: str) -> Item:
    return Item.create(prompt=prompt, reference_answer="", lineage=LIN)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path




def check(items: list[Item], ctx: StageContext, **params: Any) -> list[Verdict]:
    params.setdefault("references", ["humaneval"])
    return asyncio.run(Contamination(params).verify(items, ctx))


@pytest.fixture(scope="module")
def humaneval() -> Any:
    return load_reference(ReferenceSource(builtin="humaneval"))


# --- tokens and n-grams -------------------------------------------------------------------


def test_tokenize_normalises_and_handles_every_script() -> None:
    assert tokenize("Has_Close ELEMENTS(x), ＦＵＬＬ-width!") == ["has", "close", "elements", "x", "full", "width"]
    # Scripts without spaces: one token per character, Latin runs inside stay words.
    assert tokenize("用Python写函数") == ["用", "python", "写", "函", "数"]
    assert tokenize("ภาษาไทย") == list("ภาษาไทย")
    # Combining marks stay inside their word (Python's \w alone would split these).
    assert tokenize("العربيّة هي لغة") == ["العربيّة", "هي", "لغة"]
    assert tokenize("हिन्दी भाषा") == ["हिन्दी", "भाषा"]
    assert tokenize("") == [] and tokenize("!!! ...") == []


def test_token_hashes_agree_between_the_ascii_and_unicode_paths() -> None:
    # "hello" in an ASCII text and in a text with non-ASCII characters must hash alike.
    long_tok = "x" * 100  # past the vectorised length: hashed with xxh3, still content-only
    hashes, offsets = token_hashes(["hello world " + long_tok, "Hello wörld " + long_tok, "", "深 hello"])
    assert offsets.tolist() == [0, 3, 6, 6, 8]
    assert hashes[0] == hashes[3] == hashes[7]  # hello
    assert hashes[1] != hashes[4]  # world vs wörld
    assert hashes[2] == hashes[5]  # the long token
    assert len(set(hashes.tolist())) == 5


def test_ngram_overlap_fraction_semantics() -> None:
    text = "the quick brown fox jumps over the lazy dog near the river bank today"
    assert ngram_overlap(text, text.upper() + "!!!", 5) == 1.0
    assert ngram_overlap(text, "completely different words that share nothing at all with it", 5) == 0.0
    # Half of the item copied: about half of its n-grams are found.
    half = "the quick brown fox jumps over the lazy dog " + "and then several brand new words follow here"
    assert 0.3 < ngram_overlap(half, text, 5) < 0.6
    # Texts shorter than n: one key for the whole text, so only the same short text matches.
    assert ngram_overlap("What is 2 + 2?", "what is 2+2", 13) == 1.0
    assert ngram_overlap("What is 2 + 2?", "what is 2 + 2 and why", 13) == 0.0
    with pytest.raises(ValueError, match="between 1 and 64"):
        TokenHasher().ngrams(["a b c"], 0)


def test_index_lookup_build_and_reuse_from_disk(tmp_path: Path) -> None:
    refs = [f"reference number {i} says " + " ".join(f"w{i}_{j}" for j in range(30)) for i in range(50)]
    index = NgramIndex.build(refs, 8, corpus_hash="abc")
    assert index.meta["entries"] == 50 and index.meta["ngrams_distinct"] == len(index.keys) > 0
    assert np.all(index.keys[1:] > index.keys[:-1])  # sorted, distinct
    queries = [refs[7], "nothing to see here at all in this little query text here", " ".join(refs[3].split()[:20]),
               ""]
    ov = index.lookup(TokenHasher().ngrams(queries, 8))
    assert ov.fraction[0] == 1.0 and ov.best_ref[0] == 7
    assert ov.fraction[1] == 0.0 and ov.best_ref[1] == -1
    assert ov.fraction[2] == 1.0 and ov.best_ref[2] == 3
    assert ov.total[3] == 0 and ov.fraction[3] == 0.0

    root = tmp_path / "indexes"
    before = ngrams.BUILD_COUNT
    first, built = load_or_build(refs, "abc", 8, root)
    assert built and ngrams.BUILD_COUNT == before + 1
    folder = ngrams.index_folder(root, "abc", 8)
    assert sorted(p.name for p in folder.iterdir()) == ["keys.npy", "meta.json", "refs.npy"]
    assert isinstance(first.keys, np.memmap)
    second, built = load_or_build(refs, "abc", 8, root)
    assert not built and ngrams.BUILD_COUNT == before + 1
    assert second.meta["created_at"] == first.meta["created_at"] and np.array_equal(second.keys, first.keys)
    # Another n is another index; a damaged index is rebuilt, not trusted.
    _, built = load_or_build(refs, "abc", 9, root)
    assert built
    expected = np.array(first.keys)
    del first, second  # drop the memory maps before the file is replaced
    (folder / "keys.npy").unlink()
    (folder / "keys.npy").write_bytes(b"garbage")
    third, built = load_or_build(refs, "abc", 8, root)
    assert built and np.array_equal(third.keys, expected)


# --- the stage against HumanEval -----------------------------------------------------------


LONGEST_REPHRASED = '''from typing import List, Optional


def longest_string(strings: List[str]) -> Optional[str]:
    """ Return the longest of the given strings. When several strings share the maximum length,
    return the first of them. For an empty input list return None.
    >>> longest_string(['a', 'bb', 'ccc'])
    'ccc'
    """
'''
UNRELATED = "Write a function that parses one line of CSV with quoted fields and returns the list of field values."


def test_registered_as_a_set_stage() -> None:
    assert verifiers.get("contamination") is Contamination
    assert Contamination.scope == "set" and Contamination.uses_llm is False


def test_humaneval_verbatim_and_rephrased_are_flagged_unrelated_is_not(ctx: StageContext, humaneval: Any) -> None:
    verbatim = humaneval.texts[2]  # HumanEval/2, truncate_number
    wrapped = "Solve this task:\n" + humaneval.texts[13]
    verdicts = check([item(verbatim), item(LONGEST_REPHRASED), item(UNRELATED), item(wrapped)], ctx)
    v0, v1, v2, v3 = verdicts
    assert not v0.passed and v0.reason == "contaminated"
    assert v0.details["method"] == "ngram" and v0.details["matched_id"] == "HumanEval/2"
    assert v0.details["score"] == v0.score == 1.0
    assert v0.details["matched_reference"] == "humaneval" and v0.details["matched_field"] == "prompt"
    assert v0.details["matched_text"].startswith(humaneval.texts[2][:100]) and len(v0.details["matched_text"]) <= 300
    # A prose rephrasing of a code prompt: its evidence (cosine + rare-token overlap) clears HumanEval's
    # self-calibrated threshold, narrowly (docs/calibration.md: such rephrasings are the judge's job).
    assert not v1.passed and v1.details["matched_id"] == "HumanEval/12"
    assert v1.details["method"] == "embedding" and v1.score is not None and v1.score >= 0.9
    assert v1.details["evidence_score"] >= v1.details["evidence_threshold"] > 1.2
    old = check([item(LONGEST_REPHRASED)], ctx, embedding_threshold=0.68)[0]  # the plain cosine rule
    assert not old.passed and old.details["matched_id"] == "HumanEval/12" and "evidence_score" not in old.details
    assert v2.passed and v2.reason is None and v2.details["embedding_score"] < 0.6
    assert v2.details["ngram_score"] == 0.0 and v2.details["references_checked"] == 164
    assert not v3.passed and v3.details["method"] == "ngram" and v3.details["matched_id"] == "HumanEval/13"


def test_ngram_index_is_built_once_and_reused(tmp_path: Path, embedder: Embedder, humaneval: Any) -> None:
    ws = tmp_path / "ws"
    before = ngrams.BUILD_COUNT
    first = check([item(humaneval.texts[5])], StageContext(workspace=ws, embedder_factory=lambda: embedder),
                  embedding=False)
    assert ngrams.BUILD_COUNT == before + 1
    folder = ngrams.index_folder(ws / "indexes", humaneval.fingerprint, 13)
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["corpus_hash"] == humaneval.fingerprint and meta["n"] == 13 and meta["entries"] == 164
    # A new stage object and a new context (as in a new run): the stored index is loaded.
    second = check([item(humaneval.texts[5])], StageContext(workspace=ws), embedding=False)
    assert ngrams.BUILD_COUNT == before + 1
    assert json.loads((folder / "meta.json").read_text())["created_at"] == meta["created_at"]
    assert first[0].details == second[0].details and second[0].details["matched_id"] == "HumanEval/5"
    # A different n is keyed separately; a custom index_dir is honoured.
    check([item("x")], StageContext(workspace=ws), embedding=False, ngram_n=8, index_dir=str(tmp_path / "elsewhere"))
    assert ngrams.BUILD_COUNT == before + 2
    assert ngrams.index_folder(tmp_path / "elsewhere", humaneval.fingerprint, 8).is_dir()


def test_local_reference_with_fields_ids_and_names(tmp_path: Path, ctx: StageContext) -> None:
    ref = write_jsonl(tmp_path / "old_release.jsonl", [
        {"uid": "r1", "question": "In a village, every house has a red door except the baker's, which is blue and "
                                  "stands at the end of the lane beside the old mill. What colour is the mill?",
         "answer": "unknown"},
        {"uid": "r2", "question": "Short one.", "answer": "The answer explains that a train leaving at noon and "
                                                          "travelling at sixty kilometres per hour arrives by three."},
    ])
    refs = [{"path": str(ref), "fields": ["question", "answer"], "id_field": "uid", "name": "v1"}]
    copied = item("The answer explains that a train leaving at noon and travelling at sixty kilometres per hour "
                  "arrives by three.")
    [v] = check([copied], ctx, references=refs, embedding=False)
    assert not v.passed
    assert (v.details["matched_reference"], v.details["matched_id"], v.details["matched_field"]) == ("v1", "r2",
                                                                                                     "answer")


# --- bad input ----------------------------------------------------------------------------


def test_empty_reference_corpus_is_an_error_or_an_explicit_pass(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")

    def no_model() -> Embedder:
        raise AssertionError("the embedding model must not load when there is nothing to compare with")

    ctx = StageContext(workspace=tmp_path / "ws", embedder_factory=no_model)
    with pytest.raises(ReferenceCorpusError, match=r"empty.jsonl: the reference corpus has no text"):
        check([item("anything at all")], ctx, references=[{"path": str(empty)}])
    verdicts = check([item("anything at all"), item("another")], ctx,
                     references=[{"path": str(empty), "allow_empty": True}])
    assert all(v.passed for v in verdicts)
    assert verdicts[0].details == {"ngram_score": 0.0, "embedding_score": None, "references_checked": 0}
    # A bad reference fails the stage even with no items to check: the spec is wrong either way.
    with pytest.raises(ReferenceCorpusError):
        check([], ctx, references=[{"path": str(empty)}])
    with pytest.raises(ValidationError, match="at least 1 item"):
        Contamination({"references": []})


def test_missing_reference_field_names_file_and_field(tmp_path: Path, ctx: StageContext) -> None:
    ref = write_jsonl(tmp_path / "bench.jsonl", [{"text": "hello there"}])
    with pytest.raises(ReferenceCorpusError) as err:
        check([item("hello")], ctx, references=[{"path": str(ref), "fields": ["prompt"]}])
    assert str(ref) in str(err.value) and "'prompt' not found" in str(err.value) and "'text'" in str(err.value)


def test_non_string_reference_fields(tmp_path: Path, ctx: StageContext) -> None:
    numbers = [random.Random(1).randrange(10**6) for _ in range(20)]
    ref = write_jsonl(tmp_path / "typed.jsonl", [{"id": 1, "prompt": numbers}, {"id": 2, "prompt": 12345}])
    # The list is stringified one element per line: an item listing the same numbers matches it.
    [v] = check([item(" ".join(map(str, numbers)))], ctx, references=[{"path": str(ref), "id_field": "id"}],
                embedding=False)
    assert not v.passed and v.details["matched_id"] == "1" and v.details["matched_text"].startswith(str(numbers[0]))
    with pytest.raises(ReferenceCorpusError, match=r"typed.jsonl: line 1: field 'prompt' is list, not text"):
        check([item("x")], ctx, references=[{"path": str(ref), "non_string": "error"}])


def test_very_long_items(ctx: StageContext, humaneval: Any) -> None:
    rng = random.Random(7)
    words = [f"tok{rng.randrange(50_000)}" for _ in range(200_000)]
    huge = " ".join(words)  # ~1.8 MB of text
    # A long item that *is* mostly a copy of a reference (the reference repeated) is still caught.
    copy_heavy = "\n".join([humaneval.texts[20]] * 200)
    verdicts = check([item(huge), item(copy_heavy)], ctx)
    assert verdicts[0].passed and verdicts[0].details["ngram_score"] == 0.0
    assert not verdicts[1].passed and verdicts[1].details["matched_id"] == "HumanEval/20"


def test_chinese_and_arabic_items_neither_crash_nor_match_everything(tmp_path: Path, ctx: StageContext) -> None:
    zh_refs = ["北京是中国的首都，有着三千多年的建城历史和八百多年的建都史。",
               "今天的天气很好，我们一起去公园散步，然后在湖边的咖啡馆喝茶聊天。",
               "计算两个整数的最大公约数，可以使用辗转相除法，也叫欧几里得算法。"]
    ar_refs = ["ما هي عاصمة فرنسا؟ باريس هي عاصمة فرنسا وأكبر مدنها من حيث عدد السكان.",
               "احسب مجموع الأعداد من واحد إلى مئة باستخدام صيغة المتسلسلة الحسابية المعروفة."]
    ref = write_jsonl(tmp_path / "multi.jsonl", [{"id": f"zh{i}", "prompt": t} for i, t in enumerate(zh_refs)]
                      + [{"id": f"ar{i}", "prompt": t} for i, t in enumerate(ar_refs)])
    items = [item("请写一个函数，判断一个字符串是否是回文，忽略大小写和标点符号。"),  # unrelated Chinese
             item("我最喜欢的季节是秋天，因为天气凉爽，树叶也变成了金黄色。"),      # unrelated Chinese
             item("اكتب دالة تتحقق مما إذا كانت السلسلة متناظرة مع تجاهل المسافات."),  # unrelated Arabic
             item(zh_refs[1]),                                                       # verbatim Chinese
             item("سؤال: " + ar_refs[0])]                                            # Arabic copy in a wrapper
    verdicts = check(items, ctx, references=[{"path": str(ref), "id_field": "id"}])
    assert [v.passed for v in verdicts] == [True, True, True, False, False]
    assert verdicts[3].details["method"] == "ngram" and verdicts[3].details["matched_id"] == "zh1"
    assert verdicts[4].details["method"] == "ngram" and verdicts[4].details["matched_id"] == "ar0"
    # The English embedding model cannot tell these scripts apart, so it is not asked.
    assert verdicts[0].details["embedding_skipped"] == "non_latin_script"
    # And against HumanEval, nothing in these scripts is contaminated.
    assert all(v.passed for v in check(items, ctx))


# --- the LLM judge (LLM Decontaminator) ------------------------------------------------------


JUDGE_REFS = [{"id": "vowels", "prompt": "Write a function that returns the number of vowels in a string."},
              {"id": "square", "prompt": "Write a function that checks whether a number is a perfect square."},
              {"id": "words", "prompt": "Write a function that reverses the order of words in a sentence."}]
PARAPHRASE = "Implement a function counting how many vowels a given string contains."
NEAR_MISS = "Write a function that checks whether a number is a perfect cube."
FAR = "What is the capital city of Australia?"
BROKEN = "Write a function that reverses the order of the words in a sentence, keeping the punctuation."


def test_llm_judge_decides_near_candidates(tmp_path: Path, llm_ctx: StageContext, embedder: Embedder,
                                           fake_llm: Any) -> None:
    ref = write_jsonl(tmp_path / "refs.jsonl", JUDGE_REFS)
    llm_ctx.embedder_factory = lambda: embedder
    # A 3-entry corpus has no null: threshold 1.1 (default), band [0.8, 1.1 + judge_band_high). BROKEN scores ~1.42,
    # so the band is widened here to send it to the judge (the band's defaults are tested below).
    params = {"references": [{"path": str(ref), "id_field": "id"}], "llm_judge": True, "top_k": 1,
              "judge_band_high": 0.4}
    fake_llm.add_rule(match="counting how many vowels", response={"rationale": "Same task.", "rephrasing": True})
    fake_llm.add_rule(match="perfect cube", response={"rationale": "Cube, not square.", "rephrasing": False})
    fake_llm.add_rule(match="keeping the punctuation", raw="{broken")
    fake_llm.add_rule(match="Your reply was not valid", raw="{still broken")  # the client's one repair request
    items = [item(PARAPHRASE), item(NEAR_MISS), item(FAR), item(BROKEN)]
    verdicts = check(items, llm_ctx, **params)
    para, near, far, broken = verdicts
    assert not para.passed and para.details["method"] == "llm" and para.details["matched_id"] == "vowels"
    assert para.details["judge_rationale"] == "Same task." and para.score == para.details["embedding_score"]
    # The cube/square pair is close in embedding space (flagged without the judge, below), the judge clears it.
    assert near.passed and near.details["judge_asked"] == [
        {"matched_id": "square", "similarity": near.details["embedding_score"], "rephrasing": False}]
    assert far.passed and "judge_asked" not in far.details
    # An unusable judge answer falls back to the embedding threshold, and says so.
    assert not broken.passed and broken.details["method"] == "embedding"
    assert broken.details["judge_error"].startswith("judge_error:") and broken.details["matched_id"] == "words"
    asked = [json.dumps(r) for r in fake_llm.requests()]
    assert not any("capital city of Australia" in r for r in asked)  # never sent: below judge_min_similarity
    assert any("REFERENCE (refs words, field prompt)" in r for r in asked)
    # Without the judge, the embedding threshold alone flags the near miss.
    without = check([item(NEAR_MISS)], llm_ctx, references=params["references"])
    assert not without[0].passed and without[0].details["method"] == "embedding"


# Evidence scores against JUDGE_REFS (top_k 1; the corpus has no null, so its threshold is 1.1 and the default band
# is [0.8, 1.25)): ABOVE ~1.40, PARAPHRASE ~1.13, NEAR_MISS ~1.16, BELOW ~0.41 (cosine 0.41), FAR ~0.08.
ABOVE = "Write a function that returns the number of vowels in a string, ignoring case."
BELOW = "Write a function that sorts a list of numbers."


def judge_run(items: list[Item], ctx: StageContext, ref: Path, **params: Any) -> tuple[list[Verdict], Contamination]:
    stage = Contamination({"references": [{"path": str(ref), "id_field": "id"}], "llm_judge": True, "top_k": 1,
                           **params})
    return asyncio.run(stage.verify(items, ctx)), stage


def test_judge_band_far_above_is_flagged_and_far_below_passes_without_calls(
        tmp_path: Path, llm_ctx: StageContext, embedder: Embedder, fake_llm: Any) -> None:
    ref = write_jsonl(tmp_path / "refs.jsonl", JUDGE_REFS)
    llm_ctx.embedder_factory = lambda: embedder
    fake_llm.add_rule(match="CANDIDATE", response={"rationale": "Different.", "rephrasing": False})
    (above,), stage = judge_run([item(ABOVE)], llm_ctx, ref)
    assert not above.passed and above.details["method"] == "embedding" and above.details["matched_id"] == "vowels"
    assert above.details["judge_skipped"] == "above_band" and "judge_asked" not in above.details
    assert above.details["evidence_score"] >= 1.1 + 0.15
    assert fake_llm.stats()["requests"] == 0
    report = stage.report()
    assert report is not None
    assert report.facts["refs: judge band"] == "[0.8, 1.25)"
    assert report.facts["judge: candidates sent to the judge"] == 0
    assert report.facts["judge: candidates decided by the score, contaminated (above the band)"] == 1

    verdicts, stage = judge_run([item(BELOW), item(FAR)], llm_ctx, ref)
    assert all(v.passed and "judge_asked" not in v.details for v in verdicts)
    assert all(v.details["evidence_score"] < 0.8 for v in verdicts)
    assert fake_llm.stats()["requests"] == 0
    report = stage.report()
    assert report is not None
    assert report.facts["judge: candidates decided by the score, clean (below the band)"] == 2
    assert report.facts["judge: candidates sent to the judge"] == 0


def test_judge_band_in_band_is_decided_by_the_judge(tmp_path: Path, llm_ctx: StageContext, embedder: Embedder,
                                                    fake_llm: Any) -> None:
    ref = write_jsonl(tmp_path / "refs.jsonl", JUDGE_REFS)
    llm_ctx.embedder_factory = lambda: embedder
    fake_llm.add_rule(match="counting how many vowels", response={"rationale": "Same task.", "rephrasing": True})
    fake_llm.add_rule(match="perfect cube", response={"rationale": "Cube, not square.", "rephrasing": False})
    (para, near, above), stage = judge_run([item(PARAPHRASE), item(NEAR_MISS), item(ABOVE)], llm_ctx, ref)
    # Both are in the band [0.8, 1.25): the judge decides, even against the threshold rule (NEAR_MISS is above 1.1).
    assert 0.8 <= para.details["evidence_score"] < 1.25 and 1.1 <= near.details["evidence_score"] < 1.25
    assert not para.passed and para.details["method"] == "llm" and para.details["judge_rationale"] == "Same task."
    assert near.passed and near.details["judge_asked"] == [
        {"matched_id": "square", "similarity": near.details["embedding_score"], "rephrasing": False}]
    assert not above.passed and above.details["judge_skipped"] == "above_band"
    assert fake_llm.stats()["requests"] == 2  # one per in-band item, none for the one above
    report = stage.report()
    assert report is not None
    assert report.facts["judge: candidates sent to the judge"] == 2
    assert report.facts["judge: candidates decided by the score, contaminated (above the band)"] == 1
    assert report.facts["judge: fallbacks to the threshold rule"] == 0


def test_judge_failing_in_the_band_falls_back_to_the_threshold(tmp_path: Path, llm_ctx: StageContext,
                                                               embedder: Embedder, fake_llm: Any) -> None:
    ref = write_jsonl(tmp_path / "refs.jsonl", JUDGE_REFS)
    llm_ctx.embedder_factory = lambda: embedder
    fake_llm.add_rule(match="CANDIDATE", raw="{broken")
    fake_llm.add_rule(match="Your reply was not valid", raw="{still broken")
    # A fixed threshold 1.15 (band [0.85, 1.3)): PARAPHRASE (~1.13) is in the band below it, NEAR_MISS (~1.16) above.
    (para, near), stage = judge_run([item(PARAPHRASE), item(NEAR_MISS)], llm_ctx, ref, score_threshold=1.15)
    assert para.details["evidence_score"] < 1.15 <= near.details["evidence_score"] < 1.3
    assert para.passed and para.details["judge_asked"][0]["error"].startswith("judge_error:")
    assert not near.passed and near.details["method"] == "embedding"
    assert near.details["judge_error"].startswith("judge_error:")
    assert fake_llm.stats()["requests"] >= 2  # both were asked
    report = stage.report()
    assert report is not None
    assert report.facts["judge: candidates sent to the judge"] == 2
    assert report.facts["judge: fallbacks to the threshold rule"] == 2


def test_judge_band_low_edge_is_the_null_p90(tmp_path: Path, embedder: Embedder, humaneval: Any) -> None:
    ctx = StageContext(workspace=tmp_path / "ws", embedder_factory=lambda: embedder)  # no LLM: nothing in the band
    stage = Contamination({"references": ["humaneval"], "llm_judge": True})
    (v,) = asyncio.run(stage.verify([item(FAR)], ctx))
    assert v.passed
    report = stage.report()
    assert report is not None
    row = report.data["corpora"][0]
    low, high = row["judge_band"]
    assert low == pytest.approx(row["null"]["score_p90"], abs=1e-3) and low < row["threshold"]
    assert high == pytest.approx(row["threshold"] + 0.15, abs=1e-3)
    explicit = Contamination({"references": ["humaneval"], "llm_judge": True, "judge_band_low": 0.2})
    asyncio.run(explicit.verify([item(FAR)], ctx))
    explicit_report = explicit.report()
    assert explicit_report is not None
    assert explicit_report.data["corpora"][0]["judge_band"][0] == pytest.approx(row["threshold"] - 0.2, abs=1e-3)


def test_llm_judge_out_of_budget_falls_back_without_calls(tmp_path: Path, fake_llm: Any, embedder: Embedder) -> None:
    ref = write_jsonl(tmp_path / "refs.jsonl", JUDGE_REFS)
    client = LLMClient(base_url=fake_llm.base_url, model=fake_llm.model, role="judge", max_retries=0, timeout_s=3.0,
                       budget=CallBudget(0))
    ctx = StageContext(llm=lambda role: client, workspace=tmp_path / "ws", embedder_factory=lambda: embedder)
    verdicts = check([item(PARAPHRASE), item(FAR)], ctx, references=[{"path": str(ref), "id_field": "id"}],
                     llm_judge=True)
    assert not verdicts[0].passed and verdicts[0].details["method"] == "embedding"
    assert verdicts[0].details["judge_error"] == "budget_exhausted"
    assert verdicts[1].passed
    assert fake_llm.stats()["requests"] == 0


def test_config_validation() -> None:
    with pytest.raises(ValidationError, match="ngram_n"):
        Contamination({"references": ["humaneval"], "ngram_n": 0})
    with pytest.raises(ValidationError, match="Extra inputs"):
        Contamination({"references": ["humaneval"], "ngram_treshold": 0.5})
    stage = Contamination({"references": "humaneval"})  # a single reference needs no list
    assert stage.config.references[0].builtin == "humaneval"



def test_spec_validates_the_stage_params(tmp_path: Path) -> None:
    import yaml

    from benchsmith.errors import SpecError
    from benchsmith.spec import parse_spec

    (tmp_path / "seeds.txt").write_text("Write a function that adds two numbers.\n", encoding="utf-8")
    snippet = """
suite: demo
seeds: {path: seeds.txt}
target_items: 5
generators: [{name: evolve}]
verifiers:
  - name: contamination
    params:
      references:
        - humaneval
        - {path: refs/old_release.jsonl, fields: [question, answer], id_field: uid, name: v1}
      ngram_n: 13
      llm_judge: true
"""
    spec = parse_spec(yaml.safe_load(snippet), tmp_path / "spec.yaml")
    stage = Contamination(spec.verifiers[0].params)
    assert [r.label for r in stage.config.references] == ["humaneval", "v1"]
    (tmp_path / "refs").mkdir()
    write_jsonl(tmp_path / "refs" / "old_release.jsonl", [{"uid": "u1", "question": "Q?", "answer": "A."}])
    # Relative reference paths resolve against the spec's folder, which the flow passes as ctx.spec_dir.
    fps = stage.reference_fingerprints(StageContext(spec_dir=tmp_path))
    assert fps[0] == load_reference(ReferenceSource(builtin="humaneval")).fingerprint and len(fps) == 2
    bad = yaml.safe_load(snippet.replace("ngram_n: 13", "ngram_n: 0"))
    with pytest.raises(SpecError, match=r"verifiers\[0\]\.params\.ngram_n"):
        parse_spec(bad, tmp_path / "spec.yaml")
