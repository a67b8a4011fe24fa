"""The last few seconds of the pleth waveform, swept across at the wave's own pace.

Monitors send the wave in chunks (5 a second for our simulator, 1 a second for HL7 gateways);
drawn as they come, the trace jumps. Here samples are kept a moment (about a chunk's worth)
and revealed at their sample rate by a 25 Hz timer, so the trace moves smoothly, as on a
monitor's sweep display: the write point runs left to right over a fixed ring of `seconds`
of samples, with a small blank gap ahead of it. Each tick repaints only the strip the write
point crossed (a few pixels), painted with QPainter directly: smooth at a fraction of the
cost of redrawing a whole plot five times a second.
"""

from __future__ import annotations

import time

import numpy as np
from pyqtgraph import functions as fn
from PySide6.QtCore import QRect, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from console.ui import theme
from devices.reading import WaveChunk

FRAME_MS = 38  # 26 frames a second: smooth, at the least cost
HOLD_S = 0.25  # samples wait about this long before they are drawn (one chunk, and some)
GAP_S = 0.12  # the blank ahead of the write point
STALE_JUMP_S = 1.0  # more waiting than this (a stall): catch up at once


class PlethView(QWidget):
    def __init__(self, seconds: float = 6.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.seconds = seconds
        self.rate = 125.0
        self.buf = np.full(int(seconds * self.rate), np.nan, dtype=np.float32)  # the ring
        self.last_t: float | None = None  # end of the newest sample received
        self.since: float | None = None  # no wave from before this (the session's start)
        self.write_at = 0  # where the next sample is written in the ring
        self._waiting = np.empty(0, dtype=np.float32)  # received, not yet drawn
        self._tick_at: float | None = None
        self._pen = QPen(QColor(theme.SPO2), 1)
        self._bg = QColor(theme.BG)
        self._label = QColor(theme.dim(theme.SPO2, 0.8))
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._frame)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setFixedHeight(80)

    # ----- data -----
    def add_chunks(self, chunks: list[WaveChunk]) -> None:
        chunks = [c for c in chunks if self.since is None or c.t0 >= self.since]
        parts: list[np.ndarray] = []
        for c in chunks:
            if c.rate_hz != self.rate:
                self.rate = c.rate_hz
                self.buf = np.full(int(self.seconds * self.rate), np.nan, dtype=np.float32)
                self.write_at = 0
                self._waiting = np.empty(0, dtype=np.float32)
                parts = []
                self.update()
            s = np.asarray(c.samples, dtype=np.float32)
            if self.last_t is not None and c.t0 - self.last_t > 1.0:  # gap: blank it
                parts.append(np.full(min(len(self.buf), int((c.t0 - self.last_t) * self.rate)),
                                     np.nan, dtype=np.float32))
            parts.append(s)
            self.last_t = c.t0 + c.duration
        if parts:
            self._waiting = np.concatenate([self._waiting, *parts])
            if not self._timer.isActive():
                self._tick_at = time.monotonic()
                self._timer.start()

    def reset(self, since: float | None = None) -> None:
        """Nothing of the previous session's wave stays on screen."""
        self.since = since
        self.last_t = None
        self._clear()

    def blank_if_stale(self, now: float, after: float = 3.0) -> None:
        """No wave for a while: show nothing rather than a frozen trace."""
        if self.last_t is not None and now - self.last_t > after and (
                len(self._waiting) or not np.all(np.isnan(self.buf))):
            self._clear()

    def _clear(self) -> None:
        self.buf[:] = np.nan
        self._waiting = np.empty(0, dtype=np.float32)
        self._timer.stop()
        self.update()

    # ----- the sweep -----
    def _frame(self) -> None:
        """Draw the samples due since the last frame (at the sample rate, a little faster or
        slower to keep about HOLD_S waiting)."""
        now = time.monotonic()
        dt = now - (self._tick_at or now)
        self._tick_at = now
        waiting = len(self._waiting)
        if not waiting:
            self._timer.stop()
            return
        hold = HOLD_S * self.rate
        if waiting > STALE_JUMP_S * self.rate:
            n = int(waiting - hold)
        else:
            n = round(self.rate * dt * (1.0 + 0.5 * (waiting - hold) / hold))
        n = max(1, min(n, waiting))
        new, self._waiting = self._waiting[:n], self._waiting[n:]
        start = self.write_at
        size = len(self.buf)
        idx = (start + np.arange(len(new))) % size
        self.buf[idx] = new
        self.write_at = (start + len(new)) % size
        self._update_span(start - 1, start + len(new) + int(GAP_S * self.rate) + 1)

    def _x(self, i: float) -> float:
        return i * self.width() / len(self.buf)

    def _update_span(self, a: int, b: int) -> None:
        """Repaint the columns of ring positions a..b (wrapping round)."""
        size = len(self.buf)
        for lo, hi in ((a, min(b, size)), (a - size, b - size), (a + size, b + size)):
            if hi > 0 and lo < size:
                x0 = int(self._x(max(lo, 0))) - 1
                x1 = int(self._x(min(hi, size))) + 2
                self.update(QRect(x0, 0, x1 - x0, self.height()))

    def paintEvent(self, event: QPaintEvent) -> None:
        r = event.rect()
        p = QPainter(self)
        p.fillRect(r, self._bg)
        size = len(self.buf)
        w, h = max(1, self.width()), self.height()
        if r.left() < 60:
            p.setPen(self._label)
            p.drawText(4, 14, "Pleth")
        i0 = max(0, int(r.left() * size / w) - 1)
        i1 = min(size, int((r.right() + 1) * size / w) + 2)
        if i1 - i0 > 1:
            idx = np.arange(i0, i1)
            y = self.buf[i0:i1].astype(np.float64)
            blank = (idx - self.write_at) % size < int(GAP_S * self.rate)  # ahead of the pen
            y[blank] = np.nan
            ok = ~np.isnan(y)
            pts = np.empty((i1 - i0, 2))
            pts[:, 0] = idx * (w / size)
            pts[:, 1] = 2.0 + (h - 4.0) * (1.0 - y)
            p.setPen(self._pen)
            # one polyline per unbroken run (no data, or the blank, breaks the line)
            edges = np.flatnonzero(np.diff(np.concatenate(([0], ok.view(np.int8), [0]))))
            for a, b in zip(edges[0::2], edges[1::2], strict=True):
                if b - a > 1:
                    poly = fn.create_qpolygonf(int(b - a))
                    fn.ndarray_from_qpolygonf(poly)[:] = pts[a:b]
                    p.drawPolyline(poly)
        p.end()
