"""`benchsmith review export` / `import`: decisions as JSONL, idempotent, all or nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from benchsmith.cli import app
from benchsmith.records import Item
from benchsmith.review import decide, enqueue, get_entry, open_review_store
from benchsmith.review.db import AuditRow, DecisionRow
from benchsmith.review.interchange import InterchangeError, export_decisions, import_decisions
from benchsmith.review.testing import sample_items
from benchsmith.store import Store

runner = CliRunner()


def _workspace(path: Path, items: list[Item], url: str | None = None) -> Store:
    store = open_review_store(path, url)
    run = store.start_run(suite="demo", spec_hash="h", run_id="run-1")
    enqueue(store, items, run)
    return store


def _writes(store: Store) -> tuple[int, int]:
    with store.session() as s:
        return (s.scalar(select(func.count()).select_from(DecisionRow)) or 0,
                s.scalar(select(func.count()).select_from(AuditRow)) or 0)


@pytest.fixture
def other_db(db_backend: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """A second, separate workspace database (on PostgreSQL the first one is BENCHSMITH_DB's)."""
    if db_backend == "sqlite":
        yield None
        return
    server = request.getfixturevalue("postgres_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = server.create_database(name)
    try:
        yield url
    finally:
        server.drop_database(name)


@pytest.fixture
def items() -> list[Item]:
    return sample_items(5)


@pytest.fixture
def source(tmp_path: Path, items: list[Item]) -> Iterator[Store]:
    store = _workspace(tmp_path / "a", items)
    e = [get_entry(store, it.id) for it in items]
    decide(store, e[0].id, "alice", "accept", e[0].version)
    decide(store, e[1].id, "alice", "reject", e[1].version, reason_code="ambiguous", comment="two readings")
    decide(store, e[2].id, "bob", "edit", e[2].version,
           edits={"prompt": "Question 2: which planet of the solar system has the most known moons?"})
    yield store
    store.close()


def test_export_then_import_elsewhere_twice_changes_nothing_the_second_time(tmp_path: Path, source: Store,
                                                                            items: list[Item],
                                                                            other_db: str | None) -> None:
    out = tmp_path / "decisions.jsonl"
    assert export_decisions(source, out) == 3
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [ln["decision"] for ln in lines] == ["accept", "reject", "edit"]
    assert lines[1] | {"time": None} == {"item_id": items[1].id, "suite": "demo", "decision": "reject",
                                         "edited_fields": None, "reviewer": "alice", "time": None,
                                         "reason_code": "ambiguous", "comment": "two readings", "phase": "review",
                                         "origin": "web"}
    assert lines[2]["edited_fields"] == {"prompt": "Question 2: which planet of the solar system has the most known moons?"}

    target = _workspace(tmp_path / "b", items, other_db)
    try:
        first = import_decisions(target, out)
        assert (first.applied, first.skipped) == (3, 0)
        assert [get_entry(target, it.id).status for it in items[:4]] == ["accepted", "rejected", "edited", "pending"]
        edited = get_entry(target, items[2].id).edited_item
        assert edited is not None and edited.prompt.endswith("known moons?")
        writes = _writes(target)
        again = import_decisions(target, out)
        assert (again.applied, again.skipped) == (0, 3) and _writes(target) == writes  # idempotent
        with target.session() as s:
            origins = set(s.scalars(select(DecisionRow.origin)))
            audited = [a.after for a in s.scalars(select(AuditRow).where(AuditRow.action.like("decision.%")))]
        assert origins == {"import:decisions.jsonl"}
        assert {a["origin"] for a in audited if a} == {"import:decisions.jsonl"}
        # The decisions keep their reviewers and times.
        assert {(d["reviewer"], d["time"]) for d in map(json.loads, out.read_text().splitlines())} == {
            (ln["reviewer"], ln["time"]) for ln in
            (json.loads(x) for x in _export_text(target).splitlines())}
    finally:
        target.close()
    # Importing the workspace's own export is a no-op too.
    assert import_decisions(source, out).applied == 0


def _export_text(store: Store) -> str:
    from benchsmith.review.interchange import export_lines

    return "".join(line + "\n" for line in export_lines(store))


def test_a_bad_file_names_line_and_field_and_writes_nothing(tmp_path: Path, items: list[Item]) -> None:
    store = _workspace(tmp_path / "ws", items)
    good = {"item_id": items[0].id, "suite": "demo", "decision": "accept", "reviewer": "argilla:ann",
            "time": "2026-11-03T10:15:00Z"}
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([
        json.dumps(good),
        json.dumps({**good, "decision": "maybe"}),
        json.dumps({k: v for k, v in good.items() if k != "reviewer"}),
        json.dumps({**good, "decision": "reject"}),
        "{not json",
        json.dumps({**good, "surprise": 1}),
    ]) + "\n")
    try:
        before = _writes(store)
        with pytest.raises(InterchangeError) as err:
            import_decisions(store, bad)
        text = str(err.value)
        for expected in (f"{bad}:2: decision", f"{bad}:3: reviewer", f"{bad}:4: reason_code", f"{bad}:5: not valid JSON",
                         f"{bad}:6: surprise"):
            assert expected in text, text
        assert f"{bad}:1:" not in text and _writes(store) == before  # the good first line was not written either

        unknown = tmp_path / "unknown.jsonl"
        unknown.write_text(json.dumps(good) + "\n" + json.dumps({**good, "item_id": "0" * 16}) + "\n")
        with pytest.raises(InterchangeError, match=rf"unknown.jsonl:2: item_id: no queued item '{'0' * 16}'"):
            import_decisions(store, unknown)
        assert _writes(store) == before and get_entry(store, items[0].id).status == "pending"
    finally:
        store.close()


def test_cli_export_and_import(tmp_path: Path, source: Store, items: list[Item], other_db: str | None) -> None:
    out = tmp_path / "out" / "decisions.jsonl"
    r = runner.invoke(app, ["review", "export", "--suite", "demo", "--out", str(out), "-w", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    assert "exported 3 decision(s)" in r.output and len(out.read_text().splitlines()) == 3
    r = runner.invoke(app, ["review", "export", "--suite", "other", "-w", str(tmp_path / "a")])
    assert r.exit_code == 0 and r.stdout == ""

    _workspace(tmp_path / "b", items, other_db).close()
    target = ["-w", str(tmp_path / "b"), *(["--db", other_db] if other_db else [])]
    r = runner.invoke(app, ["review", "import", str(out), *target])
    assert r.exit_code == 0, r.output
    assert "imported 3 decision(s)" in r.output and "1 accept, 1 edit, 1 reject" in r.output
    r = runner.invoke(app, ["review", "import", str(out), *target])
    assert r.exit_code == 0 and "imported 0 decision(s)" in r.output and "3 already recorded" in r.output
    missing = runner.invoke(app, ["review", "import", str(tmp_path / "nope.jsonl"), *target])
    assert missing.exit_code == 2 and "cannot read" in missing.output
