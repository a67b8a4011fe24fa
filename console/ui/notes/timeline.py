"""The whole dosing day on one time axis: vitals, doses, checks, alarms, notes, music.

Read from the store only (readings table + event log), so it shows any feature's events by
their kind prefix and "summary" without importing those features, and works the same for
the open session (refreshed live, the present scrolling along) and for an ended one under
chart review. Clicking a mark or a row emits `activated(t, uid)`; the feature moves the
vitals chart and the note there.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.core.event_kinds import Kind, by_text, kind_label
from console.core.people.roles import permission_for_kind
from console.core.session_record import AMEND, build_record
from console.core.vitals.shown_history import ShownHistory, gapped
from console.core.vitals_table import VITALS, Vital
from console.store import engine
from console.store.events import Event, session_events
from console.store.history import session_history
from console.ui import plot_style, theme
from console.ui.clock_axis import ClockAxis
from devices import mdc
from devices.reading import Reading, Sample

# Lanes top to bottom. Family colours avoid the parameter colours, which mean a vital sign.
DOSE = "#e0914a"
CHECK = "#8fa3b8"
NOTE = "#d9c7a3"
SCORE = "#c4a6e8"
AE = "#ff8a65"
MUSIC = "#7f9cf5"
SESSION = theme.TEXT_DIM

LANES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("doses", "Doses", ("dose.", "infusion.", "rems.")),
    ("alarms", "Alarms", ("alarm.", "limits.")),
    ("checks", "Checks", ("check.", "checklist.", "gate.")),
    ("notes", "Notes", ("note.", "score.", "ae.", "discharge.", "outcome.", "course.", "sign.")),
    ("music", "Music", ("music.", "setting.")),
    ("session", "Session", ("",)),
)
LANE_Y = {key: len(LANES) - i for i, (key, _t, _p) in enumerate(LANES)}
LANE_LABEL = {key: title for key, title, _p in LANES}

# Every code a curve is drawn for, and its parameter in the vital-sign table: pulse rate
# from an oximeter is drawn in the HR lane as a heart rate from the ECG is.
CURVES: dict[int, Vital] = {code: v for v in VITALS for code in v.codes}


def _curve_colour(code: int) -> str:
    v = CURVES[code]
    return v.colour if code == v.code else theme.dim(v.colour, 0.6)  # a stand-in source
GAP_S = 30.0  # a longer silence breaks a continuous line on the timeline
_READABLE = (0, 1, 2, 3)  # Quality values that may be drawn (not INVALID)
# Each drawable code (and the codes shown as it, e.g. a pulse rate in the HR lane) -> curve.
_CURVE_OF = {**{c: c for c in CURVES}, **{k: v for k, v in mdc.CANONICAL.items() if v in CURVES}}


@dataclass(frozen=True, slots=True)
class TimelineItem:
    t: float
    uid: str
    kind: str
    lane: str
    colour: str
    summary: str
    author: str | None
    label: str = ""  # a short text beside the mark (dose mg, score value)
    phase: str = ""  # music phase name, for phase bands


def lane_of(kind: str) -> str:
    for key, _title, prefixes in LANES:
        if kind.startswith(prefixes):
            return key
    return "session"


def colour_of(ev: Event) -> str:
    k = ev.kind
    if k.startswith("alarm."):
        c = theme.PRIORITY_COLOURS.get(str(ev.payload.get("priority", "")), theme.ALARM_LOW)
        return theme.dim(c, 0.65) if k != "alarm.raised" else c
    if k.startswith("check."):
        return theme.ALARM_MEDIUM if "missed" in k else CHECK
    if k.startswith(("dose.", "infusion.", "rems.")):
        return DOSE
    if k.startswith("score."):
        return SCORE
    if k.startswith("ae."):
        return AE
    if k.startswith(("music.", "setting.")):
        return MUSIC
    if k.startswith(("checklist.", "gate.", "limits.")):
        return CHECK
    if k.startswith(("note.", "discharge.", "outcome.", "course.", "sign.")):
        return NOTE
    return SESSION


def timeline_items(events: list[Event]) -> list[TimelineItem]:
    """Every event as a mark, amendments folded into the entry they correct."""
    rec = build_record(events)
    out = []
    for ev in rec.events:
        if ev.kind == AMEND:
            continue
        entry = rec.entry(ev.uid)
        summary = str(ev.payload.get("summary") or kind_label(ev.kind))
        if entry is not None and entry.amended:
            summary = f"{entry.summary}  [amended]"
        out.append(TimelineItem(ev.t, ev.uid, ev.kind, lane_of(ev.kind), colour_of(ev),
                                summary, ev.author, _label(ev, entry.current if entry else None),
                                str(ev.payload.get("phase") or "")))
    return out


class Timeline(QWidget):
    activated = Signal(float, str)  # t, uid

    def __init__(self, reader: engine.Connection, parent: QWidget | None = None,
                 shown: ShownHistory | None = None) -> None:
        super().__init__(parent)
        # The open session's values are the console's shown history (shared with the trend,
        # kept once); a session under review, or with no shared history (the central
        # station's view), has its own, read from the store.
        self.shown = shown
        self._own = ShownHistory()
        self._drawn_version = -1
        pg.setConfigOptions(antialias=False, background=theme.BG, foreground=theme.TEXT_DIM)
        self.reader = reader
        self.session_id: int | None = None
        self.live = False
        self.follow = True
        self.items: list[TimelineItem] = []
        self._events: list[Event] = []  # the session's record as drawn (plus what is new)
        self._items_stale = self._curves_stale = False
        self._now: float | None = None

        self.title = QLabel("No session")
        self.title.setStyleSheet(f"color: {theme.TEXT}; font-weight: bold;")
        self.title.setWordWrap(True)  # a long session title must not widen the tab
        self.live_button = QPushButton("Now")
        self.live_button.setToolTip("Scroll along with the present again")
        self.live_button.clicked.connect(self.go_live)
        self.whole_button = QPushButton("Whole day")
        self.whole_button.clicked.connect(self.show_all)
        bar = QHBoxLayout()
        bar.addWidget(self.title, 1)
        bar.addWidget(self.whole_button)
        bar.addWidget(self.live_button)

        self.graph = pg.GraphicsLayoutWidget()
        self.graph.ci.setSpacing(0)
        self.vitals_plot = self.graph.addPlot(row=0, col=0,
                                              axisItems={"bottom": ClockAxis()})
        self.lane_plot = self.graph.addPlot(row=1, col=0,
                                            axisItems={"bottom": ClockAxis()})
        self.graph.ci.layout.setRowStretchFactor(0, 3)
        self.graph.ci.layout.setRowStretchFactor(1, 4)
        for p in (self.vitals_plot, self.lane_plot):
            p.setMenuEnabled(False)
            p.hideButtons()
            p.getAxis("left").setWidth(64)
            p.getViewBox().setMouseEnabled(x=True, y=False)
            p.getViewBox().sigRangeChangedManually.connect(self._user_moved)
            p.showGrid(x=True, alpha=0.1)
        self.vitals_plot.getAxis("bottom").setStyle(showValues=False)
        self.vitals_plot.setXLink(self.lane_plot)
        self.vitals_plot.setYRange(0, 200, padding=0)
        legend = " ".join(f"<span style='color:{v.colour}'>{n}</span>" for n, v in {
            (v.tile_title + (" ▼sys ▲dia" if v.tile == "nibp" else "")): v
            for v in VITALS}.items())
        self.vitals_plot.setTitle(f"<span style='font-size:10pt'>{legend}</span>",
                                  justify="left")
        self.lane_plot.setYRange(0.4, len(LANES) + 0.6, padding=0)
        self.lane_plot.getAxis("left").setTicks(
            [[(LANE_Y[k], LANE_LABEL[k]) for k in LANE_Y]])
        # A curve per code the session has values for, made with its first value.
        self.curves: dict[int, pg.PlotDataItem] = {}
        self.scatter = pg.ScatterPlotItem(size=13, hoverable=True, hoverSize=17,
                                          tip=self._tip)
        self.scatter.sigClicked.connect(self._clicked)
        self.graph.scene().sigMouseClicked.connect(self._scene_clicked)
        self._labels: list[pg.TextItem] = []
        self._bands: pg.BarGraphItem | None = None
        self.phases: list[tuple[float, float, str]] = []
        self.lane_plot.addItem(self.scatter)
        self.now_lines = [pg.InfiniteLine(angle=90, pen=pg.mkPen(theme.TEXT, width=1))
                          for _ in range(2)]
        self.vitals_plot.addItem(self.now_lines[0])
        self.lane_plot.addItem(self.now_lines[1])
        self.mark_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(theme.ALARM_LOW, width=1,
                                                             style=Qt.PenStyle.DashLine))
        self.lane_plot.addItem(self.mark_line)
        self.mark_line.hide()

        self.table = QTreeWidget()
        self.table.setHeaderLabels(["Time", "Lane", "By", "What"])
        self.table.setRootIsDecorated(False)
        self.table.setUniformRowHeights(True)
        self.table.setColumnWidth(0, 90)
        self.table.setColumnWidth(1, 80)
        self.table.setColumnWidth(2, 110)
        self.table.itemActivated.connect(self._row_activated)
        self.table.itemClicked.connect(self._row_activated)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.graph)
        split.addWidget(self.table)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(bar)
        lay.addWidget(split, 1)
        self._start = 0.0
        self._end: float | None = None
        self._update_buttons()

    # ----- loading -----
    def load(self, session_id: int | None, live: bool = False) -> None:
        """Show a session: the open one (live) or an ended one (review). The record is read
        from the file once here; a live session then grows by what the console hears
        (`add_samples` from the live feed, `add_events` from the committed events)."""
        self.session_id = session_id
        self.live = live
        self.follow = live
        self._own = ShownHistory()
        self._drawn_version = -1
        self._events = []
        if session_id is None:
            self.title.setText("No session")
        else:
            row = self.reader.execute("SELECT started, ended, template FROM sessions WHERE id=?",
                                      (session_id,)).fetchone()
            if row is not None:
                self._start, self._end = float(row[0]), row[1]
                day = time.strftime("%a %d %b %Y, %H:%M", time.localtime(self._start))
                state = "live" if live else "review"
                self.title.setText(f"Session {session_id} · {row[2] or 'no template'} · "
                                   f"{day} · {state}")
            self._own.since = self._start
            if self._history is self._own:
                self._read_readings()
            self._events = session_events(self.reader, session_id)
        self.items = timeline_items(self._events)
        self._items_stale = self._curves_stale = True
        self._catch_up(force=True)
        self.show_all() if not live else self.go_live()

    def add_samples(self, samples: Sequence[Sample]) -> None:
        """A live batch from the feed: the session's drawable readings are kept (cheap);
        they are drawn at the next second while the timeline is on screen."""
        if not self.live or self.session_id is None or self._history is not self._own:
            return  # the shared history has them (the vitals strip keeps it)
        self._own.add(r for r in samples if isinstance(r, Reading) and r.code in _CURVE_OF)

    def add_events(self, events: list[Event]) -> None:
        """Committed events (any feature's): this session's join the marks and rows, at once
        if the timeline is on screen, else when it is shown."""
        sid = self.session_id
        mine = [e for e in events if sid is not None and e.session_id == sid]
        if not mine:
            return
        self._events.extend(mine)
        self._events.sort(key=lambda e: e.t)  # as read back: in time order
        for e in mine:
            if e.kind == Kind.SESSION_ENDED:
                self._end = e.t
        items = timeline_items(self._events)  # the model follows at once (cheap: events
        if items != self.items:               # are few); drawing waits to be on screen
            self.items = items
            self._items_stale = True
        self._catch_up()

    def refresh(self, now: float | None = None) -> None:
        """Draw what has changed since the last drawing (nothing is re-read)."""
        self._catch_up()
        if now is not None:
            self.set_now(now)

    def _catch_up(self, force: bool = False) -> None:
        """Redraw what is stale, only while on screen (or when a session is loaded)."""
        if not force and not self.isVisible():
            return
        if self._curves_stale or self._drawn_version != self._history.version:
            self._curves_stale = False
            self._draw_curves()
        if self._items_stale:
            self._items_stale = False
            self._draw_items()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._catch_up()  # what arrived while the tab was hidden
        if self.live and self._now is not None:
            self.set_now(self._now)

    @property
    def _history(self) -> ShownHistory:
        """Where the curves' values are: shared while live, else the timeline's own."""
        return self.shown if self.live and self.shown is not None else self._own

    def _read_readings(self) -> None:
        """The session's stored readings, once (`store/history.py`, read per parameter
        straight into numpy); a value that may not be shown is a break in its line."""
        assert self.session_id is not None
        history = session_history(self.reader, self.session_id)
        for code in CURVES:
            stored = history.series(code)
            if len(stored):
                self._own.add_history(code, stored.t, np.where(
                    np.isin(stored.quality, _READABLE), stored.value, np.nan))

    def _draw_curves(self) -> None:
        history = self._history
        self._drawn_version = history.version
        for code, v in CURVES.items():
            track = history.tracks.get(code)
            curve = self.curves.get(code)
            if curve is None:
                if track is None or not track.n:
                    continue
                curve = self.curves[code] = self._new_curve(code)
            if track is None:
                curve.setData([], [])
            else:
                curve.setData(*gapped(track.t, track.v, GAP_S if v.continuous else None))

    def _new_curve(self, code: int) -> pg.PlotDataItem:
        """Drawn as the vital-sign table says: a line for continuous values, marks for
        spot measurements (▼ systolic, ▲ diastolic, ● the others)."""
        v, colour = CURVES[code], _curve_colour(code)
        if v.continuous:
            return self.vitals_plot.plot([], [], pen=pg.mkPen(colour, width=1), connect="finite")
        symbol = "t" if v.key == "sys" else "t1" if v.key == "dia" else "o"
        return self.vitals_plot.plot([], [], pen=None, symbol=symbol, symbolSize=8,
                                     symbolBrush=plot_style.brush(colour),
                                     symbolPen=plot_style.pen(None))

    def _draw_items(self) -> None:
        """Marks and rows again (only when the log changed), keeping the row selected."""
        current = self.table.currentItem()
        keep = current.data(0, Qt.ItemDataRole.UserRole) if current is not None else None
        spots = [{"pos": (it.t, LANE_Y[it.lane]), "data": it.uid,
                  "brush": plot_style.brush(it.colour), "pen": plot_style.pen(theme.BG),
                  "symbol": _symbol(it.kind),
                  "size": 9 if it.kind == Kind.ALARM_ACKNOWLEDGED else 13} for it in self.items]
        self.scatter.setData(spots)
        for label in self._labels:
            self.lane_plot.removeItem(label)
        self._labels = []
        self._draw_phases()
        for it in self.items:
            if it.label:
                text = pg.TextItem(it.label, color=it.colour, anchor=(0.5, 1.25))
                text.setPos(it.t, LANE_Y[it.lane])
                self.lane_plot.addItem(text)
                self._labels.append(text)
        self.table.clear()
        rows = []
        for it in self.items:
            row = QTreeWidgetItem([time.strftime("%H:%M:%S", time.localtime(it.t)),
                                   LANE_LABEL[it.lane], who_text(it), it.summary])
            row.setData(0, Qt.ItemDataRole.UserRole, it.uid)
            row.setForeground(3, QBrush(QColor(it.colour)))
            row.setToolTip(3, f"{kind_label(it.kind)}\n{it.summary}")
            rows.append(row)
        self.table.addTopLevelItems(rows)
        selected = [r for r in rows if keep and r.data(0, Qt.ItemDataRole.UserRole) == keep]
        if selected:
            self.table.setCurrentItem(selected[0])
        if self.follow and rows:
            self.table.scrollToBottom()

    def _draw_phases(self) -> None:
        """Music phases as bands in the music lane, each until the next phase or the end."""
        changes = [it for it in self.items if it.kind == Kind.MUSIC_PHASE_CHANGED]
        self.phases = []
        ends = [it.t for it in self.items if it.kind in (Kind.MUSIC_STOPPED, Kind.SESSION_ENDED)]
        for i, it in enumerate(changes):
            nxt = changes[i + 1].t if i + 1 < len(changes) else None
            later = [t for t in ends if t > it.t]
            end = nxt or (min(later) if later else max(self._history.last_time(), it.t + 60))
            self.phases.append((it.t, end, it.phase or it.summary))
        if self._bands is not None:
            self.lane_plot.removeItem(self._bands)
            self._bands = None
        if not self.phases:
            return
        y = LANE_Y["music"]
        shades = [theme.dim(MUSIC, f) for f in (0.35, 0.22)]
        self._bands = pg.BarGraphItem(
            x0=[a for a, _b, _n in self.phases], x1=[b for _a, b, _n in self.phases],
            y0=[y - 0.28] * len(self.phases), height=[0.56] * len(self.phases),
            brushes=[shades[i % 2] for i in range(len(self.phases))], pens=[None] *
            len(self.phases))
        self._bands.setZValue(-5)
        self.lane_plot.addItem(self._bands)
        for a, _b, name in self.phases:
            text = pg.TextItem(name, color=MUSIC, anchor=(0, -0.35))
            text.setPos(a, y)
            self.lane_plot.addItem(text)
            self._labels.append(text)

    # ----- time -----
    def set_now(self, now: float) -> None:
        """The present (1 Hz in a live session): move the line, scroll along if following."""
        for line in self.now_lines:
            line.setValue(now)
            line.setVisible(self.live)
        if self.live and self.follow:
            lo = max(self._start - 60, now - 2 * 3600)
            self.lane_plot.setXRange(lo, now + max(120.0, (now - lo) * 0.05), padding=0)

    def on_second(self, now: float) -> None:
        """1 Hz in a live session: new readings drawn and the present moved, only while the
        timeline is on screen (a hidden tab costs nothing)."""
        self._now = now
        if self.live and self.session_id is not None and self.isVisible():
            self.refresh(now)

    def go_live(self) -> None:
        self.follow = True
        self._update_buttons()
        if self.live:
            self.set_now(self.now_lines[0].value())

    def show_all(self) -> None:
        ts = [it.t for it in self.items] + [float(t) for s in self._history.tracks.values()
                                            if s.n for t in (s.t[0], s.t[s.n - 1])]
        lo = min([self._start, *ts]) if ts or self._start else 0.0
        hi = max([self._end or self._start, *ts]) if ts or self._start else 1.0
        pad = max(60.0, (hi - lo) * 0.03)
        self.follow = False
        self.lane_plot.setXRange(lo - pad, hi + pad, padding=0)
        self._update_buttons()

    def show_time(self, t: float, uid: str | None = None) -> None:
        """Put the cursor at t and select that entry in the list (from the notes)."""
        self.follow = False
        self.mark_line.setValue(t)
        self.mark_line.show()
        lo, hi = self.view_range()
        if not lo <= t <= hi:
            span = hi - lo
            self.lane_plot.setXRange(t - span / 2, t + span / 2, padding=0)
        for i in range(self.table.topLevelItemCount()):
            row = self.table.topLevelItem(i)
            if row is not None and (row.data(0, Qt.ItemDataRole.UserRole) == uid or
                                    (uid is None and self.items[i].t >= t)):
                self.table.setCurrentItem(row)
                self.table.scrollToItem(row)
                break
        self._update_buttons()

    def view_range(self) -> tuple[float, float]:
        (lo, hi), _ = self.lane_plot.viewRange()
        return float(lo), float(hi)

    def _user_moved(self, *_: object) -> None:
        self.follow = False
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.live_button.setVisible(self.live)
        self.live_button.setEnabled(not self.follow)

    # ----- clicks -----
    def item(self, uid: str) -> TimelineItem | None:
        return next((it for it in self.items if it.uid == uid), None)

    def _tip(self, x: float, y: float, data: object) -> str:
        it = self.item(str(data))
        if it is None:
            return ""
        when = time.strftime("%H:%M:%S", time.localtime(it.t))
        return f"{when}  {it.summary}\n— {who_text(it)}"

    def _clicked(self, _item: object, points: list[pg.SpotItem], ev: object = None) -> None:
        """Marks close together overlap at a whole-day zoom: take the one nearest the click."""
        if not len(points):
            return
        at = ev.pos() if ev is not None and hasattr(ev, "pos") else None
        if at is not None:
            points = sorted(points, key=lambda p: abs(p.pos().x() - at.x()))
        self.activate(str(points[0].data()))

    def _scene_clicked(self, ev: object) -> None:
        """A click on the vitals trends jumps to that moment too."""
        vb = self.vitals_plot.getViewBox()
        pos = ev.scenePos()  # type: ignore[attr-defined]
        if vb.sceneBoundingRect().contains(pos):
            t = float(vb.mapSceneToView(pos).x())
            self.mark_line.setValue(t)
            self.mark_line.show()
            self.follow = False
            self._update_buttons()
            self.activated.emit(t, "")

    def _row_activated(self, row: QTreeWidgetItem, _col: int = 0) -> None:
        self.activate(str(row.data(0, Qt.ItemDataRole.UserRole)))

    def activate(self, uid: str) -> None:
        it = self.item(uid)
        if it is not None:
            self.mark_line.setValue(it.t)
            self.mark_line.show()
            self.follow = False
            self._update_buttons()
            self.activated.emit(it.t, uid)


def _label(ev: Event, current: dict[str, object] | None) -> str:
    p = current or ev.payload
    value = p.get("mg") if ev.kind == "dose.given" else p.get("value")
    if not isinstance(value, int | float) or not ev.kind.startswith(("dose.given", "score.")):
        return ""
    return f"{value:g} mg" if ev.kind == "dose.given" else f"{value:g}"


def who_text(it: TimelineItem) -> str:
    """Who did it: the person, or "automatic" for what the console did by itself (a track
    ended, an alarm rose); a person's kind with nobody named (an alarm silenced at the locked
    screen without a PIN) shows a dash."""
    return by_text(it.author, permission_for_kind(it.kind) is not None)


def _symbol(kind: str) -> str:
    if kind.startswith("alarm."):
        return "t" if kind == "alarm.raised" else "o"
    if kind.startswith("dose."):
        return "d"
    if kind.startswith("score."):
        return "s"
    if kind == "note.observation":
        return "o"
    return "o"
