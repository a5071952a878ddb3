"""Document-suite verifiers: answerability and specificity (scripted judge on the fake
server), self-containedness and MCQ sanity (no model)."""

from __future__ import annotations

import asyncio

import pytest
from docqa_factory import chunk_paragraphs, make_document

from benchsmith.documents import Corpus
from benchsmith.records import Citation, Item, Lineage
from benchsmith.stages import StageContext, verifiers
from benchsmith.verifiers.answerability import Answerability, Specificity, closed_book_agreement
from benchsmith.verifiers.mcq import McqSanity
from benchsmith.verifiers.self_contained import SelfContained

DOC = make_document("products/zephyr.md", [
    "The Zephyr X2 air purifier has a HEPA-13 filter that must be replaced every 9 months.",
    "The Zephyr X2 draws 38 watts on its highest fan setting and 4 watts in sleep mode.",
])
CHUNKS = chunk_paragraphs(DOC)


def _item(prompt: str, answer: str, *, kind: str = "open_qa", choices: list[str] | None = None,
          chunk: int | None = 0, quote: str = "must be replaced every 9 months") -> Item:
    cits = [] if chunk is None else [Citation(quote=quote, document=DOC.path, chunk_id=CHUNKS[chunk].id)]
    return Item.create(kind=kind, prompt=prompt, reference_answer=answer, choices=choices, citations=cits,
                       lineage=Lineage(generator="document_qa"))


def _with_chunks(ctx: StageContext) -> StageContext:
    ctx.corpus = Corpus.of(CHUNKS)
    return ctx


FILTER_Q = "How often must the HEPA-13 filter of the Zephyr X2 air purifier be replaced?"
WATT_Q = "How many watts does the Zephyr X2 draw on its highest fan setting?"


# --- answerability -------------------------------------------------------------------------

def test_answerability_uses_the_cited_chunk_and_the_judges_verdict(fake_llm, llm_ctx) -> None:
    ctx = _with_chunks(llm_ctx)
    fake_llm.add_rule(match="HEPA-13 filter of the Zephyr", response={
        "answer": "Every 9 months.", "agrees": True, "confidence": 0.9})
    fake_llm.add_rule(match="highest fan setting?", response={
        "answer": "not in the context", "agrees": False, "confidence": 0.8})
    good = _item(FILTER_Q, "Every 9 months")
    # Cites the filter chunk, asks about power: the cited context does not answer it.
    unanswerable = _item(WATT_Q, "38 watts")
    v_good, v_bad = asyncio.run(Answerability().verify([good, unanswerable], ctx))
    assert v_good.passed and v_good.score == 0.9 and v_good.details["judge_answer"] == "Every 9 months."
    assert not v_bad.passed and v_bad.reason == "not_answerable"
    # The judge saw the whole cited chunk, delimited, and the reference answer.
    user = next(b["messages"][-1]["content"] for b in fake_llm.requests() if FILTER_Q in b["messages"][-1]["content"])
    assert "[CONTEXT 1]\n" + CHUNKS[0].text in user and "Every 9 months" in user
    assert CHUNKS[1].text not in user
    assert fake_llm.requests()[0]["model"] == fake_llm.model


def test_answerability_low_confidence_judge_errors_and_no_citations(fake_llm, llm_ctx) -> None:
    ctx = _with_chunks(llm_ctx)
    fake_llm.add_rule(match="HEPA-13 filter of the Zephyr", response={
        "answer": "Every 9 months.", "agrees": True, "confidence": 0.3})
    fake_llm.add_rule(match="highest fan setting?", raw="not json")
    fake_llm.add_rule(match="Your reply was not valid", raw="still not json")  # the repair fails too
    items = [_item(FILTER_Q, "Every 9 months"), _item(WATT_Q, "38 watts", chunk=1), _item(WATT_Q, "38", chunk=None)]
    v1, v2, v3 = asyncio.run(Answerability({"min_confidence": 0.5}).verify(items, ctx))
    assert (v1.passed, v1.reason) == (False, "low_confidence")
    assert not v2.passed and v2.reason == "judge_error:invalid_json"
    assert (v3.passed, v3.reason) == (False, "no_citations")
    assert verifiers.get("answerability").uses_llm


# --- specificity ---------------------------------------------------------------------------

def test_specificity_flags_items_the_judge_knows_without_the_documents(fake_llm, llm_ctx) -> None:
    fake_llm.add_rule(match="What is the chemical symbol of gold", response={"answer": "Au", "confidence": 0.99})
    fake_llm.add_rule(match="HEPA-13 filter of the Zephyr", response={"answer": "unknown", "confidence": 0.1})
    general = _item("What is the chemical symbol of gold?", "Au")
    specific = _item(FILTER_Q, "Every 9 months")
    v_gen, v_spec = asyncio.run(Specificity().verify([general, specific], llm_ctx))
    assert v_gen.passed and v_gen.details["flagged"] is True and v_gen.score == 1.0
    assert v_spec.passed and v_spec.details["flagged"] is False
    # The closed-book question carries neither the context nor the reference answer.
    asked = [b["messages"][-1]["content"] for b in fake_llm.requests()]
    assert all("9 months" not in a and "Au" not in a.split() for a in asked)
    dropped, kept = asyncio.run(Specificity({"drop_general_knowledge": True}).verify([general, specific], llm_ctx))
    assert (dropped.passed, dropped.reason) == (False, "general_knowledge") and kept.passed


