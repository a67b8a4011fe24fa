"""`holdspace` on the command line: the console, the simulator, headless recording, listings,
reports, exports (CSV, .vital, FHIR), backups and restore.

Every mistake a user can make on the command line (an unknown protocol, a port that does not
exist, a database that cannot be written, is locked by another program, is damaged, or sits
on a full disk) ends with one clear line and exit code 2, never a traceback.

Exit codes: 0 done; 1 `check` found the database damaged, or `sync-status` could not reach
the central server; 2 a mistake or a storage problem at start (one line on stderr); 3
`record` could not store everything it received (its last lines say what is missing); 130
interrupted by Ctrl-C before anything started.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from console import __version__
from console.core.paths import default_data_dir

if TYPE_CHECKING:
    from console.core.config import DeviceConfig

if TYPE_CHECKING:
    from console.replication.replicator import SyncSettings

EXIT_DAMAGED = 1
EXIT_USAGE = 2
EXIT_NOT_STORED = 3


class UserError(Exception):
    """A mistake the person at the keyboard can fix; printed as one line."""


def default_db() -> Path:
    return default_data_dir() / "holdspace.db"


def _devices(specs: list[str] | None) -> list[DeviceConfig] | None:
    from console.core.config import DeviceConfig
    from devices.drivers import UnknownProtocol, device_name, parse_device

    if not specs:
        return None
    out = []
    for spec in specs:
        try:
            driver, port = parse_device(spec)
        except (UnknownProtocol, ValueError) as e:  # ValueError: a listening address
            raise UserError(str(e)) from None
        out.append(DeviceConfig(device_name(driver), port))
    return out


def check_port(port: str) -> None:
    """Refuse at start a port that plainly is not there (a later unplug is handled live)."""
    if "://" in port or port.startswith("listen:"):  # TCP, or listening for HL7 gateways
        return
    if os.name != "nt" and not os.path.exists(port):
        raise UserError(f"serial port {port} does not exist — check the cable/adapter and the name")


def check_db(path: Path) -> list[str]:
    """Open (creating, migrating or encrypting) the database once, to fail early with a clear
    message; for a damaged file the message names the newest good backup and how to put it
    back. Returns what the person should be told once: a key made (and where its recovery key
    is), a plain database encrypted, files that were readable by other accounts."""
    from console.store import keys
    from console.store.db import DamagedStore, StoreError, open_db
    from console.store.owner import mark_closed_cleanly

    try:
        open_db(path).close()
        mark_closed_cleanly(path)  # checked just now: the console's own opening need not again
    except DamagedStore as e:  # a KeyMismatch too: the file may also be damaged
        raise UserError(f"{e}{restore_hint(path)}") from None
    except StoreError as e:
        raise UserError(str(e)) from None
    encrypt_clinic_backups(path)
    return keys.take_notices() + private_files(path)


def encrypt_clinic_backups(db: Path) -> None:
    """Plain backups of this database (from an older Holdspace) in the clinic's backup folder
    are encrypted like the workstation's own; a folder that is not there is left for later."""
    from console.core.backups import chosen_folder
    from console.core.config import Config
    from console.store import keys
    from console.store.encryption import encrypt_old_backups

    folder = chosen_folder(Config.load())
    key = keys.workstation_key(create=False)
    if folder is None or key is None or not folder.is_dir():
        return
    n = encrypt_old_backups(folder, db, key.raw)
    if n:
        keys.tell(f"{n} unencrypted backup{'s' if n != 1 else ''} of {db.name} in {folder} "
                  f"{'were' if n != 1 else 'was'} encrypted with this workstation's key.")


def private_files(db: Path, fix: bool = True) -> list[str]:
    """Make Holdspace's folders 0700 and files 0600 (what this account owns) and say so;
    without `fix` (`holdspace check`, which changes nothing), only say what is not."""
    from console.core.config import default_config_path
    from console.store import keys
    from console.store.modes import check_modes

    return check_modes([default_data_dir(), default_config_path().parent, keys.key_dir()],
                       db, fix=fix).messages()


def tell(notes: list[str]) -> None:
    for n in notes:
        print(f"holdspace: note: {n}", flush=True)


def restore_hint(db: Path) -> str:
    """' The newest good backup is …: `holdspace restore … --db …`', or where none was found."""
    from console.core.backups import chosen_folder
    from console.core.config import Config
    from console.store.backup import backups_dir, newest_good

    folders = [backups_dir(db)]
    chosen = chosen_folder(Config.load())
    if chosen is not None and chosen.is_dir():
        folders.append(chosen)
    found = newest_good(db, folders)
    if found is None:
        return f" No good backup of it was found in {' or '.join(str(f) for f in folders)}."
    made = time.strftime("%Y-%m-%d %H:%M", time.localtime(found.t))
    return (f" The newest good backup was made {made}; to put it back (the damaged file is "
            f"kept aside): holdspace restore {found.path} --db {db}")


