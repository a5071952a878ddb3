"""LLM-as-judge: a verdict per item from one judge model, or from a jury of them.

Two ways to ask (`mode`):

- `rubric` (default): the judge scores five criteria 1-5 with a short rationale, through
  a JSON schema so that the answer is machine-checked. The pass decision is a weighted
  mean over the gating criteria against `threshold`, plus optional per-criterion
  minimums. Difficulty is recorded (later stages select for it) but does not gate by
  default: an easy, correct question is still a valid test case.
- `checklist` (TICK, `judge_checklist`): the judge writes yes/no checks for the item, then
  answers them; the share of "yes" is the score and must reach `checklist_threshold`.
  Two calls per item.

`judges: [judge, judge_b, ...]` names LLM roles of the spec (`llm.roles`) that judge each
item independently, aggregated by `aggregate` (`judge_jury`); the default, no list, is the
single `judge` role. After the run, `assess` reports whether the judge discriminates
(spread, canary catch rate, a verbosity probe) and, for a jury, the judges' agreement
(`judge_health`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from benchsmith.aio import gather_or_cancel
from benchsmith.errors import EndpointCircuitOpen, EndpointError, LLMOutputError, LLMRequestError, SpecError
from benchsmith.quality import StageReport
from benchsmith.records import Item, Verdict
from benchsmith.stages import LLMVerifier, StageConfig, StageContext, verifiers
from benchsmith.verifiers.judge_checklist import (
    ChecklistResult,
    answers_messages,
    answers_schema,
    checklist_messages,
    checklist_schema,
    item_block,
    read_answers,
    read_checks,
)
from benchsmith.verifiers.judge_health import judge_health
from benchsmith.verifiers.judge_jury import Failure, Opinion, failure_code, jury_details, majority, mean_criteria

if TYPE_CHECKING:
    from benchsmith.llm.client import LLMClient

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
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": item_block(item)}]


class JudgeConfig(StageConfig):
    """How judge answers turn into a pass/fail decision, and who judges."""

    mode: Literal["rubric", "checklist"] = Field(
        default="rubric",
        description="'rubric': five criteria scored 1-5 in one call; 'checklist' (TICK): the judge writes yes/no "
                    "checks for the item, then answers them (two calls); the share of 'yes' is the score.")
    threshold: float = Field(default=3.0, ge=1.0, le=5.0,
                             description="Rubric: weighted mean of the gating criteria needed to pass.")
    gating: list[Criterion] = Field(
        default_factory=lambda: ["clarity", "self_containedness", "answerability", "answer_correctness"],
        min_length=1,
        description="Criteria that count toward the mean; difficulty is reported but not gating by default.")
    weights: dict[Criterion, float] = Field(
        default_factory=dict, description="Weight per criterion in the mean (default 1.0 each).")
    min_scores: dict[Criterion, int] = Field(
        default_factory=dict,
        description="Per-criterion minimum score; any criterion named here gates, even one outside `gating`.")
    checklist_items: int = Field(default=5, ge=1, le=20,
                                 description="Checklist: the most yes/no checks the judge writes per item.")
    checklist_threshold: float = Field(
        default=0.75, ge=0.0, le=1.0,
        description="Checklist: share of checks answered 'yes' needed to pass. 0.75: of the usual 4-5 checks, "
                    "at most one may fail (of 3, none: 2/3 < 0.75).")
    judges: list[str] = Field(
        default_factory=list,
        description="A jury: LLM roles of the spec (`judge` and names under `llm.roles`) that each judge every "
                    "item. Empty (default): the single `judge` role.")
    aggregate: Literal["mean", "majority"] = Field(
        default="mean",
        description="Jury: 'mean' averages the judges' scores (per criterion for the rubric) against the "
                    "threshold; 'majority' needs a strict majority of the judges' own pass votes.")
    min_judges: int = Field(default=1, ge=1,
                            description="Jury: fewest judges that must answer; with fewer the item drops as "
                                        "judge_error (a rerun retries it).")
    max_tokens: int | None = Field(default=None, ge=16, description="Override the judge endpoint's max_tokens.")
    rationale_max_chars: int = Field(default=500, ge=0,
                                     description="Rationale (or each check's reason) kept in the verdict, "
                                                 "truncated to this.")

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
        twice = sorted({r for r in self.judges if self.judges.count(r) > 1})
        if twice:
            raise ValueError(f"judges lists a role twice: {', '.join(twice)}")
        if self.judges and self.min_judges > len(self.judges):
            raise ValueError(f"min_judges is {self.min_judges} but the jury has {len(self.judges)} judges")
        return self


def decide(scores: Mapping[str, float], config: JudgeConfig) -> tuple[bool, float, str | None, list[str]]:
    """(passed, weighted mean, reason, criteria below their minimum) for one set of rubric scores."""
    weights = {c: config.weights.get(c, 1.0) for c in config.gating}
    mean = sum(scores[c] * w for c, w in weights.items()) / sum(weights.values())
    below: list[str] = [c for c, m in config.min_scores.items() if scores[c] < m]
    if below:
        return False, mean, f"below_min:{below[0]}", below
    if mean < config.threshold:
        return False, mean, "below_threshold", below
    return True, mean, None, below


@verifiers.register("llm_judge")
class LLMJudge(LLMVerifier):
    """Scores each item with the judge model's rubric or checklist, or a jury's; drops items that fail."""

    Config: ClassVar[type[StageConfig]] = JudgeConfig
    ranks_quality: ClassVar[bool] = True
    schema_name: ClassVar[str] = "judge_scores"
    config: JudgeConfig

    def __init__(self, config: StageConfig | dict[str, Any] | None = None) -> None:
        super().__init__(config)
        self._down: dict[str, Failure] = {}
        """Jury roles whose endpoint could not be reached: not asked again by this instance."""

    # -- planning and the rubric call (LLMVerifier's interface) --------------------------

    def tolerates_losing(self, roles: frozenset[str]) -> bool:
        """A jury goes on without unreachable judges while `min_judges` of them remain."""
        judges = self.config.judges or ["judge"]
        return sum(1 for role in judges if role not in roles) >= self.config.min_judges

    def calls_per_item(self) -> int:
        per_judge = 2 if self.config.mode == "checklist" else 1
        return per_judge * max(1, len(self.config.judges))

    def schema(self) -> dict[str, Any]:
        return judge_schema()

    def messages(self, item: Item, ctx: StageContext) -> list[dict[str, str]]:
        return judge_messages(item)

    def read(self, item: Item, answer: dict[str, Any], model: str | None) -> Verdict:
        opinion = self._rubric_opinion(answer, self.role, model)
        return self.verdict(opinion.passed, score=round(opinion.score, 4), reason=opinion.reason,
                            **opinion.details)

    def prepare(self, items: Sequence[Item], ctx: StageContext) -> None:
        unknown = [r for r in self.config.judges if r not in ctx.roles]
        if unknown:
            raise SpecError(f"{self.name}: judges names no LLM role {', '.join(map(repr, unknown))}: this spec "
                            f"defines {', '.join(ctx.roles)} (add it under llm.roles)")

    # -- one judge -----------------------------------------------------------------------

    def _rubric_opinion(self, answer: dict[str, Any], role: str, model: str | None) -> Opinion:
        scores: dict[str, int] = {c: int(answer[c]) for c in CRITERIA}
        passed, mean, reason, below = decide(scores, self.config)
        details: dict[str, Any] = {"scores": scores,
                                   "rationale": str(answer.get("rationale", ""))[: self.config.rationale_max_chars],
                                   "model": model}
        if below:
            details["below_min"] = below
        return Opinion(role=role, model=model, passed=passed, score=mean, reason=reason, details=details,
                       criteria=dict(scores))

    def _checklist_opinion(self, result: ChecklistResult, role: str, model: str | None) -> Opinion:
        passed = result.score >= self.config.checklist_threshold
        details = {"mode": "checklist", **result.details(self.config.rationale_max_chars), "model": model}
        return Opinion(role=role, model=model, passed=passed, score=result.score,
                       reason=None if passed else "below_threshold", details=details)

    async def _opinion(self, item: Item, client: LLMClient, role: str) -> Opinion:
        """What one judge says about `item` (raises the client's errors)."""
        model = getattr(client, "model", None)
        max_tokens = self.max_tokens()
        if self.config.mode == "rubric":
            answer = await client.complete_json(judge_messages(item), judge_schema(), schema_name=self.schema_name,
                                                max_tokens=max_tokens)
            return self._rubric_opinion(answer, role, model)
        k = self.config.checklist_items
        written = await client.complete_json(checklist_messages(item, k), checklist_schema(k),
                                             schema_name="judge_checklist", max_tokens=max_tokens)
        checks = read_checks(written, k)
        answered = await client.complete_json(answers_messages(item, checks), answers_schema(len(checks)),
                                              schema_name="judge_checklist_answers", max_tokens=max_tokens)
        return self._checklist_opinion(read_answers(checks, answered), role, model)

    async def check(self, item: Item, ctx: StageContext) -> Verdict:
        if self.config.judges:
            return await self._jury(item, ctx)
        client = ctx.client(self.role)
        model = getattr(client, "model", None)
        try:
            opinion = await self._opinion(item, client, self.role)
        except (LLMOutputError, LLMRequestError) as err:
            return self.on_error(item, err, model)
        return self.verdict(opinion.passed, score=round(opinion.score, 4), reason=opinion.reason,
                            **opinion.details)

    # -- a jury --------------------------------------------------------------------------

    async def _ask(self, item: Item, ctx: StageContext, role: str) -> Opinion | Failure:
        if role in self._down:
            return self._down[role]
        client = ctx.client(role)
        model = getattr(client, "model", None)
        try:
            return await self._opinion(item, client, role)
        except (LLMOutputError, LLMRequestError) as err:
            return Failure(role, model, err.reason, str(err)[:300])
        except EndpointError as err:
            # A circuit that opened says why (timeouts, a 5xx); an unreachable server is a connection error.
            reason = err.reason if isinstance(err, EndpointCircuitOpen) else "connection_error"
            failure = Failure(role, model, reason, str(err)[:300], endpoint_error=err)
            self._down.setdefault(role, failure)
            return failure

    async def _jury(self, item: Item, ctx: StageContext) -> Verdict:
        roles = self.config.judges
        said = await gather_or_cancel([self._ask(item, ctx, role) for role in roles])
        opinions = [o for o in said if isinstance(o, Opinion)]
        failures = [f for f in said if isinstance(f, Failure)]
        details = jury_details(opinions, failures, roles, self.config.mode, self.config.aggregate)
        if len(opinions) < self.config.min_judges:
            gone = [f.endpoint_error for f in failures if f.endpoint_error is not None]
            if not opinions and len(gone) == len(failures):
                raise gone[0]  # every judge's endpoint is gone: stop the stage, as a single judge's does
            return self.verdict(False, reason=f"judge_error:{failure_code(failures)}", **details)
        score = sum(o.score for o in opinions) / len(opinions)
        if self.config.aggregate == "majority":
            passed, reason = majority(opinions)
        elif self.config.mode == "rubric":
            means = mean_criteria(opinions)
            passed, score, reason, below = decide(means, self.config)
            details["mean_scores"] = {c: round(v, 4) for c, v in means.items()}
            if below:
                details["below_min"] = below
        else:
            passed = score >= self.config.checklist_threshold
            reason = None if passed else "below_threshold"
        return self.verdict(passed, score=round(score, 4), reason=reason, **details)

    # -- after the run -------------------------------------------------------------------

    def assess(self, items: Sequence[Item]) -> StageReport | None:
        """Whether this judge discriminates, and a jury's agreement (`judge_health`)."""
        if self.config.mode == "checklist":
            low, high, scale = 0.0, 1.0, "0-1 checklist share"
        else:
            low, high, scale = 1.0, 5.0, "1-5 rubric"
        return judge_health(self.name, items, low=low, high=high, scale=scale, judges=self.config.judges)
