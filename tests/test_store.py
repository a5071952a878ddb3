"""The workspace database on a real SQLite file and a real PostgreSQL server: run lifecycle and item round-trips.

Tests that take the `store` (or `db_url`) fixture run on both databases (see conftest).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest

from benchsmith.funnel import Funnel
from benchsmith.process import free_port
from benchsmith.records import Citation, Item, Lineage, Verdict
from benchsmith.store import DB_ENV, DB_FILENAME, Store, StoreError


def make_item(n: int, *, passed: bool = True) -> Item:
    item = Item.create(
        prompt=f"Question number {n}: why is the sky blue at noon?",
        reference_answer=f"Rayleigh scattering ({n}).",
        kind="mcq" if n % 2 else "open_qa",
        choices=["Rayleigh scattering", "Mie scattering"] if n % 2 else None,
        lineage=Lineage(generator="evolve", operator="deepen", model="m-1", params={"temperature": 0.7, "n": n},
                        parent_id=f"seed-{n}", seed_id=f"seed-{n}"),
        seed_id=f"seed-{n}",
        citations=[Citation(quote="light scatters", document="docs/a.md", section="Intro", start=3, end=17)],
        metadata={"domain": "physics", "tags": ["optics", n]},
    )
    item = item.with_verdict(Verdict(stage="rules", passed=True, score=1.0, details={"len": len(item.prompt)}))
    if not passed:
        item = item.with_verdict(Verdict(stage="llm_judge", passed=False, score=1.5, reason="low_score",
                                         details={"scores": [1, 2]}))
    return item


@pytest.fixture
def store(tmp_path: Path, db_url: str | None) -> Iterator[Store]:
    s = Store.open(tmp_path / "ws", db_url)
    yield s
    s.close()


def test_open_creates_sqlite_file_in_wal_mode(tmp_path: Path) -> None:
    with Store.open(tmp_path / "ws") as s:
        s.start_run(suite="demo", spec_hash="h")
    db = tmp_path / "ws" / DB_FILENAME
    assert db.is_file()
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        indexes = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    finally:
        con.close()
    assert {"runs", "items"} <= tables
    assert {"ix_runs_suite_started", "ix_items_suite", "ix_items_run_passed"} <= indexes


def test_run_lifecycle(store: Store) -> None:
    run_id = store.start_run(suite="demo", spec_hash="abc123", spec_path="suites/demo.yaml")
    run = store.run(run_id)
    assert run.status == "running"
    assert run.finished_at is None
    assert run.started_at.tzinfo == UTC
    assert run.spec_path == "suites/demo.yaml"

    funnel = Funnel()
    funnel.record("rules", received=10, kept=7, drop_reasons=["too_short"] * 3)
    funnel.stop_reason = "target_reached"
    done = store.finish_run(run_id, "succeeded", stop_reason="target_reached", version="2026.11",
                            funnel=funnel, usage={"generator": {"calls": 12, "prompt_tokens": 900}})
    again = store.run(run_id)
    assert again == done
    assert again.status == "succeeded"
    assert again.version == "2026.11"
    assert again.finished_at is not None and again.finished_at >= again.started_at
    assert again.funnel == funnel
    assert again.usage == {"generator": {"calls": 12, "prompt_tokens": 900}}


def test_failed_run_keeps_error(store: Store) -> None:
    run_id = store.start_run(suite="demo", spec_hash="h")
    store.finish_run(run_id, "failed", error="EndpointError: http://127.0.0.1:9/v1 refused")
    run = store.run(run_id)
    assert run.status == "failed"
    assert "refused" in (run.error or "")


def test_runs_newest_first_and_by_suite(store: Store) -> None:
    a = store.start_run(suite="alpha", spec_hash="h1")
    b = store.start_run(suite="beta", spec_hash="h2")
    c = store.start_run(suite="alpha", spec_hash="h3")
    assert [r.id for r in store.runs()] == [c, b, a]
    assert [r.id for r in store.runs("alpha")] == [c, a]
    assert store.latest_run("alpha").id == c  # type: ignore[union-attr]
    assert store.latest_run("beta").spec_hash == "h2"  # type: ignore[union-attr]
    assert store.latest_run("gamma") is None


def test_bad_calls_raise_clear_errors(store: Store) -> None:
    with pytest.raises(StoreError, match="no run with id 'nope'"):
        store.finish_run("nope", "succeeded")
    run_id = store.start_run(suite="demo", spec_hash="h", run_id="fixed-id")
    assert run_id == "fixed-id"
    with pytest.raises(StoreError, match="already exists"):
        store.start_run(suite="demo", spec_hash="h", run_id="fixed-id")
    with pytest.raises(StoreError, match="status must be one of"):
        store.finish_run(run_id, "running")  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="no run with id"):
        store.save_items("nope", [make_item(1)])
    with pytest.raises(StoreError, match="not a database URL"):
        Store("definitely not a url")


def test_items_round_trip_with_verdicts(store: Store) -> None:
    run_id = store.start_run(suite="demo", spec_hash="h")
    items = [make_item(1), make_item(2, passed=False), make_item(3), make_item(4, passed=False)]
    assert store.save_items(run_id, items) == 4
    back = store.items_for_run(run_id)
    assert back == items  # full equality: citations, lineage params, verdict details, metadata, order
    assert back[1].failed_verdict == Verdict(stage="llm_judge", passed=False, score=1.5, reason="low_score",
                                             details={"scores": [1, 2]})
    assert store.items_for_run(run_id, passed=True) == [items[0], items[2]]
    assert store.items_for_run(run_id, passed=False) == [items[1], items[3]]
    assert store.drop_counts(run_id) == {("llm_judge", "low_score"): 2}


def test_resaving_an_item_replaces_it(store: Store) -> None:
    run_id = store.start_run(suite="demo", spec_hash="h")
    first = make_item(1)
    store.save_items(run_id, [first, make_item(2)])
    judged = first.with_verdict(Verdict(stage="dedup", passed=False, reason="near_duplicate"))
    store.save_items(run_id, [judged])
    back = store.items_for_run(run_id)
    assert [it.id for it in back] == [make_item(2).id, first.id]  # no duplicate row; latest save last
    assert back[-1] == judged
    assert store.items_for_run(run_id, passed=False) == [judged]


def test_same_item_in_two_runs(store: Store) -> None:
    r1 = store.start_run(suite="demo", spec_hash="h")
    r2 = store.start_run(suite="demo", spec_hash="h")
    store.save_items(r1, [make_item(1)])
    store.save_items(r2, [make_item(1, passed=False)])
    assert store.items_for_run(r1, passed=True) == [make_item(1)]
    assert store.items_for_run(r2, passed=True) == []


def test_data_survives_reopening(tmp_path: Path, db_url: str | None) -> None:
    with Store.open(tmp_path, db_url) as s:
        run_id = s.start_run(suite="demo", spec_hash="h")
        s.save_items(run_id, [make_item(5)])
        s.finish_run(run_id, "interrupted", stop_reason="keyboard_interrupt")
    # The same database again: the SQLite file through an explicit URL, or the same PostgreSQL URL.
    with Store(db_url or f"sqlite:///{tmp_path / DB_FILENAME}") as s:
        run = s.latest_run("demo")
        assert run is not None and run.status == "interrupted"
        assert s.items_for_run(run.id) == [make_item(5)]


def test_large_unicode_items_and_many_rows_round_trip(store: Store) -> None:
    """JSON columns keep long, non-ASCII text and nested values exactly; batches past 500 ids work."""
    run_id = store.start_run(suite="demo", spec_hash="h")
    big = make_item(7).model_copy(update={"prompt": "Größe ≈ 10 µm — " + "ü" * 30_000,
                                          "metadata": {"nested": {"list": [1, 2.5, None, "€"]}, "emoji": "🧪"}})
    items = [big, *(make_item(n) for n in range(1000, 1700))]
    assert store.save_items(run_id, items) == 701
    back = store.items_for_run(run_id)
    assert back[0] == big and len(back) == 701
    assert [it.id for it in back] == [it.id for it in items]  # save order kept


def test_timestamps_come_back_in_utc(store: Store) -> None:
    run_id = store.start_run(suite="demo", spec_hash="h")
    store.finish_run(run_id, "succeeded")
    run = store.run(run_id)
    assert run.started_at.utcoffset() is not None and run.started_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert run.finished_at is not None and run.finished_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert (run.finished_at - run.started_at).total_seconds() < 60  # both written as UTC, not local time


def test_postgres_url_without_a_driver_uses_psycopg(pg_url: str) -> None:
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with Store(plain) as s:
        assert s.engine.dialect.driver == "psycopg"
        s.start_run(suite="demo", spec_hash="h", run_id="r1")
    with Store(pg_url) as s:
        assert s.run("r1").suite == "demo"


def test_benchsmith_db_is_the_default_url(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DB_ENV, pg_url)
    with Store.open(tmp_path / "ws") as s:
        s.start_run(suite="demo", spec_hash="h", run_id="r1")
    assert not (tmp_path / "ws" / DB_FILENAME).exists()  # nothing went to the workspace's SQLite file
    monkeypatch.delenv(DB_ENV)
    with Store(pg_url) as s:
        assert s.run("r1").suite == "demo"


def test_unreachable_database_is_a_clear_error() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(StoreError, match=rf"cannot open the database postgresql\+psycopg://bench:\*\*\*@127.0.0.1:{port}/x"):
        Store(f"postgresql+psycopg://bench:secret@127.0.0.1:{port}/x")


def test_commands_open_the_database_given_by_db(tmp_path: Path, pg_url: str) -> None:
    """`--db` (every command that opens the store has it) reaches PostgreSQL; a bad URL is a clean error."""
    from typer.testing import CliRunner

    from benchsmith.cli import app
    from benchsmith.review import list_reviewers

    runner = CliRunner()
    ws = str(tmp_path / "ws")
    r = runner.invoke(app, ["reviewers", "add", "alice", "--password-stdin", "-w", ws, "--db", pg_url],
                      input="alice-password\n")
    assert r.exit_code == 0, r.output
    assert not (tmp_path / "ws" / DB_FILENAME).exists()
    with Store(pg_url) as s:
        assert [rv.name for rv in list_reviewers(s)] == ["alice"]
    r = runner.invoke(app, ["reviewers", "list", "-w", ws], env={DB_ENV: pg_url})
    assert r.exit_code == 0 and "alice" in r.output
    r = runner.invoke(app, ["publish", "demo", "-w", ws, "--db", pg_url])
    assert r.exit_code == 2 and "no succeeded run" in r.output  # it looked in PostgreSQL's (empty) runs
    r = runner.invoke(app, ["reviewers", "list", "-w", ws, "--db", "nonsense://"])
    assert r.exit_code == 2 and "error:" in r.output and "nonsense" in r.output
