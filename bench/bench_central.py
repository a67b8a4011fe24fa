"""What the central station costs, and how soon a room's alarm reaches it.

A throw-away PostgreSQL cluster (tests/helpers/pg.py); N rooms, each a real SQLite file written
by the real writer through the real core (checklist, dose, alarm rules) with 1 Hz numerics in
real time, replicated by the room's own replicator (its default poll and heartbeat). The
station runs as `holdspace central` in its own process, offscreen; its CPU time is read from
/proc after a warm-up and divided by the wall time. Meanwhile one room desaturates K times:
the time from the alarm's commit in the room's file to the station's feed (the same
StationFeed the window uses, in this process) holding it is the alarm latency.

    QT_QPA_PLATFORM=offscreen HOLDSPACE_AUDIO=dummy python bench/bench_central.py [--rooms 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from console.central.feed import StationFeed, Update
from console.core.dosing.templates import load_catalog
from tests.helpers.central_rooms import caught_up, init_server, rooms, station_url
from tests.helpers.pg import Cluster, pg_bin


def cpu_seconds(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rooms", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--alarms", type=int, default=5)
    a = ap.parse_args()
    bindir = pg_bin()
    if bindir is None:
        print("PostgreSQL is not installed (scripts/setup.sh installs it)")
        return 2
    cl = Cluster(bindir)
    cl.start()
    try:
        db = cl.new_database()
        names = [f"Room {i + 1}" for i in range(a.rooms)]
        urls = init_server(cl, db, names)
        with rooms(Path(tempfile.mkdtemp()), names, minutes_ago=3.1) as rs:
            for r in rs:
                r.dosed("Test Patient")
                r.replicate(urls[r.name], heartbeat=2.0)
            for r in rs:
                caught_up(r, cl.url(db))
            station = subprocess.Popen(
                [sys.executable, "-m", "console", "central", "--pg", station_url(cl, db),
                 "--quit-after", str(a.seconds + 30)], stderr=subprocess.DEVNULL)
            seen = threading.Event()
            feed = StationFeed(station_url(cl, db), lambda u: _watch(u, seen),
                               catalog=load_catalog())
            feed.start()
            latencies: list[float] = []
            start = time.monotonic()
            cpu0: tuple[float, float] | None = None
            alarm_at = [start + 20 + i * (a.seconds - 25) / max(1, a.alarms)
                        for i in range(a.alarms)]
            while time.monotonic() - start < a.seconds:
                tick = time.monotonic()
                if cpu0 is None and tick - start > 15:
                    cpu0 = (cpu_seconds(station.pid), tick)
                for r in rs:  # 1 Hz numerics in every room, in real time
                    r.clock._t = time.time()
                    r.feed(0, step=1)
                if alarm_at and tick >= alarm_at[0]:
                    alarm_at.pop(0)
                    latencies.append(_alarm(rs[0], seen))
                time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
            assert cpu0 is not None
            cpu = (cpu_seconds(station.pid) - cpu0[0]) / (time.monotonic() - cpu0[1])
            station.terminate()
            station.wait(30)
            feed.stop()
        lat = sorted(latencies)
        print(f"rooms: {a.rooms}, 1 Hz numerics each, {a.seconds:.0f} s")
        print(f"station CPU (its own process, after warm-up): {100 * cpu:.1f} % of one core")
        print(f"alarm latency, room commit -> station feed: median {lat[len(lat) // 2]:.2f} s, "
              f"max {lat[-1]:.2f} s ({len(lat)} alarms)")
    finally:
        cl.remove()
    return 0


def _watch(u: Update, seen: threading.Event) -> None:
    st = u.rooms.get("Room 1")
    if st is not None:
        if any(al.key == "spo2-low" for al in st.alarms()):
            seen.set()
        else:
            seen.clear()


def _alarm(room: object, seen: threading.Event) -> float:
    """Desaturate until the room's rules raise, time the station's feed, then recover."""
    from tests.helpers.central_rooms import Room

    assert isinstance(room, Room) and room.day is not None
    seen.clear()
    room.clock._t = time.time()
    room.feed(15, spo2=88, step=1)
    room.writer.flush()
    t0 = time.monotonic()
    seen.wait(30)
    took = time.monotonic() - t0
    room.clock._t = time.time()
    room.feed(2, spo2=97, step=1)
    room.writer.flush()
    return took


if __name__ == "__main__":
    raise SystemExit(main())
