"""A minimal listener list, so the core can announce changes without importing Qt."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Observers(Generic[T]):
    def __init__(self) -> None:
        self._fns: list[Callable[[T], None]] = []

    def connect(self, fn: Callable[[T], None]) -> None:
        self._fns.append(fn)

    def disconnect(self, fn: Callable[[T], None]) -> None:
        if fn in self._fns:
            self._fns.remove(fn)

    def emit(self, value: T) -> None:
        for fn in list(self._fns):
            fn(value)
