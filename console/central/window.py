"""The central station's window: one panel per room, every alarm across the top, one tone.

Data arrive from the feed's thread in batches (through a GuiPoster); a 1 Hz tick only moves
ages and countdowns. The tone is the room's own alarm sound (console/ui/dosing/alarm_sound.py) for
the highest priority any room sounds now: a room's acknowledgement silences it here too. A
room that cannot be seen while its patient is under observation (dosed, minimum observation
not over) sounds a low tone, since its alarms would not reach the station; any other unseen
room with a session is on the banner only (a console closed with a session still open must
not chime all night). The station never writes clinical data.

`set_signed_in(name)` is the one seam for staff sign-in at the station: until a member of
staff is signed in, panels show patients' initials only.
"""

from __future__ import annotations

import html
import sqlite3
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from console.central.banner import Line, StationBanner
from console.central.detail import RoomDetail
from console.central.feed import StationFeed, Update
from console.central.panel import RoomPanel
from console.central.rooms import STALE_AFTER_S, RoomState
from console.central.server import where
from console.core.clock import Clock, SystemClock
from console.core.dosing.alarms import PRIORITY_ORDER, duration_text
from console.core.dosing.templates import Catalog
from console.core.ducking import Ducking
from console.ui import theme
from console.ui.dosing.alarm_sound import AlarmSound
from console.ui.gui_post import GuiPoster

TITLE = "Holdspace — central station"
FOOTER = ("Read only: doses, checks and acknowledgements are made in the room. Holdspace is an "
          "adjunct display — not a certified alarm system; the bedside monitors' alarms stay on.")


def columns_for(n: int) -> int:
    """Panels per row: side by side up to three, then a grid."""
    return 2 if n == 4 else max(1, min(3, n))


