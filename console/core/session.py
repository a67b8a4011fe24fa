"""The session now open in this room, and who is at the console.

One `SessionService` per running console. Starting, resuming or ending a session goes
through the writer thread (so the GUI never holds a write lock). The caller waits at most
`QUICK_S` for that one small transaction (milliseconds on a healthy disk), so the change is
there at once as before; when the disk stalls the screen does not: the change completes on the
GUI thread (`post`) once the writer has done it, and a failure is announced (`failed`) in words
for the room. Listeners hear about the change on the GUI thread (the caller's, or `post`'s).
Only `find_interrupted`, at start-up before there is a window to freeze, waits longer.

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

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass
from typing import Any, TypeVar

from console.core.clock import Clock
from console.core.observers import Observers
from console.core.saving import QUICK_S, Post, SaveWatch, refused_words
from console.store import engine, owner, records
from console.store.events import Event
from console.store.writer import StoreWriter

log = logging.getLogger(__name__)
T = TypeVar("T")
STARTUP_S = 10.0  # at start-up, before the window exists, the interrupted sessions are found


def run_here(fn: Callable[[], None]) -> None:
    fn()


# Why a session cannot be signed yet (None: nothing against it): (reader, session id, its
# events) -> a message for the signer. A feature registers one (`add_sign_check`).
SignCheck = Callable[[engine.Connection, int, Sequence[Event]], str | None]


def no_note_session() -> int | None:
    return None


@dataclass(frozen=True, slots=True)
class Staff:
    name: str
    role: str  # e.g. "therapist", "nurse", "physician"


@dataclass(frozen=True, slots=True)
class NewPatient:
    """A patient typed in to start a session: stored in the same transaction as the session,
    so a refusal leaves neither."""

    display_name: str
    identifier: str | None = None
    birth_date: str | None = None
    weight_kg: float | None = None


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
        # What must be complete before a session is signed, registered by the features that
        # own it (the dosing feature: the REMS form); the notes consult them when signing.
        self.sign_checks: list[SignCheck] = []
        # The session the note is on (an ended one being finished, or the open one), set by
        # the notes feature; reports and exports default to it.
        self.note_session: Callable[[], int | None] = no_note_session
        # How a late answer from the writer gets back to the GUI thread (the app sets it to
        # ctx.post), and what is waiting for it: a second press waits too, in words.
        self.post: Post = run_here
        self.pending: str | None = None
        # A start, resume or end that the disk refused after the screen went on: in words.
        self.failed: Observers[str] = Observers()
        # What is waiting for a slow disk (None: nothing any more), for the window to say.
        self.pending_changed: Observers[str | None] = Observers()

    def _after(self, fut: Future[T], what: str, then: Callable[[T], None],
               on_failed: Callable[[str], None] | None = None) -> None:
        """Run `then(result)` now if the writer answers within QUICK_S (a quick failure is
        raised to the caller, as before); else on the GUI thread once it has, announcing a
        failure in `failed` (and to `on_failed`, in the same words). The screen never waits
        longer than QUICK_S for the disk."""
        wait([fut], timeout=QUICK_S)
        if not fut.done():
            self.pending = what
            self.pending_changed.emit(what)
            log.warning("the disk is slow: %s goes on when it answers", what)
            fut.add_done_callback(
                lambda f: self.post(lambda: self._late(f, what, then, on_failed)))
            return
        then(fut.result())

    def _late(self, fut: Future[T], what: str, then: Callable[[T], None],
              on_failed: Callable[[str], None] | None = None) -> None:
        self.pending = None
        self.pending_changed.emit(None)
        try:
            value = fut.result()
        except Exception as e:
            log.error("%s failed: %s", what, type(e).__name__, exc_info=e)
            message = (f"Holdspace could not {what}: {refused_words(e)} Nothing else was "
                       "changed; try again, and call support if it keeps happening.")
            self.failed.emit(message)
            if on_failed is not None:
                on_failed(message)
            return
        then(value)

    def _busy(self) -> None:
        if self.pending is not None:
            raise RuntimeError(f"still waiting for the disk to {self.pending}")

    def add_sign_check(self, check: SignCheck) -> None:
        """A feature's "may this session be signed?" (once per check)."""
        if check not in self.sign_checks:
            self.sign_checks.append(check)

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
        self.writer.call(  # at start-up: no window yet to freeze
            lambda c: records.mark_interrupted(c, lambda sid: owner.reap(path, sid), now)
        ).result(STARTUP_S)
        self._refresh_waiting()
        return self.waiting

    def resume(self, session_id: int) -> OpenSession | None:
        """Carry on recording into an interrupted session (recorded as `session.resumed`).
        Returns it, or None while a stalled disk still has it (`changed` follows)."""
        if self.current is not None:
            raise RuntimeError("a session is already open; end it first")
        self._busy()
        now, author = self.clock.now(), self.author

        def resume(c: engine.Connection) -> None:
            self.owners.claim(session_id)
            try:
                records.resume_session(c, session_id, now, author)
            except BaseException:
                self.owners.release(session_id, ended=True)
                raise

        def resumed(_: None) -> None:
            self.current = self._load(session_id)
            self._refresh_waiting()
            self.changed.emit(self.current)

        self._after(self.writer.call(resume), "resume the session", resumed)
        return self.current

    def end_interrupted(self, session_id: int) -> float | None:
        """Close an interrupted session where its record stops; returns that time (None
        while a stalled disk still has it: the list of waiting sessions follows)."""
        self._busy()
        now, author = self.clock.now(), self.author
        at: list[float] = []

        def ended(t: float) -> None:
            at.append(t)
            self._refresh_waiting()

        self._after(self.writer.call(
            lambda c: records.end_interrupted_session(c, session_id, now, author)),
            "end the interrupted session", ended)
        return at[0] if at else None

    def _refresh_waiting(self) -> None:
        self.waiting = records.waiting_sessions(self.reader)
        self.waiting_changed.emit(self.waiting)

    def start(self, patient_id: int | None, template: str | None = None,
              title: str | None = None, *, new_patient: NewPatient | None = None,
              on_failed: Callable[[str], None] | None = None) -> OpenSession | None:
        """Open a session (for `new_patient`, stored with it in one transaction); returns it,
        or None while a stalled disk still has it (`changed` follows, or `failed` and
        `on_failed` say why not). A refusal within QUICK_S is raised here."""
        if self.current is not None:
            raise RuntimeError("a session is already open; end it first")
        self._busy()
        now = self.clock.now()
        author = self.author
        if self.guard is not None:
            self.guard("session.started", author, {})

        def start(c: engine.Connection) -> int:
            pid = patient_id
            if new_patient is not None:
                p = new_patient
                pid = records.create_patient(c, p.display_name, now, p.identifier,
                                             p.birth_date, p.weight_kg, author)
            sid = records.start_session(c, pid, now, template, title, author)
            self.owners.claim(sid)  # in the same transaction: never seen unclaimed
            return sid

        def started(sid: int) -> None:
            self.current = self._load(sid)
            self.changed.emit(self.current)

        what = ("save the new patient and start the session" if new_patient is not None
                else "start the session")
        self._after(self.writer.call(start), what, started, on_failed)
        return self.current

    def end(self, reason: str | None = None) -> None:
        """End the open session; with a stalled disk it stays open on screen (monitoring
        and recording go on) until the end is stored, or `failed` says why not."""
        if self.current is None or self.pending is not None:
            return
        sid, now, author = self.current.id, self.clock.now(), self.author

        def ended(_: None) -> None:
            self.owners.release(sid, ended=True)
            if self.current is not None and self.current.id == sid:
                self.current = None
                self.changed.emit(None)

        self._after(self.writer.call(lambda c: records.end_session(c, sid, now, author, reason)),
                    "end the session", ended)

    def close(self) -> None:
        """The console is closing: let go of the open session, marked as closed on purpose
        (call after the writer has stored everything)."""
        self.saves.closed = True
        self.owners.release_all()

    def record(self, kind: str, payload: dict[str, object] | None = None, *,
               t: float | None = None, refers_to: str | None = None,
               author: str | None = None, automatic: bool = False) -> Event:
        """Append an event to the open session (or to no session) and return it at once,
        before it is on the disk: `saved(ev)` confirms it.

        `automatic`: the console did it by itself (a track ended, the dose timer moved the
        music, an alarm rose, a check fell overdue): it names no person, whoever is at the
        keyboard; the report and the timeline say "automatic"."""
        now = self.clock.now()
        # "" names nobody on purpose (an alarm silenced at the locked screen without a PIN)
        who = None if automatic else (author if author is not None else self.author) or None
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
