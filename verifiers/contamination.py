"""Contamination against reference benchmarks: n-gram overlap, embedding neighbours, LLM judge.

For every item (its `fields`' text) and every reference corpus the spec names:

1. **n-gram overlap** — the fraction of the item's distinct `ngram_n`-grams (13 by
   default, after script-aware normalisation, see `benchsmith.index.ngrams`) found in the
   corpus's hashed n-gram index. The index is built once per corpus content, n and
   normalisation version, stored under `<workspace>/indexes` and memory-mapped on reuse.
   At or above `ngram_threshold` the item is contaminated (method `ngram`), unless every
   reference entry its matched n-grams point at has other numbers outside its code examples
   (`ngram_number_veto`): the same template with a number changed is another test case, so
   the hit is set aside (`ngram_set_aside` in the verdict, a count in the report) and the
   evidence below decides.
2. **embedding neighbours + rare-token overlap** — the `top_k` nearest reference entries
   by cosine similarity (all-MiniLM-L6-v2; faiss: exact for small corpora, IVF for large
   ones), each scored as `cosine + rarity_weight * rare_overlap + number_weight *
   number_agreement + example_weight * example_agreement`, where rare_overlap is the share
   of the two texts' tokens they have in common, weighted by rarity in the reference
   corpus, number_agreement compares their sets of number values (+1 equal, 0 when either
   has none or one holds the other, down to -1 as values differ; `benchsmith.index.rarity`),
   and example_agreement is the rarity-weighted share of code examples (doctest calls and
   their outputs, function names masked) they share when neither has one the other lacks
   (`benchsmith.index.examples`; 0 outside code): a rewording keeps the numbers, names,
   rare words and examples of its problem; another problem of the same style shares only
   the style, and the same template with other numbers is another test case.
   At or above the corpus's threshold the item is contaminated (method `embedding`).
   The threshold is **self-calibrated per corpus** (`benchsmith.index.selfcal`): a sample
   of the corpus's own entries is searched against the rest of it, and the threshold
   sits `null_margin` above the `null_quantile` of those leave-one-out scores, so a large
   corpus of one style (where some reference is always close by chance) gets a higher
   bar than a small varied one. A corpus too small for a null (under 20 scores, e.g. one
   entry) uses `default_score_threshold`, and the report says so. Setting
   `embedding_threshold` brings back the plain cosine rule of earlier versions.
3. **LLM judge** (`llm_judge: true`, the LLM Decontaminator method), **only for the
   uncertain band** of the evidence score. Per corpus the band runs from a low edge to
   `threshold + judge_band_high`:
   - a candidate at or above the high edge is contaminated without asking (method
     `embedding`, as without the judge);
   - one below the low edge, or with cosine under `judge_min_similarity`, is clean
     without asking;
   - the candidates in between are shown to the judge role's model, at most `top_k` per
     item, most similar first, until one is judged a rephrasing (method `llm`) or they run
     out (the item passes). If the judge fails on a candidate (bad output, retries
     exhausted) or the run's call budget runs out, that candidate falls back to the
     threshold rule and the verdict says so.
   Band defaults, from the null distribution the stage computes anyway: the low edge is
   the corpus's **null p90** (`judge_band_low` unset), so the judge sees only candidates
   more similar than 9 in 10 of the corpus's own distinct problems are to their nearest
   neighbour (HumanEval 0.99, StrategyQA 0.83, MathQA 1.33 in docs/calibration.md); it is
   never above the threshold. A corpus without a usable null (under 20 leave-one-out
   scores) uses `threshold - 0.3` (the default threshold 1.1 gives 0.8, just under the
   p90 of the measured corpora). The high edge is `judge_band_high` (0.15) above the
   threshold: the threshold already sits `null_margin` above the null's p99.9 (at or within
   0.02 of the null's *maximum* on HumanEval, 1.24, and StrategyQA, 1.21), so the high edge
   is a score no distinct pair of those corpora came near. `judge_band_low: <x>` sets the
   low edge at `threshold - x` instead. Under the
   plain cosine rule (`embedding_threshold`) the band is on the cosine, from
   `embedding_threshold - (judge_band_low or 0.3)` to `embedding_threshold +
   judge_band_high`. `judge_min_similarity` (cosine 0.5) stays as an extra floor: the
   rare-token overlap (weight 0.5) can lift a candidate of low cosine into the band, and
   a pair sharing only rare words is not what the judge is for.

`report()` gives, per corpus, the null distribution (quantiles of the leave-one-out
scores and cosines, near-copies skipped) and the thresholds in use, with their source;
in judge mode also the band's edges per corpus and how many candidates went to the judge
vs were decided by the score.

Budget: the judge is asked only about items with a candidate in the band and none above
it, at most `top_k` calls per item and usually one, so the stage
does not cost one call per item and `uses_llm` stays False (the flow's plan reserves
nothing for it). Its calls are taken from the run's `max_llm_calls` like any other;
cached answers are free.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator

from benchsmith.aio import gather_or_cancel
from benchsmith.errors import BudgetExhausted, LLMOutputError, LLMRequestError
from benchsmith.index.evidence import CorpusEvidence, NullSettings, Threshold
from benchsmith.index.examples import example_sets, prose_texts
from benchsmith.index.ngrams import NgramIndex, TokenHasher, latin_share, load_or_build
from benchsmith.index.rarity import TokenSets, number_agreement, number_sets
from benchsmith.index.selfcal import NullDistribution
from benchsmith.quality import StageReport
from benchsmith.records import Item, Verdict
from benchsmith.references import ReferenceCorpus, ReferenceSource, load_reference
from benchsmith.stages import StageConfig, StageContext, Verifier, verifiers
from benchsmith.text import ItemField, item_text

Method = Literal["ngram", "embedding", "llm"]

# MiniLM reads at most 256 word pieces (~1,500 characters); longer text only costs tokenising.
_EMBED_CHARS = 4000


class ContaminationConfig(StageConfig):
    """Which reference corpora to check against, and the thresholds of each method."""

    references: list[ReferenceSource] = Field(
        min_length=1, description="Reference corpora: {path | builtin, fields, id_field, name}, or a bare "
                                  "string (a built-in name such as 'humaneval', or a path).")
    fields: list[ItemField] = Field(default_factory=lambda: ["prompt"], min_length=1,
                                    description="Item fields whose text is checked (joined by newlines).")
    ngram_n: int = Field(default=13, ge=1, le=64, description="Tokens per n-gram.")
    # Defaults measured by bench/calibrate.py (docs/calibration.md).
    ngram_threshold: float = Field(
        default=0.2, gt=0.0, le=1.0,
        description="Fraction of an item's distinct n-grams found in a reference corpus that makes it contaminated "
                    "(0.03 before: sibling tasks of one benchmark share whole docstring sentences).")
    embedding: bool = Field(default=True, description="Also check embedding nearest neighbours.")
    embedding_threshold: float | None = Field(
        default=None, gt=0.0, le=1.0,
        description="If set: the plain cosine rule of earlier versions (an item at or above this cosine to a "
                    "reference is contaminated), instead of the self-calibrated evidence score.")
    rarity_weight: float = Field(
        default=0.5, ge=0.0, le=2.0,
        description="Weight of the rare-token overlap in the evidence score (cosine + weight * overlap).")
    number_weight: float = Field(
        default=0.2, ge=0.0, le=2.0,
        description="Weight of number agreement in the evidence score (+1 same numbers, down to -1 other "
                    "numbers, 0 when either text has none): the same template with other numbers is another "
                    "test case.")
    example_weight: float = Field(
        default=0.3, ge=0.0, le=2.0,
        description="Weight of code-example agreement in the evidence score: the rarity-weighted share of doctest "
                    "calls with their expected outputs (function names masked) that two code prompts share, when "
                    "neither has an example the other lacks; 0 for texts without code examples.")
    ngram_number_veto: bool = Field(
        default=True,
        description="An n-gram hit does not count when every reference entry its matched n-grams point at has "
                    "other numbers outside its code examples: the same template with a number changed is another "
                    "test case. The embedding evidence still decides such items.")
    score_threshold: float | None = Field(
        default=None, gt=0.0, le=3.0,
        description="A fixed evidence-score threshold for every corpus (default: self-calibrated per corpus).")
    default_score_threshold: float = Field(
        default=1.1, gt=0.0, le=3.0,
        description="Evidence-score threshold of a corpus too small for a null distribution (under 20 "
                    "leave-one-out scores).")
    # p99.9 and 0.05 (were p99.5 and 0.025): the targets are measured on a few hundred distinct items, and at
    # p99.5 the expected false-positive rate *is* 0.5%, so half of all samples would miss it.
    null_quantile: float = Field(default=0.999, ge=0.5, le=1.0,
                                 description="Quantile of the leave-one-out null that the threshold sits above.")
    null_margin: float = Field(default=0.05, ge=0.0, le=1.0,
                               description="How far above that quantile the self-calibrated threshold sits.")
    score_floor: float = Field(default=0.9, ge=0.0, le=3.0,
                               description="The self-calibrated threshold is never below this.")
    score_ceiling: float = Field(
        default=1.45, ge=0.0, le=3.0,
        description="Nor above this: a corpus full of near-copies of itself would otherwise set a bar no "
                    "rewording can reach.")
    null_sample: int = Field(default=2000, ge=10, le=1_000_000,
                             description="Reference entries searched against the rest of their corpus for the "
                                         "null (cost is linear in the corpus size).")
    copy_overlap: float = Field(
        default=0.5, gt=0.0, le=1.0,
        description="A leave-one-out neighbour sharing this share of its n-grams with the query is a near-copy "
                    "inside the corpus, not a distinct problem, and is left out of the null.")
    embedding_min_latin: float = Field(
        default=0.5, ge=0.0, le=1.0,
        description="Items whose letters are less than this share Latin script skip the embedding check (and "
                    "the judge): the English MiniLM model scores unrelated Chinese or Arabic sentences 0.6-0.8 "
                    "against each other. N-grams still check them.")
    top_k: int = Field(default=3, ge=1, le=50, description="Nearest reference entries retrieved per item.")
    llm_judge: bool = Field(default=False, description="Ask the judge model whether the nearest candidates "
                                                       "are rephrasings (LLM Decontaminator).")
    judge_band_low: float | None = Field(
        default=None, ge=0.0, le=3.0,
        description="With llm_judge: candidates scoring below the band's low edge are clean without asking. "
                    "Unset: the low edge is the corpus's null p90 (the judge sees only candidates more similar "
                    "than 9 in 10 of the corpus's distinct problems to their neighbour), never above the "
                    "threshold; threshold - 0.3 for a corpus without a null. Set: threshold - this.")
    judge_band_high: float = Field(
        default=0.15, ge=0.0, le=3.0,
        description="With llm_judge: candidates scoring at or above threshold + this are contaminated without "
                    "asking (0.15 puts the edge at or above the null's maximum on HumanEval and StrategyQA: a "
                    "score no distinct pair reached); only candidates in between go to the judge.")
    judge_min_similarity: float = Field(
        default=0.5, ge=-1.0, le=1.0,
        description="An extra floor of the judge band: candidates with a lower cosine are clean without asking "
                    "(the rare-token overlap can lift a low-cosine pair into the band).")
    judge_max_chars: int = Field(default=4000, ge=200, description="Each text shown to the judge is cut to this.")
    index_dir: Path | None = Field(default=None, description="Where n-gram indexes are stored "
                                                             "(default: <workspace>/indexes).")
    matched_text_chars: int = Field(default=300, ge=0, description="Matched reference text kept in the verdict.")

    @field_validator("references", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, (str, dict)) else value


@dataclass
class _Candidate:
    corpus: int
    entry: int
    similarity: float
    rare: float = 0.0
    numbers: float = 0.0     # number agreement in [-1, 1]
    examples: float = 0.0    # code-example agreement in [0, 1]
    score: float = 0.0       # evidence: similarity + rarity_weight * rare + number_weight * numbers
    #                          + example_weight * examples
    #                          (the cosine itself under the plain cosine rule)
    threshold: float = 1.0   # the evidence threshold of this candidate's corpus
    band: tuple[float, float] = (1.0, 1.0)  # judge band [low, high) of this corpus, on `score`

    @property
    def margin(self) -> float:
        return self.score - self.threshold


# Judge band low edge of a corpus without a usable null (and under the plain cosine rule): so far below the threshold.
_NO_NULL_BAND_LOW = 0.3


@dataclass
class _Finding:
    method: Method
    score: float
    corpus: int
    entry: int
    extra: dict[str, Any]


JUDGE_SYSTEM = (
    "You check benchmark test cases for contamination. You see a REFERENCE test case from a public benchmark "
    "and a CANDIDATE test case. Decide whether the candidate is a rephrasing of the reference: the same task "
    "or question, possibly reworded, reordered, translated, with renamed variables or functions, different "
    "formatting, or with only example values changed, so that knowing the reference's answer gives the "
    "candidate's answer. A different question on the same topic, or the same template asking for a different "
    "result, is NOT a rephrasing. Reply with JSON only."
)


def judge_schema() -> dict[str, Any]:
    """The judge's answer: a one-sentence rationale, then the decision."""
    return {"type": "object",
            "properties": {"rationale": {"type": "string"}, "rephrasing": {"type": "boolean"}},
            "required": ["rationale", "rephrasing"], "additionalProperties": False}


