"""Duplicate groups: union-find over similar pairs, and choosing which member to keep.

Shared by exact, semantic (and later MinHash) dedup so that they all keep the same
member of a group: a real item before a planted canary, then the best
`Item.quality_score()`, ties broken by input order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from benchsmith.canaries import is_canary
from benchsmith.records import Item


class UnionFind:
    """Disjoint sets over 0..n-1 with path halving and union by size."""

    def __init__(self, n: int) -> None:
        if n < 0:
            raise ValueError(f"UnionFind size must be >= 0, got {n}")
        self._parent = list(range(n))
        self._size = [1] * n

    def __len__(self) -> int:
        return len(self._parent)

    def find(self, x: int) -> int:
        """The representative of `x`'s set."""
        parent = self._parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> bool:
        """Merge the sets of `a` and `b`; False if they were already one set."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if self._size[ra] < self._size[rb]:
            ra, rb = rb, ra
        self._parent[rb] = ra
        self._size[ra] += self._size[rb]
        return True

    def groups(self) -> list[list[int]]:
        """All sets with more than one member, each sorted, ordered by their first member."""
        by_root: dict[int, list[int]] = {}
        for i in range(len(self._parent)):
            by_root.setdefault(self.find(i), []).append(i)
        return sorted((g for g in by_root.values() if len(g) > 1), key=lambda g: g[0])


def groups_from_pairs(n: int, pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Connected components (size > 1) of the graph on 0..n-1 with the given edges."""
    uf = UnionFind(n)
    for a, b in pairs:
        uf.union(a, b)
    return uf.groups()


@dataclass(frozen=True)
class GroupDecision:
    """Which member of a duplicate group survives and which are dropped in its favour."""

    keep: int
    drop: tuple[int, ...]


def choose_keepers(items: Sequence[Item], groups: Iterable[Sequence[int]]) -> list[GroupDecision]:
    """For each group keep the best-scored real item (ties: the earliest in `items`).

    A canary (`benchsmith.canaries`) is kept only when its whole group is canaries: a
    near-copy must lose to the item it copies, or dedup would drop the real one."""
    decisions = []
    for group in groups:
        members = sorted(group)
        # max() returns the first maximal element, so ties go to the earliest index.
        keep = max(members, key=lambda i: (not is_canary(items[i]), items[i].quality_score()))
        decisions.append(GroupDecision(keep=keep, drop=tuple(i for i in members if i != keep)))
    return decisions
