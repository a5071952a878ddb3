"""Cross-version novelty: earlier versions are indexed once, extended incrementally, and repeats dropped."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchsmith.embeddings import Embedder
from benchsmith.errors import SpecError
from benchsmith.funnel import Funnel
from benchsmith.publish import publish_version
from benchsmith.records import Item, Lineage, Verdict
from benchsmith.references import ReferenceCorpusError
from benchsmith.spec import PublishSpec, SeedSource, StageSpec, SuiteSpec
from benchsmith.stages import StageContext, verifiers
from benchsmith.verifiers import novelty
from benchsmith.verifiers.novelty import Novelty

LIN = Lineage(generator="test")
V1 = ["What is the capital city of France?",
      "How does photosynthesis store energy in glucose molecules?",
      "Write a Python function that reverses a linked list in place."]
V2 = ["What caused the fall of the Western Roman Empire?",
      "Explain how a binary search tree keeps its keys ordered.",
      "Why is the sky blue during the day but red at sunset?"]
PARAPHRASE_OF_V1 = "What's the capital of France?"
NOVEL = "How many moons does the planet Jupiter have according to recent counts?"


class CountingEmbedder:
    """The real embedder, recording every text the stage asks it to encode."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.texts = inner, []

    @property
    def dim(self) -> int:
        return self.inner.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.inner.encode(texts)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


def make(prompt: str, answer: str = "an answer") -> Item:
    return Item.create(prompt=prompt, reference_answer=answer, lineage=LIN).with_verdict(
        Verdict(stage="llm_judge", passed=True, score=4.0, ranks_quality=True))


def publish(out: Path, prompts: list[str]) -> str:
    spec = SuiteSpec(suite="demo", seeds=SeedSource(path=Path("seeds.jsonl")), target_items=len(prompts),
                     generators=[StageSpec(name="evolve")], publish=PublishSpec(versioning="sequential"))
    result = publish_version(spec=spec, items=[make(p) for p in prompts], rejected=[], funnel=Funnel(), models={},
                             usage={}, stop_reason="target_reached", output_dir=out, new_version=True)
    return result.version


def context(tmp_path: Path, embedder: Embedder, **fields: Any) -> tuple[StageContext, CountingEmbedder]:
    counting = CountingEmbedder(embedder)
    fields = {"suite": "demo", "output_dir": tmp_path / "outputs", **fields}
    return StageContext(embedder_factory=lambda: counting, workspace=tmp_path / ".bs", **fields), counting


def run(stage: Novelty, items: list[Item], ctx: StageContext) -> list[Verdict]:
    return asyncio.run(stage.verify(items, ctx))


def index_dir(tmp_path: Path) -> Path:
    return tmp_path / ".bs" / "indexes" / "demo" / "novelty" / "prompt"


def test_registered_as_set_stage() -> None:
    assert verifiers.get("novelty") is Novelty and Novelty.scope == "set"


def test_copies_and_paraphrases_of_an_earlier_version_are_dropped(tmp_path, embedder) -> None:
    v1 = publish(tmp_path / "outputs", V1)
    ctx, counting = context(tmp_path, embedder)
    new = [make(PARAPHRASE_OF_V1), make(V1[2], answer="another answer"), make(NOVEL)]
    stage = Novelty()
    verdicts = run(stage, new, ctx)
    assert [v.passed for v in verdicts] == [False, False, True]
    v1_ids = {p: make(p).id for p in V1}
    para, copy = verdicts[0], verdicts[1]
    assert para.reason == copy.reason == "seen_in_earlier_version"
    assert para.details["version"] == copy.details["version"] == v1 == "v1"
    assert para.details["matched_id"] == v1_ids[V1[0]] and copy.details["matched_id"] == v1_ids[V1[2]]
    vecs = embedder.encode([PARAPHRASE_OF_V1, V1[0]])
    assert para.details["similarity"] == pytest.approx(float(vecs[0] @ vecs[1]), abs=1e-4)
    assert 0.9 <= para.details["similarity"] < 0.999 and copy.details["similarity"] == pytest.approx(1.0, abs=1e-5)
    assert verdicts[2].score < 0.9 and verdicts[2].reason is None
    # The first run embedded version v1 once, plus the new items.
    assert stage.last_sync.added == ["version:v1"] and stage.last_sync.embedded_texts == 3
    assert sorted(counting.texts) == sorted(V1 + [it.prompt for it in new])


