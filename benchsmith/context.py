"""What a stage may use at run time: `StageContext`, typed, built by whoever runs the stage.

A stage never reaches for module globals. The flow builds one context per task, inside
the process that runs the task (possibly a Dask worker): LLM clients and the embedder are
created there from serialisable configuration. Tests and the standalone commands build
one directly with only what they need.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for type hints: stages must import without these heavy modules
    from benchsmith.documents import Corpus
    from benchsmith.embeddings import Embedder
    from benchsmith.llm.client import LLMClient

ProgressFn = Callable[[str, int], None]
"""progress(stage_name, n): `n` more units of the stage are planned (plan) or done (advance)."""


def _no_progress(stage: str, n: int) -> None:
    return None


@dataclass
class StageContext:
    """What a stage may use at run time. Everything heavy is created on demand."""

    llm: Callable[[str], LLMClient] | None = None
    """Returns the LLM client for a role ('generator', 'judge')."""
    embedder_factory: Callable[[], Embedder] | None = None
    workspace: Path = Path(".benchsmith")
    random_seed: int = 0
    """Seed for every random choice, so that reruns ask the same questions (and hit the cache)."""
    progress: ProgressFn = _no_progress
    """Called as progress(stage_name, n_done) while a stage works."""
    plan: ProgressFn = _no_progress
    """Called as plan(stage_name, n_more) when a stage learns how much work it has."""
    suite: str | None = None
    """The suite being built (stages that compare with earlier versions look it up)."""
    output_dir: Path | None = None
    """Root of published suites, as the run resolves it."""
    spec_dir: Path | None = None
    """Folder of the spec file: relative paths in stage parameters resolve against it."""
    corpus: Corpus | None = None
    """A documents suite's ingested documents and chunks (None for a seeds suite)."""
    document_item_counts: Mapping[str, int] = field(default_factory=dict)
    """Items already made per document id in earlier rounds (per-document quotas)."""
    roles: tuple[str, ...] = ("generator", "judge")
    """The LLM roles the spec defines (`llm.roles` adds named ones to generator and judge)."""
    _embedder: Embedder | None = field(default=None, repr=False)

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
                from benchsmith.embeddings import shared_embedder

                self._embedder = shared_embedder(self.workspace / "embeddings")
            else:
                self._embedder = self.embedder_factory()
        return self._embedder

    def resolve(self, path: Path) -> Path:
        """A path from stage parameters, resolved against the spec's folder when relative."""
        return path if path.is_absolute() or self.spec_dir is None else self.spec_dir / path
