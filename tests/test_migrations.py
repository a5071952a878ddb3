"""Schema migrations of the workspace database, on SQLite and PostgreSQL.

The legacy fixtures are databases that earlier versions' own code wrote (`tests/data/legacy_workspaces`,
rebuilt by its `make.py` from git): the store before the review queue (v0) and the first review queue,
made by `create_all` with no `alembic_version` (v1). Opening them with today's code must upgrade them in
place, keep every row, and leave a workspace the review queue works on.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from benchsmith import migrations
from benchsmith.review import add_reviewer, decide, enqueue, get_entry, list_entries, verify_login
from benchsmith.review.db import AuditRow, DecisionRow
from benchsmith.store import DB_FILENAME, Store, StoreError

LEGACY = Path(__file__).parent / "data" / "legacy_workspaces"


def _url(tmp_path: Path, db_url: str | None) -> str:
    return db_url or f"sqlite:///{tmp_path / DB_FILENAME}"


def _load(url: str, label: str) -> None:
    """Write a legacy dump into the (empty) database at `url`, as that version left it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        con = sqlite3.connect(str(parsed.database))
        con.executescript((LEGACY / f"{label}.sqlite.sql").read_text(encoding="utf-8"))
        con.close()
        return
    dsn = f"host={parsed.host} port={parsed.port} user={parsed.username} dbname={parsed.database}"
    with psycopg.connect(dsn, autocommit=True) as con:  # its own session: the dump resets search_path
        con.execute((LEGACY / f"{label}.pg.sql").read_text(encoding="utf-8").encode())


def _revision(store: Store) -> str | None:
    with store.engine.connect() as conn:
        return migrations.current(conn)


@pytest.fixture
def url(tmp_path: Path, db_url: str | None) -> Iterator[str]:
    yield _url(tmp_path, db_url)


def test_quick_head_agrees_with_alembic() -> None:
    assert migrations.quick_head() == migrations.head()


def test_migrations_match_the_models(url: str) -> None:
    """A model changed without a migration (or the reverse) fails here: Alembic finds the difference."""
    with Store(url) as store, store.engine.connect() as conn:
        assert migrations.current(conn) == migrations.head()
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        diffs = compare_metadata(ctx, migrations.target_metadata())
    assert diffs == [], "the models and the migrations differ: add a revision (python -m benchsmith.migrations)"


def test_store_before_the_review_queue_upgrades_in_place(url: str) -> None:
    _load(url, "v0-87c9d89")
    with Store(url) as store:
        assert _revision(store) == migrations.head()
        runs = store.runs()
        assert sorted((r.suite, r.status) for r in runs) == [("alpha", "running"), ("alpha", "succeeded"),
                                                             ("beta", "failed")]
        done = next(r for r in runs if r.status == "succeeded")
        assert done.version == "2026.01" and done.usage == {"generator": {"calls": 12}}
        assert done.funnel is not None and done.funnel.stage("rules").kept == 10
        assert done.started_at.utcoffset() is not None and done.started_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        items = store.items_for_run(done.id)
        assert len(items) == 12
        assert [it.prompt.split(":")[0] for it in items[:2]] == ["[alpha] Question 0", "[alpha] Question 1"]
        assert items[0].metadata["unicode"] == "l\u00e4nge \u2248 \u20ac" and items[0].citations[0].end == 9
        assert store.drop_counts(done.id) == {("rules", "too_short"): 3}
        failed = next(r for r in runs if r.status == "failed")
        assert failed.error == "EndpointError: refused" and len(store.items_for_run(failed.id)) == 5

        # The review queue works on the upgraded workspace.
        assert enqueue(store, items, done.id) == 12
        add_reviewer(store, "carol", "carol-password", "admin")
        entry = get_entry(store, items[1].id)
        decided = decide(store, entry.id, "carol", "reject", entry.version, reason_code="ambiguous")
        assert decided.status == "rejected" and decided.version == entry.version + 1
        assert list_entries(store).remaining == 11
        # And the run store still writes: a new run after the old ones.
        new = store.start_run(suite="alpha", spec_hash="h2")
        assert store.latest_run("alpha").id == new  # type: ignore[union-attr]


def test_first_review_queue_made_by_create_all_upgrades_in_place(url: str) -> None:
    _load(url, "v1-56bb4b7")
    with Store(url) as store:
        assert _revision(store) == migrations.head()
        assert len(store.runs()) == 3
        page = list_entries(store, per_page=100)  # the pending ones
        assert page.remaining == 5
        with store.session() as s:
            statuses = dict(s.execute(text("SELECT status, count(*) FROM review_queue GROUP BY status")).all())
            assert statuses == {"pending": 5, "accepted": 1, "rejected": 1, "edited": 1}
            decisions = list(s.scalars(select(DecisionRow).order_by(DecisionRow.id)))
            assert [(d.reviewer, d.decision, d.reason_code) for d in decisions] == [
                ("alice", "accept", None), ("bob", "reject", "ambiguous"), ("alice", "edit", None)]
            assert "+An edited question?" in (decisions[2].diff or "")
            audits = s.scalar(select(func.count()).select_from(AuditRow))
        assert audits == 6  # enqueue, two accounts, three decisions
        edited = next(e for e in (get_entry(store, d.item_id) for d in decisions) if e.status == "edited")
        assert edited.current_item.prompt == "An edited question?"
        # The accounts kept their argon2 hashes, and new rows get fresh ids (sequences carried over).
        assert verify_login(store, "bob", "bob-password") is not None
        assert add_reviewer(store, "dave", "dave-password").name == "dave"
        pending = list_entries(store, per_page=100).entries[0]
        assert decide(store, pending.id, "dave", "accept", pending.version).status == "accepted"
        with store.session() as s:
            assert s.scalar(select(func.count()).select_from(AuditRow)) == audits + 2


def test_downgrade_and_upgrade_keep_the_runs(url: str) -> None:
    """Every revision's downgrade runs (batch mode on SQLite) and upgrading again restores the head."""
    with Store(url) as store:
        run_id = store.start_run(suite="demo", spec_hash="h")
        with store.engine.begin() as conn:
            command.downgrade(migrations.config(conn), "0001_baseline")
            assert migrations.current(conn) == "0001_baseline"
    with Store(url) as store:  # opening it upgrades again
        assert _revision(store) == migrations.head()
        assert store.run(run_id).suite == "demo"


def test_two_processes_opening_a_new_workspace_migrate_it_once(url: str) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def open_it() -> None:
        try:
            start.wait()
            with Store(url) as store:
                store.runs()
        except BaseException as err:  # noqa: BLE001 (collected and asserted below)
            errors.append(err)

    threads = [threading.Thread(target=open_it) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    with Store(url) as store, store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1


def test_a_database_from_a_newer_benchsmith_is_refused(url: str) -> None:
    with Store(url) as store, store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    with pytest.raises(StoreError, match="9999_from_the_future.*newer benchsmith"):
        Store(url)


def test_a_damaged_unversioned_database_is_refused(url: str) -> None:
    with Store(url) as store, store.engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("DROP TABLE review_audit"))
    with pytest.raises(StoreError, match="match no known version"):
        Store(url)