def sync_settings(a: argparse.Namespace) -> SyncSettings | None:
    """`--sync URL --room NAME [--sync-waveforms]` over the workstation's `sync` settings."""
    from console.core.config import Config
    from console.replication.address import AddressError
    from console.replication.replicator import settings_from

    try:
        return settings_from(Config.load().extra, a.sync, a.room,
                             True if a.sync_waveforms else None)
    except AddressError as e:
        raise UserError(str(e)) from None


def cmd_run(a: argparse.Namespace) -> int:
    from console.app import has_screen, run_gui

    devices = _devices(a.device)
    for d in devices or []:
        check_port(d.port)
    db = Path(a.db) if a.db else default_db()
    from console.store import keys

    if keys.uses_passphrase() and keys.passphrase_prompt is None and has_screen():
        from console.ui.passphrase_dialog import ask_passphrase  # no terminal: ask in a dialog

        keys.passphrase_prompt = ask_passphrase
    notes = check_db(db)
    tell(notes)
    sync = sync_settings(a)
    if not has_screen():
        raise UserError(
            "no screen found (DISPLAY is not set). Start it on the room's desktop, or on a "
            "virtual screen: `xvfb-run -a holdspace`, or record without a window: "
            "`holdspace record --device sim:PORT`"
        )
    return run_gui(db, devices, scenario=a.scenario, fullscreen=a.fullscreen,
                   screenshot=Path(a.screenshot) if a.screenshot else None,
                   quit_after=a.quit_after, capture=a.capture, sync=sync,
                   notes=notes)


GATEWAY = ("hl7-gateway", "gateway")


def simulate_gateway(a: argparse.Namespace) -> int:
    """A central station sending two (or more) beds down one connection to a listener."""
    from devices.hl7_gateway_sim import GatewaySimulator, beds_from_text
    from devices.physiology import Physiology

    host, _, port_text = a.connect.rpartition(":")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise UserError(f"--connect {a.connect!r} should look like HOST:PORT, e.g. "
                        "127.0.0.1:2575")
    port = int(port_text)
    try:
        beds = beds_from_text(a.beds)
        start = time.time()
        # the first bed is this scenario; the others a different patient, easy to tell apart
        physios = [Physiology(a.scenario if i == 0 else "hypertensive", start=start, seed=i + 1)
                   for i in range(len(beds))]
    except ValueError as e:
        raise UserError(str(e)) from None
    gw = GatewaySimulator(host or "127.0.0.1", port, list(zip(beds, physios, strict=True)))
    gw.start()
    print(f"simulated HL7 gateway sending beds {', '.join(beds)} to {host or '127.0.0.1'}:"
          f"{port} (connecting…)", flush=True)
    print(f"receive with: holdspace record --device 'hl7:listen:{port}?bed=ROOM1'", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        gw.stop()
    return 0


def cmd_simulate(a: argparse.Namespace) -> int:
    from devices.drivers import UnknownProtocol, get_driver
    from devices.physiology import Physiology
    from devices.simulator import Simulator

    if a.protocol.strip().lower() in GATEWAY:
        return simulate_gateway(a)
    try:
        driver = get_driver(a.protocol)
        physio = Physiology(a.scenario, start=time.time())
    except (UnknownProtocol, ValueError) as e:
        raise UserError(str(e)) from None
    sim = Simulator(driver, physio, link_path=a.link, tcp=a.tcp is not None,
                    tcp_port=a.tcp or 0)
    _stop_on_signals()
    try:
        port = sim.start()
        print(f"simulated {driver.title}, scenario '{a.scenario}', on: {port}", flush=True)
        print(f"connect with: holdspace record --device {driver.name}:{port}", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()  # removes its --link: left behind, it names the next program's terminal
    return 0


def _stop_on_signals() -> None:
    """`kill` (SIGTERM) or a closed terminal (SIGHUP) stop a simulator as Ctrl-C does, so it
    tidies up: a --link left pointing at a freed /dev/pts/N soon names another program's
    terminal, and a console configured with the link would open that."""
    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)


def cmd_record(a: argparse.Namespace) -> int:
    from console.core.vitals.headless_recorder import SYNC_FLUSH_S, recording, start_sync
    from console.store.db import StoreError
    from devices.drivers import get_driver

    devices = _devices(a.device) or []
    for d in devices:
        check_port(d.port)
    db = Path(a.db) if a.db else default_db()
    tell(check_db(db))
    from console.ui.crash_guard import log_thread_crashes  # no Qt: logging only

    log_thread_crashes(lambda m: print(f"holdspace: {m}", file=sys.stderr, flush=True),
                       default_data_dir() / "logs" / "holdspace.log")
    sync = sync_settings(a)
    replicator = None if sync is None else start_sync(
        db, sync, lambda s: print(s, flush=True),
        lambda s: print(s, file=sys.stderr, flush=True))
    try:
        try:
            result = recording(db, [(get_driver(d.protocol), d.port) for d in devices],
                               patient=a.patient, duration=a.duration, out=sys.stdout,
                               err=sys.stderr, capture=a.capture)
        except StoreError as e:
            raise UserError(str(e)) from None
        if result.closed:
            backup_after_recording(db, result.session_id)
    finally:
        if replicator is not None:  # after the last write, so the session's end goes too
            print(f"central server: {replicator.stop(flush=SYNC_FLUSH_S).sentence()}",
                  flush=True)
    return 0 if result.complete else EXIT_NOT_STORED


def backup_after_recording(db: Path, session_id: int) -> None:
    """The end of a session is backed up, headless too; a problem is said on stderr but does
    not change the exit code, which is about the recording."""
    from console.core.backups import backup_everywhere, backup_export, chosen_folder
    from console.core.config import Config
    from console.core.exports.export_events import COMMAND_LINE, login_name, record_now
    from console.core.exports.output import ExportError

    run = backup_everywhere(db, chosen_folder(Config.load()), "session")
    for c in run.copies:
        print(f"backup checked (integrity ok): {c.path}", flush=True)
        try:
            record_now(db, backup_export(c, "session", login_name(), COMMAND_LINE, session_id),
                       time.time())
        except ExportError as e:
            run.problems.append(f"The backup {c.path.name} was made but {e}")
    for problem in run.problems:
        print(f"holdspace: backup: {problem}", file=sys.stderr, flush=True)


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
    if a.pg is not None:
        return _sessions_on_server(a)
    from console.store import engine
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
    except engine.DatabaseError as e:
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


def _sessions_on_server(a: argparse.Namespace) -> int:
    """`holdspace sessions --pg URL [--room NAME]`: what the clinic server holds, by room."""
    from console.central.reports import server_sessions
    from console.core.exports.output import ExportError
    from console.replication.address import AddressError, check_room, check_url

    if a.db:
        raise UserError("give either --db FILE (a room's own file) or --pg URL (the clinic "
                        "server), not both")
    try:
        url, room = check_url(a.pg), (check_room(a.room) if a.room else None)
        rows = server_sessions(url, room)
    except (AddressError, ExportError) as e:
        raise UserError(str(e)) from None
    if not rows:
        print("no sessions on the server yet" + (f" from {room}" if room else ""))
    for r in rows:
        start = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started))
        print(f"{r.room:<12} #{r.id:<4} {start}  {r.state:<11}  "
              f"{(r.patient or '(no patient)'):<24} {r.template or '':<12} "
              f"{r.readings:>7} readings  {r.events:>5} events")
    return 0


