"""The clocks of a dosing day, derived from stored absolute times and `now`.

Nothing here counts: every value is recomputed from the doses' times, so a console reopened
after a crash shows the right "since dose" at once. `SteadyNow` anchors the wall clock once
and advances it monotonically, so a wall-clock step mid-session does not jump the timers.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.core.clock import Clock
from console.core.dosing.checks import CheckOccurrence
from console.core.dosing.infusion import InfusionStatus


class SteadyNow:
    """now() = wall time at construction + monotonic time elapsed since."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._wall0 = clock.now()
        self._mono0 = clock.monotonic()

    def __call__(self) -> float:
        return self._wall0 + (self.clock.monotonic() - self._mono0)


@dataclass(frozen=True, slots=True)
class TimerSnapshot:
    now: float
    first_dose: float | None
    last_dose: float | None
    dose_count: int
    observation_end: float | None  # earliest end of minimum observation
    infusion: InfusionStatus | None
    next_check: CheckOccurrence | None

    @property
    def since_first(self) -> float | None:
        return None if self.first_dose is None else max(0.0, self.now - self.first_dose)

    @property
    def since_last(self) -> float | None:
        return None if self.last_dose is None else max(0.0, self.now - self.last_dose)

    @property
    def observation_left(self) -> float | None:
        if self.observation_end is None:
            return None
        return self.observation_end - self.now


def hms(seconds: float) -> str:
    """00:37:12 — always hours, so a glance never mistakes minutes for hours."""
    s = int(max(0.0, seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def ms(seconds: float) -> str:
    s = int(max(0.0, seconds))
    return f"{s // 60:02d}:{s % 60:02d}" if s < 3600 else hms(s)