def judge_messages(item_text_: str, reference_text: str, reference_label: str, max_chars: int) -> list[dict[str, str]]:
    """The chat messages that ask whether `item_text_` rephrases the reference entry."""
    user = (f"REFERENCE ({reference_label}):\n<<<\n{reference_text[:max_chars].strip()}\n>>>\n\n"
            f"CANDIDATE:\n<<<\n{item_text_[:max_chars].strip()}\n>>>\n\n"
            "Is the candidate a rephrasing of the reference?")
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]


@verifiers.register("contamination")
class Contamination(Verifier):
    """Drops items that overlap a reference benchmark (n-grams), sit next to one (embeddings) or rephrase one (LLM)."""

    Config: ClassVar[type[StageConfig]] = ContaminationConfig
    scope: ClassVar[Literal["item", "set"]] = "set"
    order: ClassVar[int] = 40
    uses_llm: ClassVar[bool] = False  # see the module docstring: at most top_k calls, only for near items
    config: ContaminationConfig
    _calibration: list[dict[str, Any]] = []  # per corpus, filled by verify (never mutated here: verify rebinds it)
    _judge_counts: dict[str, int] = {}  # filled by verify in judge mode (rebound there, like _calibration)
    _ngram_vetoed: int = 0  # n-gram hits set aside for changed numbers in the last verify

    def load_corpora(self, ctx: StageContext) -> list[ReferenceCorpus]:
        """The configured corpora; relative paths resolve against the spec's folder (ctx.spec_dir) if set."""
        return [load_reference(src, ctx.spec_dir) for src in self.config.references]

    def cache_token(self, ctx: StageContext) -> str:
        """The reference corpora's content hashes: a changed reference file re-runs the check."""
        return ",".join(self.reference_fingerprints(ctx))

    def reference_fingerprints(self, ctx: StageContext) -> list[str]:
        """Content hashes of the reference corpora: a result cache keyed by the spec alone would
        miss a reference file that changed, so callers that cache this stage's verdicts add these."""
        return [c.fingerprint for c in self.load_corpora(ctx)]

    async def verify(self, items: Sequence[Item], ctx: StageContext) -> list[Verdict]:
        corpora = self.load_corpora(ctx)  # first: a bad reference fails fast, even with no items
        self._calibration: list[dict[str, Any]] = []
        self._judge_counts: dict[str, int] = {}
        self._ngram_vetoed = 0
        if not items:
            return []
        cfg = self.config
        texts = [item_text(it, cfg.fields) for it in items]
        live = [c for c in corpora if len(c)]
        n_entries = sum(len(c) for c in corpora)
        indexes = self._ngram_indexes(live, ctx)
        grams = TokenHasher().ngrams(texts, cfg.ngram_n) if indexes else None
        overlaps = [index.lookup(grams) for index in indexes] if grams is not None else []
        candidates: list[list[_Candidate]] = [[] for _ in texts]
        no_embedding: set[int] = set()  # items the embedding check cannot judge (script)
        if cfg.embedding and live:
            candidates, no_embedding = self._embedding_candidates(texts, live, ctx)
        findings: list[_Finding | None] = [None] * len(items)
        ngram_best: list[tuple[float, int, int]] = []
        for i in range(len(items)):
            best = (0.0, -1, -1)
            for ci, ov in enumerate(overlaps):
                frac = float(ov.fraction[i])
                if frac > best[0]:
                    best = (frac, ci, int(ov.best_ref[i]))
            ngram_best.append(best)
        # Every (item, corpus) at or above the n-gram threshold; the item's finding is its best hit that
        # stands (not set aside for changed numbers, `_numbers_changed`).
        hits = [(i, ci) for ci, ov in enumerate(overlaps) for i in np.flatnonzero(ov.fraction >= cfg.ngram_threshold)
                .tolist()]
        changed = _numbers_changed(texts, hits, indexes, live, cfg.ngram_n) if cfg.ngram_number_veto else set()
        standing: dict[int, tuple[float, int, int]] = {}
        for i, ci in hits:
            if (i, ci) not in changed:
                share = float(overlaps[ci].fraction[i])
                if share > standing.get(i, (-1.0, 0, 0))[0]:
                    standing[i] = (share, ci, int(overlaps[ci].best_ref[i]))
        for i, (share, ci, ref) in standing.items():
            findings[i] = _Finding("ngram", share, ci, ref, {})
        set_aside = {i for i, _ in hits} - set(standing)
        self._ngram_vetoed = len(set_aside)
        judged_clean: dict[int, list[dict[str, Any]]] = {}
        if cfg.llm_judge:
            judged_clean = await self._judge(texts, live, candidates, findings, ctx)
        else:
            for i, cands in enumerate(candidates):
                hit = self._flagging(cands)
                if findings[i] is None and hit is not None:
                    findings[i] = _Finding("embedding", hit.similarity, hit.corpus, hit.entry, self._evidence(hit))
        verdicts = []
        for i in range(len(items)):
            top = max(candidates[i], key=lambda c: c.margin) if candidates[i] else None
            scores: dict[str, Any] = {
                "ngram_score": round(ngram_best[i][0], 6),
                "embedding_score": round(max(c.similarity for c in candidates[i]), 6) if top else None,
                "references_checked": n_entries}
            if top is not None and cfg.embedding_threshold is None:
                scores.update(_evidence(top))
            if i in no_embedding:
                scores["embedding_skipped"] = "non_latin_script"
            if i in set_aside:
                scores["ngram_set_aside"] = "numbers_changed"
            f = findings[i]
            if f is None:
                if i in judged_clean:
                    scores["judge_asked"] = judged_clean[i]
                verdicts.append(self.verdict(True, **scores))
                continue
            entry = live[f.corpus].entry(f.entry)
            details: dict[str, Any] = {
                "method": f.method, "score": round(f.score, 6), "matched_reference": entry.corpus,
                "matched_id": entry.id, "matched_field": entry.field,
                "matched_text": _truncate(entry.text, cfg.matched_text_chars), **scores, **f.extra}
            verdicts.append(Verdict(stage=self.name, passed=False, score=round(f.score, 6), reason="contaminated",
                                    details=details))
        ctx.progress(self.name, len(items))
        return verdicts

    # -- n-grams --

    def _ngram_indexes(self, corpora: Sequence[ReferenceCorpus], ctx: StageContext) -> list[NgramIndex]:
        """Each corpus's n-gram index (built once per corpus content and n, then memory-mapped)."""
        root = self.config.index_dir or (Path(ctx.workspace) / "indexes")
        return [load_or_build(corpus.texts, corpus.fingerprint, self.config.ngram_n, root)[0] for corpus in corpora]

    # -- embeddings and rare-token evidence --

    def _flagging(self, cands: Sequence[_Candidate]) -> _Candidate | None:
        """The candidate that makes the item contaminated (most clearly), or None."""
        if self.config.embedding_threshold is not None:  # the plain cosine rule
            best = max(cands, key=lambda c: c.similarity, default=None)
            return best if best is not None and best.similarity >= self.config.embedding_threshold else None
        best = max(cands, key=lambda c: c.margin, default=None)
        return best if best is not None and best.margin >= 0 else None

    def _evidence(self, c: _Candidate) -> dict[str, Any]:
        """The evidence figures for a verdict (none under the plain cosine rule, which has no evidence score)."""
        return _evidence(c) if self.config.embedding_threshold is None else {}

    def null_settings(self, seed: int) -> NullSettings:
        """How this stage's config measures and uses the null distribution."""
        cfg = self.config
        return NullSettings(k=cfg.top_k, rarity_weight=cfg.rarity_weight, ngram_n=cfg.ngram_n,
                            copy_overlap=cfg.copy_overlap, sample=cfg.null_sample, quantile=cfg.null_quantile,
                            margin=cfg.null_margin, floor=cfg.score_floor, ceiling=cfg.score_ceiling,
                            default=cfg.default_score_threshold, seed=seed, number_weight=cfg.number_weight,
                            example_weight=cfg.example_weight)

    def _embedding_candidates(self, texts: Sequence[str], corpora: Sequence[ReferenceCorpus],
                              ctx: StageContext) -> tuple[list[list[_Candidate]], set[int]]:
        """Top-k reference neighbours per item (best first), and the items left unchecked for their script."""
        cfg = self.config
        per_item: list[list[_Candidate]] = [[] for _ in texts]
        checked = [i for i, t in enumerate(texts) if latin_share(t[:_EMBED_CHARS]) >= cfg.embedding_min_latin]
        skipped = set(range(len(texts))) - set(checked)
        if not checked:  # e.g. all Chinese: skip loading the model at all
            return per_item, skipped
        embedder = ctx.embedder
        item_vecs = embedder.encode([texts[i][:_EMBED_CHARS] for i in checked])
        k = cfg.top_k
        settings = self.null_settings(ctx.random_seed)
        item_sets = TokenSets.of([texts[i] for i in checked])
        item_numbers = number_sets([texts[i] for i in checked]) if cfg.number_weight else None
        item_examples = example_sets([texts[i] for i in checked]) if cfg.example_weight else None
        for ci, corpus in enumerate(corpora):
            model = corpus_evidence(corpus, embedder, ctx.random_seed)
            sims, ids = model.index.search(item_vecs, min(k, len(corpus)))
            if cfg.embedding_threshold is not None:  # the plain cosine rule: no null, no token statistics
                self._calibration.append({"corpus": corpus.name, "references": len(corpus), "source": "cosine",
                                          "threshold": cfg.embedding_threshold, "note": "plain cosine rule",
                                          "queries": 0, "copies_skipped": 0, "null_scores": 0, "null": {}})
                t = cfg.embedding_threshold
                band = (t - (_NO_NULL_BAND_LOW if cfg.judge_band_low is None else cfg.judge_band_low),
                        t + cfg.judge_band_high)
                if cfg.llm_judge:
                    self._calibration[-1]["judge_band"] = [round(band[0], 4), round(band[1], 4)]
                for row, i in enumerate(checked):
                    per_item[i].extend(_Candidate(ci, int(j), float(sv), score=float(sv), threshold=t, band=band)
                                       for sv, j in zip(sims[row], ids[row]) if j >= 0)
                continue
            threshold, null = model.threshold(settings, cfg.score_threshold)
            self._calibration.append(_calibration_row(corpus, threshold, null))
            band = self.judge_band(threshold, null)
            if cfg.llm_judge:
                self._calibration[-1]["judge_band"] = [round(band[0], 4), round(band[1], 4)]
            reach = min(threshold.value, band[0]) if cfg.llm_judge else threshold.value
            rows = np.repeat(np.arange(len(checked), dtype=np.int64), sims.shape[1])
            refs = ids.reshape(-1).astype(np.int64)
            cos = sims.reshape(-1).astype(np.float64)
            rare = np.zeros(len(cos))
            nums = np.zeros(len(cos))
            exs = np.zeros(len(cos))
            # No code examples on either side: the example term is 0 for every pair (and costs nothing).
            ew = (cfg.example_weight if item_examples is not None and len(item_examples.tokens)
                  and model.has_examples else 0.0)
            # Rare-token overlap, number agreement and example overlap are at most 1, so pairs below
            # threshold (or the judge band's low edge) - the weights cannot reach it: skip them. Numbers
            # first (a few per text, cheap), then examples, then the rare overlap only for the pairs they
            # leave within reach.
            need = (refs >= 0) & (cos >= reach - cfg.rarity_weight - cfg.number_weight - ew)
            if item_numbers is not None and need.any():
                nums[need] = model.number_agreement(item_numbers, rows[need], refs[need])
            need &= cos + cfg.number_weight * nums >= reach - cfg.rarity_weight - ew
            if ew and item_examples is not None and need.any():
                exs[need] = model.example_agreement(item_examples, rows[need], refs[need])
            need &= cos + cfg.number_weight * nums + ew * exs >= reach - cfg.rarity_weight
            if need.any():
                weights = model.weights
                rare[need] = model.rare_overlap(item_sets, weights.totals(item_sets), rows[need], refs[need])
            score = model.scores(cos, rare, cfg.rarity_weight, nums, cfg.number_weight, exs, ew)
            for row, ref, c, r, nu, ex, sc in zip(rows.tolist(), refs.tolist(), cos.tolist(), rare.tolist(),
                                                  nums.tolist(), exs.tolist(), score.tolist()):
                if ref >= 0:
                    per_item[checked[row]].append(_Candidate(ci, ref, c, r, nu, ex, sc, threshold.value, band))
        for cands in per_item:
            cands.sort(key=lambda c: (-c.similarity, c.corpus, c.entry))
            del cands[k:]
        return per_item, skipped

    def judge_band(self, threshold: Threshold, null: NullDistribution) -> tuple[float, float]:
        """The judge band [low, high) of a corpus on the evidence score (module docstring)."""
        cfg = self.config
        t = threshold.value
        if cfg.judge_band_low is not None:
            low = t - cfg.judge_band_low
        elif null.usable:
            low = min(null.quantile(0.9), t)
        else:
            low = t - _NO_NULL_BAND_LOW
        return low, t + cfg.judge_band_high

    def report(self) -> StageReport | None:
        """Per corpus: the null distribution of leave-one-out evidence scores and the threshold in use."""
        if not self._calibration:
            return None
        cfg = self.config
        facts: dict[str, str | int | float] = {}
        warnings: list[str] = []
        for row in self._calibration:
            name = row["corpus"]
            facts[f"{name}: references"] = row["references"]
            if cfg.embedding_threshold is not None:
                facts[f"{name}: rule"] = f"cosine >= {cfg.embedding_threshold} (plain cosine rule)"
            else:
                facts[f"{name}: evidence threshold"] = row["threshold"]
                facts[f"{name}: threshold source"] = f"{row['source']} ({row['note']})"
            null = row["null"]
            for key in ("score_p50", "score_p90", "score_p99", "score_max", "cosine_p50", "cosine_p99"):
                if key in null:
                    facts[f"{name}: null {key.replace('_', ' ')}"] = null[key]
            if "judge_band" in row:
                facts[f"{name}: judge band"] = f"[{row['judge_band'][0]}, {row['judge_band'][1]})"
            if row["source"] == "default":
                warnings.append(f"Contamination against {name}: {row['note']}; using the documented default "
                                f"evidence threshold {row['threshold']} instead of a self-calibrated one.")
            if row["copies_skipped"] and row["queries"] and row["copies_skipped"] >= 0.2 * row["queries"]:
                warnings.append(f"Reference corpus {name} holds many near-copies of its own entries "
                                f"({row['copies_skipped']} among {row['queries']} sampled entries' neighbours); "
                                f"they were left out of its null distribution.")
        facts["ngram threshold"] = cfg.ngram_threshold
        facts["rarity weight"] = cfg.rarity_weight
        facts["number weight"] = cfg.number_weight
        facts["example weight"] = cfg.example_weight
        facts["n-gram hits set aside for changed numbers"] = self._ngram_vetoed
        if cfg.llm_judge:
            jc = self._judge_counts
            facts["judge: candidates sent to the judge"] = jc.get("sent", 0)
            facts["judge: candidates decided by the score, contaminated (above the band)"] = jc.get("above", 0)
            facts["judge: candidates decided by the score, clean (below the band)"] = jc.get("below", 0)
            facts["judge: fallbacks to the threshold rule"] = jc.get("fallback", 0)
        return StageReport(stage=self.name, title=f"Contamination thresholds ({self.name})", facts=facts,
                           warnings=warnings, data={"corpora": self._calibration,
                                                    "ngram_n": cfg.ngram_n, "ngram_threshold": cfg.ngram_threshold,
                                                    "rarity_weight": cfg.rarity_weight,
                                                    "number_weight": cfg.number_weight,
                                                    "example_weight": cfg.example_weight,
                                                    "ngram_number_veto": cfg.ngram_number_veto,
                                                    "ngram_vetoed": self._ngram_vetoed,
                                                    "embedding_threshold": cfg.embedding_threshold,
                                                    "null_quantile": cfg.null_quantile,
                                                    "null_margin": cfg.null_margin,
                                                    "judge": dict(self._judge_counts) if cfg.llm_judge else None})

    # -- LLM judge --

    async def _judge(self, texts: Sequence[str], corpora: Sequence[ReferenceCorpus],
                     candidates: list[list[_Candidate]], findings: list[_Finding | None],
                     ctx: StageContext) -> dict[int, list[dict[str, Any]]]:
        """Fill `findings` from the score outside the judge band and from the judge's answers inside it.

        Returns what was asked about items that stay clean; counts go to `self._judge_counts`.
        """
        cfg = self.config
        counts = self._judge_counts
        for key in ("sent", "above", "below", "fallback"):
            counts[key] = 0
        band: dict[int, list[_Candidate]] = {}
        for i, f in enumerate(findings):
            if f is not None or not candidates[i]:
                continue
            above = [c for c in candidates[i] if c.score >= c.band[1]]
            inside = [c for c in candidates[i] if c.band[0] <= c.score < c.band[1]
                      and c.similarity >= cfg.judge_min_similarity]
            counts["above"] += len(above)
            counts["below"] += len(candidates[i]) - len(above) - len(inside)
            if above:  # clearly contaminated: no call
                hit = max(above, key=lambda c: c.margin)
                findings[i] = _Finding("embedding", hit.similarity, hit.corpus, hit.entry,
                                       {"judge_skipped": "above_band", **self._evidence(hit)})
            elif inside:  # most similar first, as `candidates` are sorted
                band[i] = inside
        judged_clean: dict[int, list[dict[str, Any]]] = {}
        if not band:
            return judged_clean
        client = ctx.client("judge")
        schema = judge_schema()
        out_of_budget = threading.Event()  # once spent, no item asks again (each would fail the same way)

        async def one(i: int) -> None:
            asked: list[dict[str, Any]] = []
            fallback: _Finding | None = None
            for cand in band[i]:
                entry = corpora[cand.corpus].entry(cand.entry)
                problem: str | None = None
                if out_of_budget.is_set():
                    problem = "budget_exhausted"
                else:
                    counts["sent"] += 1
                    label = f"{entry.corpus} {entry.id}, field {entry.field}"
                    try:
                        answer = await client.complete_json(
                            judge_messages(texts[i], entry.text, label, cfg.judge_max_chars), schema,
                            schema_name="rephrase_check")
                    except BudgetExhausted:
                        out_of_budget.set()
                        problem = "budget_exhausted"
                    except (LLMOutputError, LLMRequestError) as err:
                        problem = f"judge_error:{err.reason}"
                if problem is not None:
                    counts["fallback"] += 1
                    asked.append({"matched_id": entry.id, "similarity": round(cand.similarity, 6), "error": problem})
                    if fallback is None and self._flagging([cand]) is cand:
                        fallback = _Finding("embedding", cand.similarity, cand.corpus, cand.entry,
                                            {"judge_error": problem, **self._evidence(cand)})
                    continue
                rationale = str(answer.get("rationale", ""))[:300]
                asked.append({"matched_id": entry.id, "similarity": round(cand.similarity, 6),
                              "rephrasing": bool(answer["rephrasing"])})
                if answer["rephrasing"]:
                    findings[i] = _Finding("llm", cand.similarity, cand.corpus, cand.entry,
                                           {"judge_rationale": rationale, "judge_model": getattr(client, "model", None),
                                            "judge_asked": asked})
                    return
            if fallback is not None:
                fallback.extra["judge_asked"] = asked
                findings[i] = fallback
            elif asked:
                judged_clean[i] = asked

        await gather_or_cancel([one(i) for i in band])
        return judged_clean