class CentralWindow(QMainWindow):
    def __init__(self, url: str, *, clock: Clock | None = None, catalog: Catalog | None = None,
                 data_dir: Path | None = None, sound: AlarmSound | None = None,
                 stale_after: float = STALE_AFTER_S) -> None:
        super().__init__()
        self.setWindowTitle(TITLE)
        self.clock = clock or SystemClock()
        self.url = url
        self.states: dict[str, RoomState] = {}
        self.panels: dict[str, RoomPanel] = {}
        self.details: dict[str, RoomDetail] = {}
        self.signed_in: str | None = None
        self.connected = False
        self.problem: str | None = None
        self.problem_since: float | None = None
        self.updates = 0  # batches received (for tests and the status line)

        self.heading = QLabel(TITLE)
        self.heading.setStyleSheet(f"color: {theme.TEXT}; font-size: 20px; font-weight: bold;")
        self.status = QLabel(f"Connecting to {html.escape(where(url))} …")
        self.status.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 15px;")
        self.clock_label = QLabel("")
        self.clock_label.setStyleSheet(f"color: {theme.TEXT}; font-size: 20px;")
        self.server_bar = QLabel("")
        self.server_bar.setWordWrap(True)
        self.server_bar.setStyleSheet(
            f"color: {theme.TEXT}; background: #2a2f36; border: 2px solid {theme.STALE}; "
            "font-size: 20px; font-weight: bold; padding: 8px; border-radius: 6px;")
        self.server_bar.hide()
        self.server_bar.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.banner = StationBanner()
        self.silent = QLabel("")  # the tone cannot play here: say so, always in view
        self.silent.setWordWrap(True)
        self.silent.setStyleSheet(f"color: {theme.WARN}; font-size: 17px; font-weight: bold;")
        self.silent.hide()
        self.empty = QLabel("No room has reached the server yet. Each room's console sends its "
                            "record once replication is switched on there (--sync … --room NAME).")
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 18px;")
        self.empty.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.empty.hide()
        self.grid = QGridLayout()
        self.grid.setSpacing(12)
        footer = QLabel(FOOTER)
        footer.setWordWrap(True)
        footer.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 12px;")

        top = QHBoxLayout()
        top.addWidget(self.heading)
        top.addSpacing(16)
        top.addWidget(self.status, 1)
        top.addWidget(self.clock_label)
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(12, 10, 12, 8)
        lay.setSpacing(10)
        lay.addLayout(top)
        lay.addWidget(self.server_bar)
        lay.addWidget(self.silent)
        lay.addWidget(self.banner)
        lay.addWidget(self.empty)
        lay.addLayout(self.grid)
        lay.addStretch(1)  # panels keep their height; the rest is calm background
        lay.addWidget(footer)
        self.setCentralWidget(body)

        self.sound = sound if sound is not None else AlarmSound(Ducking(), data_dir, parent=self)
        self.poster = GuiPoster(self)
        self.feed = StationFeed(url, lambda u: self.poster(lambda: self.apply(u)),
                                clock=self.clock, catalog=catalog,
                                monotonic=self.clock.monotonic, stale_after=stale_after)
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.tick)

    def start(self) -> None:
        self.feed.start()
        self.timer.start()
        self.tick()

    # ----- from the feed (GUI thread) -----
    def apply(self, update: Update) -> None:
        self.updates += 1
        if not update.connected:
            self.connected, self.problem = False, update.problem
            self.problem_since = update.since
        else:
            self.connected, self.problem, self.problem_since = True, None, None
        new = [r for r in update.rooms if r not in self.panels]
        self.states.update(update.rooms)
        for room in new:
            panel = RoomPanel(room)
            panel.full_names = self.signed_in is not None
            panel.opened.connect(self.open_room)
            self.panels[room] = panel
        if new:
            self._lay_out()
        now, mono = self.clock.now(), self.clock.monotonic()
        for room, st in update.rooms.items():
            self.panels[room].set_state(st, now, mono)
            if room in self.details:
                self._ask_copy(room)
        self.tick()

    def _lay_out(self) -> None:
        for p in self.panels.values():
            self.grid.removeWidget(p)
        cols = columns_for(len(self.panels))
        for i, room in enumerate(sorted(self.panels)):
            self.grid.addWidget(self.panels[room], i // cols, i % cols)
        for c in range(cols):
            self.grid.setColumnStretch(c, 1)

    # ----- every second -----
    def tick(self) -> None:
        now, mono = self.clock.now(), self.clock.monotonic()
        self.clock_label.setText(time.strftime("%H:%M:%S", time.localtime(now)))
        if self.connected:
            self.status.setText(f"{len(self.panels)} room{'s' if len(self.panels) != 1 else ''} "
                                f"· live from {html.escape(where(self.url))}")
            self.server_bar.hide()
        elif self.problem:
            lost = (f" for {duration_text(mono - self.problem_since)}"
                    if self.problem_since is not None else "")
            self.status.setText("not connected")
            self.server_bar.setText(f"The station has not been able to read the clinic server"
                                    f"{lost} — nothing shown is current. Go to the rooms. "
                                    f"({self.problem})")
            self.server_bar.show()
        self.empty.setVisible(self.connected and not self.panels)
        lines: list[Line] = []
        sounding: list[str] = []
        for room, panel in self.panels.items():
            panel.refresh(now, mono)
            st = self.states[room]
            beat = st.heartbeat
            blind = beat is None or beat.stale(mono) or not self.connected
            for a in st.alarms():
                lines.append(Line(room, a))
            if blind and st.in_progress:
                age = beat.age(mono) if beat is not None else None
                lines.append(Line(room, None, age))
                if st.under_observation():
                    sounding.append("low")
            elif (p := st.sounding(now)) is not None:
                sounding.append(p)
        self.banner.show_lines(lines, now)
        self._title(lines)
        self.sound.set_priority(min(sounding, key=lambda p: PRIORITY_ORDER[p])
                                if sounding else None)
        if self.sound.unavailable:
            self.silent.setText(f"{self.sound.unavailable} Keep this screen in view.")
        self.silent.setVisible(bool(self.sound.unavailable))
        for d in self.details.values():
            d.on_second(now)

    def _title(self, lines: list[Line]) -> None:
        """The alarms in the window title too, so the taskbar says it when the window is
        covered: "2 alarms (HIGH) — Holdspace — central station"."""
        alarms = [ln.alarm for ln in lines if ln.alarm is not None]
        title = TITLE
        if alarms:
            top = min(alarms, key=lambda a: PRIORITY_ORDER[a.priority]).priority.upper()
            title = f"{len(alarms)} alarm{'s' if len(alarms) != 1 else ''} ({top}) — {TITLE}"
        if self.windowTitle() != title:
            self.setWindowTitle(title)

    # ----- rooms' detail -----
    def open_room(self, room: str) -> None:
        d = self.details.get(room)
        if d is None:
            d = RoomDetail(room, self, url=self.url, by=lambda: self.signed_in)
            d.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # closed: gone, with its copy
            d.finished.connect(lambda _r, room=room: self.details.pop(room, None))
            self.details[room] = d
            self._ask_copy(room)
        d.show()
        d.raise_()

    def _ask_copy(self, room: str) -> None:
        st = self.states.get(room)
        sid = st.session.id if st is not None and st.session is not None else None
        live = bool(st and st.in_progress)

        def got(conn: sqlite3.Connection | None) -> None:  # on the feed's thread
            self.poster(lambda: self._show_copy(room, conn, sid, live))

        self.feed.request_copy(room, got)

    def _show_copy(self, room: str, conn: sqlite3.Connection | None, sid: int | None,
                   live: bool) -> None:
        d = self.details.get(room)
        if d is None:
            if conn is not None:
                conn.close()
            return
        d.show_copy(conn, sid, live)

    # ----- staff -----
    def set_signed_in(self, name: str | None) -> None:
        """A member of staff signed in (full names shown) or out (initials only)."""
        self.signed_in = name
        for p in self.panels.values():
            p.full_names = name is not None
        self.tick()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.timer.stop()
        self.feed.stop()
        self.sound.close()
        for d in list(self.details.values()):
            d.close()
        super().closeEvent(event)


def run_station(url: str, *, screenshot: str | None = None,
                quit_after: float | None = None) -> int:
    """`holdspace central --pg URL`: the window until it is closed."""
    import sys

    from PySide6.QtWidgets import QApplication

    from console.core.config import default_data_dir
    from console.ui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    apply_theme(app)
    win = CentralWindow(url, data_dir=default_data_dir())
    win.resize(1500, 900)
    win.show()
    win.start()
    if quit_after is not None:
        def leave() -> None:
            if screenshot:
                win.grab().save(screenshot)
            win.close()

        QTimer.singleShot(int(quit_after * 1000), leave)
    return int(app.exec())
