"""How far this room's copy on the central server has got, in the nurse's words.

A plain object (no Qt) handed to the window's status bar through a callback, written to the
SQLite file for `holdspace sync-status`, and sent to the server's `rooms` row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


def clock_text(t: float) -> str:
    """14:02 today, or 2026-12-01 14:02 for an earlier day."""
    lt = time.localtime(t)
    if time.strftime("%Y-%m-%d", lt) == time.strftime("%Y-%m-%d"):
        return time.strftime("%H:%M", lt)
    return time.strftime("%Y-%m-%d %H:%M", lt)


def age_text(seconds: float) -> str:
    s = max(0.0, seconds)
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 48 * 3600:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.0f} days"


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """The replicator's state at one moment."""

    room: str
    server: str  # the address without its password
    connected: bool = False
    behind_rows: int | None = None  # None until the file has been looked at
    behind_seconds: float = 0.0
    last_error: str | None = None  # the problem in plain words, None when all is well
    error_since: float | None = None  # wall time the problem began
    last_push: float | None = None  # wall time of the last commit on the server
    stopped: bool = False  # the replicator has ended (the console is closing): `connected`
    # then tells whether its last attempt reached the server

    @property
    def caught_up(self) -> bool:
        return self.connected and self.last_error is None and self.behind_rows == 0

    def short(self) -> str:
        """A few words for the status bar."""
        if self.last_error is not None:
            since = f" since {clock_text(self.error_since)}" if self.error_since else ""
            return f"Central: not sending{since} — recording locally"
        if not self.connected:
            return "Central: connecting…"
        if self.behind_rows:
            return (f"Central: sending, {self.behind_rows:,} rows behind "
                    f"({age_text(self.behind_seconds)})")
        return "Central: up to date"

    def sentence(self) -> str:
        """The whole state in one or two sentences (tooltip, `sync-status`)."""
        behind = ""
        if self.behind_rows:
            behind = (f" {self.behind_rows:,} rows (the oldest {age_text(self.behind_seconds)} "
                      "old) are waiting to be sent.")
        if self.stopped and self.behind_rows:
            return (f"{self.behind_rows:,} rows of {self.room!r} (the oldest "
                    f"{age_text(self.behind_seconds)} old) are not on the central server yet"
                    + (f" ({self.last_error})" if self.last_error else "")
                    + "; they are sent the next time Holdspace runs with sync on this database.")
        if self.last_error is not None:
            return f"{self.last_error}{behind}"
        if not self.connected:
            return f"Connecting to the central server {self.server} as {self.room!r}.{behind}"
        if self.behind_rows:
            return f"Sending {self.room!r} to the central server {self.server}:{behind}"
        return f"Everything from {self.room!r} is up to date on the central server {self.server}."
