"""The suite spec: a YAML file validated by pydantic models before anything runs.

Errors name the file, the field path and what was expected; an unknown generator or
verifier lists the known ones. Secrets never live here: an endpoint names the
environment variable that holds its key.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, Literal, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from benchsmith.canaries import DEFECTS, Defect
from benchsmith.errors import SpecError, UnknownNameError
from benchsmith.records import content_hash
from benchsmith.text import repeated

BASE_ROLES: tuple[str, ...] = ("generator", "judge")
"""The roles every spec has; `llm.roles` adds named ones."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeedSource(_Strict):
    """Where the seed prompts come from."""

    path: Path = Field(description="JSONL, YAML or TXT file of seed prompts, relative to the spec file.")
    format: Literal["auto", "jsonl", "yaml", "txt"] = Field(default="auto", description="'auto' goes by extension.")
    prompt_field: str = Field(default="prompt", description="Field holding the prompt (JSONL/YAML).")
    id_field: str = Field(default="id", description="Field holding a stable seed id, if present.")
    domain_field: str = Field(default="domain", description="Field holding a domain label, if present.")
    limit: int | None = Field(default=None, ge=1, description="Use only the first N seeds.")


class DocumentSource(_Strict):
    """A folder of documents to build a grounded suite from (instead of seed prompts)."""

    path: Path = Field(description="Folder of documents, relative to the spec file.")
    include: list[str] = Field(
        default_factory=lambda: ["**/*.pdf", "**/*.docx", "**/*.html", "**/*.htm", "**/*.md", "**/*.markdown",
                                 "**/*.txt"],
        description="Glob patterns (relative to the folder) of files to ingest.")
    exclude: list[str] = Field(default_factory=list, description="Glob patterns of files to leave out.")
    min_date: date | str | None = Field(
        default=None,
        description="Skip documents dated before this day: an ISO date, or relative to the day of the run "
                    "(-60d, -8w, -3m, -1y, last-month = the first day of the previous month, this-month), "
                    "resolved when the run starts; the card states the window.")
    chunk_tokens: int = Field(default=400, ge=50, le=8000, description="Target chunk size in tokens.")
    overlap_tokens: int = Field(default=50, ge=0, description="Tokens shared by consecutive chunks.")

    @field_validator("min_date", mode="before")
    @classmethod
    def _date_or_relative(cls, value: Any) -> Any:
        from benchsmith.temporal import FORMS, is_relative_date

        if isinstance(value, str) and not is_relative_date(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"expected {FORMS}") from None
        return value

    def min_date_on(self, today: date | None = None) -> date | None:
        """`min_date` as a day, relative forms counted back from `today` (default: the real today)."""
        from benchsmith.temporal import resolve_date

        return None if self.min_date is None else resolve_date(self.min_date, today or date.today())

    @model_validator(mode="after")
    def _overlap_below_size(self) -> DocumentSource:
        if self.overlap_tokens >= self.chunk_tokens:
            raise ValueError("overlap_tokens must be smaller than chunk_tokens")
        return self


class EndpointSpec(_Strict):
    """One role's LLM endpoint. Unset fields fall back to OPENAI_BASE_URL / OPENAI_MODEL, then the embedded model."""

    base_url: str | None = Field(default=None, description="OpenAI-compatible base URL, e.g. http://host:8000/v1.")
    model: str | None = Field(default=None, description="Model name at that endpoint.")
    api_key_env: str = Field(default="OPENAI_API_KEY", description="Environment variable holding the API key.")
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    max_tokens: int = Field(default=512, ge=1)
    timeout_s: float = Field(default=120.0, gt=0, description="Per-request timeout in seconds.")


