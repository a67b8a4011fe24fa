"""When something happened, as typed: the one reader for every "time" field.

A clock time ("14:05", "14.05", "14h05") is today at that time, local; "14.05" is a clock
time in every field, never 14.05 minutes ago. Where a field also
takes minutes ago ("10", "-10", "10 min ago": the dose and manual-vitals field, whose hint
says so) the caller asks for it; a note's time field does not, because there "10" could as
well mean ten o'clock. Each caller turns `WhenError` into its own kind of message.
"""

from __future__ import annotations

import re
from datetime import datetime

_MINUTES_AGO = re.compile(r"-?\s*(\d+(?:[.,]\d+)?)\s*(?:m|min|mins|minutes)?(?:\s*ago)?")
_CLOCK = re.compile(r"(\d{1,2})\s*[:.h]\s*(\d{1,2})")


class WhenError(ValueError):
    """Typed text that is not a time; the message says what is wrong, in words."""


def parse_when(text: str, now: float, *, minutes_ago: bool) -> float:
    """Epoch seconds for `text`: '' or 'now' is `now`; hh:mm is today; minutes ago if allowed.

    Raises WhenError for anything else, and for an hour or minute that does not exist."""
    s = text.strip().lower()
    if not s or s == "now":
        return now
    m = _CLOCK.fullmatch(s)
    # "14.05" is five past two, not 14.05 minutes ago; "10.5" is minutes ago.
    ago = _MINUTES_AGO.fullmatch(s) if minutes_ago else None
    if ago and not (m and len(m.group(2)) == 2):
        return now - float(ago.group(1).replace(",", ".")) * 60.0
    if m:
        hh, mm = int(m.group(1)), int(m.group(2))
        if hh > 23 or mm > 59:
            raise WhenError(f"“{text.strip()}” is not a time of day. Use 24-hour hh:mm.")
        day = datetime.fromtimestamp(now).astimezone()
        return day.replace(hour=hh, minute=mm, second=0, microsecond=0).timestamp()
    raise WhenError(f"“{text.strip()}” is not a time.")