def cmd_check(a: argparse.Namespace) -> int:
    from console.store.db import SCHEMA_VERSION, StoreError
    from console.store.health import check_database

    db = Path(a.db) if a.db else default_db()
    try:
        h = check_database(db, every_row=True)
    except StoreError as e:
        raise UserError(str(e)) from None
    if h.note:
        print(f"note:        {h.note}")
    size = f"{h.size / 1e6:.1f} MB" if h.size >= 1e6 else f"{h.size / 1e3:.0f} kB"
    print(f"database:    {h.path} ({size})")
    if not h.problems:
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
    print(f"record:      {h.chain.headline()}")
    for line in h.chain.details(10):
        print(f"             {line}")
    if h.chain.uncovered:
        print(f"             {h.chain.uncovered} newest readings not yet linked (the last "
              "minute of a session that stopped; the next start links them)")
    for line in key_lines(h.encrypted) + private_files(db, fix=False):
        print(line if line.startswith(("encryption:", "key:")) else f"file modes:  {line}")
    if not h.unclosed:
        print("open:        every session is closed")
    for s in h.unclosed:
        start = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.started))
        last = time.strftime("%H:%M:%S", time.localtime(s.last_data))
        print(f"{s.state + ':':<13}#{s.id} {s.patient or '(no patient)'}, started {start}, "
              f"last data {last} ({duration_text(s.last_data - s.started)})")
    return 0 if h.intact else EXIT_DAMAGED


def key_lines(encrypted: bool) -> list[str]:
    """`holdspace check`'s lines on encryption and where the key is kept."""
    from console.store import engine, keys

    if not encrypted:
        return ["encryption:  OFF — this file is stored unencrypted (an older Holdspace); it is "
                "encrypted when Holdspace next records into it"]
    out = [f"encryption:  on (SQLCipher {engine.sqlcipher_version()}, AES-256, HMAC-SHA512 "
           "per page)"]
    try:
        key = keys.workstation_key(create=False)
    except keys.KeyProblem as e:
        return [*out, f"key:         {e}"]
    if key is None:
        return [*out, "key:         this workstation has no Holdspace key — `holdspace recover` "
                      "with the recovery key"]
    out.append(f"key:         id {key.id}, {key.describe()}")
    if keys.recovery_file(key).exists():
        out.append(f"key:         the recovery key is still in {keys.recovery_file(key)} — "
                   "print it, keep the paper locked away, then delete the file")
    return out


def cmd_recover(a: argparse.Namespace) -> int:
    """Open a record with its printed recovery key: a lost keyring entry is put back, a record
    from another workstation re-encrypted for this one."""
    from console.store import keys
    from console.store.db import StoreError
    from console.store.encryption import recover

    db = Path(a.db).expanduser() if a.db else default_db()
    if not db.is_file():
        raise UserError(f"There is no database at {db}.")
    if sys.stdin.isatty():
        text = input("Type the recovery key (14 groups of four, as printed): ")
    else:
        text = sys.stdin.readline()
    try:
        said = recover(db, keys.parse_recovery(text))
    except (keys.KeyProblem, StoreError) as e:
        raise UserError(str(e)) from None
    print(said)
    tell(keys.take_notices())
    return 0


def cmd_key(a: argparse.Namespace) -> int:
    """Where this workstation's key is kept; or, on a new workstation, a clinic passphrase."""
    import getpass

    from console.store import keys

    if a.use_passphrase:
        given = os.environ.get("HOLDSPACE_PASSPHRASE")
        if given is None:
            if not sys.stdin.isatty():
                raise UserError("type the passphrase at a terminal (or set HOLDSPACE_PASSPHRASE)")
            given = getpass.getpass("New clinic passphrase: ")
            if getpass.getpass("The same again: ") != given:
                raise UserError("the two passphrases differ — nothing was changed")
        try:
            key = keys.use_passphrase(given)
        except keys.KeyProblem as e:
            raise UserError(str(e)) from None
        print(f"This workstation's records will be encrypted with a key derived from the clinic "
              f"passphrase (key id {key.id}); Holdspace asks for it at each start.")
    else:
        for line in key_lines(True)[1:]:
            print(line.removeprefix("key:").strip())
    tell(keys.take_notices())
    return 0


def cmd_report(a: argparse.Namespace) -> int:
    """The session report (or the REMS Patient Monitoring Form) as a PDF, recorded in the
    session as an `export.*` event; one line and exit 2 for a missing session, a database
    that cannot be opened or an output that cannot be written."""
    from console.core.config import Config
    from console.core.exports.export_events import COMMAND_LINE, login_name
    from console.core.exports.make import command_line_recorder, make_report
    from console.core.exports.output import ExportError
    from console.core.report.build import SessionNotFound
    from console.core.report.clinic import clinic_from

    kind = "rems" if a.rems else "report"
    by = (a.by or "").strip() or login_name()
    clinic = clinic_from(Config.load().extra)
    if a.pg is not None:  # from the clinic server: console/central/reports.py
        from console.central import reports

        url, room = _central_source(a)
        out = Path(a.out) if a.out else Path(f"holdspace-{_slug(room)}-session-{a.session}-"
                                             f"{kind}.pdf")
        try:
            made, pdf = reports.from_server(url, room, a.session, lambda db: make_report(
                db, out, a.session, kind, clinic, by=by, via=COMMAND_LINE,
                recorder=reports.recorder(url, room)))
        except ExportError as e:
            raise UserError(str(e)) from None
        print(f"{pdf.what} of {room}'s session {a.session} ({pdf.pages} page"
              f"{'s' if pdf.pages != 1 else ''}) written to {made.files[0]} (from the clinic "
              "server; recorded in the station's record)")
        return 0
    db = Path(a.db).expanduser() if a.db else default_db()
    out = Path(a.out) if a.out else Path(f"holdspace-session-{a.session}-{kind}.pdf")
    try:
        made, pdf = make_report(db, out, a.session, kind, clinic, by=by, via=COMMAND_LINE,
                                recorder=command_line_recorder(db))
    except SessionNotFound:
        raise UserError(f"there is no session {a.session} in {db} "
                        "(`holdspace sessions` lists them)") from None
    except ExportError as e:
        raise UserError(str(e)) from None
    print(f"{pdf.what} of session {a.session} ({pdf.pages} page"
          f"{'s' if pdf.pages != 1 else ''}) written to {made.files[0]}")
    return 0


