"""Explicit, per-concept registries of plugin classes, selected by a ``kind`` name.

Built-in kinds are listed in code; third-party kinds arrive through entry points
(group ``lifelong.<concept>``) and are loaded only when a registry is first asked.

Examples
--------
>>> registry: PluginRegistry[object] = PluginRegistry("learner", {"dummy": object})
>>> registry.get("dummy")
<class 'object'>
>>> registry.get("nope")
Traceback (most recent call last):
...
lifelong.errors.ConfigError: learner kind: expected one of ['dummy'], got 'nope'
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from lifelong.errors import ConfigError

T = TypeVar("T")


class PluginRegistry(Generic[T]):
    """Kinds of one concept (learner, source, trigger...) mapped to their classes."""

    def __init__(self, concept: str, builtins: Mapping[str, type[T]]) -> None:
        self._concept = concept
        self._kinds: dict[str, type[T]] = dict(builtins)
        self._entry_points_loaded = False

    def register(self, kind: str, cls: type[T]) -> None:
        """Add ``cls`` under ``kind``; an existing kind is never silently replaced."""
        if kind in self._kinds and self._kinds[kind] is not cls:
            raise ConfigError(f"{self._concept} kind {kind!r}: already registered to {self._kinds[kind]!r}")
        self._kinds[kind] = cls

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for point in entry_points(group=f"lifelong.{self._concept}"):
            if point.name not in self._kinds:
                self._kinds[point.name] = point.load()

    def get(self, kind: str) -> type[T]:
        """The class registered as ``kind``; the error lists the known kinds."""
        if kind not in self._kinds:
            self._load_entry_points()
        try:
            return self._kinds[kind]
        except KeyError:
            raise ConfigError(
                f"{self._concept} kind: expected one of {sorted(self._kinds)}, got {kind!r}"
            ) from None

    def kinds(self) -> list[str]:
        """Registered kind names, sorted."""
        self._load_entry_points()
        return sorted(self._kinds)


__all__ = ["PluginRegistry"]
