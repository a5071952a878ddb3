"""`replacing`: the new file appears whole under its name, or not at all; `exclusive` never replaces."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchsmith.fsutil import replacing


def test_replacing_puts_the_file_in_place_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old")
    with replacing(target) as tmp:
        Path(tmp).write_text("new")
        assert target.read_text() == "old"  # readers see the old content until the end
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_exclusive_keeps_a_file_that_appeared_meanwhile(tmp_path: Path) -> None:
    target = tmp_path / "a.db"
    with pytest.raises(FileExistsError), replacing(target, exclusive=True) as tmp:
        Path(tmp).write_text("mine")
        target.write_text("theirs")  # another writer got there first (and may have it open)
    assert target.read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.db"]
    with replacing(tmp_path / "b.db", exclusive=True) as tmp:
        Path(tmp).write_text("mine")
    assert (tmp_path / "b.db").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.db", "b.db"]
