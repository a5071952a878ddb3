"""Publishing versioned dataset folders: layout, loading with `datasets`, idempotence, atomicity."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from benchsmith.errors import PublishError
from benchsmith.funnel import Funnel
from benchsmith.publish import (
    CITATION_TYPE,
    ITEM_SCHEMA,
    LINEAGE_TYPE,
    VERDICT_TYPE,
    clean_stale_temp,
    commit_folder,
    item_to_row,
    items_to_table,
    latest_version,
    publish_version,
    read_items,
    row_to_item,
    strip_lifecycle,
    verify_version,
)
from benchsmith.records import Citation, Item, Lineage, Verdict
from benchsmith.spec import PublishSpec, SeedSource, StageSpec, SuiteSpec
from benchsmith.versioning import list_versions

NOV = date(2026, 11, 5)
MODELS = {"generator": "qwen2.5-7b-instruct", "judge": "llama-3.1-8b-instruct"}
USAGE = {"generator": {"calls": 14, "prompt_tokens": 5200, "completion_tokens": 2100},
         "judge": {"calls": 20, "prompt_tokens": 8000, "completion_tokens": 600}}


def make_spec(target: int = 4, **publish: Any) -> SuiteSpec:
    return SuiteSpec(suite="demo", description="A small demo suite.", seeds=SeedSource(path=Path("seeds.jsonl")),
                     target_items=target, generators=[StageSpec(name="evolve", params={"operators": ["deepen"]})],
                     verifiers=[StageSpec(name="llm_judge")], publish=PublishSpec(**publish))


def make_item(n: int, *, passed: bool = True, **extra: Any) -> Item:
    mcq = n % 2 == 1
    item = Item.create(
        prompt=f"Item {n}: which process makes the sky look blue | at noon?",
        reference_answer="Rayleigh scattering" if mcq else f"Rayleigh scattering of sunlight ({n}).",
        kind="mcq" if mcq else "open_qa",
        choices=["Rayleigh scattering", "Mie scattering", "Refraction"] if mcq else None,
        lineage=Lineage(generator="evolve", operator="deepen" if mcq else "concretize", model=MODELS["generator"],
                        endpoint="http://127.0.0.1:8000/v1", params={"temperature": 0.7, "variant": n},
                        parent_id=f"seed-{n}", seed_id=f"seed-{n}"),
        seed_id=f"seed-{n}",
        citations=[Citation(quote="Blue light is scattered more", document="docs/optics.md", section="Sky",
                            chunk_id=f"c{n}", start=10, end=38)] if n % 3 == 0 else [],
        metadata={"domain": "physics", "difficulty": n % 3, **extra},
    )
    item = item.with_verdict(Verdict(stage="rules", passed=True, score=1.0, details={"words": 11}))
    judge = Verdict(stage="llm_judge", passed=passed, score=4.5 if passed else 1.0,
                    reason=None if passed else "low_score", details={"scores": [4, 5] if passed else [1, 1]})
    return item.with_verdict(judge)


def make_funnel() -> Funnel:
    f = Funnel()
    f.record("evolve", received=4, kept=7, drop_reasons=["invalid_json"])
    f.record("rules", received=7, kept=6, drop_reasons=["too_short"])
    f.record("llm_judge", received=6, kept=4, drop_reasons=["low_score", "low_score"])
    f.stop_reason = "target_reached"
    return f


def publish(out: Path, items: list[Item], rejected: list[Item] | None = None, *, spec: SuiteSpec | None = None,
            today: date = NOV, **kw: Any):
    return publish_version(spec=spec or make_spec(), items=items, rejected=rejected or [], funnel=make_funnel(),
                           models=MODELS, usage=USAGE, stop_reason="target_reached", output_dir=out,
                           today=today, **kw)


def snapshot(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every path under root with size, mtime and content hash: proves nothing changed."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        out[p.relative_to(root).as_posix()] = (st.st_size, st.st_mtime_ns, digest)
    return out


def load_front_matter(readme: Path) -> dict[str, Any]:
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    head, _, _ = text[4:].partition("\n---\n")
    return yaml.safe_load(head)


ITEMS = [make_item(n) for n in range(1, 5)]
REJECTED = [make_item(n, passed=False) for n in range(10, 13)]


# --- rows ------------------------------------------------------------------------------


def test_schema_covers_every_record_field() -> None:
    # A field added to a record must reach the parquet schema, not vanish silently.
    assert ITEM_SCHEMA.names == list(Item.model_fields)
    assert [f.name for f in LINEAGE_TYPE] == list(Lineage.model_fields)
    assert [f.name for f in CITATION_TYPE] == list(Citation.model_fields)
    assert [f.name for f in VERDICT_TYPE] == list(Verdict.model_fields)


def test_rows_round_trip_through_parquet_and_pandas(tmp_path: Path) -> None:
    items = [*ITEMS, *REJECTED]
    for it in items:
        assert row_to_item(item_to_row(it)) == it
    path = tmp_path / "x.parquet"
    pq.write_table(items_to_table(items), path)
    table = pq.read_table(path)
    assert table.schema.equals(ITEM_SCHEMA)
    assert read_items(path) == items
    # pandas hands lists back as numpy arrays
    assert [row_to_item(r) for r in table.to_pandas().to_dict("records")] == items


def test_row_columns_are_flat_json_strings() -> None:
    row = item_to_row(make_item(3))
    assert json.loads(row["metadata"]) == {"domain": "physics", "difficulty": 0}
    assert json.loads(row["lineage"]["params"]) == {"temperature": 0.7, "variant": 3}
    assert [json.loads(v["details"]) for v in row["verdicts"]] == [{"words": 11}, {"scores": [4, 5]}]
    assert row["citations"][0]["chunk_id"] == "c3"


def test_row_to_item_accepts_dict_of_lists() -> None:
    # `datasets` may decode a list of structs as a struct of lists
    item = make_item(3)
    row = item_to_row(item)
    for key in ("verdicts", "citations"):
        recs = row[key]
        row[key] = {k: [r[k] for r in recs] for k in recs[0]}
    assert row_to_item(row) == item


def test_unserialisable_metadata_is_a_clear_error() -> None:
    bad = make_item(1, weird={1, 2})
    with pytest.raises(PublishError, match=rf"item {bad.id}: metadata cannot be written as JSON"):
        item_to_row(bad)


# --- publishing ------------------------------------------------------------------------


def test_publish_layout_and_load_dataset(tmp_path: Path) -> None:
    from datasets import load_dataset

    res = publish(tmp_path, ITEMS, REJECTED)
    assert (res.status, res.version, res.parent) == ("published", "2026.11", None)
    assert res.path == tmp_path / "demo" / "2026.11"
    files = sorted(p.relative_to(res.path).as_posix() for p in res.path.rglob("*") if p.is_file())
    assert files == ["CHANGELOG.md", "README.md", "data/test.parquet", "manifest.json", "rejected/rejected.parquet"]

    ds = load_dataset(str(res.path), cache_dir=str(tmp_path / "hf-cache"))
    assert list(ds) == ["test"]  # rejected/ is not a split
    split = ds["test"]
    assert split.num_rows == len(ITEMS)
    assert [r["id"] for r in split] == [it.id for it in ITEMS]
    back = [row_to_item(r) for r in split]
    assert strip_lifecycle(back) == ITEMS
    assert {it.metadata["introduced_in"] for it in back} == {"2026.11"}
    first = split[0]
    assert first["lineage"]["generator"] == "evolve"
    assert json.loads(first["lineage"]["params"]) == {"temperature": 0.7, "variant": 1}
    assert [(v["stage"], v["passed"], v["score"]) for v in first["verdicts"]] == [("rules", True, 1.0),
                                                                                  ("llm_judge", True, 4.5)]
    assert json.loads(first["verdicts"][1]["details"]) == {"scores": [4, 5]}
    assert split[2]["citations"][0]["quote"] == "Blue light is scattered more"
    assert read_items(res.path / "rejected" / "rejected.parquet") == REJECTED


def test_manifest_records_the_run_and_hashes_every_file(tmp_path: Path) -> None:
    spec = make_spec()
    res = publish(tmp_path, ITEMS, REJECTED, spec=spec)
    manifest = json.loads((res.path / "manifest.json").read_text())
    assert manifest == res.manifest
    assert manifest["suite"] == "demo" and manifest["version"] == "2026.11" and manifest["parent"] is None
    assert manifest["spec_hash"] == spec.spec_hash()
    assert manifest["spec"] == spec.model_dump(mode="json")
    assert manifest["models"] == MODELS and manifest["usage"] == USAGE
    assert manifest["counts"] == {"published": 4, "rejected": 3, "added": 4, "removed": 0, "kept": 0}
    assert manifest["funnel"] == make_funnel().model_dump(mode="json")
    assert manifest["stop_reason"] == "target_reached"
    assert manifest["created_at"].endswith("+00:00")
    on_disk = {p.relative_to(res.path).as_posix() for p in res.path.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == on_disk - {"manifest.json"}
    for rel, meta in manifest["files"].items():
        data = (res.path / rel).read_bytes()
        assert meta == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    assert verify_version(res.path) == []

    target = res.path / "CHANGELOG.md"
    target.chmod(0o644)
    target.write_text(target.read_text() + "tampered\n")
    assert verify_version(res.path) == ["CHANGELOG.md: content differs from the manifest"]


def test_published_files_are_read_only(tmp_path: Path) -> None:
    res = publish(tmp_path, ITEMS)
    for p in res.path.rglob("*"):
        if p.is_file():
            assert stat.S_IMODE(p.stat().st_mode) & 0o222 == 0, p


def test_card_front_matter_and_summary(tmp_path: Path) -> None:
    res = publish(tmp_path, ITEMS, REJECTED)
    meta = load_front_matter(res.path / "README.md")
    assert meta["license"] == "cc-by-4.0"
    assert meta["pretty_name"] == "demo 2026.11"
    assert meta["task_categories"] == ["multiple-choice", "question-answering"]
    assert meta["size_categories"] == ["n<1K"]
    assert "benchsmith" in meta["tags"]
    assert meta["configs"] == [{"config_name": "default",
                                "data_files": [{"split": "test", "path": "data/test.parquet"}]}]
    body = (res.path / "README.md").read_text()
    assert "A small demo suite." in body
    assert "| evolve | deepen | 2 |" in body and "| evolve | concretize | 2 |" in body
    assert f"| judge | {MODELS['judge']} |" in body
    assert "| llm_judge | 6 | 4 | 2 | low_score: 2 |" in body
    assert "target_reached" in body
    assert "| generator | 14 | 2100 | 5200 |" in body  # usage columns: calls, completion_tokens, prompt_tokens
    assert 'load_dataset("outputs/demo/2026.11", split="test")' in body


def test_custom_split_and_sequential_versions(tmp_path: Path) -> None:
    from datasets import load_dataset

    spec = make_spec(split="eval", versioning="sequential", license="mit")
    res = publish(tmp_path, ITEMS, spec=spec)
    assert res.version == "v1"
    assert (res.path / "data" / "eval.parquet").is_file()
    assert load_front_matter(res.path / "README.md")["license"] == "mit"
    assert list(load_dataset(str(res.path), cache_dir=str(tmp_path / "hf"))) == ["eval"]
    assert publish(tmp_path, ITEMS[:3], spec=spec).version == "v2"


def test_calendar_versions_and_changelog(tmp_path: Path) -> None:
    first = publish(tmp_path, ITEMS)
    second = publish(tmp_path, [*ITEMS[1:], make_item(7), make_item(8)])
    assert (first.version, second.version, second.parent) == ("2026.11", "2026.11.1", "2026.11")
    assert second.manifest["counts"] == {"published": 5, "rejected": 0, "added": 2, "removed": 1, "kept": 3}
    december = publish(tmp_path, ITEMS, today=date(2026, 12, 1))
    assert (december.version, december.parent) == ("2026.12", "2026.11.1")
    assert list_versions(tmp_path / "demo") == ["2026.11", "2026.11.1", "2026.12"]

    log = (december.path / "CHANGELOG.md").read_text()
    headings = [line for line in log.splitlines() if line.startswith("## ")]
    assert [h.split()[1] for h in headings] == ["2026.12", "2026.11.1", "2026.11"]
    assert log.startswith("# Changelog: demo\n")
    entry_1 = log.split("## 2026.11.1")[1].split("## 2026.11 ")[0]
    assert "- Items: 5 (2 added, 1 removed, 3 kept)" in entry_1
    assert "- Items: 4 (1 added, 2 removed, 3 kept)" in log.split("## 2026.11.1")[0]
    assert "First version" in log.split("## 2026.11 ")[1]
    # earlier versions are left untouched
    assert json.loads((first.path / "manifest.json").read_text()) == first.manifest
    assert verify_version(first.path) == [] and verify_version(second.path) == []


def test_same_content_twice_is_a_no_op(tmp_path: Path) -> None:
    first = publish(tmp_path, ITEMS, REJECTED)
    before = snapshot(tmp_path)
    again = publish(tmp_path, list(reversed(ITEMS)), [])  # same set of ids, other order, other rejects
    assert (again.status, again.version, again.path) == ("exists", "2026.11", first.path)
    assert again.manifest == first.manifest
    assert snapshot(tmp_path) == before


def test_new_version_forces_a_version_naming_its_parent(tmp_path: Path) -> None:
    publish(tmp_path, ITEMS)
    forced = publish(tmp_path, ITEMS, new_version=True)
    assert (forced.status, forced.version, forced.parent) == ("published", "2026.11.1", "2026.11")
    assert json.loads((forced.path / "manifest.json").read_text())["parent"] == "2026.11"
    assert forced.manifest["counts"]["kept"] == 4 and forced.manifest["counts"]["added"] == 0


def test_changed_spec_publishes_even_with_the_same_items(tmp_path: Path) -> None:
    publish(tmp_path, ITEMS)
    res = publish(tmp_path, ITEMS, spec=make_spec(target=10))
    assert (res.status, res.version) == ("published", "2026.11.1")
    assert "(was `" in (res.path / "CHANGELOG.md").read_text()


def test_bad_input_is_refused_before_writing(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="no items"):
        publish(tmp_path, [])
    with pytest.raises(PublishError, match="more than once"):
        publish(tmp_path, [ITEMS[0], ITEMS[0]])
    assert not (tmp_path / "demo").exists()


def test_failure_mid_write_leaves_no_version(tmp_path: Path) -> None:
    # The published split is written first; the bad rejected item fails afterwards.
    bad = make_item(20, passed=False, weird={1, 2})
    with pytest.raises(PublishError, match=bad.id):
        publish(tmp_path, ITEMS, [*REJECTED, bad])
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == []
    assert latest_version(tmp_path / "demo") is None
    assert publish(tmp_path, ITEMS, REJECTED).version == "2026.11"


class _InterruptedFunnel(Funnel):
    def model_dump(self, **kw: Any) -> dict[str, Any]:
        raise KeyboardInterrupt  # as if Ctrl-C arrived after the parquet files were written


def test_ctrl_c_mid_write_leaves_no_version(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        publish_version(spec=make_spec(), items=ITEMS, rejected=REJECTED, funnel=_InterruptedFunnel(),
                        models=MODELS, usage=USAGE, stop_reason="target_reached", output_dir=tmp_path, today=NOV)
    assert list((tmp_path / "demo").iterdir()) == []
    assert publish(tmp_path, ITEMS).version == "2026.11"


def test_hard_crash_leaves_only_a_temp_folder_that_the_next_publish_removes(tmp_path: Path) -> None:
    # A separate process dies (os._exit, no cleanup) at the moment it would rename into place.
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({"spec": make_spec().model_dump(mode="json"),
                                   "items": [it.model_dump(mode="json") for it in ITEMS]}))
    script = textwrap.dedent(f"""
        import json, os
        from datetime import date
        from pathlib import Path
        from benchsmith.funnel import Funnel
        from benchsmith.records import Item
        from benchsmith.spec import SuiteSpec
        import benchsmith.publish as publish
        data = json.loads(Path({str(payload)!r}).read_text())
        os.rename = lambda *a: os._exit(9)
        publish.publish_version(spec=SuiteSpec.model_validate(data["spec"]),
            items=[Item.model_validate(i) for i in data["items"]], rejected=[], funnel=Funnel(), models={{}},
            usage={{}}, stop_reason="target_reached", output_dir=Path({str(tmp_path)!r}), today=date(2026, 11, 5))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    left = [p.name for p in (tmp_path / "demo").iterdir()]
    assert len(left) == 1 and left[0].startswith(".tmp-2026.11-"), left
    assert list_versions(tmp_path / "demo") == []

    res = publish(tmp_path, ITEMS)
    assert res.version == "2026.11"
    assert [p.name for p in (tmp_path / "demo").iterdir()] == ["2026.11"]


