"""A session's stored readings as numpy arrays, read once per code and shared.

Resuming a long session used to read it three times into Python objects (the dose day, the
trend, the timeline: 2.6 s for 8 hours). Here each parameter's rows are read once, by an
index-ordered query (readings_session_code_t gives them in time order, no sort) straight
into arrays; whoever asks next for the same session on the same connection gets the same
arrays, topped up with the rows stored since (read by row id, only those).

    h = session_history(reader, session_id)
    s = h.series(mdc.MDC_ECG_HEART_RATE)   # s.t, s.value (NaN: no value), s.quality, s.code

Every source of the session is in it (a monitor moved to another port mid-session is one
parameter's history, whatever its source was called); a code's aliases (the NIBP cuff
family) are folded into their canonical code as everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from console.store.engine import Connection
from devices import mdc

_ROW = np.dtype([("t", "f8"), ("value", "f8"), ("quality", "i1"), ("code", "i8")])
_READ = np.dtype([("t", "f8"), ("value", "f8"), ("quality", "i1")])  # one code's query


@dataclass(frozen=True)
class Series:
    """One parameter's stored readings in time order (ties in the order they were stored)."""

    t: np.ndarray  # float64 epoch seconds
    value: np.ndarray  # float64; NaN where the monitor sent no value
    quality: np.ndarray  # int8, devices.reading.Quality
    code: np.ndarray  # int64, the code as stored (an alias of the canonical one, or it)

    def __len__(self) -> int:
        return len(self.t)


def _empty() -> np.ndarray:
    return np.empty(0, dtype=_ROW)


def stored_codes(code: int) -> list[int]:
    """Every stored code that means `code` (itself first)."""
    c = mdc.canonical(code)
    return [c, *sorted(k for k, v in mdc.CANONICAL.items() if v == c and k != c)]


def _as_series(rows: np.ndarray) -> Series:
    return Series(rows["t"].copy(), rows["value"].copy(), rows["quality"].copy(),
                  rows["code"].copy())


class SessionHistory:
    """The stored readings of one session, per canonical code, read when first asked for."""

    def __init__(self, conn: Connection, session_id: int) -> None:
        self.conn = conn
        self.session_id = session_id
        row = conn.execute("SELECT MAX(id) FROM readings").fetchone()
        self.up_to_id: int = int(row[0] or 0)  # rows after this one are not in it yet
        self._rows: dict[int, np.ndarray] = {}

    def _read(self, code: int) -> np.ndarray:
        parts = []
        for stored in stored_codes(code):
            cur = self.conn.execute(
                "SELECT t, IFNULL(value, 'nan'), quality FROM readings "
                "WHERE session_id=? AND code=? AND id<=? ORDER BY t",
                (self.session_id, stored, self.up_to_id))
            got = np.fromiter(cur, dtype=_READ)
            rows = np.empty(len(got), dtype=_ROW)
            rows["t"], rows["value"], rows["quality"] = got["t"], got["value"], got["quality"]
            rows["code"] = stored
            parts.append(rows)
        rows = parts[0] if len(parts) == 1 else np.concatenate(parts)
        if len(parts) > 1 and len(rows) > 1:
            rows = rows[np.argsort(rows["t"], kind="stable")]
        return rows

    def series(self, code: int) -> Series:
        """All of `code`'s readings (its aliases included) stored up to `up_to_id`."""
        c = mdc.canonical(code)
        rows = self._rows.get(c)
        if rows is None:
            rows = self._rows[c] = self._read(c)
        return _as_series(rows)

    def catch_up(self) -> None:
        """Add the rows stored since this history was read (row id order: only the new ones
        are read)."""
        newest = int(self.conn.execute("SELECT MAX(id) FROM readings").fetchone()[0] or 0)
        if newest <= self.up_to_id:
            return
        if self._rows:
            # "+session_id": walk the row ids after the last one read, not the session index
            cur = self.conn.execute(
                "SELECT t, IFNULL(value, 'nan'), quality, code FROM readings "
                "WHERE id>? AND id<=? AND +session_id=? ORDER BY id",
                (self.up_to_id, newest, self.session_id))
            new = np.fromiter(cur, dtype=_ROW)
            canon = np.array([mdc.canonical(int(k)) for k in new["code"]], dtype=np.int64)
            for c, old in self._rows.items():
                add = new[canon == c]
                if len(add):
                    rows = np.concatenate([old, add])
                    if len(old) and add["t"].min() < old["t"][-1]:
                        rows = rows[np.argsort(rows["t"], kind="stable")]
                    self._rows[c] = rows
        self.up_to_id = newest


_shared: SessionHistory | None = None


def session_history(conn: Connection, session_id: int) -> SessionHistory:
    """The session's history, shared by everyone who asks on this connection (the dose day,
    the trend, the timeline): read once, brought up to date at each ask."""
    global _shared
    h = _shared
    if h is not None and h.conn is conn and h.session_id == session_id:
        h.catch_up()
        return h
    h = _shared = SessionHistory(conn, session_id)
    return h
