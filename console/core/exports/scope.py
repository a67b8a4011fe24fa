"""Which sessions an export holds: one by its number, or those started within a date range.

A date range is whole local days, both ends included; a session belongs to the day it
started (one running past midnight is exported whole with its first day).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from console.core.exports.output import ExportError
from console.store import engine, records


def one_session(conn: engine.Connection, session_id: int, db_path: Path) -> records.SessionRow:
    row = records.get_session(conn, session_id)
    if row is None:
        raise ExportError(f"There is no session {session_id} in {db_path} — `holdspace sessions "
                          f"--db {db_path}` lists them.")
    return row


def parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ExportError(f"{text!r} is not a date — write it as YYYY-MM-DD, e.g. 2025-03-14."
                          ) from None


def local_midnight(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day).astimezone().timestamp()


def sessions_between(conn: engine.Connection, first: str, last: str,
                     db_path: Path) -> list[records.SessionRow]:
    """Sessions started from the day `first` to the day `last` (local dates, both included)."""
    a, b = parse_day(first), parse_day(last)
    if b < a:
        raise ExportError(f"The range ends ({b}) before it starts ({a}) — give --from first.")
    start, end = local_midnight(a), local_midnight(b + dt.timedelta(days=1))
    ids = [sid for (sid,) in conn.execute(
        "SELECT id FROM sessions WHERE started >= ? AND started < ? ORDER BY started, id",
        (start, end))]
    if not ids:
        raise ExportError(f"No session started between {a} and {b} in {db_path} — nothing to "
                          "export.")
    out = []
    for sid in ids:
        row = records.get_session(conn, sid)
        assert row is not None
        out.append(row)
    return out
