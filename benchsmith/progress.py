"""Progress reporting: live per-stage counts while a run works.

Stages call `ctx.progress(stage, n)`; the flow forwards those calls to whatever sink the
caller installed (the CLI installs a rich display; tests and library use install none).
A module-level sink rather than a flow parameter, because Prefect serialises flow
parameters and a callback is not data.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


class ProgressSink(Protocol):
    """Receives progress events from a run."""

    def plan(self, stage: str, total: int) -> None:
        """`total` more units of work are expected for `stage`."""

    def advance(self, stage: str, n: int = 1) -> None:
        """`n` units of `stage` are done."""

    def message(self, text: str) -> None:
        """A one-line status message (round started, server starting, ...)."""


class NullSink:
    """Discards everything."""

    def plan(self, stage: str, total: int) -> None:
        pass

    def advance(self, stage: str, n: int = 1) -> None:
        pass

    def message(self, text: str) -> None:
        pass


class RichSink:
    """A bar per stage with done/total counts, drawn by rich."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._progress = Progress(
            SpinnerColumn(), TextColumn("[bold]{task.description:<16}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console, transient=False,
        )
        self._tasks: dict[str, int] = {}
        self._lock = threading.Lock()

    def _task(self, stage: str) -> int:
        if stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(stage, total=0)
        return self._tasks[stage]

    def plan(self, stage: str, total: int) -> None:
        with self._lock:
            task = self._task(stage)
            current = self._progress.tasks[[t.id for t in self._progress.tasks].index(task)].total or 0
            self._progress.update(task, total=current + total)

    def advance(self, stage: str, n: int = 1) -> None:
        with self._lock:
            self._progress.advance(self._task(stage), n)

    def message(self, text: str) -> None:
        self._progress.console.log(text)

    def __enter__(self) -> RichSink:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()


_sink: ProgressSink = NullSink()


def sink() -> ProgressSink:
    """The sink currently installed."""
    return _sink


@contextmanager
def installed(new: ProgressSink) -> Iterator[ProgressSink]:
    """Install `new` as the progress sink for the duration of the block."""
    global _sink
    old, _sink = _sink, new
    try:
        yield new
    finally:
        _sink = old