class LLMSpec(_Strict):
    """LLM endpoints per role and how hard to drive them."""

    generator: EndpointSpec = Field(default_factory=EndpointSpec)
    judge: EndpointSpec = Field(default_factory=lambda: EndpointSpec(temperature=0.0, max_tokens=256))
    roles: dict[str, EndpointSpec] = Field(
        default_factory=dict,
        description="More named roles beside generator and judge (a jury's judges, a solver), each an "
                    "endpoint like them: `roles: {solver: {base_url: ..., model: ...}}`.")
    concurrency: int = Field(default=8, ge=1, le=1024, description="Requests in flight per endpoint.")
    max_retries: int = Field(default=4, ge=0, le=20, description="Retries for 429/5xx/timeouts/connection errors.")
    cache: bool = Field(default=True, description="Keep an on-disk response cache (reruns cost no calls).")
    cutoffs: dict[str, date] = Field(
        default_factory=dict,
        description="Training-data cutoff per role (`{generator: 2024-10-01}`), as the model's maker states it: "
                    "the card shows them beside the source window, so readers can see whether the sources are "
                    "newer than what the models could have seen. Informational: not part of the spec hash.")

    @field_validator("roles")
    @classmethod
    def _role_names(cls, roles: dict[str, EndpointSpec]) -> dict[str, EndpointSpec]:
        for name in roles:
            if name in BASE_ROLES:
                raise ValueError(f"{name!r} is a built-in role: set llm.{name} instead of llm.roles.{name}")
            if not re.fullmatch(r"[a-z][a-z0-9_-]{0,39}", name):
                raise ValueError(f"role name {name!r}: use lower case letters, digits, '-' and '_'")
        return roles

    def role_names(self) -> tuple[str, ...]:
        """Every role this spec defines: generator, judge, then the named extra roles."""
        return (*BASE_ROLES, *self.roles)

    def endpoint(self, role: str) -> EndpointSpec:
        """The endpoint spec of `role`; a SpecError naming the defined roles if there is none."""
        if role in BASE_ROLES:
            return cast(EndpointSpec, getattr(self, role))
        if role in self.roles:
            return self.roles[role]
        raise SpecError(f"no LLM role {role!r}: this spec defines {', '.join(self.role_names())} "
                        f"(add it under llm.roles)")


class SolverSpec(_Strict):
    """One model of the solver panel: answers the published items in `benchsmith evaluate` (and the
    `solver_panel` stage). Its key comes from the environment variable `api_key_env`, never from here."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,79}$",
                      description="Label in tables and results; unique in the panel (default in YAML: the model).")
    base_url: str = Field(description="OpenAI-compatible base URL, e.g. http://gpu-box:8000/v1.")
    model: str | None = Field(default=None, description="Model name at that endpoint (default: `name`).")
    api_key_env: str = Field(default="OPENAI_API_KEY", description="Environment variable holding the API key.")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="Sampling temperature (greedy by default).")
    max_tokens: int = Field(default=256, ge=1, description="Longest answer, in tokens.")
    timeout_s: float = Field(default=120.0, gt=0, description="Per-request timeout in seconds.")

    @model_validator(mode="before")
    @classmethod
    def _name_from_model(cls, data: Any) -> Any:
        if isinstance(data, dict) and "name" not in data and data.get("model"):
            return {**data, "name": data["model"]}
        return data

    @property
    def model_name(self) -> str:
        """The model name sent to the endpoint."""
        return self.model or self.name


class StageSpec(_Strict):
    """A generator or verifier by registry name, with its parameters."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class DedupSpec(_Strict):
    """Duplicate removal over everything that survived the verifiers."""

    exact: bool = Field(default=True, description="Drop items whose normalised prompt is identical.")
    semantic: bool = Field(default=True, description="Drop embedding near-duplicates (faiss).")
    threshold: float = Field(default=0.82, gt=0.0, le=1.0,
                             description="Cosine similarity above which two prompts are duplicates "
                                         "(0.82: best F1 on the calibration set, docs/calibration.md).")


