"""What the station shows of one room, derived from the room's rows with the console's code.

The clinical picture (time since dose, observation left, the check schedule, which alarms are
active, silenced or escalated) is the room's own `DoseDay` rebuilt from the replicated events
and readings: the same code the room runs, so the station and the room agree. The station's
DoseDay is read only: its session service refuses to record, and the station never calls a
method that acts (dose, tick, acknowledge); it asks only for `timers()`, `checks()` and the
alarm engine's active set.

A `RoomState` is made on the feed's thread and its fields are never reassigned: the window
reads it on the GUI thread (a newer one replaces it). The one shared part is its dose day:
rebuilding it costs a read of the whole session (~0.4 s for three hours of 1 Hz values), so
new readings alone are folded into the same day by the day's own `_take` (what `_restore`
does with stored readings), under the state's lock, which every question the window asks of
the day also takes. Events the dose day cares about (doses, checks, alarms, limits, scores)
rebuild it from the record, as the room does at a restart.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from console.core.clock import Clock
from console.core.dosing.alarms import TRUSTED, ActiveAlarm
from console.core.dosing.dose_day import CHECK_OF_SCORE, MY_PREFIXES, PARAM_OF_CODE, DoseDay
from console.core.dosing.templates import Catalog, Template
from console.core.dosing.timers import TimerSnapshot
from console.core.observers import Observers
from console.core.session import OpenSession, SessionService
from console.core.vitals_table import VITAL
from console.store import records
from console.store.events import Event
from devices import mdc
from devices.reading import Quality, Reading

# A value replicated from a room arrives a few seconds after it was measured (the room's
# batch, the push, the notification): the station greys it only this much later than the
# room's own tile would.
REPLICATION_ALLOWANCE_S = 10.0
# A room whose replicator has not pushed (nor sent its heartbeat) for this long is shown as
# stale: nothing in its panel can be trusted to be current.
STALE_AFTER_S = 15.0


class StationNeverWrites(RuntimeError):
    """Something tried to record through the station: it only reads."""


class _ReadOnlySessions:
    """The part of a SessionService the dose day reads; recording is refused."""

    def __init__(self, current: OpenSession) -> None:
        self.current: OpenSession | None = current
        self.recorded: Observers[Event] = Observers()
        self.author: str | None = None
        self.user = None

    def record(self, *_: object, **__: object) -> Event:
        raise StationNeverWrites("the central station never writes clinical data")


def _no_manual_values(_readings: list[Reading]) -> None:
    """Where the room's dose day sends values typed by hand: at the station, nowhere."""
    raise StationNeverWrites("the central station never takes values typed by hand")


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The room's replicator as the server last told it, and when we asked (monotonic)."""

    workstation_id: str | None
    age_s: float | None  # seconds since its last push when asked
    asked_at: float  # monotonic time of the asking
    behind_rows: int | None
    behind_seconds: float | None
    last_error: str | None
    stale_after: float = STALE_AFTER_S

    def age(self, mono_now: float) -> float | None:
        return None if self.age_s is None else self.age_s + max(0.0, mono_now - self.asked_at)

    def stale(self, mono_now: float) -> bool:
        a = self.age(mono_now)
        return a is None or a > self.stale_after


@dataclass(frozen=True, slots=True)
class Link:
    source: str
    state: str  # "live", "no data", "lost", "stopped"
    message: str
    since: float


