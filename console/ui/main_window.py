"""The one window in the room: header, banners, vitals strip, side tabs and bottom panels.

Features (dose, music, notes, …) add themselves through the `add_*` methods from their own
`install` functions (see console/app.py), so this module knows none of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from console.core.acquisition import SourceSwitch, grouped
from console.core.context import AppContext
from console.core.session import OpenSession
from console.store import records
from console.ui import theme
from console.ui.live_feed import LiveFeed
from console.ui.session_header import SessionHeader
from console.ui.side_tabs import SideTabs, scrolling
from console.ui.vitals_strip import VitalsStrip
from devices.reading import Quality, Reading, Sample

DISCLAIMER = (
    "Holdspace is an adjunct display and record — not a certified alarm system. "
    "Watch the patient and the bedside monitor."
)


class MainWindow(QMainWindow):
    closing = Signal()

    def __init__(self, ctx: AppContext, feed: LiveFeed) -> None:
        super().__init__()
        self.ctx = ctx
        self.feed = feed
        self.setWindowTitle("Holdspace")
        # A feature that knows the dosing templates sets this: () -> [(template id, title)].
        self.template_choices: Callable[[], list[tuple[str, str]]] | None = None
        self.resize(1600, 960)

        self.header = SessionHeader()
        self.banners = QVBoxLayout()
        self.banners.setContentsMargins(0, 0, 0, 0)
        self.banners.setSpacing(4)
        self.vitals = VitalsStrip(shown_source=ctx.hub.shown_source,
                                  stale_after=ctx.hub.stale_after)
        self.side_tabs = SideTabs()
        self.side_tabs.hide()
        self.bottom = QHBoxLayout()
        self.bottom.setContentsMargins(0, 0, 0, 0)
        self._bottom_box = QWidget()
        self._bottom_box.setLayout(self.bottom)
        self._bottom_box.hide()

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.vitals)
        self.splitter.addWidget(self.side_tabs)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

        # The bottom row shares the height with the vitals through a splitter, so the window
        # fits a 1080p room screen however many panels the features add.
        self.rows = QSplitter(Qt.Orientation.Vertical)
        self.rows.setChildrenCollapsible(False)
        self.rows.addWidget(self.splitter)
        self.rows.addWidget(self._bottom_box)
        self.rows.setStretchFactor(0, 3)
        self.rows.setStretchFactor(1, 1)

        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(10, 8, 10, 6)
        lay.setSpacing(8)
        lay.addWidget(self.header)
        lay.addLayout(self.banners)
        lay.addWidget(self.rows, 1)
        self.setCentralWidget(central)

        self.problem_message = QLabel("")
        self.problem_message.setStyleSheet(f"color: {theme.ALARM_MEDIUM}; font-weight: bold;")
        self.statusBar().addWidget(self.problem_message, 1)
        disclaimer = QLabel(DISCLAIMER)
        disclaimer.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 12px;")
        self.statusBar().addPermanentWidget(disclaimer)

        self.session_menu = self.menuBar().addMenu("&Session")
        self.devices_menu = self.menuBar().addMenu("&Devices")
        self.view_menu = self.menuBar().addMenu("&View")
        self.actions_menu = self.menuBar().addMenu("&Actions")
        full = QAction("Full screen", self)
        full.setShortcut(QKeySequence("F11"))
        full.triggered.connect(
            lambda: self.showNormal() if self.isFullScreen() else self.showFullScreen()
        )
        self.view_menu.addAction(full)
        self.view_menu.addAction(self._action("Trend: follow now", "L", self.vitals.trend.go_live))

        feed.samples.connect(self._on_samples)
        feed.link_status.connect(self.vitals.set_link_status)
        feed.switched.connect(self._on_switched)
        feed.second.connect(self.refresh)
        feed.problem.connect(self.show_problem)
        ctx.sessions.changed.connect(self.header.set_session)
        ctx.sessions.changed.connect(self._load_session_history)
        ctx.sessions.patient_changed.connect(self.header.set_session)
        self._end_confirm = QTimer(self)
        self._end_confirm.setSingleShot(True)
        self._end_confirm.setInterval(5000)
        self._end_confirm.timeout.connect(lambda: self.header.end_button.setText("End session"))
        self.header.set_session(ctx.sessions.current)
        self._history_loaded_for: int | None = None
        self._load_session_history(ctx.sessions.current)
        self.refresh(ctx.clock.now())

    def _action(self, text: str, shortcut: str, slot: Callable[[], object]) -> QAction:
        a = QAction(text, self)
        a.setShortcut(QKeySequence(shortcut))
        a.triggered.connect(slot)
        self.addAction(a)
        return a

    # ----- extension points for features -----
    def add_header_widget(self, w: QWidget) -> None:
        self.header.extra.addWidget(w)

    def add_banner(self, w: QWidget) -> None:
        self.banners.addWidget(w)

    def add_bottom_panel(self, w: QWidget, stretch: int = 1) -> None:
        """A panel in the bottom row, beside the others; it scrolls when the row is low."""
        self.bottom.addWidget(scrolling(w, 120, sideways=True), stretch)
        self._bottom_box.show()
        self.rows.setSizes([700, 260])

    def add_side_tab(self, title: str, w: QWidget) -> int:
        self.side_tabs.show()
        return self.side_tabs.add_page(w, title)

    def add_action(self, action: QAction, menu: str = "actions") -> None:
        """Put an action in a menu and make its shortcut work anywhere in the window."""
        {"session": self.session_menu, "devices": self.devices_menu, "view": self.view_menu}.get(
            menu, self.actions_menu
        ).addAction(action)
        self.addAction(action)

    def _load_session_history(self, session: OpenSession | None) -> None:
        """The trend shows the open session only: emptied when it ends or another begins,
        and after a restart mid-session it shows the whole session again."""
        if session is not None and session.id == self._history_loaded_for:
            return
        self.vitals.new_session(session.row.started if session is not None
                                else self.ctx.clock.now())
        self._history_loaded_for = session.id if session is not None else None
        if session is None:
            return
        codes = list(self.vitals.trend.series)
        rows = records.session_readings(self.ctx.reader, session.id, codes)
        self.vitals.trend.add_readings(
            [Reading(t, src, code, math.nan if v is None else v, unit, Quality(q))
             for t, src, code, v, unit, q in rows if src == (self.ctx.hub.shown_source(code) or src)]
        )

    # ----- live data -----
    def _on_switched(self, switches: list[SourceSwitch]) -> None:
        """A parameter is now shown from another monitor: told on the strip, and in the
        record during a session (so a reader knows which monitor the alarms followed)."""
        groups = grouped(switches)
        self.vitals.source_switched([self.ctx.hub.switch_text(g) for g in groups],
                                    [r for sw in switches for r in sw.readings],
                                    max(sw.t for sw in switches))
        if self.ctx.sessions.current is not None:
            for g in groups:
                self.ctx.sessions.record("display.source_changed",
                                         self.ctx.hub.switch_payload(g), t=g[0].t)

    def _on_samples(self, samples: list[Sample]) -> None:
        self.vitals.add_samples(samples)
        self.vitals.refresh(self.ctx.clock.now())

    def refresh(self, now: float) -> None:
        self.header.refresh(now)
        self.vitals.refresh(now)

    def show_problem(self, message: str) -> None:
        """A problem with Holdspace itself (disk, internal error), in the status bar."""
        self.problem_message.setText(message)
        self.problem_message.setToolTip(message)

    def request_end_session(self) -> bool:
        """Two presses within five seconds end the session: no modal dialog over the vitals."""
        if not self._end_confirm.isActive():
            self.header.end_button.setText("Press again to end")
            self._end_confirm.start()
            return False
        self._end_confirm.stop()
        self.ctx.sessions.end()
        return True

    def session(self) -> OpenSession | None:
        return self.ctx.sessions.current

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closing.emit()
        super().closeEvent(event)