def _numbers_changed(texts: Sequence[str], hits: list[tuple[int, int]], indexes: Sequence[NgramIndex],
                     corpora: Sequence[ReferenceCorpus], n: int) -> set[tuple[int, int]]:
    """The n-gram hits (item, corpus) whose every matched reference entry has other numbers outside its
    code examples.

    The entries are those the item's matched n-grams point at in that corpus's index
    (`NgramIndex.matched_refs`): when the item copies an entry, the n-grams holding its numbers point
    at an entry with those numbers (that one or an earlier copy), so a copy is never set aside, while
    the same template with a number changed matches only entries with other numbers. "Other numbers"
    is number agreement < 0 (`benchsmith.index.rarity.number_agreement`): each side has a value the
    other lacks; numbers dropped or added are not a change. Cost: the hits' n-grams looked up once
    more and one small set comparison per matched entry; nothing for items without a hit.
    """
    if not hits:
        return set()
    hasher = TokenHasher()
    by_corpus: dict[int, list[int]] = {}
    for h, (_, ci) in enumerate(hits):
        by_corpus.setdefault(ci, []).append(h)
    item_numbers = number_sets(prose_texts([texts[i] for i, _ in hits]))
    kept = np.full(len(hits), -np.inf)
    for ci, members in by_corpus.items():
        q, refs = indexes[ci].matched_refs(hasher.ngrams([texts[hits[h][0]] for h in members], n))
        rows = np.asarray(members, dtype=np.int64)[q]
        agree = number_agreement(item_numbers, rows, corpus_prose_numbers(corpora[ci]), refs)
        np.maximum.at(kept, rows, agree)
    return {hits[h] for h in np.flatnonzero(kept < 0).tolist()}


