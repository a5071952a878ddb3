"""Small asyncio helpers shared by the stages."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Awaitable, Coroutine, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


async def gather_or_cancel(coros: Sequence[Awaitable[T]]) -> list[T]:
    """`asyncio.gather` in order, but when one raises (EndpointError, BudgetExhausted, Ctrl-C)
    the others are cancelled and awaited instead of left running unobserved; then it re-raises."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the cyclic garbage collector's full passes short while the block runs.

    A run imports Prefect, pydantic, SQLAlchemy and pyarrow before its first LLM call:
    a heap of millions of objects that every full (generation 2) collection walked again.
    Each pass stopped the event loop for 0.2-0.4 s, and a 2,000-item run made seven of
    them while it had 64 requests in flight (1.9 s in all; `gc.callbacks`, bench/end_to_end.py).
    `gc.freeze()` moves everything alive at the start out of the collector's sight, so
    its passes only walk what the run itself made. Nothing is leaked: frozen objects
    are still freed by reference counting, and the heap is unfrozen afterwards.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, on uvloop's event loop when it is installed, with the heap frozen (`frozen_heap`).

    A run's LLM calls all go through one event loop; uvloop's takes ~0.1-0.2 ms less CPU
    per call than asyncio's own (sockets, timers, callbacks), which on a small machine
    is CPU the endpoint, the HTTP parsing and the stages can use instead.
    """
    with frozen_heap():
        try:
            import uvloop
        except ImportError:
            return asyncio.run(main)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(main)
