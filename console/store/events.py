"""The append-only event log: everything clinical that is not a device reading.

An event is immutable once written (the table has triggers that refuse UPDATE and DELETE).
Its `uid` is made here, before it reaches the disk, so a caller can refer to an event (an
amendment, an acknowledgement) without waiting for the writer thread.
Kinds are dotted lower-case names, e.g. `session.started`, `dose.given`, `alarm.raised`,
`note.observation`, `music.track_started`. `t` is when it happened (clinical time, may be
earlier than `recorded` for a late entry); `recorded` is when it was written.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from console.store.engine import Connection, Row


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    t: float
    payload: dict[str, Any] = field(default_factory=dict)
    session_id: int | None = None
    author: str | None = None
    refers_to: str | None = None  # uid of the event this one amends, acknowledges, ...
    recorded: float | None = None  # defaults to t
    uid: str = field(default_factory=lambda: uuid.uuid4().hex)

    def row(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "session_id": self.session_id,
            "t": self.t,
            "recorded": self.recorded if self.recorded is not None else self.t,
            "kind": self.kind,
            "author": self.author,
            "payload": json.dumps(self.payload, sort_keys=True, ensure_ascii=False),
            "refers_to": self.refers_to,
        }


def _from_row(r: Row | tuple[Any, ...]) -> Event:
    uid, session_id, t, recorded, kind, author, payload, refers_to = r
    return Event(
        kind=kind,
        t=t,
        payload=json.loads(payload),
        session_id=session_id,
        author=author,
        refers_to=refers_to,
        recorded=recorded,
        uid=uid,
    )


_COLS = "uid, session_id, t, recorded, kind, author, payload, refers_to"
INSERT_SQL = (f"INSERT INTO events ({_COLS}) VALUES "
              "(:uid, :session_id, :t, :recorded, :kind, :author, :payload, :refers_to)")


def insert_events(conn: Connection, events: Iterable[Event]) -> None:
    conn.executemany(INSERT_SQL, [e.row() for e in events])


def stored_row(conn: Connection, uid: str) -> dict[str, Any] | None:
    """The event with this uid as `Event.row` shapes it, or None if it is not stored."""
    r = conn.execute(f"SELECT {_COLS} FROM events WHERE uid = ?", (uid,)).fetchone()
    return dict(zip([c.strip() for c in _COLS.split(",")], r, strict=True)) if r else None


def session_events(
    conn: Connection, session_id: int, kinds: Iterable[str] | None = None
) -> list[Event]:
    """A session's events in clinical time order (ties in the order they were written)."""
    sql = f"SELECT {_COLS} FROM events WHERE session_id = ?"
    args: list[Any] = [session_id]
    ks = list(kinds) if kinds is not None else None
    if ks:
        sql += f" AND kind IN ({','.join('?' * len(ks))})"
        args += ks
    sql += " ORDER BY t, id"
    return [_from_row(r) for r in conn.execute(sql, args)]


def event_by_uid(conn: Connection, uid: str) -> Event | None:
    r = conn.execute(f"SELECT {_COLS} FROM events WHERE uid = ?", (uid,)).fetchone()
    return _from_row(r) if r else None


# ----- audit: who opened a patient's record, and every copy that left it -----
# The one table of the event kinds an audit view lists (the admin's view shows them with their
# author and time). Staff kinds (sign-in, failed PINs) belong here too. Every kind is an
# ordinary event: append-only and linked into the hash chain (console/store/chain.py).
AUDIT_KINDS: dict[str, str] = {
    "session.started": "opened a patient's record to record a session",
    "session.resumed": "opened an interrupted session's record again to record",
    "record.opened": "opened a patient's record to read it (a past session, a patient's course)",
    "export.report": "made the session report (saved as a PDF, or printed)",
    "export.rems_form": "made the REMS Patient Monitoring Form (saved as a PDF, or printed)",
    "export.csv": "exported sessions as CSV",
    "export.vital": "exported a session as a .vital file",
    "export.fhir": "exported a session as a FHIR bundle",
    "export.backup": "made a backup of the whole database",
    "store.restored": "replaced the database with a backup",
}
AUDIT_PREFIXES = ("export.",)  # an export kind added later is audited without a change here
OPENED = "record.opened"


def is_audit(kind: str) -> bool:
    return kind in AUDIT_KINDS or kind.startswith(AUDIT_PREFIXES)


def record_opened(now: float, patient_id: int | None, session_id: int | None, how: str,
                  author: str | None) -> Event:
    """`record.opened`: a record was opened to be read (`how`: "chart review", "course").

    It names the patient and session by number only: the audit trail is about access, and
    the record itself says who the patient is. It belongs to no session (`session_id` NULL,
    the session is in the payload): reading a record must not change that record, nor the
    record hash its printed copies carry."""
    what = f"session {session_id}" if session_id is not None else f"patient {patient_id}"
    return Event(OPENED, now, {"patient_id": patient_id, "session_id": session_id, "how": how,
                               "summary": f"Record opened ({how}): {what} — by "
                                          f"{author or 'unknown'}"},
                 author=author, recorded=now)


def audit_events(conn: Connection, since: float | None = None,
                 until: float | None = None) -> list[Event]:
    """The audit trail in the order it was written (for the admin's view)."""
    kinds = list(AUDIT_KINDS)
    sql = (f"SELECT {_COLS} FROM events WHERE (kind IN ({','.join('?' * len(kinds))})"
           + "".join(" OR kind LIKE ?" for _ in AUDIT_PREFIXES) + ")")
    args: list[Any] = [*kinds, *(p + "%" for p in AUDIT_PREFIXES)]
    if since is not None:
        sql += " AND recorded >= ?"
        args.append(since)
    if until is not None:
        sql += " AND recorded < ?"
        args.append(until)
    return [_from_row(r) for r in conn.execute(sql + " ORDER BY recorded, id", args)]