# ----------------------------------------------------------------- exports, backups, restore
def cmd_export(a: argparse.Namespace) -> int:
    from console.core.config import Config
    from console.core.exports.export_events import COMMAND_LINE, login_name
    from console.core.exports.make import command_line_recorder, make_csv, make_fhir, make_vital
    from console.core.exports.output import ExportError
    from console.core.report.clinic import clinic_from

    if a.pg is not None:
        return _export_from_server(a)
    db = Path(a.db).expanduser() if a.db else default_db()
    ranged = a.first is not None or a.last is not None
    if a.session is not None and ranged:
        raise UserError("give either --session N or --from DATE --to DATE, not both")
    if a.session is None and not (a.first and a.last):
        raise UserError("say which session: --session N (`holdspace sessions` lists them), or "
                        "a date range: --from YYYY-MM-DD --to YYYY-MM-DD")
    if a.vital and a.session is None:
        raise UserError("a .vital file holds one session: give --session N")
    if a.fhir and a.session is None:
        raise UserError("a FHIR bundle holds one session: give --session N")
    recorder = command_line_recorder(db)
    try:
        if a.csv:
            made = make_csv(db, Path(a.csv), session=a.session, first=a.first, last=a.last,
                            by=login_name(), via=COMMAND_LINE, recorder=recorder)
        elif a.vital:
            made = make_vital(db, Path(a.vital), a.session, by=login_name(), via=COMMAND_LINE,
                              recorder=recorder)
        elif a.fhir:
            made = make_fhir(db, Path(a.fhir), a.session, clinic_from(Config.load().extra),
                             by=login_name(), via=COMMAND_LINE, recorder=recorder)
        else:
            raise UserError("say what to make: --csv FILE.csv or --vital FILE.vital, or "
                            "--fhir FILE.json")
    except ExportError as e:
        raise UserError(str(e)) from None
    x = made.export
    counts = ", ".join(f"{n:,} {name}" for name, n in x.counts.items())
    scope = ", ".join(f"#{s}" for s in x.sessions)
    print(f"exported session{'s' if len(x.sessions) > 1 else ''} {scope} ({counts}) to "
          f"{' and '.join(str(f) for f in made.files)}; recorded as export.{x.what}")
    return 0


def _central_source(a: argparse.Namespace) -> tuple[str, str]:
    """The server and room of `--pg URL --room NAME` (report and exports from the server)."""
    from console.replication.address import AddressError, check_room, check_url

    if a.db:
        raise UserError("give either --db FILE (the room's own file) or --pg URL --room NAME "
                        "(the clinic server), not both")
    if not a.room:
        raise UserError("say which room's session: --room NAME (as the room replicates it)")
    if a.session is None:
        raise UserError("say which session: --session N (the room's own session number)")
    try:
        return check_url(a.pg), check_room(a.room)
    except AddressError as e:
        raise UserError(str(e)) from None


def _slug(room: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in room.strip().lower()).strip("-") or "room"


def _export_from_server(a: argparse.Namespace) -> int:
    """`holdspace export --pg URL --room NAME --session N --csv/--vital/--fhir`."""
    from console.central import reports
    from console.core.config import Config
    from console.core.exports.export_events import COMMAND_LINE, login_name
    from console.core.exports.make import make_csv, make_fhir, make_vital
    from console.core.exports.output import ExportError
    from console.core.report.clinic import clinic_from

    if a.first is not None or a.last is not None:
        raise UserError("from the clinic server one session at a time: give --session N, not "
                        "--from/--to")
    url, room = _central_source(a)
    rec, n = reports.recorder(url, room), a.session
    try:
        if a.csv:
            made = reports.from_server(url, room, n, lambda db: make_csv(
                db, Path(a.csv), session=n, by=login_name(), via=COMMAND_LINE, recorder=rec),
                waveforms=False)
        elif a.vital:
            made = reports.from_server(url, room, n, lambda db: make_vital(
                db, Path(a.vital), n, by=login_name(), via=COMMAND_LINE, recorder=rec))
        elif a.fhir:
            clinic = clinic_from(Config.load().extra)
            made = reports.from_server(url, room, n, lambda db: make_fhir(
                db, Path(a.fhir), n, clinic, by=login_name(), via=COMMAND_LINE, recorder=rec),
                waveforms=False)
        else:
            raise UserError("say what to make: --csv FILE.csv or --vital FILE.vital, or "
                            "--fhir FILE.json")
    except ExportError as e:
        raise UserError(str(e)) from None
    x = made.export
    counts = ", ".join(f"{c:,} {name}" for name, c in x.counts.items())
    print(f"exported {room}'s session {n} ({counts}) from the clinic server to "
          f"{' and '.join(str(f) for f in made.files)}; recorded in the station's record as "
          f"export.{x.what}")
    return 0


def _size_text(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def cmd_backup(a: argparse.Namespace) -> int:
    from console.core.backups import backup_everywhere, backup_export, chosen_folder
    from console.core.config import Config
    from console.core.exports.export_events import COMMAND_LINE, login_name, record_now
    from console.core.exports.output import ExportError

    db = Path(a.db).expanduser() if a.db else default_db()
    if not db.is_file():
        raise UserError(f"There is no database at {db}.")
    folder = Path(a.to).expanduser() if a.to else chosen_folder(Config.load())
    run = backup_everywhere(db, folder, "manual")
    for c in run.copies:
        counts = ", ".join(f"{n} {t}" for t, n in c.counts.items() if t != "quarantine")
        print(f"backup checked (integrity ok): {c.path} ({_size_text(c.size)}; {counts})")
        if c.thinned:
            print(f"  older backups removed by the keep rule: {len(c.thinned)}")
        try:
            record_now(db, backup_export(c, "manual", login_name(), COMMAND_LINE), time.time())
        except ExportError as e:
            run.problems.append(f"The backup {c.path.name} was made but {e}")
    if run.problems:
        raise UserError(" ".join(run.problems))
    return 0


def cmd_restore(a: argparse.Namespace) -> int:
    from console.core.exports.export_events import commit_now, login_name
    from console.core.exports.output import ExportError
    from console.store.backup import restore
    from console.store.db import StoreError
    from console.store.events import Event

    db = Path(a.db).expanduser() if a.db else default_db()
    try:
        done = restore(Path(a.file), db, force=a.force)
    except StoreError as e:
        raise UserError(str(e)) from None
    counts = ", ".join(f"{n} {t}" for t, n in done.counts.items() if t != "quarantine")
    print(f"restored {done.source} into {db} ({counts})")
    if done.kept_aside is not None:
        print(f"the database it replaced is kept as {done.kept_aside}")
    summary = (f"Database restored from the backup {done.source}"
               + (f"; the file it replaced is kept as {done.kept_aside}" if done.kept_aside
                  else "") + f" — by {login_name()} (command line)")
    ev = Event("store.restored", time.time(),
               {"from": str(done.source), "kept_aside": str(done.kept_aside or ""),
                "counts": done.counts, "forced": bool(a.force), "summary": summary},
               author=login_name())
    try:
        commit_now(db, [ev])
    except ExportError as e:
        raise UserError(f"The backup was restored, but {e}") from None
    return 0


def _server_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pg", metavar="URL", help="read the clinic server instead of a room's "
                   "file: postgresql://USER@HOST/DATABASE (with --room)")
    p.add_argument("--room", metavar="NAME", help="the room, as it replicates (with --pg)")


def _export_parsers(sub: argparse._SubParsersAction[_Parser],
                    db_help: str) -> None:
    exp = sub.add_parser("export", help="export a session (or a date range) as CSV, or one "
                                        "session as a .vital file for VitalDB/VitalRecorder "
                                        "or a FHIR R4 bundle")
    exp.add_argument("--db", help=db_help)
    _server_source(exp)
    exp.add_argument("--session", type=int, help="the session's number (`holdspace sessions`)")
    exp.add_argument("--from", dest="first", metavar="DATE",
                     help="first day (YYYY-MM-DD) of sessions to export as CSV")
    exp.add_argument("--to", dest="last", metavar="DATE", help="last day (YYYY-MM-DD), included")
    out = exp.add_mutually_exclusive_group()
    out.add_argument("--csv", metavar="FILE.csv",
                     help="readings to FILE.csv and events to FILE.events.csv")
    out.add_argument("--vital", metavar="FILE.vital",
                     help="one session as a .vital file (needs holdspace[research])")
    out.add_argument("--fhir", metavar="FILE.json",
                     help="one session as a FHIR R4 document bundle (JSON) for the chart")

    bak = sub.add_parser("backup", help="back up the database now, checked, to backups/ beside "
                                        "it and to the clinic's backup folder")
    bak.add_argument("--db", help=db_help)
    bak.add_argument("--to", metavar="DIR",
                     help="the second copy's folder (default: the workstation's backup folder)")

    res = sub.add_parser("restore", help="put a backup in place of the database (the replaced "
                                         "file is kept aside)")
    res.add_argument("file", help="the backup file")
    res.add_argument("--db", help=db_help)
    res.add_argument("--force", action="store_true",
                     help="replace a database with a session that is not closed")


# ------------------------------------------------------------------ several rooms (central)
def cmd_sync_status(a: argparse.Namespace) -> int:
    """How far this file's copy on the central server has got; exit 1 when the server
    cannot be reached (or refuses), 0 when it can or when sync is off."""
    from console.replication.check import report_lines
    from console.store import engine
    from console.store.db import StoreError, explain, open_readonly

    sync = sync_settings(a)
    db = Path(a.db).expanduser() if a.db else default_db()
    try:
        conn, note = open_readonly(db)
    except StoreError as e:
        raise UserError(str(e)) from None
    if note:
        print(f"holdspace: note: {note}", file=sys.stderr)
    try:
        lines, ok = report_lines(conn, sync)
    except engine.DatabaseError as e:
        raise UserError(str(explain(db, e))) from None
    finally:
        conn.close()
    print("\n".join(lines))
    return 0 if ok else EXIT_DAMAGED



def cmd_central(a: argparse.Namespace) -> int:
    """`holdspace central init`: the central server's schema and roles (docs/replication.md)."""
    if a.central_command is None and a.pg:
        return central_station(a)
    if a.central_command != "init":
        raise UserError("say what to do: `holdspace central --pg URL` opens the central "
                        "station; `holdspace central init --pg URL [--room NAME]` sets up the "
                        "central server")
    return central_init(a)


def central_station(a: argparse.Namespace) -> int:
    """The central station's window (console/central), read only."""
    from console.replication.address import AddressError, check_url

    try:
        url = check_url(a.pg)
    except AddressError as e:
        raise UserError(str(e)) from None
    from console.central.window import run_station

    return run_station(url, screenshot=a.screenshot, quit_after=a.quit_after)


def central_init(a: argparse.Namespace) -> int:
    import getpass

    from console.replication.address import AddressError, check_room, check_url, shown
    from console.replication.schema import CentralError, init

    try:
        url = check_url(a.pg or os.environ.get("HOLDSPACE_CENTRAL_URL", ""))
        names = [check_room(n) for n in a.room or []]
    except AddressError as e:
        raise UserError(str(e)) from None
    given = list(a.room_password or [])
    if len(given) > len(names):
        raise UserError("more --room-password than --room: give one password per room, in the "
                        "same order")
    rooms: list[tuple[str, str | None]] = []
    for i, name in enumerate(names):
        pw = given[i] if i < len(given) else os.environ.get("HOLDSPACE_ROOM_PASSWORD")
        if pw is None and sys.stdin.isatty():
            pw = getpass.getpass(f"password for room {name!r} (empty: none): ") or None
        rooms.append((name, pw))
    try:
        done = init(url, rooms, a.central_password)
    except CentralError as e:
        raise UserError(str(e)) from None
    where = shown(url)
    if done.found == done.now:
        print(f"central server {where}: schema already at version {done.now}")
    else:
        print(f"central server {where}: schema brought from version {done.found} to {done.now}")
    for (room, login), (_, pw) in zip(done.rooms, rooms, strict=True):
        how = "with its password" if pw else "without a password (certificate or peer login)"
        print(f"room {room!r}: logs in as {login} {how}; may add only its own rows")
    if a.central_password:
        print("central station: logs in as holdspace_central_ro (read-only)")
    return 0


def _sync_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sync", metavar="URL",
                   help="also send this room's record to the clinic's central PostgreSQL "
                        "server, postgresql://USER@HOST/DATABASE (default: the workstation's "
                        "sync settings; off when none)")
    p.add_argument("--room", help="this room's name on the central server, e.g. \"Room 2\"")
    p.add_argument("--sync-waveforms", action="store_true",
                   help="send waveforms too (default: the workstation's sync settings, off)")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, as everywhere else
        raise UserError(message)


def parser() -> argparse.ArgumentParser:
    from devices.scenarios import SCENARIOS

    p = _Parser(prog="holdspace", description="Holdspace treatment-room console.")
    p.add_argument("--version", action="version", version=f"holdspace {__version__}")
    p.add_argument("--self-test", action="store_true",
                   help="check this installation offscreen (store, simulator, music, report, "
                        "window) in a temporary folder; exit 0 when all is well")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    db_help = f"database file (default {default_db()})"
    dev_help = ("monitor as PROTOCOL:PORT, e.g. nonin:/dev/ttyUSB0, or a gateway to listen for, "
                "e.g. 'hl7:listen:2575?bed=ROOM1'; repeat for several")
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
        _sync_arguments(q)

    sim = sub.add_parser("simulate", help="run a simulated monitor on a pseudo-terminal")
    sim.add_argument("--protocol", default="sim",
                     help="a monitor protocol, or hl7-gateway (a central station that connects "
                          "to a listener and sends two beds)")
    sim.add_argument("--scenario", default="calm", help=", ".join(sorted(SCENARIOS)))
    sim.add_argument("--link", help="also make this stable path point at the port")
    sim.add_argument("--tcp", type=int, nargs="?", const=0,
                     help="serve on 127.0.0.1:PORT instead of a pty (socket:// clients)")
    sim.add_argument("--connect", default="127.0.0.1:2575",
                     help="hl7-gateway only: the listener to send to, HOST:PORT "
                          "(default 127.0.0.1:2575)")
    sim.add_argument("--beds", default="TREATMENT^^ROOM1,ICU-3",
                     help="hl7-gateway only: the beds sent, each as its PV1-3, comma-separated "
                          "(default 'TREATMENT^^ROOM1,ICU-3')")

    rec = sub.add_parser("record", help="record monitors into a new session without a window")
    rec.add_argument("--device", action="append", required=True, help=dev_help)
    rec.add_argument("--db", help=db_help)
    rec.add_argument("--patient", help="patient identifier (created if new)")
    rec.add_argument("--duration", type=float, help="seconds to record (default: until Ctrl-C)")
    rec.add_argument("--capture", action="store_true", help=capture_help)
    _sync_arguments(rec)

    rep = sub.add_parser("replay", help="play a capture file back through a pseudo-terminal")
    rep.add_argument("file", help="a .hscap file (from --capture)")
    rep.add_argument("--protocol", help="monitor protocol (default: the one in the file)")
    rep.add_argument("--speed", type=float, default=1.0,
                     help="1 = original pace (default), 10 = ten times faster")
    rep.add_argument("--link", help="also make this stable path point at the port")
    rep.add_argument("--loop", action="store_true", help="start over at the end, until Ctrl-C")

    ses = sub.add_parser("sessions", help="list sessions with their counts (read-only)")
    ses.add_argument("--db", help=db_help)
    _server_source(ses)

    chk = sub.add_parser("check", help="check a database: integrity, schema, counts, "
                                       "interrupted sessions (read-only)")
    chk.add_argument("--db", help=db_help)

    rpt = sub.add_parser("report", help="the session report (or the REMS form) as a PDF; "
                                        "recorded in the session")
    rpt.add_argument("--db", help=db_help)
    _server_source(rpt)
    rpt.add_argument("--session", type=int, required=True, help="session number "
                                                                 "(`holdspace sessions`)")
    rpt.add_argument("--out", help="PDF file to write (default "
                                   "holdspace-session-N-report.pdf here)")
    rpt.add_argument("--rems", action="store_true",
                     help="the esketamine REMS Patient Monitoring Form instead of the report")
    rpt.add_argument("--by", help="who is making the copy (recorded; default: your login)")
    _export_parsers(sub, db_help)

    sst = sub.add_parser("sync-status", help="how far this room's copy on the central server "
                                             "has got, and whether the server answers")
    sst.add_argument("--db", help=db_help)
    _sync_arguments(sst)

    cen = sub.add_parser("central", help="the clinic's central server: `central --pg URL` opens "
                                         "the central station (read only); `central init` sets "
                                         "up its schema and room logins")
    cen.add_argument("--pg", metavar="URL", help="the central PostgreSQL server, "
                                                "postgresql://USER@HOST/DATABASE")
    cen.add_argument("--screenshot", help="save a picture of the station window to this PNG")
    cen.add_argument("--quit-after", type=float, help="close the station after this many seconds")
    csub = cen.add_subparsers(dest="central_command", parser_class=_Parser)
    ini = csub.add_parser("init", help="create or update the schema (versioned, safe to run "
                                       "again) and each room's login")
    ini.add_argument("--pg", metavar="URL", required=True,
                     help="the server as the clinic's admin login, postgresql://ADMIN@HOST/DB "
                          "(may create roles)")
    ini.add_argument("--room", action="append", metavar="NAME",
                     help="create (or update) this room's login holdspace_room_<name>; repeat "
                          "for several")
    ini.add_argument("--room-password", action="append", metavar="PASSWORD",
                     help="the room's password, one per --room in the same order (default: "
                          "$HOLDSPACE_ROOM_PASSWORD, else asked)")
    ini.add_argument("--central-password", metavar="PASSWORD",
                     help="let the central station log in as holdspace_central_ro with this "
                          "password")

    rcv = sub.add_parser("recover", help="open a record with its printed recovery key (a lost "
                                         "key, or a record from another workstation)")
    rcv.add_argument("--db", help=db_help)
    key = sub.add_parser("key", help="where this workstation's database key is kept")
    key.add_argument("--use-passphrase", action="store_true",
                     help="new workstation only: derive the key from a clinic passphrase, asked "
                          "at each start, instead of keeping it")
    return p


COMMANDS = {"run": cmd_run, "simulate": cmd_simulate, "record": cmd_record,
            "replay": cmd_replay, "sessions": cmd_sessions, "check": cmd_check,
            "report": cmd_report,
            "export": cmd_export, "backup": cmd_backup, "restore": cmd_restore,
            "central": cmd_central, "sync-status": cmd_sync_status,
            "recover": cmd_recover, "key": cmd_key}


def main(argv: list[str] | None = None) -> int:
    if hasattr(signal, "SIGXFSZ"):
        # With a file-size limit (ulimit -f) the kernel would kill us silently at the limit;
        # ignored, the write fails instead and Holdspace says so.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        a = parser().parse_args(argv)  # first: --help and --version answer without the store
        from console.store import keys
        from console.store.modes import private_umask

        private_umask()  # every file and folder Holdspace makes is its account's only
        if sys.stdin is not None and sys.stdin.isatty():
            import getpass

            keys.passphrase_prompt = lambda question: getpass.getpass(question + " ")
        if a.self_test:
            from console.self_test import run as self_test

            return self_test()
        return COMMANDS[a.command or "run"](a)
    except UserError as e:
        print(f"holdspace: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
