"""Comparing a room's SQLite file with its copy on the central server, row for row."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from console.replication import schema
from console.store import records
from console.store.db import open_db
from console.store.events import Event, insert_events
from devices import mdc


def sqlite_rows(db: Path, table: str) -> list[tuple[Any, ...]]:
    cols = ", ".join(c for c, _ in schema.COLUMNS[table])
    conn = sqlite3.connect(db)
    try:
        return [tuple(r) for r in conn.execute(f"SELECT {cols} FROM {table} ORDER BY id")]
    finally:
        conn.close()


def server_rows(url: str, room: str, table: str) -> list[tuple[Any, ...]]:
    cols = ", ".join(c for c, _ in schema.COLUMNS[table])
    with psycopg.connect(url) as c:
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in c.execute(
            f"SELECT {cols} FROM holdspace.{table} WHERE room = %s ORDER BY id", (room,))]


def checksum(rows: list[tuple[Any, ...]]) -> str:
    h = hashlib.sha256()
    for r in rows:
        h.update(repr(r).encode())
    return h.hexdigest()


def counts_and_checksums(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, tuple[int, str]]:
    return {t: (len(r), checksum(r)) for t, r in rows.items()}


def server_counts(url: str, room: str) -> dict[str, int]:
    with psycopg.connect(url) as c:
        return {t: int(c.execute(f"SELECT COUNT(*) FROM holdspace.{t} WHERE room = %s",
                                 (room,)).fetchall()[0][0]) for t in schema.TABLES}


def same_on_server(db: Path, url: str, room: str, tables: list[str]) -> bool:
    """True when the server holds exactly the file's rows of these tables for the room."""
    return all(sqlite_rows(db, t) == server_rows(url, room, t) for t in tables)


def fill(db: Path, readings: int, t0: float = 1_000_000.0) -> int:
    """A session with a patient, `readings` readings, some events and waveform rows."""
    conn = open_db(db)
    pid = records.create_patient(conn, "Ada Test", t0, identifier="MRN-1", weight_kg=61.5)
    sid = records.start_session(conn, pid, t0, template="standard", title="test")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO readings (session_id, t, source, code, value, unit, quality) "
        "VALUES (?, ?, 'sim', ?, ?, ?, 0)",
        [(sid, t0 + i / 8, mdc.MDC_ECG_HEART_RATE, 60 + i % 40, mdc.MDC_DIM_BEAT_PER_MIN)
         for i in range(readings)])
    samples = np.linspace(0, 1, 125, dtype="<f4").tobytes()
    conn.executemany(
        "INSERT INTO waveforms (session_id, source, code, t0, rate_hz, n, samples, quality) "
        "VALUES (?, 'sim', ?, ?, 125.0, 125, ?, 0)",
        [(sid, mdc.MDC_PULS_OXIM_PLETH, t0 + i, samples) for i in range(50)])
    insert_events(conn, [Event("note", t0 + i, {"text": f"note {i}"}, session_id=sid)
                         for i in range(20)])
    conn.execute("COMMIT")
    conn.close()
    return sid
