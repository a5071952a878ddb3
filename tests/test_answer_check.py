"""The `answer_check` verifier: an independent answer by the solver (or judge) role, on the fake
server over real HTTP, compared with the reference by label, number, text or an LLM equivalence call."""

from __future__ import annotations

import asyncio

import pytest
from docqa_factory import chunk_paragraphs, make_document

from benchsmith.documents import Corpus
from benchsmith.records import Citation, Item, Lineage
from benchsmith.stages import StageContext, verifiers
from benchsmith.text import Number, numbers_in, numbers_match
from benchsmith.verifiers.answer_check import AnswerCheck, compare_answers

LIN = Lineage(generator="test")
TAPS = "One tap fills a tank in 6 hours and a second tap in 3 hours. How long do both take together?"
JACKET = "A jacket costs $80, discounted by 25%. What fraction of the price is the discount?"
CAPITAL = "Which river flows through the capital of France?"


def _item(prompt: str, answer: str, **kw) -> Item:
    return Item.create(prompt=prompt, reference_answer=answer, lineage=LIN, **kw)


def _run(items: list[Item], ctx: StageContext, **cfg) -> list:
    return asyncio.run(AnswerCheck(cfg).verify(items, ctx))


def _solver(fake_llm, match: str, final: str, working: str = "worked it out") -> None:
    fake_llm.add_rule(match=match, response={"answer": working, "final_answer": final})


def test_registered_and_plans_its_calls() -> None:
    assert verifiers.get("answer_check") is AnswerCheck
    assert AnswerCheck().calls_per_item() == 2 and AnswerCheck({"llm_equivalence": False}).calls_per_item() == 1


def test_numbers_are_parsed_as_people_write_them() -> None:
    assert [n.value for n in numbers_in("$1,234.50, 3/4, 1 1/2 cups, -3, 25%")] == [1234.5, 0.75, 1.5, -3.0, 25.0]
    assert numbers_match(Number(1 / 3, None), Number(0.33, 2))  # rounded to the written precision
    assert not numbers_match(Number(16, 0), Number(16.4, 1))  # an integer is not a rounded decimal
    assert numbers_match(Number(25, 0, percent=True), Number(0.25, 2))


def test_numeric_match_and_mismatch(fake_llm, llm_ctx) -> None:
    _solver(fake_llm, "How long do both take", "2 hours", working="1/6 + 1/3 = 1/2 tank per hour")
    _solver(fake_llm, "What fraction of the price", "1/4")
    good = _item(TAPS, "2 hours")
    frac = _item(JACKET, "25%")
    v_good, v_frac = _run([good, frac], llm_ctx)
    assert v_good.passed and v_good.details["method"] == "numeric"
    assert v_frac.passed and v_frac.details["method"] == "numeric"
    # A wrong reference: the independent answer says 2 hours, the reference 4.5 hours (the solver's
    # request is the same as above, never showing the reference, so it is served from the cache).
    [v] = _run([_item(TAPS, "4.5 hours")], llm_ctx)
    assert not v.passed and v.reason == "answer_mismatch"
    assert v.details["reference"] == "4.5 hours" and v.details["independent"] == "2 hours"
    assert v.details["method"] == "numeric" and "1/6" in v.details["solver_working"]
    # The solver never saw the reference.
    assert all("4.5" not in b["messages"][-1]["content"] for b in fake_llm.requests())


def test_text_match_ignores_case_punctuation_and_articles(fake_llm, llm_ctx) -> None:
    _solver(fake_llm, CAPITAL, "the seine.")
    [v] = _run([_item(CAPITAL, "The Seine")], llm_ctx)
    assert v.passed and v.details["method"] == "text"
    assert fake_llm.stats()["requests"] == 1  # decided without the equivalence call


def test_llm_equivalence_decides_other_wordings(fake_llm, llm_ctx) -> None:
    q_same = "What must staff do before the fifth working day?"
    q_diff = "Who signs the ledger off?"
    fake_llm.add_rule(match="Answer 2:\nThey record the entry in the ledger", response={"equivalent": True})
    fake_llm.add_rule(match="Answer 2:\nThe director", response={"equivalent": False})
    _solver(fake_llm, q_same, "They record the entry in the ledger")
    _solver(fake_llm, q_diff, "The director")
    same = _item(q_same, "Record their entry in the ledger")
    diff = _item(q_diff, "The team lead")
    v_same, v_diff = _run([same, diff], llm_ctx)
    assert v_same.passed and v_same.details["method"] == "llm" and v_same.details["role"] == "judge"
    assert not v_diff.passed and v_diff.reason == "answer_mismatch" and v_diff.details["method"] == "llm"
    assert v_diff.details["independent"] == "The director" and v_diff.details["reference"] == "The team lead"
    # Off: different words are a mismatch, and no second call is made (the solver's answer is cached).
    fake_llm.reset()
    [v] = _run([same], llm_ctx, llm_equivalence=False)
    assert v.reason == "answer_mismatch" and v.details["method"] == "text" and fake_llm.stats()["requests"] == 0


