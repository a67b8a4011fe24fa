"""Headless recording: readings from the given monitors into a new session, no window.

For machines with no screen, for support, and for tests. Prints one summary line per minute
and ends cleanly at the duration or on Ctrl-C / SIGTERM, closing the session.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from console.core.acquisition import AcquisitionHub
from console.core.captures import connect
from console.core.clock import SystemClock
from console.core.config import DeviceConfig
from console.store import records
from console.store.writer import StoreWriter
from devices import mdc
from devices.link import LinkState
from devices.protocol import Driver
from devices.reading import Reading, WaveChunk


def _summary(counts: dict[int, int], wave_s: float, latest: dict[int, Reading]) -> str:
    bits = []
    for code in (mdc.MDC_ECG_HEART_RATE, mdc.MDC_PULS_OXIM_PULS_RATE, mdc.MDC_PULS_OXIM_SAT_O2,
                 mdc.MDC_PRESS_BLD_NONINV_SYS, mdc.MDC_RESP_RATE):
        r = latest.get(code)
        if r is not None and r.quality.displayable and r.value == r.value:
            bits.append(f"{mdc.label(code)} {r.value:g}")
    return f"{sum(counts.values())} readings, {wave_s:.0f} s of waveform; last: " + (
        ", ".join(bits) or "no valid values")


def record(
    db_path: Path,
    devices: list[tuple[Driver, str]],
    patient: str | None = None,
    duration: float | None = None,
    out: TextIO | None = None,
    stop_event: threading.Event | None = None,
    print_every: float = 60.0,
    install_signals: bool = True,
    capture: bool = False,
) -> int:
    """Record until `duration` or a signal; returns the session id."""
    clock = SystemClock()
    writer = StoreWriter(str(db_path))
    writer.start()
    say: Callable[[str], None] = (lambda s: print(s, file=out, flush=True)) if out else (
        lambda s: None)
    now = clock.now()

    def _open(c):  # type: ignore[no-untyped-def]
        pid = None
        if patient:
            p = records.find_patient(c, patient)
            pid = p.id if p else records.create_patient(c, patient, now, identifier=patient)
        return records.start_session(c, pid, now, title="headless recording")

    sid: int = writer.call(_open).result(10)
    hub = AcquisitionHub(writer, clock.now)
    hub.session_id = sid
    stop = stop_event or threading.Event()
    if install_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    for driver, port in devices:
        problems: list[str] = []
        link = connect(hub, DeviceConfig(driver.name, port, capture), db_path, problems=problems)
        if link.capture is not None:
            say(f"{link.source}: raw bytes captured to {link.capture.name}")
        for p in problems:
            say(p)
    say(f"recording session {sid} into {db_path} — Ctrl-C to stop")
    counts: dict[int, int] = {}
    latest: dict[int, Reading] = {}
    wave_s = 0.0
    states: dict[str, tuple[LinkState, str]] = {}
    start = time.monotonic()
    next_print = start + print_every
    try:
        while not stop.wait(0.2):
            d = hub.drain()
            for st in d.statuses:
                if states.get(st.source) != (st.state, st.message):
                    states[st.source] = (st.state, st.message)
                    say(f"{st.source}: {st.state} — {st.message}")
            for s in d.samples:
                if isinstance(s, Reading):
                    counts[s.code] = counts.get(s.code, 0) + 1
                    latest[s.code] = s
                elif isinstance(s, WaveChunk):
                    wave_s += s.duration
            t = time.monotonic()
            if t >= next_print:
                say(_summary(counts, wave_s, latest))
                next_print += print_every
            if duration is not None and t - start >= duration:
                break
    finally:
        hub.stop()
        end = clock.now()
        writer.call(lambda c: records.end_session(c, sid, end, reason="recording finished"))
        writer.flush()
        writer.stop()
        say(f"session {sid} closed: " + _summary(counts, wave_s, latest))
    return sid
