"""The one window in the room: header, banners, vitals and side tabs, each with its panels.

Features (dose, music, notes, …) add themselves through the `add_*` methods from their own
`install` functions (see console/app.py), so this module knows none of them.

Layout: the header (who, timers, End) and the banners span the window; below them two
columns. The left holds the vitals strip (tiles, pleth, trend) with the music under it; the
right holds the side tabs with the dose entry under them. Every page scrolls up and down
only, so nothing needs sideways scrolling, and on a low screen (1366×768, 1280×800) the pleth
and trend give up height first: the tiles, the alarm banner and every control stay in view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar, runtime_checkable

from PySide6.QtCore import QEvent, QObject, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QFont, QFontMetrics, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from console.core.acquisition import SourceSwitch, grouped
from console.core.context import AppContext
from console.core.session import OpenSession
from console.store import allocator, engine
from console.store.history import session_history
from console.ui import theme
from console.ui.gui_post import GuiPoster
from console.ui.live_feed import LiveFeed
from console.ui.room_overlay import RoomOverlay, exempt_widgets, rect_in
from console.ui.session_header import SessionHeader
from console.ui.shell import Column, EndStep, Installed, Menu
from console.ui.side_tabs import FitScroll, SideTabs
from console.ui.status_line import OneLineLabel
from console.ui.vitals.vital_tile import VitalTile
from console.ui.vitals.vitals_strip import VitalsStrip
from console.ui.window_keys import WindowKeysFirst
from devices.reading import Sample

DISCLAIMER = (
    "Holdspace is an adjunct display and record — not a certified alarm system. "
    "Watch the patient and the bedside monitor."
)
CLOSE_QUESTION = "Close Holdspace while a session is open?"
CLOSE_DETAIL = ("Monitoring, alarms and recording stop until Holdspace is started again. "
                "The session stays open and resumes at the next start.")
# The second press of End session counts only after a deliberate pause: a double-click (or a
# bounce) never ends a session, and an old first press does not linger.
END_GAP_MIN_S = 0.6
END_GAP_MAX_S = 10.0
COMPACT_HEIGHT = 940  # below this window height the pleth and trend give up height
LARGE_HEIGHT = 1300  # from here (1440p) the numerals grow
NUMERAL_PX = {"compact": 52, "normal": theme.NUMERAL_PX, "large": 84}
# The widest value each tile must show at its smallest allowed size (theme.NUMERAL_MIN_PX).
WIDEST_VALUE = {"NIBP": "188/112?", "RR": "88?"}
WIDEST_DEFAULT = "188?"
RIGHT_PANEL_SHARE = 0.42  # a low screen: the dose pane asks for this part of its column
TREND_MIN_PX = {True: 28, False: 100}  # the trend plot's least height: compact or not
DIALOG_GAP = 8
MIN_WINDOW = QSize(1180, 640)
T = TypeVar("T")


@runtime_checkable
class Scalable(Protocol):
    """A header widget or panel whose sizes follow the screen ("compact", "normal", "large")."""

    def set_scale(self, scale: str) -> None: ...


@runtime_checkable
class Foldable(Protocol):
    """An information banner that can fold to one line (console/ui/start_notices.py)."""

    folded: bool

    def set_folded(self, on: bool) -> None: ...

    def unfold_cost(self) -> int: ...


def scale_for(height: int) -> str:
    """The window's height decides: a laptop / small touch screen, a 1080p or a 1440p one."""
    if height < COMPACT_HEIGHT:
        return "compact"
    return "large" if height >= LARGE_HEIGHT else "normal"


