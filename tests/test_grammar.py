"""Schemas sent to grammar-constrained servers (llama.cpp) spell small integer ranges as enums."""

from __future__ import annotations

import asyncio
from typing import Any

from benchsmith.llm.client import LLMClient
from benchsmith.llm.grammar import grammar_friendly

SCORE = {"type": "object", "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5},
                                          "big": {"type": "integer", "minimum": 0, "maximum": 10_000}},
         "required": ["score", "big"]}


def test_small_ranges_become_enums_and_wide_ones_stay() -> None:
    out = grammar_friendly(SCORE)
    assert out["properties"]["score"]["enum"] == [1, 2, 3, 4, 5]
    assert "enum" not in out["properties"]["big"]
    assert "enum" not in SCORE["properties"]["score"], "the caller's schema must not be modified"


def test_nested_arrays_are_rewritten() -> None:
    schema = {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 2}}
    assert grammar_friendly(schema)["items"]["enum"] == [0, 1, 2]


def _sent_schema(fake_llm: Any, style: str) -> dict[str, Any]:
    client = LLMClient(base_url=fake_llm.base_url, model=fake_llm.model, response_format_style=style,  # type: ignore[arg-type]
                       max_retries=0, timeout_s=5)
    answer = asyncio.run(client.complete_json([{"role": "user", "content": f"rate it ({style})"}], SCORE))
    assert 1 <= answer["score"] <= 5
    return fake_llm.requests()[-1]["response_format"]


def test_llama_cpp_style_sends_enum_openai_style_sends_schema_as_is(fake_llm: Any) -> None:
    llama = _sent_schema(fake_llm, "json_object_schema")
    assert llama["type"] == "json_object"
    assert llama["schema"]["properties"]["score"]["enum"] == [1, 2, 3, 4, 5]
    openai_style = _sent_schema(fake_llm, "json_schema")
    assert openai_style["json_schema"]["schema"] == SCORE


def test_salted_requests_carry_a_stable_seed(fake_llm: Any) -> None:
    client = LLMClient(base_url=fake_llm.base_url, model=fake_llm.model, max_retries=0, timeout_s=5)
    messages = [{"role": "user", "content": "variant please"}]

    async def ask(salt: str) -> None:
        await client.complete_json(messages, SCORE, cache_salt=salt)

    for salt in ("v1", "v2", "v1", ""):
        asyncio.run(ask(salt))
    seeds = [r.get("seed") for r in fake_llm.requests()[-4:]]
    assert seeds[0] is not None and seeds[0] != seeds[1]
    assert seeds[2] == seeds[0], "the same variant must get the same seed"
    assert seeds[3] is None, "unsalted requests send no seed"
