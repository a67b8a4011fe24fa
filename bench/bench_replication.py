"""Replication to PostgreSQL, measured: lag while 10 rooms record, and an hour's catch-up.

1. Live: 10 rooms, each a real StoreWriter writing its own SQLite file in real time (HR, SpO2,
   PR, RR once a second, a cuff every 5 minutes, pleth at 125 Hz in 0.2 s chunks), each with
   its own Replicator (waveforms on) sending to one server. Lag = commit on the server minus
   the time the value was measured (a waveform row: its last sample), so it includes the
   writer's 0.25 s batching and the replicator's 0.5 s look at the file.
2. Catch-up: 10 files holding an hour each (written beforehand, as after an hour's outage),
   10 replicators started at once against an empty server; time until all are caught up.

Everything runs in this one process (10 writers, 10 replicators, the feeder) on this
machine, sharing its cores with the server: a clinic's rooms are separate computers.

    .venv/bin/python bench/bench_replication.py [--rooms 10] [--seconds 60] [--pg URL]

Without --pg a throw-away cluster is started (tests/helpers/pg.py: fsync=off, so commits are
cheaper than on a real server with fsync on).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from console.replication import schema
from console.replication.address import login_for
from console.replication.replicator import Pushed, Replicator, SyncSettings
from console.store import records
from console.store.db import open_db
from console.store.writer import StoreWriter
from devices import mdc
from devices.physiology import Physiology
from devices.reading import Reading, Sample, WaveChunk

NUMERICS = ((mdc.MDC_ECG_HEART_RATE, mdc.MDC_DIM_BEAT_PER_MIN),
            (mdc.MDC_PULS_OXIM_SAT_O2, mdc.MDC_DIM_PERCENT),
            (mdc.MDC_PULS_OXIM_PULS_RATE, mdc.MDC_DIM_BEAT_PER_MIN),
            (mdc.MDC_RESP_RATE, mdc.MDC_DIM_RESP_PER_MIN))


def second_of(p: Physiology, t: float) -> list[Sample]:
    """The numerics a monitor sends at `t` (a cuff result on the 5-minute mark)."""
    v = p.vitals(float(int(t)))
    out: list[Sample] = [Reading(t, "bench", c, float(x or 0.0), u) for (c, u), x in zip(
        NUMERICS, (v.hr, v.spo2, v.pulse, v.rr), strict=True)]
    if v.nibp and v.nibp_t == int(t):
        out += [Reading(t, "bench", c, x, mdc.MDC_DIM_MMHG) for c, x in zip(
            (mdc.MDC_PRESS_BLD_NONINV_SYS, mdc.MDC_PRESS_BLD_NONINV_DIA,
             mdc.MDC_PRESS_BLD_NONINV_MEAN), v.nibp, strict=True)]
    return out


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.array(xs), q)) if xs else float("nan")


def live(admin: str, room_url: dict[str, str], folder: Path, seconds: float) -> None:
    rooms = list(room_url)
    lags: dict[str, list[float]] = {"readings": [], "waveforms": []}
    rows = [0]
    lock = threading.Lock()

    def pushed(p: Pushed) -> None:
        with lock:
            for t in ("readings", "waveforms"):
                lags[t].extend(p.lags.get(t, []))
            rows[0] += sum(p.rows.values())

    writers, reps, sids, physios = [], [], [], []
    t0 = time.time()
    for i, room in enumerate(rooms):
        db = folder / f"live{i}.db"
        open_db(db).close()
        w = StoreWriter(str(db))
        w.start()
        sids.append(w.call(lambda c: records.start_session(c, None, t0)).result(10))
        writers.append(w)
        physios.append(Physiology("calm", start=t0, nibp_interval=300, seed=i + 1))
        rep = Replicator(db, SyncSettings(room_url[room], room, waveforms=True), on_pushed=pushed)
        rep.start()
        reps.append(rep)
    time.sleep(2)  # connected, first heartbeat
    with lock:
        lags["readings"].clear()
        lags["waveforms"].clear()
        rows[0] = 0
    start = time.monotonic()
    tick = 0
    while time.monotonic() - start < seconds:
        now = time.time()
        for w, sid, p in zip(writers, sids, physios, strict=True):  # the last 0.2 s of pleth
            w.add_samples(sid, [WaveChunk(now - 0.2, "bench", mdc.MDC_PULS_OXIM_PLETH, 125.0,
                                          p.pleth(now - 0.2, 25, 125.0))])
        if tick % 5 == 0:
            for w, sid, p in zip(writers, sids, physios, strict=True):
                w.add_samples(sid, second_of(p, now))
        tick += 1
        time.sleep(max(0.0, start + tick * 0.2 - time.monotonic()))
    took = time.monotonic() - start
    for w in writers:
        w.stop()
    for r in reps:
        r.stop(flush=10)
    with lock:
        r_l, w_l, n = list(lags["readings"]), list(lags["waveforms"]), rows[0]
    print(f"live: {len(rooms)} rooms for {took:.0f} s: {n:,} rows sent ({n / took:,.0f} rows/s)")
    print(f"  readings  lag p50 {pct(r_l, 50):.2f} s, p99 {pct(r_l, 99):.2f} s, max "
          f"{max(r_l):.2f} s ({len(r_l):,} rows)")
    if w_l:
        print(f"  waveforms lag p50 {pct(w_l, 50):.2f} s, p99 {pct(w_l, 99):.2f} s, max "
              f"{max(w_l):.2f} s ({len(w_l):,} rows of ~1 s)")


def hour_file(db: Path, seed: int, t0: float) -> int:
    """An hour of one room written straight into the file (as the writer stores it)."""
    conn = open_db(db)
    sid = records.start_session(conn, None, t0)
    p = Physiology("calm", start=t0, nibp_interval=300, seed=seed)
    readings, waves = [], []
    for s in range(3600):
        t = t0 + s
        for r in second_of(p, t):
            assert isinstance(r, Reading)
            readings.append((sid, r.t, r.source, r.code, r.value, r.unit, 0))
        waves.append((sid, t, p.pleth(t, 125, 125.0).astype("<f4").tobytes()))
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO readings (session_id, t, source, code, value, unit, quality) "
                     "VALUES (?,?,?,?,?,?,?)", readings)
    conn.executemany("INSERT INTO waveforms (session_id, source, code, t0, rate_hz, n, samples, "
                     f"quality) VALUES (?, 'bench', {mdc.MDC_PULS_OXIM_PLETH}, ?, 125.0, 125, ?, 0)",
                     waves)
    conn.execute("COMMIT")
    conn.close()
    return len(readings) + len(waves)


def catch_up(room_url: dict[str, str], folder: Path) -> None:
    t0 = time.time() - 3600
    total = 0
    files = {}
    for i, room in enumerate(room_url):
        files[room] = folder / f"hour{i}.db"
        total += hour_file(files[room], i + 1, t0)
    reps = [Replicator(files[r], SyncSettings(room_url[r], r, waveforms=True)) for r in room_url]
    start = time.monotonic()
    for r in reps:
        r.start()
    done: dict[int, float] = {}
    while len(done) < len(reps):
        for i, r in enumerate(reps):
            if i not in done and r.status.caught_up:
                done[i] = time.monotonic() - start
        time.sleep(0.05)
    took = max(done.values())
    for r in reps:
        r.stop(flush=0)
    print(f"catch-up: an hour of {len(reps)} rooms ({total:,} rows, waveforms included) sent "
          f"in {took:.1f} s ({total / took:,.0f} rows/s); per room {statistics.median(done.values()):.1f} s "
          f"median")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rooms", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--pg", help="an admin URL of a server to use (default: a throw-away one)")
    a = ap.parse_args()
    cluster = None
    if a.pg is None:
        from tests.helpers.pg import Cluster, pg_bin

        bindir = pg_bin()
        if bindir is None:
            print("PostgreSQL is not installed (scripts/setup.sh installs it)", file=sys.stderr)
            return 2
        cluster = Cluster(bindir)
        cluster.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for phase in ("live", "catch-up"):
                admin = cluster.url(cluster.new_database()) if cluster is not None else a.pg
                rooms = [f"Bench {phase} {i}" for i in range(a.rooms)]
                schema.init(admin, [(r, "bench-pw") for r in rooms])
                base = admin.rsplit("@", 1)[1]
                urls = {r: f"postgresql://{login_for(r)}:bench-pw@{base}" for r in rooms}
                if phase == "live":
                    live(admin, urls, folder, a.seconds)
                else:
                    catch_up(urls, folder)
    finally:
        if cluster is not None:
            cluster.remove()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
