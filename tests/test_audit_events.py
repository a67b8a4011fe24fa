"""The audit trail (item 7, the part that is not about staff): opening a patient's record and
every copy that leaves it are events, named in one table and linked into the hash chain."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtPrintSupport import QPrinter
from pytestqt.qtbot import QtBot

from console.core.config import Config
from console.core.exports.export_events import TITLES
from console.core.session import Staff
from console.store import chain, records
from console.store.db import open_reader
from console.store.events import AUDIT_KINDS, audit_events, is_audit
from console.ui.backup_feature import BackupFeature
from console.ui.export_actions import ExportActions
from console.ui.notes.notes_feature import NotesFeature
from console.ui.report_actions import ReportActions
from console.ui.session_dialog import NewPatient, SessionChoice
from console.ui.shell_actions import start_session_from_choice
from tests.helpers.window import whole_console


def test_every_export_kind_is_in_the_one_audit_table() -> None:
    for what in TITLES:
        assert f"export.{what}" in AUDIT_KINDS
    assert is_audit("export.something_new") and not is_audit("note.observation")


def test_opening_records_and_every_copy_are_audit_events_in_the_chain(
        qtbot: QtBot, db_path: Path, config: Config, tmp_path: Path) -> None:
    with whole_console(qtbot, db_path, config) as (window, running):
        ctx = running.ctx
        w = ctx.writer
        now = ctx.clock.now()
        old_pid = w.call(lambda c: records.create_patient(c, "Ada Example", now - 86400,
                                                          "MRN-1")).result(5)
        old_sid = w.call(lambda c: records.start_session(c, old_pid, now - 86400)).result(5)
        w.call(lambda c: records.end_session(c, old_sid, now - 80000)).result(5)
        start_session_from_choice(ctx, SessionChoice(
            None, NewPatient("Bea Example", "MRN-2", "1960-01-01", 60.0), None,
            Staff("Ana Nurse", "nurse")))
        qtbot.waitUntil(lambda: ctx.sessions.current is not None, timeout=10_000)
        cur = ctx.sessions.current
        assert cur is not None

        notes = window.feature(NotesFeature)
        notes.open_session(old_sid)  # chart review of a past session
        notes.open_session(cur.id)  # the live one: not an opening of another record
        notes.open_courses()  # the current patient's course
        courses = notes.course_view
        assert courses is not None
        courses.show_patient(old_pid)  # another patient's course
        courses.show_patient(old_pid)  # the same again: logged once

        reports = window.feature(ReportActions)
        reports.save_as("report", tmp_path / "r.pdf")
        qtbot.waitUntil(lambda: reports.done.is_set() and not reports.busy, timeout=60_000)

        def printer() -> QPrinter:
            p = QPrinter(QPrinter.PrinterMode.HighResolution)
            p.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
            p.setResolution(100)
            p.setOutputFileName(str(tmp_path / "printed.pdf"))
            return p

        reports.print_it("report", printer_for=printer)
        qtbot.waitUntil(lambda: "sent to" in reports.last_message, timeout=60_000)
        exports = window.feature(ExportActions)
        before = exports.last_message
        exports.start(cur.id, tmp_path / "s.csv", "csv")
        qtbot.waitUntil(lambda: not exports.busy and exports.last_message != before,
                        timeout=60_000)
        backups = window.feature(BackupFeature)
        backups.service.backup_now()
        qtbot.waitUntil(lambda: "Backup made" in window.statusBar().currentMessage(),
                        timeout=60_000)
        w.flush()
        conn = open_reader(db_path)
        try:
            trail = audit_events(conn, since=now - 1)
            linked = {eid for (eid,) in conn.execute(
                "SELECT event_id FROM chain WHERE event_id IS NOT NULL")}
            ids = {uid: eid for uid, eid in conn.execute("SELECT uid, id FROM events")}
            assert chain.verify(conn).ok
        finally:
            conn.close()
    got = [(e.kind, e.payload.get("how"), e.session_id or e.payload.get("session_id"), e.author)
           for e in trail]
    assert got[0] == ("session.started", None, cur.id, "Ana Nurse")
    opened = [g for g in got if g[0] == "record.opened"]
    assert opened == [("record.opened", "chart review", old_sid, "Ana Nurse"),
                      ("record.opened", "course", None, "Ana Nurse"),
                      ("record.opened", "course", None, "Ana Nurse")]
    assert [e.payload["patient_id"] for e in trail if e.kind == "record.opened"] == \
        [old_pid, cur.row.patient_id, old_pid]
    # reading a record leaves that record as it was: no event in its session
    assert all(e.session_id is None for e in trail if e.kind == "record.opened")
    kinds = [g[0] for g in got]
    assert kinds.count("export.report") == 2  # saved, and printed
    assert any("printer" in str(e.payload.get("where")) for e in trail
               if e.kind == "export.report")
    assert "export.csv" in kinds and "export.backup" in kinds
    assert all(ids[e.uid] in linked for e in trail), "every audit event is in the chain"
