"""Memory during a live session, accelerated: RSS growth per session hour, and the peak.

The real window (every feature) records a session with a dosing template from the built-in
simulated monitor over a real pseudo-terminal, but the console's clock and the monitor run
SPEED times faster than the wall clock: numerics every simulated second, pleth at 125 Hz of
simulated time, the trend, alarms, recorder and the store all see an hour of session in
3600/SPEED seconds. RSS (from /proc/self/status) is sampled every wall second; after the
first simulated half hour (imports, caches and the first array growths settle) and after the
start-up backup (due a minute of wall time after the start: in a real session it falls in
the first minute, here at 0.67 session hours at 40x), its slope against session time is
fitted by least squares: MB per session hour. The fit from the half hour alone is reported
too (`rss_slope_incl_backup_mb_per_h`).

What is per reading and what is per wall second, so the 40x figure reads right: the arrays
that keep a session's values (trend, timeline, check times) grow per reading, as live; the
writer commits every 0.25 s of wall time, so here each commit holds 40x the rows; the hash
chain (console/store/chain.py) links the readings once a minute live, and the bench sets the
writer's link interval to a session minute too (1.5 s of wall time at 40x), so each link
covers the rows a live one does (a link over 40 session minutes built a 40x larger batch
and raised the allocator's high-water mark by about 1.3 MB per session hour). The start-up
backup, Qt's pooled threads (retired after 30 s idle), the
trend's 1 s redraw and the pleth's 26 frames a second are wall-time too. Steps that come
every minute of wall time are the chain, not the session.

What is per wall second is divided by SPEED here, so a leak per redraw hides at 40x: the
same bench at 1x (`--speed 1 --hours 0.6 --warmup 0.1`, 36 minutes) measures it as a room
would. (It found pyqtgraph's symbol atlas taking an entry at every redraw of the NIBP marks;
console/ui/plot_style.py.)

    QT_QPA_PLATFORM=offscreen HOLDSPACE_AUDIO=dummy python bench/bench_soak.py [--hours 8]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import emit, load_average, rss_mb, staff_at_console


class FastClock:
    """Wall time anchored at start, running SPEED times faster than the monotonic clock."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        return self._wall0 + (time.monotonic() - self._mono0) * self.speed

    def monotonic(self) -> float:
        return self._mono0 + (time.monotonic() - self._mono0) * self.speed


