"""The station's worker thread: LISTEN for the server's notifications, fetch what is new.

The server notifies channel `holdspace` with {"room", "table"} when a room's rows arrive or
its replicator's heartbeat is upserted. The feed waits on those (psycopg `notifies()` on a
connection of its own), gathers the ones that arrive together, fetches only the new rows of
the rooms named into each room's mirror (its current session, in the console's schema) and
hands the rebuilt `RoomState`s over in one batch. No polling: without a notification nothing
is read. When the server goes away the batch says so, and the feed reconnects with backoff.

Everything that touches a mirror or a server connection runs on this thread; what it hands
over (states, mirror copies) is never touched by it again.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg

from console.central import mirror, server
from console.central.rooms import (
    STALE_AFTER_S,
    Heartbeat,
    RoomState,
    derive,
    latest_values,
    links,
    rebuilds_day,
)
from console.core.clock import Clock, SystemClock
from console.core.dosing.templates import Catalog, load_catalog

log = logging.getLogger(__name__)

GATHER_S = 0.15  # notifications arriving this close together are one batch
WAIT_S = 0.5  # longest wait for a notification before looking at requests and `stop`
RETRY_S = (1.0, 2.0, 5.0, 10.0)  # reconnect backoff
DATA_TABLES = ("patients", "sessions", "events", "readings")


@dataclass(frozen=True)
class Update:
    """One batch for the window: the rooms that changed, and the server connection."""

    rooms: dict[str, RoomState] = field(default_factory=dict)
    connected: bool = True
    problem: str | None = None  # why the server cannot be read, in words
    since: float | None = None  # monotonic: when the problem began


@dataclass
class Pulled:
    """What one pull brought: a new or changed session or patient row (rebuild), the kinds of
    the new events, the new readings rows."""

    rows_changed: bool = False
    event_kinds: set[str] = field(default_factory=set)
    readings: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def anything(self) -> bool:
        return self.rows_changed or bool(self.event_kinds) or bool(self.readings)

    def rebuild(self) -> bool:
        return self.rows_changed or any(rebuilds_day(k) or k.startswith("session.")
                                        for k in self.event_kinds)


class RoomMirror:
    """One room's current session, copied from the server as its rows arrive."""

    def __init__(self, room: str) -> None:
        self.room = room
        self.conn: sqlite3.Connection | None = None
        self.session_id: int | None = None
        self.after: dict[str, int] = {}
        self.session_row: tuple[Any, ...] | None = None
        self.patient_row: tuple[Any, ...] | None = None

    def pull(self, pg: psycopg.Connection[Any]) -> Pulled:
        """Fetch what is new for this room."""
        out = Pulled()
        latest = server.latest_session(pg, self.room)
        if latest is None:
            out.rows_changed = self.session_id is not None
            self.close()
            return out
        sid = int(latest[0])
        if sid != self.session_id or self.conn is None:
            self.close()
            self.conn = mirror.new_mirror()
            self.session_id, self.after, out.rows_changed = sid, {"events": 0, "readings": 0}, True
        if latest != self.session_row:
            mirror.put(self.conn, "sessions", [latest], replace=True)
            self.session_row, out.rows_changed = latest, True
        pid = latest[server.columns("sessions").index("patient_id")]
        if pid is not None:
            prow = next(iter(server.by_ids(pg, "patients", self.room, [pid])), None)
            if prow is not None and prow != self.patient_row:
                mirror.put(self.conn, "patients", [prow], replace=True)
                self.patient_row, out.rows_changed = prow, True
        kind = server.columns("events").index("kind")
        for table in ("events", "readings"):
            rows = server.session_rows(pg, table, self.room, sid, self.after[table])
            if rows:
                mirror.put(self.conn, table, rows)
                self.after[table] = int(rows[-1][0])
                if table == "events":
                    out.event_kinds = {str(r[kind]) for r in rows}
                else:
                    out.readings = rows
        return out

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn, self.session_id, self.session_row, self.patient_row = None, None, None, None
        self.after = {}


