"""The spec's retry policy for the build's tasks (`execution.retries`, `execution.retry_delay_s`).

The tasks are defined once, with no retries (`flows.build_suite`); each call takes the
policy of the run that makes it (`with_retries`, Prefect's `with_options`), so the spec
decides and the cache keys never see it. A retry repeats no finished work: finished tasks
are not rerun (their results are persisted), and inside the retried one every call the
failed attempt got an answer to comes from the LLM cache.

What is retried: anything a second attempt may not meet again — an endpoint whose circuit
breaker opened (the breaker is closed first, or the retry would fail on it at once), a lost
connection, a full disk, a worker that died. What is not: bad input (`SpecError`,
`SeedError`, an unknown stage or a broken plugin), a spent budget, a publish refused.
"""

from __future__ import annotations

import functools
from typing import Any

from benchsmith import progress
from benchsmith.errors import (
    BudgetExhausted,
    EndpointCircuitOpen,
    PluginError,
    PublishError,
    SeedError,
    SpecError,
    UnknownNameError,
)
from benchsmith.llm.endpoints import reset_breakers
from benchsmith.spec import ExecutionSpec

FINAL_ERRORS: tuple[type[BaseException], ...] = (SpecError, SeedError, UnknownNameError, PluginError, PublishError,
                                                 BudgetExhausted)
"""Failures a second attempt would meet again: never retried."""


def failure_of(state: Any) -> BaseException | None:
    """The exception a failed Prefect state holds (the task engine puts it in `data`)."""
    data = getattr(state, "data", None)
    return data if isinstance(data, BaseException) else None


def should_retry(task: Any, task_run: Any, state: Any, *, scope: str) -> bool:
    """Prefect's `retry_condition_fn`: False for a final error; otherwise True, with the breakers
    of the run (`scope`, its token) that the failure opened closed, and a line on the console."""
    err = failure_of(state)
    if err is None or isinstance(err, FINAL_ERRORS):
        return False
    if isinstance(err, EndpointCircuitOpen):
        reset_breakers(scope, err.url)
    attempt = getattr(task_run, "run_count", 0) or 0
    progress.sink().message(f"task {task.name} failed ({type(err).__name__}: {str(err)[:200]}); retrying "
                            f"(attempt {attempt + 1} of {task.retries + 1})")
    return True


def retry_options(execution: ExecutionSpec, scope: str) -> dict[str, Any]:
    """The `with_options` arguments of the policy (none when `retries` is 0)."""
    if not execution.retries:
        return {}
    return {"retries": execution.retries, "retry_delay_seconds": execution.retry_delay_s,
            "retry_condition_fn": functools.partial(should_retry, scope=scope)}


def with_retries(task_fn: Any, execution: ExecutionSpec, scope: str) -> Any:
    """`task_fn` under the run's retry policy (the task itself when the policy is no retries)."""
    options = retry_options(execution, scope)
    return task_fn.with_options(**options) if options else task_fn
