"""What the item page shows beside the item: cited quotes located in their passages, verdicts.

Everything here returns plain strings and flags; the templates escape all of it, so text from
a model (`<script>`, `javascript:` links) is only ever shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from benchsmith.records import Citation, Item

Segment = tuple[str, bool]
"""A run of passage text and whether it is part of a cited quote."""


@dataclass(frozen=True)
class Passage:
    """A source passage with the quotes cited from it marked, or a quote whose passage is unknown."""

    label: str
    segments: list[Segment]
    missing: list[str]  # quotes cited from this passage that were not found in it verbatim


def _passages(item: Item) -> dict[str, str]:
    """Passage texts the item carries in metadata (`context`: text, list or {chunk id: text}; or `passages`)."""
    raw: Any = item.metadata.get("context", item.metadata.get("passages"))
    if isinstance(raw, str):
        return {"context": raw}
    if isinstance(raw, list):
        return {f"passage {i}": str(t) for i, t in enumerate(raw, 1) if isinstance(t, str)}
    if isinstance(raw, dict):
        return {str(k): v for k, v in raw.items() if isinstance(v, str)}
    return {}


def _find(text: str, quote: str) -> tuple[int, int] | None:
    q = quote.strip()
    if not q:
        return None
    at = text.find(q)
    if at < 0:
        at = text.lower().find(q.lower())
    return (at, at + len(q)) if at >= 0 else None


def highlight(text: str, quotes: list[str]) -> tuple[list[Segment], list[str]]:
    """Split `text` into segments with the quotes marked; also the quotes not found in it."""
    spans: list[tuple[int, int]] = []
    missing: list[str] = []
    for quote in quotes:
        span = _find(text, quote)
        if span is None:
            missing.append(quote)
        else:
            spans.append(span)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    segments: list[Segment] = []
    pos = 0
    for start, end in merged:
        if start > pos:
            segments.append((text[pos:start], False))
        segments.append((text[start:end], True))
        pos = end
    if pos < len(text):
        segments.append((text[pos:], False))
    return segments, missing


def passages(item: Item) -> list[Passage]:
    """The item's passages with their cited quotes highlighted; citations with no known passage come last."""
    texts = _passages(item)
    by_passage: dict[str, list[Citation]] = {}
    orphans: list[Citation] = []
    for c in item.citations:
        key = c.chunk_id if c.chunk_id in texts else None
        if key is None and len(texts) == 1:
            key = next(iter(texts))
        if key is None:
            key = next((k for k, t in texts.items() if _find(t, c.quote)), None)
        if key is None:
            orphans.append(c)
        else:
            by_passage.setdefault(key, []).append(c)
    out = []
    for key, text in texts.items():
        segments, missing = highlight(text, [c.quote for c in by_passage.get(key, [])])
        out.append(Passage(label=key, segments=segments, missing=missing))
    for c in orphans:
        where = " · ".join(p for p in (c.document, c.section or "") if p) or "source not recorded"
        out.append(Passage(label=where, segments=[(c.quote, True)], missing=[]))
    return out


def pretty(value: Any) -> str:
    """JSON for the page's detail boxes (shown as text, escaped by the template)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
