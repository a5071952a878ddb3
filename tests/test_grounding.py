"""The `grounding` verifier: quotes found in their cited chunks, offsets consistent with the
document, answers supported by the quotes; and the quote locator the generator shares."""

from __future__ import annotations

import asyncio
import time

import pytest
from docqa_factory import chunk_paragraphs, make_document
from pydantic import ValidationError

from benchsmith.documents import Corpus
from benchsmith.quotes import locate_quote, support_score
from benchsmith.records import Citation, Item, Lineage
from benchsmith.stages import StageContext, verifiers
from benchsmith.verifiers.grounding import Grounding, GroundingConfig

DOC = make_document("handbook/leave.md", [
    "Employees of Northwind Traders receive 27 days of paid annual leave per calendar year.",
    "Unused leave of up to five days may be carried over into the first quarter of the next year.",
    "Parental leave is 16 weeks at full pay for every parent, taken within 18 months of the birth.",
], headings=["Annual leave", "Carry-over", "Parental leave"])
CHUNKS = chunk_paragraphs(DOC)
BY_ID = {c.id: c for c in CHUNKS}


def _ctx(with_documents: bool = True) -> StageContext:
    return StageContext(corpus=Corpus.of(CHUNKS, [DOC] if with_documents else []))


def _cite(chunk_index: int, quote: str, *, offsets: bool = True) -> Citation:
    chunk = CHUNKS[chunk_index]
    pos = DOC.text.find(quote)
    start, end = (pos, pos + len(quote)) if offsets and pos >= 0 else (None, None)
    return Citation(quote=quote, document=DOC.path, section=chunk.section, chunk_id=chunk.id, start=start, end=end)


def _item(citations: list[Citation], answer: str = "27 days of paid annual leave", *, kind: str = "open_qa",
          prompt: str = "How many days of paid annual leave do Northwind Traders employees get per year?",
          choices: list[str] | None = None, metadata: dict | None = None) -> Item:
    return Item.create(kind=kind, prompt=prompt, reference_answer=answer, choices=choices, citations=citations,
                       lineage=Lineage(generator="document_qa"), metadata=metadata or {})


def _verify(items: list[Item], ctx: StageContext | None = None, **cfg) -> list:
    return asyncio.run(Grounding(cfg).verify(items, ctx or _ctx()))


def test_registered_and_config_bounds() -> None:
    assert verifiers.get("grounding") is Grounding
    with pytest.raises(ValidationError):
        GroundingConfig(threshold=120)


def test_real_quotes_pass_with_offsets() -> None:
    quote = "receive 27 days of paid annual leave per calendar year"
    [v] = _verify([_item([_cite(0, quote)])])
    assert v.passed and v.score == 1.0 and v.details["answer_support"] == 1.0


def test_quote_with_other_spacing_and_case_passes() -> None:
    quote = "RECEIVE 27 days   of paid\nannual leave"
    [v] = _verify([_item([_cite(0, quote, offsets=False)])])
    assert v.passed, v


def test_fabricated_quote_fails_with_best_score() -> None:
    quote = "Employees of Northwind Traders receive 40 days of unpaid sabbatical every five years."
    [v] = _verify([_item([_cite(0, quote, offsets=False)])])
    assert not v.passed and v.reason == "quote_not_found"
    assert v.details["quote"] == quote and 0 < v.details["best_score"] < 90


def test_quote_from_another_chunk_fails() -> None:
    # Present in the document, but not in the chunk it cites.
    cit = _cite(0, "Parental leave is 16 weeks at full pay", offsets=False)
    [v] = _verify([_item([cit], answer="16 weeks at full pay")])
    assert not v.passed and v.reason == "quote_not_found"


def test_quote_padding_a_whole_chunk_with_invention_fails() -> None:
    # partial_ratio would align the short chunk inside the long quote and score 100.
    padded = CHUNKS[0].text + " They also get a free car, a boat and a house in the mountains every year."
    [v] = _verify([_item([_cite(0, padded, offsets=False)])])
    assert not v.passed and v.reason == "quote_not_found"


