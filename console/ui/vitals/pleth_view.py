"""The last few seconds of the pleth waveform, redrawn at display rate."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from console.ui import theme
from devices.reading import WaveChunk


class PlethView(QWidget):
    def __init__(self, seconds: float = 6.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.seconds = seconds
        self.rate = 125.0
        self.buf = np.full(int(seconds * self.rate), np.nan, dtype=np.float32)
        self.last_t: float | None = None
        self.since: float | None = None  # no wave from before this (the session's start)
        self.plot = pg.PlotWidget(background=theme.BG)
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.setYRange(-0.05, 1.05, padding=0)
        self.plot.setXRange(-seconds, 0, padding=0)
        self.curve = self.plot.plot([], [], pen=pg.mkPen(theme.SPO2, width=1), connect="finite")
        self.label = pg.TextItem("Pleth", color=theme.dim(theme.SPO2, 0.8), anchor=(0, 0))
        self.label.setPos(-seconds, 1.05)
        self.plot.addItem(self.label)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot)
        self.setFixedHeight(80)

    def add_chunks(self, chunks: list[WaveChunk]) -> None:
        chunks = [c for c in chunks if self.since is None or c.t0 >= self.since]
        for c in chunks:
            if c.rate_hz != self.rate:
                self.rate = c.rate_hz
                self.buf = np.full(int(self.seconds * self.rate), np.nan, dtype=np.float32)
            s = np.asarray(c.samples, dtype=np.float32)
            if self.last_t is not None and c.t0 - self.last_t > 1.0:  # gap: blank it
                gap = np.full(min(len(self.buf), int((c.t0 - self.last_t) * self.rate)), np.nan,
                              dtype=np.float32)
                s = np.concatenate([gap, s])
            s = s[-len(self.buf):]
            self.buf = np.roll(self.buf, -len(s))
            self.buf[-len(s):] = s
            self.last_t = c.t0 + c.duration
        if chunks:
            x = np.arange(-len(self.buf), 0) / self.rate
            self.curve.setData(x, self.buf)

    def reset(self, since: float | None = None) -> None:
        """Nothing of the previous session's wave stays on screen."""
        self.since = since
        self.buf[:] = np.nan
        self.last_t = None
        self.curve.setData([], [])

    def blank_if_stale(self, now: float, after: float = 3.0) -> None:
        """No wave for a while: show nothing rather than a frozen trace."""
        if self.last_t is not None and now - self.last_t > after and not np.all(np.isnan(self.buf)):
            self.buf[:] = np.nan
            self.curve.setData([], [])
