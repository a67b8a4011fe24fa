"""Faults injected into the real writer, the real SQLite file and the real window.

Nothing confirmed is lost (kill -9 while recording events), nothing false is shown (an entry is
"saving…" until committed), one bad row never stops the record (it is set aside in the
quarantine and reported once), a full disk is one message per episode and its recovery, and
a dead writer thread is restarted. The file-size limit is real (RLIMIT_FSIZE, SIGXFSZ
ignored), applied to this process only while a test needs it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import signal
import stat
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from console.core.config import Config
from console.store import engine, records
from console.store.db import connect_file
from console.store.events import Event
from console.store.quarantine import beside_path, quarantined
from console.store.writer import NotSaved, StoreWriter
from console.ui.crash_guard import log_thread_crashes
from devices import mdc
from devices.reading import Reading, WaveChunk
from tests.helpers.fixtures import wait_until
from tests.helpers.staff import staff_signed_in

ROOT = Path(__file__).resolve().parents[2]
HR = mdc.MDC_ECG_HEART_RATE
BPM = mdc.MDC_DIM_BEAT_PER_MIN


class Told:
    """Messages from the writer thread, kept in order."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.recovered: list[str] = []
        self._lock = threading.Lock()

    def error(self, msg: str) -> None:
        with self._lock:
            self.errors.append(msg)

    def recovery(self, msg: str) -> None:
        with self._lock:
            self.recovered.append(msg)


@pytest.fixture
def told() -> Told:
    """Collects on_error / on_recovered messages."""
    return Told()


@pytest.fixture
def writer(db_path: Path, told: Told) -> Iterator[StoreWriter]:
    """The real writer thread on a fresh file, messages collected in `told`."""
    w = StoreWriter(str(db_path), flush_interval=0.05, on_error=told.error,
                    on_recovered=told.recovery)
    w.start()
    yield w
    w.stop()


def new_session(w: StoreWriter) -> int:
    return int(w.call(lambda c: records.start_session(c, None, 1000.0)).result(5))


def hr(t: float, value: float = 72.0, unit: int = BPM) -> Reading:
    return Reading(t, "MON", HR, value, unit)


def count(db: Path, sql: str, *args: object) -> int:
    conn = connect_file(db)
    try:
        return int(conn.execute(sql, args).fetchone()[0])
    finally:
        conn.close()


def readings_after(db: Path, sid: int, t: float) -> int:
    return count(db, "SELECT COUNT(*) FROM readings WHERE session_id=? AND t>=?", sid, t)


def set_aside(db: Path) -> list[tuple[str, str, dict[str, object]]]:
    conn = connect_file(db)
    try:
        return [(q.what, q.reason, json.loads(q.content)) for q in quarantined(conn)]
    finally:
        conn.close()


@contextmanager
def file_size_limit(db: Path) -> Iterator[None]:
    """No file of this process may grow past the database's present size (a full disk as
    SQLite meets it): SIGXFSZ is ignored, so the write fails with EFBIG instead."""
    sizes = [os.path.getsize(p) for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm"))
             if p.exists()]
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (max(sizes), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old)


# ------------------------------------------------------------------ durable acknowledgement
def test_an_event_is_confirmed_only_once_it_is_committed_with_synchronous_full(
        writer: StoreWriter, db_path: Path) -> None:
    assert writer.call(lambda c: c.execute("PRAGMA synchronous").fetchone()[0]).result(5) == 2
    sid = new_session(writer)
    seen_at_confirmation: list[bool] = []

    def check(f: Future[Event]) -> None:  # runs the moment the Future resolves
        conn = connect_file(db_path)
        try:
            uid = f.result().uid
            seen_at_confirmation.append(
                conn.execute("SELECT 1 FROM events WHERE uid=?", (uid,)).fetchone() is not None)
        finally:
            conn.close()

    futures = []
    for i in range(200):
        fut = writer.append_event(Event("note.test", 1000.0 + i, {"i": i}, session_id=sid))
        fut.add_done_callback(check)
        futures.append(fut)
    assert [f.result(10).payload["i"] for f in futures] == list(range(200))
    # result() wakes before the callbacks have run: wait for the last of them
    assert wait_until(lambda: len(seen_at_confirmation) == 200, timeout=5.0)
    assert seen_at_confirmation == [True] * 200