def test_index_is_reused_then_extended_by_a_new_version_only(tmp_path, embedder) -> None:
    publish(tmp_path / "outputs", V1)
    queries = [make(NOVEL), make(V2[1], answer="x")]
    ctx, _ = context(tmp_path, embedder)
    run(Novelty(), queries, ctx)
    vectors_file = index_dir(tmp_path) / "vectors.f32"
    size, mtime = vectors_file.stat().st_size, vectors_file.stat().st_mtime_ns

    ctx, counting = context(tmp_path, embedder)  # a later run: a fresh stage and context
    stage = Novelty()
    assert [v.passed for v in run(stage, queries, ctx)] == [True, True]
    assert stage.last_sync.reused == ["version:v1"] and stage.last_sync.added == []
    assert counting.texts == [it.prompt for it in queries]  # nothing of v1 embedded again
    assert (vectors_file.stat().st_size, vectors_file.stat().st_mtime_ns) == (size, mtime)

    v2 = publish(tmp_path / "outputs", V2)
    ctx, counting = context(tmp_path, embedder)
    stage = Novelty()
    verdicts = run(stage, queries, ctx)
    assert [v.passed for v in verdicts] == [True, False]
    assert verdicts[1].details["version"] == v2 == "v2"
    assert stage.last_sync.added == ["version:v2"] and stage.last_sync.reused == ["version:v1"]
    assert counting.texts == V2 + [it.prompt for it in queries]  # only the new version, then the queries
    assert vectors_file.stat().st_size == size * 2  # appended, not rewritten
    meta = json.loads((index_dir(tmp_path) / "meta.json").read_text())
    assert meta["rows"] == 6 and set(meta["sources"]) == {"version:v1", "version:v2"}
    assert meta["sources"]["version:v2"]["count"] == 3


def test_model_change_restarts_and_vanished_version_is_dropped_without_embedding(tmp_path, embedder) -> None:
    publish(tmp_path / "outputs", V1)
    v2 = publish(tmp_path / "outputs", V2)
    ctx, _ = context(tmp_path, embedder)
    run(Novelty(), [make(NOVEL)], ctx)
    meta_path = index_dir(tmp_path) / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["model"] = "some-older-model"
    meta_path.write_text(json.dumps(meta))

    ctx, counting = context(tmp_path, embedder)
    stage = Novelty()
    run(stage, [make(NOVEL)], ctx)
    assert "some-older-model" in stage.last_sync.reset_reason
    assert stage.last_sync.added == ["version:v1", "version:v2"] and len(counting.texts) == 7

    shutil.rmtree(tmp_path / "outputs" / "demo" / v2)
    ctx, counting = context(tmp_path, embedder)
    stage = Novelty()
    verdicts = run(stage, [make(V2[0], answer="x")], ctx)
    assert verdicts[0].passed  # its only match was in the removed version
    assert stage.last_sync.removed == ["version:v2"] and stage.last_sync.added == []
    assert counting.texts == [V2[0]]
    assert json.loads(meta_path.read_text())["rows"] == 3


def test_extra_corpora_jsonl_and_parquet(tmp_path, embedder) -> None:
    jsonl = tmp_path / "public.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in [
        {"task_id": "T/0", "question": V2[0]}, {"task_id": "T/1", "question": 42},
        {"task_id": "T/2", "question": V2[1]}]))
    pq.write_table(pa.table({"text": [V1[1]]}), tmp_path / "other.parquet")
    stage = Novelty({"versions": False, "corpora": [
        {"path": str(jsonl), "fields": ["question"], "id_field": "task_id", "name": "public"},
        {"path": str(tmp_path / "other.parquet"), "fields": ["text"]}]})
    ctx, counting = context(tmp_path, embedder, suite=None)
    verdicts = run(stage, [make(V2[1], answer="x"), make(V1[1], answer="y"), make(NOVEL)], ctx)
    assert [v.passed for v in verdicts] == [False, False, True]
    assert verdicts[0].reason == "seen_in_corpus"
    assert verdicts[0].details["corpus"] == "public" and verdicts[0].details["matched_id"] == "T/2"
    assert verdicts[1].details["corpus"] == "other" and verdicts[1].details["matched_id"] == "0"
    # The one corpus reader stringifies a non-string value (42), as contamination does (`non_string: error` refuses it).
    assert len(counting.texts) == 3 + 3 + 1

    missing_field = Novelty({"versions": False, "corpora": [{"path": str(jsonl), "fields": ["prompt"]}]})
    with pytest.raises(ReferenceCorpusError, match=r"public\.jsonl: field 'prompt' not found.*question"):
        run(missing_field, [make(NOVEL)], ctx)
    missing_file = Novelty({"versions": False, "corpora": [{"path": str(tmp_path / "nope.jsonl")}]})
    with pytest.raises(ReferenceCorpusError, match="nope.jsonl: file not found"):
        run(missing_file, [make(NOVEL)], ctx)


