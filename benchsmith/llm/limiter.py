"""How many requests an endpoint has in flight, and which waiting request gets a freed slot.

`ConcurrencyLimiter` holds one `PrioritySemaphore` per event loop. Requests are served
first come, first served, except that a client marked `URGENT` goes ahead of the queue:
`flows.build_suite` marks the top-up shard a round buys once its canaries are judged. That
shard is on the round's critical path (generate, then verify), and queued behind the
round's whole backlog it would end the round a full latency after everything else.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
import weakref
from typing import Any

NORMAL = 0
"""The priority of every request unless told otherwise: first come, first served."""
URGENT = -1
"""Served before every `NORMAL` request still waiting."""


def forget_closed_loops(by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any]) -> None:
    """Drop what belongs to finished `asyncio.run` calls (the values refer to their loop, so
    the weak keys alone would never let go)."""
    for loop in [lp for lp in list(by_loop.keys()) if lp.is_closed()]:
        by_loop.pop(loop, None)


class PrioritySemaphore:
    """An asyncio semaphore whose waiters are served by priority (lowest number first), then arrival.

    A release hands the slot straight to the next waiter, so a newcomer never takes a slot
    while an earlier (or more urgent) request still waits.
    """

    def __init__(self, value: int) -> None:
        if value < 1:
            raise ValueError(f"value must be >= 1, got {value}")
        self._value = value
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrival = itertools.count()

    def locked(self) -> bool:
        """True when no slot is free."""
        return self._value == 0

    async def acquire(self, priority: int = NORMAL) -> None:
        """Take a slot, waiting behind the more urgent and the earlier requests."""
        if self._value > 0:  # a free slot means nobody waits: releases hand slots to waiters first
            self._value -= 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._arrival), fut))
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # handed a slot as we were cancelled: pass it on
            raise

    def release(self) -> None:
        """Give the slot to the next waiter (cancelled ones skipped), or free it."""
        while self._waiters:
            fut = heapq.heappop(self._waiters)[2]
            if not fut.done():
                fut.set_result(None)
                return
        self._value += 1


class ConcurrencyLimiter:
    """At most `limit` requests in flight, shared by the clients that hold it.

    asyncio primitives belong to one event loop, so there is one semaphore per loop: a
    client used from several `asyncio.run` calls or threads keeps working.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"concurrency must be >= 1, got {limit}")
        self.limit = limit
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, PrioritySemaphore] = (
            weakref.WeakKeyDictionary())
        self._lock = threading.Lock()

    def semaphore(self) -> PrioritySemaphore:
        """The semaphore of the running event loop."""
        loop = asyncio.get_running_loop()
        sem = self._by_loop.get(loop)
        if sem is None:
            with self._lock:
                forget_closed_loops(self._by_loop)
                sem = self._by_loop.get(loop)
                if sem is None:
                    sem = self._by_loop[loop] = PrioritySemaphore(self.limit)
        return sem