class SelectionSpec(_Strict):
    """How the published items are chosen when more than `target_items` survive."""

    strategy: Literal["top_score", "diverse"] = Field(
        default="top_score",
        description="'top_score': the best-judged items; 'diverse': cluster-balanced over embeddings, "
                    "best-judged first inside each cluster.")
    clusters: int | None = Field(default=None, ge=2,
                                 description="Clusters for 'diverse' (default: chosen from the size).")
    overgenerate: float = Field(
        default=1.0, ge=1.0, le=10.0,
        description="Grow the pool of surviving items to target_items x this before selecting: 1.0 generates "
                    "only what the target needs; 1.5 gives selection half as many again to choose from.")


class CanarySpec(_Strict):
    """Deliberately defective items planted among the candidates to measure the filters; never published."""

    enabled: bool = Field(default=True, description="Plant canaries at all (`share: 0` turns them off too).")
    share: float = Field(default=0.05, ge=0.0, le=0.5,
                         description="Canaries per generated candidate over the run (rounded up), between "
                                     "`min` and `max`; 0 plants none.")
    min: int | None = Field(default=None, ge=0, le=1000,
                            description="At least this many per run (default: one of each defect the suite can "
                                        "carry: 4 for seed suites, 5 for documents suites).")
    max: int = Field(default=20, ge=0, le=1000, description="At most this many per run.")
    defects: list[Defect] = Field(default_factory=lambda: list(DEFECTS),
                                  description="Which defects to plant, taken in turn; `fake_quote` only applies to "
                                              "documents suites (items with citations).")

    @model_validator(mode="after")
    def _bounds_ordered(self) -> CanarySpec:
        if self.min is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) > max ({self.max})")
        if not self.defects and self.active:
            raise ValueError("defects is empty: list at least one, or set share: 0 to plant none")
        return self

    @property
    def active(self) -> bool:
        """Whether this run plants any canary."""
        return self.enabled and self.share > 0 and self.max > 0