def test_temp_folders_of_live_publishers_are_kept(tmp_path: Path) -> None:
    suite = tmp_path / "demo"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    live = suite / f".tmp-2026.11-{os.getppid()}-aa"  # our parent process is alive
    stale = [suite / f".tmp-2026.11-{dead_pid}-bb", suite / f".tmp-2026.11-{os.getpid()}-cc", suite / ".tmp-junk"]
    for p in [live, *stale]:
        p.mkdir(parents=True)
    removed = clean_stale_temp(suite)
    assert sorted(removed) == sorted(stale)
    assert [p.name for p in suite.iterdir()] == [live.name]


def test_existing_folders_are_never_overwritten(tmp_path: Path) -> None:
    first = publish(tmp_path, ITEMS)
    before = snapshot(first.path)
    # A folder that squats the next name (no manifest): skipped, neither parent nor overwritten.
    squatter = tmp_path / "demo" / "2026.11.1"
    squatter.mkdir()
    (squatter / "keep.txt").write_text("not mine")
    # An empty one too: os.rename would silently replace an empty directory.
    (tmp_path / "demo" / "2026.11.2").mkdir()
    res = publish(tmp_path, ITEMS[:2])
    assert (res.version, res.parent) == ("2026.11.3", "2026.11")
    assert (squatter / "keep.txt").read_text() == "not mine"
    assert list((tmp_path / "demo" / "2026.11.2").iterdir()) == []
    assert snapshot(first.path) == before


