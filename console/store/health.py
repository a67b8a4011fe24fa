"""`holdspace check`: is this database whole, which schema is it, what does it hold?

For a clinic's IT person after a crash, a power cut or a copy to another machine. The file is
opened read-only (console/store/db.py `open_readonly`), so a copy on a read-only disk can be
checked and nothing is written beside it. The schema hash is over the sorted CREATE
statements in sqlite_master, so two files made by the same Holdspace have the same hash
whatever they hold, and a file changed by hand or by another program does not. The hash chain
(console/store/chain.py) is walked too: an edit made outside Holdspace is named and dated.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from console.store import owner
from console.store.chain import ChainStatus, verify
from console.store.db import SCHEMA_VERSION, explain, migrate, not_holdspace, open_readonly

COUNTED = ("patients", "sessions", "readings", "waveforms", "events", "quarantine")


@dataclass
class OpenSessionInfo:
    id: int
    started: float
    last_data: float  # its end for a closed one
    state: str  # as shown: "recording", "interrupted" (or "interrupted, not yet marked")
    patient: str | None


@dataclass
class Health:
    path: Path
    size: int
    version: int
    schema_hash: str
    expected_hash: str | None  # what this Holdspace makes, for a file of its own version
    problems: list[str] = field(default_factory=list)  # from integrity_check; empty when ok
    counts: dict[str, int] = field(default_factory=dict)
    unclosed: list[OpenSessionInfo] = field(default_factory=list)
    note: str | None = None
    chain: ChainStatus = field(default_factory=ChainStatus)  # tamper evidence (chain.py)

    @property
    def ok(self) -> bool:
        """Whole: SQLite's integrity check found nothing (a backup needs no more)."""
        return not self.problems

    @property
    def intact(self) -> bool:
        """Whole and not altered outside Holdspace (the hash chain)."""
        return self.ok and self.chain.ok


def schema_hash(conn: sqlite3.Connection) -> str:
    sql = sorted(s for (s,) in conn.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"))
    return hashlib.sha256("\n".join(sql).encode()).hexdigest()


def expected_schema_hash() -> str:
    """The hash of a file freshly made by this Holdspace."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(conn)
        return schema_hash(conn)
    finally:
        conn.close()


def check_database(path: str | os.PathLike[str], *, every_row: bool = False) -> Health:
    """Raises StoreError when the file is missing or not a Holdspace database at all.

    The hash chain's links and events are always checked; `every_row` re-hashes every reading and
    waveform row too (`holdspace check`: seconds for an 8-hour session, so not for every
    backup's check)."""
    p = Path(path).expanduser()
    conn, note = open_readonly(p, known_schema=False)
    try:
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            digest = schema_hash(conn)
        except sqlite3.DatabaseError as e:
            raise explain(p, e) from None
        if "sessions" not in tables:
            raise not_holdspace(p, note)
        h = Health(p, p.stat().st_size, version, digest,
                   expected_schema_hash() if version == SCHEMA_VERSION else None, note=note)
        try:
            rows = [str(r) for (r,) in conn.execute("PRAGMA integrity_check")]
            h.problems = [line for r in rows for line in r.splitlines()
                          if line and line != "ok" and not line.startswith("*** in database")]
        except sqlite3.DatabaseError as e:
            h.problems = [f"the check itself stopped: {e}"]
        for t in COUNTED:
            if t in tables:
                try:
                    h.counts[t] = int(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])
                except sqlite3.DatabaseError as e:
                    h.problems.append(f"{t} cannot be counted: {e}")
        try:
            h.chain = verify(conn, rows=every_row)
        except sqlite3.DatabaseError as e:
            h.problems.append(f"the record's hash chain cannot be checked: {e}")
        try:
            h.unclosed = unclosed_sessions(conn, p)
        except sqlite3.DatabaseError as e:
            h.problems.append(f"sessions cannot be listed: {e}")
        return h
    finally:
        conn.close()


def shown_state(db_path: Path, session_id: int, state: str) -> str:
    """A session's state as a reader should see it: an 'active' session nobody is recording
    any more is interrupted, even before a Holdspace has marked it so."""
    if state != "active":
        return state
    return "recording" if owner.probe(db_path, session_id) is owner.Owner.ALIVE else "interrupted"


def unclosed_sessions(conn: sqlite3.Connection, db_path: Path) -> list[OpenSessionInfo]:
    from console.store.records import session_summaries

    return [OpenSessionInfo(r["id"], r["started"], r["ended"] or r["last_data"],
                            shown_state(db_path, r["id"], r["state"]), r["patient"])
            for r in session_summaries(conn) if r["ended"] is None or r["state"] == "interrupted"]
