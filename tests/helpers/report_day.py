"""A whole simulated dosing day written through the real core, for the report tests and bench.

Real parts only: a SQLite file with its writer thread, the SessionService, the DoseDay (gate,
doses, confirmations, entered in error, alarms, limits), the NoteBook (observations, scores,
an adverse event with a rescue drug, an amendment, sections, signature, addendum). The music
and set-and-setting lines go through `SessionService.record`, the same call the music feature
makes. Time is a FakeClock moved as the day goes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from console.core.acquisition import AcquisitionHub
from console.core.clock import FakeClock
from console.core.dosing.dose_day import DoseDay
from console.core.dosing.templates import load_catalog
from console.core.notes.notes import NoteBook
from console.core.report import rems_form
from console.core.session import SessionService, Staff
from console.store import engine, records
from console.store.db import open_reader
from console.store.events import Event
from console.store.writer import StoreWriter
from devices import mdc
from devices.reading import Reading

T0 = 1_800_000_000.0  # 2027-01-15
MIN = 60.0
MON = "Philips IntelliVue"


@dataclass
class Day:
    path: Path
    clock: FakeClock
    writer: StoreWriter
    reader: engine.Connection
    sessions: SessionService
    notes: NoteBook
    hub: AcquisitionHub
    session_id: int = 0
    day: DoseDay | None = None
    uids: dict[str, str] = field(default_factory=dict)

    def feed(self, minutes: float, hr: float = 72, spo2: float = 97, rr: float = 14,
             bp: tuple[float, float] | None = (124, 78), step: float = 5.0,
             nibp_every: float = 300.0) -> None:
        """Monitor values from now for `minutes`, stored and seen by the alarm rules; the
        clock ends at the last value."""
        n = int(minutes * 60 / step)
        start = self.clock.now()
        batch: list[Reading] = []
        for i in range(n):
            t = start + i * step
            batch += [Reading(t, MON, mdc.MDC_ECG_HEART_RATE, hr, mdc.MDC_DIM_BEAT_PER_MIN),
                      Reading(t, MON, mdc.MDC_PULS_OXIM_PULS_RATE, hr + 1,
                              mdc.MDC_DIM_BEAT_PER_MIN),
                      Reading(t, MON, mdc.MDC_PULS_OXIM_SAT_O2, spo2, mdc.MDC_DIM_PERCENT),
                      Reading(t, MON, mdc.MDC_RESP_RATE, rr, mdc.MDC_DIM_RESP_PER_MIN)]
            if bp is not None and (i * step) % nibp_every == 0:
                s, d = bp
                batch += [Reading(t, MON, mdc.MDC_PRESS_BLD_NONINV_SYS, s, mdc.MDC_DIM_MMHG),
                          Reading(t, MON, mdc.MDC_PRESS_BLD_NONINV_DIA, d, mdc.MDC_DIM_MMHG),
                          Reading(t, MON, mdc.MDC_PRESS_BLD_NONINV_MEAN, round((s + 2 * d) / 3),
                                  mdc.MDC_DIM_MMHG)]
        self.writer.add_samples(self.session_id, batch)
        if self.day is not None:
            for i in range(0, len(batch), 64):
                chunk = batch[i:i + 64]
                self._to(chunk[-1].t)  # the rules see each value at its own time
                self.day.readings(chunk)
        self._to(start + n * step)

    def manual_in(self, readings: list[Reading]) -> None:
        """Values typed by hand go to the hub, as in the console; the live feed's next batch
        (here at once, with no Qt loop) brings them to the dose day."""
        self.hub.manual(readings)
        if self.day is not None:
            self.day.readings(self.hub.drain().samples)

    def _to(self, t: float) -> None:
        if t > self.clock.now():
            self.clock.advance(t - self.clock.now())

    def record(self, kind: str, payload: dict[str, object]) -> Event:
        return self.sessions.record(kind, payload)


@contextmanager
def rig(tmp_path: Path, name: str = "holdspace.db") -> Iterator[Day]:
    path = tmp_path / name
    clock = FakeClock(T0)
    writer = StoreWriter(str(path), flush_interval=0.05)
    writer.start()
    reader = open_reader(path)
    try:
        sessions = SessionService(clock, writer, reader)
        sessions.set_user(Staff("Ana Nurse", "nurse"))
        sessions.add_sign_check(rems_form.sign_blocker)  # as the dosing feature does
        notes = NoteBook(clock, writer, reader, sessions)
        yield Day(path, clock, writer, reader, sessions, notes, AcquisitionHub(writer, clock.now))
    finally:
        writer.stop()
        reader.close()


def start(d: Day, template: str, *, name: str = "Maria Keller", identifier: str = "MK-1042",
          birth: str = "1961-04-12", weight: float = 64.0) -> DoseDay:
    pid = d.writer.call(lambda c: records.create_patient(
        c, name, d.clock.now(), identifier=identifier, birth_date=birth, weight_kg=weight,
        author="Ana Nurse")).result(10)
    d.sessions.start(pid, template=template)
    assert d.sessions.current is not None
    d.session_id = d.sessions.current.id
    tpl = load_catalog().get(template)
    assert tpl is not None
    d.hub.session_id = d.session_id
    d.day = DoseDay.open(tpl, d.sessions, d.clock, d.reader, d.manual_in)
    return d.day


def ketamine_day(d: Day, observe_hours: float = 2.5) -> Day:
    """IM ketamine: override of a failing gate, two doses (the booster above the range and
    confirmed), one dose entered in error, an SpO2 alarm acknowledged, a limit changed, music
    and setting, scores, an adverse event with ondansetron, an amendment, a signature and an
    addendum."""
    day = start(d, "im")
    d.record("setting.intention", {"text": "to meet my fear with kindness",
                                   "summary": "Intention: to meet my fear with kindness"})
    d.record("setting.item_checked", {"item": "lamps", "label": "Dim lamps", "done": True,
                                      "summary": "Set and setting: Dim lamps — done"})
    d.feed(10, bp=(166, 96))
    for item in day.template.checklist:
        day.set_item(item.id, {"confirm": True, "text": "Sam Keller, 555-0100",
                               "hours": 6.0}[item.kind])
    d.notes.save_section("check_in", "Calm, a little nervous.",
                         {"mood": "6", "intention": "meet my fear", "escort": "Sam (son)"})
    assert not day.gate().passed
    ov = day.override_gate("Long-standing hypertension, reviewed by Dr Lee; accepts 166/96")
    d.uids["override"] = ov.uid
    d.record("music.phase_changed", {"phase": "onset", "summary": "Music phase: onset"})
    first = day.give_dose("50", lot="K-2291", given_by="Dr Lee")
    d.uids["dose1"] = first.uid
    d.record("music.track_started", {"track": "Adagio in G", "phase": "onset",
                                     "summary": "Track started: Adagio in G (onset)"})
    d.clock.advance(60)
    wrong = day.give_dose("25", lot="K-2291", given_by="Dr Lee", confirmed=True)
    d.uids["wrong"] = wrong.uid
    day.void_dose(wrong.uid, "Recorded twice by mistake")
    d.feed(14, bp=(150, 88))
    d.notes.score("moaas", "3")
    obs = d.notes.observe("Eyes closed, breathing slow", tags=["eyes closed"])
    d.uids["obs"] = obs.uid
    d.feed(1, spo2=89, bp=None)  # a dip long enough to raise the SpO2 alarm
    day.acknowledge("Ana Nurse")
    d.feed(1, spo2=96, bp=None)
    day.set_limit("hr-high", "130", reason="anxious baseline, Dr Lee")
    ae, rescue = d.notes.adverse_event("Nausea", "moderate", drug="ondansetron", mg="4",
                                       route="IV", intervention="bowl, cool cloth",
                                       outcome="settled within 15 min")
    d.uids["ae"] = ae.uid
    assert rescue is not None
    d.uids["rescue"] = rescue.uid
    d.feed(10, bp=(148, 86))
    booster = day.give_dose("120", lot="K-2291", given_by="Dr Lee", confirmed=True,
                            confirm_mg=120.0)
    d.uids["dose2"] = booster.uid
    d.record("music.phase_changed", {"phase": "peak", "summary": "Music phase: peak"})
    d.notes.amend(obs.uid, {"text": "Eyes closed, breathing calm and even"}, "wrong word",
                  author="Dr Lee")
    d.notes.observe("It is like floating above the sea", quote=True)
    d.feed(30, bp=(152, 90))
    d.notes.score("cadss", "12")
    d.feed(observe_hours * 60 - 55, bp=(132, 82))
    day.manual_vitals({"sys": "128", "dia": "80", "hr": "70"})
    d.record("music.phase_changed", {"phase": "return", "summary": "Music phase: return"})
    d.notes.save_section("discharge", "Walked out with her son.",
                         {"criteria": "Modified Aldrete", "score": "10",
                          "escort": "Sam (son)"})
    d.notes.save_section("integration_plan", "Integration session on Friday.")
    d.writer.flush()
    d.sessions.end()
    d.clock.advance(5 * MIN)
    d.notes.sign("Dr Lee", "physician", "I have reviewed this record of the session.")
    d.clock.advance(10 * MIN)
    d.notes.addendum("Called the next morning: slept well, no nausea.", "Dr Lee", "physician")
    d.writer.flush()
    return d