def test_no_citations_unknown_chunk_and_short_quote() -> None:
    cit = _cite(0, "27 days")
    unknown = Citation(quote="27 days of paid annual leave", chunk_id="nope")
    v1, v2, v3 = _verify([_item([]), _item([unknown]), _item([cit], answer="27")], min_quote_chars=10)
    assert (v1.reason, v2.reason, v3.reason) == ("no_citations", "unknown_chunk", "quote_too_short")


def test_offsets_must_match_the_document_text() -> None:
    good = _cite(1, "carried over into the first quarter")
    shifted = good.model_copy(update={"start": good.start + 9, "end": good.end + 9})
    outside = good.model_copy(update={"start": 0, "end": 10})  # not inside the cited chunk
    answer = "up to five days, carried over into the first quarter"
    v_good, v_shift, v_out = _verify([_item([good], answer=answer), _item([shifted], answer=answer),
                                      _item([outside], answer=answer)])
    assert v_good.passed and (v_shift.reason, v_out.reason) == ("offset_mismatch", "offset_mismatch")
    # Without the documents in the context, offsets are checked against the chunk text.
    v_good2, v_shift2 = _verify([_item([good], answer=answer), _item([shifted], answer=answer)], _ctx(False))
    assert v_good2.passed and v_shift2.reason == "offset_mismatch"
    # ... and the check can be turned off.
    [v] = _verify([_item([shifted], answer=answer)], check_offsets=False)
    assert v.passed


def test_answer_must_be_supported_by_the_quotes() -> None:
    cit = _cite(0, "receive 27 days of paid annual leave per calendar year")
    [v] = _verify([_item([cit], answer="Twelve weeks of sabbatical after five years of service")])
    assert not v.passed and v.reason == "answer_unsupported" and v.score < 0.5
    # Stop words and inflections do not decide it: "days" ~ "day", "the" ignored.
    [v] = _verify([_item([cit], answer="The employees receive 27 paid days")])
    assert v.passed
    [v] = _verify([_item([cit], answer="Twelve weeks of sabbatical")], answer_support_threshold=0)
    assert v.passed


def test_mcq_and_true_false_use_the_correct_option_and_the_statement() -> None:
    cit = _cite(2, "Parental leave is 16 weeks at full pay for every parent")
    mcq = _item([cit], kind="mcq", answer="16 weeks", choices=["8 weeks", "16 weeks", "Six months", "One year"],
                prompt="How long is parental leave at Northwind Traders?")
    mcq_letter = _item([cit], kind="mcq", answer="B", choices=["8 weeks", "16 weeks", "Six months", "One year"],
                       prompt="How long is parental leave at Northwind Traders?")
    mcq_wrong = _item([cit], kind="mcq", answer="C", choices=["8 weeks", "16 weeks", "Six months", "One year"],
                      prompt="How long is parental leave at Northwind Traders?")
    tf = _item([cit], kind="true_false", answer="False", choices=["True", "False"],
               prompt="True or false: Parental leave at Northwind Traders is 8 weeks at full pay.")
    tf_off_topic = _item([cit], kind="true_false", answer="True", choices=["True", "False"],
                         prompt="True or false: The cafeteria serves vegetarian lunch on Mondays.")
    v = _verify([mcq, mcq_letter, mcq_wrong, tf, tf_off_topic])
    assert [x.passed for x in v] == [True, True, False, True, False]
    assert v[2].reason == v[4].reason == "answer_unsupported"


def test_support_score_basics() -> None:
    assert support_score("the and of", "anything") is None
    assert support_score("27 days", "receive 27 days of leave") == 1.0
    assert support_score("27 days", "receive 28 days of leave") == 0.5


