"""The background thread that copies a room's SQLite file to the central PostgreSQL server.

The file is the source of truth; the server gets a copy, in order, at most a second or two
behind. One push = one snapshot of the file (a read transaction, so a reading's session is
always in the same push or an earlier one) and one server transaction:
1. patients and sessions that are new or changed since the last push (upserted: a session's
   end and state and a patient's weight are the only things the console updates);
2. events, readings and (if the clinic wants them) waveforms with ids above the stored
   position, up to `batch_rows` each, through COPY into a temporary table and
   `INSERT … SELECT … ON CONFLICT DO NOTHING`;
3. the room's `rooms` row (the heartbeat the station uses to tell a stale room).
Only after the server's COMMIT are the new positions written to the file
(console/store/replication_state.py). A crash in between re-sends that push and the server
keeps its first copy: nothing lost, nothing twice. With nothing new the server still hears a
heartbeat every `heartbeat` seconds.

A server that cannot be reached, refuses the login, or is not set up costs nothing but a
retry with back-off (1 s doubling to 5 s); the console records as always. What is going on
is a `SyncStatus`, passed to `on_status` (on this thread) whenever it changes and written to
the file for `holdspace sync-status`. The password in the URL is never logged or stored.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from console.replication import schema
from console.replication.address import check_room, check_url, shown
from console.replication.status import SyncStatus, clock_text
from console.store import replication_state

log = logging.getLogger("holdspace.replication")  # into Holdspace's log file, not stderr

APPEND_TABLES = ("events", "readings", "waveforms")
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 5.0  # a connection attempt every 5 s at most is cheap, and a returning server is found soon


@dataclass(frozen=True, slots=True)
class SyncSettings:
    """Where a workstation sends its record: `sync.url`, `sync.room`, `sync.waveforms`."""

    url: str
    room: str
    waveforms: bool = False


@dataclass
class Pushed:
    """One committed push, for benchmarks and tests: rows per table, and per table the age at
    the commit (seconds) of each pushed row's time (a waveform row's: its last sample's)."""

    committed: float  # wall time just after COMMIT
    rows: dict[str, int] = field(default_factory=dict)
    lags: dict[str, list[float]] = field(default_factory=dict)


class RoomMismatch(Exception):
    """The server holds this room from another database file."""


