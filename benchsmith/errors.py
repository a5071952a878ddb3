"""The exceptions benchsmith raises on purpose. Each carries a message meant for a person."""

from __future__ import annotations


class BenchsmithError(Exception):
    """Base class: the CLI prints these without a traceback and exits non-zero."""


class SpecError(BenchsmithError):
    """A suite spec that cannot be used: names the file, the field path and what was expected."""


class SeedError(BenchsmithError):
    """A seed file that is missing, empty or malformed: names the file and line."""


class UnknownNameError(BenchsmithError, KeyError):
    """A stage name that is not registered: lists the known names and the closest match."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class EndpointError(BenchsmithError):
    """An LLM endpoint that could not be reached: names the URL and what was tried."""


class LLMOutputError(BenchsmithError):
    """A model answer that failed schema validation even after the repair retry."""

    def __init__(self, message: str, *, raw: str = "", reason: str = "invalid_json") -> None:
        super().__init__(message)
        self.raw = raw
        self.reason = reason


class BudgetExhausted(BenchsmithError):
    """The run's maximum number of LLM calls has been spent."""


class PublishError(BenchsmithError):
    """A version could not be published (e.g. it already exists)."""


class LLMRequestError(BenchsmithError):
    """A request that kept failing (429, 5xx, timeout) after all retries; the item is dropped, the run goes on."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class PluginError(BenchsmithError):
    """A third-party stage (an entry point of 'benchsmith.generators' / 'benchsmith.verifiers') that
    could not be loaded: names the entry point, its distribution and what went wrong."""

    def __init__(self, message: str, *, group: str, entry_point: str, distribution: str | None) -> None:
        super().__init__(message)
        self.group = group
        self.entry_point = entry_point
        self.distribution = distribution


TRANSIENT_REASONS = frozenset({"rate_limited", "timeout", "connection_error", "bad_response", "invalid_json",
                               "schema_mismatch", "budget_exhausted", "http_408"})
"""Failure codes that say nothing about the item: the endpoint was busy, down, slow or garbled,
or the run's budget ran out. A rerun must try these again; a rule or a judge's "fail" is final."""


def is_transient(reason: str | None) -> bool:
    """True for a failure code (or `judge_error:<code>`) that a rerun should retry; 5xx included."""
    if not reason:
        return False
    code = reason.split(":", 1)[1] if reason.startswith("judge_error:") else reason
    return code in TRANSIENT_REASONS or (code.startswith("http_5") and code[5:].isdigit())


class EndpointCircuitOpen(EndpointError):
    """Every recent call to one endpoint failed the same way (timeouts, one 5xx status): the
    client's circuit breaker stopped sending instead of spending the rest of the budget on it."""

    def __init__(self, message: str, *, url: str, role: str, reason: str, count: int) -> None:
        super().__init__(message)
        self.url = url
        self.role = role
        self.reason = reason
        self.count = count

    def __reduce__(self) -> tuple[object, ...]:  # keeps the fields across processes (Dask workers)
        return (_rebuild, (type(self), str(self), {"url": self.url, "role": self.role, "reason": self.reason,
                                                   "count": self.count}))


class EndpointProbeError(EndpointError):
    """The check of the endpoints before a run found some that cannot serve it: one line per endpoint."""

    def __init__(self, message: str, *, details: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.details = details

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), str(self), {"details": self.details}))


def _rebuild(cls: type[BenchsmithError], message: str, fields: dict[str, object]) -> BenchsmithError:
    return cls(message, **fields)
