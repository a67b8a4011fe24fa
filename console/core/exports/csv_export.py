"""CSV of a session's (or several sessions') readings and events, for a spreadsheet or a study.

Two files, each one tidy table that a spreadsheet or pandas reads as it is:
- `FILE.csv`, the readings: one row per stored reading, in time order per session;
- `FILE.events.csv`, the events: doses, notes, scores, alarms, link states, earlier exports.
Times are given twice: ISO 8601 in the workstation's local time with its UTC offset, and as
epoch seconds (UTC). Waveforms (pleth) are not in the CSV: they go to the `.vital` export.
Rows are streamed from SQLite to the file, so a long session never sits in memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from console.core.exports.output import PrivateOutput
from console.store import engine
from devices import mdc
from devices.reading import Quality

READING_COLUMNS = ("time", "epoch_s", "session", "source", "parameter", "mdc_code", "mdc_name",
                   "value", "unit", "mdc_unit", "quality", "reason", "device_time")
EVENT_COLUMNS = ("time", "epoch_s", "session", "kind", "author", "summary", "refers_to", "uid",
                 "recorded", "payload")


def iso_local(t: float | None) -> str:
    """ISO 8601 with the local UTC offset, to the millisecond: 2025-03-14T09:12:03.250+01:00."""
    if t is None:
        return ""
    return dt.datetime.fromtimestamp(t).astimezone().isoformat(timespec="milliseconds")


def quality_word(q: int) -> str:
    try:
        return Quality(q).name.lower()
    except ValueError:
        return f"unknown ({q})"


def number(v: float | None) -> str:
    return "" if v is None else f"{v:.10g}"


def events_path(path: Path) -> Path:
    """`out.csv` → `out.events.csv` (any other name gets `.events.csv` appended)."""
    if path.suffix.lower() == ".csv":
        return path.with_name(path.stem + ".events.csv")
    return path.with_name(path.name + ".events.csv")


@dataclass
class CsvCounts:
    readings: int = 0
    events: int = 0


def _has_reason(conn: engine.Connection) -> bool:
    return any(r[1] == "reason" for r in conn.execute("PRAGMA table_info(readings)"))


def write_readings(conn: engine.Connection, sessions: Sequence[int], out: IO[str]) -> int:
    w = csv.writer(out)
    w.writerow(READING_COLUMNS)
    reason = "reason" if _has_reason(conn) else "NULL"
    n = 0
    for sid in sessions:
        for t, source, code, value, unit, quality, why, device_time in conn.execute(
            f"SELECT t, source, code, value, unit, quality, {reason}, device_time FROM readings "
            "WHERE session_id = ? ORDER BY t, id", (sid,)
        ):
            p = mdc.PARAMETERS.get(code)
            w.writerow((iso_local(t), f"{t:.3f}", sid, source, mdc.label(code), code,
                        p.name if p else "", number(value),
                        mdc.unit_text(unit) if unit is not None else "",
                        "" if unit is None else unit, quality_word(quality), why or "",
                        iso_local(device_time)))
            n += 1
    return n


def write_events(conn: engine.Connection, sessions: Sequence[int], out: IO[str]) -> int:
    w = csv.writer(out)
    w.writerow(EVENT_COLUMNS)
    n = 0
    for sid in sessions:
        for t, recorded, kind, author, payload, refers_to, uid in conn.execute(
            "SELECT t, recorded, kind, author, payload, refers_to, uid FROM events "
            "WHERE session_id = ? ORDER BY t, id", (sid,)
        ):
            try:
                data = json.loads(payload)
            except ValueError:
                data = None
            summary = data.get("summary") if isinstance(data, dict) else None
            w.writerow((iso_local(t), f"{t:.3f}", sid, kind, author or "",
                        summary if isinstance(summary, str) else "", refers_to or "", uid,
                        iso_local(recorded), payload))
            n += 1
    return n


def write_csv(conn: engine.Connection, sessions: Sequence[int], readings: PrivateOutput,
              events: PrivateOutput) -> CsvCounts:
    """Write both files (under their temporary names); raises OSError when the disk refuses."""
    counts = CsvCounts()
    with readings.open_text() as f:
        counts.readings = write_readings(conn, sessions, f)
    with events.open_text() as f:
        counts.events = write_events(conn, sessions, f)
    return counts
