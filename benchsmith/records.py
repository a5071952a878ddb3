"""The typed records that flow between stages: seeds, items, verdicts and lineage.

Every stage reads `Item`s and returns `Verdict`s for them; an item is never mutated in
place (stages return copies), so a task's persisted result stays valid when a later
stage runs.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ItemKind = Literal["open_qa", "mcq", "true_false", "code"]
ReviewStatus = Literal["pending", "accepted", "rejected", "edited", "auto_accepted"]


def content_hash(*parts: Any, length: int = 16) -> str:
    """A short, stable sha256 hex digest of JSON-serialisable parts."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:length]


class Seed(BaseModel):
    """One seed prompt from a seed file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Stable id: the seed file's own id field, or a hash of the prompt.")
    prompt: str = Field(description="The seed prompt text.")
    domain: str | None = Field(default=None, description="Optional domain/topic label from the seed file.")
    source: str = Field(default="", description="Where the seed came from: 'file:line'.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Any extra fields of the seed line.")


class Citation(BaseModel):
    """A quote that supports an item's answer, with its provenance."""

    model_config = ConfigDict(extra="forbid")

    quote: str = Field(description="The quoted text, verbatim from the source.")
    document: str = Field(default="", description="Path of the source document.")
    section: str | None = Field(default=None, description="Section heading or page label.")
    chunk_id: str | None = Field(default=None, description="Id of the chunk the quote comes from.")
    start: int | None = Field(default=None, description="Character offset of the quote in the document text.")
    end: int | None = Field(default=None, description="End offset (exclusive).")


class Lineage(BaseModel):
    """How an item was made."""

    model_config = ConfigDict(extra="forbid")

    generator: str = Field(description="Registry name of the generator that made the item.")
    operator: str | None = Field(default=None, description="The generator's operator, e.g. 'add_constraints'.")
    model: str | None = Field(default=None, description="Model name that produced the text.")
    endpoint: str | None = Field(default=None, description="Base URL of the endpoint (never a secret).")
    params: dict[str, Any] = Field(default_factory=dict, description="Generation parameters.")
    parent_id: str | None = Field(default=None, description="Id of the item or seed this one was evolved from.")
    seed_id: str | None = Field(default=None, description="Id of the seed at the root of the lineage.")


class Verdict(BaseModel):
    """One stage's judgement of one item. `passed=False` drops the item from the published set."""

    model_config = ConfigDict(extra="forbid")

    stage: str = Field(description="Registry name of the stage that judged.")
    passed: bool = Field(description="Whether the item survives this stage.")
    score: float | None = Field(default=None, description="Stage-specific score (judge mean, similarity, ...).")
    reason: str | None = Field(default=None, description="Short machine-readable drop reason, e.g. 'too_short'.")
    details: dict[str, Any] = Field(default_factory=dict, description="Anything else the stage wants recorded.")
    ranks_quality: bool = Field(default=False, description="The score measures the item's quality (higher is better): "
                                                           "dedup keepers and selection rank by it.")


class Item(BaseModel):
    """A benchmark test case with its provenance and every stage's verdict."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Content hash of kind, prompt, answer and choices.")
    kind: ItemKind = Field(default="open_qa", description="What sort of test case this is.")
    prompt: str = Field(description="The question or task given to the model under test.")
    reference_answer: str = Field(description="The expected answer.")
    choices: list[str] = Field(default_factory=list, description="Options for multiple-choice items.")
    citations: list[Citation] = Field(default_factory=list, description="Supporting quotes (document suites).")
    seed_id: str | None = Field(default=None, description="Seed (or source chunk) the item derives from.")
    lineage: Lineage = Field(description="Which generator, model and parameters made the item.")
    verdicts: list[Verdict] = Field(default_factory=list, description="Every stage's verdict, in order.")
    review_status: ReviewStatus = Field(default="pending", description="Human review state.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Free-form extras (domain, difficulty).")

    @classmethod
    def create(cls, *, prompt: str, reference_answer: str, lineage: Lineage, kind: ItemKind = "open_qa",
               choices: list[str] | None = None, **fields: Any) -> Item:
        """Build an item whose id is the hash of its content."""
        choices = list(choices or [])
        item_id = content_hash(kind, prompt.strip(), reference_answer.strip(), choices)
        return cls(id=item_id, kind=kind, prompt=prompt, reference_answer=reference_answer,
                   choices=choices, lineage=lineage, **fields)

    @property
    def passed(self) -> bool:
        """True while no stage has rejected the item."""
        return all(v.passed for v in self.verdicts)

    @property
    def failed_verdict(self) -> Verdict | None:
        """The first verdict that dropped the item, if any."""
        return next((v for v in self.verdicts if not v.passed), None)

    def verdict(self, stage: str) -> Verdict | None:
        """The latest verdict of a stage, if the item has one."""
        return next((v for v in reversed(self.verdicts) if v.stage == stage), None)

    def with_verdict(self, verdict: Verdict) -> Item:
        """A copy of the item with one more verdict (replacing an earlier one of the same stage)."""
        kept = [v for v in self.verdicts if v.stage != verdict.stage]
        return self.model_copy(update={"verdicts": [*kept, verdict]})

    def quality_score(self) -> float:
        """The score used to pick the best member of a duplicate group: the latest quality-ranking
        verdict's score (a judge's), else 0."""
        for v in reversed(self.verdicts):
            if v.ranks_quality and v.score is not None:
                return float(v.score)
        return 0.0
