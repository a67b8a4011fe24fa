"""Scales and measures as numbers with their ranges; no copyrighted item texts are kept.

Parsing turns what a clinician typed into a number or a `NoteError` worded for the bedside,
so a slip (7 on a 0–5 scale, "4,5", an empty box) is caught before it enters the record.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from console.core import when


class NoteError(ValueError):
    """Input the record cannot take, explained in plain words for the person typing."""


@dataclass(frozen=True, slots=True)
class Scale:
    key: str  # stored in the event kind / payload
    label: str  # what a clinician calls it
    low: float
    high: float
    whole: bool = True  # whole numbers only
    note: str = ""

    def parse(self, text: str | float | int) -> float | int:
        """The value typed, or a NoteError that says the allowed range."""
        rng = f"{_fmt(self.low)} to {_fmt(self.high)}"
        if isinstance(text, int | float) and not isinstance(text, bool):
            value = float(text)
        else:
            s = str(text).strip().replace(",", ".")
            if not s:
                raise NoteError(f"Type a {self.label} value ({rng}).")
            try:
                value = float(s)
            except ValueError:
                raise NoteError(
                    f"“{text}” is not a number. {self.label} is a number from {rng}."
                ) from None
        if not math.isfinite(value):
            raise NoteError(f"{self.label} is a number from {rng}.")
        if self.whole and value != int(value):
            raise NoteError(f"{self.label} is a whole number from {rng}; “{text}” is not.")
        if not self.low <= value <= self.high:
            raise NoteError(
                f"{self.label} goes from {rng}; {_fmt(value)} is outside that. Check the score."
            )
        return int(value) if self.whole else value


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


# Session scores (kind `score.<key>`).
SCORES: dict[str, Scale] = {
    "moaas": Scale("moaas", "MOAA/S", 0, 5, note="sedation: 5 responds readily to name"),
    "cadss": Scale("cadss", "CADSS total", 0, 92, note="23 items 0–4"),
    "cadss6": Scale("cadss6", "CADSS-6 total", 0, 24, note="items 1, 2, 6, 7, 15, 22"),
    "rass": Scale("rass", "RASS", -5, 4),
}

# Discharge criteria (score out of 10 unless the clinic's own).
DISCHARGE: dict[str, Scale] = {
    "aldrete": Scale("aldrete", "Modified Aldrete", 0, 10),
    "padss": Scale("padss", "PADSS", 0, 10),
}

# Outcome measures across a course (kind `outcome.measure`); clinics add their own.
MEASURES: dict[str, Scale] = {
    "PHQ-9": Scale("PHQ-9", "PHQ-9", 0, 27),
    "GAD-7": Scale("GAD-7", "GAD-7", 0, 21),
    "ESAS-r": Scale("ESAS-r", "ESAS-r total", 0, 90, note="nine 0–10 ratings"),
    "PCL-5": Scale("PCL-5", "PCL-5", 0, 80),
}


def measures(custom: dict[str, object] | None = None) -> dict[str, Scale]:
    """Built-in measures plus the clinic's own {name: [low, high]} from the settings."""
    out = dict(MEASURES)
    for name, rng in (custom or {}).items():
        if isinstance(rng, list | tuple) and len(rng) == 2:
            lo, hi = float(rng[0]), float(rng[1])
            out[name] = Scale(name, name, lo, hi, whole=False)
    return out


def parse_number(label: str, text: str, low: float, high: float) -> float:
    """A free number within a plausible range (mg, hours)."""
    return Scale(label, label, low, high, whole=False).parse(text)


def parse_clock(text: str, now: float) -> float:
    """“14:35” today (local time) as epoch seconds; a time in the future is refused.

    The same reader as the dose's time field (`core/when.py`), without "minutes ago": in a
    note, "10" could as well be ten o'clock."""
    s = text.strip().replace(".", ":")
    try:
        t = when.parse_when(text, now, minutes_ago=False) if text.strip() else math.nan
    except when.WhenError:
        t = math.nan
    if t != t:  # an empty field or not a time
        raise NoteError(f"“{text}” is not a time. Type it as hours:minutes, e.g. 14:35.")
    if t > now + 60:
        raise NoteError(f"{s} is later than now. An entry can refer to an earlier time only.")
    return float(t)


def clock_text(t: float) -> str:
    return time.strftime("%H:%M", time.localtime(t))
