"""The fake OpenAI server's own timeline of chat requests (what bench/end_to_end.py times runs with)."""

from __future__ import annotations

import asyncio
import random
import time

import httpx

from benchsmith.testing.fake_openai import FakeOpenAIServer


def test_timeline_times_the_requests_since_the_reset(fake_llm: FakeOpenAIServer) -> None:
    fake_llm.reset()
    assert fake_llm.stats()["timeline"]["first_request_at"] is None
    fake_llm.configure(latency_s=0.3)
    before = time.time()

    async def burst() -> None:
        async with httpx.AsyncClient(base_url=fake_llm.base_url, timeout=10, trust_env=False) as client:
            await asyncio.gather(*(client.post("/chat/completions", json={"messages": [
                {"role": "user", "content": f"question {i}"}]}) for i in range(5)))

    asyncio.run(burst())
    after = time.time()
    tl = fake_llm.stats()["timeline"]
    assert before <= tl["first_request_at"] < tl["last_answer_at"] <= after
    # Each request sleeps 0.3 s: the answers leave at least that long after the first arrival.
    assert tl["last_answer_at"] - tl["first_request_at"] >= 0.3
    assert sum(tl["started"]) == 5 and sum(tl["answered"]) == 5 and max(tl["peak_in_flight"]) == 5
    # The buckets between the arrivals and the answers hold the 5 still in flight.
    assert len(tl["started"]) >= 3 and tl["peak_in_flight"][1] == 5
    fake_llm.reset()
    assert fake_llm.stats()["timeline"]["started"] == []


def test_latency_jitter_spreads_the_answer_times(fake_llm: FakeOpenAIServer) -> None:
    # Sent together, answered apart: each request sleeps 0.3 s ± 60 %, from a seeded draw.
    fake_llm.reset()

    async def burst() -> list[float]:
        async with httpx.AsyncClient(base_url=fake_llm.base_url, timeout=10, trust_env=False) as client:
            async def one(i: int) -> float:
                t0 = time.monotonic()
                await client.post("/chat/completions", json={"messages": [{"role": "user", "content": f"q {i}"}]})
                return time.monotonic() - t0
            return list(await asyncio.gather(*(one(i) for i in range(12))))

    fake_llm.configure(latency_s=0.3)
    steady = asyncio.run(burst())
    assert max(steady) - min(steady) < 0.1
    fake_llm.configure(latency_s=0.3, latency_jitter=0.6, seed=3)
    assert fake_llm.stats()["latency_jitter"] == 0.6
    spread = asyncio.run(burst())
    # The sleeps are the server's seeded draws: 0.3 s x (1 + U(-0.6, 0.6)) from random.Random(3).
    rng = random.Random(3)
    sleeps = sorted(0.3 * (1 + rng.uniform(-0.6, 0.6)) for _ in range(12))
    assert sleeps[-1] - sleeps[0] > 0.2  # what this seed draws: a spread the steady case never shows
    assert sorted(spread)[0] >= sleeps[0] - 0.005
    assert abs((max(spread) - min(spread)) - (sleeps[-1] - sleeps[0])) < 0.08
    with httpx.Client(base_url=fake_llm.root_url, timeout=10, trust_env=False) as http:
        bad = http.post("/_fake/configure", json={"latency_jitter": 2})
    assert bad.status_code == 400 and "latency_jitter" in bad.text
    fake_llm.reset()
    assert fake_llm.stats()["latency_jitter"] == 0.0
