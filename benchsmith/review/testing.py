"""Helpers for tests and benches of the review app: sample items and a real server on a free port."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from benchsmith.records import Citation, Item, Lineage, Verdict

if TYPE_CHECKING:
    import httpx

    from benchsmith.embeddings import Embedder
    from benchsmith.store import Store

HOSTILE_PROMPT = ('What does <script>window.__pwned = 1</script> print? '
                  '<img src=x onerror="window.__pwned = 2"> <a href="javascript:window.__pwned = 3">click</a>')


def sample_items(n: int, *, generator: str = "evolve", hostile: bool = False) -> list[Item]:
    """`n` distinct items with judge scores spread over 1-5 (item 0 the least sure), one failed verdict in
    three, and citations with their passage on every other item. `hostile`: item 0 carries markup."""
    items = []
    for i in range(n):
        passage = f"Passage {i}. The tank holds {200 + i} litres. It fills at 12 litres per minute."
        verdicts = [Verdict(stage="rules", passed=i % 3 != 2, reason=None if i % 3 != 2 else "too_short"),
                    Verdict(stage="llm_judge", passed=True, score=1.0 + (i * 0.37) % 4.0, ranks_quality=True)]
        prompt = HOSTILE_PROMPT if hostile and i == 0 else f"Question {i}: how long to fill {200 + i} litres?"
        citations = [Citation(quote=f"holds {200 + i} litres", document="docs/tank.md", chunk_id=f"c{i}")] \
            if i % 2 == 0 else []
        items.append(Item.create(
            prompt=prompt, reference_answer=f"{(200 + i) / 12:.1f} minutes",
            lineage=Lineage(generator=generator, operator="add_constraints", model="fake-model", seed_id=f"s{i}"),
            verdicts=verdicts, citations=citations, metadata={"context": {f"c{i}": passage}} if citations else {}))
    return items


def csrf(response: httpx.Response) -> str:
    """The CSRF token of the first form on a page (fails loudly when the page has none)."""
    match = re.search(r'name="csrf" value="([^"]+)"', response.text)
    assert match, response.text[:500]
    return match.group(1)


def form_of(page: httpx.Response, form_id: str) -> dict[str, str]:
    """The hidden fields of one form on a page."""
    block = re.search(rf'<form[^>]*id="{form_id}".*?</form>', page.text, re.S)
    assert block, form_id
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', block.group(0)))


def review_writes(store: Store) -> int:
    """Rows in the decision and audit tables: what "nothing written" is checked against."""
    from sqlalchemy import func, select

    from benchsmith.review.db import AuditRow, DecisionRow

    with store.session() as s:
        return (s.scalar(select(func.count()).select_from(AuditRow)) or 0) + (
            s.scalar(select(func.count()).select_from(DecisionRow)) or 0)


class ReviewServer:
    """The review app on uvicorn in a background thread, on a free loopback port."""

    def __init__(self, workspace: Path, db_url: str | None = None, *,
                 embedder_factory: Callable[[], Embedder] | None = None) -> None:
        import uvicorn

        from benchsmith.process import free_port
        from benchsmith.review.web import create_app

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(workspace, db_url, embedder_factory=embedder_factory)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False,
                                lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="review-server", daemon=True)

    def __enter__(self) -> ReviewServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the review server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
