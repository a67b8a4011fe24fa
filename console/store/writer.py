"""The one thread that writes to the database.

Readings arrive many times a second from the device links; they are queued and committed in
small batches (every `flush_interval`, 0.25 s by default), so a kill -9 loses well under a
second. Waveform samples are gathered into rows of about one second each (a compact float32
array per row, not a row per sample). Events are committed the moment they arrive. Any other
write (create a patient, start a session) is a `call` run in order on this thread; the caller
gets a Future. If the disk refuses a write (full, read-only), nothing is dropped: the batch is
kept and retried, and `on_error` is told in plain words.
"""

from __future__ import annotations

import math
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from console.store.db import open_db
from console.store.events import Event, insert_events
from devices.reading import Reading, Sample, WaveChunk

T = TypeVar("T")
WAVE_ROW_SECONDS = 1.0


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


_STOP = object()
_FLUSH = object()


class StoreWriter:
    def __init__(
        self,
        path: str,
        flush_interval: float = 0.25,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.path = path
        self.flush_interval = flush_interval
        self.on_error = on_error
        self._q: queue.Queue[Any] = queue.Queue()
        self._readings: list[tuple[Any, ...]] = []
        self._waves: dict[tuple[int, str, int], _WaveBuffer] = {}
        self._wave_rows: list[dict[str, Any]] = []
        self._events: list[Event] = []
        self._thread = threading.Thread(target=self._run, name="holdspace-db-writer", daemon=True)
        self._conn: sqlite3.Connection | None = None
        self._opened = threading.Event()
        self._open_error: BaseException | None = None
        self.rows_written = 0

    # ----- API for any thread -----
    def start(self) -> None:
        self._thread.start()
        self._opened.wait()
        if self._open_error is not None:
            raise self._open_error

    def add_samples(self, session_id: int, samples: Iterable[Sample]) -> None:
        self._q.put((session_id, list(samples)))

    def append_event(self, event: Event) -> None:
        self._q.put(event)

    def call(self, fn: Callable[[sqlite3.Connection], T]) -> Future[T]:
        fut: Future[T] = Future()
        self._q.put((fn, fut))
        return fut

    def flush(self, timeout: float = 10.0) -> None:
        """Block until everything queued before this call is on disk (waves included)."""
        fut: Future[None] = Future()
        self._q.put((_FLUSH, fut))
        fut.result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread.is_alive():
            self._q.put(_STOP)
            self._thread.join(timeout)

    # ----- writer thread -----
    def _run(self) -> None:
        try:
            self._conn = open_db(self.path)
        except BaseException as e:
            self._open_error = e
            self._opened.set()
            return
        self._opened.set()
        import time

        next_flush = time.monotonic() + self.flush_interval
        try:
            while True:
                timeout = max(0.0, next_flush - time.monotonic())
                try:
                    item = self._q.get(timeout=timeout)
                except queue.Empty:
                    item = None
                if item is _STOP:
                    break
                if item is not None:
                    self._take(item)
                if self._events or time.monotonic() >= next_flush:
                    self._commit_pending()
                    next_flush = time.monotonic() + self.flush_interval
            self._close_waves()
            self._commit_pending()
        finally:
            if self._conn is not None:
                self._conn.close()

    def _take(self, item: Any) -> None:
        if isinstance(item, Event):
            self._events.append(item)
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Future):
            fn, fut = item
            if fn is _FLUSH:
                self._close_waves()
                self._commit_pending()
                fut.set_result(None)
                return
            self._commit_pending()
            if not fut.set_running_or_notify_cancel():
                return
            assert self._conn is not None
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                result = fn(self._conn)
                self._conn.execute("COMMIT")
                fut.set_result(result)
            except BaseException as e:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                fut.set_exception(e)
        else:
            session_id, samples = item
            for s in samples:
                if isinstance(s, Reading):
                    v = None if math.isnan(s.value) else s.value
                    self._readings.append(
                        (session_id, s.t, s.source, s.code, v, s.unit, int(s.quality), s.device_time)
                    )
                elif isinstance(s, WaveChunk):
                    self._add_wave(session_id, s)

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
            buf = _WaveBuffer(session_id, w.source, w.code, w.rate_hz, w.t0, int(w.quality))
            self._waves[key] = buf
        buf.parts.append(np.asarray(w.samples, dtype=np.float32))
        buf.n += len(w.samples)
        if buf.n / buf.rate_hz >= WAVE_ROW_SECONDS:
            self._wave_rows.append(buf.row())
            del self._waves[key]

    def _close_waves(self) -> None:
        self._wave_rows.extend(b.row() for b in self._waves.values())
        self._waves.clear()

    def _commit_pending(self) -> None:
        if not (self._readings or self._wave_rows or self._events):
            return
        conn = self._conn
        assert conn is not None
        try:
            conn.execute("BEGIN IMMEDIATE")
            if self._readings:
                conn.executemany(
                    "INSERT INTO readings (session_id, t, source, code, value, unit, quality, "
                    "device_time) VALUES (?,?,?,?,?,?,?,?)",
                    self._readings,
                )
            if self._wave_rows:
                conn.executemany(
                    "INSERT INTO waveforms (session_id, source, code, t0, rate_hz, n, samples, "
                    "quality) VALUES (:session_id, :source, :code, :t0, :rate_hz, :n, :samples, "
                    ":quality)",
                    self._wave_rows,
                )
            if self._events:
                insert_events(conn, self._events)
            conn.execute("COMMIT")
        except sqlite3.Error as e:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if self.on_error:
                self.on_error(
                    f"Could not save to the database ({e}). Holdspace keeps the data in memory "
                    "and retries; check the disk."
                )
            return
        self.rows_written += len(self._readings) + len(self._wave_rows) + len(self._events)
        self._readings.clear()
        self._wave_rows.clear()
        self._events.clear()
