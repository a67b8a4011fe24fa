"""What encryption costs: opening and writing an encrypted database vs a plain one, side by side.

Each round, in one process, for each of the two kinds of file:
- open: the real `open_db` on a new file (create, migrate, vocabulary) and, 20 times, on the
  existing file (key, quick_check, lock probe) — what every start of Holdspace does;
- write: through the real StoreWriter, N events each committed and waited for (a clinician's
  entries, synchronous=FULL) and one hour of monitor data (HR, SpO2, PR, RR every second, a
  cuff every 5 min, pleth at 125 Hz) as fast as it goes.
Rounds alternate plain and encrypted (and which goes first) so a busy disk or CPU hurts both
alike; the medians are compared, in wall time and in this process's CPU time. Both kinds make
the same writes and fsyncs (strace -c shows identical counts), so encryption's own cost is
CPU; wall time on a shared disk varies with its fsync latency. The plain baseline is made by
giving the store no key for these files (a bench-only switch below: the console itself has no
way to write a plain file).

    .venv/bin/python bench/bench_encryption.py [--rounds 3] [--events 200] [--hours 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_session import session_samples

from console.store import db as store_db
from console.store import encryption, engine, records
from console.store.events import Event
from console.store.writer import StoreWriter
from devices.reading import Sample


def _no_key(p: Path, *, create: bool = False) -> bytes | None:
    return None


def _left_plain(p: Path) -> None:
    return None


@contextmanager
def plain_files() -> Iterator[None]:
    """Bench only: the store opens these files without a key and leaves them plain."""
    saved = (store_db.file_key, encryption.encrypt_in_place)
    store_db.file_key = _no_key
    encryption.encrypt_in_place = _left_plain
    try:
        yield
    finally:
        store_db.file_key, encryption.encrypt_in_place = saved


def timed(fn: Callable[[], object], cpu: dict[str, float] | None = None, name: str = ""
          ) -> float:
    """Wall time of fn(); with `cpu`, also this process's CPU time (every thread, so the
    writer's too) under `name` — less disturbed by other programs on a busy machine."""
    start, start_cpu = time.perf_counter(), time.process_time()
    fn()
    if cpu is not None:
        cpu[name] = time.process_time() - start_cpu
    return time.perf_counter() - start


def one_round(folder: Path, batches: list[list[Sample]], n_events: int, t0: float,
              plain: bool) -> dict[str, float]:
    db = folder / "bench.db"
    out: dict[str, float] = {}
    cpu: dict[str, float] = {}
    out["create"] = timed(lambda: store_db.open_db(db).close(), cpu, "create cpu")
    reopen = [timed(lambda: store_db.open_db(db).close()) for _ in range(20)]
    out["reopen"] = statistics.median(reopen)
    w = StoreWriter(str(db))
    w.start()
    sid = w.call(lambda c: records.start_session(c, None, t0)).result(10)

    def events() -> None:
        for i in range(n_events):
            w.append_event(Event("note.added", t0 + i, {"text": f"entry {i}: calm, talking"},
                                 session_id=sid, author="Bench Nurse")).result(10)

    out["events"] = timed(events, cpu, "events cpu")

    def readings() -> None:
        for b in batches:
            w.add_samples(sid, b)
        w.flush(timeout=600)

    out["hour"] = timed(readings, cpu, "hour cpu")
    w.stop()
    out.update(cpu)
    out["size"] = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
    assert engine.file_kind(db) == ("plain" if plain else "encrypted")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--events", type=int, default=200)
    ap.add_argument("--hours", type=float, default=1.0)
    a = ap.parse_args()
    t0 = 1_800_000_000.0
    batches = session_samples(a.hours, t0)
    results: dict[str, list[dict[str, float]]] = {"plain": [], "encrypted": []}
    with tempfile.TemporaryDirectory() as d:
        os.environ["HOLDSPACE_KEY_DIR"] = str(Path(d) / "keys")  # never the real keyring
        os.environ["HOLDSPACE_KEYRING"] = "off"
        for r in range(a.rounds):
            for kind in ("plain", "encrypted")[::1 if r % 2 == 0 else -1]:  # each goes first
                folder = Path(d) / f"{kind}-{r}"
                folder.mkdir()
                if kind == "plain":
                    with plain_files():
                        results[kind].append(one_round(folder, batches, a.events, t0, True))
                else:
                    results[kind].append(one_round(folder, batches, a.events, t0, False))
    med = {k: {m: statistics.median(x[m] for x in v) for m in v[0]} for k, v in results.items()}
    p, e = med["plain"], med["encrypted"]
    rows = [("open a new file (create, migrate)", "create", 1000, "ms"),
            ("open the existing file (median of 20)", "reopen", 1000, "ms"),
            (f"{a.events} events, each committed", "events", 1, "s"),
            (f"{a.hours:g} h of monitor data", "hour", 1, "s")]
    print(f"SQLCipher {engine.sqlcipher_version()}; median of {a.rounds} alternating rounds")
    print(f"{'':40} {'plain':>10} {'encrypted':>10} {'overhead':>9}")
    for label, m, scale, unit in rows:
        print(f"{label:40} {p[m] * scale:>8.2f}{unit:>2} {e[m] * scale:>8.2f}{unit:>2} "
              f"{(e[m] / p[m] - 1) * 100:>+8.1f}%")
    total_p = p["create"] + p["events"] + p["hour"]
    total_e = e["create"] + e["events"] + e["hour"]
    print(f"{'open + write, all together (wall)':40} {total_p:>9.2f}s {total_e:>9.2f}s "
          f"{(total_e / total_p - 1) * 100:>+8.1f}%")
    cpu_p = p["create cpu"] + p["events cpu"] + p["hour cpu"]
    cpu_e = e["create cpu"] + e["events cpu"] + e["hour cpu"]
    print(f"{'open + write, all together (CPU)':40} {cpu_p:>9.2f}s {cpu_e:>9.2f}s "
          f"{(cpu_e / cpu_p - 1) * 100:>+8.1f}%")
    print(f"{'file size':40} {p['size'] / 1e6:>8.2f}MB {e['size'] / 1e6:>8.2f}MB "
          f"{(e['size'] / p['size'] - 1) * 100:>+8.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
