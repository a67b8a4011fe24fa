"""Patients and sessions: the few rows that are updated (a session's end, a patient's weight).

Everything here takes a connection; writes are meant to run on the writer thread through
`StoreWriter.call`, reads on a reader connection. Each change that matters clinically is also
written as an event, so the event log alone tells the story of the day.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from console.store.events import Event, insert_events


@dataclass(frozen=True, slots=True)
class Patient:
    id: int
    display_name: str
    identifier: str | None
    birth_date: str | None
    weight_kg: float | None


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: int
    patient_id: int | None
    started: float
    ended: float | None
    state: str  # "active" or "ended"
    template: str | None
    title: str | None


def create_patient(
    conn: sqlite3.Connection,
    display_name: str,
    now: float,
    identifier: str | None = None,
    birth_date: str | None = None,
    weight_kg: float | None = None,
    author: str | None = None,
) -> int:
    cur = conn.execute(
        "INSERT INTO patients (display_name, identifier, birth_date, weight_kg, created) "
        "VALUES (?,?,?,?,?)",
        (display_name, identifier or None, birth_date or None, weight_kg, now),
    )
    pid = int(cur.lastrowid or 0)
    insert_events(
        conn,
        [
            Event(
                "patient.created",
                now,
                {"patient_id": pid, "display_name": display_name, "identifier": identifier,
                 "birth_date": birth_date, "weight_kg": weight_kg},
                author=author,
            )
        ],
    )
    return pid


def set_patient_weight(
    conn: sqlite3.Connection, patient_id: int, weight_kg: float, now: float,
    session_id: int | None = None, author: str | None = None,
) -> None:
    old = conn.execute("SELECT weight_kg FROM patients WHERE id=?", (patient_id,)).fetchone()
    conn.execute("UPDATE patients SET weight_kg=? WHERE id=?", (weight_kg, patient_id))
    insert_events(
        conn,
        [Event("patient.weight_changed", now,
               {"patient_id": patient_id, "weight_kg": weight_kg,
                "previous_kg": old[0] if old else None},
               session_id=session_id, author=author)],
    )


def _patient(r: tuple[Any, ...]) -> Patient:
    return Patient(*r)


_PCOLS = "id, display_name, identifier, birth_date, weight_kg"


def get_patient(conn: sqlite3.Connection, patient_id: int) -> Patient | None:
    r = conn.execute(f"SELECT {_PCOLS} FROM patients WHERE id=?", (patient_id,)).fetchone()
    return _patient(r) if r else None


def find_patient(conn: sqlite3.Connection, identifier: str) -> Patient | None:
    r = conn.execute(f"SELECT {_PCOLS} FROM patients WHERE identifier=?", (identifier,)).fetchone()
    return _patient(r) if r else None


def list_patients(conn: sqlite3.Connection) -> list[Patient]:
    return [_patient(r) for r in conn.execute(f"SELECT {_PCOLS} FROM patients ORDER BY display_name")]


def start_session(
    conn: sqlite3.Connection,
    patient_id: int | None,
    now: float,
    template: str | None = None,
    title: str | None = None,
    author: str | None = None,
) -> int:
    cur = conn.execute(
        "INSERT INTO sessions (patient_id, started, state, template, title) VALUES (?,?,?,?,?)",
        (patient_id, now, "active", template, title),
    )
    sid = int(cur.lastrowid or 0)
    insert_events(
        conn,
        [Event("session.started", now, {"patient_id": patient_id, "template": template,
                                        "title": title}, session_id=sid, author=author)],
    )
    return sid


def end_session(
    conn: sqlite3.Connection, session_id: int, now: float, author: str | None = None,
    reason: str | None = None,
) -> None:
    conn.execute(
        "UPDATE sessions SET ended=?, state='ended' WHERE id=? AND state='active'",
        (now, session_id),
    )
    insert_events(
        conn,
        [Event("session.ended", now, {"reason": reason} if reason else {}, session_id=session_id,
               author=author)],
    )


def session_readings(
    conn: sqlite3.Connection, session_id: int, codes: list[int] | None = None
) -> list[tuple[float, str, int, float | None, int, int]]:
    """(t, source, code, value, unit, quality) of a session in time order, for trends."""
    sql = "SELECT t, source, code, value, unit, quality FROM readings WHERE session_id=?"
    args: list[Any] = [session_id]
    if codes:
        sql += f" AND code IN ({','.join('?' * len(codes))})"
        args += codes
    return conn.execute(sql + " ORDER BY t", args).fetchall()


_SCOLS = "id, patient_id, started, ended, state, template, title"


def get_session(conn: sqlite3.Connection, session_id: int) -> SessionRow | None:
    r = conn.execute(f"SELECT {_SCOLS} FROM sessions WHERE id=?", (session_id,)).fetchone()
    return SessionRow(*r) if r else None


def active_session(conn: sqlite3.Connection) -> SessionRow | None:
    """The most recent session still open (e.g. after a crash), if any."""
    r = conn.execute(
        f"SELECT {_SCOLS} FROM sessions WHERE state='active' ORDER BY started DESC LIMIT 1"
    ).fetchone()
    return SessionRow(*r) if r else None


def session_summaries(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every session with its patient and its counts of readings, wave seconds and events."""
    rows = conn.execute(
        """
        SELECT s.id, s.started, s.ended, s.state, s.template, p.display_name,
          (SELECT COUNT(*) FROM readings r WHERE r.session_id = s.id),
          (SELECT COALESCE(SUM(w.n / w.rate_hz), 0) FROM waveforms w WHERE w.session_id = s.id),
          (SELECT COUNT(*) FROM events e WHERE e.session_id = s.id)
        FROM sessions s LEFT JOIN patients p ON p.id = s.patient_id
        ORDER BY s.started
        """
    ).fetchall()
    keys = ("id", "started", "ended", "state", "template", "patient", "readings",
            "wave_seconds", "events")
    return [dict(zip(keys, r, strict=True)) for r in rows]