_PROSE_NUMBERS: dict[str, TokenSets] = {}


def corpus_prose_numbers(corpus: ReferenceCorpus) -> TokenSets:
    """The numbers of each entry outside its code examples, kept per process (by content)."""
    key = corpus.fingerprint
    with _VECTOR_LOCK:
        hit = _PROSE_NUMBERS.get(key)
    if hit is None:
        hit = number_sets(prose_texts(corpus.texts))
        with _VECTOR_LOCK:
            if len(_PROSE_NUMBERS) >= 8:
                _PROSE_NUMBERS.pop(next(iter(_PROSE_NUMBERS)))
            _PROSE_NUMBERS[key] = hit
    return hit


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def _evidence(c: _Candidate) -> dict[str, Any]:
    """What a verdict says about the evidence of its candidate."""
    return {"rare_overlap": round(c.rare, 6), "number_agreement": round(c.numbers, 6),
            "example_agreement": round(c.examples, 6), "evidence_score": round(c.score, 6),
            "evidence_threshold": round(c.threshold, 6)}


def _calibration_row(corpus: ReferenceCorpus, threshold: Threshold, null: NullDistribution) -> dict[str, Any]:
    return {"corpus": corpus.name, "references": len(corpus), "threshold": threshold.value,
            "source": threshold.source, "note": threshold.note, "queries": null.queries,
            "copies_skipped": null.copies_skipped, "null_scores": len(null.scores), "null": null.summary()}


_VECTOR_CACHE: dict[tuple[str, int, int], tuple[Any, CorpusEvidence]] = {}
_VECTOR_LOCK = threading.Lock()


def corpus_evidence(corpus: ReferenceCorpus, embedder: Any, seed: int) -> CorpusEvidence:
    """A corpus's embeddings, faiss index, rarity weights and nulls, kept per process (by content and embedder)."""
    key = (corpus.fingerprint, id(embedder), seed)
    with _VECTOR_LOCK:
        hit = _VECTOR_CACHE.get(key)
        if hit is not None and hit[0] is embedder:
            return hit[1]
    vecs = embedder.encode([t[:_EMBED_CHARS] for t in corpus.texts])
    model = CorpusEvidence(list(corpus.texts), np.asarray(vecs, dtype=np.float32), seed=seed)
    with _VECTOR_LOCK:
        if len(_VECTOR_CACHE) >= 8:
            _VECTOR_CACHE.pop(next(iter(_VECTOR_CACHE)))
        _VECTOR_CACHE[key] = (embedder, model)
    return model
