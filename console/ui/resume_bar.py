"""The offer to resume or end a session that stopped with Holdspace (a crash, a power cut, the
console closed mid-session).

A calm bar above the vitals, never a dialog over them: the room may be busy and the monitor
matters more. Nothing is resumed by itself; until someone chooses, the bar says plainly that
nothing is being recorded into that session. Resuming records `session.resumed` and carries
on in the same session (the gap stays a gap); ending closes it where its record stops.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from console.core.session import OpenSession, SessionService
from console.store import engine, records
from console.store.db import StoreError
from console.ui import theme
from console.ui.shell import Shell


def _when(t: float, now: float) -> str:
    same_day = time.localtime(t)[:3] == time.localtime(now)[:3]
    return time.strftime("%H:%M" if same_day else "%d %b at %H:%M", time.localtime(t))


def describe(w: records.Interrupted, now: float) -> str:
    """The sentence for the bar, e.g. "The session for Ada stopped unexpectedly at 14:32 …"."""
    who = w.patient.display_name if w.patient else "the unnamed patient"
    when = _when(w.at, now)
    if w.cause == "closed":
        how = f"stopped at {when} (Holdspace was closed with the session open)"
    else:
        how = f"stopped unexpectedly at {when} (Holdspace stopped: a crash, a forced stop or a power cut)"
    return f"The session for {who} {how}."


class ResumeBar(QFrame):
    def __init__(self, sessions: SessionService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sessions = sessions
        self.setObjectName("resumeBar")
        self.setStyleSheet(
            f"QFrame#resumeBar {{ background: {theme.PANEL}; border: 1px solid "
            f"{theme.ALARM_LOW}; border-radius: 6px; }}"
        )
        self.text = QLabel("")
        self.text.setTextFormat(Qt.TextFormat.PlainText)  # a patient's name is not markup
        self.text.setWordWrap(True)
        self.text.setStyleSheet(f"color: {theme.TEXT}; font-size: 18px;")
        self.detail = QLabel("")
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.detail.setWordWrap(True)
        self.detail.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 14px;")
        self.resume_button = QPushButton("Resume it")
        self.end_button = QPushButton("End it")
        for b in (self.resume_button, self.end_button):
            b.setMinimumHeight(40)
        self.resume_button.clicked.connect(self._resume)
        self.end_button.clicked.connect(self._end)
        words = QVBoxLayout()
        words.setSpacing(2)
        words.addWidget(self.text)
        words.addWidget(self.detail)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 6, 12, 6)
        lay.addLayout(words, 1)
        lay.addWidget(self.resume_button)
        lay.addWidget(self.end_button)
        self.shown: records.Interrupted | None = None
        self._problem = ""
        sessions.waiting_changed.connect(self.show_waiting)
        sessions.changed.connect(self._session_changed)
        self.show_waiting(sessions.waiting)

    def show_waiting(self, waiting: list[records.Interrupted]) -> None:
        self.shown = waiting[0] if waiting else None
        self._problem = ""
        self.setVisible(self.shown is not None)
        self._refresh()

    def _session_changed(self, _: OpenSession | None) -> None:
        self._refresh()

    def _refresh(self) -> None:
        w = self.shown
        if w is None:
            return
        now = time.time()
        self.text.setText(describe(w, now))
        busy = self.sessions.current is not None
        self.resume_button.setEnabled(not busy)
        self.end_button.setText(f"End it at {_when(w.at, now)}")
        if self._problem:
            detail = self._problem
        elif busy:
            detail = "Another session is open: end it first to resume this one, or end this one."
        else:
            detail = "Nothing is recorded into it until you resume it."
        more = len(self.sessions.waiting) - 1
        if more > 0:
            detail += f"  ({more} more interrupted session{'s' if more > 1 else ''} after this one.)"
        self.detail.setText(detail)

    def _act(self, resume: bool) -> None:
        w = self.shown
        if w is None:
            return
        try:
            if resume:
                self.sessions.resume(w.row.id)
            else:
                self.sessions.end_interrupted(w.row.id)
        except records.NotWaiting:  # another Holdspace on this file chose already
            self.sessions.find_interrupted()
        except (OSError, StoreError, engine.Error, RuntimeError) as e:
            self._problem = f"Could not do that: {e}. The session is unchanged."
            self._refresh()

    def _resume(self) -> None:
        self._act(resume=True)

    def _end(self) -> None:
        self._act(resume=False)


def install(shell: Shell, sessions: SessionService) -> ResumeBar:
    """Put the bar at the top of the window's banners (see console/app.py)."""
    bar = ResumeBar(sessions)
    shell.add_banner(bar, first=True)
    return bar
