"""The session now open in this room, and who is at the console.

One `SessionService` per running console. Starting or ending a session goes through the
writer thread (so the GUI never holds a write lock) and waits for that one small transaction.
Listeners hear about the change on the caller's thread (the GUI thread in the app).

`record` appends an event and returns it at once; it is confirmed only when committed:
`saved(ev)` gives its Future, `saves.state(uid)` says saving / saved / failed, and
`saves.done` announces each outcome on the GUI thread (the app sets `saves.post`).

The session being recorded is claimed (console/store/owner.py) in the transaction that opens
it, so at the next start a session still 'active' but claimed by nobody is known to have
stopped with its process. `find_interrupted` marks those interrupted and lists them; the
window offers to resume or end each (`resume`, `end_interrupted`): nothing is resumed without
someone in the room choosing it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from console.core.clock import Clock
from console.core.observers import Observers
from console.core.saving import SaveWatch
from console.store import engine, owner, records
from console.store.events import Event
from console.store.writer import StoreWriter


@dataclass(frozen=True, slots=True)
class Staff:
    name: str
    role: str  # e.g. "therapist", "nurse", "physician"


@dataclass(frozen=True, slots=True)
class OpenSession:
    row: records.SessionRow
    patient: records.Patient | None

    @property
    def id(self) -> int:
        return self.row.id


class SessionService:
    def __init__(self, clock: Clock, writer: StoreWriter, reader: engine.Connection) -> None:
        self.clock = clock
        self.writer = writer
        self.reader = reader
        self.current: OpenSession | None = None
        self.user: Staff | None = None
        self.owners = owner.SessionOwnership(writer.path)
        # Interrupted sessions waiting for someone to resume or end them, newest first.
        self.waiting: list[records.Interrupted] = []
        self.waiting_changed: Observers[list[records.Interrupted]] = Observers()
        self.changed: Observers[OpenSession | None] = Observers()  # opened or closed
        # The open session's patient details changed (e.g. weight entered): not a new session.
        self.patient_changed: Observers[OpenSession] = Observers()
        self.user_changed: Observers[Staff | None] = Observers()
        # Every event appended through `record`, so one feature can react to another's
        # (e.g. a MOAA/S scored in the notes satisfies the dose feature's sedation check).
        self.recorded: Observers[Event] = Observers()
        # Which recorded events are committed yet (shared with the note book).
        self.saves = SaveWatch()
        # Every event now on disk, from any part of the console (window, links, alarms), in
        # commit order, on the thread that calls `announce` (the app: the GUI thread). The
        # features hear each other's events here instead of polling the database
        # (kinds that cross features: console/core/event_kinds.py).
        self.committed: Observers[list[Event]] = Observers()
        # Asked before anything is recorded: (kind, author, payload) -> None, or raises a
        # ValueError saying who may (console/core/people: the role table and PINs). None
        # where nobody signs in (`holdspace record`, tests of one part).
        self.guard: Callable[[str, str | None, Mapping[str, Any]], None] | None = None

    @property
    def author(self) -> str | None:
        return self.user.name if self.user else None

    def set_user(self, user: Staff | None) -> None:
        self.user = user
        self.user_changed.emit(user)

    def find_interrupted(self) -> list[records.Interrupted]:
        """At start-up: mark the sessions whose process died as interrupted (at their last
        stored data) and list the ones waiting for a decision."""
        now, path = self.clock.now(), self.writer.path
        self.writer.call(
            lambda c: records.mark_interrupted(c, lambda sid: owner.reap(path, sid), now)
        ).result(10)
        self._refresh_waiting()
        return self.waiting

    def resume(self, session_id: int) -> OpenSession:
        """Carry on recording into an interrupted session (recorded as `session.resumed`)."""
        if self.current is not None:
            raise RuntimeError("a session is already open; end it first")
        now, author = self.clock.now(), self.author

        def resume(c: engine.Connection) -> None:
            self.owners.claim(session_id)
            try:
                records.resume_session(c, session_id, now, author)
            except BaseException:
                self.owners.release(session_id, ended=True)
                raise

        self.writer.call(resume).result(10)
        self.current = self._load(session_id)
        self._refresh_waiting()
        self.changed.emit(self.current)
        return self.current

    def end_interrupted(self, session_id: int) -> float:
        """Close an interrupted session where its record stops; returns that time."""
        now, author = self.clock.now(), self.author
        at = self.writer.call(
            lambda c: records.end_interrupted_session(c, session_id, now, author)).result(10)
        self._refresh_waiting()
        return at

    def _refresh_waiting(self) -> None:
        self.waiting = records.waiting_sessions(self.reader)
        self.waiting_changed.emit(self.waiting)

    def start(self, patient_id: int | None, template: str | None = None,
              title: str | None = None) -> OpenSession:
        if self.current is not None:
            raise RuntimeError("a session is already open; end it first")
        now = self.clock.now()
        author = self.author
        if self.guard is not None:
            self.guard("session.started", author, {})

        def start(c: engine.Connection) -> int:
            sid = records.start_session(c, patient_id, now, template, title, author)
            self.owners.claim(sid)  # in the same transaction: never seen unclaimed
            return sid

        sid = self.writer.call(start).result(10)
        self.current = self._load(sid)
        self.changed.emit(self.current)
        return self.current

    def end(self, reason: str | None = None) -> None:
        if self.current is None:
            return
        sid, now, author = self.current.id, self.clock.now(), self.author
        self.writer.call(lambda c: records.end_session(c, sid, now, author, reason)).result(10)
        self.owners.release(sid, ended=True)
        self.current = None
        self.changed.emit(None)

    def close(self) -> None:
        """The console is closing: let go of the open session, marked as closed on purpose
        (call after the writer has stored everything)."""
        self.saves.closed = True
        self.owners.release_all()

    def record(self, kind: str, payload: dict[str, object] | None = None, *,
               t: float | None = None, refers_to: str | None = None,
               author: str | None = None) -> Event:
        """Append an event to the open session (or to no session) and return it at once,
        before it is on the disk: `saved(ev)` confirms it."""
        now = self.clock.now()
        # "" names nobody on purpose (an alarm silenced at the locked screen without a PIN)
        who = (author if author is not None else self.author) or None
        if self.guard is not None:
            self.guard(kind, who, payload or {})
        ev = Event(
            kind=kind,
            t=now if t is None else t,
            payload=dict(payload or {}),
            session_id=self.current.id if self.current else None,
            author=who,
            refers_to=refers_to,
            recorded=now,
        )
        self.saves.watch(ev, self.writer.append_event(ev))
        self.recorded.emit(ev)
        return ev

    def announce(self, events: list[Event]) -> None:
        """The writer committed these (the app calls this on the GUI thread)."""
        self.committed.emit(events)

    def saved(self, ev: Event) -> Future[Event]:
        """Resolved with `ev` once it is committed with synchronous=FULL; fails with
        `console.store.writer.NotSaved` (a message for the console) if it was refused. Add a
        callback or wait off the GUI thread: never block the GUI on it."""
        return self.saves.future(ev)

    def refresh_patient(self) -> None:
        if self.current is not None:
            self.current = self._load(self.current.id)
            self.patient_changed.emit(self.current)

    def _load(self, sid: int) -> OpenSession:
        row = records.get_session(self.reader, sid)
        if row is None:  # the writer committed, so the reader must see it
            raise RuntimeError(f"session {sid} not found after commit")
        patient = records.get_patient(self.reader, row.patient_id) if row.patient_id else None
        return OpenSession(row, patient)
