"""Typed text not saved yet, kept in the encrypted file so a crash or power cut loses at most
the last second of it.

A draft is NOT part of the record: not an event, not in the hash chain, not replicated, not
in any report or export. One row per (session, box, author), rewritten as the text changes
and deleted once what it holds is saved (its event committed) or discarded. `rev` grows with
every write from a console, so a delete after a save ("up to the rev that was saved") never
removes text typed after the save press. Writes run on the writer thread (`StoreWriter.call`);
reads on a reader connection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from console.store.engine import Connection

TABLE = "drafts"


@dataclass(frozen=True, slots=True)
class Draft:
    session_id: int
    box: str  # e.g. "section:check_in", "observation", "ae"
    author: str  # "" when nobody was chosen
    content: dict[str, Any]
    rev: int
    updated: float


def create_table(conn: Connection) -> None:
    """The migration's part (console/store/db.py `_drafts`)."""
    conn.execute(
        "CREATE TABLE drafts (session_id INTEGER NOT NULL REFERENCES sessions(id), "
        "box TEXT NOT NULL, author TEXT NOT NULL DEFAULT '', content TEXT NOT NULL, "
        "rev INTEGER NOT NULL, updated REAL NOT NULL, PRIMARY KEY (session_id, box, author))")


def put(conn: Connection, session_id: int, box: str, author: str, content: dict[str, Any],
        rev: int, updated: float) -> None:
    """Keep `content` as the box's draft (an older rev never overwrites a newer one)."""
    conn.execute(
        "INSERT INTO drafts (session_id, box, author, content, rev, updated) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (session_id, box, author) DO UPDATE SET "
        "content = excluded.content, rev = excluded.rev, updated = excluded.updated "
        "WHERE excluded.rev >= drafts.rev",
        (session_id, box, author, json.dumps(content, ensure_ascii=False), rev, updated))


def remove(conn: Connection, session_id: int, box: str, up_to_rev: int | None = None) -> int:
    """Forget the box's drafts (every author's) written up to `up_to_rev` (all when None)."""
    if up_to_rev is None:
        cur = conn.execute("DELETE FROM drafts WHERE session_id = ? AND box = ?",
                           (session_id, box))
    else:
        cur = conn.execute("DELETE FROM drafts WHERE session_id = ? AND box = ? AND rev <= ?",
                           (session_id, box, up_to_rev))
    return int(cur.rowcount)


def of_session(conn: Connection, session_id: int) -> list[Draft]:
    """The session's drafts, newest first (a box typed by two people: the newer is shown)."""
    rows = conn.execute(
        "SELECT session_id, box, author, content, rev, updated FROM drafts "
        "WHERE session_id = ? ORDER BY rev DESC, updated DESC", (session_id,)).fetchall()
    out = []
    for sid, box, author, content, rev, updated in rows:
        try:
            data = json.loads(content)
        except ValueError:
            continue
        if isinstance(data, dict):
            out.append(Draft(int(sid), str(box), str(author), data, int(rev), float(updated)))
    return out


def highest_rev(conn: Connection) -> int:
    row = conn.execute("SELECT MAX(rev) FROM drafts").fetchone()
    return int(row[0]) if row and row[0] is not None else 0
