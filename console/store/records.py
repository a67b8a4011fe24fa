"""Patients and sessions: the few rows that are updated (a session's end, a patient's weight).

Everything here takes a connection; writes are meant to run on the writer thread through
`StoreWriter.call`, reads on a reader connection. Each change that matters clinically is also
written as an event, so the event log alone tells the story of the day.

A session is 'active' while recorded, 'ended' once closed, and 'interrupted' when the
process recording it died (see console/store/owner.py). An interrupted console session waits
(`ended` empty) until someone resumes or ends it; an interrupted headless recording is
closed at once, at its last stored data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from console.store.engine import Connection
from console.store.events import Event, insert_events
from console.store.owner import Owner

HEADLESS_TITLE = "headless recording"  # sessions made by `holdspace record`
INTERRUPTED_BECAUSE = {
    Owner.CLOSED: "Holdspace was closed with the session open",
    Owner.GONE: "Holdspace stopped unexpectedly — a crash, a forced stop or a power cut",
}


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
    state: str  # "active", "ended" or "interrupted"
    template: str | None
    title: str | None


def create_patient(
    conn: Connection,
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
    conn: Connection, patient_id: int, weight_kg: float, now: float,
    session_id: int | None = None, author: str | None = None,
) -> None:
    old = conn.execute("SELECT weight_kg FROM patients WHERE id=?", (patient_id,)).fetchone()
    conn.execute("UPDATE patients SET weight_kg=? WHERE id=?", (weight_kg, patient_id))
    insert_events(
        conn,
        [Event("patient.weight_changed", now,
               {"patient_id": patient_id, "weight_kg": weight_kg,
                "previous_kg": old[0] if old else None,
                "summary": f"Weight changed to {weight_kg:g} kg"
                           + (f" (was {old[0]:g} kg)" if old and old[0] is not None else "")},
               session_id=session_id, author=author)],
    )


def _patient(r: tuple[Any, ...]) -> Patient:
    return Patient(*r)


_PCOLS = "id, display_name, identifier, birth_date, weight_kg"


def get_patient(conn: Connection, patient_id: int) -> Patient | None:
    r = conn.execute(f"SELECT {_PCOLS} FROM patients WHERE id=?", (patient_id,)).fetchone()
    return _patient(r) if r else None


def find_patient(conn: Connection, identifier: str) -> Patient | None:
    r = conn.execute(f"SELECT {_PCOLS} FROM patients WHERE identifier=?", (identifier,)).fetchone()
    return _patient(r) if r else None


def list_patients(conn: Connection) -> list[Patient]:
    return [_patient(r) for r in conn.execute(f"SELECT {_PCOLS} FROM patients ORDER BY display_name")]


def start_session(
    conn: Connection,
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
    conn: Connection, session_id: int, now: float, author: str | None = None,
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
    conn: Connection, session_id: int, codes: list[int] | None = None
) -> list[tuple[float, str, int, float | None, int, int]]:
    """(t, source, code, value, unit, quality) of a session in time order, for trends."""
    sql = "SELECT t, source, code, value, unit, quality FROM readings WHERE session_id=?"
    args: list[Any] = [session_id]
    if codes:
        sql += f" AND code IN ({','.join('?' * len(codes))})"
        args += codes
    return conn.execute(sql + " ORDER BY t", args).fetchall()


_SCOLS = "id, patient_id, started, ended, state, template, title"


def get_session(conn: Connection, session_id: int) -> SessionRow | None:
    r = conn.execute(f"SELECT {_SCOLS} FROM sessions WHERE id=?", (session_id,)).fetchone()
    return SessionRow(*r) if r else None


# The newest moment a session has data for: a reading, the end of a waveform row, an event.
_LAST_DATA = """MAX(s.started,
    COALESCE((SELECT MAX(r.t) FROM readings r WHERE r.session_id = s.id), 0),
    COALESCE((SELECT MAX(w.t0 + w.n / w.rate_hz) FROM waveforms w
              WHERE w.session_id = s.id), 0),
    COALESCE((SELECT MAX(e.t) FROM events e WHERE e.session_id = s.id), 0))"""


def last_data_time(conn: Connection, session_id: int) -> float | None:
    """When the session last had data stored (its start if nothing else); None if no such
    session. An interrupted session stopped here."""
    r = conn.execute(f"SELECT {_LAST_DATA} FROM sessions s WHERE s.id = ?",
                     (session_id,)).fetchone()
    return float(r[0]) if r else None


def session_summaries(conn: Connection) -> list[dict[str, Any]]:
    """Every session with its patient, its counts of readings, wave seconds and events, and
    the time of its last stored data (where an unfinished session's true duration ends)."""
    rows = conn.execute(
        f"""
        SELECT s.id, s.started, s.ended, s.state, s.template, p.display_name,
          (SELECT COUNT(*) FROM readings r WHERE r.session_id = s.id),
          (SELECT COALESCE(SUM(w.n / w.rate_hz), 0) FROM waveforms w WHERE w.session_id = s.id),
          (SELECT COUNT(*) FROM events e WHERE e.session_id = s.id),
          {_LAST_DATA}
        FROM sessions s LEFT JOIN patients p ON p.id = s.patient_id
        ORDER BY s.started
        """
    ).fetchall()
    keys = ("id", "started", "ended", "state", "template", "patient", "readings",
            "wave_seconds", "events", "last_data")
    return [dict(zip(keys, r, strict=True)) for r in rows]


@dataclass(frozen=True, slots=True)
class Interruption:
    session_id: int
    at: float  # its last stored data: where the record stops
    reason: str
    closed: bool  # a headless recording, closed at once; a console session waits


def mark_interrupted(
    conn: Connection, owner_of: Callable[[int], Owner], now: float
) -> list[Interruption]:
    """Find the sessions left 'active' by a process that died and say so on their record.

    Run it inside a write transaction (`StoreWriter.call`): a session is claimed in the same
    transaction that creates or resumes it, so one being started right now is never taken for
    a dead one.
    """
    found = []
    rows = conn.execute(
        "SELECT id, title FROM sessions WHERE state = 'active' ORDER BY id").fetchall()
    for sid, title in rows:
        owner = owner_of(sid)
        if owner is Owner.ALIVE:
            continue
        at = last_data_time(conn, sid)
        assert at is not None
        headless = title == HEADLESS_TITLE
        reason = INTERRUPTED_BECAUSE[owner]
        conn.execute(
            "UPDATE sessions SET state = 'interrupted', ended = ? WHERE id = ? AND state = 'active'",
            (at if headless else None, sid),
        )
        insert_events(conn, [Event(
            "session.interrupted", at,
            {"last_data": at, "reason": reason, "cause": owner.value, "closed": headless,
             "detected": now,
             "summary": f"Session interrupted — {reason}. Nothing was recorded after this."},
            session_id=sid, recorded=now,
        )])
        found.append(Interruption(sid, at, reason, headless))
    return found


@dataclass(frozen=True, slots=True)
class Interrupted:
    """A console session that stopped with its process and waits to be resumed or ended."""

    row: SessionRow
    patient: Patient | None
    at: float  # where its record stops
    reason: str
    cause: str  # Owner.CLOSED.value or Owner.GONE.value


def waiting_sessions(conn: Connection) -> list[Interrupted]:
    """Interrupted sessions nobody has resumed or ended yet, newest first."""
    out = []
    for r in conn.execute(
        f"SELECT {_SCOLS} FROM sessions WHERE state = 'interrupted' AND ended IS NULL "
        "ORDER BY started DESC"
    ).fetchall():
        row = SessionRow(*r)
        at, reason, cause = _interruption(conn, row.id)
        patient = get_patient(conn, row.patient_id) if row.patient_id else None
        out.append(Interrupted(row, patient, at, reason, cause))
    return out


def _interruption(conn: Connection, session_id: int) -> tuple[float, str, str]:
    """(time, reason, cause) from the session's newest `session.interrupted` event."""
    r = conn.execute(
        "SELECT t, json_extract(payload, '$.reason'), json_extract(payload, '$.cause') "
        "FROM events WHERE session_id = ? AND kind = 'session.interrupted' "
        "ORDER BY id DESC LIMIT 1", (session_id,)).fetchone()
    if r is not None:
        return float(r[0]), str(r[1] or ""), str(r[2] or Owner.GONE.value)
    at = last_data_time(conn, session_id)
    return (at or 0.0), INTERRUPTED_BECAUSE[Owner.GONE], Owner.GONE.value


class NotWaiting(Exception):
    """The interrupted session was resumed or ended meanwhile (by another Holdspace)."""


def resume_session(
    conn: Connection, session_id: int, now: float, author: str | None = None
) -> None:
    """Carry on recording into an interrupted session; the gap stays a gap in the record."""
    at = _interruption(conn, session_id)[0]
    cur = conn.execute(
        "UPDATE sessions SET state = 'active' WHERE id = ? AND state = 'interrupted' "
        "AND ended IS NULL", (session_id,))
    if cur.rowcount != 1:
        raise NotWaiting(f"session {session_id} is no longer waiting to be resumed")
    gap_min = max(0.0, now - at) / 60
    insert_events(conn, [Event(
        "session.resumed", now,
        {"interrupted_at": at, "gap_s": round(max(0.0, now - at), 3),
         "summary": f"Session resumed after an interruption of {gap_min:.0f} min"},
        session_id=session_id, author=author,
    )])


def end_interrupted_session(
    conn: Connection, session_id: int, now: float, author: str | None = None
) -> float:
    """Close an interrupted session where its record stops; returns that time."""
    at = _interruption(conn, session_id)[0]
    cur = conn.execute(
        "UPDATE sessions SET state = 'ended', ended = ? WHERE id = ? AND state = 'interrupted' "
        "AND ended IS NULL", (at, session_id))
    if cur.rowcount != 1:
        raise NotWaiting(f"session {session_id} is no longer waiting to be ended")
    insert_events(conn, [Event(
        "session.ended", at,
        {"reason": "ended after an interruption", "interrupted_at": at},
        session_id=session_id, author=author, recorded=now,
    )])
    return at
