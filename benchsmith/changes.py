"""What changed between two sets of published items: added, retired and edited.

One function, `diff_items`, decides it, and both the changelog a publish writes and
`benchsmith diff` use it, so the two can never disagree. Item ids are content hashes, so an
edited item has a new id; it is recognised by `metadata.edited_from` (set by the review
queue's edit) naming an id of the older set. Everything else that is new is *added*, and
everything of the older set that is gone is *retired*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from benchsmith.records import Item

PROMPT_CHARS = 120
"""How much of a prompt the changelog and the plain `diff` output show (`--json` has all of it)."""


@dataclass(frozen=True)
class ItemRef:
    """An item named in a diff: its id and prompt."""

    id: str
    prompt: str


@dataclass(frozen=True)
class EditRef:
    """An edited item: the id and prompt it had, and the ones it has now."""

    old_id: str
    new_id: str
    old_prompt: str
    new_prompt: str


@dataclass
class ItemDiff:
    """The change from `old` (a version name, None for nothing) to `new`."""

    old: str | None
    new: str
    added: list[ItemRef] = field(default_factory=list)
    retired: list[ItemRef] = field(default_factory=list)
    edited: list[EditRef] = field(default_factory=list)
    kept: int = 0

    def counts(self) -> dict[str, int]:
        """How many items were added, retired, edited and kept unchanged."""
        return {"added": len(self.added), "retired": len(self.retired), "edited": len(self.edited),
                "kept": self.kept}

    def ids(self) -> dict[str, Any]:
        """The ids of each kind of change (what a manifest records)."""
        return {"added": [r.id for r in self.added], "retired": [r.id for r in self.retired],
                "edited": [[e.old_id, e.new_id] for e in self.edited], "kept": self.kept}

    def as_json(self) -> dict[str, Any]:
        """Everything, prompts in full: what `benchsmith diff --json` prints."""
        return {"from": self.old, "to": self.new, "counts": self.counts(),
                "added": [{"id": r.id, "prompt": r.prompt} for r in self.added],
                "retired": [{"id": r.id, "prompt": r.prompt} for r in self.retired],
                "edited": [{"old_id": e.old_id, "new_id": e.new_id, "old_prompt": e.old_prompt,
                            "new_prompt": e.new_prompt} for e in self.edited]}


def diff_items(old: Sequence[Item], new: Sequence[Item], *, old_name: str | None, new_name: str) -> ItemDiff:
    """Added, retired and edited items from `old` to `new` (each list in the order of its set)."""
    old_by_id = {it.id: it for it in old}
    new_ids = {it.id for it in new}
    diff = ItemDiff(old=old_name, new=new_name)
    edited_old: set[str] = set()
    for it in new:
        if it.id in old_by_id:
            diff.kept += 1
            continue
        source = it.metadata.get("edited_from")
        if isinstance(source, str) and source in old_by_id and source not in new_ids and source not in edited_old:
            edited_old.add(source)
            diff.edited.append(EditRef(source, it.id, old_by_id[source].prompt, it.prompt))
        else:
            diff.added.append(ItemRef(it.id, it.prompt))
    diff.retired = [ItemRef(it.id, it.prompt) for it in old
                    if it.id not in new_ids and it.id not in edited_old]
    return diff


def short(text: str, limit: int = PROMPT_CHARS) -> str:
    """One line of at most `limit` characters (an ellipsis marks a cut)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit - 1].rstrip() + "…"


def render_changes_markdown(diff: ItemDiff) -> str:
    """The changelog's lists of added, retired and edited items (ids and prompts)."""
    def esc(text: str) -> str:
        return short(text).replace("`", "'")

    parts: list[str] = []
    for title, refs in (("Added", diff.added), ("Retired", diff.retired)):
        if refs:
            parts.append(f"### {title} ({len(refs)})\n\n" + "\n".join(f"- `{r.id}`: {esc(r.prompt)}" for r in refs))
    if diff.edited:
        parts.append(f"### Edited ({len(diff.edited)})\n\n" + "\n".join(
            f"- `{e.old_id}` → `{e.new_id}`: {esc(e.new_prompt)}" for e in diff.edited))
    return "\n\n".join(parts)


def parse_changes_markdown(entry: str) -> dict[str, list[str]]:
    """The ids listed under Added / Retired / Edited (the new id) in one changelog entry, by kind."""
    out: dict[str, list[str]] = {"added": [], "retired": [], "edited": []}
    kind: str | None = None
    for line in entry.splitlines():
        if line.startswith("### "):
            word = line[4:].split(" ", 1)[0].lower()
            kind = word if word in out else None
        elif line.startswith("## "):
            kind = None
        elif kind and line.startswith("- `"):
            ids = line.split("`")[1::2]  # prompts have their backticks replaced
            out[kind].append(ids[-1] if kind == "edited" else ids[0])
    return out
