"""The record check at start: is the database as Holdspace wrote it? (console/store/chain.py)

The hash chain is walked on a worker thread (an 8-hour session takes a few seconds, which
must not hold up the vitals), and the result is shown when it is known: an intact record is
said for a moment in the status bar, as a good backup is. An altered record
puts a red line under the header that cannot be hidden — "Record altered outside Holdspace
after <time>" with what was changed — and View ▸ Record check… shows the full result either
way (how many entries were verified, the chain head).
"""

from __future__ import annotations

import logging
import threading
from functools import partial

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget

from console.core.context import AppContext
from console.store import chain
from console.store.db import open_reader
from console.ui import theme
from console.ui.live_feed import LiveFeed
from console.ui.shell import Shell

log = logging.getLogger("holdspace.integrity")
MENU_TEXT = "Record check…"
CHECKING = "Checking the record (hash chain)…"
INTACT_SHOWN_MS = 15_000


def describe(status: chain.ChainStatus) -> str:
    """The full result in words, for the dialog."""
    lines = [status.headline()]
    if status.rows_checked != "all":
        lines.append("The readings and waveforms are still being checked…")
    lines += [f"• {line}" for line in status.details(20)]
    if status.present:
        lines.append(f"Chain head: entry {status.head_seq}, {status.head_hash}")
    if status.uncovered:
        lines.append(f"{status.uncovered} newest readings are not linked yet (they are linked "
                     "within a minute).")
    return "\n".join(lines)


class IntegrityBanner(QFrame):
    """A red line that stays while the record is altered; hidden while it is intact."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("integrityBanner")
        self.setStyleSheet(f"QFrame#integrityBanner {{ background: #2a1414; border: 1px solid "
                           f"{theme.ALARM_HIGH}; border-radius: 4px; }}")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 4, 6, 4)
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.text.setStyleSheet(f"color: {theme.ALARM_HIGH}; font-size: 15px; "
                                "font-weight: bold;")
        self.details = QPushButton("Details…")
        lay.addWidget(self.text, 1)
        lay.addWidget(self.details)
        self.hide()

    def show_status(self, status: chain.ChainStatus) -> None:
        if status.ok:
            self.text.setText("")
            self.hide()
            return
        first = status.findings[0].what if status.findings else ""
        more = len(status.findings) - 1 + status.more
        self.text.setText(f"{status.headline()} — {first}"
                          + (f" (and {more} more)" if more > 0 else ""))
        self.show()


class RecordCheck:
    """Runs the check on a worker thread and shows its result in the window."""

    def __init__(self, shell: Shell, ctx: AppContext) -> None:
        self.shell = shell
        self.ctx = ctx
        self.status: chain.ChainStatus | None = None
        self.banner = IntegrityBanner()
        self.banner.details.clicked.connect(self.show_details)
        self._post = ctx.post  # the check runs on its own thread
        self.action = shell.action(MENU_TEXT, "", self.show_details, "view")

    def start(self) -> threading.Thread:
        t = threading.Thread(target=self._run, name="holdspace-record-check", daemon=True)
        t.start()
        return t

    def _run(self) -> None:
        """First the links and events (a quick answer however old the file), then every
        reading and waveform row at a gentle pace; each result is shown when known."""
        try:
            conn = open_reader(self.ctx.db_path)
            try:
                for rows in (False, True):
                    status = chain.verify(conn, rows=rows, nice=True)
                    log.info("record check (%s rows): %d links in %.2f s, %s",
                             status.rows_checked, status.links, status.seconds,
                             "intact" if status.ok else
                             f"{len(status.findings) + status.more} findings")
                    self._post(partial(self._show, status))
            finally:
                conn.close()
        except Exception:  # the check must never take the console down
            log.exception("the record check could not run")

    def _show(self, status: chain.ChainStatus) -> None:
        self.status = status
        chain.remember(self.ctx.db_path, status)
        self.banner.show_status(status)
        if status.ok and status.rows_checked == "all":  # said once, as a good backup is
            self.shell.show_status(status.headline(), INTACT_SHOWN_MS)

    def close(self) -> None:
        """Nothing to let go: the check's thread is a daemon with its own connection."""

    def show_details(self) -> None:
        text = describe(self.status) if self.status is not None else CHECKING
        box = QMessageBox(self.shell.dialog_parent())
        box.setWindowTitle("Record check")
        box.setText(text)
        box.setModal(False)
        box.show()


def install(shell: Shell, ctx: AppContext, feed: LiveFeed) -> RecordCheck:
    """Add the banner and View ▸ Record check…, and start the check (console/app.py)."""
    del feed
    check = RecordCheck(shell, ctx)
    shell.add_banner(check.banner)
    check.start()
    return check