@dataclass(frozen=True)
class RoomState:
    room: str
    heartbeat: Heartbeat | None = None
    session: records.SessionRow | None = None
    in_progress: bool = False  # the session is being recorded now
    patient_name: str | None = None
    template_title: str | None = None
    template_problem: str | None = None  # why timers and checks cannot be shown
    day: DoseDay | None = None
    latest: dict[str, Reading] = field(default_factory=dict)
    links: tuple[Link, ...] = ()
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def alarms(self) -> list[ActiveAlarm]:
        """The room's active alarms, highest priority first (none outside a session)."""
        if self.day is None or not self.in_progress:
            return []
        with self.lock:
            return self.day.alarms.ordered()

    def sounding(self, now: float) -> str | None:
        """The highest priority the room itself sounds now (its own silences respected)."""
        if self.day is None or not self.in_progress:
            return None
        with self.lock:
            return self.day.alarms.sounding(now)

    def timers(self) -> TimerSnapshot | None:
        if self.day is None or not self.in_progress:
            return None
        with self.lock:
            return self.day.timers()

    def under_observation(self) -> bool:
        """Dosed, and the minimum observation is not over: a patient who must be watched."""
        snap = self.timers()
        return snap is not None and snap.first_dose is not None and (
            snap.observation_left is None or snap.observation_left > 0)

    def take(self, rows: Sequence[Sequence[Any]]) -> None:
        """Fold new readings rows (console column order) into the day, as `_restore` does
        with the stored ones: only the displayed parameters' codes with a value."""
        if self.day is None:
            return
        readings = [Reading(r[2], r[3], r[4], r[5], r[6], Quality(r[7])) for r in rows
                    if r[4] in PARAM_OF_CODE and r[5] is not None]
        if readings:
            with self.lock:
                self.day._take(readings)


def rebuilds_day(kind: str) -> bool:
    """An event the dose day folds (doses, checks, alarms, limits, scores …)."""
    return kind.startswith(MY_PREFIXES) or kind in CHECK_OF_SCORE


def initials(name: str | None) -> str:
    """'Maria Keller' -> 'M. K.': enough to tell rooms apart, not to identify anyone."""
    if not name:
        return ""
    parts = [p for p in name.replace(",", " ").split() if p[:1].isalpha()]
    return " ".join(f"{p[0].upper()}." for p in parts[:3])


def _session_running(conn: sqlite3.Connection, row: records.SessionRow) -> bool:
    """Active in its row, and its last lifecycle event is not an end or an interruption
    (a room's replicator may push the end event before the changed row)."""
    if row.state != "active" or row.ended is not None:
        return False
    last = conn.execute(
        "SELECT kind FROM events WHERE session_id = ? AND kind IN ('session.ended', "
        "'session.interrupted', 'session.resumed') ORDER BY t DESC, id DESC LIMIT 1",
        (row.id,)).fetchone()
    return last is None or last[0] == "session.resumed"


def latest_values(conn: sqlite3.Connection, session_id: int) -> dict[str, Reading]:
    """The newest trusted value of each displayed parameter (HR may be a pulse rate), as the
    dose day keeps it: by the parameter of the code's canonical form, newest time wins."""
    out: dict[str, Reading] = {}
    codes = [*PARAM_OF_CODE, *(k for k, v in mdc.CANONICAL.items() if v in PARAM_OF_CODE)]
    trusted = [int(q) for q in TRUSTED]
    for code in codes:
        r = conn.execute(
            f"SELECT t, source, code, value, unit, quality FROM readings WHERE session_id = ? "
            f"AND code = ? AND value IS NOT NULL AND quality IN ({','.join('?' * len(trusted))})"
            " ORDER BY t DESC, id DESC LIMIT 1", [session_id, code, *trusted]).fetchone()
        if r is None or math.isnan(r[3]):
            continue
        param = PARAM_OF_CODE[mdc.canonical(code)]
        old = out.get(param)
        new = Reading(r[0], r[1], r[2], r[3], r[4], Quality(r[5]))
        if old is None or _better(param, new, old):
            out[param] = new
    return out


def _better(param: str, new: Reading, old: Reading) -> bool:
    """Newest wins, except that a current ECG heart rate is shown before an oximeter's pulse
    rate of the same moment (as the room's HR tile does)."""
    ecg = mdc.MDC_ECG_HEART_RATE
    if param == "hr" and (new.code == ecg) != (old.code == ecg):
        e, o = (new, old) if new.code == ecg else (old, new)
        prefer_ecg = e.t >= o.t - VITAL["hr"].stale_s
        return (new is e) == prefer_ecg
    return new.t >= old.t


