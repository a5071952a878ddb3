"""Live releases (issue 12): rotation at a constant size, novelty across versions, held-back items,
one release per month, relative source dates — on the fake OpenAI server, with real publishes."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from suite_factory import make_spec

from benchsmith.changes import parse_changes_markdown
from benchsmith.errors import SpecError
from benchsmith.flows.refresh import refresh_run
from benchsmith.funnel import Funnel
from benchsmith.publish import publish_version, read_items, verify_version
from benchsmith.records import Item, Lineage
from benchsmith.releases import diff_versions, list_releases, private_suite
from benchsmith.spec import parse_spec
from benchsmith.stages import StageContext
from benchsmith.temporal import resolve_date
from benchsmith.verifiers.novelty import Novelty

pytestmark = pytest.mark.usefixtures("prefect_local_api")

NOV, DEC, JAN = date(2026, 11, 5), date(2026, 12, 3), date(2027, 1, 4)


def refresh_spec(tmp_path: Path, fake_llm: Any, **refresh: Any) -> Any:
    return make_spec(tmp_path, fake_llm, target_items=6, budget={"max_llm_calls": 200, "max_rounds": 4},
                     canaries={"enabled": False},
                     refresh={"enabled": True, "size": 6, "retire_share": 1 / 3, **refresh})


def items_of(path: Path) -> list[Item]:
    return read_items(path / "data" / "test.parquet")


def test_rotation_keeps_the_size_retires_the_oldest_and_adds_only_novel_items(tmp_path: Path, fake_llm: Any) -> None:
    spec = refresh_spec(tmp_path, fake_llm)
    ws, out = tmp_path / "ws", tmp_path / "outputs"
    first = refresh_run(spec, workspace=ws, output_dir=out, today=NOV)
    assert (first.status, first.version) == ("published", "2026.11")
    v1 = items_of(first.report.publish.path)
    assert len(v1) == 6 and {it.metadata["introduced_in"] for it in v1} == {"2026.11"}

    second = refresh_run(spec, workspace=ws, output_dir=out, today=DEC)
    assert (second.status, second.version, second.plan.parent) == ("published", "2026.12", "2026.11")
    v2 = items_of(second.report.publish.path)
    old, new = {it.id for it in v1}, {it.id for it in v2}
    assert len(v2) == 6                                    # the size is kept
    assert len(old - new) == 2 and len(new - old) == 2     # a third retired, as many new
    fresh = [it for it in v2 if it.id not in old]
    assert all(it.metadata["introduced_in"] == "2026.12" for it in fresh)
    assert all(it.metadata["introduced_in"] == "2026.11" for it in v2 if it.id in old)
    for it in fresh:                                       # novel against version one, by the stage
        verdict = it.verdict("novelty")
        assert verdict is not None and verdict.passed and (verdict.score or 0) < 0.9
    manifest = second.report.publish.manifest
    assert sorted(r["id"] for r in manifest["retired"]) == sorted(old - new)
    assert {(r["introduced_in"], r["retired_in"]) for r in manifest["retired"]} == {("2026.11", "2026.12")}
    assert manifest["refresh"]["retired"] == 2 and manifest["refresh"]["new"] == 2

    # The changelog lists exactly what `diff` finds.
    diff = diff_versions(out / spec.suite, "2026.11", "2026.12")
    entry = (second.report.publish.path / "CHANGELOG.md").read_text().split("## 2026.11 ")[0]
    listed = parse_changes_markdown(entry)
    assert listed["added"] == [r.id for r in diff.added] and sorted(listed["added"]) == sorted(new - old)
    assert listed["retired"] == [r.id for r in diff.retired] and sorted(listed["retired"]) == sorted(old - new)
    assert [(v.name, v.size, v.added, v.retired, v.parent) for v in list_releases(out / spec.suite)] == [
        ("2026.11", 6, 6, 0, None), ("2026.12", 6, 2, 2, "2026.11")]

    # A retired item never comes back: the third release retires the other 2026.11 items first.
    third = refresh_run(spec, workspace=ws, output_dir=out, today=JAN)
    v3 = {it.id for it in items_of(third.report.publish.path)}
    assert len(v3) == 6 and not (v3 & (old - new))
    assert not (set(third.plan.retire) - old)               # the oldest (2026.11) go before 2026.12's


def test_one_release_per_month_unless_forced(tmp_path: Path, fake_llm: Any) -> None:
    spec = refresh_spec(tmp_path, fake_llm)
    ws, out = tmp_path / "ws", tmp_path / "outputs"
    refresh_run(spec, workspace=ws, output_dir=out, today=NOV)
    before = fake_llm.stats()["requests"]
    again = refresh_run(spec, workspace=ws, output_dir=out, today=date(2026, 11, 28))
    assert (again.status, again.version, again.report) == ("exists", "2026.11", None)
    assert fake_llm.stats()["requests"] == before           # nothing planned, nothing asked
    assert [p.name for p in (out / spec.suite).iterdir()] == ["2026.11"]
    forced = refresh_run(spec, workspace=ws, output_dir=out, today=date(2026, 11, 28), force=True)
    assert (forced.status, forced.version, forced.plan.parent) == ("published", "2026.11.1", "2026.11")
    assert len(items_of(forced.report.publish.path)) == 6


def test_held_back_items_go_public_one_release_later(tmp_path: Path, fake_llm: Any) -> None:
    spec = refresh_spec(tmp_path, fake_llm, private=True)
    ws, out = tmp_path / "ws", tmp_path / "outputs"
    first = refresh_run(spec, workspace=ws, output_dir=out, today=NOV)
    held_1 = first.report.held_back
    assert held_1 is not None and held_1.path == out / private_suite(spec.suite) / "2026.11"
    held_ids = {it.id for it in items_of(held_1.path)}
    public_1 = {it.id for it in items_of(first.report.publish.path)}
    assert len(held_ids) == 2 and len(public_1) == 6 and not (held_ids & public_1)
    assert verify_version(held_1.path) == []

    second = refresh_run(spec, workspace=ws, output_dir=out, today=DEC)
    public_2 = {it.id for it in items_of(second.report.publish.path)}
    assert second.plan.released_from == "2026.11" and set(second.plan.released) == held_ids
    assert len(public_2) == 6 and held_ids <= public_2          # released one cycle later
    assert len(public_1 - public_2) == 2 and public_2 - public_1 == held_ids  # nothing new goes public directly
    held_2 = {it.id for it in items_of(second.report.held_back.path)}
    assert len(held_2) == 2 and not (held_2 & (public_1 | held_ids))
    manifest = second.report.publish.manifest
    assert manifest["refresh"]["released_from"] == "2026.11" and manifest["refresh"]["held_back"] == 2


def test_a_run_where_nothing_survives_publishes_nothing(tmp_path: Path, fake_llm: Any) -> None:
    spec = refresh_spec(tmp_path, fake_llm)
    ws, out = tmp_path / "ws", tmp_path / "outputs"
    refresh_run(spec, workspace=ws, output_dir=out, today=NOV)
    before = sorted(p.name for p in (out / spec.suite).iterdir())
    fake_llm.add_rule(match="\n\nReference answer:\n", response={
        "clarity": 1, "self_containedness": 1, "answerability": 1, "answer_correctness": 1, "difficulty": 1,
        "rationale": "bad"})
    result = refresh_run(spec, workspace=ws, output_dir=out, today=DEC)
    assert result.status == "nothing" and result.report.publish is None
    assert sorted(p.name for p in (out / spec.suite).iterdir()) == before  # no version, no temp folder


# --- novelty and retirement, the stage alone -------------------------------------------------


def _item(n: int, **metadata: Any) -> Item:
    topics = ["tides and the moon", "bread yeast rising", "glacier movement", "volcanic ash clouds",
              "honeybee dances", "radio wave propagation"]
    return Item.create(prompt=f"Explain in two sentences how {topics[n]} works.", reference_answer=f"Answer {n}.",
                       lineage=Lineage(generator="evolve"), metadata=metadata)


def _publish(spec: Any, items: list[Item], out: Path, today: date) -> None:
    publish_version(spec=spec, items=items, rejected=[], funnel=Funnel(), models={}, usage={},
                    stop_reason="target_reached", output_dir=out, today=today)


def test_novelty_keeps_kept_items_and_never_lets_a_retired_one_return(tmp_path: Path, ctx: StageContext) -> None:
    spec = parse_spec({"suite": "nov", "seeds": {"path": "s.jsonl"}, "target_items": 3,
                       "generators": [{"name": "evolve"}]})
    out = tmp_path / "outputs"
    _publish(spec, [_item(0), _item(1), _item(2)], out, NOV)
    _publish(spec, [_item(1), _item(2), _item(3)], out, DEC)   # item 0 retired in 2026.12
    live = items_of(out / "nov" / "2026.12")
    ctx.suite, ctx.output_dir = "nov", out
    kept = next(it for it in live if it.id == _item(1).id)
    candidates = [kept, _item(0), _item(1), _item(4)]           # a kept item, a returning one, a copy, a new one
    import asyncio

    verdicts = asyncio.run(Novelty().verify(candidates, ctx))
    assert [v.passed for v in verdicts] == [True, False, False, True]
    assert verdicts[0].details.get("kept") is True
    assert verdicts[1].reason == "retired_item_returns"
    assert verdicts[2].reason == "seen_in_earlier_version"


# --- temporal sourcing --------------------------------------------------------------------------


@pytest.mark.parametrize(("written", "today", "day"), [
    ("-60d", date(2026, 12, 1), date(2026, 10, 2)),
    ("-2w", date(2026, 12, 1), date(2026, 11, 17)),
    ("last-month", date(2026, 12, 15), date(2026, 11, 1)),
    ("last-month", date(2027, 1, 1), date(2026, 12, 1)),
    ("this-month", date(2026, 12, 15), date(2026, 12, 1)),
    ("-1m", date(2026, 3, 31), date(2026, 2, 28)),
    ("-1y", date(2028, 2, 29), date(2027, 2, 28)),
    ("2025-01-01", date(2026, 12, 1), date(2025, 1, 1)),
])
def test_relative_source_dates_resolve_against_the_run_day(written: str, today: date, day: date) -> None:
    assert resolve_date(written, today) == day


def test_a_bad_min_date_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec({"suite": "d", "documents": {"path": "docs", "min_date": "yesterday"}, "target_items": 2,
                    "generators": [{"name": "document_qa"}]}, tmp_path / "spec.yaml")
    assert "documents.min_date" in str(err.value) and "last-month" in str(err.value)
    assert str(tmp_path / "spec.yaml") in str(err.value)


def test_card_states_the_source_window_and_the_model_cutoffs(tmp_path: Path) -> None:
    from benchsmith.refresh import resolve_dates, source_window

    spec = parse_spec({"suite": "docs", "documents": {"path": "docs", "min_date": "last-month"}, "target_items": 2,
                       "generators": [{"name": "document_qa"}],
                       "llm": {"cutoffs": {"generator": "2026-06-01", "judge": "2026-03-01"}}})
    window = source_window(spec, DEC)
    assert window == {"min_source_date": "2026-11-01", "written": "last-month", "until": "2026-12-03"}
    assert resolve_dates(spec, DEC).documents.min_date == date(2026, 11, 1)
    assert spec.spec_hash() == parse_spec({**json.loads(spec.model_dump_json(exclude={"source_path"})),
                                           "llm": {}}).spec_hash()  # cutoffs inform, they decide nothing
    res = publish_version(spec=spec, items=[_item(0), _item(1)], rejected=[], funnel=Funnel(), models={},
                          usage={}, stop_reason="target_reached", output_dir=tmp_path, today=DEC,
                          extra_manifest={"sources_window": window})
    card = (res.path / "README.md").read_text()
    assert "## Time window" in card and "Sources dated from **2026-11-01** to **2026-12-03**" in card
    assert "| generator | - | 2026-06-01 |" in card and "| judge | - | 2026-03-01 |" in card
    assert "Every source is newer than every stated cutoff." in card


def test_a_crash_between_the_held_back_and_the_public_publish_is_resumed(tmp_path: Path, fake_llm: Any,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import benchsmith.refresh as refresh_module
    from benchsmith.releases import orphaned_held_back

    spec = refresh_spec(tmp_path, fake_llm, private=True)
    ws, out = tmp_path / "ws", tmp_path / "outputs"
    refresh_run(spec, workspace=ws, output_dir=out, today=NOV)
    real_publish = refresh_module.publish_version

    def crash_before_the_public_one(**kw: Any) -> Any:  # the process dies right after the held-back publish
        if kw["spec"].suite == spec.suite:
            raise SystemExit("killed between the two publishes")
        return real_publish(**kw)

    monkeypatch.setattr(refresh_module, "publish_version", crash_before_the_public_one)
    with pytest.raises(SystemExit):
        refresh_run(spec, workspace=ws, output_dir=out, today=DEC)
    monkeypatch.undo()
    private_dir = out / private_suite(spec.suite)
    assert [p.name for p in (out / spec.suite).iterdir()] == ["2026.11"]       # no public release
    assert (private_dir / "2026.12").is_dir() and orphaned_held_back(out, spec.suite) == {"2026.12"}
    orphan = json.loads((private_dir / "2026.12" / "manifest.json").read_text())
    assert [v.name for v in list_releases(out / spec.suite)] == ["2026.11"]

    before = fake_llm.stats()["requests"]
    resumed = refresh_run(spec, workspace=ws, output_dir=out, today=DEC)
    assert fake_llm.stats()["requests"] == before                             # every task came from its result
    assert (resumed.status, resumed.version, resumed.plan.released_from) == ("published", "2026.12", "2026.11")
    held = resumed.report.held_back
    assert held.status == "exists" and held.path == private_dir / "2026.12"   # the orphan is this release's: reused
    assert held.manifest["created_at"] == orphan["created_at"]
    assert sorted(p.name for p in private_dir.iterdir()) == ["2026.11", "2026.12"]
    assert orphaned_held_back(out, spec.suite) == set() and verify_version(private_dir / "2026.12") == []
    public_2 = {it.id for it in items_of(resumed.report.publish.path)}
    held_2 = {it.id for it in items_of(held.path)}
    assert len(public_2) == 6 and len(held_2) == 2 and not (held_2 & public_2)
    assert {it.id for it in items_of(private_dir / "2026.11")} <= public_2    # November's held-back went public
