"""Which bed an HL7 message is about, and whether it is this room's.

A gateway (Philips Information Center / PIC iX, GE CARESCAPE Gateway, Mindray eGateway) sends
every bed of a unit down one connection. The bed is PV1-3, "Assigned Patient Location" (HL7
v2.x Chapter 3, data type PL): component 1 point of care (unit), 2 room, 3 bed. `bed=` on a
listener names this room's bed: either one of those three components ("ROOM1") or the whole
label as it is listed ("KAP/ROOM1", components 1-3 joined by "/"). A message for another bed is
never decoded, shown or stored; nor is one whose choice would be ambiguous (a name that
matches two different beds: then nothing is stored and the status says so).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from devices.protocols.hl7_er7 import Segment

MAX_BEDS = 64  # beds remembered as heard; past that the oldest is forgotten


@dataclass(frozen=True, slots=True)
class Bed:
    point_of_care: str
    room: str
    bed: str

    @property
    def label(self) -> str:
        """How the bed is listed to people and chosen: "KAP/ROOM1", "ICU-3"."""
        return "/".join(p for p in (self.point_of_care, self.room, self.bed) if p)

    def matches(self, wanted: str) -> bool:
        w = wanted.strip().casefold()
        if not w:
            return False
        if w == self.label.casefold():
            return True
        return "/" not in w and any(
            w == p.casefold() for p in (self.point_of_care, self.room, self.bed) if p)


def bed_of(pv1: Segment) -> Bed | None:
    """The bed PV1-3 names, or None when it names none."""
    comps = [c.strip() for c in pv1.comps(3)[:3]]
    comps += [""] * (3 - len(comps))
    bed = Bed(*comps)
    return bed if bed.label else None


class BedChoice:
    """This room's bed on a gateway link, and every bed heard on it (shared by the link's
    connections). `wanted` None or empty: no bed chosen yet, nothing is admitted."""

    def __init__(self, wanted: str | None) -> None:
        self.wanted = (wanted or "").strip()
        self._heard: dict[str, float] = {}  # label -> when last heard
        self._matched: set[str] = set()
        self.unnamed = 0  # messages whose PV1-3 named no bed at all (never this room's)
        self._lock = threading.Lock()

    def admit(self, bed: Bed | None, now: float) -> bool:
        """Whether data for `bed` belongs to this room (and remember the bed as heard)."""
        label = bed.label if bed is not None else ""
        with self._lock:
            if label:
                self._heard.pop(label, None)
                self._heard[label] = now
                while len(self._heard) > MAX_BEDS:
                    del self._heard[next(iter(self._heard))]
            if bed is None or not bed.matches(self.wanted):
                return False
            self._matched.add(label)
            return len(self._matched) == 1

    def heard(self) -> list[tuple[str, float]]:
        """(label, last heard) of every bed heard, most recent first."""
        with self._lock:
            items = list(self._heard.items())
        return sorted(items, key=lambda kv: -kv[1])

    @property
    def matched(self) -> list[str]:
        with self._lock:
            return sorted(self._matched)

    @property
    def ambiguous(self) -> bool:
        with self._lock:
            return len(self._matched) > 1
