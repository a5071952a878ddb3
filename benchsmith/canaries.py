"""Canaries: deliberately defective items planted among a run's candidates.

A canary is derived from a real candidate and carries its defect under
`metadata["canary"]`; it goes through every verifier like any other item and is never
published. How many of them each stage caught says whether the filters work.
"""

from __future__ import annotations

from benchsmith.records import Item

CANARY_KEY = "canary"
"""The metadata key that marks a canary; its value names the defect."""


def is_canary(item: Item) -> bool:
    """True for a planted defective item."""
    return bool(item.metadata.get(CANARY_KEY))


def defect_of(item: Item) -> str | None:
    """The defect a canary carries (None for a real item)."""
    value = item.metadata.get(CANARY_KEY)
    return str(value) if value else None