def test_commit_refuses_an_existing_target(tmp_path: Path) -> None:
    tmp = tmp_path / ".tmp-x"
    tmp.mkdir()
    (tmp / "manifest.json").write_text("{}")
    empty = tmp_path / "2026.11"
    empty.mkdir()
    with pytest.raises(PublishError, match="already exists"):
        commit_folder(tmp, empty)  # os.rename alone would have replaced this empty folder
    full = tmp_path / "2026.11.1"
    full.mkdir()
    (full / "keep.txt").write_text("theirs")
    with pytest.raises(PublishError, match="never overwritten"):
        commit_folder(tmp, full)
    assert list(empty.iterdir()) == [] and (full / "keep.txt").read_text() == "theirs"
    commit_folder(tmp, tmp_path / "2026.11.2")
    assert (tmp_path / "2026.11.2" / "manifest.json").is_file() and not tmp.exists()


def test_concurrent_publishers_never_clobber_each_other(tmp_path: Path) -> None:
    batches = [[make_item(n) for n in range(k * 10, k * 10 + 3)] for k in range(1, 7)]
    results: list[Any] = []
    errors: list[BaseException] = []

    def run(batch: list[Item]) -> None:
        try:
            results.append((batch, publish(tmp_path, batch)))
        except BaseException as err:  # noqa: BLE001 - collected and checked below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(e, PublishError) for e in errors), errors
    assert len(results) + len(errors) == len(batches) and results
    versions = [r.version for _, r in results]
    assert len(set(versions)) == len(versions)
    for batch, res in results:  # each folder holds exactly what its own publisher wrote
        assert strip_lifecycle(read_items(res.path / "data" / "test.parquet")) == batch
        assert verify_version(res.path) == []
    assert sorted(list_versions(tmp_path / "demo")) == sorted(versions)
    assert not [p for p in (tmp_path / "demo").iterdir() if p.name.startswith(".tmp-")]


def test_items_table_matches_schema_exactly() -> None:
    table = items_to_table(ITEMS)
    assert table.schema.equals(ITEM_SCHEMA)
    assert table.column("choices").type == pa.list_(pa.string())
    assert table.num_rows == len(ITEMS)


def test_same_version_name_in_two_places_loads_each_own_rows(tmp_path: Path) -> None:
    # `datasets` caches a local folder by its base name and the card's YAML; two suites'
    # `2026.11` folders must not be served from one cache entry.
    import datasets

    first = publish(tmp_path / "a", [make_item(i) for i in range(4)])
    second = publish(tmp_path / "b", [make_item(i) for i in range(10, 16)])
    assert first.version == second.version == "2026.11"
    rows_a = [r["id"] for r in datasets.load_dataset(str(first.path))["test"]]
    rows_b = [r["id"] for r in datasets.load_dataset(str(second.path))["test"]]
    assert sorted(rows_a) == sorted(it.id for it in read_items(first.path / "data" / "test.parquet"))
    assert sorted(rows_b) == sorted(it.id for it in read_items(second.path / "data" / "test.parquet"))
    assert len(rows_b) == 6 and not set(rows_a) & set(rows_b)
