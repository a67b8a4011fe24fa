"""The schedule of observations after a dose, and which are due, overdue or done.

Due times are minutes after the first dose (T0) from the template; "before the end" checks
hang off the end of minimum observation, so a booster that extends observation moves them.
A check is done by any value of the right kind in its window: a monitor NIBP arriving at
41:30 satisfies the 40-minute BP check without anyone touching the console; a manual cuff
value counts the same way. Nothing here keeps time itself: status is a function of `now`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from console.core.dosing.templates import CheckRule
from console.core.growth import grown


class Times(Sequence[float]):
    """Value times in order, in a growing float64 array: a parameter sent every second is
    28 800 times in 8 hours, 8 bytes each here instead of a Python float and a list slot
    (~32 bytes) each. It grows as the shown history does (`console/core/growth.py`)."""

    def __init__(self) -> None:
        self._a = np.empty(0)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):  # type: ignore[no-untyped-def]
        return self._a[: self._n][i].tolist()

    def add(self, t: float) -> None:
        """One more time, kept in order (most come in order: appended)."""
        self._a = grown(self._a, self._n, self._n + 1)
        if self._n and t < self._a[self._n - 1]:
            i = bisect.bisect_right(self, t)
            self._a[i + 1 : self._n + 1] = self._a[i : self._n].copy()
            self._a[i] = t
        else:
            self._a[self._n] = t
        self._n += 1

    def extend(self, ts: Iterable[float]) -> None:
        """Many more (a session's stored history), kept in order."""
        merged = np.sort(np.concatenate([self._a[: self._n], np.fromiter(ts, dtype=float)]),
                         kind="stable")
        self._n = len(merged)
        self._a = merged


MAX_OCCURRENCES = 60  # per rule; a safety net for a tiny `every_minutes`


@dataclass(frozen=True, slots=True)
class CheckOccurrence:
    key: str  # stable id: "<rule index>@<minutes>"
    what: str
    label: str
    due: float  # absolute time
    grace_s: float
    state: str  # upcoming | due | overdue | done | missed
    done_at: float | None = None

    @property
    def overdue_at(self) -> float:
        return self.due + self.grace_s

    @property
    def open(self) -> bool:
        return self.state in ("due", "overdue")


def _minutes_for(rule: CheckRule, obs_end_min: float | None) -> list[float]:
    """Due minutes after T0 for one rule."""
    out: list[float] = list(rule.at_minutes)
    if rule.every_minutes:
        until = rule.until_minutes if rule.until_minutes is not None else obs_end_min
        if until is not None:
            m = rule.from_minutes
            while m <= until + 1e-9 and len(out) < MAX_OCCURRENCES:
                out.append(m)
                m += rule.every_minutes
    if rule.before_end_minutes is not None and obs_end_min is not None:
        out.append(max(0.0, obs_end_min - rule.before_end_minutes))
    return sorted(set(out))


def schedule(rules: tuple[CheckRule, ...], t0: float | None, obs_end: float | None,
             values: Mapping[str, Sequence[float]], now: float) -> list[CheckOccurrence]:
    """Every occurrence with its state at `now`. `values[what]` are sorted value times."""
    if t0 is None:
        return []
    obs_end_min = (obs_end - t0) / 60.0 if obs_end is not None else None
    out: list[CheckOccurrence] = []
    for i, rule in enumerate(rules):
        mins = _minutes_for(rule, obs_end_min)
        times = values.get(rule.what, [])
        early, grace = rule.early_minutes * 60.0, rule.grace_minutes * 60.0
        for j, m in enumerate(mins):
            due = t0 + m * 60.0
            lo = due - early
            hi = t0 + mins[j + 1] * 60.0 - early if j + 1 < len(mins) else float("inf")
            k = bisect.bisect_left(times, lo)
            done_at = times[k] if k < len(times) and times[k] < hi else None
            if done_at is not None:
                state = "done"
            elif now < due:
                state = "upcoming"
            elif hi != float("inf") and now >= hi + early:
                state = "missed"  # the next one of this rule is due: this one was not done
            elif now < due + grace:
                state = "due"
            else:
                state = "overdue"
            out.append(CheckOccurrence(f"{i}@{m:g}", rule.what, rule.label, due, grace, state,
                                       done_at))
    out.sort(key=lambda c: c.due)
    return out


def next_check(occ: list[CheckOccurrence]) -> CheckOccurrence | None:
    """What the header should show: overdue first, then due, then the next upcoming."""
    for state in ("overdue", "due", "upcoming"):
        hits = [c for c in occ if c.state == state]
        if hits:
            return min(hits, key=lambda c: c.due)
    return None
