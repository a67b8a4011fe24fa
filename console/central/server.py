"""Reading the clinic's PostgreSQL server: the rooms, and each room's rows after a given id.

The server mirrors the console's tables under the same names and columns in the `holdspace`
schema, each row with the `room` it came from (docs/replication.md). The station only ever
SELECTs; its login is the read-only role. Every failure to reach or read the server becomes a
`ServerError` in one sentence for the person at the station, with the address but never the
password.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from console.store.db import migrate

SCHEMA = "holdspace"
CHANNEL = "holdspace"
CONNECT_TIMEOUT_S = 5
# The clinical tables the station reads, in the order a session's rows depend on each other.
TABLES = ("patients", "sessions", "events", "readings", "waveforms")


class ServerError(Exception):
    """The clinic server cannot be reached or read, in words for the station."""


def where(url: str) -> str:
    """'host:port/db' of a connection URL, for messages (never the password)."""
    try:
        d = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the clinic server"
    host = d.get("host") or "localhost"
    port = d.get("port") or "5432"
    return f"{host}:{port}/{d.get('dbname') or d.get('user') or ''}".rstrip("/")


def _reason(e: BaseException) -> str:
    """The error's first line in a few words ('connection refused'), never the URL."""
    lines = str(e).strip().splitlines()
    first = lines[0].strip() if lines else type(e).__name__
    if "password authentication failed" in first or "no password supplied" in first:
        return "the station's login was refused: wrong user or password"
    if first.startswith("connection") and ": " in first:
        # libpq: 'connection to server at "h", port 5432 failed: Connection refused'
        tail = first.rsplit(": ", 1)[-1].strip()
        return tail[:1].lower() + tail[1:]
    return first[:200]


def connect(url: str) -> psycopg.Connection[tuple[Any, ...]]:
    """An autocommit connection (each SELECT sees the newest committed rows)."""
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                               application_name="holdspace central")
    except psycopg.Error as e:
        raise ServerError(f"Cannot reach the clinic server at {where(url)} ({_reason(e)})") from None
    except Exception as e:  # a malformed URL is a ProgrammingError, others are the same
        raise ServerError(f"The clinic server address is not usable ({_reason(e)}). Give it "
                          "as postgresql://user@host:port/database") from None


def failed(url: str, e: BaseException) -> ServerError:
    """A ServerError for something that went wrong after connecting."""
    if isinstance(e, psycopg.errors.UndefinedTable | psycopg.errors.InvalidSchemaName):
        return ServerError(f"The clinic server at {where(url)} is not set up for Holdspace yet "
                           "(IT runs `holdspace central init` there once).")
    if isinstance(e, psycopg.errors.InsufficientPrivilege):
        return ServerError(f"The login given for {where(url)} may not read every room: the "
                           "station logs in as holdspace_central_ro.")
    return ServerError(f"Lost the clinic server at {where(url)} ({_reason(e)})")


@functools.cache
def columns(table: str) -> tuple[str, ...]:
    """The console's columns of `table`, in its order: the server has the same ones."""
    conn = sqlite3.connect(":memory:")
    try:
        migrate(conn)
        return tuple(r[1] for r in conn.execute(f"PRAGMA table_info({table})"))
    finally:
        conn.close()


def select(table: str) -> str:
    return f"SELECT {', '.join(columns(table))} FROM {SCHEMA}.{table}"


@dataclass(frozen=True, slots=True)
class RoomRow:
    """A room's replicator heartbeat, as the server holds it."""

    room: str
    workstation_id: str | None
    age_s: float | None  # seconds since its last push, by the server's clock
    behind_rows: int | None
    behind_seconds: float | None
    last_error: str | None


def rooms(conn: psycopg.Connection[Any]) -> list[RoomRow]:
    rows = conn.execute(
        f"SELECT room, workstation_id, EXTRACT(EPOCH FROM (now() - last_push_at)), "
        f"behind_rows, behind_seconds, last_error FROM {SCHEMA}.rooms ORDER BY room").fetchall()
    return [RoomRow(str(r[0]), r[1], None if r[2] is None else max(0.0, float(r[2])),
                    r[3], None if r[4] is None else float(r[4]), r[5] or None) for r in rows]


def latest_session(conn: psycopg.Connection[Any], room: str) -> tuple[Any, ...] | None:
    """The room's newest session row (console column order), or None."""
    row = conn.execute(f"{select('sessions')} WHERE room = %s ORDER BY id DESC LIMIT 1",
                       (room,)).fetchone()
    return tuple(row) if row is not None else None


def by_ids(conn: psycopg.Connection[Any], table: str, room: str,
           ids: Sequence[int]) -> list[tuple[Any, ...]]:
    if not ids:
        return []
    return [tuple(r) for r in conn.execute(
        f"{select(table)} WHERE room = %s AND id = ANY(%s) ORDER BY id", (room, list(ids)))]


def session_rows(conn: psycopg.Connection[Any], table: str, room: str, session_id: int,
                 after_id: int = 0, kinds: Sequence[str] | None = None) -> list[tuple[Any, ...]]:
    """Rows of one session with an id above `after_id`, in id order (the order written)."""
    sql = f"{select(table)} WHERE room = %s AND session_id = %s AND id > %s"
    args: list[Any] = [room, session_id, after_id]
    if kinds is not None:
        sql += " AND kind = ANY(%s)"
        args.append(list(kinds))
    return [tuple(r) for r in conn.execute(sql + " ORDER BY id", args)]


def events_of_kind(conn: psycopg.Connection[Any], room: str,
                   kind: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(
        f"{select('events')} WHERE room = %s AND kind = %s ORDER BY id", (room, kind))]
