"""LLM-path throughput: the pipeline's client against a bare AsyncOpenAI loop.

Starts the fake OpenAI server and, in one run, measures requests per second of

1. a bare `AsyncOpenAI` loop (the floor any client pays: HTTP + openai's parsing), and
2. the pipeline's path: `LLMClient.complete_json` with schema validation and the on-disk
   cache enabled, every request a cache miss,

both at the same concurrency, first with the server answering at once and then with
200 ms of simulated (async) latency per request. Prints req/s, the ratio, and whether
the budgets hold: instant: pipeline >= 75 % of bare and >= 200 req/s; 200 ms: >= 90 %
of bare. Exits 1 if a budget is missed.

For information it also measures "raw": the same bare loop through AsyncOpenAI's untyped
`post` (what LLMClient uses, skipping openai's per-call walk over the JSON schema), so
pipeline/raw is the cost of everything LLMClient adds (cache, validation, accounting).

    python bench/llm_throughput.py [--requests 2000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import openai

from benchsmith.llm.client import LLMClient
from benchsmith.testing.fake_openai import FakeOpenAIServer

SCHEMA = {
    "type": "object",
    "properties": {
        "question": {"type": "string", "minLength": 10},
        "answer": {"type": "string"},
        "difficulty": {"type": "integer", "minimum": 1, "maximum": 5},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
    },
    "required": ["question", "answer", "difficulty", "tags"],
    "additionalProperties": False,
}


def _messages(tag: str, i: int) -> list[dict[str, str]]:
    return [{"role": "system", "content": "You write benchmark questions as JSON."},
            {"role": "user", "content": f"Write a hard question about topic {tag}-{i}."}]


async def _drive(n: int, concurrency: int, one) -> float:  # type: ignore[no-untyped-def]
    """Run `one(i)` for i < n with `concurrency` workers; returns req/s."""
    next_i = 0

    async def worker() -> None:
        nonlocal next_i
        while next_i < n:
            i = next_i
            next_i += 1
            await one(i)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - t0)


async def bare(base_url: str, model: str, n: int, concurrency: int, tag: str, raw: bool = False) -> float:
    """The plain loop: `chat.completions.create`, or (raw=True) the untyped `post` the pipeline uses."""
    client = openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
    rf = {"type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True}}

    async def one(i: int) -> None:
        if raw:
            await client.post("/chat/completions", cast_to=object,
                              body={"model": model, "messages": _messages(tag, i), "response_format": rf})
        else:
            await client.chat.completions.create(model=model, messages=_messages(tag, i),  # type: ignore[arg-type]
                                                 response_format=rf)  # type: ignore[arg-type]

    await _drive(min(n, 2 * concurrency), concurrency, one)  # warm-up: open the connections
    rate = await _drive(n, concurrency, one)
    await client.close()
    return rate


async def pipeline(base_url: str, model: str, n: int, concurrency: int, tag: str, cache_dir: Path) -> float:
    client = LLMClient(base_url=base_url, model=model, concurrency=concurrency, cache_dir=cache_dir,
                       timeout_s=30.0)

    async def one(i: int) -> None:
        await client.complete_json(_messages(tag, i), SCHEMA)

    await _drive(min(n, 2 * concurrency), concurrency, one)  # warm-up (different questions: misses later)
    tag2 = tag + "-timed"

    async def timed(i: int) -> None:
        await client.complete_json(_messages(tag2, i), SCHEMA)

    rate = await _drive(n, concurrency, timed)
    assert client.usage.role("generator").cache_hits == 0, "the bench must measure cache misses"
    await client.aclose()
    return rate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=2000, help="requests per measurement (instant server)")
    ap.add_argument("--latency-requests", type=int, default=1280, help="requests per measurement (200 ms)")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=2, help="measure each side this many times, keep the best")
    args = ap.parse_args(argv)

    ok = True
    with FakeOpenAIServer() as srv, tempfile.TemporaryDirectory() as tmp:
        print(f"fake server at {srv.base_url}; concurrency {args.concurrency}")
        print(f"{'server':<10}{'bare req/s':>12}{'raw req/s':>11}{'pipeline req/s':>16}{'ratio':>7}"
              f"{'vs raw':>8}  budget (ratio = pipeline/bare)")
        for label, latency, n, min_ratio, min_rate in (("instant", 0.0, args.requests, 0.75, 200.0),
                                                       ("200 ms", 0.2, args.latency_requests, 0.90, 0.0)):
            srv.reset()
            srv.configure(latency_s=latency)
            b = p = w = 0.0
            for r in range(args.repeats):  # interleave so drift hits both sides alike
                b = max(b, asyncio.run(bare(srv.base_url, srv.model, n, args.concurrency, f"b{label}{r}")))
                w = max(w, asyncio.run(bare(srv.base_url, srv.model, n, args.concurrency, f"w{label}{r}", raw=True)))
                p = max(p, asyncio.run(pipeline(srv.base_url, srv.model, n, args.concurrency, f"p{label}{r}",
                                                Path(tmp) / f"cache-{label}-{r}")))
            ratio = p / b
            passed = ratio >= min_ratio and p >= min_rate
            ok &= passed
            budget = f">= {min_ratio:.0%} of bare" + (f", >= {min_rate:.0f} req/s" if min_rate else "")
            print(f"{label:<10}{b:>12.0f}{w:>11.0f}{p:>16.0f}{ratio:>7.0%}{p / w:>8.0%}  {budget}: "
                  f"{'PASS' if passed else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