def test_locate_quote() -> None:
    text = CHUNKS[0].text
    m = locate_quote("27 days of paid annual leave", text)
    assert m is not None and text[m.start:m.end] == "27 days of paid annual leave" and m.score == 100
    m = locate_quote("employees of northwind  traders receive 27", text)
    assert m is not None and text[m.start:m.end] == "Employees of Northwind Traders receive 27"
    m = locate_quote("Employees of Northwind Trader receive 27 days of paid anual leave", text)
    assert m is not None and 90 <= m.score < 100
    assert text[m.start:m.end].startswith("Employees") and text[m.start:m.end].endswith("leave")
    assert locate_quote("The moon is made of green cheese, says the board.", text) is None
    assert locate_quote("", text) is None


def test_needs_chunks_in_the_context() -> None:
    with pytest.raises(RuntimeError, match="chunks"):
        asyncio.run(Grounding().verify([_item([])], StageContext()))


def test_many_items_are_checked_quickly() -> None:
    # The bench (bench/grounding_throughput.py) measures 10,000 items; this guards the order of magnitude.
    real = _item([_cite(0, "receive 27 days of paid annual leave per calendar year")])
    fake = _item([_cite(0, "Employees get a company car and a boat.", offsets=False)])
    items = [real, fake] * 1000
    t0 = time.perf_counter()
    verdicts = _verify(items)
    assert time.perf_counter() - t0 < 5.0
    assert sum(v.passed for v in verdicts) == 1000


# --- true/false: a false statement must be contradicted by its quotes ----------------------

def _tf(statement: str, answer: str, quote: str, chunk: int = 0, **metadata) -> Item:
    return _item([_cite(chunk, quote)], kind="true_false", answer=answer, choices=["True", "False"],
                 prompt=f"True or false: {statement}", metadata={"statement": statement, **metadata})


def test_false_statement_that_its_quote_supports_is_dropped() -> None:
    quote = "Employees of Northwind Traders receive 27 days of paid annual leave per calendar year."
    supported = _tf("Employees of Northwind Traders receive 27 days of paid annual leave per year.", "False", quote)
    changed_number = _tf("Employees of Northwind Traders receive 54 days of paid annual leave per year.", "False",
                         quote, perturbation={"by": "generator", "original": "27", "changed": "54"})
    negated = _tf("Employees of Northwind Traders do not receive paid annual leave.", "False", quote)
    renamed = _tf("Employees of Contoso receive 27 days of paid annual leave per calendar year.", "False", quote,
                  perturbation={"by": "model", "original": "Northwind Traders", "changed": "Contoso"})
    v = _verify([supported, changed_number, negated, renamed])
    assert [x.passed for x in v] == [False, True, True, True]
    assert v[0].reason == "false_statement_supported" and v[0].details["contradiction"] is None
    assert v[1].details["contradiction"] == "perturbation" and v[1].details["original_support"] == 1.0
    assert v[2].details["contradiction"] == "negation"
    assert v[3].details["contradiction"] == "perturbation"
    # A recorded perturbation that does not hold (the "original" is not in the quote) is no contradiction.
    bogus = _tf("Employees of Northwind Traders receive 27 days of paid annual leave per year.", "False", quote,
                perturbation={"by": "model", "original": "31", "changed": "27"})
    [vb] = _verify([bogus])
    assert vb.reason == "false_statement_supported"
    # Off, only the support test applies.
    assert _verify([supported], check_truth=False)[0].passed


def test_true_statement_with_a_number_its_quote_lacks_is_dropped() -> None:
    quote = "Parental leave is 16 weeks at full pay for every parent"
    right = _tf("Parental leave at Northwind Traders is 16 weeks at full pay.", "True", quote, chunk=2)
    wrong = _tf("Parental leave at Northwind Traders is 12 weeks at full pay.", "True", quote, chunk=2)
    v_right, v_wrong = _verify([right, wrong])
    assert v_right.passed
    assert not v_wrong.passed and v_wrong.reason == "statement_contradicted"
    assert v_wrong.details["numbers_not_in_quotes"] == [12.0]
