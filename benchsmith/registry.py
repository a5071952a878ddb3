"""Registries that let a suite spec name stages, with 'did you mean' errors.

Stages register themselves with a decorator::

    @verifiers.register("rules")
    class RuleChecks(Verifier): ...

and the spec loader looks them up by name.

Other distributions add stages through entry points: with ``entry_point_group`` set (e.g.
"benchsmith.verifiers"), the first lookup also loads every entry point of that group::

    [project.entry-points."benchsmith.verifiers"]
    shout = "my_plugin:Shout"

Loading it imports the module, whose decorator registers the class; a stage class that
no decorator registered is registered under the entry point's name. A plugin that fails
to load is recorded as a `PluginError` (see `plugin_errors`): looking up its name raises
it, and the other stages stay usable.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from benchsmith.errors import PluginError, UnknownNameError

T = TypeVar("T")


@dataclass(frozen=True)
class StageOrigin:
    """Where a registered stage comes from: benchsmith itself, or a plugin's distribution."""

    distribution: str | None = None
    """The distribution (pip package) that provides it; None for a built-in stage."""
    version: str | None = None
    entry_point: str | None = None
    """The entry point ("name = module:attr") that loaded it."""
    module: str | None = None
    """For a stage registered by neither: the module that defines it."""

    @property
    def builtin(self) -> bool:
        return self.distribution is None and self.module is None

    def describe(self) -> str:
        if self.distribution is not None:
            return f"{self.distribution} {self.version}".rstrip() if self.version else self.distribution
        return self.module if self.module is not None else "built-in"


BUILTIN = StageOrigin()


class Registry(Generic[T]):
    """A name → class map for one kind of stage.

    `modules` are imported on first lookup so that registration happens without the
    caller having to import every stage module itself; then, when `entry_point_group` is
    set, every entry point of that group is loaded (third-party stages). `base`, when given,
    is the class an entry point's object must subclass to be registered under its name.
    """

    def __init__(self, kind: str, modules: tuple[str, ...] = (), entry_point_group: str | None = None,
                 base: type | None = None) -> None:
        self.kind = kind
        self._modules = modules
        self.entry_point_group = entry_point_group
        self._base = base
        self._entries: dict[str, type[T]] = {}
        self._origins: dict[str, StageOrigin] = {}
        self._errors: dict[str, PluginError] = {}
        self._loading_origin: StageOrigin | None = None
        self._loaded = False
        self._loading = False

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        """Class decorator that registers a stage under `name` (and sets `cls.name`)."""

        def decorate(cls: type[T]) -> type[T]:
            if name in self._entries and self._entries[name] is not cls:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            cls.name = name  # type: ignore[attr-defined]
            self._entries[name] = cls
            self._origins.setdefault(name, self._loading_origin or _origin_of_module(cls.__module__))
            return cls

        return decorate

    def _load(self) -> None:
        # `_loading` stops a plugin that looks a stage up while it is being imported from recursing.
        if self._loaded or self._loading:
            return
        self._loading = True
        try:
            for module in self._modules:
                importlib.import_module(module)
            if self.entry_point_group is not None:
                self._load_entry_points(self.entry_point_group)
            self._loaded = True
        finally:
            self._loading = False

    def _load_entry_points(self, group: str) -> None:
        seen: set[tuple[str, str]] = set()
        for ep in importlib.metadata.entry_points(group=group):
            if (ep.name, ep.value) in seen:  # the same distribution found twice on sys.path
                continue
            seen.add((ep.name, ep.value))
            dist = getattr(ep, "dist", None)
            origin = StageOrigin(distribution=dist.name if dist is not None else None,
                                 version=dist.version if dist is not None else None,
                                 entry_point=f"{ep.name} = {ep.value}")
            if origin.distribution is None:  # metadata without a name: still not built-in
                origin = StageOrigin(distribution="(unknown distribution)", entry_point=origin.entry_point)
            before = set(self._entries)
            try:
                self._load_entry_point(ep, origin)
            except Exception as err:  # noqa: BLE001 (any failure of third-party code is reported, not raised)
                if not isinstance(err, PluginError):
                    err = self._plugin_error(ep, origin, f"{type(err).__name__}: {err}", err)
                for name in set(self._entries) - before:  # what a half-imported module registered
                    del self._entries[name]
                    self._origins.pop(name, None)
                self._errors[ep.name] = err

    def _load_entry_point(self, ep: importlib.metadata.EntryPoint, origin: StageOrigin) -> None:
        before = set(self._entries)
        self._loading_origin = origin
        try:
            obj: Any = ep.load()
        finally:
            self._loading_origin = None
        for name in set(self._entries) - before:
            self._origins[name] = origin
        if not isinstance(obj, type):
            return  # a module (or other object) loaded for the registrations it makes
        if self._base is not None and not issubclass(obj, self._base):
            raise self._plugin_error(ep, origin, f"{obj.__module__}.{obj.__qualname__} is not a "
                                     f"{self._base.__name__} subclass")
        names = [n for n, cls in self._entries.items() if cls is obj]
        if not names:
            self._loading_origin = origin
            try:
                self.register(ep.name)(obj)
            except ValueError as err:
                raise self._plugin_error(ep, origin, str(err)) from None
            finally:
                self._loading_origin = None
            names = [ep.name]
        for name in names:
            self._origins[name] = origin

    def _plugin_error(self, ep: importlib.metadata.EntryPoint, origin: StageOrigin, what: str,
                      cause: BaseException | None = None) -> PluginError:
        where = f"distribution {origin.describe()}"
        err = PluginError(f"could not load {self.kind} plugin {ep.name!r} (entry point {ep.name} = {ep.value} in "
                          f"group {ep.group!r}, {where}): {what}",
                          group=ep.group, entry_point=ep.name, distribution=origin.distribution)
        err.__cause__ = cause
        return err

    @property
    def plugin_errors(self) -> list[PluginError]:
        """The entry points of this registry's group that failed to load, by entry-point name."""
        self._load()
        return [self._errors[name] for name in sorted(self._errors)]

    def origin(self, name: str) -> StageOrigin:
        """Where the stage registered as `name` comes from."""
        self.get(name)
        return self._origins.get(name, BUILTIN)

    def names(self) -> list[str]:
        """All registered names, sorted."""
        self._load()
        return sorted(self._entries)

    def get(self, name: str) -> type[T]:
        """The class registered as `name`; an unknown name lists the known ones."""
        self._load()
        if name in self._entries:
            return self._entries[name]
        if name in self._errors:
            raise self._errors[name]  # its __cause__ is the plugin's own exception
        known = self.names()
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        broken = "".join(f"\n  ({err})" for err in self.plugin_errors)
        raise UnknownNameError(
            f"unknown {self.kind} {name!r}.{hint} Known {self.kind}s: {', '.join(known) or '(none)'}{broken}")

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries


def _origin_of_module(module: str) -> StageOrigin:
    """The origin of a stage registered outside any entry point: benchsmith's own, or its module's."""
    if module == "benchsmith" or module.startswith("benchsmith."):
        return BUILTIN
    return StageOrigin(module=module)
