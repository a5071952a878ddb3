"""Reading a reference ranking: a file of model -> score (an Arena leaderboard export, say).

Accepted forms: a JSON object `{"model": score}`; a JSON list of objects with a model and a
score field; a CSV/TSV with a header row. Model fields: model, name, key, model_name;
score fields: score, elo, rating, arena_score, accuracy. Higher is better.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from benchsmith.errors import SpecError

_MODEL_KEYS = ("model", "name", "key", "model_name")
_SCORE_KEYS = ("score", "elo", "rating", "arena_score", "accuracy")


def _pick(row: dict[str, Any], keys: tuple[str, ...]) -> Any:
    lowered = {str(k).strip().lower(): v for k, v in row.items()}
    return next((lowered[k] for k in keys if k in lowered), None)


def load_reference(path: Path) -> dict[str, float]:
    """model -> score from `path`; SpecError naming the file and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SpecError(f"--reference {path}: cannot read it ({err.strerror})") from None
    rows: list[dict[str, Any]]
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as err:
            raise SpecError(f"--reference {path}: not valid JSON ({err})") from None
        if isinstance(data, dict):
            rows = [{"model": k, "score": v} for k, v in data.items()]
        elif isinstance(data, list) and all(isinstance(r, dict) for r in data):
            rows = data
        else:
            raise SpecError(f"--reference {path}: expected an object of model -> score or a list of objects")
    else:
        dialect = "excel-tab" if path.suffix.lower() == ".tsv" or "\t" in text.split("\n", 1)[0] else "excel"
        rows = list(csv.DictReader(text.splitlines(), dialect=dialect))
    out: dict[str, float] = {}
    for i, row in enumerate(rows, 1):
        model, score = _pick(row, _MODEL_KEYS), _pick(row, _SCORE_KEYS)
        if model is None or score is None:
            raise SpecError(f"--reference {path}: row {i} has no model ({'/'.join(_MODEL_KEYS)}) or score "
                            f"({'/'.join(_SCORE_KEYS)}) field: {row}")
        try:
            out[str(model).strip()] = float(score)
        except (TypeError, ValueError):
            raise SpecError(f"--reference {path}: row {i}: score {score!r} of {model!r} is not a number") from None
    if len(out) < 2:
        raise SpecError(f"--reference {path}: needs at least two models, found {len(out)}")
    return out
