"""A growing (t, v) pair of numpy arrays for live curves (trend, timeline).

Appending is amortised O(1) (the arrays double when full, up to GROW_MAX points, then grow
by GROW_MAX: a 1 Hz curve takes its ~16 bytes a second an hour at a time, instead of doubling
to twice what it holds at 1.1, 2.3, 4.6 hours) and drawing hands pyqtgraph views of the arrays,
so a curve that grows for eight hours is never rebuilt from Python lists.
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_GAP_S = 6.0  # a live line breaks after this long without a value
GROW_MAX = 4096  # points added at most per growth (a little over an hour at 1 Hz)


def capacity(need: int, have: int) -> int:
    """Room for `need` points when `have` is full: doubled while small, then GROW_MAX more at
    a time (at least `need`)."""
    step = max(1, min(have, GROW_MAX))
    return max(need, have + step * -(-(need - have) // step))


def gapped(t: np.ndarray, v: np.ndarray, gap: float | None) -> tuple[np.ndarray, np.ndarray]:
    """t, v with a NaN after every silence longer than `gap` (as `Series.append` makes)."""
    if gap is None or len(t) < 2:
        return t, v
    at = np.flatnonzero(np.diff(t) > gap) + 1
    if not len(at):
        return t, v
    return np.insert(t, at, t[at - 1] + 0.001), np.insert(v, at, math.nan)


class Series:
    """A growing (t, v) array pair with NaN inserted at gaps longer than `gap` seconds."""

    def __init__(self, gap: float | None = DEFAULT_GAP_S) -> None:
        self.t = np.empty(1024)
        self.v = np.empty(1024)
        self.n = 0
        self.gap = gap

    def append(self, t: float, v: float) -> None:
        if self.n and self.gap is not None and t - self.t[self.n - 1] > self.gap:
            self._push(self.t[self.n - 1] + 0.001, math.nan)
        self._push(t, v)

    def _push(self, t: float, v: float) -> None:
        if self.n == len(self.t):
            size = capacity(self.n + 1, len(self.t))
            self.t = np.resize(self.t, size)
            self.v = np.resize(self.v, size)
        self.t[self.n] = t
        self.v[self.n] = v
        self.n += 1

    def extend(self, t: np.ndarray, v: np.ndarray) -> None:
        """Many points at once (a stored history, in time order), with the same gaps as
        one `append` after another would give."""
        if not len(t):
            return
        t, v = np.asarray(t, float), np.asarray(v, float)
        if self.gap is not None:
            prev = np.concatenate(([self.t[self.n - 1] if self.n else t[0]], t[:-1]))
            gaps = np.nonzero(t - prev > self.gap)[0]
            if len(gaps):
                t = np.insert(t, gaps, prev[gaps] + 0.001)
                v = np.insert(v, gaps, np.nan)
        need = self.n + len(t)
        if need > len(self.t):
            size = capacity(need, len(self.t))
            self.t = np.resize(self.t, size)
            self.v = np.resize(self.v, size)
        self.t[self.n:need] = t
        self.v[self.n:need] = v
        self.n = need

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return self.t[: self.n], self.v[: self.n]

    def put_before(self, t: np.ndarray, v: np.ndarray) -> None:
        """Stored history in front of what arrived live (points not before the first live
        one are left out: they are already here), gaps broken as `append` breaks them."""
        if self.n:
            keep = t < self.t[0]
            t, v = t[keep], v[keep]
        if not len(t):
            return
        live_t, live_v = self.arrays()
        t, v = gapped(np.concatenate([t, live_t]), np.concatenate([v, live_v]), self.gap)
        self.n = len(t)
        size = capacity(self.n, 1024) if self.n > 1024 else 1024
        self.t = np.resize(t, size)
        self.v = np.resize(v, size)
