"""Comparing a room's SQLite file with its copy on the central server, row for row."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import psycopg

from console.replication import schema


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
                                 (room,)).fetchone()[0]) for t in schema.TABLES}


def same_on_server(db: Path, url: str, room: str, tables: list[str]) -> bool:
    """True when the server holds exactly the file's rows of these tables for the room."""
    return all(sqlite_rows(db, t) == server_rows(url, room, t) for t in tables)
