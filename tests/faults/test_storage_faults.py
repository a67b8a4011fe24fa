"""Storage faults, tried from outside as a clinic's IT person would (issue 9, items 6 and 7).

Real processes, a real simulator, real SQLite files: a file another program keeps locked, a
read-only file and folder, a damaged page, a file-size limit during `record`, and `record`
killed with SIGKILL. Each gives one clear line (exit 2) or a loud, true account, never a
traceback or a count that is not the database's.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from console.store import engine, records
from console.store.db import StoreError, connect_file, open_db
from console.store.writer import StoreWriter
from devices import mdc
from devices.reading import Reading
from tests.helpers.fixtures import wait_until

if sys.platform != "win32":
    import resource

HS = [sys.executable, "-m", "console"]
SAVE_FAILED = "holdspace: saving failed"
SAVE_WORKS = "works again"


def hs(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HS, *args], capture_output=True, text=True, timeout=timeout)


def hs_all(*commands: list[str], timeout: float = 60
           ) -> list[tuple[subprocess.CompletedProcess[str], float]]:
    """Several independent `holdspace` commands side by side; each with its own seconds."""
    started = time.monotonic()
    procs = [subprocess.Popen([*HS, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for args in commands]
    done = []
    for args, proc in zip(commands, procs, strict=True):
        out, err = proc.communicate(timeout=timeout)
        done.append((subprocess.CompletedProcess(args, proc.returncode, out, err),
                     time.monotonic() - started))
    return done


def one_line(r: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


@pytest.fixture(scope="module")
def simulate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`holdspace simulate` as its own process; yields the stable port path it serves."""
    link = tmp_path_factory.mktemp("sim") / "ttyHS0"
    proc = subprocess.Popen([*HS, "simulate", "--link", str(link)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    assert str(link) in proc.stdout.readline()
    yield str(link)
    proc.send_signal(signal.SIGTERM)  # as Ctrl-C; SIGINT is ignored under `&`
    proc.wait(10)
    proc.stdout.close()


def make_db(path: Path, readings: int = 40, crashed: bool = False) -> int:
    """A real database with one ended session of `readings` heart rates (and, with `crashed`,
    a second session left 'active' by a process that died). Returns the first session's id."""
    w = StoreWriter(str(path))
    w.start()
    t0 = time.time() - 3600
    sid = w.call(lambda c: records.start_session(c, None, t0)).result(5)
    w.add_samples(sid, [Reading(t0 + i, "sim", mdc.MDC_ECG_HEART_RATE, 60 + i % 30,
                                mdc.MDC_DIM_BEAT_PER_MIN) for i in range(readings)])
    w.flush()
    w.call(lambda c: records.end_session(c, sid, t0 + readings)).result(5)
    if crashed:
        t1 = t0 + 1800
        s2 = w.call(lambda c: records.start_session(c, None, t1)).result(5)
        w.add_samples(s2, [Reading(t1 + i, "sim", mdc.MDC_ECG_HEART_RATE, 70,
                                   mdc.MDC_DIM_BEAT_PER_MIN) for i in range(5)])
        w.flush()
    w.stop()
    return sid


def hr_stored(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        c = connect_file(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return int(c.execute("SELECT COUNT(*) FROM readings WHERE code=?",
                                 (mdc.MDC_ECG_HEART_RATE,)).fetchone()[0])
        finally:
            c.close()
    except engine.Error:
        return 0


# ----- a database another program keeps locked -----

def test_a_locked_database_is_one_line_and_exit_2_long_before_the_busy_timeout(
        tmp_path: Path) -> None:
    db = tmp_path / "locked.db"
    make_db(db)
    other = connect_file(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # e.g. a DB browser in the middle of a change
    try:
        t = time.monotonic()
        with pytest.raises(StoreError, match="Another program is using"):
            open_db(db)
        assert time.monotonic() - t < 3.0, "found by the short probe, not SQLite's timeout"
        for r, took in hs_all(["record", "--device", "sim:loop://", "--db", str(db)],
                              ["--db", str(db)]):  # the console window
            assert r.returncode == 2
            line = one_line(r)
            assert f"Another program is using {db}" in line and "start again" in line
            assert took < 8.0, f"{r.args[0]} waited {took:.1f} s (SQLite's busy timeout is 10 s)"
    finally:
        other.execute("ROLLBACK")
        other.close()


# ----- a read-only file in a read-only folder -----

@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """The folder and every file in it read-only, even for root (chattr +i)."""
    files = [p for p in folder.iterdir() if p.is_file()]
    if os.geteuid() == 0:
        chattr = shutil.which("chattr")
        if chattr is None or subprocess.run([chattr, "+i", *map(str, files), str(folder)],
                                            capture_output=True).returncode != 0:
            pytest.skip("running as root where chattr +i is not allowed: no read-only file")
        try:
            yield
        finally:
            subprocess.run([chattr, "-i", str(folder), *map(str, files)], check=True)
    else:
        for p in files:
            p.chmod(0o444)
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
            for p in files:
                p.chmod(0o644)


@pytest.mark.parametrize("with_wal", [False, True], ids=["closed-cleanly", "wal-present"])
def test_a_read_only_database_is_listed_and_checked_but_not_recorded_into(
        tmp_path: Path, with_wal: bool) -> None:
    src = tmp_path / "src.db"
    make_db(src, crashed=True)
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "holdspace.db"
    if with_wal:  # a copy taken while Holdspace was writing: the newest rows only in -wal
        live = connect_file(src, isolation_level=None)
        live.execute("PRAGMA wal_autocheckpoint=0")
        live.execute("INSERT INTO sessions (started, ended, state) VALUES (?, ?, 'ended')",
                     (time.time(), time.time() + 1))
        for ext in ("", "-wal", "-shm"):
            shutil.copy(f"{src}{ext}", f"{db}{ext}")
        live.close()
    else:
        shutil.copy(src, db)
    before = sorted(p.name for p in folder.iterdir())
    with read_only(folder):
        (listing, _), (check, _), *writers = hs_all(
            ["sessions", "--db", str(db)], ["check", "--db", str(db)],
            ["record", "--device", "sim:loop://", "--db", str(db)], ["--db", str(db)])
        assert listing.returncode == 0, listing.stderr
        lines = listing.stdout.splitlines()
        assert len(lines) == (3 if with_wal else 2)
        assert re.search(r"^#1 .*\s40 s\s+ended\b", lines[0]), lines[0]
        assert re.search(r"^#2 .*\s4 s\s+interrupted\b", lines[1]), lines[1]
        assert check.returncode == 0, check.stderr
        assert "integrity:   ok" in check.stdout and "interrupted: #2" in check.stdout
        for r, _ in writers:
            assert r.returncode == 2
            line = one_line(r)
            assert "permission denied" in line or "read-only" in line, line
        assert sorted(p.name for p in folder.iterdir()) == before, "nothing written beside it"


# ----- a damaged page -----

def test_a_damaged_page_is_one_line_and_check_lists_the_damage(tmp_path: Path) -> None:
    db = tmp_path / "damaged.db"
    make_db(db, readings=3000)
    pages = db.stat().st_size // 4096
    assert pages > 20
    with db.open("r+b") as f:  # a b-tree page in the middle: an impossible header
        f.seek(pages // 2 * 4096)
        f.write(bytes([0x0D, 0, 0, 0x50, 0x50]) + b"\xfe" * 300)
    damaged = db.read_bytes()
    (record, _), (console, _), (listing, _), (check, _), (missing, _) = hs_all(
        ["record", "--device", "sim:loop://", "--db", str(db)], ["--db", str(db)],
        ["sessions", "--db", str(db)], ["check", "--db", str(db)],
        ["check", "--db", str(tmp_path / "nothing.db")])
    for r in (record, console):
        assert r.returncode == 2
        assert "damaged" in one_line(r)
    if listing.returncode != 0:  # the listing may not need the damaged page
        assert listing.returncode == 2 and "damaged" in one_line(listing)
    assert check.returncode == 1 and "Traceback" not in check.stderr
    assert "integrity:   DAMAGED" in check.stdout
    assert db.read_bytes() == damaged, "a damaged file is kept as it was"
    assert missing.returncode == 2 and "no database" in one_line(missing)


# ----- a file-size limit during `record` -----

def _limited(limit: int) -> Callable[[], None]:
    """Run in the child before `holdspace record`: a file-size limit, as `ulimit -f` sets."""
    def pre() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    return pre


def _stored_in_db(db: Path, sid: int) -> int:
    c = connect_file(f"file:{db}?mode=ro", uri=True)
    try:
        return int(c.execute("SELECT COUNT(*) FROM readings WHERE session_id=?",
                             (sid,)).fetchone()[0])
    finally:
        c.close()


def _record_limited(db: Path, port: str, seconds: float) -> subprocess.Popen[str]:
    open_db(db).close()  # made without the limit; the limit leaves room for a few seconds
    return subprocess.Popen(
        [*HS, "record", "--device", f"sim:{port}", "--db", str(db), "--duration", str(seconds)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_limited(db.stat().st_size + 24 * 1024))


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="no file-size limits here")
def test_record_under_a_file_size_limit_says_so_once_and_counts_what_is_stored(
        tmp_path: Path, simulate: str) -> None:
    db = tmp_path / "limited.db"
    proc = _record_limited(db, simulate, 6)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert "Traceback" not in err
    assert len([ln for ln in err.splitlines() if ln.startswith(SAVE_FAILED)]) == 1, err
    m = re.search(r"session (\d+) .*received (\d+) readings, stored (\d+)", out)
    assert m, out
    sid, received, stored = map(int, m.groups())
    assert stored < received
    assert stored == _stored_in_db(db, sid), "the count printed is the database's own"
    assert f"{received - stored} of {received} readings could not be stored" in err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="raises a running limit")
def test_record_says_when_saving_works_again_and_then_stores_everything(
        tmp_path: Path, simulate: str) -> None:
    db = tmp_path / "recovers.db"
    proc = _record_limited(db, simulate, 6)
    assert proc.stderr is not None
    first = proc.stderr.readline()  # blocks until the writer's first failure is reported
    assert first.startswith(SAVE_FAILED), first
    resource.prlimit(proc.pid, resource.RLIMIT_FSIZE,
                     (resource.RLIM_INFINITY, resource.RLIM_INFINITY))  # space again
    out, rest = proc.communicate(timeout=60)
    err = first + rest
    assert proc.returncode == 0, err
    said = [ln for ln in err.splitlines() if ln.startswith("holdspace:")]
    assert len(said) == 2 and said[0] == first.strip() and SAVE_WORKS in said[1], err
    m = re.search(r"session (\d+) closed: stored (\d+) readings", out)
    assert m, out
    assert int(m.group(2)) == _stored_in_db(db, int(m.group(1))) > 0


# ----- a process killed mid-recording -----

@pytest.mark.slow
def test_a_recording_killed_mid_way_is_listed_as_interrupted_with_its_true_duration(
        tmp_path: Path, simulate: str) -> None:
    db = tmp_path / "killed.db"
    started = time.time()
    proc = subprocess.Popen([*HS, "record", "--device", f"sim:{simulate}", "--db", str(db)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: hr_stored(db) >= 3, timeout=30)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    killed_after = time.time() - started
    listing = hs("sessions", "--db", str(db))
    assert listing.returncode == 0, listing.stderr
    m = re.search(r"^#1\s+\S+ \S+\s+(\d+) s\s+interrupted\b", listing.stdout, re.M)
    assert m, listing.stdout
    assert 2 <= int(m.group(1)) <= killed_after + 1, "seconds of data, not minutes"
    check = hs("check", "--db", str(db))
    assert check.returncode == 0 and re.search(r"^interrupted: #1 ", check.stdout, re.M), (
        check.stdout)
    # The next `record` closes it where its data stops, and says so.
    again = hs("record", "--device", f"sim:{simulate}", "--db", str(db), "--duration", "1")
    assert again.returncode == 0, again.stderr
    assert re.search(r"session 1 was interrupted at .*; closed there", again.stdout)
    conn = connect_file(db)
    state, ended, last_reading = conn.execute(
        "SELECT state, ended, (SELECT MAX(t) FROM readings WHERE session_id = 1) "
        "FROM sessions WHERE id = 1").fetchone()
    assert state == "interrupted" and ended >= last_reading and ended - last_reading < 1.5
    (payload,) = conn.execute("SELECT payload FROM events WHERE session_id = 1 AND "
                              "kind = 'session.interrupted'").fetchone()
    assert '"closed": true' in payload and "stopped unexpectedly" in payload
    assert conn.execute("SELECT state FROM sessions WHERE id = 2").fetchone() == ("ended",)
