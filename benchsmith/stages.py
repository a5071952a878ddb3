"""Base classes for the two kinds of stage, and the context they run in.

A stage is plain configuration plus one job. It is constructible and testable with no
Prefect and no network: heavy resources (LLM clients, embedding models, indexes) come
from the `StageContext` and are loaded lazily.

- A `Generator` turns seeds into candidate items.
- A `Verifier` returns one `Verdict` per item. Per-item verifiers (rule checks, LLM
  judge) judge items independently; set verifiers (dedup, contamination) look at the
  whole pool, so `scope = "set"` tells the flow to run them on everything that survived.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from benchsmith.records import Item, Seed, Verdict
from benchsmith.registry import Registry

if TYPE_CHECKING:  # only for type hints: stages must import without these heavy modules
    from benchsmith.embeddings import Embedder
    from benchsmith.llm.client import LLMClient


class StageConfig(BaseModel):
    """Base for a stage's parameters; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


ProgressFn = Callable[[str, int], None]


def _no_progress(stage: str, advance: int) -> None:
    return None


@dataclass
class StageContext:
    """What a stage may use at run time. Everything heavy is created on demand."""

    llm: Callable[[str], LLMClient] | None = None
    """Returns the LLM client for a role ('generator', 'judge')."""
    embedder_factory: Callable[[], Embedder] | None = None
    workspace: Path = Path(".benchsmith")
    seed: int = 0
    """Seed for every random choice, so that reruns ask the same questions (and hit the cache)."""
    progress: ProgressFn = _no_progress
    """Called as progress(stage_name, n_done) while a stage works."""
    extras: dict[str, Any] = field(default_factory=dict)
    _embedder: Embedder | None = None

    def client(self, role: str) -> LLMClient:
        """The LLM client for `role`; an error if this context has no LLM access."""
        if self.llm is None:
            raise RuntimeError("this stage needs an LLM but the context has none")
        return self.llm(role)

    @property
    def embedder(self) -> Embedder:
        """The shared sentence embedder, loaded on first use."""
        if self._embedder is None:
            if self.embedder_factory is None:
                from benchsmith.embeddings import Embedder

                self._embedder = Embedder(cache_dir=self.workspace / "embeddings")
            else:
                self._embedder = self.embedder_factory()
        return self._embedder


class GenerationFailure(BaseModel):
    """A generation attempt that produced no item, kept so the funnel can say why."""

    model_config = ConfigDict(extra="forbid")

    seed_id: str | None = None
    operator: str | None = None
    reason: str = Field(description="Short code: 'invalid_json', 'timeout', 'http_500', ...")
    detail: str = ""


class GenerationResult(BaseModel):
    """What one generator call produced."""

    model_config = ConfigDict(extra="forbid")

    items: list[Item] = Field(default_factory=list)
    failures: list[GenerationFailure] = Field(default_factory=list)


class Generator(abc.ABC):
    """Turns seeds into candidate items."""

    name: ClassVar[str] = "generator"
    Config: ClassVar[type[StageConfig]] = StageConfig

    def __init__(self, config: StageConfig | dict[str, Any] | None = None) -> None:
        self.config = config if isinstance(config, StageConfig) else self.Config(**(config or {}))

    @abc.abstractmethod
    async def generate(self, seeds: Sequence[Seed], n: int, round_index: int, ctx: StageContext) -> GenerationResult:
        """Make up to `n` candidates from `seeds`.

        `round_index` numbers the calls of one run so that each round asks for new
        variants deterministically (same spec, same round → same requests → cache hits).
        """


class Verifier(abc.ABC):
    """Judges items: returns exactly one verdict per input item, in order."""

    name: ClassVar[str] = "verifier"
    Config: ClassVar[type[StageConfig]] = StageConfig
    scope: ClassVar[Literal["item", "set"]] = "item"
    uses_llm: ClassVar[bool] = False
    """True for stages that make one LLM call per item (the flow budgets for them)."""

    def __init__(self, config: StageConfig | dict[str, Any] | None = None) -> None:
        self.config = config if isinstance(config, StageConfig) else self.Config(**(config or {}))

    @abc.abstractmethod
    async def verify(self, items: Sequence[Item], ctx: StageContext) -> list[Verdict]:
        """One verdict per item, same order."""

    def cache_token(self, ctx: StageContext) -> str:
        """What, besides the items and the spec, decides this stage's verdicts (reference files,
        published versions). The flow adds it to the task cache key; '' when nothing does."""
        return ""

    def keep(self, passed: bool, *, score: float | None = None, reason: str | None = None,
             **details: Any) -> Verdict:
        """Shorthand for a verdict of this stage."""
        return Verdict(stage=self.name, passed=passed, score=score, reason=None if passed else reason,
                       details=details)


generators: Registry[Generator] = Registry("generator", modules=("generators",))
verifiers: Registry[Verifier] = Registry("verifier", modules=("verifiers",))
