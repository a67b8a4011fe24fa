"""When backups are made, where to, and what is said about them.

Each backup goes to two places: the workstation's own `backups/` beside the database, and the
clinic's chosen folder (workstation setting `backup.folder`: a folder on a USB disk or
a network share). Made at the end of each session, once a day (at start when the newest copy
is older than a day, and at midnight while running), and on demand (`holdspace backup`).

`BackupService` does this on a thread of its own with its own read connection (the backup
API copies from it), so neither the GUI nor the database writer ever waits for a backup; its
messages go through `say` (the window posts them to the status bar). Every verified copy is
recorded as an `export.backup` event (core/exports/export_events.py). A missing chosen folder
is said in words ("plug in the backup disk") while the copy on the workstation is still made.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from console.core.config import Config
from console.core.exports.export_events import CONSOLE, Export, record
from console.core.observers import Observers
from console.core.settings import BackupSettings
from console.store import allocator
from console.store.backup import (
    BackupError,
    Copy,
    SourceDamaged,
    backups_dir,
    check_folder,
    list_backups,
    make_backup,
)
from console.store.writer import StoreWriter

log = logging.getLogger("holdspace.backup")
DAY_S = 24 * 3600
SAVE_TIMEOUT_S = 20.0


def chosen_folder(config: Config) -> Path | None:
    """The clinic's backup folder from the workstation settings, or None."""
    folder = config.section(BackupSettings).folder
    return Path(folder).expanduser() if folder.strip() else None


@dataclass
class BackupRun:
    why: str
    copies: list[Copy] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one sentence each
    local: Path | None = None  # the workstation's own backups folder

    @property
    def ok(self) -> bool:
        return not self.problems

    def told(self) -> str:
        """One line for a status bar: what was made, or what went wrong."""
        if self.problems:
            return " ".join(self.problems)
        where = " and ".join("on this computer" if c.path.parent == self.local else
                             f"in {c.path.parent}" for c in self.copies)
        return f"Backup made and checked at {time.strftime('%H:%M')}: {where}."


def backup_everywhere(db_path: Path, folder: Path | None, why: str,
                      now: float | None = None) -> BackupRun:
    """A verified copy in the workstation's `backups/` and one in the chosen folder."""
    local = backups_dir(db_path)
    run = BackupRun(why, local=local)
    try:
        run.copies.append(make_backup(db_path, local, why, now, create=True))
    except SourceDamaged as e:
        run.problems.append(str(e))
        return run  # the same again for the chosen folder would add nothing
    except BackupError as e:
        run.problems.append(str(e))
    if folder is not None:
        try:
            check_folder(folder, local if run.copies else None)
            run.copies.append(make_backup(db_path, folder, why, now))
        except BackupError as e:
            run.problems.append(str(e))
    return run


def backup_export(copy: Copy, why: str, by: str | None, via: str,
                  after_session: int | None = None) -> Export:
    detail: dict[str, object] = {"reason": why, "bytes": copy.size,
                                 "verified": "integrity_check ok",
                                 "thinned": [p.name for p in copy.thinned]}
    if after_session is not None:
        detail["after_session"] = after_session
    return Export("backup", [copy.path], [], dict(copy.counts), by, via, detail)


def newest_age(db_path: Path, now: float) -> float | None:
    """Seconds since the newest backup on the workstation, or None when there is none."""
    found = list_backups(backups_dir(db_path), db_path)
    return now - found[0].t if found else None


def seconds_to_midnight(now: float) -> float:
    d = dt.datetime.fromtimestamp(now)
    nxt = dt.datetime.combine(d.date() + dt.timedelta(days=1), dt.time())
    return max(0.0, nxt.timestamp() - now)


_STOP = object()


class BackupService:
    """Backups at session end and daily, on a thread of their own."""

    def __init__(self, db_path: Path, writer: StoreWriter, folder: Path | None,
                 say: Callable[[str, bool], None], by: Callable[[], str | None],
                 now: Callable[[], float] = time.time, poll_s: float = 300.0,
                 start_delay_s: float = 60.0) -> None:
        self.db_path = db_path
        self.writer = writer
        self.folder = folder
        self.say = say  # (message, is_problem); called on the backup thread
        self.by = by
        self.now = now
        self.poll_s = poll_s  # how often the date is looked at (a clock change, a suspend)
        # The start-up check waits a little: the room is being set up, the disk is busy.
        self.start_delay_s = start_delay_s
        self.finished: Observers[BackupRun] = Observers()  # on the backup thread
        self._q: queue.Queue[object] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="holdspace-backup", daemon=True)
        self._day = dt.date.fromtimestamp(now())

    def start(self) -> None:
        """Start the thread; after `start_delay_s`, a backup if the newest is a day old."""
        self._thread.start()
        if self.start_delay_s <= 0:
            self._q.put(("start", None))
            return
        timer = threading.Timer(self.start_delay_s, lambda: self._q.put(("start", None)))
        timer.daemon = True
        timer.start()

    def session_ended(self, session_id: int) -> None:
        self._q.put(("session", session_id))

    def backup_now(self) -> None:
        self._q.put(("manual", None))

    def wake(self) -> None:
        """Look at the date now (after a clock change; tests)."""
        self._q.put(None)

    def stop(self, timeout: float = 60.0) -> None:
        """Let a backup under way finish (it is one consistent copy), then stop."""
        self._q.put(_STOP)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            wait = min(self.poll_s, seconds_to_midnight(self.now()) + 0.5)
            try:
                job = self._q.get(timeout=wait)
            except queue.Empty:
                job = None
            if job is _STOP:
                return
            try:
                self._do(job)
            except Exception:  # a bug here must not end the backups or the console
                log.exception("backup failed unexpectedly")
                with contextlib.suppress(Exception):
                    self.say("A backup failed unexpectedly; details for support are in the "
                             "log.", True)

    def _do(self, job: object) -> None:
        if job is None:
            self.tick()
            return
        assert isinstance(job, tuple)
        what, session_id = job
        if what == "start":
            self.check_daily()
        elif what == "session":
            self.run("session", session_id)
        elif what == "manual":
            self.run("manual")

    def tick(self) -> BackupRun | None:
        """The daily backup when midnight has passed since the last look."""
        today = dt.date.fromtimestamp(self.now())
        if today == self._day:
            return None
        self._day = today
        return self.run("daily")

    def check_daily(self) -> BackupRun | None:
        """At start: a backup now when the newest on the workstation is a day old (or none)."""
        age = newest_age(self.db_path, self.now())
        return self.run("daily") if age is None or age >= DAY_S else None

    def run(self, why: str, after_session: int | None = None) -> BackupRun:
        """Make the copies, record them, and say how it went (on the calling thread)."""
        result = backup_everywhere(self.db_path, self.folder, why, self.now())
        futures = []
        for c in result.copies:
            futures += record(self.writer, backup_export(c, why, self.by(), CONSOLE,
                                                         after_session), self.now())
        for f in futures:
            try:
                f.result(SAVE_TIMEOUT_S)
            except Exception as e:
                result.problems.append(f"A backup was made but could not be noted in the "
                                       f"record ({e}).")
        for c in result.copies:
            log.info("backup %s: %s (%d bytes, %.1f s)", why, c.path, c.size, c.seconds)
        allocator.release()  # the copy and its check freed megabytes: hand them back
        self.say(result.told(), not result.ok)
        self.finished.emit(result)
        return result
