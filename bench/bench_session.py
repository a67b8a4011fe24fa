"""A long dosing day, measured: store throughput, file size, memory, trend redraw time.

Writes HOURS of simulated monitor data (numerics every second, a cuff every 5 minutes, pleth
at 125 Hz) through the real StoreWriter into a temporary SQLite file, as fast as it will go,
then fills the trend chart with the whole session and times one full redraw.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_session.py [--hours 4]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from console.store import records
from console.store.writer import StoreWriter
from devices import mdc
from devices.physiology import Physiology
from devices.reading import Reading, Sample, WaveChunk


def rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 1024 / 1024


def session_samples(hours: float, t0: float) -> list[list[Sample]]:
    """One batch per simulated second, like a link delivering a second of data."""
    p = Physiology("calm", start=t0, nibp_interval=300)
    batches: list[list[Sample]] = []
    for s in range(int(hours * 3600)):
        t = t0 + s
        v = p.vitals(t)
        batch: list[Sample] = [
            Reading(t, "bench", mdc.MDC_ECG_HEART_RATE, v.hr or 0.0, mdc.MDC_DIM_BEAT_PER_MIN),
            Reading(t, "bench", mdc.MDC_PULS_OXIM_SAT_O2, v.spo2 or 0.0, mdc.MDC_DIM_PERCENT),
            Reading(t, "bench", mdc.MDC_PULS_OXIM_PULS_RATE, v.pulse or 0.0,
                    mdc.MDC_DIM_BEAT_PER_MIN),
            Reading(t, "bench", mdc.MDC_RESP_RATE, v.rr or 0.0, mdc.MDC_DIM_RESP_PER_MIN),
        ]
        if v.nibp and v.nibp_t == t:
            batch += [Reading(t, "bench", c, x, mdc.MDC_DIM_MMHG) for c, x in zip(
                (mdc.MDC_PRESS_BLD_NONINV_SYS, mdc.MDC_PRESS_BLD_NONINV_DIA,
                 mdc.MDC_PRESS_BLD_NONINV_MEAN), v.nibp, strict=True)]
        for k in range(5):
            t_chunk = t + k * 0.2
            batch.append(WaveChunk(t_chunk, "bench", mdc.MDC_PULS_OXIM_PLETH, 125.0,
                                   p.pleth(t_chunk, 25, 125.0)))
        batches.append(batch)
    return batches


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=4.0)
    a = ap.parse_args()
    t0 = 1_800_000_000.0
    batches = session_samples(a.hours, t0)
    n_readings = sum(isinstance(s, Reading) for b in batches for s in b)
    n_wave = sum(len(s.samples) for b in batches for s in b if isinstance(s, WaveChunk))
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "bench.db"
        w = StoreWriter(str(db))
        w.start()
        sid = w.call(lambda c: records.start_session(c, None, t0)).result(10)
        start = time.perf_counter()
        for b in batches:
            w.add_samples(sid, b)
        w.flush(timeout=600)
        elapsed = time.perf_counter() - start
        w.stop()
        size = sum(f.stat().st_size for f in Path(d).iterdir())
        print(f"store: {a.hours:g} h session = {n_readings} readings + {n_wave} pleth samples "
              f"written in {elapsed:.1f} s ({a.hours * 3600 / elapsed:.0f}x real time); "
              f"file {size / 1e6:.1f} MB ({size / 1e6 / a.hours:.1f} MB per hour)")

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from console.ui.vitals.trend_chart import TrendChart

    app = QApplication.instance() or QApplication([])
    chart = TrendChart()
    chart.resize(1200, 300)
    chart.show()
    readings = [s for b in batches for s in b if isinstance(s, Reading)]
    start = time.perf_counter()
    chart.add_readings(readings)
    fill = time.perf_counter() - start
    chart.set_now(readings[-1].t)
    chart.set_window(0)  # the whole session in view
    start = time.perf_counter()
    chart.redraw()
    app.processEvents()
    chart.layout_widget.grab()
    redraw = time.perf_counter() - start
    print(f"trend: {len(readings)} readings added in {fill * 1000:.0f} ms; full-session "
          f"redraw {redraw * 1000:.0f} ms (runs at most twice a second)")
    print(f"peak memory of this process: {rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
