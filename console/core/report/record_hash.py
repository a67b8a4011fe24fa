"""The record hash printed on every report page: SHA-256 over a session's events in order.

Anyone holding the database can recompute it (`session_record_hash`) and compare it with a
printed copy: the same hash means the same events, in the same order, with the same content.
Definition, so it can be reimplemented without Holdspace:

- the session's events ordered by `t`, then by row id (as `session_events` returns them),
  leaving out `export.*` events (they say which copies left the record, and a report cannot
  contain its own export);
- for each, the JSON array `[uid, session_id, t, recorded, kind, author, payload, refers_to]`
  with `payload` the stored JSON text (keys sorted, non-ASCII kept), written with
  `json.dumps(..., ensure_ascii=False, separators=(",", ":"))`, encoded as UTF-8 and followed
  by a newline byte;
- the SHA-256 of those bytes, in lower-case hex.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from console.store import engine
from console.store.events import Event, session_events

EXCLUDED_PREFIXES = ("export.",)
FIELDS = ("uid", "session_id", "t", "recorded", "kind", "author", "payload", "refers_to")


def hashed(e: Event) -> bool:
    return not e.kind.startswith(EXCLUDED_PREFIXES)


def record_hash(events: Iterable[Event]) -> str:
    """SHA-256 (hex) of the events, in the order given (see the module's definition)."""
    h = hashlib.sha256()
    for e in events:
        if not hashed(e):
            continue
        row = e.row()
        line = json.dumps([row[k] for k in FIELDS], ensure_ascii=False, separators=(",", ":"))
        h.update(line.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def session_record_hash(conn: engine.Connection, session_id: int) -> str:
    """The hash of the session as stored now."""
    return record_hash(session_events(conn, session_id))


def short(digest: str) -> str:
    """The first 16 hex digits, grouped in fours, for a page footer."""
    return " ".join(digest[i:i + 4] for i in range(0, 16, 4))
