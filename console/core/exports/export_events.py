"""Every export, report and backup is an event: the record shows what left it.

One helper for all of them (CSV, .vital, the PDF report, the REMS form, FHIR, backups): an
`Export` says what was made (`what`: "csv", "vital", "report", "backup", …), where it went,
which sessions it holds, how much, and who made it; `export_events` turns it into
`export.<what>` events. An export of sessions writes one event into each session, so each
session's own record lists it; one of the whole database (a backup) writes one event outside
any session.

Events go through the StoreWriter like every other event and count only once committed:
`record(writer, …)` returns the Futures (in the window: wait off the GUI thread);
`record_now(db_path, …)` is for the command line, where no console is running: a short-lived
StoreWriter, the same path `holdspace record` writes through, stopped once the events are
committed.
"""

from __future__ import annotations

import getpass
import re
import socket
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from console.core.exports.output import ExportError
from console.store.db import StoreError
from console.store.events import Event
from console.store.writer import StoreWriter

WHAT = re.compile(r"^[a-z][a-z0-9_]*$")
COMMAND_LINE = "command line"
CONSOLE = "console"
SAVE_TIMEOUT_S = 20.0

TITLES = {"csv": "CSV export", "vital": ".vital export", "backup": "Backup",
          "report": "Session report (PDF)", "rems_form": "REMS Patient Monitoring Form (PDF)",
          "fhir": "FHIR R4 bundle (JSON)"}


def login_name() -> str:
    """Who is at this computer, for exports made from the command line."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "unknown user"


@dataclass(frozen=True)
class Export:
    what: str  # "csv", "vital", "backup", "report", …: the event is `export.<what>`
    files: Sequence[Path]  # where it went
    sessions: Sequence[int]  # the sessions it holds; empty: the whole database
    counts: Mapping[str, int]  # e.g. {"readings": 1234, "events": 56}
    by: str | None  # who made it (the console user, or the login name)
    via: str = COMMAND_LINE  # "command line" or "console"
    detail: Mapping[str, object] = field(default_factory=dict)  # size, sha256, reason, …
    to: str = ""  # where it went when that is not a file (a printer); else the files

    @property
    def title(self) -> str:
        return TITLES.get(self.what, f"{self.what} export")

    @property
    def where(self) -> str:
        return self.to or " and ".join(str(f) for f in self.files)

    def summary(self) -> str:
        title = self.title
        scope = ("the whole database" if not self.sessions else
                 f"session {self.sessions[0]}" if len(self.sessions) == 1 else
                 f"sessions {', '.join(str(s) for s in self.sessions)}")
        counts = ", ".join(f"{n:,} {name}" for name, n in self.counts.items())
        return (f"{title} of {scope}{f' ({counts})' if counts else ''} to {self.where}"
                f" — by {self.by or 'unknown'} ({self.via})")


def export_events(x: Export, now: float) -> list[Event]:
    """The events that record `x`: one per session it holds, or one for the whole database."""
    if not WHAT.match(x.what):
        raise ValueError(f"export kind {x.what!r} is not a lower-case word")
    payload: dict[str, object] = {
        "format": x.what,
        "what": x.title,  # what the report's list of copies shows
        "where": x.where,
        "files": [str(f) for f in x.files],
        "sessions": list(x.sessions),
        "counts": dict(x.counts),
        "by": x.by,
        "via": x.via,
        "login": login_name(),
        "host": socket.gethostname(),
        "summary": x.summary(),
        **dict(x.detail),
    }
    targets: Sequence[int | None] = list(x.sessions) or [None]
    return [Event(f"export.{x.what}", now, dict(payload), session_id=sid, author=x.by)
            for sid in targets]


def record(writer: StoreWriter, x: Export, now: float) -> list[Future[Event]]:
    """Queue the events; each Future resolves once committed (never wait on the GUI thread)."""
    return [writer.append_event(ev) for ev in export_events(x, now)]


def record_and_wait(writer: StoreWriter, x: Export, now: float) -> list[Event]:
    """Record `x` through the console's writer and wait for the commit (on a worker thread,
    never the GUI's); raises ExportError when the record does not take it."""
    futures = record(writer, x, now)
    try:
        return [f.result(SAVE_TIMEOUT_S) for f in futures]
    except Exception as e:  # NotSaved, a timeout: the record does not show it
        raise ExportError(f"the record did not take it ({e}).") from None


def record_now(db_path: Path, x: Export, now: float) -> list[Event]:
    """Record `x` from the command line and wait until it is committed; raises ExportError
    (nothing is recorded) when the database cannot take it."""
    return commit_now(db_path, export_events(x, now))


def commit_now(db_path: Path, events: Sequence[Event]) -> list[Event]:
    """Append events through a short-lived StoreWriter (the path `holdspace record` writes
    through) and wait for their commit; raises ExportError when they cannot be stored."""
    writer = StoreWriter(str(db_path))
    try:
        writer.start()
    except StoreError as e:
        raise ExportError(f"the record cannot take it: {e}") from None
    try:
        futures = [writer.append_event(ev) for ev in events]
        try:
            return [f.result(SAVE_TIMEOUT_S) for f in futures]
        except Exception as e:  # NotSaved, a timeout: the record does not show it
            raise ExportError(f"the record in {db_path} did not take it ({e}).") from None
    finally:
        writer.stop()
