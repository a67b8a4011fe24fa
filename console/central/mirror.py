"""A room's rows from the server in a SQLite database with the console's own schema.

Whatever the console's code reads (the dose day, the timeline, the report, the exports) then
reads the server's rows exactly as it reads a room's file: same tables, same ids, same
payload text. Nothing clinical is recomputed here; this only copies rows.

`new_mirror()` is an in-memory database (the station keeps one per room, for its current
session); `session_file()` writes one session to a private temporary file for the report and
the exports, which open a database by its path.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg

from console.central import server
from console.store.db import migrate, sync_parameters


def new_mirror(path: str = ":memory:") -> sqlite3.Connection:
    """An empty console database (schema and parameter vocabulary, no rows)."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    migrate(conn)
    sync_parameters(conn)
    return conn


def _text(v: Any) -> Any:
    """A payload the server hands back parsed (a json/jsonb column) becomes the console's
    stored text again: keys sorted, non-ASCII kept, as `Event.row` writes it."""
    if isinstance(v, dict | list):
        return json.dumps(v, sort_keys=True, ensure_ascii=False)
    return v


def _cell(v: Any) -> Any:
    if isinstance(v, memoryview):
        return bytes(v)
    return _text(v)


def put(conn: sqlite3.Connection, table: str, rows: Iterable[Sequence[Any]],
        replace: bool = False) -> int:
    """Insert rows given in the console's column order; the ones already there are kept
    (`replace`: overwritten, for the few rows that change: a session's end, a weight)."""
    cols = server.columns(table)
    verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
    data = [tuple(_cell(v) for v in r) for r in rows]
    if not data:
        return 0
    conn.execute("BEGIN")
    try:
        conn.executemany(f"{verb} INTO {table} ({', '.join(cols)}) VALUES "
                         f"({', '.join('?' * len(cols))})", data)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(data)


def copy(conn: sqlite3.Connection) -> sqlite3.Connection:
    """A snapshot of a mirror for another thread (the room's detail window)."""
    dst = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    conn.backup(dst)
    dst.execute("PRAGMA query_only=ON")
    return dst


class SessionNotOnServer(LookupError):
    """The server holds no such session for that room."""


def load_session(pg: psycopg.Connection[Any], room: str, session_id: int,
                 conn: sqlite3.Connection, *, waveforms: bool = True) -> server.RoomRow | None:
    """Copy one session of `room` with everything its report and exports read: its row, its
    patient, its events, readings and waveforms, and the room's earlier REMS answers (the
    REMS form carries the provider's details forward from them)."""
    row = pg.execute(f"{server.select('sessions')} WHERE room = %s AND id = %s",
                     (room, session_id)).fetchone()
    if row is None:
        raise SessionNotOnServer(f"The clinic server holds no session {session_id} from "
                                 f"{room}.")
    patient_id = row[server.columns("sessions").index("patient_id")]
    if patient_id is not None:
        put(conn, "patients", server.by_ids(pg, "patients", room, [patient_id]))
    put(conn, "sessions", [row])
    put(conn, "events", server.session_rows(pg, "events", room, session_id))
    put(conn, "events", server.events_of_kind(pg, room, "rems.answers"))
    put(conn, "readings", server.session_rows(pg, "readings", room, session_id))
    if waveforms:
        put(conn, "waveforms", server.session_rows(pg, "waveforms", room, session_id))
    return next((r for r in server.rooms(pg) if r.room == room), None)


@contextlib.contextmanager
def session_file(pg: psycopg.Connection[Any], room: str, session_id: int,
                 waveforms: bool = True) -> Iterator[Path]:
    """The session in a temporary console database file, private to this user (0700 folder,
    0600 file) and deleted afterwards: it holds patient data."""
    with tempfile.TemporaryDirectory(prefix="holdspace-central-") as folder:
        os.chmod(folder, 0o700)
        path = Path(folder) / "session.db"
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        conn = new_mirror(str(path))
        try:
            load_session(pg, room, session_id, conn, waveforms=waveforms)
        finally:
            conn.close()
        yield path
