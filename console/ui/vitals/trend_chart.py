"""Whole-session trends, one row per trend row of the vital-sign table, one time axis.

The values are the session's shown history (`console/core/vitals/shown_history.py`), kept
once for the trend and the live timeline (a resumed session's history is put in front of
them in one step, `add_history`). The chart is drawn once a second: on that tick the view steps
with the present when the present has used half the room on its right, and each curve gets
`setData` of what is in view, cut to the view and
reduced to each pixel's lowest and highest value when there are more points than pixels (an
8-hour session is ~2 points per pixel, not 28 800), so a redraw costs the same at hour 8 as
at minute 1; zooming or panning draws at once. A gap in the data (link lost, probe off) or
a value that may not be shown breaks the line rather than bridging the gap, at any zoom.
The grid is a few opaque lines per row (`Grid`), not the axes' grid, which blended its
alpha over the whole chart at every paint. The view follows the present unless the user pans
or zooms; "Live" brings it back. Everything on it belongs to one session: `reset` empties
the history and the markers for the next.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from console.core.vitals.shown_history import ShownHistory, Track, gapped
from console.core.vitals_table import VITALS, vital_of
from console.ui import plot_style, theme
from console.ui.clock_axis import ClockAxis
from devices import mdc
from devices.reading import Reading

GAP_SECONDS = 6.0  # a longer silence between readings breaks the line
REDRAW_MS = 1000  # the chart moves with the present, and takes new data, once a second
GRID_COLOUR = theme.dim(theme.TEXT_DIM, 0.25)  # opaque: the grid costs no blending


def in_view(t: np.ndarray, v: np.ndarray, lo: float, hi: float, pixels: int,
            gap: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """What is drawn of (t, v) between lo and hi on `pixels` columns: the points in view (and
    one either side, so the line reaches the edges), a break after every silence longer than
    `gap`; with more than two points per pixel, each pixel's lowest and highest value, and a
    break where the pixel held a gap."""
    i = max(0, int(np.searchsorted(t, lo)) - 1)
    j = min(len(t), int(np.searchsorted(t, hi, side="right")) + 1)
    t, v = gapped(t[i:j], v[i:j], gap)
    if len(t) <= 2 * max(pixels, 1) or hi <= lo:
        return t, v
    col = ((t - lo) * (pixels / (hi - lo))).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
    ends = np.r_[starts[1:], len(t)] - 1
    low = np.fmin.reduceat(v, starts)  # NaN only where the pixel has no value at all
    high = np.fmax.reduceat(v, starts)
    holes = np.add.reduceat(np.isnan(v).astype(np.int8), starts) > 0
    x = np.empty(3 * len(starts))
    y = np.empty(3 * len(starts))
    x[0::3], x[1::3], x[2::3] = t[starts], t[ends], t[ends]
    y[0::3], y[1::3] = low, high
    y[2::3] = np.where(holes, math.nan, high)  # a gap in the pixel breaks the line after it
    return x, y


class Grid:
    """The row's grid: opaque line segments at the axes' ticks in one curve behind the data,
    re-made when the view moves (once a second). Cheaper than the axes' own grid, which
    blends its alpha over the whole row at every paint."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        pen = pg.mkPen(GRID_COLOUR, width=1)
        self.curve = pg.PlotCurveItem(pen=pen, connect="pairs", skipFiniteCheck=True)
        self.curve.setZValue(-100)
        plot.addItem(self.curve, ignoreBounds=True)
        self._for: tuple[float, float, float, float, float, float] | None = None

    def update(self) -> None:
        vb = self.plot.getViewBox()
        (x0, x1), (y0, y1) = vb.viewRange()
        key = (x0, x1, y0, y1, vb.width(), vb.height())
        if key == self._for:
            return
        self._for = key
        xs: list[float] = []
        ys: list[float] = []
        for axis, lo, hi, size, vertical in ((self.plot.getAxis("bottom"), x0, x1, vb.width(), True),
                                             (self.plot.getAxis("left"), y0, y1, vb.height(), False)):
            if not hasattr(axis, "fontMetrics"):
                self._for = None  # a date axis knows its ticks once it has been drawn
                continue
            for _spacing, ticks in axis.tickValues(lo, hi, max(1.0, size))[:2]:
                for v in ticks:
                    xs += [v, v] if vertical else [x0, x1]
                    ys += [y0, y1] if vertical else [v, v]
        self.curve.setData(np.array(xs, dtype=float), np.array(ys, dtype=float))


MARKER_NEAR_S = 20 * 60.0  # markers this close may share the screen at any zoom
MARKER_LEVELS = 3  # label rows before they start again at the top


