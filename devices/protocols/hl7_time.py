"""HL7 times (DTM, and TS's first component) to epoch seconds, and back for what we send.

HL7 v2.x Chapter 2A, DTM: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]; any precision from the
year to a ten-thousandth of a second, with or without the sender's UTC offset (without one it
is the local time of the sender, taken here as the host's). Mindray sends milliseconds without
the decimal point, YYYYMMDDHHMMSSfff[+/-ZZZZ] (issue 12, item 6): three digits straight after
the seconds are read as milliseconds. A time that names no real moment (month 13, 30 February)
is None, never a guess.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

_DTM = re.compile(
    r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?"  # year … second
    r"(?:\.(\d{1,6})|(\d{3}))?"  # fraction with a point (HL7), or milliseconds without (Mindray)
    r"([+-]\d{4})?"
)


def parse_hl7_time(text: str) -> float | None:
    """An HL7 DTM/TS value to epoch seconds; local time if it has no zone; None if unreadable."""
    m = _DTM.fullmatch(text.strip())
    if not m:
        return None
    y, mo, d, h, mi, s, frac, millis, zone = m.groups()
    if millis is not None and s is None:
        return None  # digits beyond the minutes without seconds before them: not a DTM
    if (frac or millis) and s is None:
        return None
    try:
        tz = None
        if zone:
            sign = -1 if zone[0] == "-" else 1
            hours, minutes = int(zone[1:3]), int(zone[3:5])
            if hours > 23 or minutes > 59:
                return None
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        dt = datetime(int(y), int(mo or 1), int(d or 1), int(h or 0), int(mi or 0), int(s or 0),
                      tzinfo=tz)
        fraction = float("0." + frac) if frac else (int(millis) / 1000 if millis else 0.0)
        return dt.timestamp() + fraction
    except (ValueError, OverflowError, OSError):  # no such date, or out of the platform's range
        return None


def format_hl7_time(t: float) -> str:
    """Epoch seconds as DTM in UTC with milliseconds: what our simulators and ACKs send."""
    dt = datetime.fromtimestamp(t, UTC)
    return dt.strftime("%Y%m%d%H%M%S") + f".{dt.microsecond // 1000:03d}+0000"