def links(conn: sqlite3.Connection, session_id: int) -> tuple[Link, ...]:
    """Each monitor's link as the room last recorded it."""
    last: dict[str, Link] = {}
    for kind, t, payload in conn.execute(
            "SELECT kind, t, payload FROM events WHERE session_id = ? AND kind IN "
            "('link.state', 'link.stopped') ORDER BY t, id", (session_id,)):
        p = json.loads(payload)
        src = str(p.get("source") or "monitor")
        if kind == "link.stopped":
            last[src] = Link(src, "stopped", str(p.get("reason") or ""), t)
        else:
            last[src] = Link(src, str(p.get("state") or ""), str(p.get("message") or ""), t)
    return tuple(sorted(last.values(), key=lambda x: x.source))


def _protocol(conn: sqlite3.Connection, row: records.SessionRow) -> dict[str, Any]:
    r = conn.execute("SELECT payload FROM events WHERE session_id = ? AND kind = "
                     "'dose.protocol' ORDER BY t DESC, id DESC LIMIT 1", (row.id,)).fetchone()
    return cast(dict[str, Any], json.loads(r[0])) if r else {}


def _template(conn: sqlite3.Connection, row: records.SessionRow,
              catalog: Catalog) -> tuple[Template | None, str | None, str | None]:
    """(template, its title, why timers cannot be shown or differ)."""
    used = _protocol(conn, row)
    tid = used.get("template") or row.template
    title = used.get("title") or row.title or tid
    if tid is None:
        return None, title, None  # a recording without a protocol: vitals only
    tpl = catalog.get(tid)
    if tpl is None:
        return None, title, (f"The protocol “{tid}” is not on this computer: time since dose "
                             "and checks cannot be shown here — see the room.")
    note = None
    if used.get("sha256") and used["sha256"] != tpl.sha256:
        note = ("This computer's copy of the protocol differs from the room's: check times "
                "may differ — the room's screen is right.")
    return tpl, title or tpl.title, note


def derive(room: str, conn: sqlite3.Connection, session_id: int | None, catalog: Catalog,
           clock: Clock, heartbeat: Heartbeat | None) -> RoomState:
    """The room's picture from its mirror (see `mirror.py`) holding its current session."""
    row = records.get_session(conn, session_id) if session_id is not None else None
    if row is None:
        return RoomState(room, heartbeat)
    patient = records.get_patient(conn, row.patient_id) if row.patient_id else None
    running = _session_running(conn, row)
    tpl, title, problem = _template(conn, row, catalog)
    day = None
    if tpl is not None and running:
        day = DoseDay(tpl, cast(SessionService, _ReadOnlySessions(OpenSession(row, patient))),
                      clock, _no_manual_values)
        day._restore(conn)  # the room's own rebuild from its stored events and readings
    return RoomState(room, heartbeat, row, running,
                     patient.display_name if patient else None, title, problem, day,
                     latest_values(conn, row.id), links(conn, row.id))


def nibp_text(latest: dict[str, Reading]) -> str | None:
    s, d = latest.get("sys"), latest.get("dia")
    if s is None:
        return None
    if d is not None and abs(d.t - s.t) < 30:
        return f"{s.value:.0f}/{d.value:.0f}"
    return f"{s.value:.0f}/–"


def value_text(param: str, r: Reading | None) -> str | None:
    if r is None:
        return None
    return f"{r.value:.{VITAL[param].decimals}f}"


def hr_label(r: Reading | None) -> str:
    """HR from the ECG, PR from an oximeter: say which one the number is."""
    if r is not None and mdc.canonical(r.code) != mdc.MDC_ECG_HEART_RATE:
        return "PR"
    return "HR"


Deliver = Callable[[dict[str, RoomState]], None]
