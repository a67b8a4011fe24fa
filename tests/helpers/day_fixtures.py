"""A simulated dosing day written through the real core: StoreWriter, SessionService, a file.

Readings are synthetic but go the same way a monitor's do (`StoreWriter.add_samples`), events
through `SessionService.record`, so the database holds what a real day would: numerics every
second with an invalid value and a questionable one, a cuff every 5 min, pleth in ~1 s rows
with a gap (an unplugged sensor), doses, notes, a score, an adverse event with a rescue drug,
an amendment, the session's end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from console.core.clock import FakeClock
from console.core.session import SessionService, Staff
from console.store import records
from console.store.db import connect_file, open_reader
from console.store.writer import StoreWriter
from devices import mdc
from devices.reading import Quality, Reading, WaveChunk

DAY_START = 1_800_000_000.0  # 2027-01-15, mid-morning in Europe


@dataclass
class Day:
    path: Path
    session_id: int
    hr: list[tuple[float, float]] = field(default_factory=list)  # valid HR (t, value)
    readings: int = 0
    wave_samples: int = 0
    dose_summaries: list[str] = field(default_factory=list)


def _numerics(t: float, i: int) -> list[Reading]:
    out = [Reading(t, "SIM", mdc.MDC_ECG_HEART_RATE, 60.0 + (i * 7) % 25,
                   mdc.MDC_DIM_BEAT_PER_MIN, Quality.VALID),
           Reading(t, "SIM", mdc.MDC_PULS_OXIM_SAT_O2, 95.0 + i % 5, mdc.MDC_DIM_PERCENT,
                   Quality.QUESTIONABLE if i == 40 else Quality.VALID)]
    if i % 5 == 0:
        out.append(Reading(t, "SIM", mdc.MDC_RESP_RATE, 14.0, mdc.MDC_DIM_RESP_PER_MIN,
                           Quality.VALID))
    if i % 300 == 0:
        for code, v in ((mdc.MDC_PRESS_BLD_NONINV_SYS, 128.0 + i / 100),
                        (mdc.MDC_PRESS_BLD_NONINV_DIA, 82.0),
                        (mdc.MDC_PRESS_BLD_NONINV_MEAN, 97.0)):
            out.append(Reading(t, "SIM", code, v, mdc.MDC_DIM_MMHG, Quality.VALID))
    return out


def simulated_day(path: Path, seconds: int = 900, clock: FakeClock | None = None,
                  patient: str = "Ada Example") -> Day:
    clock = clock or FakeClock(DAY_START)
    writer = StoreWriter(str(path), flush_interval=0.05)
    writer.start()
    reader = open_reader(path)
    sessions = SessionService(clock, writer, reader)
    sessions.set_user(Staff("Ana Nurse", "nurse"))
    try:
        pid = writer.call(lambda c: records.create_patient(
            c, patient, clock.now(), f"MRN-{patient[:3]}", "1950-02-03", 61.0)).result(5)
        s = sessions.start(pid, template="im")
        assert s is not None
        day = Day(path, s.id)
        t0 = clock.now() + 1
        samples: list[Reading | WaveChunk] = []
        for i in range(seconds):
            t = t0 + i
            samples += _numerics(t, i)
            if i == 120:  # the plausibility gate's verdict on a wild value
                samples.append(Reading(t + 0.5, "SIM", mdc.MDC_ECG_HEART_RATE, float("nan"),
                                       mdc.MDC_DIM_BEAT_PER_MIN, Quality.INVALID,
                                       reason="HR 510 /min is outside 15–300 /min"))
            if not 300 <= i < 310:  # the sensor was off for ten seconds
                wave = (np.sin(np.arange(125) / 8.0 + i) * 100).astype(np.float32)
                samples.append(WaveChunk(t, "SIM", mdc.MDC_PULS_OXIM_PLETH, 125.0, wave))
                day.wave_samples += 125
        for r in samples:
            if isinstance(r, Reading):
                day.readings += 1
                if r.code == mdc.MDC_ECG_HEART_RATE and r.quality is Quality.VALID:
                    day.hr.append((r.t, r.value))
        writer.add_samples(s.id, samples)
        doses = ["First dose: Ketamine 35 mg (0.57 mg/kg) · IM · lot A1 · given by Ana Nurse",
                 "Booster dose: Ketamine 30 mg (0.49 mg/kg) · IM · ⚠ ABOVE THE PROTOCOL RANGE"]
        clock.advance(60)
        sessions.record("dose.given", {"mg": 35.0, "summary": doses[0]}, t=t0 + 60)
        sessions.record("note.observation", {"text": "Calm, eyes closed",
                                             "summary": "Calm, eyes closed"}, t=t0 + 200)
        score = sessions.record("score.moaas", {"value": 4, "summary": "MOAA/S 4"}, t=t0 + 300)
        sessions.record("score.moaas", {"value": 3, "summary": "MOAA/S 3 (amended)"},
                        t=t0 + 300, refers_to=score.uid)
        sessions.record("dose.given", {"mg": 30.0, "summary": doses[1]}, t=t0 + 400)
        sessions.record("ae.recorded", {"summary": "Nausea — ondansetron 4 mg IV (rescue)"},
                        t=t0 + 500)
        day.dose_summaries = doses
        assert writer.flush()
        clock.advance(seconds)
        sessions.end()
    finally:
        writer.stop()
        sessions.close()
        reader.close()
    return day


def counts(path: Path) -> dict[str, int]:
    conn = connect_file(path)
    try:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("patients", "sessions", "readings", "waveforms", "events")}
    finally:
        conn.close()
