"""Which events are on the disk yet: the bridge from the writer's Futures to the views.

The writer confirms each clinical event with a Future once its transaction is committed
(`StoreWriter.append_event`). A view shows an entry as saved only then. `SaveWatch` keeps
those Futures by uid: `state(uid)` answers from any thread at any time, and `done` listeners
hear each outcome on the owner thread. `post` is how to get there from the writer thread
(the app sets it to the GUI poster); without it nothing is announced and views see the
change on their next refresh through `state`. Nothing here ever waits on the disk.

`settle` is the same rule for a writer call whose result a press needs (a new patient's row,
a weight): the GUI thread waits at most `QUICK_S` for it, then goes on and hears the answer
through `post`; `refused_words` says why the database refused, for the person at the console.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass
from typing import TypeVar

from console.core.observers import Observers
from console.store import engine
from console.store.events import Event

log = logging.getLogger(__name__)
T = TypeVar("T")
Post = Callable[[Callable[[], None]], None]
PRUNE_AT = 512  # followed Futures kept before the settled, saved ones are dropped
QUICK_S = 0.5  # how long a press may wait for the writer before the screen goes on without it


def settle(fut: Future[T], post: Post, done: Callable[[T], None],
           failed: Callable[[BaseException], None], quick: float = QUICK_S) -> bool:
    """Hand the writer's answer to `done` (or its refusal to `failed`) on the caller's thread:
    at once when it comes within `quick` seconds (a healthy disk: the change is there right
    after the press), else through `post` when it comes. True when it has already settled.
    The caller never waits longer than `quick`; a slow disk is the caller's to say."""
    wait([fut], timeout=quick)
    if not fut.done():
        fut.add_done_callback(lambda f: post(lambda: _deliver(f, done, failed)))
        return False
    _deliver(fut, done, failed)
    return True


def _deliver(fut: Future[T], done: Callable[[T], None],
             failed: Callable[[BaseException], None]) -> None:
    e = fut.exception()
    if e is None:
        done(fut.result())
    else:
        log.error("a write was refused: %s", type(e).__name__, exc_info=e)
        failed(e)


def refused_words(e: BaseException) -> str:
    """Why the database refused a write, in words for the room (by SQLite's result code,
    not its English); ends with a full stop."""
    name = getattr(e, "sqlite_errorname", "") or ""
    text = " ".join(str(e).split())
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return ("the disk is full, or a file-size limit keeps the database from growing. "
                "Call support to free space.")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in text:
        return "another program is holding the database. Close it, or call support."
    if name.startswith("SQLITE_READONLY"):
        return "the database file is read-only. Call support."
    if name.startswith("SQLITE_IOERR"):
        return "the disk refused to write. Call support."
    if isinstance(e, engine.IntegrityError) and "patients.identifier" in text:
        return ("a patient with this identifier (MRN) is already on this console. Choose "
                "them under Existing patient, or check the number.")
    return f"the database did not accept it ({text or type(e).__name__})."


class SaveState(enum.Enum):
    SAVING = "saving"  # queued, not committed yet
    SAVED = "saved"  # committed (synced to the disk)
    FAILED = "failed"  # refused by the database: set aside for support, not in the record


@dataclass(frozen=True, slots=True)
class SaveOutcome:
    event: Event
    error: str | None  # None when saved; else what to tell the person at the console

    @property
    def saved(self) -> bool:
        return self.error is None


def _error_text(f: Future[Event]) -> str | None:
    e = f.exception()
    return None if e is None else str(e) or type(e).__name__


class SaveWatch:
    def __init__(self, post: Post | None = None) -> None:
        self.post = post
        self.done: Observers[SaveOutcome] = Observers()  # on the owner thread, via `post`
        self.closed = False  # set when the console closes: late news is no longer announced
        self._futures: dict[str, Future[Event]] = {}
        self._lock = threading.Lock()

    def watch(self, event: Event, fut: Future[Event]) -> Future[Event]:
        """Follow `event` until its Future settles; returns the Future."""
        with self._lock:
            if len(self._futures) >= PRUNE_AT:
                self._prune()
            self._futures[event.uid] = fut
        fut.add_done_callback(lambda f: self._settled(event, f))
        return fut

    def future(self, event: Event) -> Future[Event]:
        """The Future of `event`; one not (or no longer) followed is already saved."""
        with self._lock:
            fut = self._futures.get(event.uid)
        if fut is None:
            fut = Future()
            fut.set_result(event)
        return fut

    def state(self, uid: str) -> SaveState:
        with self._lock:
            fut = self._futures.get(uid)
        if fut is None:
            return SaveState.SAVED
        if not fut.done():
            return SaveState.SAVING
        return SaveState.FAILED if fut.exception() is not None else SaveState.SAVED

    def error(self, uid: str) -> str | None:
        """Why the event was not saved, or None."""
        with self._lock:
            fut = self._futures.get(uid)
        return _error_text(fut) if fut is not None and fut.done() else None

    def pending(self) -> int:
        with self._lock:
            return sum(1 for f in self._futures.values() if not f.done())

    # ----- internals -----
    def _prune(self) -> None:
        for uid in [u for u, f in self._futures.items() if f.done() and not f.exception()]:
            del self._futures[uid]

    def _settled(self, event: Event, f: Future[Event]) -> None:
        """On the writer thread: hand the news to the owner thread."""
        post = self.post
        if post is not None:
            post(lambda: self._announce(event, f))

    def _announce(self, event: Event, f: Future[Event]) -> None:
        if self.closed:
            return  # news arriving after the console closed its reader: nobody to tell
        error = _error_text(f)
        if error is None:
            with self._lock:
                if self._futures.get(event.uid) is f:
                    del self._futures[event.uid]
        self.done.emit(SaveOutcome(event, error))
