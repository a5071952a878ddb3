"""LLM access: the one client every stage uses, its cache, budget, usage counters and
circuit breaker, endpoint resolution per role, the endpoint probe before a run, and the
embedded llama.cpp default.

Names are imported lazily so that `import benchsmith.llm.usage` does not load openai.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "LLMClient": "benchsmith.llm.client",
    "ConcurrencyLimiter": "benchsmith.llm.limiter",
    "CircuitBreaker": "benchsmith.llm.client",
    "ResponseCache": "benchsmith.llm.cache",
    "cache_key": "benchsmith.llm.cache",
    "UsageMeter": "benchsmith.llm.usage",
    "CallBudget": "benchsmith.llm.usage",
    "ResolvedEndpoint": "benchsmith.llm.endpoints",
    "resolve_endpoint": "benchsmith.llm.endpoints",
    "build_clients": "benchsmith.llm.endpoints",
    "llm_clients": "benchsmith.llm.endpoints",
    "ProbeResult": "benchsmith.llm.probe",
    "probe_endpoint": "benchsmith.llm.probe",
    "probe_endpoints": "benchsmith.llm.probe",
    "raise_for_failures": "benchsmith.llm.probe",
    "EmbeddedServer": "benchsmith.llm.embedded",
    "EmbeddedServerError": "benchsmith.llm.embedded",
    "find_model_file": "benchsmith.llm.embedded",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'benchsmith.llm' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
