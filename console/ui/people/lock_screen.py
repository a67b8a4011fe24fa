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
LOCK_WHOLE = theme.LOCK_WHOLE  # a part of a visible widget the form never covers (a tile)
_TYPING = (QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.ShortcutOverride,
           QEvent.Type.InputMethod)

LONG_HINT = ("The vitals, the alarms and the dose timer stay on screen. To silence an alarm, "
             "press Acknowledge on the alarm banner (F4) — choose your name and type your PIN "
             "below first to be named in the record.")
SHORT_HINT = "Silence an alarm: Acknowledge (F4) on its banner."


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
        self.hint = QLabel(LONG_HINT)
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
        self._fitted_for: tuple[object, ...] | None = None
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
        self._compact(False)
        self.heading.setText(heading)
        self.heading.show()
        self.first_admin.hide()
        self.unlock.show()
        self.hint.show()
        self.unlock.ask("Unlock with your PIN", "", people, chosen=chosen)
        self._lock()
        self.unlock.pin.setFocus()

    def show_first_admin(self) -> None:
        self._compact(False)
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
        """Cover the window but the holes; the form sits where it covers no vital sign's
        tile, no alarm banner and no dose timer: beside the vitals where there is room,
        else over the trend or the right column (a 1366×768 laptop), with a shorter hint
        if it must. Only a screen with no such place at all has the form over the least of
        them, low and right; the form is never cut."""
        self.setGeometry(self.window_.rect())
        holes = self.holes()
        key = (self.width(), self.height(), tuple(r.getRect() for r in holes),
               self.hint.isVisibleTo(self), self.first_admin.isVisibleTo(self),
               self.heading.text(), self.box.minimumSizeHint().height())
        if key != self._fitted_for:  # at 4 Hz while locked: measured when something moved
            self._fitted_for = key
            self._compact(False)
            spot = self._place(holes)
            if spot is None:
                self._compact(True)
                spot = self._place(holes) or self._anywhere()
            self.box.setGeometry(spot)
            self._fitted_for = (*key[:-1], self.box.minimumSizeHint().height())
        region = QRegion(self.rect())
        for r in holes:
            region -= QRegion(r)
        region += QRegion(self.box.geometry())  # the form is whole, whatever it covers
        if region != self.mask():
            self.setMask(region)
        self.raise_()

    def never_covered(self, holes: list[QRect]) -> list[QRect]:
        """The tiles (LOCK_WHOLE), and every hole that has none of them inside."""
        whole = [rect_in(w, self.window_) for w in self.window_.findChildren(QWidget)
                 if w.property(LOCK_WHOLE) and w.isVisible()]
        return whole + [h for h in holes if not any(h.intersects(r) for r in whole)]

    def _compact(self, on: bool) -> None:
        """A small screen: the short hint, a smaller heading, less space between."""
        text = SHORT_HINT if on else LONG_HINT
        if self.hint.text() == text:
            return
        self.hint.setText(text)
        self.heading.setStyleSheet(f"color: {theme.TEXT}; font-size: {26 if on else 34}px; "
                                   "font-weight: bold;")
        # the first run's form has its own title: "Welcome" above it is left out
        self.heading.setVisible(not (on and self.first_admin.isVisibleTo(self)))
        self.first_admin.set_compact(on)
        lay = self.box.layout()
        if lay is not None:
            lay.setSpacing(6 if on else 14)
            lay.activate()

    def _size(self) -> list[tuple[int, int]]:
        """The form's (width, height) to try: its comfortable width, then its least."""
        want, least = self.box.sizeHint(), self.box.minimumSizeHint()
        lay = self.box.layout()
        out = []
        for w in dict.fromkeys((min(max(want.width(), 480), 640), max(least.width(), 360))):
            if w > self.width() - 24:
                continue
            h = lay.heightForWidth(w) if lay is not None and lay.hasHeightForWidth() else -1
            out.append((w, min(self.height() - 24, max(h, want.height() if h < 0 else 0,
                                                       least.height()))))
        return out

    def _place(self, holes: list[QRect]) -> QRect | None:
        """Where the form covers no tile, alarm banner or timer: beside the vitals under the
        banners (a large screen), else over the trend or the right column, right and low."""
        area = self.rect()
        keep = self.never_covered(holes)
        wide = [r for r in holes if r.width() >= area.width() * 0.8]  # banner rows
        narrow = [r for r in holes if r.width() < area.width() * 0.8]  # vitals, timer
        top = max((r.bottom() for r in wide), default=area.top())
        beside = max((r.right() for r in narrow if r.bottom() > top), default=area.left())
        free = QRect(beside + 24, top + 24, area.right() - beside - 48, area.bottom() - top - 48)
        sizes = self._size()
        for w, h in sizes:
            if free.width() >= w and free.height() >= h:
                return QRect(free.left() + (free.width() - w) // 2, free.top(), w, h)
        # else: the edges of what must stay in sight are the only places worth trying
        best: tuple[tuple[int, int, int], QRect] | None = None
        for w, h in sizes:
            xs = {area.right() - 12 - w + 1, 12, *(k.right() + 12 for k in keep)}
            ys = {area.bottom() - 12 - h + 1, 12, *(k.bottom() + 8 for k in keep)}
            for x in xs:
                for y in ys:
                    r = QRect(x, y, w, h)
                    if not area.adjusted(8, 8, -8, -8).contains(r):
                        continue
                    if any(r.intersects(k) for k in keep):
                        continue
                    score = (sum(_overlap(r, o) for o in holes), -x, -y)
                    if best is None or score < best[0]:
                        best = (score, r)
            if best is not None:
                return best[1]
        return None

    def _anywhere(self) -> QRect:
        """A screen with no clean place: low and right, over the least it can."""
        w, h = next(iter(self._size()), (self.width() - 24, self.height() - 24))
        return QRect(self.width() - 12 - w, max(12, self.height() - 12 - h), w, h)

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


def _overlap(a: QRect, b: QRect) -> int:
    r = a.intersected(b)
    return r.width() * r.height() if r.isValid() else 0