# The start-up backup runs 60 s of wall time after the start (BackupService.start_delay_s);
# 30 s more for it to finish on a busy machine.
BACKUP_DONE_S = 90.0


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of RSS (MB) against session hours."""
    n = len(points)
    mh = sum(h for h, _ in points) / n
    mm = sum(m for _, m in points) / n
    return (sum((h - mh) * (m - mm) for h, m in points)
            / sum((h - mh) ** 2 for h, _ in points))


def _by_quarter(points: list[tuple[float, float]], lo: float, hi: float) -> list[float] | None:
    """The slope in each quarter of [lo, hi]: a cache filling flattens towards the end, a
    leak keeps its slope. None when a quarter has too few samples to fit."""
    edges = [lo + q * (hi - lo) / 4 for q in range(5)]
    quarters = [[p for p in points if edges[q] <= p[0] <= edges[q + 1]] for q in range(4)]
    if any(len(q) < 3 for q in quarters):
        return None
    return [round(_slope(q), 2) for q in quarters]


class _MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _mallinfo() -> dict[str, float]:
    """glibc's own account, MB: arena (heap pages held), uordblks (in use there), fordblks
    (free there), hblkhd (big blocks mapped on their own). Empty elsewhere than glibc."""
    try:
        libc = ctypes.CDLL(None)
        f = libc.mallinfo2
    except (OSError, AttributeError):
        return {}
    f.restype = _MallInfo2
    m = f()
    return {k: getattr(m, k) / 2**20 for k in ("arena", "uordblks", "fordblks", "hblkhd")}


def _pymalloc() -> dict[str, float]:
    """Python's small-object allocator, MB: its arenas (1 MiB each, mapped on their own,
    so outside glibc's account) and the blocks in use in them. Arenas held by a few live
    blocks are RSS that neither glibc nor the block count shows."""
    with tempfile.TemporaryFile() as f:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(f.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        f.seek(0)
        text = f.read().decode(errors="replace")
    out: dict[str, float] = {}
    for line in text.splitlines():
        figure = line.rpartition("=")[2].strip().replace(",", "")
        if "bytes/arena" in line:
            out["py_arenas"] = int(figure) / 2**20
        elif line.startswith("# bytes in allocated blocks"):
            out["py_in_blocks"] = int(figure) / 2**20
    return out


def _sqlite_used() -> float:
    """MB the SQLite library holds now (page caches of every connection, statements)."""
    import sqlcipher3._sqlite3 as lib_module

    lib = ctypes.CDLL(lib_module.__file__)
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    return float(lib.sqlite3_memory_used()) / 2**20


def _detail(window: Any, running: Any) -> dict[str, float]:
    """Where the memory is, MB: the allocator's account, Python's blocks, and the arrays
    that keep the session's values (shown history, timeline, dose day's check times)."""
    from console.ui.dosing.dose_panel import DosePanel
    from console.ui.notes.timeline import Timeline

    d = _mallinfo()
    d["sqlite"] = _sqlite_used()
    d |= _pymalloc()
    d["shown_arrays"] = running.ctx.shown.nbytes / 2**20  # the trend's and live timeline's
    d["timeline_own"] = sum(tl._own.nbytes for tl in window.findChildren(Timeline)) / 2**20
    arrays = 0
    for panel in window.findChildren(DosePanel)[:1]:
        values = panel.day.values if panel.day is not None else {}
        arrays += sum(t._a.nbytes for t in values.values())
    d["check_times"] = arrays / 2**20
    return d


def soak(hours: float, speed: float, detail: bool = False,
         warmup: float = 0.5) -> dict[str, Any]:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from console.app import build_window, start_core
    from console.core.config import Config, DeviceConfig
    from console.store.chain import DIGEST_INTERVAL_S
    from console.ui import theme
    from devices.drivers import get_driver
    from devices.physiology import Physiology
    from devices.simulator import Simulator

    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    theme.apply_theme(app)
    clock = FastClock(speed)
    # The bench's own record is allocated and touched before the session: a list growing
    # by a tuple and a dict every wall second would be the bench's growth, not the console's
    # (~3 MB per hour at 1x), and so would arrays whose pages are first written as they
    # fill (np.zeros maps fresh zero pages; RSS takes each page when first written:
    # 144 bytes a wall second, 0.5 MB per hour at 1x with --detail).
    slots = int(hours * 3600 / speed) + 600
    taken = np.full((slots, 2), np.nan)  # (session hours, RSS MB) per wall second
    parts: list[str] = []  # the detail's names, in the columns of `split`
    split = np.full((slots, 16), np.nan)
    n = [0]
    wall0 = time.monotonic()
    backup_h = [0.0]  # session hours when the start-up backup is surely done
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        sim = Simulator(get_driver("sim"), Physiology("calm", start=clock.now()), now=clock.now)
        port = sim.start()
        running = start_core(data / "holdspace.db", devices=[DeviceConfig("sim", port)],
                             config=Config(path=data / "workstation.json"), data_dir=data,
                             clock=clock)
        staff_at_console(running)
        # One chain link per session minute, as live (see the docstring).
        running.ctx.writer.digest_interval = DIGEST_INTERVAL_S / speed
        running.ctx.writer._digest_at = time.monotonic() + DIGEST_INTERVAL_S / speed
        window, feed = build_window(running)
        window.resize(1920, 1080)
        window.show()
        running.ctx.sessions.start(None, "esketamine-rems")
        t0 = clock.now()

        def sample() -> None:
            h = (clock.now() - t0) / 3600
            i = min(n[0], slots - 1)
            taken[i] = h, rss_mb()
            if detail:
                d = _detail(window, running)
                parts[:] = parts or list(d)
                split[i, : len(parts)] = [d[k] for k in parts]
            n[0] = i + 1
            if not backup_h[0] and time.monotonic() - wall0 >= BACKUP_DONE_S:
                backup_h[0] = h
            if h >= hours:
                window.allow_close_without_asking()
                app.quit()

        timer = QTimer()
        timer.timeout.connect(sample)
        timer.start(1000)
        app.exec()
        timer.stop()
        rows = running.ctx.reader.execute("SELECT COUNT(*) FROM readings").fetchone()[0]
        feed.stop()
        window.allow_close_without_asking()
        window.close()
        running.stop()
        sim.stop()
    samples = [(float(h), float(m)) for h, m in taken[: n[0]]]
    fit = [(h, m) for h, m in samples if h >= max(warmup, backup_h[0] or warmup)]
    out: dict[str, Any] = {}
    lo, hi = fit[0][0], fit[-1][0]
    out["rss_slope_by_quarter_mb_per_h"] = _by_quarter(fit, lo, hi)
    if parts:
        series = {k: [(h, float(split[i, j])) for i, (h, _m) in enumerate(samples) if h >= lo]
                  for j, k in enumerate(parts)}
        out["detail_slopes_mb_per_h"] = {k: round(_slope(v), 3) for k, v in series.items()}
        out["detail_slopes_by_quarter"] = {k: _by_quarter(v, lo, hi) for k, v in series.items()}
        out["detail_end_mb"] = {k: round(float(split[n[0] - 1, j]), 2)
                                for j, k in enumerate(parts)}
    return out | {
        "hours": round(samples[-1][0], 2), "speed": speed, "readings": rows,
        "rss_slope_mb_per_h": round(_slope(fit), 2),
        "rss_slope_incl_backup_mb_per_h": round(
            _slope([s for s in samples if s[0] >= warmup]), 2),
        "fit_from_h": round(fit[0][0], 2),
        "rss_start_mb": round(fit[0][1], 1), "rss_end_mb": round(samples[-1][1], 1),
        "rss_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load": load_average(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=2.5, help="session hours to run")
    ap.add_argument("--speed", type=float, default=40.0, help="session seconds per wall second")
    ap.add_argument("--warmup", type=float, default=0.5,
                    help="session hours left out of the fit (imports, caches, first growths)")
    ap.add_argument("--json", help="also write the result here")
    ap.add_argument("--detail", action="store_true",
                    help="also the slope of each part: allocator, Python, the value arrays")
    a = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("HOLDSPACE_AUDIO", "dummy")
    r = soak(a.hours, a.speed, a.detail, a.warmup)
    print(f"{r['hours']:.1f} session hours at {a.speed:g}x ({r['readings']} readings stored): "
          f"RSS grows {r['rss_slope_mb_per_h']:.2f} MB per session hour from "
          f"{r['fit_from_h']:.2f} h ({r['rss_slope_incl_backup_mb_per_h']:.2f} from {a.warmup:g} h) "
          f"({r['rss_start_mb']:.0f} -> {r['rss_end_mb']:.0f} MB), peak {r['rss_peak_mb']:.0f} MB; "
          f"load {r['load']}")
    emit(r, a.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
