"""One room's trend and timeline at the station, read only.

The room's own timeline widget (console/ui/notes/timeline.py: vitals curves over the day, every
dose, check, alarm and note in lanes, and the list of entries), reading a snapshot of the
station's copy of the room's current session. Each time the room's rows change the feed hands
over a fresh snapshot and the timeline reads on from where it was. There is nothing to edit:
the snapshot is opened query-only and the station's login cannot write to the server.

"Session report (PDF)…" makes the room's report of that session from the server (reports.py:
the room's own report code on the server's rows), on a worker thread, recorded in the
station's own record.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.ui import theme
from console.ui.gui_post import GuiPoster
from console.ui.notes.timeline import Timeline

VIA = "central station"

EMPTY = "No session in this room yet."


class RoomDetail(QDialog):
    def __init__(self, room: str, parent: QWidget | None = None, *, url: str | None = None,
                 by: Callable[[], str | None] = lambda: None) -> None:
        super().__init__(parent)
        self.room = room
        self.url = url
        self.by = by
        self.session_id: int | None = None
        self.poster = GuiPoster(self)
        self.worker: threading.Thread | None = None
        self.setWindowTitle(f"{room} — trend and timeline (read only)")
        self.resize(1100, 760)
        self.conn: sqlite3.Connection | None = None
        self.note = QLabel(f"{room} · read only: entries are made in the room")
        self.note.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 14px;")
        self.timeline: Timeline | None = None
        self.empty = QLabel(EMPTY)
        self.empty.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 18px;")
        self.report_button = QPushButton("Session report (PDF)…")
        self.report_button.setToolTip("The room's report of this session, made from the clinic "
                                      "server")
        self.report_button.clicked.connect(self._ask_report)
        self.report_button.setEnabled(False)
        self.report_note = QLabel("")
        self.report_note.setWordWrap(True)
        self.report_note.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 14px;")
        self.report_note.hide()
        top = QHBoxLayout()
        top.addWidget(self.note, 1)
        top.addWidget(self.report_button)
        self.lay = QVBoxLayout(self)
        self.lay.addLayout(top)
        self.lay.addWidget(self.report_note)
        self.lay.addWidget(self.empty, 1)

    def show_copy(self, conn: sqlite3.Connection | None, session_id: int | None,
                  live: bool) -> None:
        """Read a fresh snapshot of the room's session (the old one is let go). Without one
        (the server cannot be read just now) the timeline keeps what it shows."""
        if conn is None and self.timeline is not None and session_id is not None:
            self.report_button.setEnabled(False)
            return
        old = self.conn
        self.session_id = session_id if conn is not None else None
        self.report_button.setEnabled(self.url is not None and self.session_id is not None
                                      and self.worker is None)
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

    # ----- the report, from the server -----
    def _ask_report(self) -> None:
        if self.session_id is None:
            return
        slug = re.sub(r"[^a-z0-9]+", "-", self.room.lower()).strip("-") or "room"
        name = f"holdspace-{slug}-session-{self.session_id}-report.pdf"
        path, _ = QFileDialog.getSaveFileName(self, "Save the session report", name,
                                              "PDF (*.pdf)")
        if path:
            self.make_report(Path(path))

    def make_report(self, path: Path) -> None:
        """Make the report at `path` on a worker thread; the outcome shows under the title."""
        if self.url is None or self.session_id is None or self.worker is not None:
            return
        url, room, sid, by = self.url, self.room, self.session_id, self.by()
        self.report_button.setEnabled(False)
        self.report_note.setText(f"Making the report of {room}'s session {sid} from the "
                                 "clinic server …")
        self.report_note.show()

        def work() -> None:
            from console.central import reports
            from console.core.config import Config
            from console.core.exports.export_events import login_name
            from console.core.exports.make import make_report
            from console.core.exports.output import ExportError
            from console.core.report.clinic import clinic_from

            try:
                clinic = clinic_from(Config.load().extra)
                made, pdf = reports.from_server(url, room, sid, lambda db: make_report(
                    db, path, sid, "report", clinic, by=by or login_name(), via=VIA,
                    recorder=reports.recorder(url, room)))
                text = (f"{pdf.what} of session {sid} ({pdf.pages} pages) written to "
                        f"{made.files[0]}; recorded in the station's record.")
            except ExportError as e:
                text = f"No report was made: {e}"
            self.poster(lambda: self._report_done(text))

        self.worker = threading.Thread(target=work, name="central-report", daemon=True)
        self.worker.start()

    def _report_done(self, text: str) -> None:
        self.worker = None
        self.report_note.setText(text)
        self.report_button.setEnabled(self.session_id is not None)

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
