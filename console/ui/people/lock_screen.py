"""The lock: privacy, not calm. An opaque layer over the window that hides names, notes and
the record, with holes for what must stay in sight and in reach: the vitals, the alarm banner
(its Acknowledge button works) and the dose timer.

What stays visible is marked on the widgets themselves (`LOCK_VISIBLE`), so the feature that
owns a widget decides and this layer needs to know none of them. The layer is a masked child
of the window: outside the holes it paints and takes every click; inside them the widgets
beneath are untouched. While locked, the window's shortcuts are off except those marked
`LOCK_KEEPS` (acknowledge alarms, full screen), its menus are closed, and typing can reach
only the lock's own fields or a visible widget.

On it: unlock (your name and PIN), the first run's clinic-admin form, and a name + PIN that,
when given, names the person who silences an alarm at the locked screen.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, QRect, QTimer
from PySide6.QtGui import QAction, QPainter, QPaintEvent, QRegion
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QVBoxLayout, QWidget

from console.core.people.accounts import Account
from console.ui import theme
from console.ui.people.pin_panel import FirstAdminPanel, PinPanel
from console.ui.room_overlay import rect_in

LOCK_VISIBLE = theme.LOCK_VISIBLE  # a widget property: stays in sight when locked
LOCK_KEEPS = theme.LOCK_KEEPS  # an action property: its key still works when locked
_TYPING = (QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.ShortcutOverride,
           QEvent.Type.InputMethod)


def visible_widgets(root: QWidget) -> list[QWidget]:
    return [w for w in root.findChildren(QWidget) if w.property(LOCK_VISIBLE) and w.isVisible()]


class LockScreen(QWidget):
    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window_ = window
        self.setObjectName("lockScreen")
        self.setAutoFillBackground(False)
        self.box = QWidget(self)
        self.box.setObjectName("lockBox")
        self.heading = QLabel("Screen locked")
        self.heading.setStyleSheet(f"color: {theme.TEXT}; font-size: 34px; font-weight: bold;")
        self.hint = QLabel("The vitals, the alarms and the dose timer stay on screen. To "
                           "silence an alarm, press Acknowledge on the alarm banner (F4) — "
                           "choose your name and type your PIN below first to be named in "
                           "the record.")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 17px;")
        self.unlock = PinPanel("Unlock", cancel=None)
        self.unlock.setObjectName("unlockPanel")
        self.first_admin = FirstAdminPanel()
        self.first_admin.hide()
        lay = QVBoxLayout(self.box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(14)
        lay.addWidget(self.heading)
        lay.addWidget(self.hint)
        lay.addWidget(self.unlock)
        lay.addWidget(self.first_admin)
        lay.addStretch(1)
        self._disabled: list[QAction] = []
        self._hidden: list[QWidget] = []
        self._follow = QTimer(self)  # the holes follow an alarm banner that comes and goes
        self._follow.setInterval(250)
        self._follow.timeout.connect(self.fit)
        window.installEventFilter(self)
        self.hide()

    # ----- showing -----
    @property
    def locked(self) -> bool:
        return self.isVisible()

    def show_unlock(self, people: Sequence[Account], chosen: str | None,
                    heading: str = "Screen locked") -> None:
        self.heading.setText(heading)
        self.first_admin.hide()
        self.unlock.show()
        self.hint.show()
        self.unlock.ask("Unlock with your PIN", "", people, chosen=chosen)
        self._lock()
        self.unlock.pin.setFocus()

    def show_first_admin(self) -> None:
        self.heading.setText("Welcome")
        self.unlock.hide()
        self.hint.hide()
        self.first_admin.show()
        self._lock()
        self.first_admin.name.setFocus()

    def ack_identity(self) -> tuple[str, str]:
        """(name, PIN) typed on the lock, for an alarm acknowledged here ("" when not)."""
        if not self.locked or not self.unlock.isVisible():
            return "", ""
        pin = self.unlock.pin.text()
        return (self.unlock.name(), pin) if pin else ("", "")

    def _lock(self) -> None:
        if not self.isVisible():
            self._disabled = [a for a in self.window_.actions()
                              if a.isEnabled() and not a.property(LOCK_KEEPS)]
            for a in self._disabled:
                a.setEnabled(False)
            self.window_.menuBar().setEnabled(False)
            # open tool windows (staff list, export, patients …) show names: put away
            self._hidden = [w for w in QApplication.topLevelWidgets()
                            if w is not self.window_ and w.isVisible()
                            and w.parentWidget() is self.window_]
            for w in self._hidden:
                w.hide()
            # a PIN question from before the lock is not asked again after it
            self._hidden = [w for w in self._hidden if w.objectName() != "pinDialog"]
            QApplication.instance().installEventFilter(self)  # type: ignore[union-attr]
        self.show()
        self.raise_()
        self.fit()
        self._follow.start()

    def release(self) -> None:
        """Unlocked: everything as it was."""
        if not self.isVisible():
            return
        self._follow.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.hide()
        for a in self._disabled:
            a.setEnabled(True)
        self._disabled = []
        self.window_.menuBar().setEnabled(True)
        for w in self._hidden:
            w.show()
        self._hidden = []
        self.unlock.pin.clear()

    # ----- the holes -----
    def holes(self) -> list[QRect]:
        return [rect_in(w, self.window_) for w in visible_widgets(self.window_)]

    def fit(self) -> None:
        """Cover the window but the holes; the form sits where no hole is (beside the vitals,
        below the banner and timer), and is never cut by a hole: if the screen has no such
        place, the form covers what it must and is whole."""
        self.setGeometry(self.window_.rect())
        holes = self.holes()
        area = self.rect()
        wide = [r for r in holes if r.width() >= area.width() * 0.8]  # banner rows
        narrow = [r for r in holes if r.width() < area.width() * 0.8]  # vitals, timer
        top = max((r.bottom() for r in wide), default=area.top())
        beside = max((r.right() for r in narrow if r.bottom() > top), default=area.left())
        free = QRect(beside + 24, top + 24, area.right() - beside - 48, area.bottom() - top - 48)
        if free.width() < 420 or free.height() < 300:
            below = max((r.bottom() for r in holes), default=area.top())
            free = QRect(24, below + 24, area.width() - 48, area.bottom() - below - 48)
        if free.width() < 420 or free.height() < 300:  # a small screen: at the bottom right
            free = QRect(area.width() // 2, area.height() // 3, area.width() // 2 - 24,
                         area.height() * 2 // 3 - 24)
        want = self.box.sizeHint()
        w = min(max(want.width(), 480), free.width(), 640)
        # Never squeezed below what it needs to be read: on a small screen it rises (over the
        # trend, or a tile's corner on the first run) rather than cram its fields together.
        h = min(area.height() - 24, max(want.height(), self.box.minimumSizeHint().height()))
        y = max(12, min(free.top(), area.bottom() - h - 12))
        self.box.setGeometry(free.left() + (free.width() - w) // 2, y, w, h)
        region = QRegion(self.rect())
        for r in holes:
            region -= QRegion(r)
        region += QRegion(self.box.geometry())  # the form is whole, whatever it covers
        if region != self.mask():
            self.setMask(region)
        self.raise_()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), theme.BG)  # opaque: nothing beneath shows through

    # ----- input while locked -----
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window_ and event.type() in (
                QEvent.Type.Resize, QEvent.Type.Show, QEvent.Type.LayoutRequest) and self.isVisible():
            QTimer.singleShot(0, self.fit)
            return False
        if not self.isVisible() or not isinstance(watched, QWidget):
            return False
        if event.type() in _TYPING and not self._reachable(watched):
            return True  # a hidden note box must not take what is typed at the lock
        if event.type() == QEvent.Type.FocusIn and not self._reachable(watched):
            QTimer.singleShot(0, self._refocus)
        return False

    def _reachable(self, w: QWidget) -> bool:
        if w is self or self.isAncestorOf(w) or w.window() is not self.window_:
            return True
        return any(v is w or v.isAncestorOf(w) for v in visible_widgets(self.window_))

    def _refocus(self) -> None:
        if not self.isVisible():
            return
        if self.first_admin.isVisible():
            self.first_admin.name.setFocus()
        else:
            self.unlock.pin.setFocus()
