"""The funnel: for every stage, how many items came in, stayed, and left for which reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel, Field


class StageCount(BaseModel):
    """Counts for one stage of one run."""

    stage: str
    received: int = 0
    kept: int = 0
    dropped: dict[str, int] = Field(default_factory=dict, description="Drop reason → count.")

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())


class Funnel(BaseModel):
    """Ordered stage counts for a run."""

    stages: list[StageCount] = Field(default_factory=list)
    stop_reason: str | None = Field(default=None, description="Why generation stopped: target or budget.")

    def stage(self, name: str) -> StageCount:
        """The counts of `name`, created empty on first use."""
        for s in self.stages:
            if s.stage == name:
                return s
        s = StageCount(stage=name)
        self.stages.append(s)
        return s

    def record(self, name: str, received: int, kept: int, drop_reasons: Iterable[str]) -> None:
        """Add one batch's counts to a stage."""
        s = self.stage(name)
        s.received += received
        s.kept += kept
        for reason, n in Counter(drop_reasons).items():
            s.dropped[reason] = s.dropped.get(reason, 0) + n

    def as_rows(self) -> list[tuple[str, int, int, int, str]]:
        """(stage, in, kept, dropped, reasons) rows for printing."""
        return [
            (s.stage, s.received, s.kept, s.dropped_total,
             ", ".join(f"{r}: {n}" for r, n in sorted(s.dropped.items(), key=lambda kv: -kv[1])))
            for s in self.stages
        ]
