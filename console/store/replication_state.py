"""The replicator's bookkeeping in the SQLite file: its position per table and its last word.

Tables made by db.py's `_replication` migration. Positions are written only after the central
server has committed the rows up to them (console/replication/replicator.py), so the file
always holds a position the server has reached: a restart resumes there, re-sending at most
what the server already has (harmless there: ON CONFLICT DO NOTHING). No clinical data here.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from console.store.db import BUSY_TIMEOUT_MS, _connect


@dataclass(frozen=True, slots=True)
class StoredStatus:
    """`replication_status`: what the replicator last said (for `holdspace sync-status`)."""

    workstation_id: str
    room: str | None
    server: str | None  # without its password
    connected: bool
    behind_rows: int | None
    behind_seconds: float | None
    last_error: str | None
    error_since: float | None
    updated: float | None


def open_state(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """A connection of the replicator's own: it reads snapshots and writes only its two tables.
    The file must already be open once through open_db (created and migrated)."""
    conn = _connect(Path(path), BUSY_TIMEOUT_MS)
    # A position lost to a power cut only means re-sending rows the server already has
    # (harmless there), so its writes need not wait for the disk as the record's do.
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def positions(conn: sqlite3.Connection) -> dict[str, int]:
    return {t: int(i) for t, i in conn.execute("SELECT tbl, last_id FROM replication_state")}


def workstation_id(conn: sqlite3.Connection) -> str:
    row = conn.execute("SELECT workstation_id FROM replication_status WHERE id=1").fetchone()
    if row is None:  # a file whose row was removed by hand: make a new identity
        raise sqlite3.DatabaseError("replication_status has no row")
    return str(row[0])


def save(conn: sqlite3.Connection, moved: dict[str, int], at: float,
         status: StoredStatus | None) -> None:
    """Positions (only after the server's commit) and the status, in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(
            "INSERT INTO replication_state (tbl, last_id, pushed_at) VALUES (?, ?, ?) "
            "ON CONFLICT (tbl) DO UPDATE SET last_id = excluded.last_id, "
            "pushed_at = excluded.pushed_at",
            [(t, i, at) for t, i in moved.items()])
        if status is not None:
            conn.execute(
                "UPDATE replication_status SET room=?, server=?, connected=?, behind_rows=?, "
                "behind_seconds=?, last_error=?, error_since=?, updated=? WHERE id=1",
                (status.room, status.server, int(status.connected), status.behind_rows,
                 status.behind_seconds, status.last_error, status.error_since, status.updated))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def stored_status(conn: sqlite3.Connection) -> StoredStatus | None:
    """The last word, or None in a file older than replication (read-only copies)."""
    try:
        row = conn.execute(
            "SELECT workstation_id, room, server, connected, behind_rows, behind_seconds, "
            "last_error, error_since, updated FROM replication_status WHERE id=1").fetchone()
    except sqlite3.OperationalError:  # no such table: written before replication existed
        return None
    if row is None:
        return None
    return StoredStatus(row[0], row[1], row[2], bool(row[3]), row[4], row[5], row[6], row[7],
                        row[8])
