"""The solver panel: every model answers every item through the project's one LLM client.

Each model gets an `LLMClient` (role ``solver:<name>``: retries, backoff, the on-disk cache,
usage per model); models on one endpoint share its in-flight limit. A model whose endpoint
cannot be reached, refuses the key, or trips its circuit breaker is marked failed and is
sent nothing more: its remaining items fail with the same reason instead of each waiting
for its own retries. Failures never stop the other models.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchsmith.errors import BenchsmithError, EndpointError, SpecError
from benchsmith.exports.formats import ItemView
from benchsmith.llm.client import LLMClient
from benchsmith.llm.limiter import ConcurrencyLimiter
from benchsmith.llm.usage import CallBudget, UsageMeter
from benchsmith.spec import SolverSpec

SOLVER_SYSTEM = ("You are taking an exam. Answer each question as well as you can. Reply with JSON only: "
                 "{\"answer\": \"...\"}, where answer is your final answer alone.")
ANSWER_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"answer": {"type": "string"}},
                                 "required": ["answer"], "additionalProperties": False}
EQUIVALENCE_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"equivalent": {"type": "boolean"}},
                                      "required": ["equivalent"], "additionalProperties": False}


@dataclass(frozen=True)
class Reply:
    """One model's answer to one item: its text, or why there is none."""

    text: str | None
    error: str | None = None


def parse_model_option(value: str) -> SolverSpec:
    """A panel model from `--model NAME@BASE_URL` (NAME is the model name at the endpoint; an
    optional `LABEL=` in front names the row: `big=Qwen2.5-72B@http://gpu:8000/v1`)."""
    label, sep, rest = value.partition("=")
    if not sep or "@" in label:
        label, rest = "", value
    model, at, base_url = rest.rpartition("@")
    if not at or not model or not base_url.startswith(("http://", "https://")):
        raise SpecError(f"--model {value!r}: expected NAME@BASE_URL, e.g. gpt-4o-mini@https://api.openai.com/v1")
    try:
        return SolverSpec(name=label or model, model=model, base_url=base_url.rstrip("/"))
    except ValueError as err:
        raise SpecError(f"--model {value!r}: {err}") from None


def solver_messages(v: ItemView) -> list[dict[str, str]]:
    """The question as the panel sees it: the same words as every export (`ItemView.prompt`)."""
    return [{"role": "system", "content": SOLVER_SYSTEM}, {"role": "user", "content": v.prompt}]


def build_solver_clients(solvers: Sequence[SolverSpec], *, cache_dir: Path | None, concurrency: int,
                         usage: UsageMeter, max_retries: int = 4, budget: CallBudget | None = None,
                         env: Mapping[str, str] | None = None) -> dict[str, LLMClient]:
    """One client per panel model; models on one endpoint share its `concurrency` (and all share
    `budget`, a run's call budget, when given)."""
    env = os.environ if env is None else env
    limiters: dict[str, ConcurrencyLimiter] = {}
    clients: dict[str, LLMClient] = {}
    for s in solvers:
        limiter = limiters.setdefault(s.base_url.rstrip("/"), ConcurrencyLimiter(concurrency))
        clients[s.name] = LLMClient(
            base_url=s.base_url, model=s.model_name, role=f"solver:{s.name}",
            api_key=env.get(s.api_key_env) or "not-needed", concurrency=concurrency, max_retries=max_retries,
            timeout_s=s.timeout_s, temperature=s.temperature, max_tokens=s.max_tokens, cache_dir=cache_dir,
            usage=usage, limiter=limiter, budget=budget)
    return clients


async def _answer_model(client: LLMClient, views: Sequence[ItemView]) -> list[Reply]:
    dead: list[str] = []

    async def one(v: ItemView) -> Reply:
        if dead:
            return Reply(None, dead[0])
        try:
            out = await client.complete_json(solver_messages(v), ANSWER_SCHEMA, schema_name="answer")
        except EndpointError as err:  # unreachable, bad key, breaker open: the model is out
            if not dead:
                dead.append(f"endpoint_error: {str(err)[:300]}")
            return Reply(None, dead[0])
        except BenchsmithError as err:
            return Reply(None, str(getattr(err, "reason", "") or type(err).__name__))
        return Reply(str(out.get("answer", "")))

    return list(await asyncio.gather(*(one(v) for v in views)))


async def answer_all(clients: Mapping[str, LLMClient], views: Sequence[ItemView]) -> dict[str, list[Reply]]:
    """Every model's reply to every item, all models at once (each bounded by its endpoint's limit)."""
    names = list(clients)
    results = await asyncio.gather(*(_answer_model(clients[n], views) for n in names))
    for c in clients.values():
        await c.aclose()
    return dict(zip(names, results, strict=True))


async def judge_equivalent(judge: LLMClient, v: ItemView, reply: str) -> bool | None:
    """Whether a long reply gives the reference's answer, as the judge sees it; None if the judge fails."""
    user = (f"Question:\n{v.question}\n\nReference answer:\n{v.reference_answer}\n\nCandidate answer:\n{reply}\n\n"
            "Reply with a JSON object: \"equivalent\" is true if the candidate gives the same answer as the "
            "reference (other words or units are fine), else false.")
    messages = [{"role": "system", "content": "You compare an exam answer with the reference. Reply with JSON only."},
                {"role": "user", "content": user}]
    try:
        out = await judge.complete_json(messages, EQUIVALENCE_SCHEMA, schema_name="equivalence", temperature=0.0)
    except BenchsmithError:
        return None
    return bool(out.get("equivalent"))
