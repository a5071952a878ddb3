"""A small suite spec on the fake LLM server, shared by the pipeline tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from benchsmith.spec import SuiteSpec, load_spec

SEEDS = [
    "A train leaves at 9:10 and arrives at 11:45. How long is the journey in minutes?",
    "Write a function that returns the second largest distinct number in a list.",
    "A rectangle has a perimeter of 30 cm and one side of 6 cm. What is its area?",
    "Three friends split a bill of 84 dollars so that one pays twice as much as each other. Who pays what?",
    "Explain why the sum of two odd numbers is always even, with a short proof.",
    "A tank fills at 12 litres per minute and drains at 4 litres per minute. How long to fill 200 litres?",
]


def make_spec(tmp_path: Path, fake_llm: Any, *, judge_url: str | None = None, **overrides: Any) -> SuiteSpec:
    """A small suite on the fake server; the suite name is unique per test (it keys the task cache)."""
    (tmp_path / "seeds.jsonl").write_text("".join(json.dumps({"id": f"s{i}", "prompt": p}) + "\n"
                                                  for i, p in enumerate(SEEDS)))
    endpoint = {"base_url": fake_llm.base_url, "model": "fake-model", "timeout_s": 3}
    data: dict[str, Any] = {
        "suite": f"flow-{tmp_path.name.lower()}"[:60].replace("_", "-"),
        "seeds": {"path": "seeds.jsonl"},
        "target_items": 5,
        "budget": {"max_llm_calls": 80, "max_rounds": 4},
        "generators": [{"name": "evolve"}],
        "verifiers": [{"name": "rules"}, {"name": "llm_judge", "params": {"threshold": 3.0}}],
        "llm": {"generator": endpoint, "judge": {**endpoint, "base_url": judge_url or fake_llm.base_url},
                "concurrency": 8, "max_retries": 2},
        "publish": {"output_dir": str(tmp_path / "outputs")},
    }
    data.update(overrides)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_spec(path)