class MainWindow(QMainWindow):
    closing = Signal()

    def __init__(self, ctx: AppContext, feed: LiveFeed) -> None:
        super().__init__()
        self.ctx = ctx
        self.feed = feed
        self.setWindowTitle("Holdspace")
        # A feature that knows the dosing templates sets this: () -> [(template id, title)].
        self.template_choices: Callable[[], list[tuple[str, str]]] | None = None
        self._poster = GuiPoster(self)
        self._installed: list[Installed] = []
        self._features_closed = False
        self._waiting_text = ""
        self._end_steps: list[EndStep] = []
        self._scalable: list[Scalable] = []
        self._optional: list[tuple[FitScroll, QHBoxLayout]] = []
        self._shared: list[FitScroll] = []  # under the tabs: a share of the column at most
        self._shared_for = -1  # the right column's height they were sized for
        self.scale = ""
        self._end_armed_at: float | None = None
        self._close_allowed = False
        # An explicit floor, so the window can shrink to a laptop screen and *then* switch
        # to its compact sizes (the normal sizes' content would not let it); the tests check
        # that the content fits each supported screen (minimumSizeHint) once it has.
        self.setMinimumSize(MIN_WINDOW)
        self.resize(1600, 960)

        self.header = SessionHeader()
        self.banners = QVBoxLayout()
        self.banners.setContentsMargins(0, 0, 0, 0)
        self.banners.setSpacing(4)
        self.vitals = VitalsStrip(shown_source=ctx.hub.shown_source,
                                  stale_after=ctx.hub.stale_after, history=ctx.shown)
        self.side_tabs = SideTabs()
        self.side_tabs.hide()

        # Each column: its main widget on top, its panels below (kept at their own height).
        self.left_bottom = QHBoxLayout()
        self.right_bottom = QHBoxLayout()
        self.left_column = _Column(self.vitals, self.left_bottom, self._fit_to_width)
        self.right_column = _Column(self.side_tabs, self.right_bottom, self._fit_to_width)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.left_column)
        self.splitter.addWidget(self.right_column)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(10, 6, 10, 6)
        lay.setSpacing(6)
        lay.addWidget(self.header)
        lay.addLayout(self.banners)
        lay.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        # The disclaimer sits in the menu bar's corner (no row of its own); the status bar
        # appears only to say that something is wrong with Holdspace itself.
        self.problem_message = OneLineLabel("")  # one line at most: notes go to a banner
        self.problem_message.setStyleSheet(f"color: {theme.ALARM_MEDIUM}; font-weight: bold;")
        self.statusBar().addWidget(self.problem_message, 1)
        self.statusBar().hide()
        self.keep_status_bar = False  # something always shown there (sync): add_status_widget
        self.disclaimer = QLabel(DISCLAIMER)
        self.disclaimer.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 12px; "
                                      "padding-right: 8px;")
        self.menuBar().setCornerWidget(self.disclaimer, Qt.Corner.TopRightCorner)

        self.session_menu = self.menuBar().addMenu("&Session")
        self.devices_menu = self.menuBar().addMenu("&Devices")
        self.view_menu = self.menuBar().addMenu("&View")
        self.actions_menu = self.menuBar().addMenu("&Actions")
        self.keys_first = WindowKeysFirst(self)  # Ctrl+U, Ctrl+E… work while typing in a field
        full = QAction("Full screen", self)
        full.setShortcut(QKeySequence("F11"))
        full.triggered.connect(
            lambda: self.showNormal() if self.isFullScreen() else self.showFullScreen()
        )
        self.view_menu.addAction(full)
        self.action("Trend: follow now", "L", self.vitals.trend.go_live, "view")

        feed.samples.connect(self._on_samples)
        feed.link_status.connect(self.vitals.set_link_status)
        feed.switched.connect(self._on_switched)
        feed.second.connect(self.refresh)
        feed.problem.connect(self.show_problem)
        ctx.sessions.changed.connect(self.header.set_session)
        ctx.sessions.changed.connect(self._load_session_history)
        ctx.sessions.changed.connect(lambda _s: self._disarm_end())
        ctx.sessions.patient_changed.connect(self.header.set_session)
        ctx.sessions.failed.connect(self.show_problem)  # a start/end the disk refused late
        ctx.sessions.pending_changed.connect(self._disk_wait)
        self._end_ready = QTimer(self)  # the pause after the first press is over
        self._end_ready.setSingleShot(True)
        self._end_ready.setInterval(int(END_GAP_MIN_S * 1000))
        self._end_ready.timeout.connect(self._end_now_accepted)
        self._end_expire = QTimer(self)
        self._end_expire.setSingleShot(True)
        self._end_expire.setInterval(int(END_GAP_MAX_S * 1000))
        self._end_expire.timeout.connect(self._disarm_end)
        self.close_question: QMessageBox | None = None
        self.header.set_session(ctx.sessions.current)
        self._history_loaded_for: int | None = None
        self._load_session_history(ctx.sessions.current)
        self.overlay = RoomOverlay(self, self._room_exempt)
        self._fold_pending = False
        self._folded_for: tuple[int, ...] = ()  # what the window held when a banner folded
        central.installEventFilter(self)  # a banner shown, hidden or grown: fold again?
        self._fit_to_height()
        self.refresh(ctx.clock.now())

    # ----- the Shell (console/ui/shell.py): what features may add -----
    def add_header_widget(self, w: QWidget) -> None:
        self.header.extra.addWidget(w)
        self._follow_scale(w)

    def add_banner(self, w: QWidget, first: bool = False) -> None:
        """A banner across the window. A Foldable one (information) folds to one line when
        the window cannot hold it whole: the vitals' numerals keep their height."""
        if first:
            self.banners.insertWidget(0, w)
        else:
            self.banners.addWidget(w)
        self._follow_scale(w)

    def add_bottom_panel(self, w: QWidget, stretch: int = 1, column: Column = "left",
                         optional: bool = False, keep_in_view: QWidget | None = None) -> None:
        """A panel under the vitals ("left") or under the side tabs ("right"), side by side
        with the others there. It scrolls up and down if its column is too low, but never
        hides `keep_in_view` (its main button). An `optional` panel (a summary of what is
        reachable elsewhere) steps aside when its column is too narrow for it."""
        row = self.right_bottom if column == "right" else self.left_bottom
        scroll = FitScroll(w, flexible_width=optional, keep_in_view=keep_in_view)
        if column == "right":
            self._shared.append(scroll)
        row.addWidget(scroll, stretch)
        if optional:
            self._optional.append((scroll, row))
        self._follow_scale(w)

    def add_side_tab(self, title: str, w: QWidget) -> int:
        self.side_tabs.show()
        return self.side_tabs.add_page(w, title)

    def show_side_tab(self, w: QWidget) -> None:
        self.side_tabs.setCurrentWidget(w)

    def show_in_side_tab(self, w: QWidget) -> None:
        self.side_tabs.show_in_page(w)

    def set_side_tab_visible(self, w: QWidget, visible: bool) -> None:
        idx = self.side_tabs.indexOf(w)
        if idx >= 0:
            self.side_tabs.setTabVisible(idx, visible)

    def menu(self, menu: Menu) -> QMenu:
        """One of the window's menus; Help is made on first use."""
        if menu == "help":
            for a in self.menuBar().actions():
                m = a.menu()
                if isinstance(m, QMenu) and a.text().replace("&", "") == "Help":
                    return m
            return self.menuBar().addMenu("&Help")
        return {"session": self.session_menu, "devices": self.devices_menu,
                "view": self.view_menu}.get(menu, self.actions_menu)

    def add_action(self, action: QAction, menu: Menu = "actions") -> None:
        """Put an action in a menu and make its shortcut work anywhere in the window."""
        self.menu(menu).addAction(action)
        self.addAction(action)

    def action(self, text: str, shortcut: str, slot: Callable[[], object],
               menu: Menu = "actions") -> QAction:
        """The one way a feature makes a menu action with a window-wide shortcut."""
        a = QAction(text, self)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        a.triggered.connect(lambda _checked=False: slot())
        self.add_action(a, menu)
        return a

    def add_separator(self, menu: Menu) -> None:
        self.menu(menu).addSeparator()

    def set_template_choices(self, choices: Callable[[], list[tuple[str, str]]]) -> None:
        self.template_choices = choices

    def add_end_step(self, step: EndStep) -> None:
        """A feature that takes part in ending a session (asked at both presses of End)."""
        self._end_steps.append(step)

    def add_status_widget(self, w: QWidget) -> None:
        """A widget always shown at the right of the status bar (the central server's state):
        the status bar then stays visible."""
        self.statusBar().addPermanentWidget(w)
        self.keep_status_bar = True
        self.statusBar().setVisible(True)

    def _disk_wait(self, what: str | None) -> None:
        """A start or end of a session waits for a slow disk: said until it is done."""
        if what is not None:
            self._waiting_text = (f"The disk is slow: waiting for it to {what}. Monitoring "
                                  "goes on; nothing typed is lost.")
            self.show_problem(self._waiting_text)
        elif self.problem_text() == self._waiting_text:
            self.show_problem("")

    def problem_text(self) -> str:
        return self.problem_message.text()

    def show_status(self, message: str, ms: int) -> None:
        """A passing note. While a problem is said, the problem keeps the line and the note
        is not shown (two texts drawn over each other say nothing)."""
        if self.problem_text():
            return
        self.statusBar().showMessage(message, ms)

    def set_alarm(self, code: int, priority: str | None) -> None:
        self.vitals.set_alarm(code, priority)

    def mark_trend(self, t: float, text: str, colour: str) -> None:
        self.vitals.trend.add_marker(t, text, colour)

    def show_trend_time(self, t: float) -> None:
        self.vitals.trend.show_time(t)

    def dialog_parent(self) -> QWidget:
        return self

    def post(self, fn: Callable[[], None]) -> None:
        """Run `fn` on the GUI thread, from any thread (the app sets ctx.post to this)."""
        self._poster(fn)

    def on_closing(self, fn: Callable[[], None]) -> None:
        self.closing.connect(fn)

    def provide(self, installed: Installed) -> None:
        """Keep an installed feature: found again with `feature(cls)`, closed when the
        window closes."""
        self._installed.append(installed)

    def feature(self, kind: type[T]) -> T:
        """The installed feature of class `kind` (for the composition root and tests)."""
        for f in self._installed:
            if isinstance(f, kind):
                return f
        raise KeyError(f"no {kind.__name__} is installed")

    def installed(self) -> list[Installed]:
        return list(self._installed)

    def _load_session_history(self, session: OpenSession | None) -> None:
        """The trend shows the open session only: emptied when it ends or another begins,
        and after a restart mid-session it shows the whole session again, every monitor's
        readings whatever it was called then (a monitor moved to another port): the live
        values first, the stored history right after the window has been painted."""
        if session is not None and session.id == self._history_loaded_for:
            return
        self.vitals.new_session(session.row.started if session is not None
                                else self.ctx.clock.now())
        self._history_loaded_for = session.id if session is not None else None
        if session is not None:
            QTimer.singleShot(0, self, lambda sid=session.id: self._fill_history(sid))

    def _fill_history(self, session_id: int) -> None:
        if session_id != self._history_loaded_for:
            return  # another session (or none) since
        try:
            history = session_history(self.ctx.reader, session_id)
            self.vitals.show_history(history)
        except engine.ProgrammingError:
            return  # the store was closed meanwhile: the console is closing
        allocator.release()  # reading a long session's history freed what it passed through

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
                                         self.ctx.hub.switch_payload(g), t=g[0].t,
                                         automatic=True)  # the hub's choice, not a person's

    def _on_samples(self, samples: list[Sample]) -> None:
        self.vitals.add_samples(samples)
        self.vitals.refresh(self.ctx.clock.now())

    def refresh(self, now: float) -> None:
        self.header.refresh(now)
        self.vitals.refresh(now)
        if self._end_armed_at is not None:
            self._end_now_accepted()

    def show_problem(self, message: str) -> None:
        """A problem with Holdspace itself (disk, internal error), in the status bar."""
        self.problem_message.setText(message)  # its tooltip is the whole message
        if message:  # a passing note ("Record intact…") must not be drawn over a problem
            self.statusBar().clearMessage()
        self.problem_message.setVisible(bool(message))
        self.statusBar().setVisible(bool(message) or self.keep_status_bar)

    # ----- ending a session -----
    def request_end_session(self) -> bool:
        """End needs two presses with a deliberate pause between them (0.6–10 s): no modal
        dialog over the vitals, and a double-click never ends a session. Features' end steps
        (the discharge sign-off) are shown at the first press and must be complete at the
        second; they write their record just before `session.ended`."""
        if self.ctx.sessions.current is None:
            return False
        now = self.ctx.clock.monotonic()  # the console's clock: a test drives the pause
        armed = self._end_armed_at
        if armed is None or now - armed > END_GAP_MAX_S:
            self._end_armed_at = now
            self._end_ready.start()
            self._end_expire.start()
            self.header.end_button.setText("Press again to end")
            missing = [m for m in (s.end_requested() for s in self._end_steps) if m]
            self._say_end(" ".join(missing) if missing else "Press End session again to end.")
            return False
        if now - armed < END_GAP_MIN_S:  # too soon after the first press
            self._say_end("Not ended: a double-click does not end a session. "
                          "Press once more, deliberately.", warn=True)
            return False
        for step in self._end_steps:
            problem = step.end_problem()
            if problem:
                self._disarm_end()
                self._say_end(problem, warn=True)
                return False
        self._disarm_end()
        reasons = [r for r in (step.record_end() for step in self._end_steps) if r]
        self.ctx.sessions.end("; ".join(reasons) or None)
        return True

    def end_accepts_second_press(self) -> bool:
        """True once the pause after the first press is over (and it has not expired), by
        the console's clock (`ctx.clock.monotonic`), so it does not depend on how fast the
        event loop runs."""
        armed = self._end_armed_at
        if armed is None:
            return False
        gap = self.ctx.clock.monotonic() - armed
        return END_GAP_MIN_S <= gap <= END_GAP_MAX_S

    def _end_now_accepted(self) -> None:
        """The pause is over: the button says so (the 1 Hz refresh catches a late timer)."""
        if self.end_accepts_second_press():
            self.header.end_button.setText("Press again to END")
        elif (self._end_armed_at is not None
              and self.ctx.clock.monotonic() - self._end_armed_at > END_GAP_MAX_S):
            self._disarm_end()

    def _disarm_end(self) -> None:
        self._end_armed_at = None
        self._end_ready.stop()
        self._end_expire.stop()
        self.header.end_button.setText("End session")
        self._say_end("")

    def _say_end(self, text: str, warn: bool = False) -> None:
        self.header.end_hint.setText(text)
        self.header.end_hint.setStyleSheet(
            f"color: {theme.WARN if warn else theme.TEXT_DIM}; font-size: 14px;")

    def session(self) -> OpenSession | None:
        return self.ctx.sessions.current

    # ----- closing -----
    def allow_close_without_asking(self) -> None:
        """For a deliberate stop (SIGTERM, `--quit-after`, tests): close without the question."""
        self._close_allowed = True

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.ctx.sessions.current is not None and not self._close_allowed:
            event.ignore()  # the question decides; nothing stops until it is answered
            self._ask_to_close()
            return
        self.closing.emit()
        if not self._features_closed:  # music stops, the alarm sound closes, …
            self._features_closed = True
            for installed in self._installed:
                installed.close()
        super().closeEvent(event)

    def _ask_to_close(self) -> None:
        """Ask (without blocking the vitals) whether to stop monitoring; Cancel is the default."""
        if self.close_question is not None and self.close_question.isVisible():
            self.close_question.raise_()
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "Close Holdspace?", CLOSE_QUESTION,
                          QMessageBox.StandardButton.NoButton, self)
        box.setInformativeText(CLOSE_DETAIL)
        keep = box.addButton("Keep monitoring", QMessageBox.ButtonRole.RejectRole)
        close = box.addButton("Close Holdspace", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.setWindowModality(Qt.WindowModality.WindowModal)

        def answered(button: object) -> None:
            if button is close:
                self._close_allowed = True
                QTimer.singleShot(0, self.close)

        box.buttonClicked.connect(answered)
        self.close_question = box
        self.place_dialog(box)
        box.open()
        keep.setFocus()

    # ----- placing dialogs clear of the vitals -----
    def keep_clear(self) -> list[QRect]:
        """What a dialog must not cover, in global coordinates: the banners (the alarm
        banner among them) and the vital-sign tiles."""
        out = []
        for w in (*_banner_widgets(self.banners), *self.tiles()):
            if w.isVisible() and w.height() > 0:
                out.append(QRect(w.mapToGlobal(w.rect().topLeft()), w.size()))
        return out

    def place_dialog(self, dialog: QWidget) -> None:
        """Put a dialog or tool window low and to the right, clear of the tiles and the
        alarm banner; it shrinks to fit the free area where it can."""
        dialog.ensurePolished()
        layout = dialog.layout()
        if layout is not None:
            layout.activate()
        area = QRect(self.mapToGlobal(self.rect().topLeft()), self.size())
        clear = self.keep_clear()
        # a top-level's frame (title bar, border), as the window manager draws it here
        frame = self.frameGeometry().size() - self.size()
        want = dialog.sizeHint().expandedTo(dialog.minimumSizeHint()) + frame
        least = dialog.minimumSizeHint().expandedTo(dialog.minimumSize()) + frame
        below = max((r.bottom() for r in clear), default=area.top()) + DIALOG_GAP
        right = max((r.right() for r in clear if r.width() < area.width() * 0.9),
                    default=area.left()) + DIALOG_GAP
        top_right = max((r.bottom() for r in clear if r.width() >= area.width() * 0.9),
                        default=area.top()) + DIALOG_GAP
        beside = QRect(right, top_right, area.right() - right - DIALOG_GAP,
                       area.bottom() - top_right - DIALOG_GAP)
        under = QRect(area.left() + DIALOG_GAP, below, area.width() - 2 * DIALOG_GAP,
                      area.bottom() - below - DIALOG_GAP)
        for free in (beside, under):
            if free.width() >= least.width() and free.height() >= least.height():
                size = want.boundedTo(free.size()).expandedTo(least)
                x, y = free.right() - size.width() + 1, free.bottom() - size.height() + 1
                break
        else:  # a screen too small for the dialog: as low and right as it goes
            size = least
            x = max(area.left(), area.right() - size.width() + 1)
            y = max(area.top(), area.bottom() - size.height() + 1)
        dialog.resize(size - frame)
        dialog.move(x, y)  # a top-level's position is that of its frame
        RoomOverlay.attach_once(dialog)

    def tiles(self) -> list[VitalTile]:
        """The vital-sign tiles in the room, each once (several codes share a tile); a
        spot-check tile (temperature) only once it has had a value."""
        return [t for t in dict.fromkeys(self.vitals.tiles.values()) if not t.isHidden()]

    # ----- room mode and height -----
    def _room_exempt(self) -> list[QRect]:
        """Left out of the room-mode veil: an alarming tile, the alarm banner, and panels
        marked as dimming themselves."""
        out = [rect_in(w, self) for w in exempt_widgets(self)]
        out += [rect_in(t, self) for t in self.tiles() if t.isVisible() and t.alarm]
        return out

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_to_height()
        self._fold_soon()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.centralWidget() and event.type() == QEvent.Type.LayoutRequest:
            self._fold_soon()
        return super().eventFilter(watched, event)

    def _fold_soon(self) -> None:
        if not self._fold_pending:
            self._fold_pending = True
            QTimer.singleShot(0, self, self._fold_banners)

    def _fold_banners(self) -> None:
        """What gives way when the window is crowded: first the trend (down to a strip, by
        its minimum height), then the information banners fold to one line with More…,
        the first first; never the alarm banner, the header or the tiles' numerals."""
        self._fold_pending = False
        central = self.centralWidget()
        if central is None:
            return
        shown = [w for w in _banner_widgets(self.banners)
                 if isinstance(w, Foldable) and w.isVisibleTo(self)]
        spare = central.height() - central.minimumSizeHint().height()
        # what else takes height: a banner unfolds again only once this has changed since
        # it folded (so a cost measured a few pixels short can never make it flicker)
        others = (central.height(), self.header.minimumSizeHint().height(),
                  *(w.minimumSizeHint().height() if w.isVisibleTo(self) else -1
                    for w in _banner_widgets(self.banners) if not isinstance(w, Foldable)))
        if others != self._folded_for:
            for w in reversed(shown):  # room again: the last folded unfolds first
                if w.folded and w.unfold_cost() <= spare:
                    spare -= w.unfold_cost()
                    w.set_folded(False)
        for w in shown:
            if spare >= 0:
                break
            if not w.folded:
                spare += w.unfold_cost()
                w.set_folded(True)
                self._folded_for = others

    def _follow_scale(self, w: QWidget) -> None:
        if isinstance(w, Scalable):
            self._scalable.append(w)
            if self.scale:
                w.set_scale(self.scale)

    def _fit_to_height(self) -> None:
        """Sizes follow the screen: on a low one the pleth and the trend give up height
        (never the tiles or a control), on a large one the numerals grow."""
        scale = scale_for(self.height())
        if scale != self.scale:
            self.scale = scale
            compact = scale == "compact"
            self.vitals.pleth.setFixedHeight(40 if compact else 80)
            # the trend gives way first (to the banners, the header's message), down to a
            # strip; the tiles below their numerals' height never (VitalTile's floor)
            self.vitals.trend.layout_widget.setMinimumHeight(TREND_MIN_PX[compact])
            # The trend's range buttons are not frequent actions: smaller on a low screen.
            self.vitals.trend.setStyleSheet(
                "QPushButton { padding: 2px 10px; min-height: 22px; }" if compact else "")
            for w in self._scalable:
                w.set_scale(scale)
            for scroll in self._shared:  # the notes, checks and sign panes keep room
                scroll.share = RIGHT_PANEL_SHARE if compact else None
                scroll.updateGeometry()
            for tile in self.tiles():
                self._size_tile(tile, NUMERAL_PX[scale])
        self._fit_to_width()
        QTimer.singleShot(0, self._keep_columns_apart)  # once the new sizes are laid out

    def _keep_columns_apart(self) -> None:
        """Neither column below its minimum width (the splitter keeps old proportions)."""
        sizes = self.splitter.sizes()
        if len(sizes) != 2 or sum(sizes) <= 0:
            return
        total = sum(sizes)
        left_min = self.left_column.minimumSizeHint().width()
        right_min = self.right_column.minimumSizeHint().width()
        left = min(max(sizes[0], left_min), max(left_min, total - right_min))
        if left != sizes[0]:
            self.splitter.setSizes([left, total - left])

    def _size_tile(self, tile: VitalTile, px: int) -> None:
        """Numerals at `px`, and a tile never so narrow that they drop below 48 px."""
        f = QFont(tile.value.font())
        f.setPixelSize(theme.NUMERAL_MIN_PX)
        f.setBold(True)
        widest = WIDEST_VALUE.get(tile.title.text(), WIDEST_DEFAULT)
        # the tile's margins and its own fitting rule (vital_tile.VitalTile._fit_px)
        tile.setMinimumWidth(QFontMetrics(f).horizontalAdvance(widest) + 36)
        tile.value_px = px
        tile.refresh(self.ctx.clock.now())

    def _fit_to_width(self) -> None:
        """An optional panel steps aside when its column cannot hold it beside the others."""
        if self.right_column.height() != self._shared_for:  # (a column's resize lands here)
            self._shared_for = self.right_column.height()
            for scroll in self._shared:
                scroll.updateGeometry()
        for scroll, row in self._optional:
            col = row.parentWidget()
            if col is None:
                continue
            others = sum(w.minimumSizeHint().width() for w in _row_widgets(row)
                         if w is not scroll and w.isVisibleTo(col))
            inner = scroll.widget()
            need = inner.minimumSizeHint().width() if inner is not None else 0
            scroll.setVisible(col.width() - others - row.spacing() >= need)


class _Column(QWidget):
    """One column: its main widget on top, its panels in a row below."""

    def __init__(self, main: QWidget, bottom: QHBoxLayout, resized: Callable[[], None]) -> None:
        super().__init__()
        self._resized = resized
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(6)
        lay.addWidget(main, 1)
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.setSpacing(6)
        lay.addLayout(bottom)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._resized()


def _row_widgets(layout: QHBoxLayout) -> list[QWidget]:
    return _banner_widgets(layout)


def _banner_widgets(layout: QVBoxLayout | QHBoxLayout) -> list[QWidget]:
    out = []
    for i in range(layout.count()):
        item = layout.itemAt(i)
        w = item.widget() if item is not None else None
        if w is not None:
            out.append(w)
    return out
