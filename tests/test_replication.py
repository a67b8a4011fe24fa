"""The replicator against a real PostgreSQL server: order, idempotence, restarts, its status."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import psycopg
import pytest

from console.replication import schema
from console.replication.address import login_for, shown
from console.replication.replicator import Pushed, Replicator, SyncSettings
from console.replication.status import SyncStatus
from console.store import records, replication_state
from tests.helpers.fixtures import wait_until
from tests.helpers.pg import Cluster
from tests.helpers.replication import (
    counts_and_checksums,
    fill,
    same_on_server,
    server_counts,
    server_rows,
    sqlite_rows,
)

ROOM = "Room 1"
PW = "room-1-pw"
ALL = ["patients", "sessions", "events", "readings", "waveforms"]


@pytest.fixture
def central(pg: Cluster, pg_db: str) -> tuple[str, str]:
    """(admin URL, the room's URL) of a server set up by `central init`."""
    schema.init(pg.url(pg_db), [(ROOM, PW)])
    return pg.url(pg_db), pg.url(pg_db, login_for(ROOM), PW)


def test_pushes_every_row_in_order_and_keeps_its_position(central: tuple[str, str],
                                                          db_path: Path) -> None:
    admin, room_url = central
    sid = fill(db_path, 3000)
    pushes: list[Pushed] = []
    rep = Replicator(db_path, SyncSettings(room_url, ROOM, waveforms=True), batch_rows=1000,
                     on_pushed=pushes.append)
    rep.start()
    try:
        assert wait_until(lambda: rep.status.caught_up, timeout=30), rep.status
    finally:
        final = rep.stop()
    assert final.stopped and final.last_error is None
    assert same_on_server(db_path, admin, ROOM, ALL)
    # in order: batches of at most 1000 readings, each starting where the last one ended
    reading_batches = [p.rows.get("readings", 0) for p in pushes if p.rows.get("readings")]
    assert reading_batches == [1000, 1000, 1000]
    conn = sqlite3.connect(db_path)
    pos = replication_state.positions(conn)
    top = {t: conn.execute(f"SELECT MAX(id) FROM {t}").fetchone()[0] for t in
           ("events", "readings", "waveforms")}
    assert pos == top
    stored = replication_state.stored_status(conn)
    assert stored is not None and stored.behind_rows == 0 and stored.last_error is None
    assert stored.server == shown(room_url) and PW not in (stored.server or "")
    # the session's end (an update in the file) reaches the server too
    records.end_session(conn, sid, 2_000_000.0, reason="done")
    conn.commit()
    conn.close()
    rep2 = Replicator(db_path, SyncSettings(room_url, ROOM, waveforms=True))
    rep2.start()
    rep2.stop(flush=20)
    with psycopg.connect(admin) as c:
        assert c.execute("SELECT state, ended FROM holdspace.sessions WHERE room=%s",
                         (ROOM,)).fetchone() == ("ended", 2_000_000.0)
        last = c.execute("SELECT behind_rows, last_error, workstation_id FROM holdspace.rooms "
                         "WHERE room=%s", (ROOM,)).fetchone()
    assert last is not None and last[0] == 0 and last[1] is None
    assert same_on_server(db_path, admin, ROOM, ALL)


def test_restart_mid_stream_continues_without_duplicates(central: tuple[str, str],
                                                         db_path: Path) -> None:
    admin, room_url = central
    fill(db_path, 12_000)
    two = threading.Event()
    seen: list[Pushed] = []

    def after(p: Pushed) -> None:
        seen.append(p)
        if len(seen) >= 2:
            two.set()

    rep = Replicator(db_path, SyncSettings(room_url, ROOM), batch_rows=2000, on_pushed=after)
    rep.start()
    assert two.wait(30)
    rep.stop(flush=0)  # stopped mid-stream: no catching up on the way out
    conn = sqlite3.connect(db_path)
    pos = replication_state.positions(conn)["readings"]
    assert 0 < pos < 12_000
    # the server holds exactly the rows up to the stored position, nothing beyond
    on_server = server_counts(admin, ROOM)["readings"]
    assert on_server == pos
    # a crash between the server's commit and the file's position: the file is behind the server
    conn.execute("UPDATE replication_state SET last_id = 0 WHERE tbl = 'readings'")
    conn.commit()
    conn.close()
    rep = Replicator(db_path, SyncSettings(room_url, ROOM), batch_rows=2000)
    rep.start()
    try:
        assert wait_until(lambda: rep.status.caught_up, timeout=30), rep.status
    finally:
        rep.stop()
    assert same_on_server(db_path, admin, ROOM, ["patients", "sessions", "events", "readings"])
    assert server_counts(admin, ROOM)["waveforms"] == 0  # off unless the clinic wants them
    want = counts_and_checksums({t: sqlite_rows(db_path, t) for t in ("events", "readings")})
    got = counts_and_checksums({t: server_rows(admin, ROOM, t) for t in ("events", "readings")})
    assert got == want


def test_an_unreachable_server_is_said_in_plain_words(db_path: Path, pg: Cluster) -> None:
    fill(db_path, 10)
    statuses: list[SyncStatus] = []
    url = f"postgresql://{login_for(ROOM)}:{PW}@127.0.0.1:1/holdspace"
    rep = Replicator(db_path, SyncSettings(url, ROOM), on_status=statuses.append)
    rep.start()
    try:
        assert wait_until(lambda: rep.status.last_error is not None, timeout=20)
    finally:
        final = rep.stop(flush=0)
    s = rep.status if final is None else final
    assert s.last_error is not None
    assert s.last_error.startswith("Central server not reachable since ")
    assert "this room keeps recording locally" in s.last_error
    assert "connection refused" in s.last_error
    assert PW not in s.last_error and PW not in s.server
    assert s.behind_rows is None or s.behind_rows >= 0
    assert "not sending" in statuses[-1].short() or statuses[-1].stopped
    conn = sqlite3.connect(db_path)
    stored = replication_state.stored_status(conn)
    conn.close()
    assert stored is not None and stored.last_error == s.last_error


def test_wrong_room_login_and_a_second_file_for_the_same_room_are_refused(
        central: tuple[str, str], pg: Cluster, pg_db: str, tmp_path: Path) -> None:
    admin, room_url = central
    schema.init(admin, [("Room 2", "pw-2")])
    fill(tmp_path / "a.db", 10)
    # Room 2's login sending as Room 1: row-level security refuses, the room says so
    wrong = pg.url(pg_db, login_for("Room 2"), "pw-2")
    rep = Replicator(tmp_path / "a.db", SyncSettings(wrong, ROOM))
    rep.start()
    try:
        assert wait_until(lambda: rep.status.last_error is not None, timeout=20)
    finally:
        rep.stop(flush=0)
    assert "refused" in (rep.status.last_error or "")
    assert server_counts(admin, ROOM)["readings"] == 0
    # the right login: accepted
    rep = Replicator(tmp_path / "a.db", SyncSettings(room_url, ROOM))
    rep.start()
    rep.stop(flush=20)
    assert rep.status.last_error is None and server_counts(admin, ROOM)["readings"] == 10
    # another file sending as the same room would mix two files' ids: refused, nothing sent
    fill(tmp_path / "b.db", 25)
    rep = Replicator(tmp_path / "b.db", SyncSettings(room_url, ROOM))
    rep.start()
    try:
        assert wait_until(lambda: rep.status.last_error is not None, timeout=20)
    finally:
        rep.stop(flush=0)
    assert "already holds room 'Room 1' from another database file" in (rep.status.last_error or "")
    assert server_counts(admin, ROOM)["readings"] == 10


def test_sync_status_on_the_command_line(central: tuple[str, str], db_path: Path) -> None:
    import subprocess
    import sys

    hs = [sys.executable, "-m", "console"]
    _admin, room_url = central
    fill(db_path, 40)
    off = subprocess.run([*hs, "sync-status", "--db", str(db_path)], capture_output=True,
                         text=True, timeout=60)
    assert off.returncode == 0, off.stderr
    assert "does not send to a central server" in off.stdout
    # 40 readings, 20 notes and the patient's and session's own events
    assert "62 rows not yet on the server" in off.stdout
    rep = Replicator(db_path, SyncSettings(room_url, ROOM))
    rep.start()
    rep.stop(flush=20)
    on = subprocess.run([*hs, "sync-status", "--db", str(db_path), "--sync", room_url,
                         "--room", ROOM], capture_output=True, text=True, timeout=60)
    assert on.returncode == 0, on.stdout + on.stderr
    assert "this file:    every row is on the server" in on.stdout
    assert f"it last heard from room '{ROOM}'" in on.stdout
    assert PW not in on.stdout and shown(room_url) in on.stdout


@pytest.mark.parametrize(("args", "words"), [
    (["--sync", "mysql://x/y", "--room", "A"], "should start with postgresql://"),
    (["--sync", "postgresql://u@h/d"], "say which room this is"),
    (["--room", "A"], "give the server too"),
    (["--sync", "postgresql://u@h/d", "--room", "Room/2"], "cannot be used"),
])
def test_bad_sync_arguments_are_one_clear_line(args: list[str], words: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from console.cli import main

    for cmd in (["record", "--device", "sim:/dev/null"], ["sync-status"]):
        assert main([*cmd, "--db", str(tmp_path / "x.db"), *args]) == 2
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], err


def test_a_server_restored_from_an_older_backup_gets_the_rest_again(
        central: tuple[str, str], db_path: Path) -> None:
    admin, room_url = central
    fill(db_path, 500)
    rep = Replicator(db_path, SyncSettings(room_url, ROOM))
    rep.start()
    rep.stop(flush=20)
    assert same_on_server(db_path, admin, ROOM, ["patients", "sessions", "events", "readings"])
    # IT puts back last night's dump: the server lost the newest rows the file had sent
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute("DELETE FROM holdspace.readings WHERE room = %s AND id > 123", (ROOM,))
        c.execute("DELETE FROM holdspace.events WHERE room = %s AND id > 5", (ROOM,))
        c.execute("DELETE FROM holdspace.sessions WHERE room = %s", (ROOM,))
    rep = Replicator(db_path, SyncSettings(room_url, ROOM))
    rep.start()
    rep.stop(flush=20)
    assert same_on_server(db_path, admin, ROOM, ["patients", "sessions", "events", "readings"])


def test_a_file_put_back_from_an_older_backup_is_refused_not_mixed(
        central: tuple[str, str], db_path: Path, tmp_path: Path) -> None:
    import shutil

    admin, room_url = central
    fill(db_path, 100)
    rep = Replicator(db_path, SyncSettings(room_url, ROOM))
    rep.start()
    rep.stop(flush=20)
    backup = tmp_path / "backup.db"
    shutil.copy(db_path, backup)  # yesterday's copy, with the same identity
    conn = sqlite3.connect(db_path)
    conn.execute("INSERT INTO readings (session_id, t, source, code, value, unit, quality) "
                 "SELECT session_id, t + 1000, source, code, value, unit, quality FROM readings")
    conn.commit()
    conn.close()
    rep = Replicator(db_path, SyncSettings(room_url, ROOM))
    rep.start()
    rep.stop(flush=20)
    assert server_counts(admin, ROOM)["readings"] == 200
    shutil.copy(backup, db_path)  # the file is put back; the server has 100 more readings
    rep = Replicator(db_path, SyncSettings(room_url, ROOM))
    rep.start()
    try:
        assert wait_until(lambda: rep.status.last_error is not None, timeout=20)
    finally:
        rep.stop(flush=0)
    assert "holds more of room 'Room 1' than this database file" in (rep.status.last_error or "")
    assert server_counts(admin, ROOM)["readings"] == 200


def test_sync_settings_come_from_the_workstation_file_and_the_command_line(tmp_path: Path) -> None:
    import json

    from console.core.config import Config
    from console.replication.replicator import settings_from

    path = tmp_path / "workstation.json"
    path.write_text(json.dumps({"extra": {"sync": {
        "url": "postgresql://holdspace_room_r@central/holdspace", "room": "R",
        "waveforms": "yes"}}}))
    cfg = Config.load(path)
    assert any("waveforms" in p.reason for p in cfg.problems)  # said, and left out
    s = settings_from(cfg.extra)
    assert s == SyncSettings("postgresql://holdspace_room_r@central/holdspace", "R", False)
    over = settings_from(cfg.extra, "postgresql://other@h/db", "Room 9", True)
    assert over == SyncSettings("postgresql://other@h/db", "Room 9", True)
    assert settings_from(Config(path=tmp_path / "none.json").extra) is None  # off by default
