"""A growing (t, v) pair of numpy arrays for live curves (trend, timeline).

Appending is amortised O(1) (the arrays double when full) and drawing hands pyqtgraph views
of the arrays, so a curve that grows for eight hours is never rebuilt from Python lists.
"""

from __future__ import annotations

import math

import numpy as np


class Series:
    """A growing (t, v) array pair with NaN inserted at gaps longer than `gap` seconds."""

    def __init__(self, gap: float | None) -> None:
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
            self.t = np.resize(self.t, self.n * 2)
            self.v = np.resize(self.v, self.n * 2)
        self.t[self.n] = t
        self.v[self.n] = v
        self.n += 1

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return self.t[: self.n], self.v[: self.n]
