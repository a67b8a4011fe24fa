"""Room mode for a whole window: one dark veil over every surface, with holes for alarms.

Colours set in dozens of places (stylesheets, rich text, plots) cannot all be dimmed one by
one, and a missed one is exactly the bright spot that wakes a patient under eyeshades. So room
mode lays a translucent black layer over the window, which scales the luminance of every
pixel beneath it by `theme.ROOM_FACTOR`. The layer leaves out:

- an alarming value and the alarm banner (an alarm must never be dimmed), and
- widgets that already paint themselves dim in room mode (the vital-sign numerals, the
  music and setting panels), so they are not dimmed twice.

What is left out is asked of the window each time the layer paints (`exempt`), so an alarm
that starts or a panel that moves is right at the next repaint. The layer takes no input.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QRegion
from PySide6.QtWidgets import QWidget

from console.ui import theme

_overlays: weakref.WeakSet[RoomOverlay] = weakref.WeakSet()


def exempt_widgets(root: QWidget) -> list[QWidget]:
    """Visible widgets under `root` marked as staying bright / dimming themselves."""
    return [w for w in root.findChildren(QWidget)
            if w.property(theme.ROOM_EXEMPT) and w.isVisible()]


class RoomOverlay(QWidget):
    def __init__(self, host: QWidget,
                 exempt: Callable[[], list[QRect]] | None = None) -> None:
        super().__init__(host)
        self._exempt = exempt or (lambda: [])
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setObjectName("roomOverlay")
        host.installEventFilter(self)
        self.setGeometry(host.rect())
        _overlays.add(self)
        self.sync()

    @staticmethod
    def attach_once(host: QWidget) -> RoomOverlay:
        """The veil for a dialog or tool window (made once per window)."""
        for child in host.children():
            if isinstance(child, RoomOverlay):
                child.sync()
                return child
        return RoomOverlay(host)

    def sync(self) -> None:
        """Show or hide with room mode, and stay the top layer."""
        on = theme.room_mode_active()
        self.setVisible(on)
        if on:
            self.raise_()
            self.update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        host = self.parentWidget()
        if watched is host and host is not None:
            if event.type() == QEvent.Type.Resize:
                self.setGeometry(host.rect())
            elif event.type() == QEvent.Type.ChildAdded and self.isVisible():
                self.raise_()
        return False

    def paintEvent(self, event: QPaintEvent) -> None:
        region = QRegion(self.rect())
        for r in self._exempt():
            region -= QRegion(r)
        p = QPainter(self)
        p.setClipRegion(region & event.region())
        p.fillRect(self.rect(), QColor(0, 0, 0, round(255 * (1 - theme.ROOM_FACTOR))))
        p.end()


def sync_all() -> None:
    """Room mode was switched: every window's layer follows."""
    for o in list(_overlays):
        if shiboken6.isValid(o):  # its window may have been closed and deleted
            o.sync()
        else:
            _overlays.discard(o)


def rect_in(widget: QWidget, host: QWidget) -> QRect:
    """`widget`'s rectangle in `host`'s coordinates."""
    return QRect(widget.mapTo(host, widget.rect().topLeft()), widget.size())
