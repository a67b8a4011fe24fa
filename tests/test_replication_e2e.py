"""Three rooms (`holdspace record` with three simulators) send to one real PostgreSQL server,
which is stopped for 30 s in the middle; afterwards it holds exactly the three files' rows."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.replication import schema
from console.replication.address import login_for
from console.store import engine
from console.store.db import connect_file
from tests.helpers.fixtures import wait_until
from tests.helpers.pg import SUPERPASS, Cluster, wait_for_server
from tests.helpers.replication import counts_and_checksums, server_counts, server_rows, sqlite_rows

HS = [sys.executable, "-m", "console"]
ROOMS = ["Room A", "Room B", "Room C"]
OUTAGE_S = 30.0  # the outage: long enough for several back-off rounds


def readings_in(db: Path, after: float = 0.0) -> int:
    if not db.exists():
        return 0
    try:
        c = connect_file(db, timeout=2)
        try:
            return int(c.execute("SELECT COUNT(*) FROM readings WHERE t > ?",
                                 (after,)).fetchone()[0])
        finally:
            c.close()
    except engine.OperationalError:
        return 0


@pytest.fixture
def simulators(tmp_path: Path) -> Iterator[list[str]]:
    procs, links = [], []
    for i in range(len(ROOMS)):
        link = tmp_path / f"ttySIM{i}"
        p = subprocess.Popen([*HS, "simulate", "--link", str(link)], stdout=subprocess.PIPE,
                             text=True)
        assert p.stdout is not None and str(link) in p.stdout.readline()
        procs.append(p)
        links.append(str(link))
    yield links
    for p in procs:
        p.send_signal(signal.SIGTERM)  # as Ctrl-C; SIGINT is ignored under `&`
        p.wait(10)
        assert p.stdout is not None
        p.stdout.close()


@pytest.mark.slow
def test_three_rooms_survive_a_30_s_server_outage(pg: Cluster, pg_db: str, tmp_path: Path,
                                                  simulators: list[str]) -> None:
    admin = pg.url(pg_db)
    passwords = {room: f"pw-{i}" for i, room in enumerate(ROOMS)}
    schema.init(admin, list(passwords.items()))
    dbs = {room: tmp_path / f"room{i}.db" for i, room in enumerate(ROOMS)}
    procs: dict[str, subprocess.Popen[str]] = {}
    logs: dict[str, Path] = {}
    for i, room in enumerate(ROOMS):
        url = pg.url(pg_db, login_for(room), passwords[room])
        env = dict(os.environ)
        args = [*HS, "record", "--device", f"sim:{simulators[i]}", "--db", str(dbs[room]),
                "--patient", f"MRN-{i}"]
        if i < 2:  # rooms A and B on the command line, B with waveforms
            args += ["--sync", url, "--room", room] + (["--sync-waveforms"] if i == 1 else [])
        else:  # room C from the workstation's settings, waveforms too
            cfg = tmp_path / "config-c"
            cfg.mkdir()
            (cfg / "workstation.json").write_text(json.dumps(
                {"extra": {"sync": {"url": url, "room": room, "waveforms": True}}}))
            env["HOLDSPACE_CONFIG_DIR"] = str(cfg)
        logs[room] = tmp_path / f"room{i}.log"
        with logs[room].open("w") as log:  # the child keeps its own copy of the handle
            procs[room] = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                           text=True, env=env)
    try:
        assert wait_until(lambda: all(server_counts(admin, r)["readings"] >= 3 for r in ROOMS),
                          timeout=150), "every room's readings reach the server"
        stopped_at = time.time()
        pg.stop()
        # the outage: 30 s of every room recording while the server is down
        assert wait_until(lambda: all(readings_in(dbs[r], stopped_at + OUTAGE_S) > 0
                                      for r in ROOMS), timeout=OUTAGE_S + 30, poll=0.5)
        status = subprocess.run([*HS, "sync-status", "--db", str(dbs["Room A"]), "--sync",
                                 pg.url(pg_db, login_for("Room A"), passwords["Room A"]),
                                 "--room", "Room A"], capture_output=True, text=True, timeout=60)
        assert status.returncode == 1, status.stdout + status.stderr
        assert "rows not yet on the server" in status.stdout
        assert "server check: not reachable" in status.stdout
        assert "Central server not reachable since" in status.stdout
        assert passwords["Room A"] not in status.stdout
        pg.start()
        assert wait_for_server(pg)
        # caught up: every room's readings up to now are on the server
        marks = {r: readings_in(dbs[r]) for r in ROOMS}
        assert wait_until(lambda: all(server_counts(admin, r)["readings"] >= marks[r]
                                      for r in ROOMS), timeout=60, poll=0.2)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        codes = {r: p.wait(60) for r, p in procs.items()}
        if not pg.running():
            pg.start()
    out = {r: logs[r].read_text() for r in ROOMS}
    assert codes == dict.fromkeys(ROOMS, 0), out
    for room in ROOMS:
        assert "holdspace: Central server not reachable since" in out[room], out[room]
        assert "central server: reachable again" in out[room]
        assert f"central server: Everything from {room!r} is up to date" in out[room], out[room]
        assert passwords[room] not in out[room] and SUPERPASS not in out[room]
    # exactly the three files' rows, per table, none twice and none missing
    for i, room in enumerate(ROOMS):
        tables = ["patients", "sessions", "events", "readings"] + (["waveforms"] if i else [])
        want = counts_and_checksums({t: sqlite_rows(dbs[room], t) for t in tables})
        got = counts_and_checksums({t: server_rows(admin, room, t) for t in tables})
        assert got == want, room
        assert want["readings"][0] > 30 and want["events"][0] > 0
        assert server_rows(admin, room, "sessions")[0][4] == "ended"
        if i == 0:
            assert server_counts(admin, room)["waveforms"] == 0
        else:
            assert want["waveforms"][0] > 25
    totals = server_counts_all(admin)
    assert totals == {t: sum(len(sqlite_rows(dbs[r], t)) for r in ROOMS
                             if t != "waveforms" or r != "Room A") for t in schema.TABLES}


def server_counts_all(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as c:
        return {t: int(c.execute(f"SELECT COUNT(*) FROM holdspace.{t}").fetchall()[0][0])
                for t in schema.TABLES}