class ReviewSpec(_Strict):
    """Which items wait for a person in the review queue, and whether publishing waits for them.

    Disabled by default: a spec without a `review:` section publishes what the filters keep,
    as it always did. Stage names are the spec's own verifier names (data, not code).
    """

    enabled: bool = Field(default=False, description="Route items to the review queue at all.")
    band: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="Borderline score band per verifier stage, `{llm_judge: [3.0, 4.0]}`: an item whose score "
                    "at that stage lies in [low, high] (both included) goes to the queue, whether the stage "
                    "kept or dropped it.")
    route_drops: list[str] = Field(
        default_factory=list,
        description="Stages set to 'review' instead of 'drop': an item that only these stages (or a band) "
                    "dropped goes to the queue instead of the rejected set.")
    audit_share: float = Field(
        default=0.0, ge=0.0, le=1.0,
        description="Share of the auto-accepted items also queued, picked at random (seeded by `random_seed`), "
                    "rounded up: reviewers' verdicts on them estimate the quality of what nobody looked at. "
                    "0.05 audits one in twenty.")
    double_share: float = Field(
        default=0.1, ge=0.0, le=1.0,
        description="Share of the queued items (audit sample included) reviewed twice, blind, picked at random "
                    "(seeded), rounded up: two different reviewers must decide such an item, neither sees the "
                    "other's decision, and a disagreement becomes a conflict an admin resolves. Their decisions "
                    "give Cohen's kappa per reviewer pair and Fleiss' kappa overall in the card. 0.1 reviews one "
                    "in ten twice; set 0 when one person reviews alone (nobody could give the second review).")
    gate: Literal["all", "decided"] = Field(
        default="all",
        description="'all': a run publishes nothing while any item it queued is undecided (`benchsmith publish "
                    "SUITE` publishes once they are decided); 'decided': publish the auto-accepted and the "
                    "accepted/edited items now, the undecided ones join a later version once decided.")

    @field_validator("band")
    @classmethod
    def _ordered_band(cls, band: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for stage, (low, high) in band.items():
            if low > high:
                raise ValueError(f"band of {stage!r}: low ({low}) > high ({high})")
        return band

    @property
    def stages(self) -> set[str]:
        """Every stage the routing policy names."""
        return {*self.band, *self.route_drops}


class BudgetSpec(_Strict):
    """When generation stops if the target is not reached."""

    max_llm_calls: int = Field(default=400, ge=1, description="Uncached LLM calls allowed in one run, all roles.")
    max_rounds: int = Field(default=8, ge=1, description="Generate/verify rounds at most.")


TaskRunnerName = Literal["in_process", "dask"]


class ExecutionSpec(_Strict):
    """Where the flow's tasks run. Never changes what a run publishes, only where the work happens."""

    task_runner: TaskRunnerName = Field(
        default="in_process", description="'in_process': every task in this process; 'dask': tasks on a Dask "
                                          "cluster (a local one of `dask_workers` processes, or `dask_address`).")
    dask_address: str | None = Field(default=None, description="Scheduler of an existing Dask cluster, "
                                                               "e.g. tcp://10.0.0.5:8786.")
    dask_workers: int = Field(default=2, ge=1, le=256, description="Worker processes of the local Dask cluster.")
    shard_size: int = Field(default=256, ge=1, description="Candidates per generate/verify task: larger batches are "
                                                           "split into shards that run as separate tasks.")
    retries: int = Field(
        default=0, ge=0, le=10,
        description="Prefect retries of a generate/verify/dedup task that raised (an endpoint whose circuit breaker "
                    "opened, a worker that lost its connection, a full disk). Answers the failed attempt already got "
                    "come from the LLM cache, so a retry sends only the calls that had not been answered. Bad input "
                    "(spec, seeds, a spent budget) is never retried.")
    retry_delay_s: float = Field(default=30.0, ge=0, le=3600,
                                 description="Seconds between a failed attempt and its retry (a dead endpoint gets "
                                             "time to come back).")


class RefreshSpec(_Strict):
    """A live benchmark's releases: a constant size, rotation of the oldest items, an optional held-back share.

    With `enabled`, each run publishes the next version of the suite: the parent's items less
    the retired share, topped up with new items (every one novel against all earlier versions,
    public and private: the `novelty` stage is added when the spec does not list it). A month
    that already has a version publishes nothing unless forced (`--new-version`, which makes
    `.N`).
    """

    enabled: bool = Field(default=False, description="Publish releases by these rules (`benchsmith run`, "
                                                     "`benchsmith schedule`).")
    size: int | None = Field(default=None, ge=1, description="Items in every public version (default: "
                                                              "target_items).")
    retire_share: float = Field(
        default=1 / 6, ge=0.0, lt=1.0,
        description="Share of the items retired each release, oldest first (rounded; LiveBench retires about a "
                    "sixth), replaced by new items so the size stays constant. A retired item never returns.")
    private: bool = Field(
        default=False,
        description="Hold the newest items back: each release also writes as many new items as it retires to "
                    "outputs/<suite>-private/<version>/, and those join the public suite one release later.")

    def size_of(self, target_items: int) -> int:
        """The public size of a release."""
        return self.size or target_items

    def retire_count(self, size: int) -> int:
        """Items retired (and replaced) per release: the share of `size`, rounded, at least 1 unless the share is 0."""
        if self.retire_share <= 0:
            return 0
        return max(1, min(size, round(size * self.retire_share)))


class HubSpec(_Strict):
    """Push every published version to a Hugging Face Hub dataset repository (optional)."""

    repo_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$",
                         description="The dataset repository, 'owner/name' (created when missing).")
    private: bool = Field(default=True, description="Create the repository private (set false for a public "
                                                    "benchmark; an existing repository keeps its visibility).")
    token_env: str = Field(default="HF_TOKEN", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                           description="Environment variable holding the write token; without it nothing is "
                                       "pushed (never put the token itself in the spec).")
    endpoint: str | None = Field(default=None, description="Hub URL (default: $HF_ENDPOINT, else "
                                                           "https://huggingface.co).")


