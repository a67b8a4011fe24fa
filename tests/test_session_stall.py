"""Starting or ending a session while the disk stalls: the screen goes on (no unbounded wait
on the writer in the GUI thread), the change follows when the writer has stored it, and a
failure is shown in the status bar in words. The stall is the real writer thread held busy
by a call that waits (as a disk stuck in fsync holds it)."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from console.core.config import Config
from console.core.session import Staff
from tests.helpers.disk import stalled
from tests.helpers.window import whole_console


def test_starting_a_session_on_a_stalled_disk_does_not_freeze_the_screen(
        qtbot: QtBot, db_path: Path, config: Config) -> None:
    with whole_console(qtbot, db_path, config) as (window, running):
        sessions = running.ctx.sessions
        sessions.set_user(Staff("Ana Nurse", "nurse"))
        with stalled(running.ctx.writer):
            assert sessions.start(None) is None, "returned while the writer is still stuck"
            assert sessions.current is None and sessions.pending == "start the session"
            assert "waiting for it to start the session" in window.problem_message.text()
            sessions.end()  # a press of End meanwhile changes nothing
        qtbot.waitUntil(lambda: sessions.current is not None, timeout=10_000)
        assert sessions.pending is None
        assert window.problem_message.text() == "", "said only while it waits"
        with stalled(running.ctx.writer):
            sessions.end()
            assert sessions.current is not None, "open until the end is stored"
        qtbot.waitUntil(lambda: sessions.current is None, timeout=10_000)
        assert not window.statusBar().isVisible()


def test_a_start_the_disk_refuses_late_is_shown_in_the_status_bar(
        qtbot: QtBot, db_path: Path, config: Config) -> None:
    with whole_console(qtbot, db_path, config) as (window, running):
        sessions = running.ctx.sessions
        with stalled(running.ctx.writer):
            assert sessions.start(987654) is None  # no such patient: the database refuses
        qtbot.waitUntil(lambda: "could not start the session" in
                        window.problem_message.text(), timeout=10_000)
        assert window.statusBar().isVisible() and sessions.current is None
        assert "Traceback" not in window.problem_message.text()
        assert sessions.pending is None
        assert sessions.start(None) is not None, "the next start works"
