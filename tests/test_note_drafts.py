"""Typed text not saved yet survives a crash: kept as a draft in the encrypted file (at most
once a second while typing), back in its box after a kill -9 and Resume, gone once saved or
discarded, and never part of the record (events, chain, report, exports, replication)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from console.app import build_window, start_core
from console.core.config import Config
from console.core.exports.csv_export import write_events
from console.core.exports.fhir_bundle import session_bundle
from console.core.notes.note_text import note_text
from console.core.report.build import build_report
from console.replication import replicator
from console.store import chain, drafts, engine
from console.store.db import connect_file
from console.store.events import session_events
from console.store.health import check_database
from console.ui.gui_post import GuiPoster
from console.ui.notes.note_pane import RESTORED, NotePane
from console.ui.notes.notes_feature import NotesFeature
from console.ui.resume_bar import ResumeBar
from tests.helpers.staff import staff_signed_in
from tests.notes_support import rig

STAFF = [("Ana Ruiz", "therapist"), ("Dr Chen", "physician")]
SECRET = "Wants to talk about her brother Tomas"  # typed, never saved in the tests below


def draft_rows(path: Path, box: str | None = None) -> list[tuple[str, str, dict]]:
    """(box, author, content) as in the file, read through a connection of our own."""
    conn = connect_file(path)
    try:
        q = "SELECT box, author, content FROM drafts"
        rows = conn.execute(q + (" WHERE box = ?" if box else ""), (box,) if box else ())
        return [(b, a, json.loads(c)) for b, a, c in rows]
    except engine.OperationalError:
        return []  # not made yet (the other process is still starting)
    finally:
        conn.close()


def draft_text(path: Path, box: str) -> str | None:
    rows = draft_rows(path, box)
    return str(rows[0][2].get("text")) if rows else None


@pytest.fixture
def pane(qtbot, qapp, tmp_path):
    with rig(tmp_path) as r:
        poster = GuiPoster()
        r.writer.on_committed = lambda evs: poster(lambda: r.sessions.announce(evs))
        p = NotePane(r.notes, lambda: STAFF, default_author=lambda: r.sessions.author)
        qtbot.addWidget(p)
        p.resize(620, 980)
        p.show()
        qtbot.waitExposed(p)
        yield r, p


def test_a_burst_of_typing_is_one_write_and_typing_on_is_at_most_one_a_second(qtbot, pane):
    r, p = pane
    box = p.section_boxes["check_in"].text
    for burst in range(3):  # 3 × 30 keystrokes, each burst quicker than the 1 s window
        qtbot.keyClicks(box, "abcdefghij" * 3)
        assert r.notes.drafts.writes == burst, "nothing is written on the keystroke itself"
        qtbot.waitUntil(lambda b=burst: draft_text(r.path, "section:check_in")
                        == "abcdefghij" * 3 * (b + 1), timeout=5000)
    assert r.notes.drafts.writes == 3  # 90 keystrokes, 3 writes
    # Typing on without a pause: the text reaches the disk while typing goes on (not only
    # after a pause), and never more than about once a second.
    before, t0 = r.notes.drafts.writes, time.monotonic()
    while r.notes.drafts.writes < before + 2:
        qtbot.keyClicks(box, "x")
        qtbot.wait(20)  # typing speed
        assert time.monotonic() - t0 < 20
    typed_for = time.monotonic() - t0
    assert r.notes.drafts.writes - before <= typed_for / 1.0 + 1
    assert typed_for >= 0.9, "the second write waited about a second after the first"


def test_saving_removes_the_draft_and_text_typed_after_the_save_is_kept(qtbot, pane):
    r, p = pane
    b = p.section_boxes["screening"]
    qtbot.keyClicks(b.text, SECRET)
    qtbot.waitUntil(lambda: draft_text(r.path, "section:screening") == SECRET, timeout=5000)
    b.save_button.click()
    assert not b.dirty
    qtbot.waitUntil(lambda: draft_rows(r.path, "section:screening") == [], timeout=5000)
    assert [k for k, _a, _p in r.stored()].count("note.section") == 1
    # an observation: kept while typed, gone once added
    qtbot.keyClicks(p.obs_edit, "Smiles")
    qtbot.waitUntil(lambda: draft_text(r.path, "observation") == "Smiles", timeout=5000)
    qtbot.keyClick(p.obs_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: draft_rows(r.path, "observation") == [], timeout=5000)
    # typed again after a save: a new draft, which the save's late delete does not touch
    b.text.moveCursor(b.text.textCursor().MoveOperation.End)
    qtbot.keyClicks(b.text, " more")
    b.save_button.click()
    b.text.moveCursor(b.text.textCursor().MoveOperation.End)
    qtbot.keyClicks(b.text, " and after")
    qtbot.waitUntil(lambda: draft_text(r.path, "section:screening")
                    == SECRET + " more and after", timeout=5000)
    r.flush()
    assert draft_text(r.path, "section:screening") == SECRET + " more and after"


def test_a_draft_is_not_part_of_the_record(qtbot, pane):
    r, p = pane
    qtbot.keyClicks(p.section_boxes["return"].text, SECRET)
    qtbot.keyClicks(p.obs_edit, SECRET)
    p.open_ae_form()
    qtbot.keyClicks(p.ae_what, SECRET)
    qtbot.waitUntil(lambda: len(draft_rows(r.path)) == 3, timeout=5000)
    qtbot.keyClicks(p.section_boxes["screening"].text, "Screened")  # saved beside them
    p.section_boxes["screening"].save_button.click()
    r.flush()
    conn = connect_file(r.path)
    try:
        events = session_events(conn, r.sid)
        assert events and all(SECRET not in json.dumps(e.payload) for e in events)
        assert not any("draft" in e.kind for e in events)
        assert all(SECRET not in p.entries.item(i).text() for i in range(p.entries.count()))
        assert SECRET not in p.full_note.toPlainText()
        report = build_report(conn, r.sid)
        assert SECRET not in repr(report)
        assert SECRET not in json.dumps(session_bundle(report), default=str)
        out = io.StringIO()
        write_events(conn, [r.sid], out)
        assert SECRET not in out.getvalue()
        assert SECRET not in note_text(r.notes.record(), r.notes.template, "t", "")
        assert conn.execute("SELECT COUNT(*) FROM chain WHERE what NOT IN "
                            "('event', 'readings')").fetchone()[0] == 0
        assert chain.verify(conn).ok
    finally:
        conn.close()
    assert "drafts" not in replicator.APPEND_TABLES
    assert check_database(r.path).intact  # the record check is not troubled by drafts


def test_discard_needs_two_presses_and_removes_the_draft(qtbot, pane):
    r, p = pane
    b = p.section_boxes["return"]
    qtbot.keyClicks(b.text, SECRET)
    qtbot.waitUntil(lambda: draft_text(r.path, "section:return") == SECRET, timeout=5000)
    assert not b.discard_button.isHidden()
    b.discard_button.click()
    assert b.dirty and b.text.toPlainText() == SECRET, "one press throws nothing away"
    b.discard_button.click()
    assert not b.dirty and b.text.toPlainText() == ""
    qtbot.waitUntil(lambda: draft_rows(r.path, "section:return") == [], timeout=5000)
    p.sign_name.setCurrentText("Ana Ruiz")
    p.sign()
    assert "not saved yet" not in p.message.text()


_KILLED = r"""
import sys, time
from pathlib import Path
from PySide6.QtWidgets import QApplication
from PySide6.QtTest import QTest
from console.app import build_window, start_core
from console.core.config import Config
from console.ui.notes.notes_feature import NotesFeature
from tests.helpers.staff import staff_signed_in
app = QApplication([])
running = start_core(Path(sys.argv[1]), devices=None, config=Config(path=Path(sys.argv[2])))
staff_signed_in(running.ctx.people)
window, feed = build_window(running)
s = running.ctx.sessions.start(None)
pane = window.feature(NotesFeature).pane
QTest.keyClicks(pane.section_boxes["check_in"].text, sys.argv[3])
QTest.keyClicks(pane.obs_edit, "Eyes closed")
print(s.id, flush=True)
app.exec()
"""


@pytest.mark.slow
def test_typed_text_comes_back_after_kill_9_and_resume(qtbot, db_path: Path, config: Config,
                                                       tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED, str(db_path), str(tmp_path / "ws.json"), SECRET],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert proc.stdout is not None
        sid = int(proc.stdout.readline().strip())
        deadline = time.monotonic() + 30  # the other process's writer commits the drafts
        while len(draft_rows(db_path)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert draft_text(db_path, "section:check_in") == SECRET
    finally:
        proc.send_signal(signal.SIGKILL)  # no clean close: a crash or a power cut
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    raw = db_path.read_bytes() + Path(f"{db_path}-wal").read_bytes()
    assert SECRET.encode() not in raw, "drafts are patient data: encrypted like the rest"

    running = start_core(db_path, devices=None, config=config)
    staff_signed_in(running.ctx.people)
    window, feed = build_window(running)
    qtbot.addWidget(window)
    try:
        bar = window.feature(ResumeBar)
        assert [w.row.id for w in running.ctx.sessions.waiting] == [sid]
        pane = window.feature(NotesFeature).pane
        assert pane.section_boxes["check_in"].text.toPlainText() == "", "not before Resume"
        bar.resume_button.click()
        qtbot.waitUntil(lambda: running.ctx.sessions.current is not None, timeout=5000)
        box = pane.section_boxes["check_in"]
        assert box.text.toPlainText() == SECRET and box.dirty
        assert box.state.text().startswith(RESTORED)
        assert pane.obs_edit.text() == "Eyes closed"
        assert RESTORED in pane.message.text()
        window.grab().save(str(tmp_path / "restored.png"))
        pane.tabs.setCurrentIndex(1)
        pane.grab().save(str(tmp_path / "restored_note.png"))
        pane.sign()  # refused while a section holds unsaved text
        assert "not saved yet" in pane.message.text()
        assert all(e.kind != "sign.signed" for e in session_events(running.ctx.reader, sid))
        box.save_button.click()
        qtbot.waitUntil(lambda: draft_rows(db_path, "section:check_in") == [], timeout=5000)
        saved = [e for e in session_events(running.ctx.reader, sid) if e.kind == "note.section"]
        assert [e.payload["text"] for e in saved] == [SECRET]
        assert draft_rows(db_path, "observation")  # still there until added or cleared
    finally:
        feed.stop()
        running.stop()


def test_a_draft_equal_to_what_was_saved_is_dropped_on_restore(qtbot, pane, tmp_path):
    """A crash between the save's commit and the draft's delete: nothing to restore."""
    r, p = pane
    b = p.section_boxes["baseline"]
    qtbot.keyClicks(b.text, "Calm")
    b.save_button.click()
    r.flush()
    r.writer.call(lambda c: drafts.put(c, r.sid, "section:baseline", "Ana Ruiz",
                                       {"text": "Calm", "fields": b.values()}, 10**6,
                                       r.clock.now())).result(5)
    p2 = NotePane(r.notes, lambda: STAFF, default_author=lambda: r.sessions.author)
    qtbot.addWidget(p2)
    assert not p2.section_boxes["baseline"].dirty
    qtbot.waitUntil(lambda: draft_rows(r.path, "section:baseline") == [], timeout=5000)
