"""One room's trend and timeline at the station, read only.

The room's own timeline widget (console/ui/notes/timeline.py: vitals curves over the day, every
dose, check, alarm and note in lanes, and the list of entries), reading a snapshot of the
station's copy of the room's current session. Each time the room's rows change the feed hands
over a fresh snapshot and the timeline reads on from where it was. There is nothing to edit:
the snapshot is opened query-only and the station's login cannot write to the server.
"""

from __future__ import annotations

import sqlite3
import time

from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget

from console.ui import theme
from console.ui.notes.timeline import Timeline

EMPTY = "No session in this room yet."


class RoomDetail(QDialog):
    def __init__(self, room: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.room = room
        self.setWindowTitle(f"{room} — trend and timeline (read only)")
        self.resize(1100, 760)
        self.conn: sqlite3.Connection | None = None
        self.note = QLabel(f"{room} · read only: entries are made in the room")
        self.note.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 14px;")
        self.timeline: Timeline | None = None
        self.empty = QLabel(EMPTY)
        self.empty.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 18px;")
        self.lay = QVBoxLayout(self)
        self.lay.addWidget(self.note)
        self.lay.addWidget(self.empty, 1)

    def show_copy(self, conn: sqlite3.Connection | None, session_id: int | None,
                  live: bool) -> None:
        """Read a fresh snapshot of the room's session (the old one is let go)."""
        old = self.conn
        if conn is None or session_id is None:
            self.conn = None
            if conn is not None:
                conn.close()
            self.empty.setVisible(self.timeline is None)
        else:
            self.conn = conn
            if self.timeline is None:
                self.timeline = Timeline(conn, self)
                self.lay.addWidget(self.timeline, 1)
                self.empty.hide()
                self.timeline.load(session_id, live=live)
            elif self.timeline.session_id != session_id:
                self.timeline.reader = conn
                self.timeline.load(session_id, live=live)
            else:
                self.timeline.reader = conn
                self.timeline.live = live
                self.timeline.refresh(time.time())
        if old is not None and old is not self.conn:
            old.close()

    def on_second(self, now: float) -> None:
        if self.timeline is not None and self.timeline.live:
            self.timeline.set_now(now)

    def done(self, result: int) -> None:
        super().done(result)
        if self.conn is not None:
            if self.timeline is not None:
                self.timeline.session_id = None
            self.conn.close()
            self.conn = None
