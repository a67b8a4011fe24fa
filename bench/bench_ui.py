"""What the console's window costs while the room is calm, and how fast a number reaches it.

`idle` (default): the real window, offscreen, with every feature installed, fed by the
built-in simulated monitor over a real pseudo-terminal (numerics every second, a cuff every
cycle, pleth at 125 Hz), no session open. After a warm-up, for `--seconds`:

- CPU of the console from /proc/self/task (utime+stime), per thread; the simulated monitor's
  own thread is left out of the total (in a room that is the monitor's work, not ours);
- paints per second of the trend chart, of the pleth view and of each tile's number (a paint
  hook: an event filter counting QEvent.Paint on each widget), and style sheet changes
  (QEvent.StyleChange) of the tiles;
- byte -> painted number: the simulated monitor's heart rate steps every second, and the
  moment each value is produced is kept; the paint hook on the HR tile's number takes the
  time the new text is first painted.

`redraw`: the full-session trend redraw, 8 hours of HR, SpO2, PR, RR every second and a cuff
every 5 min in a 1200x300 trend chart, against a naive pyqtgraph baseline (the same points,
one `setData` per curve into plain plots, the same rows, no options), median of 7.

    QT_QPA_PLATFORM=offscreen HOLDSPACE_AUDIO=dummy python bench/bench_ui.py [idle|redraw]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import (
    MarkedPhysiology,
    cpu_delta,
    emit,
    load_average,
    percentile,
    staff_at_console,
    thread_cpu,
)

SIMULATOR = "simulator"


def idle(seconds: float, warmup: float) -> dict[str, Any]:
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from console.app import build_window, start_core
    from console.core.config import Config, DeviceConfig
    from console.ui import theme
    from devices.drivers import get_driver
    from devices.physiology import Physiology
    from devices.simulator import Simulator

    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    theme.apply_theme(app)

    class Hook(QObject):
        """Counts paints and style changes of the widgets it watches; the HR number's paints
        give the latency."""

        def __init__(self) -> None:
            super().__init__()
            self.counting = False
            self.paints: dict[str, int] = {}
            self.styles: dict[str, int] = {}
            self.names: dict[int, str] = {}
            self.latency: list[float] = []
            self.shown = ""

        def watch(self, w: QObject, name: str) -> None:
            self.names[id(w)] = name
            w.installEventFilter(self)

        def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
            name = self.names.get(id(obj))
            if name is None:
                return False
            kind = ev.type()
            if kind == QEvent.Type.Paint:
                if self.counting:
                    self.paints[name] = self.paints.get(name, 0) + 1
                if name == "tile hr":
                    text = window.vitals.hr.value.text().rstrip("?")
                    if text != self.shown:
                        self.shown = text
                        sent = marked.sent.get(text)
                        if self.counting and sent is not None:
                            self.latency.append(time.monotonic() - sent)
            elif kind == QEvent.Type.StyleChange and self.counting:
                self.styles[name] = self.styles.get(name, 0) + 1
            return False

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        marked = MarkedPhysiology(Physiology("calm", start=time.time()))
        sim = Simulator(get_driver("sim"), marked)  # type: ignore[arg-type]
        port = sim.start()
        running = start_core(data / "holdspace.db", devices=[DeviceConfig("sim", port)],
                             config=Config(path=data / "workstation.json"), data_dir=data)
        staff_at_console(running)
        window, feed = build_window(running)
        window.resize(1920, 1080)
        window.show()
        hook = Hook()
        hook.watch(window.vitals.trend.layout_widget.viewport(), "trend")
        pleth = window.vitals.pleth  # a pyqtgraph plot before, a plain widget since
        plot = getattr(pleth, "plot", None)
        hook.watch(plot.viewport() if plot is not None else pleth, "pleth")
        for key, tile in window.vitals.tile_of.items():
            hook.watch(tile.value, f"tile {key}")
        marks: dict[str, Any] = {}

        profile = None
        if os.environ.get("BENCH_PROFILE"):  # where the GUI thread's time goes (cProfile)
            import cProfile

            profile = cProfile.Profile()

        def start_measuring() -> None:
            if profile is not None:
                profile.enable()
            hook.counting = True
            marks["cpu"], marks["wall"] = thread_cpu(), time.monotonic()

        def stop_measuring() -> None:
            hook.counting = False
            marks["cpu"] = cpu_delta(marks["cpu"], thread_cpu())
            if profile is not None:
                profile.disable()
                profile.dump_stats(os.environ["BENCH_PROFILE"])
            marks["wall"] = time.monotonic() - marks["wall"]
            window.allow_close_without_asking()
            app.quit()

        QTimer.singleShot(int(warmup * 1000), start_measuring)
        QTimer.singleShot(int((warmup + seconds) * 1000), stop_measuring)
        app.exec()
        # One trend paint, timed: the chart as it is drawn now (grab paints it whole).
        trend = window.vitals.trend.layout_widget
        paint_ms = []
        for _ in range(10):
            t0 = time.perf_counter()
            trend.grab()
            paint_ms.append((time.perf_counter() - t0) * 1000)
        shown = window.vitals.hr.value.text()
        feed.stop()
        window.allow_close_without_asking()
        window.close()
        running.stop()
        sim.stop()
    wall = marks["wall"]
    per_thread = {k: 100 * v / wall for k, v in marks["cpu"].items() if v > 0}
    console = sum(v for k, v in per_thread.items() if k != SIMULATOR)
    tiles = [k for k in hook.names.values() if k.startswith("tile ")]
    return {
        "seconds": round(wall, 1),
        "cpu_pct": round(console, 2),
        "cpu_gui_pct": round(per_thread.get("GUI (main)", 0.0), 2),
        "threads_pct": {k: round(v, 2) for k, v in sorted(per_thread.items(),
                                                         key=lambda kv: -kv[1])},
        "trend_paints_per_s": round(hook.paints.get("trend", 0) / wall, 2),
        "trend_paint_ms": round(statistics.median(paint_ms), 2),
        "pleth_paints_per_s": round(hook.paints.get("pleth", 0) / wall, 2),
        "hr_paints_per_s": round(hook.paints.get("tile hr", 0) / wall, 2),
        "tile_paints_per_s": round(sum(hook.paints.get(k, 0) for k in tiles) / wall, 2),
        "tile_restyles_per_s": round(sum(hook.styles.get(k, 0) for k in tiles) / wall, 2),
        "latency_n": len(hook.latency),
        "latency_p50_ms": round(percentile(hook.latency, 50) * 1000, 1),
        "latency_p99_ms": round(percentile(hook.latency, 99) * 1000, 1),
        "latency_max_ms": round(max(hook.latency, default=float("nan")) * 1000, 1),
        "hr_shown": shown,
        "load": load_average(),
    }


def session_readings(hours: float, t0: float) -> list[Any]:
    """HR, SpO2, PR, RR every second and a cuff every 5 minutes, as a monitor sends them."""
    from devices import mdc
    from devices.physiology import Physiology
    from devices.reading import Reading

    p = Physiology("calm", start=t0, nibp_interval=300)
    out: list[Reading] = []
    for s in range(int(hours * 3600)):
        t = t0 + s
        v = p.vitals(t)
        out += [
            Reading(t, "bench", mdc.MDC_ECG_HEART_RATE, v.hr or 0.0, mdc.MDC_DIM_BEAT_PER_MIN),
            Reading(t, "bench", mdc.MDC_PULS_OXIM_SAT_O2, v.spo2 or 0.0, mdc.MDC_DIM_PERCENT),
            Reading(t, "bench", mdc.MDC_PULS_OXIM_PULS_RATE, v.pulse or 0.0,
                    mdc.MDC_DIM_BEAT_PER_MIN),
            Reading(t, "bench", mdc.MDC_RESP_RATE, v.rr or 0.0, mdc.MDC_DIM_RESP_PER_MIN),
        ]
        if v.nibp and v.nibp_t == t:
            out += [Reading(t, "bench", c, x, mdc.MDC_DIM_MMHG) for c, x in zip(
                (mdc.MDC_PRESS_BLD_NONINV_SYS, mdc.MDC_PRESS_BLD_NONINV_DIA,
                 mdc.MDC_PRESS_BLD_NONINV_MEAN), v.nibp, strict=True)]
    return out


def redraw(hours: float, repeat: int = 7) -> dict[str, Any]:
    import numpy as np
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    try:
        from console.core.vitals_table import VITALS
        from console.ui.vitals.trend_chart import TrendChart
    except ImportError:  # a checkout from before the feature folders (the "before" run)
        from console.ui.trend_chart import TrendChart  # type: ignore[no-redef]

        from console.core.vitals import VITALS  # type: ignore[no-redef, attr-defined]
    from devices import mdc

    app = QApplication.instance() or QApplication([])
    t0 = 1_800_000_000.0
    readings = session_readings(hours, t0)
    end = readings[-1].t

    chart = TrendChart()
    chart.resize(1200, 300)
    chart.show()
    chart.add_readings(readings)
    chart.set_now(end)
    chart.set_window(0)  # the whole session in view
    app.processEvents()
    ours = []
    for _ in range(repeat):
        chart._drawn_version = -1  # as after new data: every curve is given its arrays again
        start = time.perf_counter()
        chart.redraw()
        chart.layout_widget.grab()
        ours.append((time.perf_counter() - start) * 1000)

    # The naive baseline: the same rows, plain plots, one setData per curve, no options.
    naive = pg.GraphicsLayoutWidget()
    naive.resize(1200, 300 - 30)  # the chart's own button bar takes ~30 px
    naive.show()
    rows: dict[str, Any] = {}
    curves: dict[int, tuple[Any, Any, Any]] = {}
    by_code: dict[int, tuple[list[float], list[float]]] = {}
    for r in readings:
        ts, vs = by_code.setdefault(mdc.canonical(r.code), ([], []))
        ts.append(r.t)
        vs.append(r.value)
    for v in VITALS:
        for code in v.codes:
            if code not in by_code:
                continue
            if v.trend_row not in rows:
                rows[v.trend_row] = naive.addPlot(row=len(rows), col=0)
            pen = pg.mkPen(v.colour) if v.continuous else None
            sym = None if v.continuous else "o"
            c = rows[v.trend_row].plot([], [], pen=pen, symbol=sym)
            curves[code] = (c, np.asarray(by_code[code][0]), np.asarray(by_code[code][1]))
    for p in rows.values():
        p.setXRange(t0, end, padding=0)
    app.processEvents()
    base = []
    for _ in range(repeat):
        start = time.perf_counter()
        for c, t, v in curves.values():
            c.setData(t, v)
        naive.grab()
        base.append((time.perf_counter() - start) * 1000)
    return {
        "hours": hours,
        "points": len(readings),
        "redraw_ms": round(statistics.median(ours), 1),
        "naive_ms": round(statistics.median(base), 1),
        "load": load_average(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", nargs="?", default="idle", choices=["idle", "redraw"])
    ap.add_argument("--seconds", type=float, default=60.0, help="measured wall time (idle)")
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds before measuring")
    ap.add_argument("--hours", type=float, default=8.0, help="session length (redraw)")
    ap.add_argument("--json", help="also write the result here")
    a = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("HOLDSPACE_AUDIO", "dummy")
    if a.mode == "idle":
        r = idle(a.seconds, a.warmup)
        print(f"console CPU {r['cpu_pct']:.1f} % of one core (GUI thread {r['cpu_gui_pct']:.1f} %) "
              f"over {r['seconds']:.0f} s, load {r['load']}")
        for name, pct in r["threads_pct"].items():
            print(f"  {name:<28} {pct:6.2f} %")
        print(f"trend {r['trend_paints_per_s']:.1f} paints/s ({r['trend_paint_ms']:.1f} ms each); "
              f"pleth {r['pleth_paints_per_s']:.1f} paints/s; HR number "
              f"{r['hr_paints_per_s']:.1f} paints/s; tiles {r['tile_paints_per_s']:.1f} paints/s, "
              f"{r['tile_restyles_per_s']:.1f} restyles/s")
        print(f"byte -> painted HR: p50 {r['latency_p50_ms']:.0f} ms, p99 "
              f"{r['latency_p99_ms']:.0f} ms, max {r['latency_max_ms']:.0f} ms "
              f"({r['latency_n']} values)")
    else:
        r = redraw(a.hours)
        print(f"trend redraw of {a.hours:g} h ({r['points']} readings) at 1200x300: "
              f"{r['redraw_ms']:.1f} ms; naive setData {r['naive_ms']:.1f} ms; load {r['load']}")
    emit(r, a.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
