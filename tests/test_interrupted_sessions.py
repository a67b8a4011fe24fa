"""Sessions whose process died: found at the next start, marked interrupted where their data
stops, offered to resume or end — and a session another living Holdspace records is left alone.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from console.app import build_window, start_core
from console.core.config import Config
from console.store import owner, records
from console.store.db import StoreError, open_db, open_readonly
from console.store.events import session_events
from console.store.writer import StoreWriter
from console.ui.resume_bar import ResumeBar
from devices import mdc
from devices.reading import Reading, WaveChunk
from devices.simulator import Simulator
from tests.helpers.fixtures import wait_until
from tests.helpers.staff import staff_signed_in


def crashed_session(db: Path, patient: str | None = "Ada Example") -> tuple[int, float]:
    """A session started and fed by a process that then died (never ended, never released):
    returns its id and the time of its last stored data (a pleth row ending after the last
    reading)."""
    w = StoreWriter(str(db))
    w.start()
    t0 = time.time() - 900
    pid = w.call(lambda c: records.create_patient(c, patient, t0)).result(5) if patient else None
    sid = w.call(lambda c: records.start_session(c, pid, t0)).result(5)
    w.add_samples(sid, [Reading(t0 + 10 * i, "sim", mdc.MDC_ECG_HEART_RATE, 70,
                                mdc.MDC_DIM_BEAT_PER_MIN) for i in range(30)])
    w.add_samples(sid, [WaveChunk(t0 + 290, "sim", mdc.MDC_PULS_OXIM_PLETH, 125.0,
                                  np.zeros(250, dtype=np.float32))])
    w.flush()
    w.stop()
    return sid, t0 + 292.0


def test_the_ownership_marker_tells_alive_closed_and_gone_apart(db_path: Path) -> None:
    open_db(db_path).close()
    mine = owner.SessionOwnership(db_path)
    assert owner.probe(db_path, 7) is owner.Owner.GONE  # never claimed
    mine.claim(7)
    assert owner.probe(db_path, 7) is owner.Owner.ALIVE
    assert owner.reap(db_path, 7) is owner.Owner.ALIVE, "a living owner is never reaped"
    mine.release(7, ended=False)  # the console closed with the session open
    assert owner.probe(db_path, 7) is owner.Owner.CLOSED
    assert owner.reap(db_path, 7) is owner.Owner.CLOSED
    assert not (owner.owners_dir(db_path) / "7.lock").exists()
    mine.claim(8)
    mine.release(8, ended=True)
    assert not (owner.owners_dir(db_path) / "8.lock").exists()


def test_only_sessions_nobody_owns_are_marked_and_only_headless_ones_are_closed(
        db_path: Path) -> None:
    conn = open_db(db_path)
    console_sid = records.start_session(conn, None, 100.0)
    headless_sid = records.start_session(conn, None, 100.0, title=records.HEADLESS_TITLE)
    alive_sid = records.start_session(conn, None, 100.0)
    conn.execute("INSERT INTO readings (session_id, t, source, code, value, unit, quality) "
                 "VALUES (?, 130.0, 'sim', ?, 70, ?, 0)",
                 (headless_sid, mdc.MDC_ECG_HEART_RATE, mdc.MDC_DIM_BEAT_PER_MIN))
    owners = {alive_sid: owner.Owner.ALIVE, console_sid: owner.Owner.CLOSED}
    found = records.mark_interrupted(conn, lambda s: owners.get(s, owner.Owner.GONE), 500.0)
    assert [(i.session_id, i.at, i.closed) for i in found] == [
        (console_sid, 100.0, False), (headless_sid, 130.0, True)]
    states = dict(conn.execute("SELECT id, state || ':' || IFNULL(ended, '-') FROM sessions"))
    assert states == {console_sid: "interrupted:-", headless_sid: "interrupted:130.0",
                      alive_sid: "active:-"}
    assert [w.row.id for w in records.waiting_sessions(conn)] == [console_sid]
    assert records.mark_interrupted(conn, lambda s: owner.Owner.GONE, 600.0)[0].session_id == (
        alive_sid), "each session is marked once"


def test_an_interrupted_session_is_offered_and_ending_it_closes_it_where_it_stopped(
        qtbot: QtBot, db_path: Path, config: Config) -> None:
    sid, last = crashed_session(db_path)
    running = start_core(db_path, devices=None, config=config)
    staff_signed_in(running.ctx.people)  # who is at the console
    window, feed = build_window(running)
    qtbot.addWidget(window)
    try:
        sessions = running.ctx.sessions
        assert sessions.current is None, "nothing is resumed behind anyone's back"
        assert [w.row.id for w in sessions.waiting] == [sid]
        assert sessions.waiting[0].at == pytest.approx(last)
        bar = window.feature(ResumeBar)
        assert not bar.isHidden()
        assert bar.text.text().startswith("The session for Ada Example stopped unexpectedly at ")
        assert time.strftime("%H:%M", time.localtime(last)) in bar.end_button.text()
        bar.end_button.click()
        assert bar.isHidden() and sessions.current is None and sessions.waiting == []
        row = records.get_session(running.ctx.reader, sid)
        assert row is not None and row.state == "ended" and row.ended == pytest.approx(last)
        ev = session_events(running.ctx.reader, sid)
        assert [e.kind for e in ev] == ["session.started", "session.interrupted",
                                        "session.ended"]
        assert ev[1].payload["cause"] == "gone" and ev[1].t == pytest.approx(last)
        recorded = ev[2].recorded
        assert ev[2].t == pytest.approx(last) and recorded is not None and recorded > last + 600
    finally:
        feed.stop()
        running.stop()
    again = start_core(db_path, devices=None, config=config)
    try:
        assert again.ctx.sessions.waiting == [] and again.ctx.sessions.current is None
    finally:
        again.stop()


def test_resuming_is_refused_in_words_while_another_session_is_open(
        qtbot: QtBot, db_path: Path, config: Config) -> None:
    crashed_session(db_path, patient=None)
    running = start_core(db_path, devices=None, config=config)
    staff_signed_in(running.ctx.people)  # who is at the console
    window, feed = build_window(running)
    qtbot.addWidget(window)
    try:
        bar = window.feature(ResumeBar)
        assert "the unnamed patient" in bar.text.text()
        running.ctx.sessions.start(None)
        assert not bar.resume_button.isEnabled() and "end it first" in bar.detail.text()
        running.ctx.sessions.end()
        assert bar.resume_button.isEnabled()
    finally:
        feed.stop()
        running.stop()


def test_a_console_closed_mid_session_is_offered_as_closed_not_as_a_crash(
        db_path: Path, config: Config) -> None:
    running = start_core(db_path, devices=None, config=config)
    try:
        started = running.ctx.sessions.start(None)
        assert started is not None
        sid = started.id
    finally:
        running.stop()  # closed with the session open
    running = start_core(db_path, devices=None, config=config)
    try:
        (w,) = running.ctx.sessions.waiting
        assert w.row.id == sid and w.cause == "closed"
        assert "closed with the session open" in w.reason
        running.ctx.sessions.resume(sid)
        assert running.ctx.sessions.current is not None and running.ctx.sessions.waiting == []
        assert owner.probe(db_path, sid) is owner.Owner.ALIVE
        running.ctx.sessions.end()
        assert owner.probe(db_path, sid) is owner.Owner.GONE
    finally:
        running.stop()
    kinds = [e.kind for e in session_events(open_db(db_path), sid)]
    assert kinds[-3:] == ["session.interrupted", "session.resumed", "session.ended"]


@pytest.mark.slow
def test_a_session_recorded_by_another_living_holdspace_is_left_alone(
        db_path: Path, config: Config, sim_port: tuple[Simulator, str]) -> None:
    _, port = sim_port
    proc = subprocess.Popen(
        [sys.executable, "-m", "console", "record", "--device", f"sim:{port}", "--db",
         str(db_path), "--duration", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: _state(db_path) == "active", timeout=30)
        running = start_core(db_path, devices=[], config=config)  # the console starts beside
        try:
            assert running.ctx.sessions.waiting == []
            assert _state(db_path) == "active"
        finally:
            running.stop()
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, err
    assert _state(db_path) == "ended" and "interrupted" not in out


def _state(db: Path) -> str | None:
    """The first session's state, read as `holdspace sessions` reads it."""
    try:
        c, _ = open_readonly(db)
    except StoreError:
        return None  # not made yet
    try:
        r = c.execute("SELECT state FROM sessions ORDER BY id LIMIT 1").fetchone()
    finally:
        c.close()
    return r[0] if r else None