def test_true_false_and_mcq_compare_the_label(fake_llm, llm_ctx) -> None:
    tf_q = "True or false: the Seine flows through Lyon."
    mcq_q = "Which river flows through Paris?"
    _solver(fake_llm, tf_q, "False")
    _solver(fake_llm, mcq_q, "B")
    tf_right = _item(tf_q, "False", kind="true_false", choices=["True", "False"])
    mcq_wrong = _item(mcq_q, "Rhone", kind="mcq", choices=["Rhone", "Seine", "Loire"])
    v_tf, v_mcq = _run([tf_right, mcq_wrong], llm_ctx)
    assert v_tf.passed and v_tf.details["method"] == "label"
    assert not v_mcq.passed and v_mcq.reason == "answer_mismatch"
    assert v_mcq.details["independent"] == "B. Seine" and v_mcq.details["reference"] == "Rhone"
    # The options were shown with letters.
    user = next(b["messages"][-1]["content"] for b in fake_llm.requests() if mcq_q in b["messages"][-1]["content"])
    assert "A. Rhone\nB. Seine\nC. Loire" in user


def test_unparseable_solver_answers_are_recorded_and_the_run_goes_on(fake_llm, llm_ctx) -> None:
    tf_q = "True or false: the tank fills in two hours."
    broken_q = "How many cans of paint are needed?"
    _solver(fake_llm, tf_q, "It depends on the taps")  # valid JSON, names no truth value
    fake_llm.add_rule(match=broken_q, raw="{not json")  # not JSON, nor after the repair request
    fake_llm.add_rule(match="Your reply was not valid", raw="{still not json")
    _solver(fake_llm, CAPITAL, "Seine")
    items = [_item(tf_q, "True", kind="true_false", choices=["True", "False"]), _item(broken_q, "5 cans"),
             _item(CAPITAL, "The Seine")]
    v_tf, v_broken, v_ok = _run(items, llm_ctx)
    assert not v_tf.passed and v_tf.reason == "solver_unparsed" and v_tf.details["unparsed"]
    assert v_tf.details["independent"] == "It depends on the taps"
    assert not v_broken.passed and v_broken.reason == "judge_error:invalid_json"  # transient: a rerun retries
    assert v_ok.passed
    # Kept unchecked when asked to.
    [kept] = _run([items[0]], llm_ctx, on_unparsed="keep")
    assert kept.passed and kept.details["unparsed"]


def test_solver_role_when_the_spec_defines_it_else_the_judge(fake_llm, llm_ctx) -> None:
    _solver(fake_llm, CAPITAL, "Seine")
    item = _item(CAPITAL, "The Seine")
    [v] = _run([item], llm_ctx)
    assert v.details["role"] == "judge"
    llm_ctx.roles = ("generator", "judge", "solver")
    [v] = _run([item], llm_ctx)
    assert v.passed and v.details["role"] == "solver"
    [v] = _run([item], llm_ctx, role="generator")
    assert v.details["role"] == "generator"


def test_code_passes_and_documents_items_come_with_their_passages(fake_llm, llm_ctx) -> None:
    doc = make_document("leave.md", ["Employees at Harbor Lane Bakery receive 24 days of paid leave per year."])
    [chunk] = chunk_paragraphs(doc)
    llm_ctx.corpus = Corpus.of([chunk], [doc])
    q = "How many days of paid leave do Harbor Lane Bakery employees get per year?"
    _solver(fake_llm, q, "24")
    cited = _item(q, "24 days", citations=[Citation(quote="24 days of paid leave", chunk_id=chunk.id)])
    code = _item("Write a function that reverses a list.", "def f(xs):\n    return xs[::-1]", kind="code")
    v_doc, v_code = _run([cited, code], llm_ctx)
    assert v_doc.passed and v_code.passed and v_code.details["applicable"] is False
    assert fake_llm.stats()["requests"] == 1
    assert f"[CONTEXT 1]\n{chunk.text}" in fake_llm.requests()[-1]["messages"][-1]["content"]


@pytest.mark.parametrize(("reference", "final", "agrees"), [
    ("12 boxes, 4 left over", "12 full boxes and 4 muffins left", True),
    ("$27.50", "27.5", True),
    ("1,000 pages", "1000", True),
    ("16", "16 boxes, with 4 muffins left", False),
    ("Tuesday", "tuesday.", True),
])
def test_compare_answers_without_a_model(reference: str, final: str, agrees: bool) -> None:
    cmp = compare_answers(_item("How many?", reference), final)
    assert cmp.agrees is agrees
