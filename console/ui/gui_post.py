"""Hand a call from any thread to the GUI thread (for VLC's event callbacks)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal


class GuiPoster(QObject):
    """`poster(fn)` runs `fn()` later on the thread that owns this object (the GUI)."""

    _call = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        # Never a child of the window: VLC's, the writer's and workers' threads hold a poster
        # and may post while the window is being destroyed; a window-owned poster would be
        # deleted under them. Owned by Python instead, it lives while anyone can still post.
        # Calls still queued when the owner (the window) is destroyed are dropped: nobody is
        # left to show them to.
        super().__init__()
        self._gone = False
        if parent is not None:
            parent.destroyed.connect(self._owner_gone)
        self._call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def _owner_gone(self, *_: object) -> None:
        self._gone = True

    def __call__(self, fn: Callable[[], None]) -> None:
        # The window that owned this poster may already be gone (closing down) while another
        # thread (VLC, the writer) still has news: nobody is left to show it to.
        with contextlib.suppress(RuntimeError):
            self._call.emit(fn)

    def _run(self, fn: Callable[[], None]) -> None:
        if not self._gone:
            fn()
