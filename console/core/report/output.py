"""Writing a report where it was asked for, and recording that it left the record.

A report holds patient data, so the file is written private to its owner (0600), whole or
not at all (a temporary file beside it, then renamed). Every report made is an `export.*`
event (who, when, what, where to), so the record shows each copy that left it. The lead will
unify this with the other exports' helper; until then `export_event` is the one place that
shapes the event.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from pathlib import Path
from typing import Any

from console.store.events import Event, insert_events


class OutputError(Exception):
    """The report cannot be written there; the message says why, in plain words."""


def check_writable(path: Path) -> None:
    """Refuse early (before any work) a place the report cannot be written."""
    p = path.expanduser()
    if p.is_dir():
        raise OutputError(f"{p} is a folder; give a file name, e.g. {p / 'report.pdf'}")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"cannot write the report to {p}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise OutputError(f"cannot write the report to {p}: permission denied")


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` readable by its owner only, replacing it in one step."""
    p = path.expanduser()
    check_writable(p)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.part")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise OutputError(f"cannot write the report to {p}: {e.strerror or e}") from None


def export_event(kind: str, session_id: int, *, what: str, where: str, author: str | None,
                 now: float, data: bytes | None = None, **extra: Any) -> Event:
    """The event that says a copy of the record left it (kind `export.<what kind>`)."""
    payload: dict[str, Any] = {"what": what, "where": where, **extra}
    if data is not None:
        payload["bytes"] = len(data)
        payload["file_sha256"] = hashlib.sha256(data).hexdigest()
    payload["summary"] = f"{what} saved to {where}" + (f" by {author}" if author else "")
    return Event(kind, now, payload, session_id=session_id, author=author, recorded=now)


def record_export(conn: sqlite3.Connection, ev: Event) -> None:
    """Append the export event on a writable connection (autocommit, as `open_db` gives),
    committed with a full sync before returning."""
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        insert_events(conn, [ev])
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
