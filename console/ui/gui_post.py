"""Hand a call from any thread to the GUI thread (for VLC's event callbacks)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal


class GuiPoster(QObject):
    """`poster(fn)` runs `fn()` later on the thread that owns this object (the GUI)."""

    _call = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def __call__(self, fn: Callable[[], None]) -> None:
        # The window that owned this poster may already be gone (closing down) while another
        # thread (VLC, the writer) still has news: nobody is left to show it to.
        with contextlib.suppress(RuntimeError):
            self._call.emit(fn)

    def _run(self, fn: Callable[[], None]) -> None:
        fn()
