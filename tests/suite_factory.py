"""A small suite spec on the fake LLM server, shared by the pipeline tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from benchsmith.spec import SuiteSpec, load_spec
from benchsmith.testing.rows import EXAMPLE_SEEDS

SEEDS = list(EXAMPLE_SEEDS)


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
