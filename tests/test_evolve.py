"""The `evolve` generator: deterministic planning, config checks, prompts, and a real run
against the fake OpenAI-compatible server (scripted failures, cache hits on rerun)."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from pydantic import ValidationError

from benchsmith.errors import EndpointError, SpecError
from benchsmith.generators.evolve import Evolve, EvolveConfig, plan_chains
from benchsmith.generators.evolve_prompts import ALL_OPERATORS, EXAMPLES, build_messages, clean_code_answer
from benchsmith.llm.client import LLMClient
from benchsmith.llm.usage import CallBudget
from benchsmith.process import free_port
from benchsmith.records import Seed, content_hash
from benchsmith.spec import load_spec, parse_spec
from benchsmith.stages import GenerationResult, StageContext, generators
from benchsmith.text import clean_text

SEEDS = [
    Seed(id=f"s{i}", prompt=f"Seed question number {i}: how many apples are left after step {i}?",
         domain="arithmetic" if i % 2 else "logic")
    for i in range(5)
]


def _signature(chains: list) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    return [(c.seed.id, tuple((s.operator, s.cache_salt) for s in c.steps)) for c in chains]


# --- planning ------------------------------------------------------------------------------

def test_plan_is_deterministic_and_round_robin() -> None:
    cfg = EvolveConfig()
    a = plan_chains(SEEDS, 10, 0, 7, cfg)
    b = plan_chains(SEEDS, 10, 0, 7, cfg)
    assert _signature(a) == _signature(b)
    assert len(a) == 10
    # Round-robin: 10 chains over 5 seeds use every seed exactly twice.
    assert Counter(c.seed.id for c in a) == {s.id: 2 for s in SEEDS}
    assert all(s.operator in ALL_OPERATORS for c in a for s in c.steps)
    assert len({s.cache_salt for c in a for s in c.steps}) == 10


def test_plan_varies_by_round_and_random_seed() -> None:
    cfg = EvolveConfig()
    r0 = plan_chains(SEEDS, 8, 0, 0, cfg)
    r1 = plan_chains(SEEDS, 8, 1, 0, cfg)
    other_seed = plan_chains(SEEDS, 8, 0, 1, cfg)
    salts = lambda chains: {s.cache_salt for c in chains for s in c.steps}  # noqa: E731
    # A new round never reuses a cache salt, so even the same seed+operator asks for a new variant.
    assert not salts(r0) & salts(r1)
    assert not salts(r0) & salts(other_seed)
    assert [s.operator for c in r0 for s in c.steps] != [s.operator for c in r1 for s in c.steps]
    # Later rounds move on through the seeds instead of starting at the same one.
    assert r0[0].seed.id != r1[0].seed.id


def test_plan_varies_operators_per_seed_within_a_round() -> None:
    # Same (seed, operator) twice would send identical messages: each seed gets every
    # in-depth operator once before any repeats.
    cfg = EvolveConfig(operators=["add_constraints", "deepen", "concretize", "increase_reasoning",
                                  "complicate_input"])
    chains = plan_chains(SEEDS[:2], 10, 0, 0, cfg)
    pairs = Counter((c.seed.id, c.steps[0].operator) for c in chains)
    assert len(pairs) == 10 and set(pairs.values()) == {1}


def test_plan_depth_chains_and_truncation() -> None:
    chains = plan_chains(SEEDS, 7, 0, 0, EvolveConfig(depth=3))
    assert [len(c.steps) for c in chains] == [3, 3, 1]
    assert plan_chains(SEEDS, 0, 0, 0, EvolveConfig()) == []
    assert plan_chains([], 5, 0, 0, EvolveConfig()) == []


def test_breadth_is_rarer_and_operators_respected() -> None:
    chains = plan_chains(SEEDS, 2000, 0, 3, EvolveConfig())
    counts = Counter(s.operator for c in chains for s in c.steps)
    assert set(counts) == set(ALL_OPERATORS)
    share = counts["breadth"] / 2000
    assert 0.06 < share < 0.14  # default breadth_share 0.1
    assert all(counts[op] > counts["breadth"] for op in ALL_OPERATORS if op != "breadth")

    only = plan_chains(SEEDS, 50, 0, 3, EvolveConfig(operators=["deepen", "concretize"]))
    assert {s.operator for c in only for s in c.steps} == {"deepen", "concretize"}
    none = plan_chains(SEEDS, 200, 0, 3, EvolveConfig(breadth_share=0.0))
    assert "breadth" not in {s.operator for c in none for s in c.steps}


# --- config validation ------------------------------------------------------------------------

def test_unknown_operator_lists_known_ones() -> None:
    with pytest.raises(ValidationError) as err:
        EvolveConfig(operators=["add_constraints", "deepn"])
    text = str(err.value)
    assert "unknown operator 'deepn'" in text and "Did you mean 'deepen'?" in text
    assert all(op in text for op in ALL_OPERATORS)


@pytest.mark.parametrize("params,needle", [
    ({"operators": []}, "at least one operator"),
    ({"operators": ["deepen", "deepen"]}, "operator listed twice: deepen"),
    ({"depth": 0}, "greater than or equal to 1"),
    ({"kind": "mcq"}, "'open_qa' or 'code'"),
    ({"temprature": 0.3}, "Extra inputs are not permitted"),
])
def test_config_errors(params: dict, needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        EvolveConfig(**params)


def test_spec_names_bad_generator_params() -> None:
    data = {"suite": "x", "target_items": 1, "seeds": {"path": "s.txt"},
            "generators": [{"name": "evolve", "params": {"operators": ["shuffle"]}}]}
    with pytest.raises(SpecError, match=r"generators\[0\]\.params\.operators: .*unknown operator 'shuffle'"):
        parse_spec(data, "suite.yaml")
    assert "evolve" in generators.names()


# --- prompts and clean-up -------------------------------------------------------------------

def test_messages_carry_seed_operator_and_hints() -> None:
    msgs = build_messages(operator="add_constraints", prompt="How far is 3 km in metres?", kind="open_qa",
                          difficulty="hard", item_language="French")
    user = msgs[-1]["content"]
    assert msgs[0]["role"] == "system" and msgs[-1]["role"] == "user"
    assert "How far is 3 km in metres?" in user and "condition or requirement" in user
    assert "hard" in user and "French" in user and EXAMPLES["open_qa"]["question"] in user
    breadth = build_messages(operator="breadth", prompt="Reverse a list.", kind="code", domain="lists",
                             code_language="Rust")[-1]["content"]
    assert "brand-new programming task" in breadth and "(lists)" in breadth and "Rust" in breadth


@pytest.mark.parametrize("raw,clean", [
    ("#Rewritten Prompt#: What is 7 times 8?", "What is 7 times 8?"),
    ("#Rewritten Prompt#\nWhat is 7 times 8?", "What is 7 times 8?"),
    ("**New question:** What is 7 times 8?", "What is 7 times 8?"),
    ("Question: \"What is 7 times 8?\"", "What is 7 times 8?"),
    ("Answer: 56", "56"),
    ("What is the answer to 7 times 8?", "What is the answer to 7 times 8?"),
])
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_clean_code_answer_unwraps_fence_and_keeps_indentation() -> None:
    raw = "```python\ndef f(x):\n    return x + 1\n```"
    assert clean_code_answer(raw) == "def f(x):\n    return x + 1"


# --- end to end against the fake server -----------------------------------------------------

def _run(gen: Evolve, seeds: list[Seed], n: int, round_index: int, ctx: StageContext) -> GenerationResult:
    return asyncio.run(gen.generate(seeds, n, round_index, ctx))


def test_generate_end_to_end(fake_llm, llm_ctx: StageContext) -> None:
    seeds = SEEDS[:3]
    progress: list[tuple[str, int]] = []
    llm_ctx.progress = lambda stage, k: progress.append((stage, k))
    gen = Evolve({"operators": ["add_constraints", "concretize"]})
    result = _run(gen, seeds, 6, 0, llm_ctx)

    assert result.failures == []
    assert len(result.items) == 6
    assert len({i.id for i in result.items}) == 6  # distinct requests → distinct texts
    client = llm_ctx.client("generator")
    by_seed = {s.id: s for s in seeds}
    for item in result.items:
        assert item.lineage.generator == "evolve"
        assert item.lineage.operator in {"add_constraints", "concretize"}
        assert item.lineage.seed_id == item.seed_id == item.lineage.parent_id
        assert item.seed_id in by_seed
        assert item.metadata["domain"] == by_seed[item.seed_id].domain
        assert item.metadata["operator"] == item.lineage.operator
        assert item.lineage.model == client.model and item.lineage.endpoint == client.base_url
        assert item.lineage.params["round"] == 0 and item.lineage.params["cache_salt"].startswith("evolve/")
        assert item.kind == "open_qa" and item.prompt and item.reference_answer
        assert item.id == content_hash("open_qa", item.prompt.strip(), item.reference_answer.strip(), [])
    assert progress == [("evolve", 1)] * 6
    assert fake_llm.stats()["requests"] == 6


def test_scripted_invalid_json_becomes_failure(fake_llm, llm_ctx: StageContext) -> None:
    seeds = SEEDS[:3]
    bad = seeds[1]
    # The seed's own request gets broken JSON, and so does the client's repair request
    # (only the failing seed sends one): after the repair the client gives up.
    fake_llm.add_rule(match=bad.prompt, raw="{broken")
    fake_llm.add_rule(match="Your reply was not valid", raw='{"question": "still broken"')
    result = _run(Evolve(), seeds, 3, 0, llm_ctx)

    assert len(result.failures) == 1
    failure = result.failures[0]
    assert failure.seed_id == bad.id and failure.reason == "invalid_json"
    assert failure.operator in ALL_OPERATORS
    assert sorted(i.seed_id for i in result.items) == sorted(s.id for s in seeds if s is not bad)


def test_scripted_echo_and_copied_example_are_dropped(fake_llm, llm_ctx: StageContext) -> None:
    seeds = SEEDS[:3]
    fake_llm.add_rule(match=seeds[0].prompt,
                      response={"question": f"#Rewritten Prompt#: {seeds[0].prompt}", "reference_answer": "4"})
    fake_llm.add_rule(match=seeds[1].prompt, response=EXAMPLES["open_qa"])
    result = _run(Evolve({"operators": ["deepen"]}), seeds, 3, 0, llm_ctx)
    reasons = {f.seed_id: f.reason for f in result.failures}
    assert reasons == {seeds[0].id: "unchanged_prompt", seeds[1].id: "copied_example"}
    assert [i.seed_id for i in result.items] == [seeds[2].id]


def test_depth_chains_parent_ids(fake_llm, llm_ctx: StageContext) -> None:
    result = _run(Evolve({"depth": 3, "kind": "code"}), SEEDS[:1], 3, 0, llm_ctx)
    assert result.failures == []
    first, second, third = result.items
    assert first.lineage.parent_id == SEEDS[0].id
    assert second.lineage.parent_id == first.id and third.lineage.parent_id == second.id
    assert {i.seed_id for i in result.items} == {SEEDS[0].id}
    assert [i.metadata["evolution_step"] for i in result.items] == [1, 2, 3]
    assert all(i.kind == "code" for i in result.items)


def test_rerun_hits_cache_and_new_round_does_not(fake_llm, llm_ctx: StageContext) -> None:
    seeds = [*SEEDS, *(Seed(id=f"t{i}", prompt=f"Another seed {i}: what is {i} squared plus one?") for i in range(5))]
    gen = Evolve()
    first = _run(gen, seeds, 5, 0, llm_ctx)
    sent = fake_llm.stats()["requests"]
    assert sent == 5
    again = _run(Evolve(), seeds, 5, 0, llm_ctx)
    assert fake_llm.stats()["requests"] == sent  # every request answered from the cache
    assert [i.id for i in again.items] == [i.id for i in first.items]

    # The next round moves on to the next five seeds: new requests, new items.
    next_round = _run(gen, seeds, 5, 1, llm_ctx)
    assert {i.seed_id for i in next_round.items}.isdisjoint({i.seed_id for i in first.items})
    assert fake_llm.stats()["requests"] == sent + 5
    assert not {i.id for i in next_round.items} & {i.id for i in first.items}


def _ctx_with_client(base_url: str, tmp_path: Path, **client_args: object) -> StageContext:
    client = LLMClient(base_url=base_url, model="fake-model", concurrency=1, max_retries=1, timeout_s=3.0,
                       backoff_base_s=0.01, backoff_max_s=0.05, cache_dir=tmp_path / "cache", **client_args)
    return StageContext(llm=lambda role: client, workspace=tmp_path, random_seed=0)


def test_budget_exhausted_returns_what_was_made(fake_llm, tmp_path: Path) -> None:
    ctx = _ctx_with_client(fake_llm.base_url, tmp_path, budget=CallBudget(2))
    result = _run(Evolve(), SEEDS, 5, 0, ctx)  # one request at a time: two are answered
    assert len(result.items) == 2 and result.failures == []
    assert fake_llm.stats()["requests"] == 2


def test_unreachable_endpoint_propagates(tmp_path: Path) -> None:
    ctx = _ctx_with_client(f"http://127.0.0.1:{free_port()}/v1", tmp_path)
    with pytest.raises(EndpointError, match="cannot reach"):
        _run(Evolve(), SEEDS, 3, 0, ctx)


# --- example suites --------------------------------------------------------------------------

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"


@pytest.mark.parametrize("name,kind", [("reasoning.yaml", "open_qa"), ("coding.yaml", "code")])
def test_example_specs_load(name: str, kind: str) -> None:
    from benchsmith.seeds import load_seeds

    spec = load_spec(SEEDS_DIR / name)
    assert [g.name for g in spec.generators] == ["evolve"]
    assert spec.generators[0].params["kind"] == kind
    assert {"rules", "llm_judge"} <= {v.name for v in spec.verifiers}
    seeds = load_seeds(spec).seeds
    assert len(seeds) >= 15 and not load_seeds(spec).skipped
    # Small enough for the embedded model: a handful of items, a bounded call budget.
    assert spec.target_items <= 12 and spec.budget.max_llm_calls <= 120
