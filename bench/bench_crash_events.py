"""Kill -9 while clinical events are being recorded: is every confirmed event on disk?

A child process records doses, notes (observations, adverse events with a rescue drug) and
alarm raises, acknowledgements and clears through the same core calls the console makes
(`DoseDay`, `NoteBook`), as fast as it can, and prints each event's uid only once the
writer's Future for it has resolved (the event is committed). The parent kills the child
with SIGKILL at random moments, then checks that every uid printed is in the database.
Every child writes into the same file, so each also proves the file opens and goes on after
the previous kill.

    .venv/bin/python bench/bench_crash_events.py [--kills 30] [--seed N] [--db FILE]

Prints one line per kill and finally `lost N of M acknowledged events` (N must be 0); exit
status 1 if any was lost. `--unsafe-ack` prints uids as soon as the call returns, the way
Holdspace confirmed events before issue 9: it shows what the check catches.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READY = "ready"


# ----------------------------------------------------------------------------- the child
def run_child(db: Path, unsafe_ack: bool) -> None:
    """Record events for ever (until killed); one uid per line once each is committed."""
    from console.core.acquisition import AcquisitionHub
    from console.core.clock import SystemClock
    from console.core.dosing.dose_day import DoseDay
    from console.core.dosing.templates import load_catalog
    from console.core.notes.notes import NoteBook
    from console.core.session import SessionService, Staff
    from console.store import records
    from console.store.db import open_reader
    from console.store.events import Event
    from console.store.writer import StoreWriter
    from devices.link import LinkState, LinkStatus
    from devices.protocol import DecoderStats

    def ack(ev: Event, fut: Future[Event] | None) -> None:
        line = f"{ev.uid}\n".encode()
        if fut is None:
            os.write(1, line)
            return
        fut.add_done_callback(lambda f: None if f.exception() else os.write(1, line))

    clock = SystemClock()
    writer = StoreWriter(str(db))
    writer.start()
    reader = open_reader(db)
    sessions = SessionService(clock, writer, reader)
    sessions.set_user(Staff("Bench Nurse", "nurse"))
    now = clock.now()
    pid = writer.call(lambda c: records.create_patient(
        c, "Bench Patient", now, weight_kg=70.0)).result(10)
    sessions.start(pid, template="im")
    tpl = load_catalog().get("im")
    assert tpl is not None
    hub = AcquisitionHub(writer, clock.now)
    hub.session_id = sessions.current.id if sessions.current else None
    day = DoseDay.open(tpl, sessions, clock, reader, hub.manual)
    notes = NoteBook(clock, writer, reader, sessions)

    def confirm(evs: list[Event]) -> None:
        for ev in evs:
            ack(ev, None if unsafe_ack else sessions.saved(ev))

    confirm([day.override_gate("bench: dosing without a baseline, by design")])
    confirm([day.give_dose("50", lot="B-1", given_by="Bench Nurse", confirmed=True)])
    os.write(1, f"{READY}\n".encode())
    stats = DecoderStats()
    i = 0
    while True:
        i += 1
        confirm([notes.observe(f"bench observation {i}", author="Bench Nurse")])
        ae, rescue = notes.adverse_event(f"nausea {i}", "mild", drug="ondansetron", mg="4",
                                         route="IV", author="Bench Nurse")
        confirm([ae] + ([rescue] if rescue else []))
        t = clock.now()
        confirm(day.link(LinkStatus("MON", LinkState.LOST, "cable out", t, stats)))
        confirm(day.acknowledge("Bench Nurse"))
        confirm(day.link(LinkStatus("MON", LinkState.LIVE, "frames arriving", t, stats)))


# ----------------------------------------------------------------------------- the parent
@dataclass
class Trial:
    db: Path
    acknowledged: set[str] = field(default_factory=set)
    lost: set[str] = field(default_factory=set)
    kills: int = 0

    def line(self) -> str:
        return f"lost {len(self.lost)} of {len(self.acknowledged)} acknowledged events"


def _child_cmd(db: Path, unsafe_ack: bool) -> list[str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--db", str(db)]
    return cmd + (["--unsafe-ack"] if unsafe_ack else [])


def _stored(db: Path, uids: set[str]) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        conn.execute("CREATE TEMP TABLE want (uid TEXT PRIMARY KEY)")
        conn.executemany("INSERT INTO want VALUES (?)", [(u,) for u in uids])
        return {u for (u,) in conn.execute(
            "SELECT want.uid FROM want JOIN events ON events.uid = want.uid")}
    finally:
        conn.close()


def kill_once(db: Path, rng: random.Random, max_delay: float = 1.0,
              unsafe_ack: bool = False, start_timeout: float = 60.0) -> set[str]:
    """Start a recording child, SIGKILL it at a random moment; the uids it acknowledged."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(_child_cmd(db, unsafe_ack), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=ROOT)
    assert proc.stdout is not None and proc.stderr is not None
    lines: list[bytes] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            if raw.strip() == READY.encode():
                ready.set()
            lines.append(raw)
        ready.set()  # EOF: the child died (or was killed) before it was ready

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not ready.wait(start_timeout) or proc.poll() is not None:
            raise RuntimeError("the recording child did not start: "
                               + proc.stderr.read().decode(errors="replace")[-2000:])
        ready.clear()
        ready.wait(rng.uniform(0.0, max_delay))  # the random moment (early only if it died)
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        reader.join(10)
        proc.stdout.close()
        proc.stderr.close()
    # Only whole lines count: the kill may cut the last one in half.
    return {raw[:-1].decode() for raw in lines
            if raw.endswith(b"\n") and len(raw) == 33 and raw[:-1] != READY.encode()}


def trial(db: Path, kills: int, seed: int | None = None, max_delay: float = 1.0,
          unsafe_ack: bool = False, out: bool = False) -> Trial:
    rng = random.Random(seed)
    result = Trial(db)
    for k in range(kills):
        acked = kill_once(db, rng, max_delay, unsafe_ack)
        missing = acked - _stored(db, acked)
        result.acknowledged |= acked
        result.lost |= missing
        result.kills += 1
        if out:
            print(f"kill {k + 1:3d}: {len(acked):5d} acknowledged, {len(missing)} missing",
                  flush=True)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=30)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--max-delay", type=float, default=1.0,
                    help="kill within this many seconds of the child being ready")
    ap.add_argument("--db", type=Path, help="database file (default: a temporary one)")
    ap.add_argument("--unsafe-ack", action="store_true",
                    help="acknowledge when the call returns, not when committed")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        run_child(a.db, a.unsafe_ack)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        db = a.db or Path(tmp) / "crash.db"
        t0 = time.monotonic()
        r = trial(db, a.kills, a.seed, a.max_delay, a.unsafe_ack, out=True)
        print(f"{r.kills} kills in {time.monotonic() - t0:.0f} s; {r.line()}")
    return 1 if r.lost else 0


if __name__ == "__main__":
    sys.exit(main())
