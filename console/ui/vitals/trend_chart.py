"""Whole-session trends, one row per trend row of the vital-sign table, one time axis.

Data accumulate in growing numpy arrays; curves are redrawn at most twice a second with
`setData` (one call per curve), clipped to view and peak-downsampled for long sessions. A gap
in the data (link lost, probe off) is a NaN, so the line breaks rather than bridging the gap.
The view follows the present unless the user pans or zooms; "Live" brings it back.
Everything on it belongs to one session: `reset` empties series and markers for the next.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from console.core.vitals_table import VITALS, vital_of
from console.ui import theme
from console.ui.clock_axis import ClockAxis
from devices import mdc
from devices.reading import Reading

GAP_SECONDS = 6.0  # a longer silence between readings breaks the line


class Series:
    """A growing (t, v) array pair with NaN inserted at gaps."""

    def __init__(self, gap: float | None = GAP_SECONDS) -> None:
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


MARKER_NEAR_S = 20 * 60.0  # markers this close may share the screen at any zoom
MARKER_LEVELS = 3  # label rows before they start again at the top


class TrendChart(QWidget):
    def __init__(self, parent: QWidget | None = None, window_s: float = 30 * 60) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=False, background=theme.BG, foreground=theme.TEXT_DIM)
        self.window_s = window_s
        self.follow = True
        self.now = 0.0
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.layout_widget.ci.setSpacing(2)
        self.plots: dict[str, pg.PlotItem] = {}
        self.series: dict[int, Series] = {}
        self.curves: dict[int, pg.PlotDataItem] = {}
        self.markers: list[tuple[float, str, str]] = []
        self._marker_lines: list[tuple[pg.PlotItem, pg.InfiniteLine]] = []
        # One row per trend row of the vital-sign table; a spot-check row (temperature)
        # appears with its first value, so a room without one loses no height to it.
        for key in dict.fromkeys(v.trend_row for v in VITALS if v.always_shown):
            self._add_row(key)
        self.since: float | None = None  # nothing older is drawn (the session's start)
        self.live_button = QPushButton("Live")
        self.live_button.setToolTip("Follow the present again (L)")
        self.live_button.setShortcut("L")
        self.live_button.clicked.connect(self.go_live)
        self.range_label = QLabel("")
        self.range_label.setStyleSheet(f"color: {theme.TEXT_DIM};")
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Trend"))
        bar.addWidget(self.range_label, 1)
        for label, seconds in (("10 min", 600), ("30 min", 1800), ("2 h", 7200), ("All", 0)):
            b = QPushButton(label)
            b.clicked.connect(lambda _=False, s=seconds: self.set_window(s))
            bar.addWidget(b)
        bar.addWidget(self.live_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.layout_widget, 1)
        self.layout_widget.setMinimumHeight(150)
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self.redraw)
        self._timer.start()
        self._update_live_button()

    def _add_row(self, key: str) -> None:
        """The row `key` of the table's trend rows, below the others, with its curves."""
        vitals = [v for v in VITALS if v.trend_row == key]
        tiles = list(dict.fromkeys(v.tile_title for v in vitals))
        title = " · ".join(tiles) if len(tiles) > 1 else f"{tiles[0]} {vitals[0].unit}"
        first = next(iter(self.plots.values()), None)
        if self.plots:  # only the bottom row shows clock times
            list(self.plots.values())[-1].getAxis("bottom").setStyle(showValues=False)
        axis = ClockAxis(orientation="bottom")
        p = self.layout_widget.addPlot(row=len(self.plots), col=0, axisItems={"bottom": axis})
        p.setYRange(*vitals[0].trend_range, padding=0)
        p.getAxis("left").setWidth(44)
        p.layout.setContentsMargins(0, 2, 4, 0)
        # The row's name sits inside the plot, so no height goes to a title line.
        name = pg.TextItem(title, color=theme.TEXT_DIM, anchor=(0, 0))
        name.setParentItem(p.getViewBox())
        name.setPos(4, 0)
        p.showGrid(x=True, y=True, alpha=0.12)
        p.setClipToView(True)
        p.setDownsampling(auto=True, mode="peak")
        p.setMenuEnabled(False)
        p.getViewBox().setMouseEnabled(x=True, y=False)
        p.getViewBox().sigRangeChangedManually.connect(self._user_moved)
        if first is not None:
            p.setXLink(first)
        self.plots[key] = p
        for v in vitals:
            for code in v.codes:
                # A stand-in source (pulse rate for HR) is drawn dimmer than the parameter's own.
                colour = v.colour if code == v.code else theme.dim(v.colour, 0.6)
                if v.continuous:
                    self._add_curve(key, code, colour)
                else:
                    self._add_curve(key, code, colour, symbol=True, gap=None)
        for t, _text, colour in self.markers:
            self._marker_line(p, t, None, colour, 0.0)

    def _add_curve(self, plot: str, code: int, colour: str, symbol: bool = False,
                   gap: float | None = GAP_SECONDS) -> None:
        pen = pg.mkPen(colour, width=1)
        kw: dict[str, object] = {"pen": pen, "connect": "finite"}
        if symbol:
            kw.update(pen=None, symbol="o", symbolSize=7, symbolBrush=colour, symbolPen=None)
        self.curves[code] = self.plots[plot].plot([], [], **kw)
        self.series[code] = Series(gap)

    def add_readings(self, readings: list[Reading]) -> None:
        for r in readings:
            code = mdc.canonical(r.code)
            s = self.series.get(code)
            v = vital_of(code) if s is None else None
            if v is not None and v.trend_row not in self.plots:
                self._add_row(v.trend_row)
                s = self.series.get(code)
            if s is None or (self.since is not None and r.t < self.since):
                continue
            value = r.value if r.quality.displayable else math.nan
            s.append(r.t, value)
            self._dirty = True

    def add_marker(self, t: float, text: str, colour: str = theme.TEXT) -> None:
        """A labelled vertical line across all trend rows (doses, alarms, notes).

        Labels of markers close in time step down the row ("▼14 mg" above "▼140 mg"),
        so they never print over each other."""
        near = sum(1 for mt, _t, _c in self.markers if abs(mt - t) < MARKER_NEAR_S)
        level = -float(near % MARKER_LEVELS)  # whole label heights down, at any row height
        self.markers.append((t, text, colour))
        for i, p in enumerate(self.plots.values()):
            self._marker_line(p, t, text if i == 0 else None, colour, level)

    def _marker_line(self, p: pg.PlotItem, t: float, text: str | None, colour: str,
                     level: float) -> None:
        line = pg.InfiniteLine(
            pos=t, angle=90, pen=pg.mkPen(colour, width=1, style=pg.QtCore.Qt.PenStyle.DashLine),
            label=text, labelOpts={"color": colour, "position": 0.92,
                                   "anchors": [(0, level), (0, level)]},
        )
        p.addItem(line)
        self._marker_lines.append((p, line))

    def reset(self, since: float | None = None) -> None:
        """Empty: no series, no markers, nothing from before `since` (a session ended or
        another began)."""
        self.since = since
        for p, line in self._marker_lines:
            p.removeItem(line)
        self._marker_lines = []
        self.markers = []
        for code, s in self.series.items():
            self.series[code] = Series(s.gap)
            self.curves[code].setData([], [])
        self._dirty = False
        self.go_live()

    def set_now(self, now: float) -> None:
        self.now = now
        if self.follow:
            self._apply_window()

    def set_window(self, seconds: float) -> None:
        self.window_s = seconds
        self.follow = True
        self._apply_window()
        self._update_live_button()

    def _start_time(self) -> float | None:
        starts = [s.t[0] for s in self.series.values() if s.n]
        return min(starts) if starts else None

    def _apply_window(self) -> None:
        now = self.now
        lo = now - self.window_s if self.window_s else (self._start_time() or now - 600)
        p = next(iter(self.plots.values()))
        p.setXRange(lo, now + max(10.0, (now - lo) * 0.02), padding=0)

    def show_time(self, t: float, span: float = 600.0) -> None:
        """Jump the chart to time t (centred), leaving live-follow mode."""
        self.follow = False
        p = next(iter(self.plots.values()))
        p.setXRange(t - span / 2, t + span / 2, padding=0)
        self._update_live_button()

    def view_range(self) -> tuple[float, float]:
        (lo, hi), _ = next(iter(self.plots.values())).viewRange()
        return float(lo), float(hi)

    def go_live(self) -> None:
        self.follow = True
        self._apply_window()
        self._update_live_button()

    def _user_moved(self, *_: object) -> None:
        self.follow = False
        self._update_live_button()

    def _update_live_button(self) -> None:
        self.live_button.setEnabled(not self.follow)
        self.range_label.setText("following now" if self.follow else "reviewing — press Live (L)")

    def redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        for code, s in self.series.items():
            t, v = s.arrays()
            self.curves[code].setData(t, v)
