"""Issue 17: resuming a session whose monitor now reads under another name (moved to another
port, or the built-in simulator after a real monitor) shows the whole stored history on the
trend: every source of the session, not only the live one."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from pytestqt.qtbot import QtBot

from console.app import build_window, start_core
from console.core.config import Config
from console.store import records
from console.store.writer import StoreWriter
from console.ui.resume_bar import ResumeBar
from devices import mdc
from devices.reading import Reading

HR, SPO2 = mdc.MDC_ECG_HEART_RATE, mdc.MDC_PULS_OXIM_SAT_O2


def session_on_other_ports(db: Path) -> tuple[int, list[float], list[float]]:
    """A session fed from a monitor on /dev/ttyUSB0, then on /dev/ttyUSB1 (moved mid-session),
    whose process then died. Returns its id and the HR and SpO2 times stored."""
    w = StoreWriter(str(db))
    w.start()
    t0 = time.time() - 900
    sid = w.call(lambda c: records.start_session(c, None, t0)).result(5)
    first = [Reading(t0 + 10 * i, "sim:/dev/ttyUSB0", HR, 60 + i, mdc.MDC_DIM_BEAT_PER_MIN)
             for i in range(20)]
    moved = [Reading(t0 + 200 + 10 * i, "sim:/dev/ttyUSB1", HR, 90 + i,
                     mdc.MDC_DIM_BEAT_PER_MIN) for i in range(20)]
    spo2 = [Reading(t0 + 5 + 10 * i, "nonin:/dev/ttyUSB2", SPO2, 97, mdc.MDC_DIM_PERCENT)
            for i in range(40)]
    w.add_samples(sid, [*first, *moved, *spo2])
    w.flush()
    w.stop()
    return sid, [r.t for r in (*first, *moved)], [r.t for r in spo2]


def test_a_resumed_session_shows_the_history_of_every_source(
        qtbot: QtBot, db_path: Path, config: Config) -> None:
    sid, hr_times, spo2_times = session_on_other_ports(db_path)
    running = start_core(db_path, devices=None, config=config)  # the built-in simulator
    window, feed = build_window(running)
    qtbot.addWidget(window)
    try:
        hub = running.ctx.hub
        # The live monitor is shown (under its own name) before the session is resumed.
        qtbot.waitUntil(lambda: hub.shown_source(HR) == "SIMULATOR"
                        and hub.shown_source(SPO2) == "SIMULATOR", timeout=10_000)
        window.feature(ResumeBar).resume_button.click()
        assert running.ctx.sessions.current is not None
        assert running.ctx.sessions.current.id == sid
        trend = window.vitals.trend

        def stored(code: int) -> np.ndarray:
            t, v = trend.series[code].arrays()
            return t[~np.isnan(v) & (t < hr_times[-1] + 60)]

        qtbot.waitUntil(lambda: len(stored(HR)) == len(hr_times), timeout=10_000)
        qtbot.waitUntil(lambda: len(stored(SPO2)) == len(spo2_times), timeout=10_000)
        assert stored(HR).tolist() == hr_times
        assert stored(SPO2).tolist() == spo2_times
        t, v = trend.series[HR].arrays()
        assert v[np.searchsorted(t, hr_times[-1])] == 109, "the moved monitor's last value"
    finally:
        feed.stop()
        window.allow_close_without_asking()
        running.stop()
