"""What the console costs while the room is calm: the real window, offscreen, for 60 s.

One monitor (the built-in simulator: numerics every second, a cuff every cycle, pleth at
125 Hz over a real pseudo-terminal) feeds the real window with every feature installed.
After a warm-up, the CPU time of the console's threads is read from /proc (the simulated
monitor's own thread is left out: in a room that is the monitor's work, not ours) and
divided by the wall time: the share of one core.

    QT_QPA_PLATFORM=offscreen HOLDSPACE_AUDIO=dummy python bench/bench_idle.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

SIMULATOR_THREADS = ("simulator",)


def console_cpu_seconds() -> float:
    """utime + stime of every thread of this process but the simulated monitor's."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for task in Path("/proc/self/task").iterdir():
        try:
            comm = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a thread that ended while we looked
        if comm in SIMULATOR_THREADS:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / tick


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="measured wall time")
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds before measuring")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("HOLDSPACE_AUDIO", "dummy")

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from console.app import build_window, start_core
    from console.core.config import Config
    from console.ui import theme

    app = QApplication(sys.argv)
    theme.apply_theme(app)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        running = start_core(data / "holdspace.db", config=Config(path=data / "workstation.json"),
                             data_dir=data)
        window, feed = build_window(running)
        window.resize(1920, 1080)
        window.show()
        marks: dict[str, float] = {}

        def start_measuring() -> None:
            marks["cpu"], marks["wall"] = console_cpu_seconds(), time.monotonic()

        def stop_measuring() -> None:
            marks["cpu"] = console_cpu_seconds() - marks["cpu"]
            marks["wall"] = time.monotonic() - marks["wall"]
            app.quit()

        QTimer.singleShot(int(args.warmup * 1000), start_measuring)
        QTimer.singleShot(int((args.warmup + args.seconds) * 1000), stop_measuring)
        app.exec()
        shown = window.vitals.hr.value.text()
        feed.stop()
        window.allow_close_without_asking()
        window.close()
        running.stop()
    share = 100 * marks["cpu"] / marks["wall"]
    print(f"console CPU: {share:.1f} % of one core over {marks['wall']:.0f} s "
          f"(one monitor, pleth 125 Hz; HR tile showed {shown})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
