"""Backups in the window: after each session, daily, and what the status bar says about them.

The work is done by `console.core.backups.BackupService` on its own thread; this module only
connects it to the session's end and posts its messages to the GUI thread: a problem (the
backup disk is not plugged in) stays in the status bar until a later backup succeeds, a
success is shown for a while.
"""

from __future__ import annotations

import contextlib

from console.core.backups import BackupService, chosen_folder
from console.core.context import AppContext
from console.core.session import OpenSession
from console.ui.live_feed import LiveFeed
from console.ui.shell import Shell

SUCCESS_SHOWN_MS = 15_000


class BackupFeature:
    def __init__(self, shell: Shell, ctx: AppContext) -> None:
        self.shell = shell
        self._post = ctx.post
        self._problem = ""  # the last backup problem shown, cleared by the next success
        self._session = ctx.sessions.current.id if ctx.sessions.current else None
        self.service = BackupService(ctx.db_path, ctx.writer, chosen_folder(ctx.config),
                                     say=self._say, by=lambda: ctx.sessions.author)
        ctx.sessions.changed.connect(self._session_changed)

    def _session_changed(self, s: OpenSession | None) -> None:
        if s is None and self._session is not None:
            self.service.session_ended(self._session)
        self._session = s.id if s is not None else None

    def _say(self, message: str, problem: bool) -> None:  # on the backup thread
        with contextlib.suppress(RuntimeError):  # the window is already gone
            self._post(lambda: self._show(message, problem))

    def _show(self, message: str, problem: bool) -> None:
        if problem:
            self._problem = message
            self.shell.show_problem(message)
            return
        if self._problem and self.shell.problem_text() == self._problem:
            self.shell.show_problem("")
        self._problem = ""
        self.shell.show_status(message, SUCCESS_SHOWN_MS)

    def close(self) -> None:
        """A backup under way finishes before the writer stops."""
        self.service.stop()


def install(shell: Shell, ctx: AppContext, feed: LiveFeed) -> BackupFeature:
    """Backups after each session and daily (see console/app.py FEATURES)."""
    del feed
    feature = BackupFeature(shell, ctx)
    feature.service.start()
    return feature