class PublishSpec(_Strict):
    """Where and how versions are published."""

    output_dir: Path = Field(default=Path("outputs"),
                             description="Root of published suites (relative to the working directory).")
    versioning: Literal["calendar", "sequential"] = Field(
        default="calendar", description="'calendar': 2026.11, 2026.11.1; 'sequential': v1, v2.")
    split: str = Field(default="test", pattern=r"^[A-Za-z0-9_]+$")
    license: str = Field(default="cc-by-4.0")
    hub: HubSpec | None = Field(default=None, description="Also push each new version to the Hugging Face Hub, "
                                                          "tagged with the version name (`{repo_id, private, "
                                                          "token_env}`); a refresh's held-back versions never are.")


class SuiteSpec(_Strict):
    """A whole suite: seeds, generation, verification, dedup, LLMs and publishing."""

    suite: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", description="Suite name; lower case, digits, '-', '_', '.'.")
    description: str = ""
    seeds: SeedSource | None = Field(default=None, description="Seed prompts to expand (or `documents`).")
    documents: DocumentSource | None = Field(default=None,
                                             description="Documents to build grounded items from (or `seeds`).")
    target_items: int = Field(ge=1, description="How many items the published version should hold.")
    budget: BudgetSpec = Field(default_factory=BudgetSpec)
    generators: list[StageSpec] = Field(min_length=1)
    verifiers: list[StageSpec] = Field(default_factory=list)
    dedup: DedupSpec = Field(default_factory=DedupSpec)
    selection: SelectionSpec = Field(default_factory=SelectionSpec)
    canaries: CanarySpec = Field(default_factory=CanarySpec,
                                 description="Defective items planted to measure how many each filter catches.")
    refresh: RefreshSpec = Field(default_factory=RefreshSpec,
                                 description="Live-benchmark releases: size, rotation, held-back items.")
    review: ReviewSpec = Field(default_factory=ReviewSpec,
                               description="Which items go to the review queue and whether publishing waits.")
    llm: LLMSpec = Field(default_factory=LLMSpec)
    solvers: list[SolverSpec] = Field(
        default_factory=list,
        description="The solver panel: models that answer the published items (`benchsmith evaluate`, the "
                    "`solver_panel` stage), each `{name, base_url, model, api_key_env}`. A run evaluates the "
                    "release with it before publishing, for the card's Quality section.")
    solvers_reference: Path | None = Field(
        default=None,
        description="A reference ranking of the panel's models (JSON or CSV of model -> score, e.g. an Arena "
                    "export; relative to the spec file): the release's evaluation adds its agreement figures.")
    publish: PublishSpec = Field(default_factory=PublishSpec)
    execution: ExecutionSpec = Field(default_factory=ExecutionSpec)
    random_seed: int = Field(default=0, description="Seed for every random choice in the run.")

    # Set by load_spec: the file the spec came from (not part of the YAML).
    source_path: Path | None = Field(default=None, exclude=True)

    @field_validator("generators", "verifiers")
    @classmethod
    def _unique_names(cls, stages: list[StageSpec]) -> list[StageSpec]:
        names = [s.name for s in stages]
        dupes = repeated(names)
        if dupes:
            raise ValueError(f"stage listed twice: {', '.join(dupes)}")
        return stages

    @model_validator(mode="after")
    def _one_source(self) -> SuiteSpec:
        if (self.seeds is None) == (self.documents is None):
            raise ValueError("give exactly one source: `seeds` (a seed prompt file) or `documents` (a folder)")
        return self

    @field_validator("solvers")
    @classmethod
    def _unique_solvers(cls, solvers: list[SolverSpec]) -> list[SolverSpec]:
        names = [s.name for s in solvers]
        dupes = repeated(names)
        if dupes:
            raise ValueError(f"solver name listed twice: {', '.join(dupes)} (give each panel model its own `name`)")
        return solvers

    @model_validator(mode="after")
    def _refresh_without_review(self) -> SuiteSpec:
        if self.refresh.enabled and self.review.enabled:
            raise ValueError("refresh and review together are not supported yet: a release publishes what the "
                             "filters keep (disable one of them)")
        return self

    @model_validator(mode="after")
    def _review_names_stages(self) -> SuiteSpec:
        known = {v.name for v in self.verifiers} | {"dedup_exact", "dedup_semantic"}
        unknown = sorted(self.review.stages - known)
        if unknown:
            raise ValueError(f"review names stages this spec does not run: {', '.join(unknown)} "
                             f"(its verifiers: {', '.join(sorted(known))})")
        return self

    @property
    def base_dir(self) -> Path:
        """Folder relative paths in the spec are resolved against."""
        return self.source_path.parent if self.source_path else Path.cwd()

    def resolve(self, p: Path) -> Path:
        """A path of the spec, resolved against the spec file's folder."""
        return p if p.is_absolute() else self.base_dir / p

    @property
    def seed_path(self) -> Path:
        """The seed file, resolved (an error for a documents suite)."""
        if self.seeds is None:
            raise SpecError(f"{self.source_path or '<spec>'}: this suite has no `seeds` (it reads `documents`)")
        return self.resolve(self.seeds.path)

    @property
    def documents_path(self) -> Path:
        """The documents folder, resolved (an error for a seeds suite)."""
        if self.documents is None:
            raise SpecError(f"{self.source_path or '<spec>'}: this suite has no `documents` folder")
        return self.resolve(self.documents.path)

    def spec_hash(self) -> str:
        """Hash of everything that decides the content of a version."""
        # A default (disabled) review section leaves the hash as it was before the section existed.
        skip = {"publish", "source_path", "execution"} | ({"review"} if self.review == ReviewSpec() else set())
        if self.refresh == RefreshSpec():  # likewise for a spec that publishes no live releases
            skip.add("refresh")
        if not self.solvers:  # a spec without a panel hashes as before the section existed
            skip.add("solvers")
        if self.solvers_reference is None:
            skip.add("solvers_reference")
        data = self.model_dump(mode="json", exclude=skip)
        data["llm"].pop("cutoffs", None)  # what the card says about the models, not what decides the items
        return content_hash(data, length=16)


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def format_validation_error(path: Path | str, err: ValidationError, prefix: tuple[Any, ...] = ()) -> str:
    """One line per problem: 'field.path: message (got ...)'."""
    lines = [f"{path}: invalid suite spec"]
    for e in err.errors():
        got = e.get("input")
        shown = "" if e["type"] == "missing" or isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"  - {_loc(prefix + tuple(e['loc']))}: {e['msg']}{shown}")
    return "\n".join(lines)


