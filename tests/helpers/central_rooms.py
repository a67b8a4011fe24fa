"""Treatment rooms for the central station's tests: each a real SQLite file written by the real
writer through the real core (SessionService, DoseDay: checklist, dose, alarms), replicated to
a real PostgreSQL server by the room's own replicator. Only the clock is a FakeClock, started
a little in the past and moved as values are fed, so the room's record ends near the present.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from console.core.clock import FakeClock
from console.core.dosing.dose_day import DoseDay
from console.core.dosing.templates import load_catalog
from console.core.session import SessionService, Staff
from console.replication import schema
from console.replication.replicator import Replicator, SyncSettings
from console.store import records
from console.store.db import open_reader
from console.store.writer import StoreWriter
from devices import mdc
from devices.reading import Reading
from tests.helpers.fixtures import wait_until
from tests.helpers.pg import Cluster

MON = "Philips IntelliVue"
STATION_PW = "station-pw"


@dataclass
class Room:
    name: str
    path: Path
    clock: FakeClock
    writer: StoreWriter
    sessions: SessionService
    replicator: Replicator | None = None
    day: DoseDay | None = None

    def start(self, patient: str, template: str = "im") -> DoseDay:
        pid = self.writer.call(lambda c: records.create_patient(
            c, patient, self.clock.now(), identifier=f"ID-{patient}", weight_kg=70.0)
        ).result(10)
        self.sessions.start(pid, template=template)
        tpl = load_catalog().get(template)
        assert tpl is not None
        self.day = DoseDay.open(tpl, self.sessions, self.clock, self.sessions.reader,
                                self.manual_in)
        return self.day

    def manual_in(self, readings: list[Reading]) -> None:
        """Values typed by hand: stored with the session and seen by the rules, as the room's
        acquisition hub does with them."""
        assert self.sessions.current is not None and self.day is not None
        self.writer.add_samples(self.sessions.current.id, list(readings))
        self.day.readings(readings)

    def feed(self, seconds: float, hr: float = 72, spo2: float = 97, step: float = 5.0,
             bp: tuple[float, float] | None = None) -> None:
        """Monitor values every `step` s, stored and seen by the room's alarm rules."""
        assert self.day is not None and self.sessions.current is not None
        sid = self.sessions.current.id
        for _ in range(int(seconds // step) + 1):
            t = self.clock.now()
            batch = [Reading(t, MON, mdc.MDC_ECG_HEART_RATE, hr, mdc.MDC_DIM_BEAT_PER_MIN),
                     Reading(t, MON, mdc.MDC_PULS_OXIM_SAT_O2, spo2, mdc.MDC_DIM_PERCENT)]
            if bp is not None:
                batch += [Reading(t, MON, mdc.MDC_PRESS_BLD_NONINV_SYS, bp[0], mdc.MDC_DIM_MMHG),
                          Reading(t, MON, mdc.MDC_PRESS_BLD_NONINV_DIA, bp[1], mdc.MDC_DIM_MMHG)]
                bp = None
            self.writer.add_samples(sid, batch)
            self.day.readings(batch)
            self.clock.advance(step)
        self.clock.advance(-step)

    def dosed(self, patient: str) -> DoseDay:
        """A session with the checklist done, a calm baseline and a first dose."""
        day = self.start(patient)
        for item in day.template.checklist:
            day.set_item(item.id, {"confirm": True, "text": "Sam, 555-0100",
                                   "hours": 6.0}[item.kind])
        self.feed(60, bp=(124, 78))
        day.give_dose("50", lot="K-1", given_by="Dr Lee", confirmed=True)
        self.feed(120)
        self.writer.flush()
        return day

    def replicate(self, url: str, heartbeat: float = 0.5) -> Replicator:
        # the replicator's own poll (0.5 s); a quicker heartbeat so a test sees a stopped
        # room go stale in seconds
        self.replicator = Replicator(self.path, SyncSettings(url, self.name),
                                     heartbeat=heartbeat)
        self.replicator.start()
        return self.replicator


def station_url(pg: Cluster, db: str) -> str:
    return pg.url(db, user="holdspace_central_ro", password=STATION_PW)


def init_server(pg: Cluster, db: str, names: list[str]) -> dict[str, str]:
    """`central init` with a login per room and the station's; each room's URL."""
    pws = {n: f"pw-{i}" for i, n in enumerate(names)}
    schema.init(pg.url(db), [(n, pws[n]) for n in names], STATION_PW)
    from console.replication.address import login_for

    return {n: pg.url(db, user=login_for(n), password=pws[n]) for n in names}


@contextmanager
def rooms(tmp_path: Path, names: list[str], minutes_ago: float = 3.5) -> Iterator[list[Room]]:
    """Rooms with running writers (stopped, with their replicators, at the end)."""
    out: list[Room] = []
    with ExitStack() as stack:
        for i, name in enumerate(names):
            path = tmp_path / f"room{i + 1}.db"
            clock = FakeClock(time.time() - minutes_ago * 60)
            writer = StoreWriter(str(path), flush_interval=0.05)
            writer.start()
            reader = open_reader(path)
            sessions = SessionService(clock, writer, reader)
            sessions.set_user(Staff("Ana Nurse", "nurse"))
            room = Room(name, path, clock, writer, sessions)
            out.append(room)

            def close(room: Room = room, reader=reader) -> None:
                if room.replicator is not None:
                    room.replicator.stop(flush=2.0)
                room.writer.stop()
                reader.close()

            stack.callback(close)
        yield out


def on_server(url: str, room: str, table: str) -> int:
    with psycopg.connect(url) as c:
        row = c.execute(f"SELECT count(*) FROM holdspace.{table} WHERE room = %s",
                        (room,)).fetchone()
        return int(row[0]) if row else 0


def caught_up(room: Room, url: str, timeout: float = 20.0) -> bool:
    """The server holds every event and reading of the room's file."""
    import sqlite3

    def done() -> bool:
        conn = sqlite3.connect(room.path)
        try:
            want = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                    for t in ("events", "readings")}
        finally:
            conn.close()
        return all(on_server(url, room.name, t) == n for t, n in want.items())

    return wait_until(done, timeout=timeout, poll=0.1)
