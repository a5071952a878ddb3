"""`benchsmith evaluate` throughput: a 4-model panel on a 2,000-item version against a bare AsyncOpenAI loop.

Starts the fake OpenAI server, publishes a 2,000-item version (open, MCQ and true/false
items) in a temporary folder, and in one run measures requests per second of

1. a bare `AsyncOpenAI` loop sending the same requests (the panel's messages and answer
   schema, 4 models x 2,000 items) at the same concurrency: the floor any client pays;
2. `evaluate_version` with the 4 models on the same endpoint (so they share its
   concurrency), the on-disk cache enabled and every request a miss: answering, scoring,
   the bootstrap, the figures and writing results, JSON, markdown and PNG included;

then the bootstrap alone (1,000 resamples, 4 models x 2,000 items). Prints req/s, the ratio,
and whether the budgets hold: evaluate >= 80 % of bare; bootstrap < 2 s. Exits 1 if one is missed.

    python bench/evaluate_throughput.py [--items 2000] [--models 4] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import numpy as np
import openai

from benchsmith.evaluation import evaluate_version, stats
from benchsmith.evaluation.panel import ANSWER_SCHEMA, solver_messages
from benchsmith.exports.formats import view
from benchsmith.funnel import Funnel
from benchsmith.publish import publish_version
from benchsmith.records import Item, Lineage
from benchsmith.spec import PublishSpec, SeedSource, SolverSpec, StageSpec, SuiteSpec
from benchsmith.testing.fake_openai import FakeOpenAIServer


def make_items(n: int) -> list[Item]:
    lineage = Lineage(generator="evolve", model="bench")
    out = []
    for i in range(n):
        if i % 3 == 0:
            out.append(Item.create(prompt=f"Question {i}: which option is right?", reference_answer="beta",
                                   kind="mcq", choices=["alpha", "beta", "gamma", "delta"], lineage=lineage))
        elif i % 3 == 1:
            out.append(Item.create(prompt=f"True or false: {i} is even.", reference_answer=str(i % 2 == 0),
                                   kind="true_false", lineage=lineage))
        else:
            out.append(Item.create(prompt=f"What is {i} plus {i}?", reference_answer=str(2 * i), lineage=lineage))
    return out


async def bare(base_url: str, models: list[str], items: list[Item], concurrency: int) -> float:
    """req/s of a bare AsyncOpenAI loop over every (model, item) at `concurrency`."""
    client = openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0,
                                http_client=openai.DefaultAsyncHttpxClient(limits=httpx.Limits(
                                    max_connections=concurrency, max_keepalive_connections=concurrency)))
    views = [view(it) for it in items]
    jobs = [(m, v) for m in models for v in views]
    fmt = {"type": "json_schema", "json_schema": {"name": "answer", "schema": ANSWER_SCHEMA, "strict": True}}
    sem = asyncio.Semaphore(concurrency)

    async def one(model: str, v: object) -> None:
        async with sem:
            await client.chat.completions.create(model=model, messages=solver_messages(v),  # type: ignore[arg-type]
                                                 response_format=fmt, temperature=0.0,  # type: ignore[arg-type]
                                                 max_tokens=256)

    t = time.perf_counter()
    await asyncio.gather(*(one(m, v) for m, v in jobs))
    elapsed = time.perf_counter() - t
    await client.close()
    return len(jobs) / elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--models", type=int, default=4)
    ap.add_argument("--concurrency", type=int, default=64)
    args = ap.parse_args(argv)
    items = make_items(args.items)
    models = [f"model-{k}" for k in range(args.models)]
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer() as server:
        root = Path(tmp)
        spec = SuiteSpec(suite="bench-eval", seeds=SeedSource(path=Path("seeds.jsonl")), target_items=args.items,
                         generators=[StageSpec(name="evolve")], publish=PublishSpec(output_dir=root / "outputs"))
        publish_version(spec=spec, items=items, rejected=[], funnel=Funnel(), models={}, usage={},
                        stop_reason="target_reached", output_dir=root / "outputs")
        solvers = [SolverSpec(name=m, model=m, base_url=server.base_url) for m in models]
        asyncio.run(bare(server.base_url, models[:1], items[:200], args.concurrency))  # warm up
        bare_rps = asyncio.run(bare(server.base_url, models, items, args.concurrency))
        t = time.perf_counter()
        result = evaluate_version(root / "outputs", "bench-eval", None, solvers, workspace=root / "ws",
                                  concurrency=args.concurrency, run="bench")
        total_s = time.perf_counter() - t
        answer_s = result.data["timing"]["answer_s"]
        requests = args.items * args.models
        eval_rps = requests / answer_s
        end_to_end_rps = requests / total_s
    scores = (np.random.default_rng(0).random((args.models, args.items)) < 0.6).astype(float)
    t = time.perf_counter()
    stats.bootstrap_accuracy(scores, resamples=1000)
    boot_s = time.perf_counter() - t
    ratio = eval_rps / bare_rps
    print(f"{args.items} items x {args.models} models = {requests} requests, concurrency {args.concurrency}")
    print(f"  bare AsyncOpenAI loop:        {bare_rps:8.0f} req/s")
    print(f"  evaluate (answering):         {eval_rps:8.0f} req/s  ratio {ratio:.2f} (budget >= 0.80)")
    print(f"  evaluate (end to end, files): {end_to_end_rps:8.0f} req/s  ({total_s:.1f} s)")
    print(f"  bootstrap 1000 x {args.models} x {args.items}:  {boot_s:.3f} s (budget < 2 s); inside evaluate "
          f"(with 3 null models): {result.bootstrap_s:.3f} s")
    ok = ratio >= 0.80 and boot_s < 2.0
    print("budgets:", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
