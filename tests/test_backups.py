"""Backups and restore: real files, the real online backup API, real `holdspace` runs.

A backup must be a checked, private copy that restores to the same record; a missing backup
disk, a corrupt backup or a database still in use is one clear line and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shlex
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from console.core.backups import BackupRun, BackupService, backup_everywhere
from console.core.clock import FakeClock, SystemClock
from console.core.session import SessionService
from console.store import records
from console.store.backup import (
    BackupFile,
    backups_dir,
    host_name,
    list_backups,
    make_backup,
    to_keep,
)
from console.store.db import open_db, open_reader
from console.store.events import Event
from console.store.health import check_database
from console.store.writer import StoreWriter
from devices import mdc
from devices.reading import Quality, Reading
from tests.helpers.day_fixtures import Day, counts, simulated_day

HS = [sys.executable, "-m", "console"]


def run_hs(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HS, *args], capture_output=True, text=True, timeout=timeout)


def one_error_line(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def backup_events(path: Path) -> list[Event]:
    conn = open_db(path)
    try:
        rows = conn.execute("SELECT uid, session_id, t, recorded, kind, author, payload, "
                            "refers_to FROM events WHERE kind = 'export.backup' ORDER BY id")
        return [Event(kind, t, json.loads(payload), session_id=sid, author=author, uid=uid)
                for uid, sid, t, _rec, kind, author, payload, _ref in rows]
    finally:
        conn.close()


@pytest.fixture
def day(tmp_path: Path) -> Day:
    return simulated_day(tmp_path / "holdspace.db", seconds=120)


def damage(path: Path) -> None:
    """Overwrite a few pages in the middle of the file, as a failing disk would."""
    assert not path.with_name(path.name + "-wal").exists()
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(size // 2 // 4096 * 4096)
        f.write(b"\xde\xad\xbe\xef" * 3072)


def test_a_backup_restores_to_the_same_counts(day: Day, tmp_path: Path) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    before = counts(day.path)
    r = run_hs("backup", "--db", str(day.path), "--to", str(usb))
    assert r.returncode == 0, r.stderr
    local = list_backups(backups_dir(day.path), day.path)
    on_usb = list_backups(usb, day.path)
    assert len(local) == 1 and len(on_usb) == 1
    assert stat.S_IMODE(backups_dir(day.path).stat().st_mode) == 0o700
    for b in (local[0], on_usb[0]):
        assert stat.S_IMODE(b.path.stat().st_mode) == 0o600
        assert b.path.name.startswith(f"holdspace-{host_name()}-") and b.why == "manual"
        h = check_database(b.path)
        assert h.ok and {k: h.counts[k] for k in before} == before
        assert str(b.path) in r.stdout
        assert not b.path.with_name(b.path.name + "-wal").exists(), "one self-contained file"
    events = backup_events(day.path)
    assert [e.payload["files"] for e in events] == [[str(local[0].path)], [str(on_usb[0].path)]]
    assert all(e.session_id is None and e.payload["via"] == "command line" for e in events)
    assert events[0].payload["counts"]["readings"] == before["readings"]

    # The disk fails; Holdspace refuses the file at start and names the way back.
    damage(day.path)
    damaged = digest(day.path)
    line = one_error_line(subprocess.run(
        [*HS, "--db", str(day.path)], capture_output=True, text=True, timeout=60,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}))
    assert "is damaged" in line and "The newest good backup was made" in line, line
    command = line.split("to put it back (the damaged file is kept aside): ", 1)[1]
    args = shlex.split(command)
    assert args[:2] == ["holdspace", "restore"] and args[3:] == ["--db", str(day.path)]
    assert Path(args[2]) in (local[0].path, on_usb[0].path)

    r = run_hs(*args[1:])
    assert r.returncode == 0, r.stderr
    after = counts(day.path)
    assert {k: after[k] for k in before if k != "events"} == {
        k: before[k] for k in before if k != "events"}
    conn = open_db(day.path)
    kinds = [k for (k,) in conn.execute("SELECT kind FROM events ORDER BY id")]
    conn.close()
    assert kinds[-1] == "store.restored" and after["events"] == before["events"] + 1
    aside = [p for p in tmp_path.iterdir() if ".replaced-" in p.name and p.suffix == ".db"]
    assert len(aside) == 1 and digest(aside[0]) == damaged, "the damaged file is kept as it was"
    assert stat.S_IMODE(day.path.stat().st_mode) == 0o600
    assert run_hs("check", "--db", str(day.path)).returncode == 0


def test_a_missing_backup_folder_is_said_and_a_copy_is_kept_on_the_workstation(
    day: Day, tmp_path: Path
) -> None:
    folder = tmp_path / "media" / "usb" / "holdspace"
    cfg = Path(os.environ["HOLDSPACE_CONFIG_DIR"])
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "workstation.json").write_text(json.dumps({"extra": {"backup": {"folder": str(folder)}}}))
    r = run_hs("backup", "--db", str(day.path))
    line = one_error_line(r)
    local = backups_dir(day.path)
    assert line == (f"holdspace: error: The backup folder {folder} is not there — plug in the "
                    f"backup disk; a copy was kept in {local}.")
    assert len(list_backups(local, day.path)) == 1
    assert not folder.exists(), "an unplugged disk is not replaced by a folder on this machine"
    assert [e.payload["files"] for e in backup_events(day.path)] == [
        [str(list_backups(local, day.path)[0].path)]]


def test_a_corrupt_backup_is_refused_and_the_database_is_untouched(day: Day,
                                                                   tmp_path: Path) -> None:
    good = make_backup(day.path, tmp_path / "b", create=True)
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(good.path.read_bytes()[: good.size // 2])
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"\x00garbage" * 500)
    before, listing = digest(day.path), sorted(os.listdir(tmp_path))
    for bad, words in ((truncated, "is damaged"), (garbage, "is damaged or is not a Holdspace"),
                       (tmp_path / "nothere.db", "There is no backup file")):
        line = one_error_line(run_hs("restore", str(bad), "--db", str(day.path)))
        assert words in line and "Nothing was restored" in line, line
        assert digest(day.path) == before
        assert sorted(os.listdir(tmp_path)) == listing, "nothing set aside, nothing half made"


def test_restore_refuses_an_open_session_unless_forced_and_never_a_running_holdspace(
    tmp_path: Path,
) -> None:
    db = tmp_path / "open.db"
    writer = StoreWriter(str(db), flush_interval=0.05)
    writer.start()
    reader = open_reader(db)
    sessions = SessionService(FakeClock(), writer, reader)
    sessions.start(None)
    backup = make_backup(db, tmp_path / "b", create=True)

    line = one_error_line(run_hs("restore", str(backup.path), "--db", str(db), "--force"))
    assert "Holdspace is using" in line and "nothing was restored" in line
    writer.stop()
    sessions.close()  # closed with the session open
    reader.close()
    before = digest(db)
    line = one_error_line(run_hs("restore", str(backup.path), "--db", str(db)))
    assert "has a session that is not closed (#1 started" in line and "--force" in line, line
    assert digest(db) == before
    r = run_hs("restore", str(backup.path), "--db", str(db), "--force")
    assert r.returncode == 0, r.stderr
    aside = [p for p in tmp_path.iterdir() if ".replaced-" in p.name and p.suffix == ".db"]
    assert len(aside) == 1 and digest(aside[0]) == before
    assert "kept as" in r.stdout and str(aside[0]) in r.stdout


def _at(day: str, hour: int = 12) -> float:
    d = dt.date.fromisoformat(day)
    return dt.datetime(d.year, d.month, d.day, hour).timestamp()


def test_thinning_keeps_3_newest_7_daily_4_weekly_and_12_monthly() -> None:
    start = dt.date(2026, 1, 1)
    files = [BackupFile(Path(f"{i}.db"), _at((start + dt.timedelta(days=i)).isoformat()),
                        "daily") for i in range(365)]
    files += [BackupFile(Path("early.db"), _at("2026-12-31", 8), "session"),
              BackupFile(Path("mid.db"), _at("2026-12-31", 10), "session")]
    kept = to_keep(files)
    by_day = {f.path: dt.date.fromtimestamp(f.t).isoformat() for f in files}
    days = sorted(by_day[p] for p in kept if p.name not in ("early.db", "mid.db"))
    assert {p.name for p in kept} >= {"early.db", "mid.db"}  # the 3 newest
    assert days == sorted({
        *(f"2026-12-{d}" for d in range(25, 32)),  # 7 daily
        "2026-12-20", "2026-12-13",  # the newest of the two weeks before those
        "2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30",
        "2026-07-31", "2026-08-31", "2026-09-30", "2026-10-31", "2026-11-30",  # monthly
    })
    # A clinic closed for a month: days without a backup do not use up the daily places.
    gap = [f for f in files if not "2026-12-01" <= by_day[f.path] <= "2026-12-30"]
    days = sorted(by_day[p] for p in to_keep(gap))
    assert days[-9:] == [f"2026-11-{d}" for d in range(25, 31)] + ["2026-12-31"] * 3


def test_each_new_backup_thins_only_this_workstations_copies(day: Day, tmp_path: Path) -> None:
    folder = tmp_path / "share"
    folder.mkdir()
    prefix = f"holdspace-{host_name()}-"
    for i in range(40):  # 40 days of daily backups
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(_at("2026-11-01") + i * 86400))
        (folder / f"{prefix}{stamp}-daily.db").write_text("old copy")
    others = [folder / "holdspace-otherpc-20260101-120000-daily.db", folder / "notes.txt",
              folder / "clinic-holdspace-20260101-120000-daily.db"]
    for p in others:
        p.write_text("not ours")
    copy = make_backup(day.path, folder, "daily", now=_at("2026-12-11"))
    left = list_backups(folder, day.path)
    assert left[0].path == copy.path
    # 12-05…12-11 (7 daily, the 3 newest among them), the weeks' newest 11-22 and 11-29,
    # November's newest 11-30.
    days = sorted(time.strftime("%m-%d", time.localtime(b.t)) for b in left)
    assert days == ["11-22", "11-29", "11-30", *(f"12-{d:02d}" for d in range(5, 12))]
    assert len(copy.thinned) == 41 - 10
    assert all(p.exists() for p in others), "another workstation's or anyone's files stay"


# ----------------------------------------------------------------- the backup service (no Qt)
class Said:
    def __init__(self) -> None:
        self.lines: list[tuple[str, bool]] = []
        self.runs: list[BackupRun] = []
        self.cond = threading.Condition()

    def say(self, message: str, problem: bool) -> None:
        self.lines.append((message, problem))

    def finished(self, run: BackupRun) -> None:
        with self.cond:
            self.runs.append(run)
            self.cond.notify_all()

    def wait_runs(self, n: int, timeout: float = 30) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: len(self.runs) >= n, timeout)


def test_the_end_of_a_session_backs_up_to_both_folders_off_the_callers_thread(
    tmp_path: Path,
) -> None:
    db = tmp_path / "holdspace.db"
    usb = tmp_path / "usb"
    usb.mkdir()
    writer = StoreWriter(str(db), flush_interval=0.05)
    writer.start()
    reader = open_reader(db)
    clock = SystemClock()
    sessions = SessionService(clock, writer, reader)
    said = Said()
    service = BackupService(db, writer, usb, said.say, lambda: "Ana Nurse", start_delay_s=0)
    service.finished.connect(said.finished)
    service.start()
    assert said.wait_runs(1), "no backup on the workstation yet: one at start"
    assert said.runs[0].why == "daily" and said.runs[0].ok
    s = sessions.start(None)
    assert s is not None
    stop = threading.Event()
    fed = [0]

    def feed() -> None:  # a monitor keeps sending while the backup runs
        while not stop.is_set():
            writer.add_samples(s.id, [Reading(time.time(), "SIM", mdc.MDC_ECG_HEART_RATE, 70.0,
                                              mdc.MDC_DIM_BEAT_PER_MIN, Quality.VALID)])
            fed[0] += 1
            stop.wait(0.002)

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        sessions.end()
        service.session_ended(s.id)
        assert said.wait_runs(2)
    finally:
        stop.set()
        feeder.join()
    run = said.runs[1]
    assert run.ok and run.why == "session" and len(run.copies) == 2
    assert [c.path.parent for c in run.copies] == [backups_dir(db), usb]
    assert said.lines[-1][1] is False
    assert re.fullmatch(rf"Backup made and checked at \d\d:\d\d: on this computer and in "
                        rf"{re.escape(str(usb))}\.", said.lines[-1][0])
    assert writer.flush()
    stored = reader.execute("SELECT COUNT(*) FROM readings").fetchone()[0]
    assert stored == fed[0], "the writer went on storing during the backup"
    events = [e for e in backup_events(db) if e.payload.get("after_session") == s.id]
    assert len(events) == 2 and all(e.author == "Ana Nurse" for e in events)
    assert events[0].payload["reason"] == "session" and events[0].payload["via"] == "console"
    service.stop()
    writer.stop()
    reader.close()


def test_daily_backups_at_start_when_a_day_old_and_at_midnight(tmp_path: Path) -> None:
    db = tmp_path / "holdspace.db"
    open_db(db).close()
    writer = StoreWriter(str(db), flush_interval=0.05)
    writer.start()
    late = dt.datetime(2027, 3, 1, 23, 59, 50).timestamp()
    clock = FakeClock(late)
    said = Said()
    service = BackupService(db, writer, None, said.say, lambda: None, now=clock.now)
    try:
        first = service.check_daily()
        assert first is not None and first.ok and first.why == "daily"
        assert service.check_daily() is None, "one a day is enough"
        assert service.tick() is None
        clock.advance(20)  # midnight
        run = service.tick()
        assert run is not None and run.ok and run.why == "daily"
        assert service.tick() is None
        clock.advance(86400)
        assert service.check_daily() is not None
        names = [b.path.name for b in list_backups(backups_dir(db), db)]
        assert [n.split("-")[2] for n in names] == ["20270303", "20270302", "20270301"]
        assert all(n.endswith("-daily.db") for n in names)
    finally:
        writer.stop()


def test_the_service_says_when_the_chosen_folder_is_missing(tmp_path: Path) -> None:
    db = tmp_path / "holdspace.db"
    open_db(db).close()
    missing = tmp_path / "media" / "usb" / "holdspace"
    run = backup_everywhere(db, missing, "session")
    assert not run.ok and len(run.copies) == 1
    assert run.told() == (f"The backup folder {missing} is not there — plug in the backup "
                          f"disk; a copy was kept in {backups_dir(db)}.")


def test_a_damaged_database_is_not_backed_up(day: Day, tmp_path: Path) -> None:
    damage(day.path)
    usb = tmp_path / "usb"
    usb.mkdir()
    run = backup_everywhere(day.path, usb, "manual")
    assert not run.ok and run.copies == []
    assert len(run.problems) == 1 and "is damaged, so no backup was made" in run.problems[0]
    assert list(usb.iterdir()) == [] and list(backups_dir(day.path).iterdir()) == []
    line = one_error_line(run_hs("backup", "--db", str(day.path), "--to", str(usb)))
    assert "is damaged, so no backup was made" in line and "holdspace check" in line


def test_a_backup_of_a_live_session_is_whole(tmp_path: Path) -> None:
    """An online backup taken while a session is recorded opens as a whole database."""
    db = tmp_path / "live.db"
    writer = StoreWriter(str(db), flush_interval=0.01)
    writer.start()
    pid = writer.call(lambda c: records.create_patient(c, "Ada", 1.0)).result(5)
    sid = writer.call(lambda c: records.start_session(c, pid, 1.0)).result(5)
    for i in range(200):
        writer.add_samples(sid, [Reading(2.0 + i, "SIM", mdc.MDC_ECG_HEART_RATE, 70.0,
                                         mdc.MDC_DIM_BEAT_PER_MIN)])
    copy = make_backup(db, tmp_path / "b", create=True)
    writer.stop()
    h = check_database(copy.path)
    assert h.ok and h.counts["sessions"] == 1 and 0 <= h.counts["readings"] <= 200
    assert re.fullmatch(r"live-\w+-\d{8}-\d{6}-manual\.db", copy.path.name)


@pytest.mark.slow
def test_a_headless_recording_is_backed_up_at_its_end(tmp_path: Path) -> None:
    link = tmp_path / "ttyHS0"
    sim = subprocess.Popen([*HS, "simulate", "--link", str(link)], stdout=subprocess.PIPE,
                           text=True)
    assert sim.stdout is not None
    try:
        assert str(link) in sim.stdout.readline()
        folder = tmp_path / "usb" / "holdspace"
        cfg = Path(os.environ["HOLDSPACE_CONFIG_DIR"])
        cfg.mkdir(parents=True, exist_ok=True)
        (cfg / "workstation.json").write_text(
            json.dumps({"extra": {"backup": {"folder": str(folder)}}}))
        db = tmp_path / "rec.db"
        r = run_hs("record", "--device", f"sim:{link}", "--db", str(db), "--duration", "2")
    finally:
        sim.terminate()
        sim.wait(10)
        sim.stdout.close()
    assert r.returncode == 0, r.stderr
    made = list_backups(backups_dir(db), db)
    assert len(made) == 1 and made[0].why == "session" and str(made[0].path) in r.stdout
    assert f"holdspace: backup: The backup folder {folder} is not there" in r.stderr
    events = backup_events(db)
    assert len(events) == 1 and events[0].payload["after_session"] == 1
    assert check_database(made[0].path).counts["readings"] == counts(db)["readings"]
