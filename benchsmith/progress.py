"""Progress reporting: live per-stage counts while a run works.

Stages call `ctx.progress(stage, n)`; the flow forwards those calls to whatever sink the
caller installed (the CLI installs a rich display; tests and library use install none).
A module-level sink rather than a flow parameter, because Prefect serialises flow
parameters and a callback is not data.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn


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
        self._tasks: dict[str, TaskID] = {}
        self._totals: dict[str, int] = {}
        self._lock = threading.Lock()

    def _task(self, stage: str) -> TaskID:
        if stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(stage, total=0)
        return self._tasks[stage]

    def plan(self, stage: str, total: int) -> None:
        with self._lock:
            self._totals[stage] = self._totals.get(stage, 0) + total
            self._progress.update(self._task(stage), total=self._totals[stage])

    def advance(self, stage: str, n: int = 1) -> None:
        with self._lock:
            self._progress.advance(self._task(stage), n)

    def message(self, text: str) -> None:
        self._progress.console.log(text, markup=False, highlight=False)  # plain text: paths may hold "[...]"

    def __enter__(self) -> RichSink:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()


class LineSink:
    """Plain progress lines for logs and pipes, where live bars do not render.

    A stage's counts are printed when it finishes its planned work, and otherwise at
    most every `interval_s` seconds, so a long run shows it is alive without flooding.
    """

    def __init__(self, console: Console, interval_s: float = 10.0) -> None:
        self.console = console
        self.interval_s = interval_s
        self._done: dict[str, int] = {}
        self._total: dict[str, int] = {}
        self._last = 0.0
        self._lock = threading.Lock()

    def plan(self, stage: str, total: int) -> None:
        with self._lock:
            self._total[stage] = self._total.get(stage, 0) + total
            self._done.setdefault(stage, 0)

    def advance(self, stage: str, n: int = 1) -> None:
        with self._lock:
            self._done[stage] = self._done.get(stage, 0) + n
            finished = self._done[stage] == self._total.get(stage)
            now = time.monotonic()
            if finished or now - self._last >= self.interval_s:
                self._last = now
                self.console.print(f"  {stage}: {self._done[stage]}/{self._total.get(stage, '?')}", markup=False,
                                   highlight=False)

    def message(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False)  # plain text: paths may hold "[...]"

    def __enter__(self) -> LineSink:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def for_console(console: Console) -> RichSink | LineSink:
    """Live bars on a terminal, plain lines otherwise."""
    return RichSink(console) if console.is_terminal else LineSink(console)


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
