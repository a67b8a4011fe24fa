"""Checks on every row before the writer thread hands it to SQLite.

One bad value must never stop the record: a unit number too large for SQLite's integer used to
kill the writer thread, a NaN waveform rate made every later commit fail. Each function here
returns None for a row that can be written, or a short reason (plain words, for the quarantine
and the log) for one that cannot; the writer sets such a row aside instead of writing it.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from devices.reading import Quality, Reading, WaveChunk

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_WAVE_RATE_HZ = 10_000.0  # no bedside waveform is sampled faster than this
MAX_WAVE_SAMPLES = 1_000_000  # one chunk, far more than a second at any sane rate
MAX_TEXT = 10_000  # source names, kinds, uids, authors: never longer than this
KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")  # e.g. dose.given, score.moaas
_QUALITIES = {int(q) for q in Quality}


def _int_problem(name: str, v: object, *, optional: bool = False) -> str | None:
    if v is None and optional:
        return None
    if isinstance(v, bool) or not isinstance(v, int | np.integer):
        return f"{name} is not a whole number ({type(v).__name__})"
    if not INT64_MIN <= int(v) <= INT64_MAX:
        return f"{name} {int(v)} does not fit a database integer"
    return None


def _time_problem(name: str, v: object, *, optional: bool = False) -> str | None:
    if v is None and optional:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
        return f"{name} is not a number ({type(v).__name__})"
    if not math.isfinite(float(v)):
        return f"{name} is not a finite number ({v})"
    return None


def _text_problem(name: str, v: object, *, optional: bool = False) -> str | None:
    if v is None and optional:
        return None
    if not isinstance(v, str):
        return f"{name} is not text ({type(v).__name__})"
    if len(v) > MAX_TEXT:
        return f"{name} is {len(v)} characters long"
    return None


def _first(*problems: str | None) -> str | None:
    return next((p for p in problems if p is not None), None)


def reading_problem(session_id: object, r: Reading) -> str | None:
    """Why this reading cannot be stored as it is, or None.

    NaN is the decoders' "no value" and is stored as NULL; an infinite value is not a
    measurement and is set aside with the rest of the row, not silently turned into one.
    """
    value = r.value
    value_problem = None
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer
                                                     | np.floating):
            value_problem = f"value is not a number ({type(value).__name__})"
        elif math.isinf(float(value)):
            value_problem = f"value is not a finite number ({value})"
    quality = r.quality
    return _first(
        _int_problem("session", session_id),
        _time_problem("time", r.t),
        _text_problem("source", r.source),
        _int_problem("parameter code", r.code),
        value_problem,
        _int_problem("unit code", r.unit, optional=True),
        None if isinstance(quality, int) and int(quality) in _QUALITIES
        else f"quality {quality!r} is not a known quality",
        _time_problem("device time", r.device_time, optional=True),
        _text_problem("reason", r.reason, optional=True),
    )


def wave_problem(session_id: object, w: WaveChunk) -> str | None:
    """Why this waveform chunk cannot be stored (a NaN or absurd rate, bad times), or None."""
    rate = w.rate_hz
    rate_problem = _time_problem("sample rate", rate)
    if rate_problem is None and not 0 < float(rate) <= MAX_WAVE_RATE_HZ:
        rate_problem = f"sample rate {rate} Hz is outside 0–{MAX_WAVE_RATE_HZ:g} Hz"
    samples_problem = None
    try:
        arr = np.asarray(w.samples, dtype=np.float32)
        if arr.ndim != 1:
            samples_problem = f"samples have {arr.ndim} dimensions, not one"
        elif arr.size > MAX_WAVE_SAMPLES:
            samples_problem = f"{arr.size} samples in one chunk"
    except (TypeError, ValueError, OverflowError) as e:
        samples_problem = f"samples are not numbers ({e})"
    quality = w.quality
    return _first(
        _int_problem("session", session_id),
        _time_problem("start time", w.t0),
        _text_problem("source", w.source),
        _int_problem("waveform code", w.code),
        rate_problem,
        samples_problem,
        None if isinstance(quality, int) and int(quality) in _QUALITIES
        else f"quality {quality!r} is not a known quality",
    )


def event_problem(row: dict[str, Any]) -> str | None:
    """Why this event row (see `Event.row`) cannot be stored, or None."""
    kind = row.get("kind")
    kind_problem = _text_problem("kind", kind)
    if kind_problem is None and not KIND.match(str(kind)):
        kind_problem = f"kind {str(kind)[:60]!r} is not a dotted lower-case name"
    return _first(
        _text_problem("uid", row.get("uid")),
        None if row.get("uid") else "uid is empty",
        kind_problem,
        _int_problem("session", row.get("session_id"), optional=True),
        _time_problem("time", row.get("t")),
        _time_problem("recorded time", row.get("recorded")),
        _text_problem("author", row.get("author"), optional=True),
        _text_problem("refers_to", row.get("refers_to"), optional=True),
        None if isinstance(row.get("payload"), str) else "payload is not JSON text",
    )
