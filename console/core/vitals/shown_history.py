"""What the screen has shown of the open session, one array pair per parameter, kept once
for every view of it: the trend draws from it, and so does the live timeline.

Before, the trend and the timeline each kept their own float64 copies (with extra points
where a line breaks), ~32 bytes per value; here a value is 12 bytes (time float64, value
float32: a vital sign needs no more than seven digits) and a break is worked out when a
view is drawn (`gapped`), from the times. A value that may not be shown (INVALID) is kept as
NaN, so the line breaks there instead of bridging it.

Filled on the GUI thread by the vitals strip (the values of the source each parameter is
shown from, and a resumed session's stored history), emptied when another session begins.
Views compare `version` with the one they drew to know whether to draw again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from console.core.growth import grown
from devices import mdc
from devices.reading import Reading


class Track:
    """One parameter's values in time order: `t` (epoch seconds) and `v` (NaN: not shown)."""

    __slots__ = ("_t", "_v", "n")

    def __init__(self) -> None:
        self._t = np.empty(0)
        self._v = np.empty(0, dtype=np.float32)
        self.n = 0

    @property
    def t(self) -> np.ndarray:
        return self._t[: self.n]

    @property
    def v(self) -> np.ndarray:
        return self._v[: self.n]

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return self.t, self.v

    @property
    def nbytes(self) -> int:
        return self._t.nbytes + self._v.nbytes

    def add(self, t: float, v: float) -> None:
        """One value; in time order it is appended, else (a value typed for an earlier
        time) put in its place."""
        n = self.n
        if n == len(self._t):
            self._t, self._v = grown(self._t, n, n + 1), grown(self._v, n, n + 1)
        if n and t < self._t[n - 1]:
            i = int(np.searchsorted(self._t[:n], t, side="right"))
            self._t[i + 1 : n + 1] = self._t[i:n].copy()
            self._v[i + 1 : n + 1] = self._v[i:n].copy()
            self._t[i], self._v[i] = t, v
        else:
            self._t[n], self._v[n] = t, v
        self.n = n + 1

    def put_before(self, t: np.ndarray, v: np.ndarray) -> None:
        """Stored values (time order) in front of those that arrived live; those not before
        the first live one are left out: they are here already."""
        if self.n:
            keep = t < self._t[0]
            t, v = t[keep], v[keep]
        if not len(t):
            return
        k, n = len(t), self.n
        new_t = grown(np.empty(0), 0, n + k)
        new_v = grown(np.empty(0, dtype=np.float32), 0, n + k)
        new_t[:k], new_v[:k] = t, v
        new_t[k : k + n], new_v[k : k + n] = self._t[:n], self._v[:n]
        self._t, self._v, self.n = new_t, new_v, n + k


def gapped(t: np.ndarray, v: np.ndarray, gap: float | None) -> tuple[np.ndarray, np.ndarray]:
    """t, v with a NaN put after every silence longer than `gap` seconds: where a line of
    values heard every second must break (link lost, probe off), at any zoom."""
    if gap is None or len(t) < 2:
        return t, v
    at = np.flatnonzero(np.diff(t) > gap) + 1
    if not len(at):
        return t, v
    return np.insert(t, at, t[at - 1] + 0.001), np.insert(v, at, math.nan)


class ShownHistory:
    """Every shown parameter's `Track`, by canonical code, since the open session began."""

    def __init__(self) -> None:
        self.tracks: dict[int, Track] = {}
        self.since: float | None = None  # nothing older is kept (the session's start)
        self.version = 0  # grows with every change: a view draws again when it differs

    def track(self, code: int) -> Track:
        code = mdc.canonical(code)
        s = self.tracks.get(code)
        if s is None:
            s = self.tracks[code] = Track()
        return s

    def add(self, readings: Iterable[Reading]) -> None:
        """Live values (of the shown source); a value that may not be shown is a NaN."""
        since = self.since
        added = False
        for r in readings:
            if since is not None and r.t < since:
                continue
            self.track(r.code).add(r.t, r.value if r.quality.displayable else math.nan)
            added = True
        if added:
            self.version += 1

    def add_history(self, code: int, t: np.ndarray, v: np.ndarray) -> None:
        """A parameter's stored values (time order; NaN where none may be shown) in front of
        what arrived live: a resumed session's history, in one step."""
        if self.since is not None:
            keep = t >= self.since
            t, v = t[keep], v[keep]
        if len(t):
            self.track(code).put_before(np.asarray(t, dtype=float),
                                        np.asarray(v, dtype=np.float32))
            self.version += 1

    def reset(self, since: float | None = None) -> None:
        """Empty: another session (or none) from `since`."""
        self.tracks = {}
        self.since = since
        self.version += 1

    def last_time(self) -> float:
        """The newest time held (-inf when empty)."""
        return max((float(s._t[s.n - 1]) for s in self.tracks.values() if s.n),
                   default=-math.inf)

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self.tracks.values())