class StationFeed:
    """Keeps every room's state current from the server; `deliver` gets each batch on the
    feed's thread (the window passes a GuiPoster-backed function)."""

    def __init__(self, url: str, deliver: Callable[[Update], None], *,
                 clock: Clock | None = None, catalog: Catalog | None = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 stale_after: float = STALE_AFTER_S) -> None:
        self.url = url
        self.deliver = deliver
        self.clock = clock or SystemClock()
        self.catalog = catalog
        self.monotonic = monotonic
        self.stale_after = stale_after
        self.mirrors: dict[str, RoomMirror] = {}
        self.states: dict[str, RoomState] = {}
        self._stop = threading.Event()
        self._requests: queue.Queue[tuple[str, Callable[[sqlite3.Connection | None], None]]] = (
            queue.Queue())
        self._thread = threading.Thread(target=self._run, name="central-feed", daemon=True)

    # ----- from any thread -----
    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def request_copy(self, room: str, fn: Callable[[sqlite3.Connection | None], None]) -> None:
        """`fn(copy)` on the feed's thread with a snapshot of the room's mirror (None if the
        room has no session): for the read-only detail window."""
        self._requests.put((room, fn))

    # ----- the thread -----
    def _run(self) -> None:
        if self.catalog is None:
            self.catalog = _catalog()
        attempt = 0
        problem_since: float | None = None
        while not self._stop.is_set():
            try:
                listen = server.connect(self.url)
                try:
                    pg = server.connect(self.url)
                    try:
                        listen.execute(f"LISTEN {server.CHANNEL}")
                        attempt, problem_since = 0, None
                        self._serve(listen, pg)
                    finally:
                        pg.close()
                finally:
                    listen.close()
            except server.ServerError as e:
                problem_since = problem_since or self.monotonic()
                self._lost(str(e), problem_since)
            except psycopg.Error as e:
                problem_since = problem_since or self.monotonic()
                self._lost(str(server.failed(self.url, e)), problem_since)
            except Exception:  # a bug must not silently end the station's view
                log.exception("central feed failed")
                problem_since = problem_since or self.monotonic()
                self._lost("The station stopped reading the clinic server because of a fault "
                           "in Holdspace (logged for support); retrying.", problem_since)
            self._stop.wait(RETRY_S[min(attempt, len(RETRY_S) - 1)])
            attempt += 1
        for m in self.mirrors.values():
            m.close()

    def _lost(self, problem: str, since: float) -> None:
        self._answer_requests(None)
        self.deliver(Update({}, connected=False, problem=problem, since=since))

    def _serve(self, listen: psycopg.Connection[Any], pg: psycopg.Connection[Any]) -> None:
        self._refresh(pg, None)  # everything once, after LISTEN: nothing falls between
        while not self._stop.is_set():
            touched: dict[str, set[str]] = {}
            for n in listen.notifies(timeout=WAIT_S, stop_after=1):
                _note(touched, n.payload)
            if touched:
                for n in listen.notifies(timeout=GATHER_S):
                    _note(touched, n.payload)
                self._refresh(pg, touched)
            self._answer_requests(pg)

    def _refresh(self, pg: psycopg.Connection[Any], touched: dict[str, set[str]] | None) -> None:
        asked = self.monotonic()
        beats = {r.room: Heartbeat(r.workstation_id, r.age_s, asked, r.behind_rows,
                                   r.behind_seconds, r.last_error, self.stale_after)
                 for r in server.rooms(pg)}
        out: dict[str, RoomState] = {}
        assert self.catalog is not None
        for room, beat in beats.items():
            m = self.mirrors.setdefault(room, RoomMirror(room))
            tables = None if touched is None else touched.get(room, set())
            rows_may_be_new = tables is None or bool(tables & {*DATA_TABLES, ""})
            first = room not in self.states
            got = m.pull(pg) if first or rows_may_be_new else Pulled()
            if m.conn is None or m.session_id is None:
                st = RoomState(room, beat)
            elif first or got.rebuild():
                st = derive(room, m.conn, m.session_id, self.catalog, self.clock, beat)
            elif got.anything:
                prev = self.states[room]
                prev.take(got.readings)
                st = replace(prev, heartbeat=beat, latest=latest_values(m.conn, m.session_id),
                             links=(links(m.conn, m.session_id) if any(
                                 k.startswith("link.") for k in got.event_kinds)
                                 else prev.links))
            else:
                st = replace(self.states[room], heartbeat=beat)
            out[room] = self.states[room] = st
        self.deliver(Update(out))

    def _answer_requests(self, pg: psycopg.Connection[Any] | None) -> None:
        while True:
            try:
                room, fn = self._requests.get_nowait()
            except queue.Empty:
                return
            m = self.mirrors.get(room)
            fn(mirror.copy(m.conn) if pg is not None and m is not None and m.conn is not None
               else None)


def _note(touched: dict[str, set[str]], payload: str) -> None:
    """Which room and table a notification names ("" when it does not say)."""
    try:
        p = json.loads(payload)
        touched.setdefault(str(p["room"]), set()).add(str(p.get("table") or ""))
    except (ValueError, KeyError, TypeError):
        log.warning("unreadable notification from the server: %r", payload[:80])


def _catalog() -> Catalog:
    """The shipped and clinic templates on this computer (as the room loads them)."""
    from console.core.config import default_data_dir

    try:
        return load_catalog(default_data_dir())
    except OSError:
        return load_catalog()
