"""The GUI thread never waits on the database writer: a new patient and a weight are stored
while the room screen goes on, shown as saved only once committed, and a refusal is said in
words with what was typed kept; the note hears what the rest of the console committed
without polling. Real window, real SQLite file, the real writer thread held up (stalled) or
locked out by another connection."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox
from pytestqt.qtbot import QtBot

from console.app import Running
from console.core import session
from console.core.config import Config
from console.core.saving import QUICK_S
from console.store import records
from console.store.db import connect_file
from console.store.events import Event
from console.ui.export_actions import ExportActions
from console.ui.main_window import MainWindow
from console.ui.notes.notes_feature import NotesFeature
from console.ui.people.audit_view import AuditView
from console.ui.session_dialog import SessionDialog
from tests.helpers.disk import locked_out, stalled
from tests.helpers.window import begin, manual_vitals, whole_console

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"


class Turning:
    """Counts the event loop's turns (a 20 ms QTimer) and the feed's 1 Hz ticks: both go on
    only while the GUI thread is free."""

    def __init__(self, window: MainWindow) -> None:
        self.turns = 0
        self.ticks = 0
        self.timer = QTimer(window)
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._turn)
        self.timer.start()
        window.feed.second.connect(self._tick)

    def _turn(self) -> None:
        self.turns += 1

    def _tick(self, _now: float) -> None:
        self.ticks += 1

    def turned(self, qtbot: QtBot, n: int) -> None:
        turns = self.turns
        qtbot.waitUntil(lambda: self.turns >= turns + n, timeout=10_000)

    def keeps_turning(self, qtbot: QtBot) -> None:
        turns, ticks = self.turns, self.ticks
        qtbot.waitUntil(lambda: self.turns >= turns + 10 and self.ticks >= ticks + 2,
                        timeout=10_000)


def stored_weights(db_path: Path, pid: int) -> list[float]:
    conn = connect_file(db_path)
    try:
        rows = conn.execute("SELECT payload FROM events WHERE kind='patient.weight_changed' "
                            "AND json_extract(payload, '$.patient_id')=?", (pid,)).fetchall()
        weight = conn.execute("SELECT weight_kg FROM patients WHERE id=?", (pid,)).fetchone()
    finally:
        conn.close()
    return [json.loads(r[0])["weight_kg"] for r in rows] + [weight[0]]


def test_a_weight_saved_while_the_disk_stalls_leaves_the_screen_running(
        qtbot: QtBot, db_path: Path, config: Config) -> None:
    with whole_console(qtbot, db_path, config) as (window, running):
        begin(running, None, weight=None)
        header, ctx = window.header, running.ctx
        qtbot.waitUntil(header.weight_edit.isVisible)
        pid = ctx.sessions.current.patient.id  # type: ignore[union-attr]
        turning = Turning(window)
        SHOTS.mkdir(exist_ok=True)
        with stalled(ctx.writer):
            header.weight_edit.setText("58.5")
            pressed = time.monotonic()
            header.weight_button.click()
            took = time.monotonic() - pressed
            assert took < QUICK_S + 2.0, f"the press waited {took:.1f} s for the disk"
            assert header.weight_message.text().startswith("Saving 58.5 kg…")
            assert "disk is slow" in header.weight_message.text()
            assert header.weight_edit.text() == "58.5" and not header.weight_edit.isEnabled()
            assert "weight not entered" in header.who.text(), "not shown before it is stored"
            turning.keeps_turning(qtbot)  # vitals, clocks and alarms go on meanwhile
            header.grab().save(str(SHOTS / "header_weight_saving.png"))
            assert stored_weights(db_path, pid) == [None]
        qtbot.waitUntil(lambda: "58.5 kg" in header.who.text(), timeout=10_000)
        assert header.weight_message.text() == "Weight 58.5 kg saved."
        assert header.weight_edit.text() == "" and not header.weight_edit.isVisible()
        header.grab().save(str(SHOTS / "header_weight_saved.png"))
        assert stored_weights(db_path, pid) == [58.5, 58.5]


def test_a_weight_the_database_refuses_is_said_and_stays_in_the_box(
        qtbot: QtBot, db_path: Path, config: Config) -> None:
    with whole_console(qtbot, db_path, config) as (window, running):
        begin(running, None, weight=None)
        header, ctx = window.header, running.ctx
        qtbot.waitUntil(header.weight_edit.isVisible)
        pid = ctx.sessions.current.patient.id  # type: ignore[union-attr]
        turning = Turning(window)
        with locked_out(ctx.writer, db_path):
            header.weight_edit.setText("61")
            header.weight_button.click()
            turning.keeps_turning(qtbot)
            qtbot.waitUntil(lambda: "NOT saved" in header.weight_message.text(),
                            timeout=10_000)
            said = header.weight_message.text()
            assert said.startswith("The weight 61 kg was NOT saved: another program is "
                                   "holding the database.")
            assert "Press Save weight to try again" in said and "Traceback" not in said
            assert header.weight_edit.text() == "61", "what was typed is kept"
            assert header.weight_edit.isEnabled() and header.weight_edit.isVisible()
            assert "weight not entered" in header.who.text()
            header.grab().save(str(SHOTS / "header_weight_refused.png"))
        assert stored_weights(db_path, pid) == [None]
        header.weight_button.click()  # the same number, once the file is free again
        qtbot.waitUntil(lambda: "61 kg" in header.who.text(), timeout=10_000)
        assert stored_weights(db_path, pid) == [61.0, 61.0]


def when_dialog_opens(window: MainWindow, act: Callable[[SessionDialog], None]) -> None:
    """Run `act` on the start dialog once it is shown (it runs its own event loop)."""
    def look() -> None:
        dlg = next((d for d in window.findChildren(SessionDialog) if d.isVisible()), None)
        if dlg is None:
            QTimer.singleShot(20, look)
        else:
            act(dlg)
    QTimer.singleShot(0, look)


def type_new_patient(dlg: SessionDialog, name: str, mrn: str, weight: str) -> None:
    dlg.new.setChecked(True)
    dlg.name.setText(name)
    dlg.identifier.setText(mrn)
    dlg.birth.setText("1961-04-02")
    dlg.weight.setText(weight)


def press_start(dlg: SessionDialog) -> None:
    box = dlg.findChild(QDialogButtonBox)
    assert box is not None
    box.button(QDialogButtonBox.StandardButton.Ok).click()


def patients(running: Running) -> list[tuple[str, str | None]]:
    return [(p.display_name, p.identifier) for p in records.list_patients(running.ctx.reader)]


def test_a_new_patient_saved_while_the_disk_stalls_leaves_the_screen_running(
        qtbot: QtBot, db_path: Path, config: Config) -> None:
    with whole_console(qtbot, db_path, config) as (window, running):
        sessions = running.ctx.sessions
        turning = Turning(window)

        def fill_and_start(dlg: SessionDialog) -> None:
            type_new_patient(dlg, "Rosa M.", "MRN-7", "64")
            press_start(dlg)

        with stalled(running.ctx.writer):
            when_dialog_opens(window, fill_and_start)
            window.header.start_button.click()  # back when the dialog has closed
            assert sessions.current is None and window.header.who.text() == "No session open"
            assert ("waiting for it to save the new patient and start the session"
                    in window.problem_text())
            turning.keeps_turning(qtbot)
            assert patients(running) == [], "nothing shown as stored before it is"
        qtbot.waitUntil(lambda: sessions.current is not None, timeout=10_000)
        assert patients(running) == [("Rosa M.", "MRN-7")]
        assert "Rosa M. · 64 kg" in window.header.who.text()
        assert window.problem_text() == "", "the wait is said only while it lasts"


def test_a_new_patient_refused_at_once_stays_typed_in_the_dialog(
        qtbot: QtBot, db_path: Path, config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    # "At once" is within the quick wait; a loaded test machine gets a longer one, so the
    # refusal cannot take the late path (tested below with a stalled writer).
    monkeypatch.setattr(session, "QUICK_S", 10.0)
    with whole_console(qtbot, db_path, config) as (window, running):
        ctx = running.ctx
        ctx.writer.call(lambda c: records.create_patient(
            c, "Someone Else", ctx.clock.now(), "MRN-7")).result(10)
        seen: dict[str, str] = {}

        def refused_then_corrected(dlg: SessionDialog) -> None:
            type_new_patient(dlg, "Rosa M.", "MRN-7", "64")
            press_start(dlg)  # the database refuses the same MRN twice
            seen.update(error=dlg.error.text(), visible=str(dlg.isVisible()),
                        name=dlg.name.text(), mrn=dlg.identifier.text(),
                        weight=dlg.weight.text())
            QApplication.processEvents()  # laid out with the message, as the room sees it
            SHOTS.mkdir(exist_ok=True)
            dlg.grab().save(str(SHOTS / "start_dialog_refused.png"))
            dlg.identifier.setText("MRN-8")
            press_start(dlg)

        when_dialog_opens(window, refused_then_corrected)
        window.header.start_button.click()
        assert seen["visible"] == "True", "the dialog stayed open"
        assert seen["error"].startswith("Holdspace could not save the new patient and start "
                                        "the session: a patient with this identifier (MRN) "
                                        "is already on this console.")
        assert (seen["name"], seen["mrn"], seen["weight"]) == ("Rosa M.", "MRN-7", "64")
        qtbot.waitUntil(lambda: ctx.sessions.current is not None, timeout=10_000)
        assert sorted(patients(running)) == [("Rosa M.", "MRN-8"), ("Someone Else", "MRN-7")]


def test_a_new_patient_refused_after_the_dialog_closed_is_there_again_at_the_next(
        qtbot: QtBot, db_path: Path, config: Config) -> None:
    with whole_console(qtbot, db_path, config) as (window, running):
        ctx = running.ctx
        ctx.writer.call(lambda c: records.create_patient(
            c, "Someone Else", ctx.clock.now(), "MRN-7")).result(10)
        def fill_and_start(dlg: SessionDialog) -> None:
            type_new_patient(dlg, "Rosa M.", "MRN-7", "64")
            press_start(dlg)

        with stalled(ctx.writer):
            when_dialog_opens(window, fill_and_start)
            window.header.start_button.click()
            assert ctx.sessions.current is None and ctx.sessions.pending is not None
        qtbot.waitUntil(lambda: "could not save the new patient" in window.problem_text(),
                        timeout=10_000)
        said = window.problem_text()
        assert "already on this console" in said and "What you typed is kept" in said
        assert ctx.sessions.current is None and ctx.sessions.pending is None
        seen: dict[str, str] = {}

        def look_and_cancel(dlg: SessionDialog) -> None:
            seen.update(new=str(dlg.new.isChecked()), name=dlg.name.text(),
                        mrn=dlg.identifier.text(), birth=dlg.birth.text(),
                        weight=dlg.weight.text(), error=dlg.error.text())
            dlg.reject()

        when_dialog_opens(window, look_and_cancel)
        window.header.start_button.click()
        assert (seen["new"], seen["name"], seen["mrn"], seen["birth"], seen["weight"]) == (
            "True", "Rosa M.", "MRN-7", "1961-04-02", "64")
        assert "already on this console" in seen["error"]
        assert patients(running) == [("Someone Else", "MRN-7")]


def test_the_note_shows_what_another_feature_committed_without_polling(
        qtbot: QtBot, db_path: Path, config: Config) -> None:
    with whole_console(qtbot, db_path, config) as (window, running):
        begin(running, "im")
        pane = window.feature(NotesFeature).pane
        qtbot.waitUntil(lambda: pane.notes.session_id is not None)
        turning = Turning(window)
        window.feed.stop()  # no 1 Hz tick any more: nothing can poll on it
        queries: list[str] = []
        running.ctx.reader.set_trace_callback(queries.append)
        try:
            with stalled(running.ctx.writer):
                turning.turned(qtbot, 5)  # news posted before the hold is heard by now
                manual_vitals(window, hr="47")  # the dose feature records it
                queries.clear()  # from here on only what runs by itself: a poll would
                turning.turned(qtbot, 75)  # 1.5 s or more with nothing committed
                assert "HR 47" not in pane.full_note.toPlainText(), "not before it is stored"
                asked = [q for q in queries if "FROM events" in q]
                assert asked == [], "nobody asks the file for events while nothing commits"
            qtbot.waitUntil(lambda: "HR 47" in pane.full_note.toPlainText(), timeout=10_000)
        finally:
            running.ctx.reader.set_trace_callback(None)


def test_an_export_and_the_audit_log_begun_while_the_disk_stalls_leave_the_screen_running(
        qtbot: QtBot, db_path: Path, config: Config, tmp_path: Path) -> None:
    with whole_console(qtbot, db_path, config) as (window, running):
        ctx = running.ctx
        begin(running, None)
        sid = ctx.sessions.current.id  # type: ignore[union-attr]
        exports = window.feature(ExportActions)
        exports.chooser = lambda _sid, _suggested: (tmp_path / "day.csv", "csv")
        (export_item,) = [a for a in window.session_menu.actions()
                          if a.text().startswith("Export…")]
        turning = Turning(window)
        with stalled(ctx.writer):
            lock = Event("audit.screen_locked", ctx.clock.now(), {"summary": "Screen locked"},
                         author="Ana Nurse", recorded=ctx.clock.now())
            ctx.writer.append_event(lock)  # queued behind the stall
            pressed = time.monotonic()
            export_item.trigger()
            audit = AuditView(ctx.people, window)  # type: ignore[arg-type]
            took = time.monotonic() - pressed
            assert took < 2 * QUICK_S + 2.0, f"the presses waited {took:.1f} s for the disk"
            assert exports.busy and exports.last_message == f"Exporting session {sid} as CSV…"
            assert "Screen locked" not in audit_lines(audit), "shown once it is stored"
            turning.keeps_turning(qtbot)
        qtbot.waitUntil(lambda: not exports.busy, timeout=20_000)
        assert exports.last_message.startswith(f"Session {sid} exported as CSV: day"), \
            exports.last_message
        qtbot.waitUntil(lambda: "Screen locked" in audit_lines(audit), timeout=10_000)
        audit.close()


def audit_lines(audit: AuditView) -> str:
    def cell(i: int, j: int) -> str:
        item = audit.table.item(i, j)
        return item.text() if item is not None else ""

    return "\n".join(" | ".join(cell(i, j) for j in range(4))
                     for i in range(audit.table.rowCount()))
