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
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.core import start_notices
from console.core.config import Config
from console.core.context import AppContext
from console.ui import theme
from console.ui.live_feed import LiveFeed
from console.ui.shell import Shell
from console.ui.status_line import OneLineLabel

EDGE = "#2f4558"  # a muted steel blue: calm, and unlike any alarm colour
INFO = "#8fb0cc"
HEADING = "For the clinic admin:"
GOT_IT = "Got it"
MORE = "More…"


def as_plain(note: str) -> str:
    """The note on one line, as plain text (the `command` marks dropped)."""
    return " ".join(note.replace("`", "").split())


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
        # On a low screen (compact scale) the note folds to one line with More…: the
        # vitals' numerals keep their height (console/ui/main_window.py add_banner).
        self.line = OneLineLabel("")
        self.line.setStyleSheet(f"color: {theme.TEXT}; font-size: 17px;")
        self.line.hide()
        self.more = QPushButton(MORE)
        self.more.setAutoDefault(False)
        self.more.setMinimumSize(96, 36)
        self.more.setStyleSheet("font-size: 16px;")
        self.more.setToolTip("The whole note, in a window beside the vitals.")
        self.more.clicked.connect(lambda _=False: self.show_whole())
        self.more.hide()
        self.folded = False
        self.whole: QMessageBox | None = None
        self.place: Callable[[QWidget], None] | None = None  # the shell's place_dialog
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
        lay.addWidget(self.line, 1)
        lay.addWidget(self.more)
        lay.addLayout(button)
        self._lay = lay
        self.shown = ""
        self.refresh()

    def refresh(self) -> None:
        notes = start_notices.pending(self.config)
        self.shown = notes[0] if notes else ""
        self.text.setText(f"<span style='color: {INFO}; font-weight: bold;'>{HEADING}</span>"
                          f"&nbsp; {as_html(self.shown)}" if self.shown else "")
        more = len(notes) - 1
        self.count.setText(f"{more} more after it" if more else "")
        after = f"  ({more} more after it)" if more else ""
        self.line.setText(f"{HEADING}  {as_plain(self.shown)}{after}" if self.shown else "")
        self._show_fold()
        self.setVisible(bool(notes) and not self.locked())
        if self.whole is not None and self.whole.isVisible():
            if self.shown:  # Got it while the whole note was open: the next one there
                self.whole.setText(as_plain(self.shown))
            else:
                self.whole.close()

    def set_folded(self, on: bool) -> None:
        """One line and More…, when the window has no room for the whole note above the
        vitals (console/ui/main_window.py decides)."""
        if on != self.folded:
            self.folded = on
            self._show_fold()

    def unfold_cost(self) -> int:
        """How many pixels higher the whole note is than its one line, at this width."""
        m = self._lay.contentsMargins()
        room = self.width() - 24 - 30 - 2 * self._lay.spacing() - self.got_it.minimumWidth()
        whole = max(self.text.heightForWidth(max(room, 200)), 30,
                    44 + (self.count.sizeHint().height() + 2 if self.count.text() else 0))
        line = max(self.line.sizeHint().height(), 36, 30)
        return max(0, whole + 12 - (line + m.top() + m.bottom()))

    def _show_fold(self) -> None:
        folded = self.folded
        self.text.setVisible(not folded)
        self.line.setVisible(folded)
        self.more.setVisible(folded)
        self.count.setVisible(bool(self.count.text()) and not folded)
        self.got_it.setMinimumSize(120, 36 if folded else 44)
        self._lay.setContentsMargins(12, 2 if folded else 6, 12, 2 if folded else 6)

    def show_whole(self) -> None:
        """More…: the whole note in a window of its own (not modal, placed clear of the
        tiles and the alarm banner), so the banner stays one line."""
        if not self.shown:
            return
        if self.whole is None:
            box = QMessageBox(QMessageBox.Icon.Information, "For the clinic admin", "",
                              QMessageBox.StandardButton.Close, self.window())
            box.setWindowModality(Qt.WindowModality.NonModal)
            box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.whole = box
        self.whole.setText(as_plain(self.shown))
        if self.place is not None:
            self.place(self.whole)
        self.whole.show()
        self.whole.raise_()

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
        self.banner.place = shell.place_dialog
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
