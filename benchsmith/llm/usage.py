"""Counting what the LLMs cost: tokens and calls per role, and the run's call budget.

Both classes are shared by every client of a run, possibly across threads and event
loops, so they guard their state with a `threading.Lock` (never held across an await).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from benchsmith.errors import BudgetExhausted


@dataclass
class RoleUsage:
    """Counters for one role ('generator', 'judge', ...)."""

    calls: int = 0
    """Uncached requests that got an answer from the endpoint (repair requests included)."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hits: int = 0
    retries: int = 0
    """Transport retries (429, 5xx, timeouts, connection errors)."""
    repairs: int = 0
    """Repair requests sent after an invalid answer."""
    failures: Counter[str] = field(default_factory=Counter)
    """complete_json calls that raised, by reason ('timeout', 'schema_mismatch', ...)."""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, Any]:
        return {"calls": self.calls, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "total_tokens": self.total_tokens,
                "cache_hits": self.cache_hits, "retries": self.retries, "repairs": self.repairs,
                "failures": dict(self.failures)}


class UsageMeter:
    """Per-role token and call counters for a run (thread and task safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._roles: dict[str, RoleUsage] = {}

    def _role(self, role: str) -> RoleUsage:
        r = self._roles.get(role)
        if r is None:
            r = self._roles[role] = RoleUsage()
        return r

    def record_call(self, role: str, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        """One answered request and the tokens its response reported."""
        with self._lock:
            r = self._role(role)
            r.calls += 1
            r.prompt_tokens += prompt_tokens
            r.completion_tokens += completion_tokens

    def record_cache_hit(self, role: str) -> None:
        with self._lock:
            self._role(role).cache_hits += 1

    def record_retry(self, role: str) -> None:
        with self._lock:
            self._role(role).retries += 1

    def record_repair(self, role: str) -> None:
        with self._lock:
            self._role(role).repairs += 1

    def record_failure(self, role: str, reason: str) -> None:
        with self._lock:
            self._role(role).failures[reason] += 1

    def merge(self, snapshot: dict[str, dict[str, Any]]) -> None:
        """Add another meter's `snapshot()` (a task's usage, returned from another process)."""
        with self._lock:
            for name, counts in snapshot.items():
                r = self._role(name)
                r.calls += int(counts.get("calls", 0))
                r.prompt_tokens += int(counts.get("prompt_tokens", 0))
                r.completion_tokens += int(counts.get("completion_tokens", 0))
                r.cache_hits += int(counts.get("cache_hits", 0))
                r.retries += int(counts.get("retries", 0))
                r.repairs += int(counts.get("repairs", 0))
                r.failures.update(counts.get("failures", {}))

    def role(self, role: str) -> RoleUsage:
        """A copy of one role's counters (zeros for a role never used)."""
        with self._lock:
            r = self._roles.get(role) or RoleUsage()
            return RoleUsage(r.calls, r.prompt_tokens, r.completion_tokens, r.cache_hits, r.retries,
                             r.repairs, Counter(r.failures))

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """role → counters as plain data (for manifests and the CLI summary)."""
        with self._lock:
            return {name: r.as_dict() for name, r in sorted(self._roles.items())}

    def totals(self) -> dict[str, int]:
        """Sums over all roles."""
        snap = self.snapshot().values()
        keys = ("calls", "prompt_tokens", "completion_tokens", "total_tokens", "cache_hits", "retries", "repairs")
        out = {k: sum(int(r[k]) for r in snap) for k in keys}
        out["failures"] = sum(sum(r["failures"].values()) for r in snap)
        return out


class CallBudget:
    """The maximum number of uncached LLM requests of a run, shared by all roles.

    One unit is spent per request sent to an endpoint for a new question, and one more
    per repair request; transport retries of the same request are free (the endpoint did
    not answer). Cache hits never touch the budget. `max_calls=None` means unlimited.
    """

    def __init__(self, max_calls: int | None) -> None:
        if max_calls is not None and max_calls < 0:
            raise ValueError(f"max_calls must be >= 0 or None, got {max_calls}")
        self.max_calls = max_calls
        self._used = 0
        self._lock = threading.Lock()

    def acquire(self, n: int = 1) -> None:
        """Spend `n` calls, or raise BudgetExhausted (spending nothing) if fewer are left."""
        with self._lock:
            if self.max_calls is not None and self._used + n > self.max_calls:
                raise BudgetExhausted(f"LLM call budget spent: {self._used} of {self.max_calls} calls used")
            self._used += n

    @property
    def used(self) -> int:
        with self._lock:
            return self._used

    @property
    def remaining(self) -> int | None:
        """Calls left, or None when unlimited."""
        with self._lock:
            return None if self.max_calls is None else max(self.max_calls - self._used, 0)

    @property
    def exhausted(self) -> bool:
        with self._lock:
            return self.max_calls is not None and self._used >= self.max_calls

    def __repr__(self) -> str:
        return f"CallBudget(used={self.used}, max_calls={self.max_calls})"


def logical_calls(snapshot: dict[str, dict[str, Any]]) -> int:
    """LLM calls a usage snapshot accounts for, answered or served from the response cache:
    what a run's plan is based on, so a rerun served from caches makes the same decisions."""
    return sum(int(r.get("calls", 0)) + int(r.get("cache_hits", 0)) for r in snapshot.values())
