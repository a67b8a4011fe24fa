"""The central server's schema and roles (`holdspace central init`) on a real PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from console.replication import schema
from console.replication.address import login_for, shown
from console.store.db import open_db
from tests.helpers.pg import SUPERPASS, Cluster

HS = [sys.executable, "-m", "console"]


def test_server_tables_mirror_the_sqlite_file_column_for_column(tmp_path: Path) -> None:
    conn = open_db(tmp_path / "x.db")
    for table, cols in schema.COLUMNS.items():
        sqlite_cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        assert [c for c, _ in cols] == sqlite_cols, table


def test_init_is_versioned_and_safe_to_run_again(pg: Cluster, pg_db: str) -> None:
    first = schema.init(pg.url(pg_db))
    assert (first.found, first.now) == (0, schema.SCHEMA_VERSION)
    again = schema.init(pg.url(pg_db), [("Room 1", "pw")])
    assert (again.found, again.now) == (schema.SCHEMA_VERSION, schema.SCHEMA_VERSION)
    with psycopg.connect(pg.url(pg_db)) as c:
        versions = [v for (v,) in c.execute("SELECT version FROM holdspace.schema_version")]
        assert versions == list(range(1, schema.SCHEMA_VERSION + 1))
        tables = {t for (t,) in c.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema='holdspace'")}
        assert {*schema.TABLES, "rooms", "schema_version"} <= tables
        cols = [r[0] for r in c.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema='holdspace' "
            "AND table_name='readings' ORDER BY ordinal_position")]
        assert cols[0] == "room" and cols[1:] == [n for n, _ in schema.COLUMNS["readings"]]
        pk = c.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE conrelid='holdspace.readings'::regclass AND contype='p'").fetchone()
        assert pk == ("PRIMARY KEY (room, id)",)


def test_a_newer_server_schema_is_refused(pg: Cluster, pg_db: str) -> None:
    schema.init(pg.url(pg_db))
    with psycopg.connect(pg.url(pg_db), autocommit=True) as c:
        c.execute("INSERT INTO holdspace.schema_version (version) VALUES (%s)",
                  (schema.SCHEMA_VERSION + 1,))
    with pytest.raises(schema.CentralError, match="newer"):
        schema.init(pg.url(pg_db))


def _session(room: str, sid: int) -> tuple[str, int, float, str]:
    return (room, sid, 1000.0 + sid, "active")


INSERT_SESSION = "INSERT INTO holdspace.sessions (room, id, started, state) VALUES (%s,%s,%s,%s)"


def test_a_room_adds_and_reads_only_its_own_rows(pg: Cluster, pg_db: str) -> None:
    schema.init(pg.url(pg_db), [("Room A", "pw-a"), ("Room B", "pw-b")], station_password="st")
    a_url = pg.url(pg_db, login_for("Room A"), "pw-a")
    b_url = pg.url(pg_db, login_for("Room B"), "pw-b")
    with psycopg.connect(a_url, autocommit=True) as a:
        a.execute(INSERT_SESSION, _session("Room A", 1))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            a.execute(INSERT_SESSION, _session("Room B", 2))
        # its own rows only: ON CONFLICT DO NOTHING works on its own, sees none of B's
        a.execute(INSERT_SESSION + " ON CONFLICT DO NOTHING", _session("Room A", 1))
    with psycopg.connect(b_url, autocommit=True) as b:
        b.execute(INSERT_SESSION, _session("Room B", 1))
        assert b.execute("SELECT room, id FROM holdspace.sessions").fetchall() == [("Room B", 1)]
        # B cannot change A's session, nor move its own to A, nor touch columns it never updates
        b.execute("UPDATE holdspace.sessions SET state='ended' WHERE room='Room A'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            b.execute("UPDATE holdspace.sessions SET state='ended', room='Room A'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            b.execute("UPDATE holdspace.sessions SET started=0")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            b.execute("DELETE FROM holdspace.sessions")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            b.execute("SELECT * FROM holdspace.room_logins")
    with psycopg.connect(a_url, autocommit=True) as a:
        assert a.execute("SELECT room, id, state FROM holdspace.sessions").fetchall() == [
            ("Room A", 1, "active")]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            a.execute("INSERT INTO holdspace.rooms (room) VALUES ('Room B')")
    station = pg.url(pg_db, schema.STATION_ROLE, "st")
    with psycopg.connect(station, autocommit=True) as s:
        rows = s.execute("SELECT room, id FROM holdspace.sessions ORDER BY room").fetchall()
        assert rows == [("Room A", 1), ("Room B", 1)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            s.execute(INSERT_SESSION, _session("Room C", 1))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            s.execute("UPDATE holdspace.sessions SET state='ended'")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(pg.url(pg_db, login_for("Room A"), "wrong"))


def test_one_notification_per_statement_and_room(pg: Cluster, pg_db: str) -> None:
    schema.init(pg.url(pg_db), [("Room A", "pw-a")])
    with psycopg.connect(pg.url(pg_db), autocommit=True) as listener, \
            psycopg.connect(pg.url(pg_db, login_for("Room A"), "pw-a"), autocommit=True) as a:
        listener.execute(f"LISTEN {schema.CHANNEL}")
        with a.cursor() as cur:
            cur.executemany(INSERT_SESSION, [_session("Room A", 1)])
            a.execute("INSERT INTO holdspace.readings (room, id, session_id, t, source, code, "
                      "quality) SELECT 'Room A', g, 1, g, 'sim', 1, 0 "
                      "FROM generate_series(1, 500) g")
        got = [json.loads(n.payload) for n in listener.notifies(timeout=2, stop_after=3)]
    assert got == [{"room": "Room A", "table": "sessions"},
                   {"room": "Room A", "table": "readings"}]


def test_central_init_on_the_command_line(pg: Cluster, pg_db: str) -> None:
    url = pg.url(pg_db)
    r = subprocess.run([*HS, "central", "init", "--pg", url, "--room", "Room 3",
                        "--room-password", "s3cret-pw"], capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert f"schema brought from version 0 to {schema.SCHEMA_VERSION}" in r.stdout
    assert "holdspace_room_room_3 with its password" in r.stdout
    assert SUPERPASS not in r.stdout + r.stderr and "s3cret-pw" not in r.stdout + r.stderr
    assert shown(url) in r.stdout
    with psycopg.connect(pg.url(pg_db, "holdspace_room_room_3", "s3cret-pw")) as c:
        assert c.execute("SELECT holdspace.room_of(current_user)").fetchone() == ("Room 3",)
    bad = subprocess.run([*HS, "central", "init", "--pg", "mysql://x/y"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "postgresql://" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    down = subprocess.run([*HS, "central", "init", "--pg",
                           f"postgresql://postgres:{SUPERPASS}@127.0.0.1:1/x"],
                          capture_output=True, text=True, timeout=60)
    assert down.returncode == 2 and "Cannot reach the central server" in down.stderr
    assert SUPERPASS not in down.stderr and "Traceback" not in down.stderr
