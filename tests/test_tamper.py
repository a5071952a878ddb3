"""A published version that no longer matches its manifest is never built on (issue 9, point 7).

Rows removed from the parquet, a deleted manifest, an edited card or random bytes in the
data used to go unnoticed (or block every later publish): the next version took the
tampered one as its parent, counted "added" items against the trimmed file and carried its
changelog on. Now publishing stops, before writing anything, with a message naming each bad
file; `ignore_tampered` builds on the newest version that still verifies instead.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import stat
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from test_publish import snapshot

from benchsmith.errors import PublishError
from benchsmith.funnel import Funnel
from benchsmith.publish import (
    PublishResult,
    TamperedVersionError,
    find_verified_version,
    latest_verified_version,
    publish_version,
    published_versions,
    read_items,
    strip_lifecycle,
    verify_version,
    version_problems,
)
from benchsmith.records import Item, Lineage, Verdict
from benchsmith.spec import SeedSource, StageSpec, SuiteSpec
from benchsmith.stages import StageContext
from benchsmith.verifiers.novelty import Novelty, version_sources

NOV = date(2026, 11, 5)
HINT = "rerun with --ignore-tampered to build on the newest version that still verifies"


def make_spec() -> SuiteSpec:
    return SuiteSpec(suite="demo", description="A small demo suite.", seeds=SeedSource(path=Path("seeds.jsonl")),
                     target_items=4, generators=[StageSpec(name="evolve")], verifiers=[StageSpec(name="llm_judge")])


def make_item(n: int) -> Item:
    item = Item.create(prompt=f"Item {n}: which process makes the sky look blue at noon?",
                       reference_answer=f"Rayleigh scattering ({n}).", lineage=Lineage(generator="evolve"),
                       metadata={"n": n})
    return item.with_verdict(Verdict(stage="llm_judge", passed=True, score=4.5))


def items(*ns: int) -> list[Item]:
    return [make_item(n) for n in ns]


def publish(out: Path, batch: list[Item], **kw: Any) -> PublishResult:
    return publish_version(spec=make_spec(), items=batch, rejected=items(90, 91), funnel=Funnel(), models={},
                           usage={}, stop_reason="target_reached", output_dir=out, today=NOV, **kw)


def writable(path: Path) -> Path:
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)  # published files are read-only
    return path


# --- tamperings: each edits one published folder, returns (file, what the message says) ---


def remove_rows(folder: Path) -> tuple[str, str]:
    data = writable(folder / "data" / "test.parquet")
    table = pq.read_table(data)
    pq.write_table(table.slice(0, table.num_rows - 2), data)
    return "data/test.parquet", "size and sha256 differ from manifest.json"


def delete_manifest(folder: Path) -> tuple[str, str]:
    (folder / "manifest.json").unlink()
    return "manifest.json", "missing"


def edit_card(folder: Path) -> tuple[str, str]:
    card = writable(folder / "README.md")
    text = card.read_text(encoding="utf-8")
    card.write_text(text.replace("A small demo suite.", "A small DEMO suite."), encoding="utf-8")  # same size
    return "README.md", "sha256 differs from manifest.json"


def extend_card(folder: Path) -> tuple[str, str]:
    card = writable(folder / "README.md")
    card.write_text(card.read_text(encoding="utf-8") + "\nEdited by hand.\n", encoding="utf-8")
    return "README.md", "size and sha256 differ from manifest.json"


def random_bytes(folder: Path) -> tuple[str, str]:
    data = writable(folder / "data" / "test.parquet")
    with data.open("r+b") as f:
        f.seek(data.stat().st_size // 2)
        f.write(os.urandom(64))
    return "data/test.parquet", "sha256 differs from manifest.json"


def random_file(folder: Path) -> tuple[str, str]:
    writable(folder / "data" / "test.parquet").write_bytes(os.urandom(300))
    return "data/test.parquet", "size and sha256 differ from manifest.json"


def add_data_file(folder: Path) -> tuple[str, str]:
    pq.write_table(pq.read_table(folder / "data" / "test.parquet"), folder / "data" / "extra.parquet")
    return "data/extra.parquet", "not listed in manifest.json"


def delete_listed_file(folder: Path) -> tuple[str, str]:
    (folder / "rejected" / "rejected.parquet").unlink()
    return "rejected/rejected.parquet", "missing (listed in manifest.json)"


def garble_manifest(folder: Path) -> tuple[str, str]:
    writable(folder / "manifest.json").write_text("{not json", encoding="utf-8")
    return "manifest.json", "unreadable"


TAMPERINGS: dict[str, Callable[[Path], tuple[str, str]]] = {
    "rows_removed": remove_rows, "manifest_deleted": delete_manifest, "card_edited": edit_card,
    "card_extended": extend_card, "random_bytes": random_bytes, "random_file": random_file,
    "data_file_added": add_data_file, "listed_file_deleted": delete_listed_file, "manifest_garbled": garble_manifest,
}

FIRST, SECOND = items(1, 2, 3, 4), items(1, 2, 3, 5, 6)
NEXT = items(2, 3, 4, 7)  # against FIRST: 1 added, 1 removed, 3 kept; against SECOND: 2 added, 3 removed, 2 kept


@pytest.fixture
def history(tmp_path: Path) -> Path:
    assert publish(tmp_path, FIRST).version == "2026.11"
    second = publish(tmp_path, SECOND)
    assert (second.version, second.parent) == ("2026.11.1", "2026.11")
    return tmp_path


# --- an intact history -------------------------------------------------------------------


def test_untampered_history_publishes_as_before(history: Path) -> None:
    suite = history / "demo"
    assert latest_verified_version(suite) == "2026.11.1"
    found = find_verified_version(suite)
    assert (found.version, found.skipped) == ("2026.11.1", {}) and found.manifest["version"] == "2026.11.1"
    assert [name for name, _ in published_versions(suite)] == ["2026.11.1", "2026.11"]

    before = snapshot(history)
    again = publish(history, list(reversed(SECOND)))
    assert (again.status, again.version) == ("exists", "2026.11.1")
    assert snapshot(history) == before

    res = publish(history, NEXT)
    assert (res.status, res.version, res.parent) == ("published", "2026.11.2", "2026.11.1")
    assert res.manifest["counts"] == {"published": 4, "rejected": 2, "added": 2, "removed": 3, "kept": 2}
    assert "skipped_tampered" not in res.manifest
    log = (res.path / "CHANGELOG.md").read_text(encoding="utf-8")
    assert [line.split()[1] for line in log.splitlines() if line.startswith("## ")] == \
        ["2026.11.2", "2026.11.1", "2026.11"]
    assert "Not built on" not in log
    assert publish(history, NEXT, new_version=True).parent == "2026.11.2"
    assert all(verify_version(suite / name) == [] for name, _ in published_versions(suite))


def test_no_published_version_yet(tmp_path: Path) -> None:
    assert latest_verified_version(tmp_path / "demo") is None
    assert latest_verified_version(tmp_path / "demo", ignore_tampered=True) is None
    (tmp_path / "demo").mkdir()
    assert find_verified_version(tmp_path / "demo").version is None


# --- a tampered latest version -----------------------------------------------------------


@pytest.mark.parametrize("tamper", list(TAMPERINGS))
def test_tampered_latest_version_stops_publishing(history: Path, tamper: str) -> None:
    suite = history / "demo"
    rel, what = TAMPERINGS[tamper](suite / "2026.11.1")
    expected_line = f"{suite / '2026.11.1' / rel}: {what}"
    assert any(p.startswith(expected_line) for p in version_problems(suite / "2026.11.1")), \
        version_problems(suite / "2026.11.1")
    before = snapshot(history)

    for kw in ({}, {"new_version": True}):
        for batch in (NEXT, SECOND):  # SECOND: what used to be the "exists" check
            with pytest.raises(TamperedVersionError) as caught:
                publish(history, batch, **kw)
            message = str(caught.value)
            assert expected_line in message, message
            assert "the newest published version 2026.11.1 does not match its manifest.json" in message
            assert f"{HINT} (2026.11)" in message
            assert caught.value.fallback == "2026.11"
            assert list(caught.value.tampered) == ["2026.11.1"]
            assert isinstance(caught.value, PublishError)  # the CLI prints it without a traceback
            assert snapshot(history) == before  # nothing written, not even a temp folder

    with pytest.raises(TamperedVersionError, match="2026.11.1"):
        latest_verified_version(suite)
    assert latest_verified_version(suite, ignore_tampered=True) == "2026.11"

    res = publish(history, NEXT, ignore_tampered=True)
    assert (res.status, res.version, res.parent) == ("published", "2026.11.2", "2026.11")
    assert res.manifest["parent"] == "2026.11"
    assert res.manifest["counts"] == {"published": 4, "rejected": 2, "added": 1, "removed": 1, "kept": 3}
    assert list(res.manifest["skipped_tampered"]) == ["2026.11.1"]
    assert any(p.startswith(f"{rel}: {what}") for p in res.manifest["skipped_tampered"]["2026.11.1"])
    assert json.loads((res.path / "manifest.json").read_text(encoding="utf-8")) == res.manifest
    assert verify_version(res.path) == []
    assert strip_lifecycle(read_items(res.path / "data" / "test.parquet")) == NEXT
    log = (res.path / "CHANGELOG.md").read_text(encoding="utf-8")
    assert [line.split()[1] for line in log.splitlines() if line.startswith("## ")] == ["2026.11.2", "2026.11"]
    entry = log.split("## 2026.11 ")[0]
    assert "- Parent: 2026.11\n" in entry and "- Items: 4 (1 added, 1 removed, 3 kept)" in entry
    assert "- Not built on: 2026.11.1 (no longer matching manifest.json" in entry
    assert "since 2026.11)" in (res.path / "README.md").read_text(encoding="utf-8")
    # The tampered folder is left exactly as it was, and its name is never reused.
    assert {k: v for k, v in snapshot(history).items() if k.startswith("demo/2026.11.1/")} == \
        {k: v for k, v in before.items() if k.startswith("demo/2026.11.1/")}

    # The new version is now the latest and verifies: later publishes need no flag.
    later = publish(history, items(2, 3, 4, 7, 8))
    assert (later.version, later.parent) == ("2026.11.3", "2026.11.2")
    assert later.manifest["counts"]["added"] == 1 and "skipped_tampered" not in later.manifest


def test_ignore_tampered_publishes_even_the_parents_content(history: Path) -> None:
    # Same content as the verified parent: not 'exists', or the tampered folder would stay the latest.
    edit_card(history / "demo" / "2026.11.1")
    res = publish(history, FIRST, ignore_tampered=True)
    assert (res.status, res.version, res.parent) == ("published", "2026.11.2", "2026.11")
    assert res.manifest["counts"]["kept"] == 4 and res.manifest["counts"]["added"] == 0
    assert publish(history, FIRST).status == "exists"  # now it is the latest


def test_the_issue_scenario_trimmed_file_no_longer_yields_all_added(tmp_path: Path) -> None:
    big = items(*range(100, 150))
    publish(tmp_path, big)
    remove_rows(tmp_path / "demo" / "2026.11")
    with pytest.raises(TamperedVersionError) as caught:
        publish(tmp_path, big)
    message = str(caught.value)
    assert f"{tmp_path / 'demo' / '2026.11' / 'data' / 'test.parquet'}: size and sha256 differ" in message
    assert "rerun with --ignore-tampered to publish a version with no parent, since no published version" in message
    assert caught.value.fallback is None
    assert [p.name for p in (tmp_path / "demo").iterdir()] == ["2026.11"]

    res = publish(tmp_path, big, ignore_tampered=True)
    assert (res.version, res.parent) == ("2026.11.1", None)
    assert res.manifest["counts"]["added"] == 50 and list(res.manifest["skipped_tampered"]) == ["2026.11"]
    assert "- Not built on: 2026.11 " in (res.path / "CHANGELOG.md").read_text(encoding="utf-8")


def test_every_tampered_version_newer_than_the_fallback_is_named(history: Path) -> None:
    suite = history / "demo"
    third = publish(history, NEXT)
    assert third.version == "2026.11.2"
    random_bytes(suite / "2026.11.2")
    delete_manifest(suite / "2026.11.1")
    with pytest.raises(TamperedVersionError) as caught:
        publish(history, items(9))
    message = str(caught.value)
    assert "the newest published versions 2026.11.2, 2026.11.1 do not match their manifest.json" in message
    assert f"{suite / '2026.11.2' / 'data' / 'test.parquet'}: sha256 differs from manifest.json" in message
    assert f"{suite / '2026.11.1' / 'manifest.json'}: missing" in message
    assert f"{HINT} (2026.11)" in message
    assert list(caught.value.tampered) == ["2026.11.2", "2026.11.1"]

    res = publish(history, items(9), ignore_tampered=True)
    assert (res.version, res.parent) == ("2026.11.3", "2026.11")
    assert list(res.manifest["skipped_tampered"]) == ["2026.11.2", "2026.11.1"]


def test_a_tampered_older_version_does_not_block(history: Path) -> None:
    # Only the version built on is checked; an older one is reported by novelty, not publish.
    delete_manifest(history / "demo" / "2026.11")
    assert [name for name, m in published_versions(history / "demo")] == ["2026.11.1", "2026.11"]
    res = publish(history, NEXT)
    assert (res.version, res.parent) == ("2026.11.2", "2026.11.1")


def test_folders_that_were_never_published_are_still_ignored(history: Path) -> None:
    suite = history / "demo"
    (suite / "2026.11.2").mkdir()  # empty
    (suite / "2026.11.3").mkdir()
    (suite / "2026.11.3" / "notes.txt").write_text("not a version")
    assert latest_verified_version(suite) == "2026.11.1"
    res = publish(history, NEXT)
    assert (res.version, res.parent) == ("2026.11.4", "2026.11.1")


def test_the_error_survives_pickling(history: Path) -> None:
    # Prefect and Dask move exceptions between processes.
    edit_card(history / "demo" / "2026.11.1")
    with pytest.raises(TamperedVersionError) as caught:
        latest_verified_version(history / "demo")
    back = pickle.loads(pickle.dumps(caught.value))
    assert str(back) == str(caught.value)
    assert (back.tampered, back.fallback) == (caught.value.tampered, "2026.11")


# --- novelty -----------------------------------------------------------------------------


@pytest.mark.parametrize("tamper", ["rows_removed", "random_bytes", "manifest_deleted", "card_edited"])
def test_novelty_skips_tampered_versions_and_records_them(history: Path, tamper: str,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    suite = history / "demo"
    rel, what = TAMPERINGS[tamper](suite / "2026.11.1")
    skipped: dict[str, list[str]] = {}
    sources = version_sources(suite, skipped=skipped)
    assert [s.label for s in sources] == ["2026.11"]
    assert list(skipped) == ["2026.11.1"]
    assert any(p.startswith(f"{suite / '2026.11.1' / rel}: {what}") for p in skipped["2026.11.1"])
    assert [s.label for s in version_sources(suite)] == ["2026.11"]

    stage = Novelty()
    with caplog.at_level(logging.WARNING, logger="benchsmith.verifiers.novelty"):
        name, found = stage.sources(StageContext(suite="demo", output_dir=history, workspace=history / ".bs"))
    assert name == "demo" and [s.label for s in found] == ["2026.11"]
    assert stage.skipped_versions == skipped
    assert "version 2026.11.1 of suite 'demo' no longer matches its manifest.json" in caplog.text


def test_novelty_indexes_an_intact_history_unchanged(history: Path) -> None:
    skipped: dict[str, list[str]] = {}
    sources = version_sources(history / "demo", skipped=skipped)
    assert [s.label for s in sources] == ["2026.11", "2026.11.1"] and skipped == {}
    manifest = json.loads((history / "demo" / "2026.11.1" / "manifest.json").read_text(encoding="utf-8"))
    assert sources[1].fingerprint == manifest["files"]["data/test.parquet"]["sha256"]
