"""Edited items go back through the cheap checks before an edit may be saved.

An edit is the item a reviewer vouches for, so it must pass what the pipeline would have
checked: the suite spec's per-item verifiers that need no LLM (the `rules` checks, MCQ
sanity, ...; with their spec parameters, from the spec file of the entry's run, or the
`rules` defaults when that is gone), and dedup against the suite's other items, as the
dedup stages measure it: the normalised prompt (exact) and the cosine similarity of
all-MiniLM-L6-v2 prompt embeddings through a faiss index (semantic, at the spec's
`dedup.threshold`). The embedder loads once per app; the suite's vectors are built into
an index once and refreshed when the queue grows or after `POOL_TTL_S`, so an edit costs
one embedding and one search.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from benchsmith.errors import BenchsmithError
from benchsmith.records import Item
from benchsmith.review.db import QueueEntryRow
from benchsmith.review.queue import Entry
from benchsmith.spec import DedupSpec, SuiteSpec, load_spec
from benchsmith.stages import ItemVerifier, StageContext, Verifier, verifiers
from benchsmith.store import Store
from benchsmith.text import normalize_text

if TYPE_CHECKING:
    from benchsmith.embeddings import Embedder
    from benchsmith.index.neighbours import VectorIndex

POOL_TTL_S = 120.0
"""How long a suite's dedup index is reused before it is rebuilt (a growing queue rebuilds it at once)."""
FALLBACK_STAGE = "rules"
"""The verifier an edit is checked with when its run's spec cannot be read (data: a registry name)."""


@dataclass
class _Pool:
    """A suite's other items for dedup: ids, normalised prompts, and their vectors in a faiss index."""

    ids: list[str]
    normalised: dict[str, str]  # normalised prompt → item id
    index: VectorIndex | None
    entries: int
    built: float


