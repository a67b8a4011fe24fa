"""Time for clinical records: wall-clock stamps that do not jump when the wall clock does.

A `Clock` is anchored to the wall clock once and then advanced by the monotonic clock, so a
timer derived from stored absolute times keeps counting correctly through an NTP step or a
clinician changing the system time mid-session. Tests use `FakeClock`.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Epoch seconds (UTC) for stamping records."""
        ...

    def monotonic(self) -> float:
        """Seconds for measuring durations within this run."""
        ...


class SystemClock:
    """Wall time anchored at start, advanced monotonically."""

    def __init__(self) -> None:
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        return self._wall0 + (time.monotonic() - self._mono0)

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock a test moves by hand."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._t = start
        self._m = 1000.0

    def now(self) -> float:
        return self._t

    def monotonic(self) -> float:
        return self._m

    def advance(self, seconds: float) -> None:
        self._t += seconds
        self._m += seconds

    def set_wall(self, t: float) -> None:
        """Jump the wall clock only (a system time change); monotonic time is unaffected."""
        self._t = t