# ------------------------------------------------------------------ poison rows
def test_a_reading_whose_unit_does_not_fit_an_integer_is_set_aside_and_recording_goes_on(
        writer: StoreWriter, db_path: Path, told: Told, caplog: pytest.LogCaptureFixture) -> None:
    sid = new_session(writer)
    writer.add_samples(sid, [hr(1001.0), hr(1002.0, unit=2**70), hr(1003.0)])
    writer.add_samples(sid, [hr(1004.0, unit=2**70)])  # the same fault again: told once
    writer.add_samples(sid, [hr(1005.0)])
    assert wait_until(lambda: readings_after(db_path, sid, 1005.0) == 1, timeout=2.0)
    assert writer.alive
    assert readings_after(db_path, sid, 0) == 3
    aside = set_aside(db_path)
    assert [(what, row["unit"], row["t"]) for what, _r, row in aside] == [
        ("reading", 2**70, 1002.0), ("reading", 2**70, 1004.0)]
    assert "does not fit a database integer" in aside[0][1]
    assert len(told.errors) == 1 and "set aside" in told.errors[0] and "MON" in told.errors[0]
    assert any("set aside" in r.getMessage() for r in caplog.records)


def test_a_nan_waveform_rate_is_set_aside_and_later_commits_work(
        writer: StoreWriter, db_path: Path, told: Told) -> None:
    sid = new_session(writer)
    pleth = mdc.MDC_PULS_OXIM_PLETH
    writer.add_samples(sid, [WaveChunk(1001.0, "MON", pleth, float("nan"),
                                       np.ones(25, np.float32))])
    writer.add_samples(sid, [WaveChunk(1002.0 + i * 0.2, "MON", pleth, 125.0,
                                       np.full(25, i, np.float32)) for i in range(10)])
    writer.add_samples(sid, [hr(1005.0)])
    assert wait_until(lambda: readings_after(db_path, sid, 1005.0) == 1, timeout=2.0)
    assert writer.append_event(Event("note.test", 1006.0, {}, session_id=sid)).result(2)
    assert writer.flush()
    assert count(db_path, "SELECT SUM(n) FROM waveforms WHERE session_id=?", sid) == 250
    [(what, reason, row)] = set_aside(db_path)
    assert what == "waveform" and "sample rate" in reason and row["rate_hz"] == "nan"
    assert row["samples"] == [1.0] * 25  # the samples themselves are kept
    assert len(told.errors) == 1 and "waveform" in told.errors[0]


def test_an_event_that_cannot_be_saved_as_json_is_set_aside_and_its_future_says_so(
        writer: StoreWriter, db_path: Path, told: Told) -> None:
    sid = new_session(writer)
    good = writer.append_event(Event("note.test", 1001.0, {"text": "before"}, session_id=sid))
    bad = writer.append_event(Event("dose.given", 1002.0, {"mg": 50, "oops": object()},
                                    session_id=sid))
    after = writer.append_event(Event("note.test", 1003.0, {"text": "after"}, session_id=sid))
    with pytest.raises(NotSaved, match=r"could not be saved.*set aside"):
        bad.result(5)
    assert good.result(5) and after.result(5)
    writer.add_samples(sid, [hr(1004.0)])
    assert wait_until(lambda: readings_after(db_path, sid, 1004.0) == 1, timeout=2.0)
    [(what, reason, row)] = set_aside(db_path)
    assert what == "event" and "JSON" in reason
    assert row["kind"] == "dose.given" and row["payload"]["mg"] == 50  # type: ignore[index]
    assert told.errors and "could not be saved" in told.errors[0]