class EditChecker:
    """Re-checks edited items for one workspace store; callable as the queue's `EditCheck`."""

    def __init__(self, store: Store, workspace: Path, embedder_factory: Callable[[], Embedder] | None = None) -> None:
        self.store = store
        self.workspace = Path(workspace)
        self._embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self._lock = threading.Lock()
        self._specs: dict[str, SuiteSpec | None] = {}
        self._pools: dict[tuple[str, str | None], _Pool] = {}

    # -- resources ---------------------------------------------------------------------------

    def embedder(self) -> Embedder:
        """The app's embedder (the workspace's, whose cache holds the run's vectors), loaded once."""
        with self._lock:
            if self._embedder is None:
                if self._embedder_factory is not None:
                    self._embedder = self._embedder_factory()
                else:
                    from benchsmith.embeddings import shared_embedder

                    self._embedder = shared_embedder(self.workspace / "embeddings")
            return self._embedder

    def warm(self) -> None:
        """Load the embedding model now (the app does this in the background at start)."""
        self.embedder().encode(["warm up"])

    def spec_for(self, run_id: str | None) -> SuiteSpec | None:
        """The spec of a run, from the file it recorded (None when there is none or it no longer loads)."""
        if run_id is None:
            return None
        with self._lock:
            if run_id not in self._specs:
                spec: SuiteSpec | None = None
                try:
                    path = self.store.run(run_id).spec_path
                    spec = load_spec(path) if path else None
                except (BenchsmithError, OSError):
                    spec = None
                self._specs[run_id] = spec
            return self._specs[run_id]

    def _rule_stages(self, spec: SuiteSpec | None) -> list[Verifier]:
        if spec is None:
            return [verifiers.get(FALLBACK_STAGE)()]
        out: list[Verifier] = []
        for stage in spec.verifiers:
            cls = verifiers.get(stage.name)
            if cls.scope == "item" and not cls.uses_llm and issubclass(cls, ItemVerifier):
                out.append(cls(stage.params))
        return out

    # -- checks ------------------------------------------------------------------------------

    def rule_problems(self, edited: Item, spec: SuiteSpec | None) -> list[str]:
        """What the spec's per-item, LLM-free verifiers say against the edited item."""
        ctx = StageContext(workspace=self.workspace, spec_dir=spec.base_dir if spec else None,
                           suite=spec.suite if spec else None)
        problems = []
        for stage in self._rule_stages(spec):
            assert isinstance(stage, ItemVerifier)
            try:
                stage.prepare([edited], ctx)
                verdict: Any = stage.check(edited, ctx)
                if inspect.isawaitable(verdict):
                    verdict = asyncio.run(_awaited(verdict))
            except RuntimeError:
                continue  # a check that needs what a review app has not (a document corpus) does not apply here
            if not verdict.passed:
                detail = ", ".join(f"{k}: {v}" for k, v in verdict.details.items()
                                   if k not in ("reasons",) and isinstance(v, str | int | float))
                problems.append(f"{stage.name}: {verdict.reason or 'failed'}" + (f" ({detail})" if detail else ""))
        return problems

    def _pool(self, entry: Entry, dedup: DedupSpec) -> _Pool:
        key = (entry.suite, entry.run_id)
        with self.store.session() as s:
            count = s.scalar(select(func.count()).select_from(QueueEntryRow)
                             .where(QueueEntryRow.suite == entry.suite)) or 0
        pool = self._pools.get(key)
        if pool is not None and pool.entries == count and time.monotonic() - pool.built < POOL_TTL_S:
            return pool
        items: dict[str, Item] = {}
        with self.store.session() as s:
            rows = s.execute(select(QueueEntryRow.item, QueueEntryRow.edited_item, QueueEntryRow.status)
                             .where(QueueEntryRow.suite == entry.suite))
            for raw, edited_raw, status in rows:
                if status != "rejected":
                    it = Item.model_validate(edited_raw or raw)
                    items[it.id] = it
        if entry.run_id:
            for it in self.store.items_for_run(entry.run_id, passed=True):
                items.setdefault(it.id, it)
        ids = list(items)
        normalised = {normalize_text(items[i].prompt): i for i in ids}
        index = None
        if dedup.semantic and ids:
            from benchsmith.index.neighbours import VectorIndex

            index = VectorIndex(self.embedder().encode([items[i].prompt for i in ids]))
        pool = _Pool(ids=ids, normalised=normalised, index=index, entries=count, built=time.monotonic())
        self._pools[key] = pool
        return pool

    def dedup_problems(self, entry: Entry, edited: Item, spec: SuiteSpec | None) -> list[str]:
        """Whether the edited item duplicates another item of the suite (not its own original)."""
        dedup = spec.dedup if spec is not None else DedupSpec()
        if not (dedup.exact or dedup.semantic):
            return []
        own = {entry.item_id, edited.id} | ({entry.edited_item.id} if entry.edited_item else set())
        pool = self._pool(entry, dedup)
        problems = []
        if dedup.exact:
            twin = pool.normalised.get(normalize_text(edited.prompt))
            if twin is not None and twin not in own:
                problems.append(f"dedup_exact: duplicate_exact (the same question as item {twin})")
        if dedup.semantic and pool.index is not None and pool.index.n:
            sims, ids = pool.index.search(self.embedder().encode([edited.prompt]), min(len(own) + 1, pool.index.n))
            for sim, j in zip(sims[0].tolist(), ids[0].tolist()):
                if j >= 0 and pool.ids[j] not in own and sim >= dedup.threshold:
                    problems.append(f"dedup_semantic: near_duplicate (cosine {sim:.3f} ≥ {dedup.threshold} "
                                    f"with item {pool.ids[j]})")
                    break
        return problems

    def __call__(self, entry: Entry, edited: Item) -> list[str]:
        """Every problem found with `edited` (the entry's item as edited); none means it may be saved."""
        spec = self.spec_for(entry.run_id)
        return [*self.rule_problems(edited, spec), *self.dedup_problems(entry, edited, spec)]


async def _awaited(value: Any) -> Any:
    return await value
