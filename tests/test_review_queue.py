"""Review queue logic and accounts over a real SQLite workspace database (no HTTP)."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from benchsmith.review import (
    AccountError,
    ConflictError,
    LoginThrottled,
    QueueFilter,
    ReviewError,
    add_reviewer,
    bulk_decide,
    decide,
    enqueue,
    get_entry,
    list_entries,
    next_entry,
    open_review_store,
    uncertainty,
    verify_login,
)
from benchsmith.review import accounts as accounts_mod
from benchsmith.review.db import AuditRow, DecisionRow, ReviewerRow
from benchsmith.review.testing import sample_items
from benchsmith.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = open_review_store(tmp_path / "ws")
    yield s  # type: ignore[misc]
    s.close()


@pytest.fixture
def run_id(store: Store) -> str:
    rid = store.start_run(suite="demo", spec_hash="h", run_id="run-1")
    enqueue(store, sample_items(12), rid)
    return rid


def _audit_count(store: Store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(AuditRow)) or 0


def test_enqueue_is_idempotent_and_orders_most_uncertain_first(store: Store, run_id: str) -> None:
    assert enqueue(store, sample_items(12), run_id) == 0  # same items again: nothing new
    page = list_entries(store, per_page=100)
    assert page.total == page.remaining == 12
    priorities = [e.priority for e in page.entries]
    assert priorities == sorted(priorities, reverse=True)
    assert page.entries[0].priority == 1.0
    flagged = [e for e in page.entries if e.flagged]
    assert flagged and all(e.flags == ("rules",) for e in flagged)
    assert all(e.suite == "demo" and e.run_id == "run-1" for e in page.entries)


def test_uncertainty_uses_threshold_margin_then_failures_then_judge_score() -> None:
    items = sample_items(3)
    failed = items[2]
    assert not failed.passed and uncertainty(failed) == 1.0
    near = items[0].model_copy(update={"verdicts": [items[0].verdicts[1].model_copy(
        update={"score": 3.1, "details": {"threshold": 3.0}})]})
    assert uncertainty(near) == pytest.approx(1 / 1.1, rel=1e-4)
    sure = items[0].model_copy(update={"verdicts": [items[0].verdicts[1].model_copy(update={"score": 5.0})]})
    assert uncertainty(sure) == 0.0


def test_filters_sorting_pagination_and_remaining(store: Store, run_id: str) -> None:
    other = store.start_run(suite="other", spec_hash="h", run_id="run-2")
    enqueue(store, sample_items(3, generator="document_qa"), other)
    assert list_entries(store, QueueFilter(suite="other")).total == 3
    assert list_entries(store, QueueFilter(run_id="run-1")).total == 12
    assert list_entries(store, QueueFilter(generator="document_qa")).total == 3
    assert list_entries(store, QueueFilter(flag="rules")).total == 4 + 1
    scored = list_entries(store, QueueFilter(min_score=2.0, max_score=3.0), per_page=100)
    assert scored.entries and all(2.0 <= (e.score or 0) <= 3.0 for e in scored.entries)
    by_score = list_entries(store, QueueFilter(suite="demo"), sort="score", per_page=100)
    assert [e.score for e in by_score.entries] == sorted(e.score for e in by_score.entries)  # type: ignore[type-var]
    page2 = list_entries(store, QueueFilter(suite="demo"), page=2, per_page=5)
    assert page2.pages == 3 and len(page2.entries) == 5 and page2.page == 2
    first = list_entries(store, QueueFilter(suite="demo"), per_page=1).entries[0]
    decide(store, first.id, "alice", "accept", first.version)
    assert list_entries(store, QueueFilter(suite="demo")).remaining == 11
    done = list_entries(store, QueueFilter(suite="demo", status="accepted", reviewer="alice"))
    assert [e.id for e in done.entries] == [first.id] and done.remaining == 11
    with pytest.raises(ReviewError):
        list_entries(store, sort="nonsense")


def test_two_reviewers_are_handed_different_items(store: Store, run_id: str) -> None:
    a = next_entry(store, "alice")
    b = next_entry(store, "bob")
    assert a is not None and b is not None and a.id != b.id
    assert next_entry(store, "alice").id == a.id  # type: ignore[union-attr]  # asking again: the item held
    # an expired lease frees the item for someone else
    c = next_entry(store, "carol", lease=timedelta(seconds=-1))
    assert c is not None and c.id not in (a.id, b.id)
    d = next_entry(store, "dave")
    assert d is not None and d.id == c.id


def test_concurrent_next_requests_never_share_an_item(store: Store, run_id: str) -> None:
    got: dict[str, int | None] = {}
    barrier = threading.Barrier(8)

    def ask(name: str) -> None:
        barrier.wait()
        entry = next_entry(store, name)
        got[name] = entry.id if entry else None

    threads = [threading.Thread(target=ask, args=(f"r{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [v for v in got.values() if v is not None]
    assert len(ids) == 8 and len(set(ids)) == 8


def test_decisions_conflicts_edits_and_audit(store: Store, run_id: str) -> None:
    entries = list_entries(store, per_page=100).entries
    e = entries[0]
    before = _audit_count(store)
    with pytest.raises(ReviewError, match="reason code"):
        decide(store, e.id, "alice", "reject", e.version)
    with pytest.raises(ReviewError, match="changes nothing"):
        decide(store, e.id, "alice", "edit", e.version, edits={"prompt": e.item.prompt})
    with pytest.raises(ReviewError, match="too long"):
        decide(store, e.id, "alice", "edit", e.version, edits={"prompt": "x" * 20_001})
    assert _audit_count(store) == before  # refused actions write nothing

    accepted = decide(store, e.id, "alice", "accept", e.version)
    assert accepted.status == "accepted" and accepted.version == e.version + 1 and accepted.decided_by == "alice"
    with pytest.raises(ConflictError) as err:
        decide(store, e.id, "bob", "reject", e.version, reason_code="ambiguous")
    assert err.value.current.version == accepted.version and err.value.current.status == "accepted"

    f = entries[1]
    edited = decide(store, f.id, "bob", "edit", f.version, comment="clearer",
                    edits={"prompt": f.item.prompt + " Answer in minutes.", "reference_answer": f.item.reference_answer})
    assert edited.status == "edited" and edited.edited_item is not None
    assert edited.edited_item.prompt.endswith("Answer in minutes.")
    assert edited.edited_item.id != f.item_id and edited.edited_item.lineage.parent_id == f.item_id
    assert get_entry(store, f.item_id).item == f.item  # the original is kept beside the edit
    with store.session() as s:
        d = s.scalars(select(DecisionRow).where(DecisionRow.entry_id == f.id)).one()
        assert d.edited_fields == {"prompt": f.item.prompt + " Answer in minutes."}
        assert d.diff and "+Question" in d.diff and "-Question" in d.diff
        actions = [a.action for a in s.scalars(select(AuditRow).order_by(AuditRow.id))]
    assert actions[-2:] == ["decision.accept", "decision.edit"]

    g = entries[2]
    rejected = decide(store, g.id, "bob", "reject", g.version, reason_code="wrong_answer", comment="off by one")
    assert rejected.status == "rejected"


def test_bulk_decide_skips_stale_entries(store: Store, run_id: str) -> None:
    entries = list_entries(store, per_page=5).entries
    decide(store, entries[0].id, "carol", "accept", entries[0].version)  # now stale for the bulk request
    result = bulk_decide(store, {e.id: e.version for e in entries}, "alice", "reject", reason_code="duplicate")
    assert result.conflicts == [entries[0].id]
    assert sorted(result.decided) == sorted(e.id for e in entries[1:])
    assert list_entries(store, QueueFilter(status="rejected")).total == 4
    with pytest.raises(ReviewError):
        bulk_decide(store, {entries[1].id: 2}, "alice", "edit")


def test_accounts_hash_roles_and_login_slow_down(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    alice = add_reviewer(store, "alice", "correct horse battery", "admin")
    assert alice.is_admin
    with store.session() as s:
        stored = s.scalars(select(ReviewerRow.password_hash)).one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    with pytest.raises(AccountError, match="already exists"):
        add_reviewer(store, "alice", "another password")
    with pytest.raises(AccountError, match="role"):
        add_reviewer(store, "bob", "long enough", "owner")
    with pytest.raises(AccountError, match="too short"):
        add_reviewer(store, "bob", "short")
    with pytest.raises(AccountError, match="name"):
        add_reviewer(store, "<bob>", "long enough")

    assert verify_login(store, "alice", "correct horse battery") == alice
    assert verify_login(store, "nobody", "whatever") is None
    for _ in range(accounts_mod.FREE_FAILURES):
        assert verify_login(store, "alice", "wrong") is None
    with pytest.raises(LoginThrottled) as err:
        verify_login(store, "alice", "correct horse battery")  # past the free misses even the right one waits
    assert 0 < err.value.retry_after_s <= 1
    # once the wait is over, the right password works and resets the count
    monkeypatch.setattr(accounts_mod, "_wait_left", lambda row, now: 0.0)
    assert verify_login(store, "alice", "correct horse battery") == alice
    with store.session() as s:
        assert s.scalars(select(ReviewerRow.failed_logins)).one() == 0