def test_ivf_index_is_persisted_and_extended_without_retraining(tmp_path, embedder) -> None:
    publish(tmp_path / "outputs", V1 + V2)
    cfg = {"exact_max": 4}  # 6 rows: IVF
    ctx, _ = context(tmp_path, embedder)
    run(Novelty(cfg), [make(NOVEL)], ctx)
    meta_path = index_dir(tmp_path) / "meta.json"
    assert json.loads(meta_path.read_text())["ivf"]["trained_on"] == 6
    assert (index_dir(tmp_path) / "index.faiss").is_file()

    publish(tmp_path / "outputs", [NOVEL, "Name three prime numbers larger than one hundred."])
    ctx, _ = context(tmp_path, embedder)
    stage = Novelty(cfg)
    verdicts = run(stage, [make(NOVEL, answer="x"), make(V1[0], answer="y")], ctx)
    assert [v.passed for v in verdicts] == [False, False]
    assert verdicts[0].details["version"] == "v2" and verdicts[1].details["version"] == "v1"
    meta = json.loads(meta_path.read_text())
    assert meta["rows"] == 8 and meta["ivf"]["trained_on"] == 6  # new rows added to the trained index

    # A run with nothing new reads the saved IVF index and leaves its file alone.
    faiss_file = index_dir(tmp_path) / "index.faiss"
    stamp = faiss_file.stat().st_mtime_ns
    novelty._LOADED.clear()
    ctx, counting = context(tmp_path, embedder)
    assert not run(Novelty(cfg), [make(V2[2], answer="q")], ctx)[0].passed
    assert counting.texts == [V2[2]] and faiss_file.stat().st_mtime_ns == stamp


def test_first_version_has_nothing_to_check_and_suite_is_required(tmp_path, embedder) -> None:
    ctx, counting = context(tmp_path, embedder)
    verdicts = run(Novelty(), [make(NOVEL), make(V1[0])], ctx)
    assert all(v.passed for v in verdicts) and counting.texts == []
    ctx, _ = context(tmp_path, embedder, suite=None)
    with pytest.raises(SpecError, match="no suite"):
        run(Novelty(), [make(NOVEL)], ctx)
    # Config overrides the context.
    publish(tmp_path / "elsewhere", V1)
    stage = Novelty({"suite": "demo", "output_dir": str(tmp_path / "elsewhere")})
    assert not run(stage, [make(V1[0], answer="z")], ctx)[0].passed


def test_interrupted_append_is_cut_back_to_what_meta_counts(tmp_path, embedder) -> None:
    publish(tmp_path / "outputs", V1)
    ctx, _ = context(tmp_path, embedder)
    run(Novelty(), [make(NOVEL)], ctx)
    d = index_dir(tmp_path)
    with (d / "vectors.f32").open("ab") as f:
        f.write(b"\x00" * 1000)
    with (d / "rows.jsonl").open("a") as f:
        f.write('{"source": "version:v9", "id": "junk"}\n')
    novelty._LOADED.clear()  # as in a new process: the index is read from its files again
    ctx, _ = context(tmp_path, embedder)
    stage = Novelty()
    verdicts = run(stage, [make(V1[1], answer="x")], ctx)
    assert not verdicts[0].passed and stage.last_sync.reused == ["version:v1"]
    assert (d / "vectors.f32").stat().st_size == 3 * 384 * 4
    assert len((d / "rows.jsonl").read_text().splitlines()) == 3
