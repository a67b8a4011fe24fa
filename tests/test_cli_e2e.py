"""The command line end to end: real processes, a real pty, a real database file."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.store import engine
from console.store.db import connect_file
from devices import mdc
from tests.helpers.fixtures import wait_until

HS = [sys.executable, "-m", "console"]


def run_hs(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HS, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def simulate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`holdspace simulate` as its own process; yields the stable port path it serves."""
    link = tmp_path_factory.mktemp("sim") / "ttyHS0"
    proc = subprocess.Popen([*HS, "simulate", "--link", str(link)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert str(link) in first
    yield str(link)
    proc.send_signal(signal.SIGTERM)  # as Ctrl-C; SIGINT is ignored under `&`
    proc.wait(10)
    proc.stdout.close()


@pytest.mark.slow
def test_record_ten_seconds_stores_readings_and_pleth(simulate: str, tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    r = run_hs("record", "--device", f"sim:{simulate}", "--db", str(db), "--duration", "10")
    assert r.returncode == 0, r.stderr
    assert "closed" in r.stdout
    conn = connect_file(db)
    hr = conn.execute("SELECT COUNT(*) FROM readings WHERE code=?",
                      (mdc.MDC_ECG_HEART_RATE,)).fetchone()[0]
    assert 8 <= hr <= 12
    samples = conn.execute("SELECT SUM(n) FROM waveforms WHERE code=?",
                           (mdc.MDC_PULS_OXIM_PLETH,)).fetchone()[0]
    assert 1100 <= samples <= 1300
    units = {u for (u,) in conn.execute("SELECT DISTINCT unit FROM readings WHERE code=?",
                                        (mdc.MDC_PULS_OXIM_SAT_O2,))}
    assert units == {mdc.MDC_DIM_PERCENT}
    state = conn.execute("SELECT state FROM sessions").fetchone()[0]
    assert state == "ended"
    # The closing line counts what the database holds, not what was received.
    m = re.search(r"session 1 closed: stored (\d+) readings", r.stdout)
    assert m and int(m.group(1)) == conn.execute("SELECT COUNT(*) FROM readings").fetchone()[0]
    listing = run_hs("sessions", "--db", str(db))
    assert listing.returncode == 0 and "readings" in listing.stdout and "ended" in listing.stdout
    assert re.search(r"^#1\s+\S+ \S+\s+1\d s\s+ended", listing.stdout, re.M), listing.stdout
    check = run_hs("check", "--db", str(db))
    assert check.returncode == 0, check.stderr
    assert "integrity:   ok" in check.stdout and "(as this Holdspace makes it)" in check.stdout
    assert f"1 sessions, {int(m.group(1))} readings" in check.stdout
    assert "every session is closed" in check.stdout


@pytest.mark.slow
def test_kill_minus_nine_loses_at_most_a_second(simulate: str, tmp_path: Path) -> None:
    db = tmp_path / "kill.db"
    proc = subprocess.Popen([*HS, "record", "--device", f"sim:{simulate}", "--db", str(db)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stored() -> int:
        if not db.exists():
            return 0
        try:
            c = connect_file(db, timeout=1)
            n = c.execute("SELECT COUNT(*) FROM readings WHERE code=?",
                          (mdc.MDC_ECG_HEART_RATE,)).fetchone()[0]
            c.close()
            return int(n)
        except engine.OperationalError:
            return 0

    try:
        assert wait_until(lambda: stored() >= 4, timeout=30)
    finally:
        killed_at = time.time()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    conn = connect_file(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    last = conn.execute("SELECT MAX(t) FROM readings").fetchone()[0]
    # numerics arrive once a second, so the newest stored one is within ~1 s + one flush
    assert killed_at - last <= 2.0
    last_hr = conn.execute("SELECT MAX(t) FROM readings WHERE code=?",
                           (mdc.MDC_ECG_HEART_RATE,)).fetchone()[0]
    assert killed_at - last_hr <= 2.0
    assert conn.execute("SELECT state FROM sessions").fetchone()[0] == "active"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["record", "--device", "philipz:/dev/ttyUSB0"], "unknown monitor protocol"),
        (["record", "--device", "sim:/dev/ttyDOESNOTEXIST9"], "does not exist"),
        (["record", "--device", "sim"], "PROTOCOL:PORT"),
        (["simulate", "--protocol", "nope"], "unknown monitor protocol"),
        (["record", "--device", "hl7:listen:notaport"], "the port must be a number"),
        (["record", "--device", "hl7:listen:2575?room=4"], "unknown option 'room'"),
        (["record", "--device", "nonin:listen:2575"], "only HL7 gateways"),
        (["simulate", "--protocol", "hl7-gateway", "--connect", "nowhere"], "HOST:PORT"),
        (["simulate", "--protocol", "hl7-gateway", "--beds", ","], "at least one bed"),
        (["simulate", "--scenario", "nope"], "unknown scenario"),
        (["--frobnicate"], "unrecognized arguments"),
        (["sessions", "--db", "/nonexistent/holdspace.db"], "no database"),
        (["check", "--db", "/nonexistent/holdspace.db"], "no database"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(args: list[str], words: str) -> None:
    r = run_hs(*args)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], r.stderr


def test_unwritable_and_corrupt_databases_are_clear_errors(tmp_path: Path, simulate: str) -> None:
    not_a_dir = tmp_path / "plainfile"
    not_a_dir.write_text("x")
    r = run_hs("record", "--device", f"sim:{simulate}", "--db", str(not_a_dir / "x.db"),
               "--duration", "1")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "Cannot" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"\x00garbage" * 500)
    for args in (["sessions", "--db", str(bad)],
                 ["record", "--device", f"sim:{simulate}", "--db", str(bad)]):
        r = run_hs(*args)
        assert r.returncode == 2 and "damaged" in r.stderr and "Traceback" not in r.stderr
    assert bad.read_bytes() == b"\x00garbage" * 500, "a damaged file is kept as it was"


def test_no_screen_says_so_and_offers_the_headless_way(tmp_path: Path) -> None:
    if sys.platform != "linux":
        pytest.skip("the no-screen check is for Linux")
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run([*HS, "--db", str(tmp_path / "x.db")], capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 2
    assert "no screen" in r.stderr and "holdspace record" in r.stderr and "xvfb-run" in r.stderr
