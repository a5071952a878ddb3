"""Registries that let a suite spec name stages, with 'did you mean' errors.

Stages register themselves with a decorator::

    @verifiers.register("rules")
    class RuleChecks(Verifier): ...

and the spec loader looks them up by name.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from typing import Generic, TypeVar

from benchsmith.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name → class map for one kind of stage.

    `modules` are imported on first lookup so that registration happens without the
    caller having to import every stage module itself.
    """

    def __init__(self, kind: str, modules: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self._modules = modules
        self._entries: dict[str, type[T]] = {}
        self._loaded = False

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        """Class decorator that registers a stage under `name` (and sets `cls.name`)."""

        def decorate(cls: type[T]) -> type[T]:
            if name in self._entries and self._entries[name] is not cls:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            cls.name = name  # type: ignore[attr-defined]
            self._entries[name] = cls
            return cls

        return decorate

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            for module in self._modules:
                importlib.import_module(module)

    def names(self) -> list[str]:
        """All registered names, sorted."""
        self._load()
        return sorted(self._entries)

    def get(self, name: str) -> type[T]:
        """The class registered as `name`; an unknown name lists the known ones."""
        self._load()
        try:
            return self._entries[name]
        except KeyError:
            known = self.names()
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}.{hint} Known {self.kind}s: {', '.join(known) or '(none)'}"
            ) from None

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries
