"""`holdspace` on the command line: the console, the simulator, headless recording, listings.

Every mistake a user can make on the command line (an unknown protocol, a port that does not
exist, a database that cannot be written, is locked by another program, is damaged, or sits
on a full disk) ends with one clear line and exit code 2, never a traceback.

Exit codes: 0 done; 1 `check` found the database damaged; 2 a mistake or a storage problem at
start (one line on stderr); 3 `record` could not store everything it received (its last
lines say what is missing); 130 interrupted by Ctrl-C before anything started.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import NoReturn

from console.core.config import DeviceConfig, default_data_dir

EXIT_DAMAGED = 1
EXIT_USAGE = 2
EXIT_NOT_STORED = 3


class UserError(Exception):
    """A mistake the person at the keyboard can fix; printed as one line."""


def default_db() -> Path:
    return default_data_dir() / "holdspace.db"


def _devices(specs: list[str] | None) -> list[DeviceConfig] | None:
    from devices.drivers import UnknownProtocol, device_name, parse_device

    if not specs:
        return None
    out = []
    for spec in specs:
        try:
            driver, port = parse_device(spec)
        except UnknownProtocol as e:
            raise UserError(str(e)) from None
        out.append(DeviceConfig(device_name(driver), port))
    return out


def check_port(port: str) -> None:
    """Refuse at start a port that plainly is not there (a later unplug is handled live)."""
    if "://" in port:
        return
    if os.name != "nt" and not os.path.exists(port):
        raise UserError(f"serial port {port} does not exist — check the cable/adapter and the name")


def check_db(path: Path) -> None:
    """Open (creating or migrating) the database once, to fail early with a clear message."""
    from console.store.db import StoreError, open_db

    try:
        open_db(path).close()
    except StoreError as e:
        raise UserError(str(e)) from None


def cmd_run(a: argparse.Namespace) -> int:
    from console.app import has_screen, run_gui

    devices = _devices(a.device)
    for d in devices or []:
        check_port(d.port)
    db = Path(a.db) if a.db else default_db()
    check_db(db)
    if not has_screen():
        raise UserError(
            "no screen found (DISPLAY is not set). Start it on the room's desktop, or on a "
            "virtual screen: `xvfb-run -a holdspace`, or record without a window: "
            "`holdspace record --device sim:PORT`"
        )
    return run_gui(db, devices, scenario=a.scenario, fullscreen=a.fullscreen,
                   screenshot=Path(a.screenshot) if a.screenshot else None,
                   quit_after=a.quit_after, capture=a.capture)


def cmd_simulate(a: argparse.Namespace) -> int:
    from devices.drivers import UnknownProtocol, get_driver
    from devices.physiology import Physiology
    from devices.simulator import Simulator

    try:
        driver = get_driver(a.protocol)
        physio = Physiology(a.scenario, start=time.time())
    except (UnknownProtocol, ValueError) as e:
        raise UserError(str(e)) from None
    sim = Simulator(driver, physio, link_path=a.link, tcp=a.tcp is not None,
                    tcp_port=a.tcp or 0)
    port = sim.start()
    print(f"simulated {driver.title}, scenario '{a.scenario}', on: {port}", flush=True)
    print(f"connect with: holdspace record --device {driver.name}:{port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


def cmd_record(a: argparse.Namespace) -> int:
    from console.core.recorder import recording
    from console.store.db import StoreError
    from devices.drivers import get_driver

    devices = _devices(a.device) or []
    for d in devices:
        check_port(d.port)
    db = Path(a.db) if a.db else default_db()
    check_db(db)
    from console.ui.crash_guard import log_thread_crashes  # no Qt: logging only

    log_thread_crashes(lambda m: print(f"holdspace: {m}", file=sys.stderr, flush=True),
                       default_data_dir() / "logs" / "holdspace.log")
    try:
        result = recording(db, [(get_driver(d.protocol), d.port) for d in devices],
                           patient=a.patient, duration=a.duration, out=sys.stdout,
                           err=sys.stderr, capture=a.capture)
    except StoreError as e:
        raise UserError(str(e)) from None
    return 0 if result.complete else EXIT_NOT_STORED


def cmd_replay(a: argparse.Namespace) -> int:
    from devices.capture import CaptureError, read_capture
    from devices.drivers import UnknownProtocol, get_driver
    from devices.replay import Replay

    try:
        cap = read_capture(Path(a.file))
        driver = get_driver(a.protocol or cap.protocol or "")
    except (CaptureError, UnknownProtocol) as e:
        raise UserError(str(e)) from None
    if not cap.received:
        raise UserError(f"{a.file} holds no bytes from a monitor — nothing to replay")
    try:
        rep = Replay(cap.records, speed=a.speed, link_path=a.link, loop=a.loop)
        port = rep.start()
    except (ValueError, OSError) as e:
        raise UserError(str(e)) from None
    recorded = cap.header.get("protocol")
    if recorded and recorded != driver.name:
        print(f"note: this capture was recorded as {recorded!r}, replaying as {driver.name!r}",
              flush=True)
    print(f"replaying {Path(a.file).name} ({len(cap.received)} reads, {cap.duration:.0f} s"
          f"{', cut short' if cap.truncated else ''}) at {a.speed:g}x on: {port}", flush=True)
    print(f"connect with: holdspace record --device {driver.name}:{port}", flush=True)
    try:
        while not rep.finished.wait(0.5):
            pass
        print(f"replay finished: {rep.bytes_sent} bytes sent", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        rep.stop()
    return 0


def duration_text(seconds: float) -> str:
    """5 s, 21.5 min, 3 h 05 min: the unit a person reads at a glance."""
    s = max(0.0, seconds)
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"


def _session_end(r: dict[str, object]) -> float:
    """Where a session's duration ends: its end, or else its last stored data."""
    end = r["ended"] if r["ended"] is not None else r["last_data"]
    assert isinstance(end, float | int)
    return float(end)


def cmd_sessions(a: argparse.Namespace) -> int:
    from console.store.db import StoreError, explain, open_readonly
    from console.store.health import shown_state
    from console.store.records import session_summaries

    db = Path(a.db) if a.db else default_db()
    try:
        conn, note = open_readonly(db)
    except StoreError as e:
        raise UserError(str(e)) from None
    if note:
        print(f"holdspace: note: {note}", file=sys.stderr)
    try:
        rows = session_summaries(conn)
    except sqlite3.DatabaseError as e:
        raise UserError(str(explain(db, e))) from None
    finally:
        conn.close()
    if not rows:
        print("no sessions yet")
    for r in rows:
        start = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["started"]))
        state = shown_state(db, r["id"], r["state"])
        print(f"#{r['id']:<4} {start}  {duration_text(_session_end(r) - r['started']):>10}  "
              f"{state:<11}  {(r['patient'] or '(no patient)'):<24} {r['readings']:>7} readings  "
              f"{r['wave_seconds']:>7.0f} s wave  {r['events']:>5} events")
    return 0


def cmd_check(a: argparse.Namespace) -> int:
    from console.store.db import SCHEMA_VERSION, StoreError
    from console.store.health import check_database

    db = Path(a.db) if a.db else default_db()
    try:
        h = check_database(db)
    except StoreError as e:
        raise UserError(str(e)) from None
    if h.note:
        print(f"note:        {h.note}")
    size = f"{h.size / 1e6:.1f} MB" if h.size >= 1e6 else f"{h.size / 1e3:.0f} kB"
    print(f"database:    {h.path} ({size})")
    if h.ok:
        print("integrity:   ok")
    else:
        print(f"integrity:   DAMAGED — {len(h.problems)} problem"
              f"{'s' if len(h.problems) != 1 else ''} found; keep this file for support")
        for line in h.problems[:10]:
            print(f"             {line}")
        if len(h.problems) > 10:
            print(f"             … and {len(h.problems) - 10} more")
    if h.version == SCHEMA_VERSION:
        same = "as this Holdspace makes it" if h.schema_hash == h.expected_hash else (
            "DIFFERS from what this Holdspace makes")
        print(f"schema:      version {h.version}, sha256 {h.schema_hash} ({same})")
    else:
        print(f"schema:      version {h.version} (this Holdspace writes {SCHEMA_VERSION}), "
              f"sha256 {h.schema_hash}")
    print("counts:      " + ", ".join(f"{n} {t}" for t, n in h.counts.items()))
    if not h.unclosed:
        print("open:        every session is closed")
    for s in h.unclosed:
        start = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.started))
        last = time.strftime("%H:%M:%S", time.localtime(s.last_data))
        print(f"{s.state + ':':<13}#{s.id} {s.patient or '(no patient)'}, started {start}, "
              f"last data {last} ({duration_text(s.last_data - s.started)})")
    return 0 if h.ok else EXIT_DAMAGED


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, as everywhere else
        raise UserError(message)


def parser() -> argparse.ArgumentParser:
    from devices.physiology import SCENARIOS

    p = _Parser(prog="holdspace", description="Holdspace treatment-room console.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    db_help = f"database file (default {default_db()})"
    dev_help = "monitor as PROTOCOL:PORT, e.g. nonin:/dev/ttyUSB0; repeat for several"
    capture_help = ("write the raw bytes from each monitor to a .hscap file in captures/ beside "
                    "the database (for support)")

    run = sub.add_parser("run", help="start the console window (the default)")
    for q in (p, run):
        q.add_argument("--db", help=db_help)
        q.add_argument("--device", action="append", help=dev_help)
        q.add_argument("--scenario", default="calm", choices=sorted(SCENARIOS),
                       help="built-in simulator scenario when no device is configured")
        q.add_argument("--fullscreen", action="store_true")
        q.add_argument("--screenshot", help="save a picture of the window to this PNG")
        q.add_argument("--quit-after", type=float, help="close after this many seconds")
        q.add_argument("--capture", action="store_true", help=capture_help)

    sim = sub.add_parser("simulate", help="run a simulated monitor on a pseudo-terminal")
    sim.add_argument("--protocol", default="sim")
    sim.add_argument("--scenario", default="calm", help=", ".join(sorted(SCENARIOS)))
    sim.add_argument("--link", help="also make this stable path point at the port")
    sim.add_argument("--tcp", type=int, nargs="?", const=0,
                     help="serve on 127.0.0.1:PORT instead of a pty (socket:// clients)")

    rec = sub.add_parser("record", help="record monitors into a new session without a window")
    rec.add_argument("--device", action="append", required=True, help=dev_help)
    rec.add_argument("--db", help=db_help)
    rec.add_argument("--patient", help="patient identifier (created if new)")
    rec.add_argument("--duration", type=float, help="seconds to record (default: until Ctrl-C)")
    rec.add_argument("--capture", action="store_true", help=capture_help)

    rep = sub.add_parser("replay", help="play a capture file back through a pseudo-terminal")
    rep.add_argument("file", help="a .hscap file (from --capture)")
    rep.add_argument("--protocol", help="monitor protocol (default: the one in the file)")
    rep.add_argument("--speed", type=float, default=1.0,
                     help="1 = original pace (default), 10 = ten times faster")
    rep.add_argument("--link", help="also make this stable path point at the port")
    rep.add_argument("--loop", action="store_true", help="start over at the end, until Ctrl-C")

    ses = sub.add_parser("sessions", help="list sessions with their counts (read-only)")
    ses.add_argument("--db", help=db_help)

    chk = sub.add_parser("check", help="check a database: integrity, schema, counts, "
                                       "interrupted sessions (read-only)")
    chk.add_argument("--db", help=db_help)
    return p


COMMANDS = {"run": cmd_run, "simulate": cmd_simulate, "record": cmd_record,
            "replay": cmd_replay, "sessions": cmd_sessions, "check": cmd_check}


def main(argv: list[str] | None = None) -> int:
    if hasattr(signal, "SIGXFSZ"):
        # With a file-size limit (ulimit -f) the kernel would kill us silently at the limit;
        # ignored, the write fails instead and Holdspace says so.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        a = parser().parse_args(argv)
        return COMMANDS[a.command or "run"](a)
    except UserError as e:
        print(f"holdspace: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
