"""The one thread that writes to the database, built so that it cannot die or wedge.

Readings arrive many times a second from the device links; they are queued and committed in
small batches (every `flush_interval`, 0.25 s by default), so a kill -9 loses well under a
second. Waveform samples are gathered into rows of about one second each (a compact float32
array per row, not a row per sample). Any other write (create a patient, start a session)
is a `call` run in order on this thread; the caller gets a Future.

Durable acknowledgement. `append_event` returns a Future that is resolved with the event only
after the transaction holding it has COMMITted; until then the event is not confirmed and a
UI must show it as "saving". Events are committed as soon as they arrive (a burst shares one
commit). The writer's connection runs with `synchronous=FULL`, so a confirmed event has been
synced to the disk and survives a power cut, not only a crash. FULL is set for the whole
connection rather than toggled for event commits because readings usually share a commit with
events anyway, `PRAGMA synchronous` can only change between transactions (a toggle would add
two statements to every commit and a path where an event slips into a NORMAL commit), and the
price is small: readings still commit in 0.25 s batches, i.e. at most four syncs a second,
which also makes the readings themselves power-safe.

Nothing is lost, nothing wedges:
- every row is checked before it is written (`row_checks`: finite numbers, integers SQLite
  can hold, known qualities and kinds, a sane waveform rate); a row that fails, or that
  SQLite still refuses (a broken constraint), is found by bisecting the batch and set aside
  in the `quarantine` table (`quarantine.py`) in the same transaction as the good rows; it is
  reported once and the rest goes on. A refused event's Future fails with `NotSaved`;
- a failure of the disk or the file (full, a file-size limit, locked by another program,
  read-only) keeps everything in memory and retries; `on_error` hears once per episode and
  `on_recovered` when saving works again;
- a bug inside the loop is logged and the loop goes on; if the thread dies anyway, a
  watchdog thread restarts it with everything still queued, logs it and reports it;
- at `stop`, whatever still cannot be written goes to a file beside the database.
`on_error` and `on_recovered` are called on the writer thread: forward them to the GUI thread.
Future callbacks also run on the writer thread and must be quick.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from console.store import chain, owner
from console.store.db import open_db
from console.store.events import INSERT_SQL as EVENT_SQL
from console.store.events import Event, stored_row
from console.store.quarantine import Quarantined, content_text, set_aside, write_beside
from console.store.row_checks import event_problem, reading_problem, wave_problem
from devices.reading import Reading, Sample, WaveChunk

T = TypeVar("T")
WAVE_ROW_SECONDS = 1.0
MAX_RETRY_S = 2.0  # a full disk is tried again at least this often
DRAIN_MAX = 2000  # items taken from the queue before a commit is considered
STOP_ATTEMPTS = 3  # final tries at stop before the rest goes to the file beside the db
log = logging.getLogger("holdspace.store")

READING_COLS = ("session_id", "t", "source", "code", "value", "unit", "quality",
                "device_time", "reason")
READING_SQL = (f"INSERT INTO readings ({', '.join(READING_COLS)}) "
               f"VALUES ({','.join('?' * len(READING_COLS))})")
WAVE_SQL = ("INSERT INTO waveforms (session_id, source, code, t0, rate_hz, n, samples, "
            "quality) VALUES (:session_id, :source, :code, :t0, :rate_hz, :n, :samples, "
            ":quality)")


class NotSaved(Exception):
    """An event that is not in the database; the message says so for the person at the
    console. Its content is in the quarantine (table or file), never thrown away."""


@dataclass
class _WaveBuffer:
    session_id: int
    source: str
    code: int
    rate_hz: float
    t0: float
    quality: int
    parts: list[np.ndarray] = field(default_factory=list)
    n: int = 0

    def end(self) -> float:
        return self.t0 + self.n / self.rate_hz

    def row(self) -> dict[str, Any]:
        data = np.concatenate(self.parts).astype("<f4")
        return {
            "session_id": self.session_id,
            "source": self.source,
            "code": self.code,
            "t0": self.t0,
            "rate_hz": self.rate_hz,
            "n": int(data.size),
            "samples": data.tobytes(),
            "quality": self.quality,
        }


@dataclass
class _PendingEvent:
    event: Event
    future: Future[Event]
    row: dict[str, Any]  # snapshot taken on the caller's thread
    problem: str | None  # why it cannot be written as it is, or None


def _event_row(ev: Event) -> tuple[dict[str, Any], str | None]:
    """The row to insert (a snapshot: later changes to the payload dict do not leak in)."""
    try:
        row = ev.row()
    except (TypeError, ValueError, RecursionError) as e:
        row = {"uid": ev.uid, "session_id": ev.session_id, "t": ev.t,
               "recorded": ev.recorded if ev.recorded is not None else ev.t, "kind": ev.kind,
               "author": ev.author, "payload": content_text(ev.payload),
               "refers_to": ev.refers_to}
        return row, f"its content cannot be saved as JSON ({type(e).__name__}: {e})"[:300]
    return row, event_problem(row)


def _row_error(e: BaseException) -> bool:
    """True when the row itself is the cause (find it and set it aside); False when the disk
    or the file is (keep everything and try again later)."""
    if isinstance(e, sqlite3.OperationalError | OSError | MemoryError):
        return False  # full, locked, I/O error, read-only, file-size limit
    if type(e) is sqlite3.DatabaseError:
        return False  # damaged file
    # constraint, binding, integer overflow, wrong type ...; not a closed connection
    return not (isinstance(e, sqlite3.ProgrammingError) and "closed" in str(e))


def plain_reason(e: BaseException) -> str:
    """What a failed write means, in words for the person at the console."""
    text = str(e)
    low = text.lower()
    if "full" in low or (isinstance(e, OSError) and getattr(e, "errno", None) in (27, 28)):
        return "the disk is full (or a file-size limit was reached)"
    if "locked" in low or "busy" in low:
        return "another program is holding the database"
    if "readonly" in low or "read-only" in low:
        return "the database file cannot be written (read-only)"
    if "i/o" in low:
        return "the disk refused to write (full, or a file-size limit)"
    if "malformed" in low or "not a database" in low:
        return "the database file is damaged"
    return f"{type(e).__name__}: {text}"[:200]


_STOP = object()
_FLUSH = object()


class StoreWriter:
    def __init__(
        self,
        path: str,
        flush_interval: float = 0.25,
        on_error: Callable[[str], None] | None = None,
        on_recovered: Callable[[str], None] | None = None,
        watch_interval: float = 0.5,
        digest_interval: float = chain.DIGEST_INTERVAL_S,
    ) -> None:
        self.path = path
        self.digest_interval = digest_interval  # how often readings are linked into the chain
        self._digest_at = time.monotonic() + digest_interval
        self.flush_interval = flush_interval
        self.on_error = on_error
        self.on_recovered = on_recovered
        # Called on the writer thread with the events of each commit that are now on disk:
        # forward to the GUI thread (the app hands them to `SessionService.announce`).
        self.on_committed: Callable[[list[Event]], None] | None = None
        self.watch_interval = watch_interval
        self._q: queue.Queue[Any] = queue.Queue()
        # Everything not yet committed lives on the object, not the thread, so a restarted
        # thread carries on with it.
        self._readings: list[tuple[Any, ...]] = []
        self._waves: dict[tuple[int, str, int], _WaveBuffer] = {}
        self._wave_rows: list[dict[str, Any]] = []
        self._events: list[_PendingEvent] = []
        self._aside: list[Quarantined] = []  # refused before the write: to the quarantine
        self._notices: list[tuple[str, str, str]] = []  # told once the quarantine is committed
        self._put_lock = threading.Lock()  # closing and queueing an event do not interleave
        self._in_call: Future[Any] | None = None
        self._backlog: deque[Any] = deque()  # taken from the queue, not yet handled
        self._thread = self._new_thread()
        self._watchdog = threading.Thread(target=self._watch, name="holdspace-db-watchdog",
                                          daemon=True)
        self._conn: sqlite3.Connection | None = None
        self._opened = threading.Event()
        self._open_error: BaseException | None = None
        self._stopping = False
        self._stopped = threading.Event()
        self._in_use: int | None = None  # the lock saying this file is being written
        self._closed = False
        self._failing = False  # inside a failure episode (disk full, locked, ...)
        self._fail_count = 0
        self._retry_at = 0.0
        self._reported: set[tuple[str, str]] = set()  # (what, source) quarantines told once
        self.rows_written = 0  # readings + waveform rows + events committed
        self.failures = 0  # failure episodes
        self.failed_commits = 0  # attempts the disk refused (several per episode)
        self.quarantined = 0  # rows set aside
        self.restarts = 0  # times the watchdog restarted the thread
        self.unsaved = 0  # rows that had to go to the file beside the database at stop

    # ----- API for any thread -----
    def start(self) -> None:
        self._thread.start()
        self._opened.wait()
        if self._open_error is not None:
            raise self._open_error
        self._in_use = owner.hold_open(self.path)  # `holdspace restore` waits for us to close
        self._watchdog.start()

    def add_samples(self, session_id: int, samples: Iterable[Sample]) -> None:
        self._q.put((session_id, list(samples)))

    def append_event(self, event: Event) -> Future[Event]:
        """Queue an event; the Future is resolved with it once it is committed (synced to the
        disk), or fails with `NotSaved` if the database refused it (it is then kept in the
        quarantine). Never blocks: wait on the Future off the GUI thread, or add a callback."""
        fut: Future[Event] = Future()
        fut.set_running_or_notify_cancel()  # it cannot be cancelled: it is already on its way
        row, problem = _event_row(event)
        with self._put_lock:
            if not self._closed:
                self._q.put(_PendingEvent(event, fut, row, problem))
                return fut
        fut.set_exception(NotSaved("Holdspace is closing: this entry was not saved."))
        return fut

    def call(self, fn: Callable[[sqlite3.Connection], T]) -> Future[T]:
        fut: Future[T] = Future()
        self._q.put((fn, fut))
        return fut

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until everything queued before this call was tried (waves included); True
        if it is all on disk, False if the disk refused it (it is kept and retried)."""
        fut: Future[bool] = Future()
        self._q.put((_FLUSH, fut))
        return fut.result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        with self._put_lock:
            self._closed = True
            self._q.put(_STOP)
        if self._thread.is_alive():
            self._thread.join(timeout)
        elif self._opened.is_set() and self._open_error is None and self._thread.ident:
            self._finish()  # the thread had died just now: finish its work here
        self._stopped.set()
        if self._watchdog.is_alive():
            self._watchdog.join(timeout)
        fd, self._in_use = self._in_use, None
        owner.let_go(fd)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # ----- watchdog -----
    def _new_thread(self) -> threading.Thread:
        return threading.Thread(target=self._run, name="holdspace-db-writer", daemon=True)

    def _watch(self) -> None:
        while not self._stopped.wait(self.watch_interval):
            if not self._stopping and not self._thread.is_alive():
                self._restart()

    def _restart(self) -> None:
        self.restarts += 1
        log.error("the database writer thread died; restarting it (restart %d)", self.restarts)
        call = self._in_call
        if call is not None and not call.done():
            call.set_exception(RuntimeError("the database writer stopped during this write"))
        self._in_call = None
        self._thread = self._new_thread()
        self._thread.start()
        self._report("Holdspace's database writer stopped unexpectedly and was restarted; the "
                     "data waiting to be saved were kept. Details for support are in the log.")

    # ----- writer thread -----
    def _run(self) -> None:
        first = not self._opened.is_set()
        if first:
            try:
                self._conn = self._connect()
            except BaseException as e:
                self._open_error = e
                self._opened.set()
                return
            self._opened.set()
        else:
            self._rollback()  # whatever the dead thread left half done
        next_flush = time.monotonic() + self.flush_interval
        stop = False
        while not stop:
            try:
                timeout = max(0.0, next_flush - time.monotonic())
                if self._failing:
                    timeout = min(timeout, max(0.0, self._retry_at - time.monotonic()))
                if not self._backlog:
                    with contextlib.suppress(queue.Empty):
                        self._backlog.append(self._q.get(timeout=timeout))
                while self._backlog and len(self._backlog) < DRAIN_MAX \
                        and self._backlog[-1] is not _STOP:
                    try:
                        self._backlog.append(self._q.get_nowait())
                    except queue.Empty:
                        break
                while self._backlog and not stop:
                    item = self._backlog.popleft()
                    if item is _STOP:
                        stop = True
                    else:
                        self._take_safely(item)
                if not stop and (self._events or time.monotonic() >= next_flush):
                    self._commit_pending()
                    next_flush = time.monotonic() + self.flush_interval
            except Exception as e:  # a bug in Holdspace must not end the record
                log.exception("unexpected error in the database writer; it carries on")
                self._rollback()
                self._retry_at = time.monotonic() + 0.5
                self._report_once("internal", type(e).__name__,
                                  f"Holdspace's database writer had an internal error "
                                  f"({type(e).__name__}) and carried on. Details for support "
                                  "are in the log.")
        self._finish()

    def _connect(self) -> sqlite3.Connection:
        conn = open_db(self.path)
        conn.execute("PRAGMA synchronous=FULL")  # a confirmed event survives a power cut
        return conn

    def _take_safely(self, item: Any) -> None:
        """One queued item; a bug while taking it costs that item only, which is set aside."""
        try:
            self._take(item)
        except Exception as e:
            log.exception("could not take a queued item; it is set aside")
            if isinstance(item, _PendingEvent) and not item.future.done():
                item.future.set_exception(NotSaved(
                    "This entry could not be saved: Holdspace had an internal error. It was "
                    "set aside for support."))
            self._set_aside("item", None, f"internal error while taking it ({e!r})"[:300],
                            {"item": item})

    def _take(self, item: Any) -> None:
        if isinstance(item, _PendingEvent):
            self._events.append(item)
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Future):
            fn, fut = item
            if fn is _FLUSH:
                self._close_waves()
                fut.set_result(self._commit_pending(force=True))
                return
            self._commit_pending(force=True)
            if not fut.set_running_or_notify_cancel():
                return
            self._in_call = fut  # failed by the watchdog if `fn` kills the thread
            try:
                conn = self._ensure_conn()
                conn.execute("BEGIN IMMEDIATE")
                result = fn(conn)
                conn.execute("COMMIT")
                fut.set_result(result)
            except Exception as e:
                self._rollback()
                fut.set_exception(e)
            self._in_call = None
        else:
            session_id, samples = item
            for s in samples:
                if isinstance(s, Reading):
                    self._add_reading(session_id, s)
                elif isinstance(s, WaveChunk):
                    problem = wave_problem(session_id, s)
                    if problem is None:
                        self._add_wave(session_id, s)
                    else:
                        self._set_aside("waveform", session_id, problem, {
                            "session_id": session_id, "source": s.source, "code": s.code,
                            "t0": s.t0, "rate_hz": s.rate_hz, "quality": s.quality,
                            "samples": s.samples})
                else:
                    self._set_aside("sample", session_id,
                                    f"not a reading or a waveform ({type(s).__name__})",
                                    {"session_id": session_id, "sample": s})

    def _add_reading(self, session_id: int, r: Reading) -> None:
        problem = reading_problem(session_id, r)
        if problem is not None:
            self._set_aside("reading", session_id, problem,
                            dict(zip(READING_COLS, (session_id, r.t, r.source, r.code, r.value,
                                                    r.unit, r.quality, r.device_time, r.reason),
                                     strict=True)))
            return
        v: float | None = r.value
        v = None if v is None or math.isnan(v) else float(v)
        self._readings.append((int(session_id), float(r.t), r.source, int(r.code), v,
                               None if r.unit is None else int(r.unit), int(r.quality),
                               None if r.device_time is None else float(r.device_time),
                               None if r.reason is None else str(r.reason)[:200]))

    def _set_aside(self, what: str, session_id: object, reason: str, content: Any) -> None:
        sid = session_id if isinstance(session_id, int) and not isinstance(session_id, bool) \
            and -(2**63) <= session_id < 2**63 else None
        source = content.get("source") if isinstance(content, dict) else None
        self._aside.append(Quarantined(time.time(), what, sid, reason, content_text(content)))
        self._notices.append((what, str(source),
                              f"A {what} from {source or 'a monitor'} could not be stored as "
                              f"it came ({reason}); it was set aside for support and "
                              "recording goes on."))

    def _add_wave(self, session_id: int, w: WaveChunk) -> None:
        key = (session_id, w.source, w.code)
        buf = self._waves.get(key)
        # A new row when the old one is full, the rate changed, or there is a gap (unplug).
        if buf is not None and (
            buf.rate_hz != w.rate_hz
            or abs(w.t0 - buf.end()) > 0.5
            or buf.n / buf.rate_hz >= WAVE_ROW_SECONDS
            or buf.quality != int(w.quality)
        ):
            self._wave_rows.append(buf.row())
            buf = None
        if buf is None:
            buf = _WaveBuffer(int(session_id), w.source, int(w.code), float(w.rate_hz),
                              float(w.t0), int(w.quality))
            self._waves[key] = buf
        buf.parts.append(np.asarray(w.samples, dtype=np.float32))
        buf.n += len(w.samples)
        if buf.n / buf.rate_hz >= WAVE_ROW_SECONDS:
            self._wave_rows.append(buf.row())
            del self._waves[key]

    def _close_waves(self) -> None:
        self._wave_rows.extend(b.row() for b in self._waves.values() if b.n)
        self._waves.clear()

    # ----- committing -----
    def _ensure_conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _rollback(self) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            log.warning("rollback failed; reopening the database connection")
            try:
                conn.close()
            finally:
                self._conn = None

    def _insert(self, conn: sqlite3.Connection, sql: str,
                rows: list[Any]) -> list[tuple[int, Exception]]:
        """Insert `rows`; return (index, error) for each row SQLite refuses, found by
        bisecting the batch inside savepoints. A disk-level error propagates."""
        refused: list[tuple[int, Exception]] = []

        def go(lo: int, hi: int) -> None:
            conn.execute("SAVEPOINT batch")
            try:
                conn.executemany(sql, rows[lo:hi])
            except Exception as e:
                if not _row_error(e):
                    raise
                conn.execute("ROLLBACK TO batch")
                conn.execute("RELEASE batch")
                if hi - lo == 1:
                    refused.append((lo, e))
                    return
                mid = (lo + hi) // 2
                go(lo, mid)
                go(mid, hi)
                return
            conn.execute("RELEASE batch")

        if rows:
            go(0, len(rows))
        return refused

    def _digest(self, conn: sqlite3.Connection) -> None:
        """Link the readings stored since the last link (chain.py), in this transaction. A
        bug here must not stop the recording: the rows stay unlinked until the next try."""
        conn.execute("SAVEPOINT digest")
        try:
            chain.digest_new_rows(conn)
        except Exception as e:
            if not _row_error(e):
                raise
            conn.execute("ROLLBACK TO digest")
            log.exception("could not link the newest readings into the chain; tried again "
                          "at the next commit")
        else:
            self._digest_at = time.monotonic() + self.digest_interval
        conn.execute("RELEASE digest")

    def _final_digest(self) -> None:
        """At stop: link what is still unlinked, so a closed file is covered to its end."""
        try:
            conn = self._ensure_conn()
            conn.execute("BEGIN IMMEDIATE")
            self._digest(conn)
            conn.execute("COMMIT")
        except Exception:
            self._rollback()
            log.warning("the last readings could not be linked into the chain at stop; "
                        "the next start links them")

    def _commit_pending(self, force: bool = False) -> bool:
        """Commit everything pending in one transaction; True when nothing is left pending."""
        events, readings, waves, aside = (self._events, self._readings, self._wave_rows,
                                          self._aside)
        if not (events or readings or waves or aside):
            return True
        if not force and self._failing and time.monotonic() < self._retry_at:
            return False
        refused: dict[int, str] = {}  # event index -> reason
        to_aside = list(aside)
        to_file: list[Quarantined] = []
        notices = list(self._notices)
        try:
            conn = self._ensure_conn()
            conn.execute("BEGIN IMMEDIATE")
            good = []
            for i, p in enumerate(events):
                if p.problem is None:
                    good.append(i)
                else:
                    refused[i] = p.problem
            for j, e in self._insert(conn, EVENT_SQL, [events[i].row for i in good]):
                i = good[j]
                if isinstance(e, sqlite3.IntegrityError) and \
                        stored_row(conn, events[i].row["uid"]) == events[i].row:
                    continue  # committed just before the thread died: it is saved
                refused[i] = f"the database refused it ({e})"[:300]
            for i, reason in refused.items():
                p = events[i]
                to_aside.append(Quarantined(time.time(), "event", _sid(p.row.get("session_id")),
                                            reason, content_text({**p.row,
                                                                  "payload": p.event.payload})))
            bad_readings = self._insert(conn, READING_SQL, readings)
            for j, e in bad_readings:
                source = str(readings[j][2])
                to_aside.append(Quarantined(time.time(), "reading", _sid(readings[j][0]),
                                            f"the database refused it ({e})"[:300],
                                            content_text(dict(zip(READING_COLS, readings[j],
                                                                  strict=True)))))
                notices.append(("reading", source, f"A reading from {source} was refused by "
                                f"the database ({e}); it was set aside for support and "
                                "recording goes on."))
            bad_waves = self._insert(conn, WAVE_SQL, waves)
            for j, e in bad_waves:
                source = str(waves[j]["source"])
                to_aside.append(Quarantined(time.time(), "waveform", _sid(waves[j]["session_id"]),
                                            f"the database refused it ({e})"[:300],
                                            content_text(waves[j])))
                notices.append(("waveform", source, f"A waveform from {source} was refused by "
                                f"the database ({e}); it was set aside for support and "
                                "recording goes on."))
            if time.monotonic() >= self._digest_at:
                self._digest(conn)
            for q in to_aside:
                conn.execute("SAVEPOINT aside")
                try:
                    set_aside(conn, q)
                except Exception as e:
                    if not _row_error(e):
                        raise
                    conn.execute("ROLLBACK TO aside")
                    to_file.append(q)
                conn.execute("RELEASE aside")
            conn.execute("COMMIT")
        except Exception as e:
            self._rollback()
            self._failed(e)
            return False
        self._events, self._readings, self._wave_rows, self._aside = [], [], [], []
        self._notices = []
        self.quarantined += len(to_aside)
        self.rows_written += (len(events) - len(refused) + len(readings) - len(bad_readings)
                              + len(waves) - len(bad_waves))
        if to_file:
            self._to_file(to_file, "the quarantine table refused them")
        self._recovered()
        for what, key, message in notices:
            self._report_once(what, key, message)
        for i, p in enumerate(events):
            if i in refused:
                msg = (f"This entry could not be saved: {refused[i]}. It was set aside for "
                       "support.")
                log.error("event %s (%s) set aside: %s", p.event.uid, p.event.kind, refused[i])
                self._report(msg)
                p.future.set_exception(NotSaved(msg))
            else:
                p.future.set_result(p.event)
        stored = [p.event for i, p in enumerate(events) if i not in refused]
        if stored and self.on_committed is not None:
            try:
                self.on_committed(stored)
            except Exception:  # a listener's fault must never stop the writer
                log.exception("on_committed failed")
        return True

    def _to_file(self, rows: list[Quarantined], why: str) -> None:
        try:
            path = write_beside(self.path, rows)
        except OSError as e:
            log.error("%d rows could not be set aside (%s) and are lost", len(rows), e)
            return
        log.error("%d rows written to %s: %s", len(rows), path, why)

    def _failed(self, e: Exception) -> None:
        self._fail_count += 1
        self.failed_commits += 1
        self._retry_at = time.monotonic() + min(MAX_RETRY_S, 0.1 * 2 ** self._fail_count)
        if self._failing:
            return
        self._failing = True
        self.failures += 1
        log.error("could not write to the database (%s); keeping the data and retrying", e)
        self._report(f"Could not save to the database: {plain_reason(e)}. Everything is "
                     "kept and retried; do not close Holdspace.")

    def _recovered(self) -> None:
        self._fail_count = 0
        if not self._failing:
            return
        self._failing = False
        log.warning("writing to the database works again")
        msg = "Saving to the database works again; everything kept in memory is now saved."
        cb = self.on_recovered
        if cb is not None:
            try:
                cb(msg)
            except Exception:
                log.exception("on_recovered failed")

    def _report(self, message: str) -> None:
        cb = self.on_error
        if cb is not None:
            try:
                cb(message)
            except Exception:
                log.exception("on_error failed")

    def _report_once(self, what: str, key: str, message: str) -> None:
        if (what, key) in self._reported:
            return
        self._reported.add((what, key))
        log.error("%s (told once for %s %s)", message, what, key)
        self._report(message)

    def _finish(self) -> None:
        """Stop: everything still queued is written, or else kept in a file beside the db."""
        while True:
            try:
                item = self._backlog.popleft() if self._backlog else self._q.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                continue
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Future) \
                    and item[0] is not _FLUSH:
                if item[1].set_running_or_notify_cancel():
                    item[1].set_exception(NotSaved("Holdspace is closing."))
                continue
            self._take_safely(item)
        self._close_waves()
        ok = self._commit_pending(force=True)
        for _ in range(STOP_ATTEMPTS - 1):
            if ok:
                break
            self._stopped.wait(0.5)
            ok = self._commit_pending(force=True)
        if not ok:
            self._rescue()
        else:
            self._final_digest()
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def _rescue(self) -> None:
        now = time.time()
        why = "could not be saved before Holdspace closed"
        rows = [Quarantined(now, "event", _sid(p.row.get("session_id")), why,
                            content_text({**p.row, "payload": p.event.payload}))
                for p in self._events]
        rows += [Quarantined(now, "reading", _sid(r[0]), why,
                             content_text(dict(zip(READING_COLS, r, strict=True))))
                 for r in self._readings]
        rows += [Quarantined(now, "waveform", _sid(w["session_id"]), why, content_text(w))
                 for w in self._wave_rows]
        rows += self._aside
        self.unsaved += len(rows)
        self._to_file(rows, why)
        for p in self._events:
            p.future.set_exception(NotSaved(
                f"This entry ({p.event.kind}) could not be saved before Holdspace closed; it "
                "was kept in a file beside the database for support."))
        self._events, self._readings, self._wave_rows, self._aside = [], [], [], []
        self._report(f"{len(rows)} items could not be saved before closing; they were kept "
                     "in a file beside the database for support.")


def _sid(v: object) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and -(2**63) <= v < 2**63 \
        else None
