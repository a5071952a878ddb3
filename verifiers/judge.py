"""LLM-as-judge: a rubric-scored verdict per item from the 'judge' role's model.

The judge scores five criteria 1-5 with a short rationale, through a JSON schema so
that the answer is machine-checked. The pass decision is a weighted mean over the
gating criteria against `threshold`, plus optional per-criterion minimums. Difficulty is
recorded (later stages select for it) but does not gate by default: an easy, correct
question is still a valid test case.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from benchsmith.records import Item, Verdict
from benchsmith.stages import LLMVerifier, StageConfig, StageContext, verifiers

Criterion = Literal["clarity", "self_containedness", "answerability", "answer_correctness", "difficulty"]
CRITERIA: tuple[Criterion, ...] = ("clarity", "self_containedness", "answerability", "answer_correctness",
                                   "difficulty")

RUBRIC: dict[Criterion, str] = {
    "clarity": ("Is the question unambiguous and well written? "
                "1 = unintelligible or garbled; 3 = understandable but vague or awkwardly phrased; "
                "5 = precise, one clear reading."),
    "self_containedness": ("Can it be answered without unseen context (a missing passage, 'the text above', "
                           "an unnamed table)? 1 = depends on missing material; 3 = needs a reasonable "
                           "assumption; 5 = everything needed is stated or is general knowledge."),
    "answerability": ("Does it have a definite, checkable answer? 1 = opinion, unanswerable or open-ended "
                      "chat; 3 = answerable but several answers could be argued; 5 = a single verifiable answer."),
    "answer_correctness": ("Is the reference answer correct and complete for the question? "
                           "1 = wrong or unrelated; 3 = partly correct or incomplete; 5 = fully correct."),
    "difficulty": ("How hard is it for a strong model or an expert? 1 = trivial lookup; 3 = needs some "
                   "reasoning or domain knowledge; 5 = multi-step, expert-level."),
}

SYSTEM_PROMPT = (
    "You are a strict reviewer of benchmark test cases. Score the test case on each criterion with an "
    "integer from 1 to 5, using these anchors (2 and 4 lie between them):\n"
    + "\n".join(f"- {name}: {text}" for name, text in RUBRIC.items())
    + "\nThen give a one or two sentence rationale naming the main problem, if any. "
    "Judge the reference answer yourself; do not trust it. Reply with JSON only."
)


def judge_schema() -> dict[str, Any]:
    """JSON schema of the judge's answer: an integer 1-5 per criterion and a rationale."""
    props: dict[str, Any] = {c: {"type": "integer", "minimum": 1, "maximum": 5} for c in CRITERIA}
    props["rationale"] = {"type": "string"}
    return {"type": "object", "properties": props, "required": [*CRITERIA, "rationale"],
            "additionalProperties": False}


def judge_messages(item: Item) -> list[dict[str, str]]:
    """The chat messages that ask the judge about one item."""
    parts = [f"Kind: {item.kind}", f"Question:\n{item.prompt.strip()}"]
    if item.choices:
        parts.append("Choices:\n" + "\n".join(f"{chr(ord('A') + i)}. {c}" for i, c in enumerate(item.choices)))
    parts.append(f"Reference answer:\n{item.reference_answer.strip()}")
    if item.citations:
        parts.append("Supporting quotes:\n" + "\n".join(f"- {c.quote.strip()}" for c in item.citations))
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "\n\n".join(parts)}]


class JudgeConfig(StageConfig):
    """How judge scores turn into a pass/fail decision."""

    threshold: float = Field(default=3.0, ge=1.0, le=5.0,
                             description="Weighted mean of the gating criteria needed to pass.")
    gating: list[Criterion] = Field(
        default_factory=lambda: ["clarity", "self_containedness", "answerability", "answer_correctness"],
        min_length=1,
        description="Criteria that count toward the mean; difficulty is reported but not gating by default.")
    weights: dict[Criterion, float] = Field(
        default_factory=dict, description="Weight per criterion in the mean (default 1.0 each).")
    min_scores: dict[Criterion, int] = Field(
        default_factory=dict,
        description="Per-criterion minimum score; any criterion named here gates, even one outside `gating`.")
    max_tokens: int | None = Field(default=None, ge=16, description="Override the judge endpoint's max_tokens.")
    rationale_max_chars: int = Field(default=500, ge=0, description="Rationale kept in the verdict, truncated to this.")

    @model_validator(mode="after")
    def _check(self) -> JudgeConfig:
        bad = {k: w for k, w in self.weights.items() if w < 0}
        if bad:
            raise ValueError(f"weights must be >= 0, got {bad}")
        if sum(self.weights.get(c, 1.0) for c in self.gating) <= 0:
            raise ValueError("the gating criteria's weights sum to 0")
        out_of_range = {k: v for k, v in self.min_scores.items() if not 1 <= v <= 5}
        if out_of_range:
            raise ValueError(f"min_scores must be between 1 and 5, got {out_of_range}")
        return self


def decide(scores: dict[str, int], config: JudgeConfig) -> tuple[bool, float, str | None, list[str]]:
    """(passed, weighted mean, reason, criteria below their minimum) for one set of scores."""
    weights = {c: config.weights.get(c, 1.0) for c in config.gating}
    mean = sum(scores[c] * w for c, w in weights.items()) / sum(weights.values())
    below = [c for c, m in config.min_scores.items() if scores[c] < m]
    if below:
        return False, mean, f"below_min:{below[0]}", below
    if mean < config.threshold:
        return False, mean, "below_threshold", below
    return True, mean, None, below


@verifiers.register("llm_judge")
class LLMJudge(LLMVerifier):
    """Scores each item with the judge model's rubric; drops items under the threshold or a minimum."""

    Config: ClassVar[type[StageConfig]] = JudgeConfig
    ranks_quality: ClassVar[bool] = True
    schema_name: ClassVar[str] = "judge_scores"
    config: JudgeConfig

    def schema(self) -> dict[str, Any]:
        return judge_schema()

    def messages(self, item: Item, ctx: StageContext) -> list[dict[str, str]]:
        return judge_messages(item)

    def read(self, item: Item, answer: dict[str, Any], model: str | None) -> Verdict:
        scores = {c: int(answer[c]) for c in CRITERIA}
        passed, mean, reason, below = decide(scores, self.config)
        rationale = str(answer.get("rationale", ""))[: self.config.rationale_max_chars]
        details: dict[str, Any] = {"scores": scores, "rationale": rationale, "model": model}
        if below:
            details["below_min"] = below
        return self.verdict(passed, score=round(mean, 4), reason=reason, **details)
