"""Headless recording: readings from the given monitors into a new session, no window.

For machines with no screen, for support, and for tests. Prints one summary line per minute
and ends cleanly at the duration or on Ctrl-C / SIGTERM, closing the session.

Storage trouble is loud: one line on stderr when saving starts failing (a full disk, a
file-size limit, a lock) and one when it works again, however many retries lie between. The
closing line counts what the database itself holds for the session, not what was received,
and says both when they differ; `RecordResult.complete` is then false (exit status 3).
Sessions of an earlier `record` that died (kill -9, power cut) are closed as interrupted at
their last stored data before the new one starts.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from console.core.acquisition import AcquisitionHub, Drained
from console.core.clock import SystemClock
from console.core.config import Config, DeviceConfig, plausible_limits
from console.core.people.roles import DEVICE_AUTHOR
from console.core.vitals.captures import connect
from console.core.vitals_table import shown_codes
from console.replication.replicator import Replicator, SyncSettings
from console.replication.status import SyncStatus
from console.store import engine, owner, records
from console.store.db import BUSY_TIMEOUT_MS, StoreError, explain, open_readonly
from console.store.writer import StoreWriter
from devices import mdc
from devices.link import LinkState
from devices.protocol import Driver
from devices.reading import Reading, WaveChunk


def _summary(counts: dict[int, int], wave_s: float, latest: dict[int, Reading]) -> str:
    return f"{sum(counts.values())} readings, {wave_s:.0f} s of waveform; last: " + _last(latest)


def _last(latest: dict[int, Reading]) -> str:
    bits = []
    for code in shown_codes():
        r = latest.get(code)
        if r is not None and r.quality.displayable and r.value == r.value:
            bits.append(f"{mdc.label(code)} {r.value:g}")
    return ", ".join(bits) or "no valid values"


class StorageWatch:
    """Turns the writer's failed commits (one every flush while the disk refuses) into
    episodes: a line when saving starts failing, a line when rows are stored again."""

    def __init__(self, say: Callable[[str], None], db_path: Path) -> None:
        self.say = say
        self.db_path = db_path
        self.rows_written: Callable[[], int] = lambda: 0
        self.failures = 0  # failed attempts in all
        self.episodes = 0
        self.failing = False
        self._since = 0.0
        self._episode_failures = 0
        self._rows_at_failure = 0
        self._lock = threading.Lock()

    def on_error(self, message: str) -> None:
        """Given to the writer as `on_error`; called on its thread."""
        with self._lock:
            self.failures += 1
            self._episode_failures += 1
            if self.failing:
                return
            self.failing = True
            self.episodes += 1
            self._since = time.monotonic()
            self._rows_at_failure = self.rows_written()
        self.say(f"holdspace: saving failed — {' '.join(message.split())}")

    def poll(self) -> None:
        """Call now and then: notices that rows are being stored again."""
        with self._lock:
            if not self.failing or self.rows_written() <= self._rows_at_failure:
                return
            self.failing = False
            took, n = time.monotonic() - self._since, self._episode_failures
            self._episode_failures = 0
        self.say(f"holdspace: saving to {self.db_path} works again (after {n} failed "
                 f"attempt{'s' if n != 1 else ''} over {took:.0f} s); the data kept meanwhile "
                 "is stored")


@dataclass
class RecordResult:
    session_id: int
    received_readings: int
    received_wave_samples: int
    received_wave_s: float
    stored_readings: int | None  # counted in the database; None if it could not be read
    stored_wave_samples: int | None
    stored_wave_s: float | None
    closed: bool  # the session's end is in the database
    failures: int  # failed attempts to save
    episodes: int  # runs of failures, each reported once
    end_error: str | None = None  # why the end could not be saved

    @property
    def complete(self) -> bool:
        """Everything received is in the database and the session is closed there."""
        return (self.closed and self.stored_readings is not None
                and self.stored_readings >= self.received_readings
                and (self.stored_wave_samples or 0) >= self.received_wave_samples)

    def shortfall(self) -> str:
        """What is missing, in one phrase (for the error line when not complete)."""
        if self.stored_readings is None:
            return "what was stored could not be counted"
        bits = []
        lost = self.received_readings - self.stored_readings
        if lost > 0:
            bits.append(f"{lost} of {self.received_readings} readings could not be stored")
        lost_w = self.received_wave_samples - (self.stored_wave_samples or 0)
        if lost_w > 0:
            bits.append(f"{lost_w} of {self.received_wave_samples} waveform samples could not "
                        "be stored")
        if not self.closed:
            bits.append("the session's end could not be saved"
                        + (f" ({self.end_error})" if self.end_error else ""))
        return "; ".join(bits) or "nothing is missing"

    def closing_line(self) -> str:
        sid = self.session_id
        head = (f"session {sid} closed" if self.closed else
                f"session {sid} stopped (its end could not be saved: it will show as interrupted)")
        if self.stored_readings is None:
            return (f"{head}: received {self.received_readings} readings and "
                    f"{self.received_wave_s:.0f} s of waveform; stored: unknown (the database "
                    "could not be read)")
        if (self.stored_readings == self.received_readings
                and self.stored_wave_samples == self.received_wave_samples):
            return (f"{head}: stored {self.stored_readings} readings and "
                    f"{self.stored_wave_s or 0:.0f} s of waveform")
        return (f"{head}: received {self.received_readings} readings, stored "
                f"{self.stored_readings}; received {self.received_wave_s:.0f} s of waveform, "
                f"stored {self.stored_wave_s or 0:.0f} s")


SYNC_FLUSH_S = 10.0  # at the end, how long the replicator may try to send the rest


def start_sync(db_path: Path, sync: SyncSettings, say: Callable[[str], None],
               warn: Callable[[str], None]) -> Replicator:
    """`record --sync`: a replicator copying the (opened, migrated) file to the central server
    while recording; its problems and recoveries said once each (never the password). Stop it
    with `stop(flush=SYNC_FLUSH_S)` after the last write (the session's end, the backup's
    event), so those go too; what it cannot send is sent by the next run with sync."""
    last: list[str | None] = [None]

    def heard(s: SyncStatus) -> None:  # on the replicator's thread
        if s.last_error != last[0] and not s.stopped:
            if s.last_error is not None:
                warn(f"holdspace: {s.last_error}")
            elif last[0] is not None:
                say(f"central server: reachable again, sending {s.room!r}")
            last[0] = s.last_error

    rep = Replicator(db_path, sync, on_status=heard)
    say(f"sending to the central server {rep.status.server} as room {sync.room!r}"
        + (" (with waveforms)" if sync.waveforms else ""))
    rep.start()
    return rep


def stored_counts(db_path: Path, session_id: int) -> tuple[int, int, float]:
    """(readings, waveform samples, waveform seconds) the database holds for the session."""
    conn, _ = open_readonly(db_path)
    try:
        n = conn.execute("SELECT COUNT(*) FROM readings WHERE session_id=?",
                         (session_id,)).fetchone()[0]
        samples, secs = conn.execute(
            "SELECT COALESCE(SUM(n), 0), COALESCE(SUM(n / rate_hz), 0) FROM waveforms "
            "WHERE session_id=?", (session_id,)).fetchone()
    finally:
        conn.close()
    return int(n), int(samples), float(secs)


def recording(
    db_path: Path,
    devices: list[tuple[Driver, str]],
    patient: str | None = None,
    duration: float | None = None,
    out: TextIO | None = None,
    stop_event: threading.Event | None = None,
    print_every: float = 60.0,
    install_signals: bool = True,
    capture: bool = False,
    err: TextIO | None = None,
) -> RecordResult:
    """Record until `duration` or a signal; raises StoreError if the session cannot start."""
    clock = SystemClock()
    say: Callable[[str], None] = (lambda s: print(s, file=out, flush=True)) if out else (
        lambda s: None)
    err_out = err or out
    warn: Callable[[str], None] = (lambda s: print(s, file=err_out, flush=True)) if err_out \
        else (lambda s: None)
    watch = StorageWatch(warn, db_path)
    writer = StoreWriter(str(db_path), on_error=watch.on_error)
    watch.rows_written = lambda: writer.rows_written
    writer.start()
    owners = owner.SessionOwnership(db_path)
    now = clock.now()

    def _open(c: engine.Connection) -> tuple[int, list[records.Interruption]]:
        found = records.mark_interrupted(c, lambda s: owner.reap(db_path, s), now)
        pid = None
        if patient:
            p = records.find_patient(c, patient)
            pid = p.id if p else records.create_patient(c, patient, now, identifier=patient)
        sid = records.start_session(c, pid, now, title=records.HEADLESS_TITLE,
                                    author=DEVICE_AUTHOR)  # nobody at a keyboard: said so
        owners.claim(sid)  # in the same transaction: never seen unclaimed
        return sid, found

    try:
        sid, found = writer.call(_open).result(BUSY_TIMEOUT_MS / 1000 + 5)
    except BaseException as e:
        writer.stop()
        if isinstance(e, engine.Error):
            raise explain(db_path, e) from None
        if isinstance(e, TimeoutError):
            raise StoreError(f"Another program is using {db_path} — close it (or the other "
                             "Holdspace) and start again.") from None
        if isinstance(e, OSError):
            raise StoreError(f"Cannot write beside {db_path} ({e}).") from None
        raise
    for i in found:
        at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(i.at))
        say(f"session {i.session_id} was interrupted at {at} — {i.reason}; "
            + ("closed there" if i.closed else "the console will offer to resume or end it"))
    hub = AcquisitionHub(writer, clock.now)
    settings = Config.load()
    hub.limits = plausible_limits(settings)
    for problem in settings.problems:
        warn(f"holdspace: {problem.where}: {problem.reason}")
    hub.session_id = sid
    stop = stop_event or threading.Event()
    if install_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    for driver, port in devices:
        problems: list[str] = []
        link = connect(hub, DeviceConfig(driver.name, port, capture), db_path, problems=problems)
        if link.capture is not None:
            say(f"{link.source}: raw bytes captured to {link.capture.name}")
        for p in problems:
            say(p)
    say(f"recording session {sid} into {db_path} — Ctrl-C to stop")
    counts: dict[int, int] = {}
    latest: dict[int, Reading] = {}
    wave = [0.0, 0]  # seconds, samples
    states: dict[str, tuple[LinkState, str]] = {}

    def take(d: Drained) -> None:
        for st in d.statuses:
            if states.get(st.source) != (st.state, st.message):
                states[st.source] = (st.state, st.message)
                say(f"{st.source}: {st.state} — {st.message}")
        for s in d.samples:
            if isinstance(s, Reading):
                counts[s.code] = counts.get(s.code, 0) + 1
                latest[s.code] = s
            elif isinstance(s, WaveChunk):
                wave[0] += s.duration
                wave[1] += len(s.samples)

    start = time.monotonic()
    next_print = start + print_every
    try:
        while not stop.wait(0.2):
            take(hub.drain())
            for line in hub.watchdog():  # a link thread that died is restarted
                warn(f"holdspace: {line}")
            watch.poll()
            t = time.monotonic()
            if t >= next_print:
                say(_summary(counts, wave[0], latest)
                    + (" — not being saved: the database refuses (see above)"
                       if watch.failing else ""))
                next_print += print_every
            if duration is not None and t - start >= duration:
                break
    finally:
        hub.stop()
        take(hub.drain())  # what arrived after the last look went to the writer too
        end = clock.now()
        ended = writer.call(lambda c: records.end_session(c, sid, end, DEVICE_AUTHOR,
                                                          reason="recording finished"))
        writer.stop(timeout=BUSY_TIMEOUT_MS / 1000 + 5)
        watch.poll()
        closed = ended.done() and ended.exception() is None
        end_error = None if closed else (
            str(ended.exception()) if ended.done() else "the database did not answer in time")
        owners.release(sid, ended=closed)
        try:
            stored: tuple[int | None, int | None, float | None] = stored_counts(db_path, sid)
        except (StoreError, engine.Error) as e:
            warn(f"holdspace: could not count what was stored ({e})")
            stored = (None, None, None)
        result = RecordResult(sid, sum(counts.values()), int(wave[1]), wave[0], *stored,
                              closed=closed, failures=watch.failures, episodes=watch.episodes,
                              end_error=end_error)
        say(result.closing_line() + "; last: " + _last(latest))
        if not result.complete:
            warn(f"holdspace: error: {result.shortfall()} in {db_path}")
    return result
