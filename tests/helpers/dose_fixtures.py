"""Fixtures for the dose-and-observation tests: a real store, a session, a FakeClock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from console.core.acquisition import AcquisitionHub
from console.core.clock import FakeClock
from console.core.dosing.dose_day import DoseDay
from console.core.dosing.templates import Template, load_catalog
from console.core.session import SessionService
from console.store import records
from console.store.db import open_reader
from console.store.events import Event, session_events
from console.store.writer import StoreWriter
from devices import mdc
from devices.reading import Quality, Reading


@dataclass
class Core:
    path: Path
    clock: FakeClock
    writer: StoreWriter
    sessions: SessionService
    hub: AcquisitionHub
    day: DoseDay | None = None

    def start(self, template: str = "im", weight: float | None = 70.0) -> DoseDay:
        w = weight
        pid = self.writer.call(lambda c: records.create_patient(
            c, "Test Patient", self.clock.now(), birth_date="1950-02-03", weight_kg=w)).result(5)
        self.sessions.start(pid, template=template)
        return self.open(template)

    def open(self, template: str = "im") -> DoseDay:
        tpl = load_catalog().get(template)
        assert tpl is not None
        self.day = DoseDay.open(tpl, self.sessions, self.clock, self.sessions.reader,
                                self.manual_in)
        return self.day

    def manual_in(self, readings: list[Reading]) -> None:
        """Values typed by hand go to the hub, as in the console; the live feed's next batch
        (here at once, with no Qt loop) brings them to the dose day."""
        self.hub.manual(readings)
        if self.day is not None:
            self.day.readings(self.hub.drain().samples)

    def events(self, *kinds: str) -> list[Event]:
        self.writer.flush()
        assert self.sessions.current is not None
        return session_events(self.sessions.reader, self.sessions.current.id, kinds or None)


def template(name: str) -> Template:
    tpl = load_catalog().get(name)
    assert tpl is not None
    return tpl


def reading(t: float, param: str, value: float, quality: Quality = Quality.VALID,
            source: str = "MON") -> Reading:
    code = {"hr": mdc.MDC_ECG_HEART_RATE, "spo2": mdc.MDC_PULS_OXIM_SAT_O2,
            "sys": mdc.MDC_PRESS_BLD_NONINV_SYS, "dia": mdc.MDC_PRESS_BLD_NONINV_DIA,
            "rr": mdc.MDC_RESP_RATE}[param]
    return Reading(t, source, code, value, 0, quality)


def bp(t: float, s: float, d: float, source: str = "MON") -> list[Reading]:
    return [reading(t, "sys", s, source=source), reading(t, "dia", d, source=source)]


@pytest.fixture(name="core")
def core_fixture(tmp_path: Path) -> Iterator[Core]:
    """A real SQLite file with its writer thread, a FakeClock and a SessionService."""
    path = tmp_path / "holdspace.db"
    clock = FakeClock()
    writer = StoreWriter(str(path), flush_interval=0.05)
    writer.start()
    reader = open_reader(path)
    sessions = SessionService(clock, writer, reader)
    from console.core.session import Staff
    sessions.set_user(Staff("Ana Nurse", "nurse"))
    hub = AcquisitionHub(writer, clock.now)
    sessions.changed.connect(lambda s: setattr(hub, "session_id", s.id if s else None))
    yield Core(path, clock, writer, sessions, hub)
    writer.stop()
    reader.close()
