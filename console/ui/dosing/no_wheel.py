"""No value changes by a stray mouse wheel: spin boxes, combo boxes and sliders change with
the wheel only once they have been clicked or tabbed into.

Scrolling a form with the wheel must never change a value the pointer happens to pass over
(a MOAA/S of 5 became 0 that way). One application-wide event filter does it for every such
input in the console, including those created later and those in dialogs: a wheel over an
unfocused one is passed on to the page behind it (so the page still scrolls), and these
inputs never take the focus from the wheel alone.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QScrollBar,
    QWidget,
)

VALUE_INPUTS = (QAbstractSpinBox, QComboBox, QAbstractSlider)


def is_value_input(obj: QObject) -> bool:
    """A widget whose value the wheel would change (scroll bars only scroll: they are not)."""
    return isinstance(obj, VALUE_INPUTS) and not isinstance(obj, QScrollBar)


def _no_wheel_focus(w: QWidget) -> None:
    if w.focusPolicy() == Qt.FocusPolicy.WheelFocus:
        w.setFocusPolicy(Qt.FocusPolicy.StrongFocus)


class NoWheelOnUnfocused(QObject):
    """The filter; `install()` puts one on the application."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        # Every event of the application passes here: the cheap test first (the type of
        # the widget), the event's type (an enum made in Python) only for value inputs.
        if not is_value_input(obj):
            return False
        kind = event.type()
        if kind == QEvent.Type.Polish and is_value_input(obj):
            assert isinstance(obj, QWidget)
            _no_wheel_focus(obj)
        elif kind == QEvent.Type.Wheel and is_value_input(obj):
            assert isinstance(obj, QWidget)
            if not obj.hasFocus():
                # Not accepted and not delivered: Qt offers a real wheel to the parent next.
                event.ignore()
                return True
        return False


_installed: NoWheelOnUnfocused | None = None


def install(app: QCoreApplication | None = None) -> NoWheelOnUnfocused | None:
    """Install the filter once on the running application (later calls do nothing)."""
    global _installed
    app = app or QApplication.instance()
    if app is None:
        return None
    if _installed is None or _installed.parent() is not app:
        _installed = NoWheelOnUnfocused(app)
        app.installEventFilter(_installed)
        if isinstance(app, QApplication):
            for w in app.allWidgets():
                if is_value_input(w):
                    _no_wheel_focus(w)
    return _installed
