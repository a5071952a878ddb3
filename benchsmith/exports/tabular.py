"""Export a published version as one JSONL or CSV file of harness-ready rows.

Columns (`writer.VIEW_SCHEMA`): id, kind, family, prompt (what a chat model is asked:
question, lettered options, instruction), question, choices, letters, answer_index, target
(the letter for choice items, the reference answer otherwise), reference_answer. In CSV the
list columns are JSON arrays.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from benchsmith.exports.formats import ItemView
from benchsmith.exports.writer import view_row


def write_jsonl(path: Path, views: list[ItemView]) -> None:
    """One JSON object per line."""
    with path.open("w", encoding="utf-8") as f:
        for v in views:
            f.write(json.dumps(view_row(v), ensure_ascii=False) + "\n")


def write_csv(path: Path, views: list[ItemView]) -> None:
    """A header and one row per item; list columns as JSON arrays."""
    rows = [view_row(v) for v in views]
    fields = list(rows[0]) if rows else ["id"]
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for row in rows:
            w.writerow({k: json.dumps(val, ensure_ascii=False) if isinstance(val, list) else val
                        for k, val in row.items()})
