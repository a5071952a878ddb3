"""A small published version with every item kind, for the export and evaluation tests.

Each prompt carries a unique marker ``[qNN]`` so the fake server can be scripted per item
(its rules match a substring of the last user message).
"""

from __future__ import annotations

from pathlib import Path

from benchsmith.funnel import Funnel
from benchsmith.publish import PublishResult, publish_version
from benchsmith.records import Item, Lineage, Verdict
from benchsmith.spec import PublishSpec, SeedSource, StageSpec, SuiteSpec

SUITE = "mini-eval"

OPEN = [  # (question, reference answer)
    ("What is the capital of France?", "Paris"),
    ("A train leaves at 9:10 and arrives at 11:45. How long is the journey in minutes?", "155"),
    ("Which gas do plants take in for photosynthesis?", "carbon dioxide"),
    ("What is 6 times 7?", "42"),
    ("Who wrote the novel 'Emma'?", "Jane Austen"),
    ("How many sides has a hexagon?", "6"),
]
MCQ = [  # (question, options, correct index; the reference is the option text or, for some, its letter)
    ("Which planet is largest?", ["Mars", "Jupiter", "Venus", "Mercury"], 1),
    ("Which metal is liquid at room temperature?", ["Mercury", "Iron", "Copper"], 0),
    ("What is the boiling point of water at sea level in Celsius?", ["90", "110", "100", "120"], 2),
    ("Which language is spoken in Brazil?", ["Spanish", "Portuguese", "French"], 1),
]
TRUE_FALSE = [("True or false: the Moon orbits the Earth.", "True"), ("True or false: 2 + 2 = 5.", "False")]


def marker(n: int) -> str:
    return f"[q{n:02d}]"


def make_items() -> list[Item]:
    """Open items first, then MCQ, then true/false; item n's prompt ends with marker(n)."""
    lineage = Lineage(generator="evolve", model="fake-model", seed_id="s0")
    items: list[Item] = []
    n = 0
    for q, a in OPEN:
        items.append(Item.create(prompt=f"{q} {marker(n)}", reference_answer=a, lineage=lineage, seed_id="s0"))
        n += 1
    for i, (q, options, correct) in enumerate(MCQ):
        ref = "ABCD"[correct] if i == 3 else options[correct]  # one reference given as the letter
        items.append(Item.create(prompt=f"{q} {marker(n)}", reference_answer=ref, kind="mcq", choices=options,
                                 lineage=lineage, seed_id="s0"))
        n += 1
    for q, a in TRUE_FALSE:
        items.append(Item.create(prompt=f"{q} {marker(n)}", reference_answer=a, kind="true_false",
                                 lineage=lineage, seed_id="s0"))
        n += 1
    return [it.with_verdict(Verdict(stage="rules", passed=True, score=1.0)) for it in items]


def publish_mini(outputs: Path, items: list[Item] | None = None, *, suite: str = SUITE) -> PublishResult:
    """Publish `items` (default `make_items()`) as a new version of `suite` under `outputs`."""
    spec = SuiteSpec(suite=suite, seeds=SeedSource(path=Path("seeds.jsonl")), target_items=20,
                     generators=[StageSpec(name="evolve")], publish=PublishSpec(output_dir=outputs,
                                                                                 versioning="sequential"))
    items = make_items() if items is None else items
    return publish_version(spec=spec, items=items, rejected=[], funnel=Funnel(), models={"generator": "fake-model"},
                           usage={}, stop_reason="target_reached", new_version=True, output_dir=outputs)
