"""`holdspace sync-status`: how far this file's copy on the central server has got.

Reads the file read-only (its positions and the replicator's last word) and asks the server
once, briefly, when it last heard from this room. Works while the console is running.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from console.replication import schema
from console.replication.address import shown
from console.replication.replicator import SyncSettings
from console.replication.status import age_text
from console.store import replication_state


@dataclass
class Backlog:
    rows: int  # rows in the file that the server does not have yet
    oldest: float | None  # the time of the oldest of them


def backlog(conn: sqlite3.Connection, tables: list[str]) -> Backlog:
    """What the file holds beyond the stored positions (append-only tables)."""
    try:
        pos = replication_state.positions(conn)
    except sqlite3.OperationalError:  # a file from before replication existed
        pos = {}
    rows, oldest = 0, None
    for t in tables:
        at = pos.get(t, 0)
        n = conn.execute(f"SELECT COUNT(*) FROM {t} WHERE id > ?", (at,)).fetchone()[0]
        rows += int(n)
        if n:
            first = conn.execute(f"SELECT {schema.TIME_COLUMN[t]} FROM {t} WHERE id > ? "
                                 "ORDER BY id LIMIT 1", (at,)).fetchone()[0]
            oldest = first if oldest is None else min(oldest, first)
    return Backlog(rows, oldest)


@dataclass
class ServerCheck:
    reachable: bool
    words: str  # what the server said, or why it could not be asked
    last_push_age: float | None = None


def ask_server(settings: SyncSettings, timeout: float = 3.0) -> ServerCheck:
    """One short connection: is the server there, set up, and when did this room last push?"""
    import psycopg

    try:
        with psycopg.connect(settings.url, connect_timeout=max(1, int(timeout))) as c:
            version = schema.server_version(c)
            if version == 0:
                return ServerCheck(True, "reachable, but not set up for Holdspace (IT runs "
                                         "`holdspace central init` there)")
            row: Any = c.execute(
                "SELECT EXTRACT(EPOCH FROM now() - last_push_at), last_error, behind_rows "
                "FROM holdspace.rooms WHERE room = %s", (settings.room,)).fetchone()
    except psycopg.OperationalError as e:
        return ServerCheck(False, f"not reachable ({schema.explain(e)})")
    except psycopg.Error as e:
        return ServerCheck(False, f"refused the question ({schema.explain(e)})")
    if row is None or row[0] is None:
        return ServerCheck(True, f"reachable (schema version {version}); it has not heard "
                                 f"from room {settings.room!r} yet")
    age = float(row[0])
    when = time.strftime("%H:%M:%S", time.localtime(time.time() - age))
    words = (f"reachable (schema version {version}); it last heard from room "
             f"{settings.room!r} {age_text(age)} ago ({when})")
    if row[1]:
        words += f"; the room's last problem there: {row[1]}"
    return ServerCheck(True, words, age)


def report_lines(conn: sqlite3.Connection, settings: SyncSettings | None
                 ) -> tuple[list[str], bool]:
    """The lines `sync-status` prints, and whether all is well (server reachable, or off)."""
    stored = replication_state.stored_status(conn)
    waveforms = settings.waveforms if settings else False
    tables = ["events", "readings"] + (["waveforms"] if waveforms else [])
    lines: list[str] = []
    room = settings.room if settings else (stored.room if stored else None)
    server = shown(settings.url) if settings else (stored.server if stored else None)
    lines.append(f"room:         {room or '(none: this workstation does not send to a central server)'}")
    lines.append(f"server:       {server or '(none)'}")
    b = backlog(conn, tables)
    if b.rows:
        age = f", the oldest {age_text(time.time() - b.oldest)} old" if b.oldest else ""
        lines.append(f"this file:    {b.rows:,} rows not yet on the server{age}")
    else:
        lines.append("this file:    every row is on the server")
    if stored is not None and stored.updated is not None:
        at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stored.updated))
        said = stored.last_error or ("connected" if stored.connected else "stopped")
        lines.append(f"last word:    {said} (at {at})")
    if settings is None:
        return lines, True
    check = ask_server(settings)
    lines.append(f"server check: {check.words}")
    return lines, check.reachable
