"""Small asyncio helpers shared by the stages."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import TypeVar

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