def test_an_event_breaking_a_constraint_is_found_in_its_batch_and_the_rest_is_saved(
        writer: StoreWriter, db_path: Path, told: Told) -> None:
    sid = new_session(writer)
    evs = [Event("note.test", 1000.0 + i, {"i": i}, session_id=sid) for i in range(40)]
    evs[23] = Event("note.test", 1023.0, {"i": 23}, session_id=99_999)  # no such session
    futures = [writer.append_event(e) for e in evs]  # one burst: they share a commit
    writer.add_samples(sid, [hr(1050.0)])
    assert wait_until(lambda: readings_after(db_path, sid, 1050.0) == 1, timeout=2.0)
    with pytest.raises(NotSaved, match="FOREIGN KEY"):
        futures[23].result(5)
    assert all(f.result(5) for i, f in enumerate(futures) if i != 23)
    assert count(db_path, "SELECT COUNT(*) FROM events WHERE kind='note.test'") == 39
    [(what, _reason, row)] = set_aside(db_path)
    assert what == "event" and row["uid"] == evs[23].uid and row["session_id"] == 99_999
    assert len(told.errors) == 1


def test_a_reading_sqlite_refuses_after_the_checks_is_bisected_out_of_its_batch(
        writer: StoreWriter, db_path: Path, told: Told) -> None:
    sid = new_session(writer)
    conn = connect_file(db_path, isolation_level=None)  # a clinic's own rule, say
    conn.execute("CREATE TRIGGER refuse_666 BEFORE INSERT ON readings WHEN NEW.value = 666 "
                 "BEGIN SELECT RAISE(ABORT, 'value 666 refused'); END")
    conn.close()
    batch = [hr(1000.0 + i, 666.0 if i in (17, 150) else 70.0) for i in range(200)]
    writer.add_samples(sid, batch)
    writer.add_samples(sid, [hr(1300.0)])
    assert wait_until(lambda: readings_after(db_path, sid, 1300.0) == 1, timeout=2.0)
    assert readings_after(db_path, sid, 0) == 199
    aside = set_aside(db_path)
    assert [row["t"] for _w, _r, row in aside] == [1017.0, 1150.0]
    assert all("value 666 refused" in reason for _w, reason, _row in aside)
    assert len(told.errors) == 1  # one source, one message


# ------------------------------------------------------------------ a dead writer thread
class _Crash(BaseException):
    """Something no `except Exception` catches: it ends the thread."""


def test_a_dead_writer_thread_is_restarted_logged_and_reported(
        writer: StoreWriter, db_path: Path, told: Told, caplog: pytest.LogCaptureFixture) -> None:
    sid = new_session(writer)
    log_thread_crashes()
    try:
        def crash(_c: engine.Connection) -> None:
            raise _Crash("a bug deep in a write")

        writer.add_samples(sid, [hr(1001.0)])
        fut = writer.call(crash)
        with pytest.raises(RuntimeError, match="stopped during this write"):
            fut.result(5)  # failed by the watchdog, not left hanging
        assert wait_until(lambda: writer.restarts == 1 and writer.alive, timeout=5.0)
        ev = writer.append_event(Event("note.test", 1002.0, {}, session_id=sid))
        writer.add_samples(sid, [hr(1003.0)])
        assert ev.result(2).kind == "note.test"
        assert wait_until(lambda: readings_after(db_path, sid, 1003.0) == 1, timeout=2.0)
        assert readings_after(db_path, sid, 0) == 2  # the reading queued before the crash
    finally:
        threading.excepthook = threading.__excepthook__
    assert any("restarted" in m for m in told.errors)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "thread holdspace-db-writer crashed" in text and "_Crash" in text
    assert "restarting it" in text


def test_a_crash_on_any_thread_is_logged_and_shown_in_one_line(
        caplog: pytest.LogCaptureFixture) -> None:
    shown: list[str] = []
    log_thread_crashes(shown.append)
    try:
        t = threading.Thread(target=lambda: 1 / 0, name="link MON")
        t.start()
        t.join()
    finally:
        threading.excepthook = threading.__excepthook__
    assert shown == [shown[0]] and "link MON thread stopped" in shown[0]
    assert "ZeroDivisionError" in shown[0] and "Traceback" not in shown[0]
    assert any("ZeroDivisionError" in r.getMessage() and "Traceback" in r.getMessage()
               for r in caplog.records)


