"""Shared bits of the benches: CPU time per thread from /proc, RSS, the load average, and a
simulated monitor whose heart rate changes every second and says when each value left.

Not part of the console: measurement helpers only.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

TICK = os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def thread_cpu() -> dict[int, tuple[str, float]]:
    """tid -> (name, utime + stime in seconds) for every thread of this process. Python
    threads are named by their threading name (Python 3.11 does not name OS threads)."""
    names = {t.native_id: t.name for t in threading.enumerate() if t.native_id is not None}
    out: dict[int, tuple[str, float]] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            tid = int(task.name)
            comm = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError):
            continue  # a thread that ended while we looked
        name = "GUI (main)" if tid == os.getpid() else names.get(tid, comm)
        out[tid] = (name, (int(fields[11]) + int(fields[12])) / TICK)
    return out


def cpu_delta(before: dict[int, tuple[str, float]],
              after: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds per thread name between two `thread_cpu` snapshots (threads that ended
    in between are lost; the console's threads live for the whole run)."""
    out: dict[str, float] = {}
    for tid, (name, cpu) in after.items():
        out[name] = out.get(name, 0.0) + cpu - before.get(tid, (name, 0.0))[1]
    return out


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    """The most this process has had resident so far (VmHWM; ru_maxrss where there is no
    /proc): what must fit in the machine's memory, not only what is left at the end."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def emit(result: dict[str, Any], path: str | None) -> None:
    """Print the result as one JSON line (for bench/run_all.py) and optionally save it."""
    text = json.dumps(result, sort_keys=True)
    if path:
        Path(path).write_text(text + "\n")
    print("RESULT " + text, flush=True)


def percentile(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


class MarkedPhysiology:
    """Wraps a Physiology so that the heart rate steps every second (60..109) and the moment
    each value is produced is kept (`sent[text]`, time.monotonic()): the simulated frame
    carries a value that names when it left, and a paint hook on the tile can tell the delay
    from bytes to a painted number."""

    def __init__(self, physio: Any) -> None:
        self._p = physio
        self.k = 0
        self.sent: dict[str, float] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._p, name)

    def vitals(self, t: float) -> Any:
        self.k += 1
        hr = 60 + self.k % 50
        self.sent[f"{hr}"] = time.monotonic()
        return replace(self._p.vitals(t), hr=float(hr), artefact=False)


def staff_at_console(running: Any) -> None:
    """Staff on the roster and signed in, as in a room at work: the window is locked and
    refuses clinical work until someone signs in. The tests' helper, with its cheap PIN
    hashing, so a bench measures the console and not scrypt."""
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from tests.helpers.staff import staff_signed_in

    staff_signed_in(running.ctx.people)
