"""Unsaved typed text of the note, kept as drafts in the database while it is typed.

Holdspace's rule is that nothing typed is lost: a kill or a power cut loses at most the last
second. The pane tells `typed` what a box holds now (or None once it is empty); at most once
a second it calls `flush`, which hands everything changed since to the writer thread in ONE
`StoreWriter.call` (one transaction, synced to the disk like every write). When the box's
text is saved, `saved` drops what is pending and deletes the drafts written so far once the
save event has committed — never before, so a crash between the two finds the draft still
there (it is then dropped on restore if it equals what was saved). Drafts are not part of the
record (console/store/drafts.py); nothing here is logged but the kind of a failure.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import Any

from console.core.clock import Clock
from console.store import drafts as store
from console.store import engine
from console.store.drafts import Draft
from console.store.events import Event
from console.store.writer import StoreWriter

log = logging.getLogger(__name__)
FLUSH_S = 1.0  # the longest typed text waits before it is on the disk


class Drafts:
    """The drafts of whatever session the note is on (used on the GUI thread)."""

    def __init__(self, clock: Clock, writer: StoreWriter, reader: engine.Connection) -> None:
        self.clock = clock
        self.writer = writer
        self.reader = reader
        # (session, box) -> (author, content) to write; content None: delete the draft.
        self._pending: dict[tuple[int, str], tuple[str, dict[str, Any] | None]] = {}
        self._rev: int | None = None
        self.writes = 0  # writer calls that kept typed text (one per flush)
        self.removals = 0  # writer calls that deleted drafts (saved or discarded)

    def _next_rev(self) -> int:
        if self._rev is None:
            self._rev = store.highest_rev(self.reader)
        self._rev += 1
        return self._rev

    def _current_rev(self) -> int:
        if self._rev is None:
            self._rev = store.highest_rev(self.reader)
        return self._rev

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def typed(self, session_id: int | None, box: str, author: str | None,
              content: dict[str, Any] | None) -> None:
        """What `box` holds now (None: nothing any more); written at the next `flush`."""
        if session_id is None:
            return
        self._pending[(session_id, box)] = (author or "", content)

    def flush(self) -> Future[None] | None:
        """Everything typed since the last flush, to the writer in one call (None: nothing)."""
        if not self._pending:
            return None
        now = self.clock.now()
        todo = [(sid, box, author, content, self._next_rev())
                for (sid, box), (author, content) in self._pending.items()]
        self._pending.clear()

        def write(c: engine.Connection) -> None:
            for sid, box, author, content, rev in todo:
                if content is None:
                    store.remove(c, sid, box, rev)
                else:
                    store.put(c, sid, box, author, content, rev, now)

        self.writes += 1
        fut = self.writer.call(write)
        fut.add_done_callback(_log_failure)
        return fut

    def saved(self, session_id: int | None, box: str, event: Future[Event] | None) -> None:
        """The box's text was saved: its drafts so far go once `event` is committed (at once
        when nothing needed saving). Text typed after this call is kept."""
        if session_id is None:
            return
        self._pending.pop((session_id, box), None)
        upto = self._current_rev()
        if event is None:
            self._remove(session_id, box, upto)
            return

        def committed(f: Future[Event]) -> None:  # on the writer thread: only queues
            if f.exception() is None:
                self._remove(session_id, box, upto)

        event.add_done_callback(committed)

    def discard(self, session_id: int | None, box: str, upto: int | None = None) -> None:
        """The box's unsaved text was thrown away on purpose (or, with `upto`, a restored
        draft holds only what was saved): its drafts up to that rev go."""
        if session_id is None:
            return
        self._pending.pop((session_id, box), None)
        self._remove(session_id, box, max(upto or 0, self._current_rev()))

    def _remove(self, session_id: int, box: str, upto: int) -> None:
        self.removals += 1
        fut = self.writer.call(lambda c: store.remove(c, session_id, box, upto))
        fut.add_done_callback(_log_failure)

    def of_session(self, session_id: int | None) -> list[Draft]:
        """The session's drafts on the disk, newest first; nothing for no session."""
        if session_id is None:
            return []
        try:
            return store.of_session(self.reader, session_id)
        except engine.OperationalError:
            log.warning("the drafts could not be read")
            return []


def _log_failure(f: Future[Any]) -> None:
    e = f.exception()
    if e is not None:  # the text stays in its box; no patient text in the log
        log.error("a draft could not be written: %s", type(e).__name__)
