"""Rows the database refused, set aside instead of lost.

A row that fails the writer's checks or that SQLite still refuses (a broken constraint, a
value it cannot bind) goes into the `quarantine` table as JSON text with the reason, in the
same transaction as the good rows around it. If even that cannot be written, the row goes to
a file beside the database (`<db>.quarantine.jsonl`, readable by its owner only).
Patient data stay in the database folder: only the reason and the kind of row are logged.
"""

from __future__ import annotations

import base64
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from console.store.engine import Connection

MAX_DEPTH = 50


def jsonable(obj: Any, depth: int = 0) -> Any:
    """Anything as plain JSON values, keeping as much of it as can be read back."""
    if depth > MAX_DEPTH:
        return repr(obj)[:1000]
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        f = float(obj)
        return f if math.isfinite(f) else repr(f)  # "nan", "inf": JSON has no such numbers
    if isinstance(obj, bytes):
        return {"base64": base64.b64encode(obj).decode("ascii")}
    if isinstance(obj, np.ndarray):
        return [jsonable(x, depth + 1) for x in obj.tolist()]
    if isinstance(obj, dict):
        return {str(k): jsonable(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [jsonable(x, depth + 1) for x in obj]
    return repr(obj)[:10_000]


def content_text(obj: Any) -> str:
    return json.dumps(jsonable(obj), ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True, slots=True)
class Quarantined:
    t: float
    what: str  # reading, waveform, event
    session_id: int | None
    reason: str
    content: str

    def row(self) -> dict[str, Any]:
        return {"t": self.t, "what": self.what, "session_id": self.session_id,
                "reason": self.reason, "content": self.content}


def set_aside(conn: Connection, q: Quarantined) -> None:
    """Inside the caller's transaction."""
    conn.execute(
        "INSERT INTO quarantine (t, what, session_id, reason, content) "
        "VALUES (:t, :what, :session_id, :reason, :content)",
        q.row(),
    )


def beside_path(db_path: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(db_path)}.quarantine.jsonl")


def write_beside(db_path: str | os.PathLike[str], rows: list[Quarantined]) -> Path:
    """The last resort when the quarantine table itself cannot take a row."""
    path = beside_path(db_path)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        for q in rows:
            f.write(json.dumps(q.row(), ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return path


def quarantined(conn: Connection) -> list[Quarantined]:
    """Everything set aside, oldest first."""
    return [Quarantined(*r) for r in conn.execute(
        "SELECT t, what, session_id, reason, content FROM quarantine ORDER BY id")]
