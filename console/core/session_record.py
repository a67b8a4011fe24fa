"""The read model of one dosing day: what the note says now, built from the append-only log.

Nothing is updated in place. An amendment (`note.amended`, refers_to = the original's uid)
carries only the fields it changes; the current view is the original payload with each
amendment laid over it in the order written, and the original stays in `history`. A
`sign.signed` event locks the session; after it only signed addenda (`sign.addendum`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from console.core.event_kinds import kind_label
from console.store.events import Event

AMEND = "note.amended"
SIGN = "sign.signed"
ADDENDUM = "sign.addendum"

# The families this feature writes and may amend; other features correct their own entries.
AMENDABLE_PREFIXES = ("note.", "score.", "ae.", "discharge.", "outcome.", "course.")


@dataclass
class Entry:
    """One clinical entry as it reads now, with every version kept."""

    original: Event
    amendments: list[Event] = field(default_factory=list)

    @property
    def uid(self) -> str:
        return self.original.uid

    @property
    def kind(self) -> str:
        return self.original.kind

    @property
    def t(self) -> float:
        return float(self.current.get("t", self.original.t))

    @property
    def author(self) -> str | None:
        return self.original.author

    @property
    def amended(self) -> bool:
        return bool(self.amendments)

    @property
    def current(self) -> dict[str, Any]:
        data = dict(self.original.payload)
        for a in self.amendments:
            data.update(a.payload.get("changes", {}))
        return data

    @property
    def summary(self) -> str:
        return str(self.current.get("summary") or kind_label(self.kind))

    def history(self) -> list[Event]:
        """The original then each amendment, oldest first."""
        return [self.original, *self.amendments]


@dataclass
class Signature:
    name: str
    role: str
    t: float
    uid: str


@dataclass
class SessionRecord:
    """Everything written for one session, in clinical time order."""

    events: list[Event]
    entries: dict[str, Entry]
    signature: Signature | None
    addenda: list[Event]

    @property
    def locked(self) -> bool:
        return self.signature is not None

    def entry(self, uid: str) -> Entry | None:
        return self.entries.get(uid)

    def of_kind(self, prefix: str) -> list[Entry]:
        """Entries whose kind starts with `prefix`, in clinical time order."""
        out = [e for e in self.entries.values() if e.kind.startswith(prefix)]
        return sorted(out, key=lambda e: (e.t, e.original.recorded or e.t))

    def section(self, name: str) -> Entry | None:
        """The latest saved version of a note section (a later save amends the first)."""
        for e in self.of_kind(""):
            if e.kind in ("note.section", "discharge.recorded") and \
                    e.original.payload.get("section") == name:
                return e
        return None

    def doses(self) -> list[Event]:
        """The dose log as written by the dose feature (`dose.given`), in time order."""
        return [e for e in self.events if e.kind == "dose.given"]

    def voided(self) -> dict[str, Event]:
        """Doses marked entered in error: dose uid -> the `dose.entered_in_error` event. They
        stay in `doses()` (nothing is deleted) but must not count."""
        return {e.refers_to: e for e in self.events
                if e.kind == "dose.entered_in_error" and e.refers_to}


def build_record(events: Iterable[Event]) -> SessionRecord:
    """Fold a session's events (any order) into the current view."""
    evs = sorted(events, key=lambda e: (e.t, e.recorded if e.recorded is not None else e.t))
    entries: dict[str, Entry] = {}
    amendments: list[Event] = []
    signature: Signature | None = None
    addenda: list[Event] = []
    for ev in evs:
        if ev.kind == AMEND:
            amendments.append(ev)
        elif ev.kind == SIGN:
            if signature is None:
                p = ev.payload
                signature = Signature(str(p.get("name", ev.author or "")),
                                      str(p.get("role", "")), ev.t, ev.uid)
        elif ev.kind == ADDENDUM:
            addenda.append(ev)
        elif ev.kind.startswith(AMENDABLE_PREFIXES):
            entries[ev.uid] = Entry(ev)
    # Amendments apply in the order they were written, whatever clinical time they carry.
    for a in sorted(amendments, key=lambda e: e.recorded if e.recorded is not None else e.t):
        target = entries.get(a.refers_to or "")
        if target is not None:
            target.amendments.append(a)
    return SessionRecord(evs, entries, signature, addenda)
