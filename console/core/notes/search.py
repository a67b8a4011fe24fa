"""Search across sessions by text, quick tag and date — on the local file, no network.

A LIKE over the events' summary and text is fast enough for one clinic's years of sessions
on one workstation; amendments are found too, since their text is in the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from console.store import engine


@dataclass(frozen=True, slots=True)
class Hit:
    session_id: int
    uid: str
    t: float
    kind: str
    summary: str
    patient: str | None
    session_started: float
    template: str | None


def _like(s: str) -> str:
    return "%" + s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search(conn: engine.Connection, text: str = "", tag: str = "",
           date_from: float | None = None, date_to: float | None = None,
           patient_id: int | None = None, limit: int = 300) -> list[Hit]:
    """Matching events, newest session first; with no text or tag, one hit per session."""
    where = ["e.session_id IS NOT NULL"]
    args: list[Any] = []
    if text.strip():
        where.append("(json_extract(e.payload, '$.summary') LIKE ? ESCAPE '\\' "
                     "OR json_extract(e.payload, '$.text') LIKE ? ESCAPE '\\')")
        args += [_like(text.strip())] * 2
    if tag.strip():
        where.append("EXISTS (SELECT 1 FROM json_each(e.payload, '$.tags') j "
                     "WHERE lower(j.value) = lower(?))")
        args.append(tag.strip())
    if not text.strip() and not tag.strip():
        where.append("e.kind = 'session.started'")
    if date_from is not None:
        where.append("s.started >= ?")
        args.append(date_from)
    if date_to is not None:
        where.append("s.started < ?")
        args.append(date_to)
    if patient_id is not None:
        where.append("s.patient_id = ?")
        args.append(patient_id)
    sql = (
        "SELECT e.session_id, e.uid, e.t, e.kind, "
        "COALESCE(json_extract(e.payload, '$.summary'), e.kind), p.display_name, s.started, "
        "s.template FROM events e JOIN sessions s ON s.id = e.session_id "
        "LEFT JOIN patients p ON p.id = s.patient_id WHERE " + " AND ".join(where) +
        " ORDER BY s.started DESC, e.t LIMIT ?"
    )
    args.append(limit)
    return [Hit(*r) for r in conn.execute(sql, args)]