class TrendChart(QWidget):
    def __init__(self, parent: QWidget | None = None, window_s: float = 30 * 60,
                 history: ShownHistory | None = None) -> None:
        super().__init__(parent)
        # The values drawn: the console's one shown history (shared with the live timeline),
        # or the chart's own when it stands alone.
        self.history = history if history is not None else ShownHistory()
        pg.setConfigOptions(antialias=False, background=theme.BG, foreground=theme.TEXT_DIM)
        self.window_s = window_s
        self.follow = True
        self.now = 0.0
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.layout_widget.ci.setSpacing(2)
        self.plots: dict[str, pg.PlotItem] = {}
        self.grids: dict[str, Grid] = {}
        self.gaps: dict[int, float | None] = {}  # per curve: the silence that breaks its line
        self.curves: dict[int, pg.PlotDataItem] = {}
        self.markers: list[tuple[float, str, str]] = []
        self._marker_lines: list[tuple[pg.PlotItem, pg.InfiniteLine]] = []
        # One row per trend row of the vital-sign table; a spot-check row (temperature)
        # appears with its first value, so a room without one loses no height to it.
        for key in dict.fromkeys(v.trend_row for v in VITALS if v.always_shown):
            self._add_row(key)
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
        self._drawn_version = -1  # the history's version the curves show
        self._drawn_range: tuple[float, float, int] | None = None  # what the curves now show
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        self._timer.start()
        self._moved = QTimer(self)  # the view was zoomed or panned: draw what is in it now
        self._moved.setSingleShot(True)
        self._moved.setInterval(0)
        self._moved.timeout.connect(self._view_moved)
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
        self.grids[key] = Grid(p)
        p.setMenuEnabled(False)
        p.getViewBox().setMouseEnabled(x=True, y=False)
        p.getViewBox().sigRangeChangedManually.connect(self._user_moved)
        if first is not None:
            p.setXLink(first)
        else:
            p.getViewBox().sigXRangeChanged.connect(lambda *_: self._moved.start())
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
        kw: dict[str, object] = {"pen": pen, "skipFiniteCheck": True}
        if symbol:
            kw.update(pen=None, symbol="o", symbolSize=7, symbolBrush=plot_style.brush(colour),
                      symbolPen=plot_style.pen(None))
        self.curves[code] = self.plots[plot].plot([], [], **kw)
        self.gaps[code] = gap

    @property
    def since(self) -> float | None:
        """Nothing older is drawn (the session's start)."""
        return self.history.since

    @property
    def series(self) -> dict[int, Track]:
        """The values of each curve, as drawn (a curve with none yet is empty)."""
        tracks = self.history.tracks
        return {code: tracks.get(code) or Track() for code in self.curves}

    def _drawn(self, code: int) -> bool:
        """Whether the chart draws `code` (adding its row at its first value)."""
        if code in self.curves:
            return True
        v = vital_of(code)
        if v is None or v.trend_row in self.plots:
            return False
        self._add_row(v.trend_row)
        return code in self.curves

    def add_readings(self, readings: list[Reading]) -> None:
        """Live values: into the shown history (drawn at the next tick)."""
        self.history.add(r for r in readings if self._drawn(mdc.canonical(r.code)))

    def add_history(self, code: int, t: np.ndarray, v: np.ndarray) -> None:
        """A parameter's stored readings (time order; NaN where no value can be shown) in
        front of those that arrived live: a resumed session's history, in one step."""
        code = mdc.canonical(code)
        if len(t) and self._drawn(code):
            self.history.add_history(code, t, v)

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
        for p, line in self._marker_lines:
            p.removeItem(line)
        self._marker_lines = []
        self.markers = []
        self.history.reset(since)
        for curve in self.curves.values():
            curve.setData([], [])
        self._drawn_version = self.history.version
        self.go_live()

    def set_now(self, now: float) -> None:
        """The present; the view follows it at the next tick of the chart (once a second)."""
        self.now = now

    def set_window(self, seconds: float) -> None:
        self.window_s = seconds
        self.follow = True
        self._apply_window()
        self._update_live_button()

    def _start_time(self) -> float | None:
        starts = [float(s.t[0]) for s in self.history.tracks.values() if s.n]
        return min(starts) if starts else None

    def _target_window(self) -> tuple[float, float]:
        """The view that follows the present: the window, and room on the right (2 %, at
        least 10 s) for what comes next."""
        now = self.now
        lo = now - self.window_s if self.window_s else (self._start_time() or now - 600)
        return lo, now + max(10.0, (now - lo) * 0.02)

    def _window_due(self) -> bool:
        """Whether the following view must move: the present has used half the room on the
        right (every ~18 s in a 30-minute window: a step of 1 % of the width, where moving
        every second shifted it 0.6 px and re-made the time axes each time)."""
        lo, hi = self.view_range()
        t_lo, t_hi = self._target_window()
        room = t_hi - self.now
        return self.now > hi - room / 2 or abs((hi - lo) - (t_hi - t_lo)) > room

    def _apply_window(self) -> None:
        lo, hi = self._target_window()
        p = next(iter(self.plots.values()))
        p.setXRange(lo, hi, padding=0)
        for row in self.plots.values():
            # The views' transforms now, not during the paint: a transform changed while
            # painting makes every curve ask for a second paint right after it.
            row.getViewBox().updateMatrix()

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
        """The chart's tick: the view moves with the present, curves take new data."""
        if self.follow and self._window_due():
            self._apply_window()
        if self._drawn_version != self.history.version or self._drawn_range != self._range_key():
            self._draw_curves()

    def _range_key(self) -> tuple[float, float, int]:
        lo, hi = self.view_range()
        return lo, hi, int(next(iter(self.plots.values())).getViewBox().width())

    def _view_moved(self) -> None:
        if self._drawn_range != self._range_key():  # not the tick's own move, drawn already
            self._draw_curves()

    def _draw_curves(self) -> None:
        """Each curve: what is in view, at most ~2 points per pixel column."""
        self._moved.stop()
        key = self._range_key()
        lo, hi, pixels = key
        self._drawn_version = self.history.version
        self._drawn_range = key
        tracks = self.history.tracks
        for code, curve in self.curves.items():
            s = tracks.get(code)
            if s is None or not s.n:
                curve.setData([], [])
                continue
            x, y = in_view(s.t, s.v, lo, hi, max(pixels, 100), self.gaps[code])
            # Only finite points go to pyqtgraph (no NaN check of its own: skipFiniteCheck),
            # with where the line breaks said by `connect`.
            shown = np.flatnonzero(~np.isnan(y))
            joined = np.r_[np.diff(shown) == 1, False] if len(shown) else shown.astype(bool)
            curve.setData(x[shown], y[shown], connect=joined)
        for g in self.grids.values():
            g.update()
