"""Notes from a start, as a calm banner with a Got it button (console/core/start_notices.py).

Information, not an alarm: dark, in the console's own text colour with a muted blue edge and
an "i", never the alarm colours. One note at a time, so it takes at most a few lines from the
trend (never the tiles or the alarm banner, which stay above it) and each is read on its own;
Got it dismisses the note shown for good, and the next one (if any) takes its place. The
status bar stays for problems with Holdspace itself, one line at most.

While the screen is locked it is not shown at all (not marked LOCK_VISIBLE, and taking no
height from the vitals behind the lock): the first run's notes appear once the clinic admin
has been made and someone is signed in.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from console.core import start_notices
from console.core.config import Config
from console.core.context import AppContext
from console.ui import theme
from console.ui.live_feed import LiveFeed
from console.ui.shell import Shell

EDGE = "#2f4558"  # a muted steel blue: calm, and unlike any alarm colour
INFO = "#8fb0cc"
HEADING = "For the clinic admin:"
GOT_IT = "Got it"


def as_html(note: str) -> str:
    """The note as text (escaped), a `command` in the typewriter face it is typed in."""
    return re.sub(r"`([^`<>]+)`", r"<span style='font-family: monospace;'>\1</span>",
                  html.escape(note))


class StartNoticeBanner(QFrame):
    """The oldest note not yet dismissed, and Got it; hidden when there is none."""

    def __init__(self, config: Config, locked: Callable[[], bool] = lambda: False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.locked = locked
        self.setObjectName("startNotice")
        self.setStyleSheet(f"QFrame#startNotice {{ background: {theme.PANEL}; border: 1px "
                           f"solid {EDGE}; border-left: 4px solid {EDGE}; border-radius: 6px; }}")
        mark = QLabel("i")
        mark.setAlignment(Qt.AlignmentFlag.AlignCenter)
        mark.setFixedSize(30, 30)
        mark.setStyleSheet(f"color: {INFO}; border: 2px solid {INFO}; border-radius: 15px; "
                           "font-size: 18px; font-weight: bold; font-family: serif;")
        self.text = QLabel("")
        self.text.setTextFormat(Qt.TextFormat.RichText)  # the heading bold; the note escaped
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setStyleSheet(f"color: {theme.TEXT}; font-size: 17px;")
        self.got_it = QPushButton(GOT_IT)
        self.got_it.setAutoDefault(False)
        self.got_it.setMinimumSize(120, 44)
        self.got_it.setStyleSheet("font-size: 17px; font-weight: bold;")
        self.got_it.setToolTip("This note is not shown again.")
        self.got_it.clicked.connect(lambda _=False: self.dismiss())
        self.count = QLabel("")
        self.count.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.count.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 14px;")
        button = QVBoxLayout()
        button.setSpacing(2)
        button.addStretch(1)
        button.addWidget(self.got_it)
        button.addWidget(self.count)
        button.addStretch(1)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 6, 12, 6)
        lay.setSpacing(12)
        lay.addWidget(mark, 0, Qt.AlignmentFlag.AlignTop)
        lay.addWidget(self.text, 1)
        lay.addLayout(button)
        self.shown = ""
        self.refresh()

    def refresh(self) -> None:
        notes = start_notices.pending(self.config)
        self.shown = notes[0] if notes else ""
        self.text.setText(f"<span style='color: {INFO}; font-weight: bold;'>{HEADING}</span>"
                          f"&nbsp; {as_html(self.shown)}" if self.shown else "")
        more = len(notes) - 1
        self.count.setText(f"{more} more after it" if more else "")
        self.count.setVisible(bool(more))
        self.setVisible(bool(notes) and not self.locked())

    def dismiss(self) -> None:
        """Got it: this note is gone for good; the next, if any, is shown."""
        if self.shown:
            start_notices.dismiss(self.config, self.shown)
        self.refresh()


class StartNotices:
    """The banner, shown when someone is signed in (it follows the lock)."""

    def __init__(self, shell: Shell, ctx: AppContext) -> None:
        people = ctx.people
        self.banner = StartNoticeBanner(
            ctx.config, lambda: people is not None and people.presence.locked)
        shell.add_banner(self.banner)
        self._people = people
        if people is not None:
            people.presence.changed.connect(self._presence)
        # the lock is put on after the features are installed (console/ui/people): look again
        QTimer.singleShot(0, self.banner, self.banner.refresh)

    def _presence(self, _: object) -> None:
        self.banner.refresh()

    def close(self) -> None:
        if self._people is not None:
            self._people.presence.changed.disconnect(self._presence)


def install(shell: Shell, ctx: AppContext, feed: LiveFeed) -> StartNotices:
    """Add the banner (console/app.py FEATURES); the notes were kept by `run_gui`."""
    del feed
    return StartNotices(shell, ctx)
