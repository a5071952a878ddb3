"""The shared in-flight limit: first come first served, urgent requests ahead, no slot lost."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from benchsmith.llm.client import LLMClient
from benchsmith.llm.limiter import NORMAL, URGENT, ConcurrencyLimiter, PrioritySemaphore


def test_waiters_are_served_urgent_first_then_in_arrival_order() -> None:
    async def scenario() -> list[str]:
        sem = PrioritySemaphore(1)
        served: list[str] = []

        async def one(name: str, priority: int) -> None:
            await sem.acquire(priority)
            served.append(name)
            await asyncio.sleep(0.01)
            sem.release()

        await sem.acquire()  # the slot is taken: everyone below waits
        tasks = [asyncio.create_task(one(n, p)) for n, p in
                 [("a", NORMAL), ("b", NORMAL), ("u1", URGENT), ("c", NORMAL), ("u2", URGENT)]]
        await asyncio.sleep(0.01)
        sem.release()
        await asyncio.gather(*tasks)
        assert not sem.locked()
        return served

    assert asyncio.run(scenario()) == ["u1", "u2", "a", "b", "c"]


def test_a_waiter_cancelled_as_it_gets_the_slot_passes_it_on() -> None:
    async def scenario() -> None:
        sem = PrioritySemaphore(1)
        await sem.acquire()
        first = asyncio.create_task(sem.acquire())
        second = asyncio.create_task(sem.acquire())
        await asyncio.sleep(0)
        sem.release()   # hands the slot to `first` ...
        first.cancel()  # ... which is cancelled before it runs: the slot must reach `second`
        with pytest.raises(asyncio.CancelledError):
            await first
        await asyncio.wait_for(second, 1.0)
        assert sem.locked()
        sem.release()
        assert not sem.locked()
        # A cancelled waiter that never got a slot is skipped.
        await sem.acquire()
        gone = asyncio.create_task(sem.acquire())
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.gather(gone, return_exceptions=True)
        sem.release()
        assert not sem.locked()

    asyncio.run(scenario())


def test_an_urgent_client_goes_ahead_of_the_queue_at_the_server(fake_llm: Any, tmp_path: Path) -> None:
    # One slot, 0.2 s per request: three normal calls queue up, then an urgent client's call
    # (same endpoint, same limiter) is sent second, before the two that waited longer.
    fake_llm.configure(latency_s=0.2)
    limiter = ConcurrencyLimiter(1)
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}

    def client() -> LLMClient:
        return LLMClient(base_url=fake_llm.base_url, model=fake_llm.model, limiter=limiter, cache_dir=None)

    normal, urgent = client(), client()
    urgent.priority = URGENT

    async def scenario() -> None:
        calls = [asyncio.create_task(normal.complete_json([{"role": "user", "content": f"normal {i}"}], schema))
                 for i in range(3)]
        sem = limiter.semaphore()
        while len(sem._waiters) < 2:  # one call holds the slot, two wait for it
            await asyncio.sleep(0.005)
        calls.append(asyncio.create_task(urgent.complete_json([{"role": "user", "content": "urgent"}], schema)))
        await asyncio.gather(*calls)

    asyncio.run(scenario())
    order = [body["messages"][-1]["content"] for body in fake_llm.requests()]
    assert order == ["normal 0", "urgent", "normal 1", "normal 2"]
    assert fake_llm.stats()["max_in_flight"] == 1
