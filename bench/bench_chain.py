"""The hash chain on an 8-hour session: how long linking and checking take.

Writes HOURS of data through the real StoreWriter (6 numerics every second, 3 waves at
250 Hz stored as one-second rows, a note every 5 minutes), then times:
- the writer's cost (the same session with the chain's per-minute link and without),
- `chain.verify` of the whole file (what opening the database and `holdspace check` run),
- `chain.link_existing` (the one-time migration of a file made before the chain),
- what linking costs the writer: one minute's readings link, one event with and without it.

    PYTHONPATH=. .venv/bin/python bench/bench_chain.py [--hours 8]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from console.store import chain, records
from console.store.events import Event
from console.store.writer import StoreWriter
from devices import mdc
from devices.reading import Reading, WaveChunk

CODES = (mdc.MDC_ECG_HEART_RATE, mdc.MDC_PULS_OXIM_SAT_O2, mdc.MDC_PULS_OXIM_PULS_RATE,
         mdc.MDC_RESP_RATE, mdc.MDC_PRESS_BLD_NONINV_SYS, mdc.MDC_PRESS_BLD_NONINV_DIA)
WAVES = (mdc.MDC_PULS_OXIM_PLETH, mdc.MDC_ECG_ELEC_POTL_II, mdc.MDC_ECG_ELEC_POTL)


def write_session(path: Path, hours: float) -> float:
    """Seconds the writer needed (readings queued as fast as it takes them)."""
    t0 = 1_780_000_000.0
    w = StoreWriter(str(path))
    started = time.perf_counter()
    w.start()
    sid = w.call(lambda c: records.start_session(c, None, t0)).result(10)
    wave = np.sin(np.linspace(0, 6.28, 250, dtype=np.float32))
    for s in range(int(hours * 3600)):
        t = t0 + s
        batch: list[Reading | WaveChunk] = [
            Reading(t, "bench", c, 60.0 + (s % 30), mdc.MDC_DIM_BEAT_PER_MIN) for c in CODES]
        batch += [WaveChunk(t, "bench", c, 250.0, wave) for c in WAVES]
        w.add_samples(sid, batch)
        if s % 300 == 0:
            w.append_event(Event("note.observation", t, {"text": f"calm {s}"}, session_id=sid))
        if s % 3600 == 0:
            w.flush(60)
    w.call(lambda c: records.end_session(c, sid, t0 + hours * 3600)).result(60)
    w.stop(60)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=8.0)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        wrote = write_session(db, a.hours)
        conn = sqlite3.connect(db)
        n_r, n_w, n_e, n_c = (conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                              for t in ("readings", "waveforms", "events", "chain"))
        print(f"{a.hours:g} h: {n_r} readings, {n_w} waveform rows, {n_e} events, {n_c} links; "
              f"{db.stat().st_size / 1e6:.0f} MB; written in {wrote:.1f} s")
        t = time.perf_counter()
        st = chain.verify(conn)
        print(f"verify (cold-ish, whole file): {time.perf_counter() - t:.2f} s, ok={st.ok}")
        t = time.perf_counter()
        st = chain.verify(conn)
        print(f"verify (warm cache):            {time.perf_counter() - t:.2f} s, ok={st.ok}")
        t = time.perf_counter()
        st = chain.verify(conn, rows=False)
        print(f"verify links and events only (the start-up's first answer, a backup's check): "
              f"{time.perf_counter() - t:.3f} s, ok={st.ok}")
        conn.close()
        mem = sqlite3.connect(":memory:")
        conn = sqlite3.connect(db)
        conn.backup(mem)
        conn.close()
        mem.execute("DROP TABLE chain")
        chain.create_tables(mem)
        chain.install(mem)
        t = time.perf_counter()
        chain.link_existing(mem)
        print(f"link_existing (migration of an unchained file): {time.perf_counter() - t:.2f} s")
        print(f"verify after it: ok={chain.verify(mem).ok}")
    writer_cost()


def writer_cost() -> None:
    """The price in the writer's transaction: a minute's link, and an event's link."""
    from console.store.db import open_db
    from console.store.events import insert_events

    with tempfile.TemporaryDirectory() as tmp:
        c = open_db(Path(tmp) / "c.db")
        sid = records.start_session(c, None, 1000.0)
        wave = np.zeros(250, dtype="<f4").tobytes()
        times = []
        for minute in range(20):
            t0 = 2000.0 + minute * 60
            c.execute("BEGIN")
            c.executemany("INSERT INTO readings (session_id, t, source, code, value, unit, "
                          "quality) VALUES (?, ?, 'x', ?, ?, ?, 0)",
                          [(sid, t0 + s, CODES[k], 60.0 + s, mdc.MDC_DIM_BEAT_PER_MIN)
                           for s in range(60) for k in range(len(CODES))])
            c.executemany("INSERT INTO waveforms (session_id, source, code, t0, rate_hz, n, "
                          "samples, quality) VALUES (?, 'x', ?, ?, 250.0, 250, ?, 0)",
                          [(sid, WAVES[k], t0 + s, wave) for s in range(60)
                           for k in range(len(WAVES))])
            t = time.perf_counter()
            chain.digest_new_rows(c)
            times.append(time.perf_counter() - t)
            c.execute("COMMIT")
        print(f"one minute's readings link (360 readings, 180 wave rows): "
              f"median {1000 * sorted(times)[len(times) // 2]:.1f} ms")
        evs = [Event("note.observation", 3000.0 + i, {"text": "x" * 200}, session_id=sid)
               for i in range(2000)]
        c.execute("BEGIN")
        t = time.perf_counter()
        for e in evs[:1000]:
            insert_events(c, [e])
        linked = time.perf_counter() - t
        c.execute("COMMIT")
        c.execute("DROP TRIGGER temp.holdspace_chain_event")
        c.execute("BEGIN")
        t = time.perf_counter()
        for e in evs[1000:]:
            insert_events(c, [e])
        plain = time.perf_counter() - t
        c.execute("COMMIT")
        c.close()
        print(f"an event insert: {linked * 1000:.0f} µs with its chain link, "
              f"{plain * 1000:.0f} µs without")


if __name__ == "__main__":
    main()