def test_closed_book_agreement_per_kind() -> None:
    mcq = _item(FILTER_Q, "9 months", kind="mcq", choices=["3 months", "9 months", "2 years"])
    assert closed_book_agreement(mcq, "9 months") == 1.0
    assert closed_book_agreement(mcq, "B") == 1.0
    assert closed_book_agreement(mcq, "A. 3 months") == 0.0
    tf = _item("True or false: Zephyr X2 filters last 2 years.", "False", kind="true_false", choices=["True", "False"])
    assert closed_book_agreement(tf, "False") == 1.0 and closed_book_agreement(tf, "True") == 0.0
    open_ = _item(FILTER_Q, "Every 9 months")
    assert closed_book_agreement(open_, "It is replaced every 9 months.") == 1.0
    assert closed_book_agreement(open_, "Every 12 months") == 0.5


# --- self-containedness --------------------------------------------------------------------

@pytest.mark.parametrize("prompt", [
    "According to the passage, how often is the filter replaced?",
    "What does this document say about the Zephyr X2 filter?",
    "As mentioned, the filter is replaced how often?",
    "In the above, which wattage is given for sleep mode?",
    "Which filter grade does THE PASSAGE name for the Zephyr X2?",
    "What can be found in passages taken from document 3?",
    "Is this fact about the Zephyr X2 filter true?",
])
def test_self_contained_rejects_references_to_unseen_context(prompt: str) -> None:
    [v] = asyncio.run(SelfContained().verify([_item(prompt, "9 months")], StageContext()))
    assert not v.passed and v.reason == "not_self_contained" and v.details["field"] == "prompt"


def test_self_contained_keeps_good_items_and_checks_options() -> None:
    good = _item(FILTER_Q, "Every 9 months")
    bad_option = _item(FILTER_Q, "9 months", kind="mcq", choices=["9 months", "As stated above", "1 year"])
    passage_word = _item("Which passage of the Zephyr X2 manual lists the filter?", "Maintenance")  # 'passage' alone is fine
    v = asyncio.run(SelfContained().verify([good, bad_option, passage_word], StageContext()))
    assert [x.passed for x in v] == [True, False, True]
    assert v[1].details["field"] == "choices[1]"
    custom = SelfContained({"phrases": ["zephyr"], "check_choices": False})
    v = asyncio.run(custom.verify([good, bad_option], StageContext()))
    assert [x.passed for x in v] == [False, False]
    assert verifiers.get("self_contained") is SelfContained


# --- MCQ sanity ----------------------------------------------------------------------------

def _mcq(answer: str, choices: list[str]) -> Item:
    return _item(FILTER_Q, answer, kind="mcq", choices=choices)


def test_mcq_sanity_cases() -> None:
    items = [
        _mcq("9 months", ["3 months", "9 months", "2 years", "5 years"]),        # fine
        _mcq("B", ["3 months", "9 months", "2 years"]),                          # letter answer: fine
        _mcq("9 months", ["9 months", "2 years"]),                               # too few
        _mcq("9 months", ["3 months", "9 Months.", "9 months", "2 years"]),      # duplicate after normalising
        _mcq("9 months", ["3 months", "9 months", "", "2 years"]),               # empty option
        _mcq("9 months", ["3 months", "9 months", "None of the above"]),        # banned
        _mcq("10 months", ["3 months", "9 months", "2 years"]),                  # answer missing
        _item("True or false: the filter lasts 9 months.", "Maybe", kind="true_false", choices=["True", "False"]),
        _item("True or false: the filter lasts 9 months.", "True", kind="true_false", choices=["True", "False"]),
        _item(FILTER_Q, "Every 9 months"),                                       # not an MCQ: passes
    ]
    v = asyncio.run(McqSanity().verify(items, StageContext()))
    assert [x.reason for x in v] == [None, None, "too_few_options", "duplicate_options", "empty_option",
                                     "banned_option", "answer_not_in_options", "invalid_true_false", None, None]
    assert [x.passed for x in v] == [True, True] + [False] * 6 + [True, True]
    # Banned options can be allowed, and the option minimum lowered.
    lax = McqSanity({"banned_options": [], "min_options": 2})
    v = asyncio.run(lax.verify([items[2], items[5]], StageContext()))
    assert all(x.passed for x in v)


def test_answerability_decides_mcq_and_true_false_by_the_option_named(fake_llm, llm_ctx) -> None:
    # A small judge picks the right option and then says it disagrees (or the reverse):
    # the option it names decides. A '<placeholder>' answer is no answer at all.
    ctx = _with_chunks(llm_ctx)
    mcq = _item(FILTER_Q, "9 months", kind="mcq", choices=["3 months", "9 months", "2 years"])
    tf = _item("True or false: the Zephyr X2 filter is replaced every 2 years.", "False", kind="true_false",
               choices=["True", "False"])
    echo = _item("How often is the HEPA-13 filter replaced, by the Zephyr X2 manual?", "Every 9 months")
    fake_llm.add_rule(match="HEPA-13 filter of the Zephyr", response={"answer": "B", "agrees": False,
                                                                       "confidence": 0.6})
    fake_llm.add_rule(match="replaced every 2 years", response={"answer": "True", "agrees": True,
                                                                  "confidence": 0.6})
    fake_llm.add_rule(match="by the Zephyr X2 manual", response={"answer": "<your answer>", "agrees": True,
                                                                  "confidence": 1})
    v_mcq, v_tf, v_echo = asyncio.run(Answerability().verify([mcq, tf, echo], ctx))
    assert v_mcq.passed and v_mcq.details["agreement_source"] == "option"
    assert (v_tf.passed, v_tf.reason) == (False, "not_answerable")
    assert (v_echo.passed, v_echo.reason) == (False, "judge_error:no_answer")
