"""Real parts for the notes/timeline tests: a SQLite file, the writer thread, a session."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from console.core.clock import FakeClock
from console.core.notes.notes import NoteBook
from console.core.session import SessionService, Staff
from console.store import records
from console.store.db import open_reader
from console.store.events import Event
from console.store.writer import StoreWriter
from devices import mdc
from devices.reading import Reading

T0 = 1_800_000_000.0


@dataclass
class Rig:
    clock: FakeClock
    writer: StoreWriter
    reader: sqlite3.Connection
    sessions: SessionService
    notes: NoteBook
    path: Path
    patient_id: int

    def flush(self) -> None:
        self.writer.flush()

    @property
    def sid(self) -> int:
        """The session the note book writes to (the rig always opens one)."""
        assert self.notes.session_id is not None
        return self.notes.session_id

    def stored(self, sid: int | None = None) -> list[tuple[str, str | None, str]]:
        """(kind, author, payload json) as in the file, in time order."""
        self.flush()
        conn = sqlite3.connect(self.path)
        try:
            return conn.execute(
                "SELECT kind, author, payload FROM events WHERE session_id=? ORDER BY t, id",
                (sid or self.notes.session_id,)).fetchall()
        finally:
            conn.close()


@contextmanager
def rig(tmp_path: Path, template: str | None = "im-standard",
        weight: float | None = 70.0) -> Iterator[Rig]:
    path = tmp_path / "holdspace.db"
    clock = FakeClock(T0)
    writer = StoreWriter(str(path), flush_interval=0.05)
    writer.start()
    reader = open_reader(path)
    try:
        sessions = SessionService(clock, writer, reader)
        sessions.set_user(Staff("Ana Ruiz", "therapist"))
        pid = writer.call(lambda c: records.create_patient(
            c, "Maria K", clock.now(), identifier="MK1", weight_kg=weight)).result(10)
        notes = NoteBook(clock, writer, reader, sessions)
        sessions.start(pid, template=template)
        yield Rig(clock, writer, reader, sessions, notes, path, pid)
    finally:
        writer.stop()
        reader.close()


def write_day(r: Rig) -> dict[str, str]:
    """A session as the earlier features record it: readings, a dose, an alarm + ack, music."""
    sid = r.notes.session_id
    assert sid is not None
    t0 = r.clock.now()
    samples = []
    for i in range(0, 3600, 5):
        t = t0 + i
        samples += [
            Reading(t, "sim", mdc.MDC_ECG_HEART_RATE, 70 + (i // 600), mdc.MDC_DIM_BEAT_PER_MIN),
            Reading(t, "sim", mdc.MDC_PULS_OXIM_SAT_O2, 97, mdc.MDC_DIM_PERCENT),
            Reading(t, "sim", mdc.MDC_RESP_RATE, 14, mdc.MDC_DIM_RESP_PER_MIN),
        ]
        if i % 600 == 0:
            samples += [
                Reading(t, "sim", mdc.MDC_PRESS_BLD_NONINV_SYS, 125 + i / 120, mdc.MDC_DIM_MMHG),
                Reading(t, "sim", mdc.MDC_PRESS_BLD_NONINV_DIA, 80, mdc.MDC_DIM_MMHG),
            ]
    r.writer.add_samples(sid, samples)
    dose = Event("dose.given", t0 + 300, {
        "drug": "ketamine", "formulation": "solution", "route": "IM", "mg": 50.0,
        "mg_per_kg": 0.71, "lot": "L123", "given_by": "Dr Chen", "late_entry": False,
        "role": "initial", "summary": "Ketamine 50 mg IM (0.71 mg/kg)"},
        session_id=sid, author="Dr Chen")
    phase1 = Event("music.phase_changed", t0 + 310, {
        "phase": "onset", "summary": "Music phase: onset"}, session_id=sid, author="Ana Ruiz")
    phase2 = Event("music.phase_changed", t0 + 1800, {
        "phase": "peak", "summary": "Music phase: peak"}, session_id=sid, author="Ana Ruiz")
    music = Event("music.track_started", t0 + 320, {
        "phase": "onset", "track": "Adagio", "summary": "Music: onset — Adagio"},
        session_id=sid, author="Ana Ruiz")
    alarm = Event("alarm.raised", t0 + 1500, {
        "priority": "high", "code": mdc.MDC_PULS_OXIM_SAT_O2, "summary": "SpO2 low 89 %"},
        session_id=sid)
    ack = Event("alarm.acknowledged", t0 + 1520, {"summary": "SpO2 alarm acknowledged"},
                session_id=sid, author="Dr Chen", refers_to=alarm.uid)
    check = Event("check.missed", t0 + 2700, {"summary": "BP check at 40 min missed"},
                  session_id=sid)
    checklist = Event("checklist.item_done", t0 + 60, {"summary": "Escort phone confirmed"},
                      session_id=sid, author="Ana Ruiz")
    for ev in (dose, phase1, music, alarm, ack, phase2, check, checklist):
        r.writer.append_event(ev)
    r.flush()
    return {"dose": dose.uid, "music": music.uid, "phase": phase1.uid, "alarm": alarm.uid, "ack": ack.uid,
            "check": check.uid, "checklist": checklist.uid}
