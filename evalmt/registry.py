"""A small generic registry: one per extension point (readers, systems, metrics).

Plugins register with a decorator or lazily as ``"module:attr"`` so that heavy
back ends are imported only when used. Unknown names get a did-you-mean error.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from typing import Generic, TypeVar

from evalmt.errors import RegistryError

T = TypeVar("T")


class Registry(Generic[T]):
    """Map short plugin names to objects (classes or functions) of one kind."""

    def __init__(self, kind: str, base: type | None = None) -> None:
        self.kind = kind
        self._base = base
        self._items: dict[str, T] = {}
        self._lazy: dict[str, str] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Return a decorator that registers its argument under ``name``."""

        def decorator(obj: T) -> T:
            self.add(name, obj)
            return obj

        return decorator

    def add(self, name: str, obj: T) -> None:
        """Register ``obj`` under ``name``; a second registration of a name is an error."""
        if name in self._items and self._items[name] is not obj:
            raise RegistryError(f"{self.kind} {name!r} is registered twice")
        if self._base is not None and isinstance(obj, type) and not issubclass(obj, self._base):
            raise RegistryError(
                f"{self.kind} {name!r}: {obj!r} is not a subclass of {self._base.__name__}"
            )
        self._items[name] = obj

    def add_lazy(self, name: str, target: str) -> None:
        """Register ``"package.module:attr"``, imported on first ``get(name)``."""
        self._lazy[name] = target

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(set(self._items) | set(self._lazy))

    def __contains__(self, name: object) -> bool:
        return name in self._items or name in self._lazy

    def get(self, name: str) -> T:
        """Return the plugin called ``name`` or raise a did-you-mean ``RegistryError``."""
        if name not in self._items and name in self._lazy:
            module_name, _, attr = self._lazy[name].partition(":")
            obj = getattr(importlib.import_module(module_name), attr)
            self.add(name, obj)
        if name not in self._items:
            hint = difflib.get_close_matches(str(name), self.names(), n=1)
            did_you_mean = f"did you mean {hint[0]!r}? " if hint else ""
            raise RegistryError(
                f"unknown {self.kind} {name!r}; {did_you_mean}available: {', '.join(self.names())}"
            )
        return self._items[name]