# ------------------------------------------------------------------ a full disk
def test_a_file_size_limit_is_one_message_per_episode_then_recovery_and_nothing_is_lost(
        writer: StoreWriter, db_path: Path, told: Told) -> None:
    sid = new_session(writer)
    writer.add_samples(sid, [hr(1000.0)])
    assert writer.flush()
    with file_size_limit(db_path):
        futures = []
        for i in range(30):
            writer.add_samples(sid, [hr(1001.0 + i)])
            futures.append(writer.append_event(Event("note.test", 1001.0 + i, {"i": i},
                                                      session_id=sid)))
        assert wait_until(lambda: writer.failed_commits >= 3, timeout=10.0)
        assert not writer.flush()  # refused, and kept
        assert not any(f.done() for f in futures), "nothing is confirmed that is not saved"
        assert len(told.errors) == 1 and "Could not save to the database" in told.errors[0]
        assert "file-size limit" in told.errors[0]
    assert wait_until(lambda: bool(told.recovered), timeout=5.0)
    assert [f.result(5).payload["i"] for f in futures] == list(range(30))
    assert readings_after(db_path, sid, 0) == 31
    assert len(told.errors) == 1 and "works again" in told.recovered[0]


def test_a_disk_still_full_at_exit_keeps_the_rest_in_a_file_beside_the_database(
        db_path: Path, told: Told) -> None:
    w = StoreWriter(str(db_path), flush_interval=0.05, on_error=told.error)
    w.start()
    sid = new_session(w)
    assert w.flush()
    with file_size_limit(db_path):
        fut = w.append_event(Event("note.observation", 1001.0, {"text": "calm, eyes closed"},
                                   session_id=sid))
        w.add_samples(sid, [hr(1001.0)])
        assert wait_until(lambda: w.failed_commits >= 1, timeout=10.0)
        w.stop()
    with pytest.raises(NotSaved, match="beside the database"):
        fut.result(0)
    path = beside_path(db_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # patient data: owner only
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    contents = [json.loads(r["content"]) for r in rows]
    assert {r["what"] for r in rows} == {"event", "reading"}
    assert any(c.get("payload") == {"text": "calm, eyes closed"} for c in contents)
    assert w.unsaved == 2 and "could not be saved before closing" in told.errors[-1]


# ------------------------------------------------------------------ kill -9
def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_crash_events", ROOT / "bench" / "bench_crash_events.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def test_kill_9_while_recording_events_loses_no_acknowledged_event(db_path: Path) -> None:
    bench = _bench()
    result = bench.trial(db_path, kills=10, seed=9, max_delay=0.6)
    assert result.kills == 10
    assert len(result.acknowledged) >= 100, "the children recorded and confirmed events"
    assert result.lost == set()
    conn = connect_file(db_path)
    try:
        stored = {u for (u,) in conn.execute("SELECT uid FROM events")}
        kinds = {k for (k,) in conn.execute("SELECT DISTINCT kind FROM events")}
    finally:
        conn.close()
    assert result.acknowledged <= stored
    assert {"dose.given", "note.observation", "ae.reported", "alarm.raised",
            "alarm.acknowledged", "alarm.cleared"} <= kinds


# ------------------------------------------------------------------ what the screen says
def test_the_note_pane_shows_saving_until_committed_and_a_refused_entry_in_words(
        qtbot: QtBot, tmp_path: Path) -> None:
    from console.ui.gui_post import GuiPoster
    from console.ui.notes.note_pane import NotePane
    from tests.notes_support import rig

    with rig(tmp_path) as r:
        r.sessions.saves.post = GuiPoster()
        pane = NotePane(r.notes, lambda: [("Ana Ruiz", "therapist")])
        qtbot.addWidget(pane)
        pane.set_author("Ana Ruiz")
        texts = lambda: [pane.entries.item(i).text() for i in range(pane.entries.count())]  # noqa: E731

        other = connect_file(r.path, isolation_level=None, timeout=10)
        other.execute("BEGIN EXCLUSIVE")  # another program holds the write lock for a moment
        qtbot.keyClicks(pane.obs_edit, "Calm, eyes closed")
        pane.add_observation()
        assert pane.obs_edit.text() == ""
        assert len(texts()) == 1 and "Calm, eyes closed" in texts()[0]
        assert "saving…" in texts()[0]
        other.execute("COMMIT")
        qtbot.waitUntil(lambda: "saving…" not in texts()[0], timeout=5000)

        other.execute("CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.payload LIKE "
                      "'%smells smoke%' BEGIN SELECT RAISE(ABORT, 'refused'); END")
        other.close()
        qtbot.keyClicks(pane.obs_edit, "Patient smells smoke")
        pane.add_observation()
        qtbot.waitUntil(lambda: "Not saved" in pane.message.text(), timeout=5000)
        assert pane.obs_edit.text() == "Patient smells smoke"  # what was typed is back
        assert "press Enter to save it again" in pane.message.text()
        assert "NOT SAVED" in texts()[-1] and "smells smoke" in texts()[-1]
        assert "Calm, eyes closed" in texts()[0] and "NOT SAVED" not in texts()[0]
        assert [what for what, _r, _c in set_aside(r.path)] == ["event"]
        assert all("smells smoke" not in p for _k, _a, p in r.stored())
        # a note section: "saving…" until committed; a refused re-save keeps its text
        box = pane.section_boxes["check_in"]
        other = connect_file(r.path, isolation_level=None, timeout=10)
        other.execute("BEGIN EXCLUSIVE")
        box.text.setPlainText("Nervous but hopeful")
        box.save_button.click()
        assert box.state.text() == "saving…" and not box.dirty
        other.execute("COMMIT")
        qtbot.waitUntil(lambda: box.state.text().startswith("saved "), timeout=5000)
        other.execute("CREATE TRIGGER refuse_section BEFORE INSERT ON events WHEN NEW.payload "
                      "LIKE '%Hopeless%' BEGIN SELECT RAISE(ABORT, 'refused'); END")
        other.close()
        box.text.setPlainText("Hopeless today")
        box.save_button.click()  # saving again amends the first save
        qtbot.waitUntil(lambda: "NOT SAVED" in box.state.text(), timeout=5000)
        assert box.text.toPlainText() == "Hopeless today" and box.dirty
        assert "Save section again" in pane.message.text()
        sec = r.notes.record().section("check_in")
        assert sec is not None and sec.current["text"] == "Nervous but hopeful"
        pane.resize(700, 700)
        out = ROOT / "screenshots"
        out.mkdir(exist_ok=True)
        assert pane.grab().save(str(out / "note-pane-not-saved.png"))


def test_the_full_disk_message_reaches_the_status_bar_and_entries_wait_for_the_disk(
        qtbot: QtBot, db_path: Path, config: Config) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from console.app import build_window, start_core
    from console.core.session import Staff
    from console.ui import theme
    from console.ui.dosing.dose_panel import DosePanel
    from console.ui.notes.note_pane import NotePane
    from console.ui.session_dialog import NewPatient, SessionChoice
    from console.ui.shell_actions import start_session_from_choice

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply_theme(app)
    running = start_core(db_path, devices=None, config=config)
    staff_signed_in(running.ctx.people)  # who is at the console
    window, feed = build_window(running)
    qtbot.addWidget(window)
    try:
        window.resize(1600, 960)
        window.show()
        ctx = running.ctx
        start_session_from_choice(ctx, SessionChoice(
            None, NewPatient("Ada Example", "MRN-1", "1950-02-03", 61.0), "im",
            Staff("Ana Ruiz", "nurse")))
        sid = ctx.sessions.current.id  # type: ignore[union-attr]
        qtbot.waitUntil(lambda: readings_after(db_path, sid, 0) > 0, timeout=10_000)
        pane = window.findChild(NotePane)
        dose = window.findChild(DosePanel)
        assert pane is not None and dose is not None and dose.day is not None
        dose.day.override_gate("no baseline needed for this test")
        qtbot.waitUntil(lambda: "saving" not in dose.log.text(), timeout=5000)

        with file_size_limit(db_path):
            qtbot.waitUntil(lambda: "Could not save to the database" in
                            window.problem_message.text(), timeout=10_000)
            assert "file-size limit" in window.problem_message.text()
            qtbot.keyClicks(pane.obs_edit, "Restless, asks for water")
            pane.add_observation()
            item = pane.entries.item(pane.entries.count() - 1).text()
            assert "Restless" in item and "saving…" in item
            qtbot.keyClicks(dose.mg, "50")
            qtbot.mouseClick(dose.record_button, Qt.MouseButton.LeftButton)
            assert "50 mg" in dose.log.text() and "saving…" in dose.log.text()
            feed.second.emit(ctx.clock.now())  # a repaint tick changes nothing while refused
            assert "saving…" in pane.entries.item(pane.entries.count() - 1).text()
            pictures = {"console-disk-full.png": window.grab(),  # saved once files may grow
                        "note-pane-saving.png": pane.grab(), "dose-log-saving.png": dose.grab()}
        out = ROOT / "screenshots"
        out.mkdir(exist_ok=True)
        for name, picture in pictures.items():
            assert picture.save(str(out / name))
        qtbot.waitUntil(lambda: "works again" in window.problem_message.text(), timeout=10_000)
        qtbot.waitUntil(lambda: "saving" not in dose.log.text(), timeout=5000)
        qtbot.waitUntil(lambda: "saving…" not in pane.entries.item(
            pane.entries.count() - 1).text(), timeout=5000)
        kinds = [k for (k,) in connect_file(db_path).execute(
            "SELECT kind FROM events WHERE session_id=?", (sid,))]
        assert "dose.given" in kinds and "note.observation" in kinds
    finally:
        feed.stop()
        running.stop()


def test_a_database_full_by_sqlite_reaches_the_status_bar_through_ctx_post_in_nurse_words(
        qtbot: QtBot, db_path: Path, config: Config) -> None:
    """SQLITE_FULL as a full disk gives it (`PRAGMA max_page_count` at the file's present
    size, on the real writer's own connection): the writer thread's message reaches the
    window's status bar through the one way onto the GUI thread (ctx.post), in nurse words,
    and goes when the database can grow again."""
    from PySide6.QtWidgets import QApplication

    from console.app import build_window, start_core
    from console.ui import theme

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply_theme(app)
    running = start_core(db_path, devices=None, config=config)
    staff_signed_in(running.ctx.people)  # who is at the console
    window, feed = build_window(running)
    qtbot.addWidget(window)
    try:
        window.show()
        ctx = running.ctx
        assert ctx.post == window.post, "the composition root set ctx.post to the window's"
        ctx.sessions.start(None)
        sid = ctx.sessions.current.id  # type: ignore[union-attr]
        qtbot.waitUntil(lambda: readings_after(db_path, sid, 0) > 0, timeout=10_000)
        assert not window.statusBar().isVisible()

        def full(c: engine.Connection) -> int:
            pages = int(c.execute("PRAGMA page_count").fetchone()[0])
            return int(c.execute(f"PRAGMA max_page_count={pages}").fetchone()[0])

        assert ctx.writer.call(full).result(10) > 0
        for i in range(2000):  # rows enough to need a new page
            ctx.sessions.record("note.test", {"i": i, "text": "x" * 200})
        qtbot.waitUntil(lambda: "Could not save to the database" in
                        window.problem_message.text(), timeout=15_000)
        shown = window.problem_message.text()
        assert window.statusBar().isVisible() and "the disk is full" in shown
        assert "Traceback" not in shown and "sqlite3" not in shown.lower()

        def roomy(c: engine.Connection) -> None:
            c.execute("PRAGMA max_page_count=1073741823")

        ctx.writer.call(roomy)
        qtbot.waitUntil(lambda: "works again" in window.problem_message.text(), timeout=15_000)
        assert count(db_path, "SELECT COUNT(*) FROM events WHERE session_id=? AND kind=?",
                     sid, "note.test") == 2000, "nothing recorded while full was lost"
    finally:
        window.allow_close_without_asking()
        window.close()
        feed.stop()
        running.stop()
