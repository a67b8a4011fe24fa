"""The central server's state in the status bar: a few words, the whole sentence as tooltip.

The replicator (console/replication) runs on its own thread and calls back there; the news
is posted to the GUI thread. Shown only when this workstation sends to a central server. A
problem (the server cannot be reached) is in the alarm colour, but it is not a clinical
alarm: the room keeps recording locally and sends everything when the server is back.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from console.core.context import AppContext
from console.core.saving import Post
from console.replication.replicator import Replicator
from console.replication.status import SyncStatus
from console.ui import theme
from console.ui.main_window import MainWindow


class SyncIndicator(QLabel):
    def __init__(self, post: Post, replicator: Replicator) -> None:
        super().__init__()
        self.setObjectName("syncIndicator")
        self._post = post  # ctx.post: the replicator calls back on its own thread
        self.show_status(replicator.status)
        replicator.on_status = lambda s: self._post(lambda: self.show_status(s))

    def show_status(self, s: SyncStatus) -> None:
        self.setText(s.short())
        self.setToolTip(s.sentence())
        colour = theme.ALARM_MEDIUM if s.last_error else theme.TEXT_DIM
        self.setStyleSheet(f"color: {colour}; padding: 0 8px;")


def install(window: MainWindow, ctx: AppContext, replicator: Replicator) -> SyncIndicator:
    """In the status bar for good (see console/app.py); found as window.feature(SyncIndicator)."""
    label = SyncIndicator(ctx.post, replicator)
    window.add_status_widget(label)
    return label
