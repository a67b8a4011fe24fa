"""The window's own Ctrl keys work while the clinician is typing in a field.

A text field claims some Ctrl keys for editing before the window sees them, and which ones
depends on the platform's key scheme: on Linux (X11) Ctrl+U deletes the whole line and
Ctrl+E goes to its end, on Windows Ctrl+Y is "redo". So a nurse typing an observation who
pressed Ctrl+U to hand over the keyboard lost what she had typed and nobody switched, and
Ctrl+E exported nothing. Here every field that takes the focus in the window leaves a Ctrl
key to the window when the window has an enabled action on it (the Keys table in the README).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QLineEdit, QWidget

EDITORS = (QLineEdit, QAbstractSpinBox, QComboBox)
_WATCHED = "holdspaceWindowKeysFirst"


class WindowKeysFirst(QObject):
    """Put on the window once (`MainWindow` does); watches only the fields given the focus."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.window = window
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)

    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if (new is not None and isinstance(new, EDITORS) and not new.property(_WATCHED)
                and new.window() is self.window):
            new.setProperty(_WATCHED, True)
            new.installEventFilter(self)

    def window_takes(self, event: QKeyEvent) -> bool:
        """True when the key (with Ctrl) is one of the window's enabled actions."""
        if not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            return False  # plain letters, Alt+digits and F-keys: the field's or already fine
        pressed = QKeySequence(event.keyCombination())
        return any(a.isEnabled() and any(
            s.matches(pressed) == QKeySequence.SequenceMatch.ExactMatch for s in a.shortcuts())
            for a in self.window.actions())

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if (event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent)
                and self.window_takes(event)):
            event.ignore()  # not claimed by the field: the window's shortcut runs
            return True
        return False