def parse_spec(data: Any, path: Path | str = "<spec>") -> SuiteSpec:
    """Validate a spec mapping, including each stage's own parameters."""
    from benchsmith.stages import generators, verifiers  # late: registries import stage modules

    if not isinstance(data, dict):
        raise SpecError(f"{path}: a suite spec must be a YAML mapping, got {type(data).__name__}")
    try:
        spec = SuiteSpec.model_validate(data)
    except ValidationError as err:
        raise SpecError(format_validation_error(path, err)) from None
    for field_name, registry in (("generators", generators), ("verifiers", verifiers)):
        for i, stage in enumerate(getattr(spec, field_name)):
            try:
                cls = registry.get(stage.name)
            except UnknownNameError as err:
                raise SpecError(f"{path}: {field_name}[{i}].name: {err}") from None
            try:
                cls.Config(**stage.params)
            except ValidationError as err:
                raise SpecError(format_validation_error(path, err, (field_name, i, "params"))) from None
    return spec


def load_spec(path: Path | str) -> SuiteSpec:
    """Read and validate a suite spec file."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: spec file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError(f"{path}: not valid YAML{where}: {getattr(err, 'problem', err)}") from None
    except UnicodeDecodeError as err:
        raise SpecError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    spec = parse_spec(data, path)
    spec.source_path = path.resolve()
    return spec