class Replicator:
    """Pushes one SQLite file to the central server on its own thread (see the module doc)."""

    def __init__(
        self,
        db_path: str | Path,
        settings: SyncSettings,
        on_status: Callable[[SyncStatus], None] | None = None,
        *,
        batch_rows: int = 20_000,
        poll: float = 0.5,
        heartbeat: float = 2.0,
        on_pushed: Callable[[Pushed], None] | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.url = check_url(settings.url)
        self.room = check_room(settings.room)
        self.tables = ["events", "readings"] + (["waveforms"] if settings.waveforms else [])
        self.on_status = on_status
        self.on_pushed = on_pushed
        self.batch_rows = batch_rows
        self.poll = poll
        self.heartbeat = heartbeat
        self._status = SyncStatus(self.room, shown(self.url))
        self._stop = threading.Event()
        self._flush_until: float | None = None
        self._thread: threading.Thread | None = None
        self._pg: Any = None
        self._sq: sqlite3.Connection | None = None
        self._pushed_rows: dict[str, dict[int, tuple[Any, ...]]] = {"patients": {},
                                                                    "sessions": {}}
        self._last_heartbeat = 0.0
        self._ids: dict[str, int] = {}
        self._waiting: tuple[int, float] | None = None  # (rows, seconds) before the last push

    # ------------------------------------------------------------------ public
    @property
    def status(self) -> SyncStatus:
        return self._status

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="holdspace-replicator",
                                        daemon=True)
        self._thread.start()

    def stop(self, flush: float = 10.0) -> SyncStatus:
        """Stop; first, for up to `flush` seconds, try to send what is still waiting (the
        session's end, the last readings). Returns the final status."""
        self._flush_until = time.monotonic() + flush
        self._stop.set()
        if self._thread is not None:
            self._thread.join(flush + 15)
        return self._status

    # ------------------------------------------------------------------ the thread
    def _run(self) -> None:
        backoff = BACKOFF_FIRST
        failed_while_stopping = 0
        try:
            while True:
                stopping = self._stop.is_set()
                if stopping and (self._flush_until is None
                                 or time.monotonic() >= self._flush_until):
                    break
                try:
                    more = self._once()
                    backoff = BACKOFF_FIRST
                except Exception as e:  # any trouble: say it, back off, try again
                    self._failed(e)
                    wait = backoff
                    backoff = min(backoff * 2, BACKOFF_MAX)
                    if stopping:
                        # closing: a second try at once (the first may have met a connection
                        # the server had dropped), then give up — the console must not wait
                        # on a server that is down; the rest goes next time
                        failed_while_stopping += 1
                        if failed_while_stopping > 1 or time.monotonic() >= (
                                self._flush_until or 0.0):
                            break
                    else:
                        self._stop.wait(wait)
                    continue
                if stopping and not more and self._status.behind_rows == 0:
                    break  # everything is on the server
                if not more and not stopping:
                    self._stop.wait(self.poll)
        finally:
            self._close_pg()
            if self._sq is not None:
                self._sq.close()
                self._sq = None
            self._set(replace(self._status, stopped=True))

    def _once(self) -> bool:
        """One push if anything is new (or a heartbeat is due); True when more is waiting."""
        if self._sq is None:
            self._sq = replication_state.open_state(self.db_path)
            self._ids = replication_state.positions(self._sq)
        snap = self._snapshot()
        self._waiting = (snap.waiting_rows, snap.waiting_seconds)
        if self._pg is None:  # the backlog is known (and shown) even while it cannot be sent
            self._set(replace(self._status, behind_rows=snap.waiting_rows,
                              behind_seconds=snap.waiting_seconds))
            self._connect()
            if self._rewind():
                return True  # look at the file again from the rewound positions
        due = time.monotonic() - self._last_heartbeat >= self.heartbeat
        if not snap.anything and not due and self._status.connected:
            self._set(replace(self._status, behind_rows=snap.behind_rows,
                              behind_seconds=snap.behind_seconds))
            return False
        pushed = self._push(snap)
        self._last_heartbeat = time.monotonic()
        moved = {t: snap.upto[t] for t in snap.upto if snap.upto[t] != self._ids.get(t, 0)}
        status = replace(self._status, connected=True, behind_rows=snap.behind_rows,
                         behind_seconds=snap.behind_seconds, last_error=None, error_since=None,
                         last_push=pushed.committed)
        changed = moved or status.last_error != self._status.last_error or (
            status.behind_rows != self._status.behind_rows)
        if changed:
            replication_state.save(self._sq, moved, pushed.committed, self._stored(status))
        self._ids.update(moved)
        for t in ("patients", "sessions"):
            self._pushed_rows[t].update(snap.changed[t])
        self._set(status)
        if self.on_pushed is not None and snap.anything:
            self.on_pushed(pushed)
        return snap.more

    # ------------------------------------------------------------------ the file
    def _snapshot(self) -> _Snapshot:
        assert self._sq is not None
        sq = self._sq
        snap = _Snapshot()
        sq.execute("BEGIN")
        try:
            for t in ("patients", "sessions"):
                cols = ", ".join(c for c, _ in schema.COLUMNS[t])
                have = self._pushed_rows[t]
                snap.changed[t] = {r[0]: tuple(r) for r in sq.execute(
                    f"SELECT {cols} FROM {t} ORDER BY id") if have.get(r[0]) != tuple(r)}
            oldest: float | None = None
            waiting_since: float | None = None
            for t in self.tables:
                cols = ", ".join(c for c, _ in schema.COLUMNS[t])
                pos = self._ids.get(t, 0)
                rows = sq.execute(f"SELECT {cols} FROM {t} WHERE id > ? ORDER BY id LIMIT ?",
                                  (pos, self.batch_rows)).fetchall()
                snap.rows[t] = rows
                upto = rows[-1][0] if rows else pos
                snap.upto[t] = upto
                top = sq.execute(f"SELECT MAX(id) FROM {t}").fetchone()[0] or 0
                snap.behind_rows += max(0, top - upto)
                snap.waiting_rows += max(0, top - pos)
                if rows:  # the oldest row of this table still to send
                    first_t = rows[0][_TIME[t]]
                    waiting_since = first_t if waiting_since is None else min(waiting_since,
                                                                              first_t)
                if top > upto:
                    snap.more = True
                    tc = schema.TIME_COLUMN[t]
                    first = sq.execute(f"SELECT {tc} FROM {t} WHERE id > ? ORDER BY id LIMIT 1",
                                       (upto,)).fetchone()
                    if first is not None and (oldest is None or first[0] < oldest):
                        oldest = first[0]
        finally:
            sq.execute("COMMIT")
        now = time.time()
        snap.behind_seconds = max(0.0, now - oldest) if oldest is not None else 0.0
        snap.waiting_seconds = max(0.0, now - waiting_since) if waiting_since is not None else 0.0
        return snap

    # ------------------------------------------------------------------ the server
    def _connect(self) -> None:
        import psycopg

        # A cut cable is noticed in ~11 s (keepalives) or ~15 s into a send (tcp_user_timeout),
        # never hanging the thread; a server that does answer gets 60 s per statement.
        conn = psycopg.connect(self.url, connect_timeout=5, keepalives=1, keepalives_idle=5,
                               keepalives_interval=2, keepalives_count=3, tcp_user_timeout=15000,
                               application_name=f"holdspace replicator ({self.room})")
        try:
            conn.execute("SET statement_timeout = '60s'")
            have = schema.server_version(conn)
            conn.commit()
            if have == 0:
                raise NotSetUp("The central server is not set up for Holdspace — IT runs "
                               "`holdspace central init` there first")
            if have < schema.SCHEMA_VERSION:
                raise NotSetUp(f"The central server's schema is older (version {have}) than "
                               f"this Holdspace's ({schema.SCHEMA_VERSION}) — IT runs "
                               "`holdspace central init` there to update it")
            ws = replication_state.workstation_id(self._sq) if self._sq else ""
            with conn.transaction():
                claimed = conn.execute(
                    "INSERT INTO holdspace.rooms (room, workstation_id) VALUES (%s, %s) "
                    "ON CONFLICT (room) DO UPDATE SET workstation_id = EXCLUDED.workstation_id "
                    "WHERE rooms.workstation_id IS NULL "
                    "OR rooms.workstation_id = EXCLUDED.workstation_id RETURNING room",
                    (self.room, ws)).fetchone()
            if claimed is None:
                raise RoomMismatch(
                    f"The central server already holds room {self.room!r} from another "
                    "database file — two consoles (or a new, empty file) cannot send as the "
                    "same room. Give this console its own room name, or ask IT")
            for t in self.tables:
                conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS incoming_{t} "
                             f"(LIKE holdspace.{t}) ON COMMIT DELETE ROWS")
            conn.commit()
        except BaseException:
            conn.close()
            raise
        self._pg = conn

    def _rewind(self) -> bool:
        """On each (re)connection. A server restored from a backup holds less than the file
        says was sent: send again from what it holds. Each push commits whole and in order, so
        a room's rows on the server are every row up to its highest id (the primary key's
        index answers this at once). Patients and sessions are upserted again once."""
        rewound = False
        assert self._sq is not None
        for t in self.tables:
            top = self._pg.execute(f"SELECT MAX(id) FROM holdspace.{t} WHERE room = %s",
                                   (self.room,)).fetchone()[0] or 0
            mine = self._sq.execute(f"SELECT MAX(id) FROM {t}").fetchone()[0] or 0
            if top > mine:
                # The server has rows of this file that the file no longer has: the file was
                # put back from an older backup. Its next rows would reuse those ids and be
                # taken for copies already sent; stop loudly rather than lose them quietly.
                self._pg.rollback()
                raise RoomMismatch(
                    f"The central server holds more of room {self.room!r} than this database "
                    "file (was the file put back from a backup?) — new rows would clash with "
                    "what the server has. Give this console a new room name, or ask IT")
            if top < self._ids.get(t, 0):
                log.warning("central server: it holds %s of room %s only up to id %s (the file "
                            "had sent up to %s; restored from a backup?) — sending again from "
                            "there", t, self.room, top, self._ids.get(t, 0))
                self._ids[t] = top
                rewound = True
        if any(self._pushed_rows.values()):  # a handful of rows: upsert them all once more,
            self._pushed_rows = {"patients": {}, "sessions": {}}  # in case the server lost some
            rewound = True
        self._pg.commit()
        return rewound

    def _close_pg(self) -> None:
        if self._pg is not None:
            with contextlib.suppress(Exception):
                self._pg.close()
            self._pg = None

    def _push(self, snap: _Snapshot) -> Pushed:
        pg = self._pg
        room = self.room
        out = Pushed(0.0)
        with pg.transaction():
            for t in ("patients", "sessions"):
                rows = list(snap.changed[t].values())
                if not rows:
                    continue
                names = [c for c, _ in schema.COLUMNS[t]]
                upd = schema.UPDATABLE[t]
                sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in upd)
                differ = " OR ".join(f"{t}.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in upd)
                with pg.cursor() as cur:
                    cur.executemany(
                        f"INSERT INTO holdspace.{t} (room, {', '.join(names)}) VALUES "
                        f"(%s, {', '.join(['%s'] * len(names))}) ON CONFLICT (room, id) DO "
                        f"UPDATE SET {sets} WHERE {differ}",
                        [(room, *r) for r in rows])
                out.rows[t] = len(rows)
            for t in self.tables:
                rows = snap.rows[t]
                if not rows:
                    continue
                cols = schema.COLUMNS[t]
                listed = ", ".join(c for c, _ in cols)
                with pg.cursor() as cur:
                    with cur.copy(f"COPY incoming_{t} (room, {listed}) FROM STDIN "
                                  "(FORMAT BINARY)") as cp:
                        cp.set_types(["text", *(_pg_type(ty) for _, ty in cols)])
                        for r in rows:
                            cp.write_row((room, *r))
                    cur.execute(f"INSERT INTO holdspace.{t} (room, {listed}) SELECT room, "
                                f"{listed} FROM incoming_{t} ON CONFLICT DO NOTHING")
                out.rows[t] = len(rows)
            pg.execute(
                "INSERT INTO holdspace.rooms (room, workstation_id, last_push_at, behind_rows, "
                "behind_seconds, last_error) VALUES (%s, %s, now(), %s, %s, NULL) "
                "ON CONFLICT (room) DO UPDATE SET last_push_at = EXCLUDED.last_push_at, "
                "behind_rows = EXCLUDED.behind_rows, behind_seconds = EXCLUDED.behind_seconds, "
                "last_error = NULL",
                (room, replication_state.workstation_id(self._sq) if self._sq else None,
                 snap.behind_rows, snap.behind_seconds))
        out.committed = time.time()
        if self.on_pushed is not None:
            c = out.committed
            out.lags = {"events": [c - r[3] for r in snap.rows["events"]],
                        "readings": [c - r[2] for r in snap.rows["readings"]]}
            if "waveforms" in snap.rows:  # t0 + n / rate_hz: when its last sample was taken
                out.lags["waveforms"] = [c - (r[4] + r[6] / r[5]) for r in snap.rows["waveforms"]]
        return out

    # ------------------------------------------------------------------ trouble
    def _failed(self, e: Exception) -> None:
        import psycopg

        if isinstance(e, psycopg.Error | RoomMismatch | NotSetUp) or (
                self._pg is not None and self._pg.closed):
            self._close_pg()
        now = time.time()
        since = self._status.error_since or now
        words = _plain(e, since)
        if words != self._status.last_error:
            # logged without the address's password and without any row
            log.warning("central server: %s", words)
        status = replace(self._status, connected=False, last_error=words, error_since=since)
        if self._waiting is not None:  # the push did not happen: all of it is still to send
            status = replace(status, behind_rows=self._waiting[0], behind_seconds=self._waiting[1])
        if status.last_error != self._status.last_error and self._sq is not None:
            with contextlib.suppress(sqlite3.Error):  # busy or full: the status is only a note
                replication_state.save(self._sq, {}, now, self._stored(status))
        self._set(status)

    def _stored(self, s: SyncStatus) -> replication_state.StoredStatus:
        assert self._sq is not None
        return replication_state.StoredStatus(
            replication_state.workstation_id(self._sq), s.room, s.server, s.connected,
            s.behind_rows, s.behind_seconds, s.last_error, s.error_since, time.time())

    def _set(self, status: SyncStatus) -> None:
        changed = status != self._status
        self._status = status
        if changed and self.on_status is not None:
            try:
                self.on_status(status)
            except Exception:
                log.exception("the sync status callback failed")


class NotSetUp(Exception):
    """The server lacks Holdspace's schema (or has an older one)."""


@dataclass
class _Snapshot:
    changed: dict[str, dict[int, tuple[Any, ...]]] = field(default_factory=dict)
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    upto: dict[str, int] = field(default_factory=dict)
    behind_rows: int = 0  # after this push
    behind_seconds: float = 0.0
    waiting_rows: int = 0  # before it (what is still to send if the push fails)
    waiting_seconds: float = 0.0
    more: bool = False

    @property
    def anything(self) -> bool:
        return any(self.changed.values()) or any(self.rows.values())


_TIME = {"events": 3, "readings": 2, "waveforms": 4}  # the time column's place in a row


def _pg_type(declared: str) -> str:
    return declared.replace(" not null", "")


def _plain(e: BaseException, since: float) -> str:
    """The problem in the nurse's words; the technical reason in brackets for IT."""
    import psycopg

    at = clock_text(since)
    local = "this room keeps recording locally and sends everything when it is back"
    if isinstance(e, RoomMismatch | NotSetUp):
        return f"{e} (since {at}) — this room keeps recording locally"
    if isinstance(e, psycopg.errors.InsufficientPrivilege):
        return (f"The central server refused this room's rows since {at} "
                f"({schema.explain(e)}) — the login in sync.url is not this room's; "
                f"this room keeps recording locally")
    if isinstance(e, psycopg.OperationalError):
        reason = schema.explain(e)
        if "password authentication failed" in reason or "no password supplied" in reason:
            return (f"The central server refused this room's login since {at} (wrong user or "
                    f"password) — {local}")
        return f"Central server not reachable since {at} ({_short(reason)}) — {local}"
    if isinstance(e, psycopg.Error):
        return f"The central server reported a problem since {at} ({schema.explain(e)}) — {local}"
    if isinstance(e, sqlite3.Error):
        return f"This room's database could not be read for sending since {at} ({e})"
    return f"Sending to the central server stopped since {at} ({type(e).__name__}: {e}) — {local}"


def _short(reason: str) -> str:
    """libpq's 'connection to server at "h" (1.2.3.4), port 5432 failed: Connection refused'
    → 'connection refused'."""
    tail: str = reason.rsplit(": ", 1)[-1].strip()
    return tail[:1].lower() + tail[1:] if tail else reason


def settings_from(extra: dict[str, Any], url: str | None = None, room: str | None = None,
                  waveforms: bool | None = None) -> SyncSettings | None:
    """This workstation's sync settings: the command line's `--sync URL --room NAME` over
    the workstation's `sync` settings; None when replication is off (no URL anywhere).
    Raises AddressError (words) for an address or room that cannot be used."""
    from console.replication.address import AddressError

    saved = extra.get("sync") if isinstance(extra.get("sync"), dict) else {}
    assert isinstance(saved, dict)
    u = url if url is not None else saved.get("url") or None
    if not u:
        if room:
            raise AddressError("--room names this room on the central server: give the server "
                               "too, --sync postgresql://USER@HOST/DATABASE")
        return None
    r = room if room is not None else saved.get("room")
    if not r:
        raise AddressError("say which room this is on the central server: --room NAME "
                           "(or `room` in the workstation's sync settings)")
    w = waveforms if waveforms is not None else bool(saved.get("waveforms", False))
    return SyncSettings(check_url(str(u)), check_room(str(r)), w)
