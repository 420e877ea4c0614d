"""Name -> factory registries, so configs hold short names and misses list the valid ones."""

from __future__ import annotations

from typing import Callable, Generic, TypeVar

from voxtwin.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection of swappable parts (features, models, vocoders)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} already registered")
            self._items[name] = obj
            return obj

        return add

    def get(self, name: str) -> T:
        if name not in self._items:
            raise UnknownNameError(f"unknown {self.kind} {name!r}; available: {', '.join(self.names())}")
        return self._items[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items
