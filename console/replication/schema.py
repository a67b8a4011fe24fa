"""The central server's schema and roles, created by `holdspace central init --pg URL`.

Schema `holdspace` mirrors the console's SQLite tables by the same names and columns, each
row with the `room` it came from; primary key (room, id). Migrations are forward-only and
versioned in `holdspace.schema_version`, like console/store/db.py's, each in one transaction
under an advisory lock so two `central init` at once cannot interleave. A server newer than
this program is refused rather than half-understood.

Roles (cluster-wide, so they are created if missing, never dropped):
- `holdspace_central_ro`: the central station; SELECT only, every room.
- `holdspace_room`: a group with the rooms' rights; each room logs in as its own member
  `holdspace_room_<name>` (made by `central init --room NAME`). Row-level security lets a room
  INSERT and SELECT only rows whose `room` is its own, and UPDATE only a session's end and
  state and a patient's weight (the two things the console itself updates), its own only.
Statement-level AFTER triggers `pg_notify('holdspace', {"room": …, "table": …})`, once per
room per statement (not per row), so the station listens instead of polling.

Only the schema's owner (the login running `central init`) bypasses the policies; it should be
the clinic's admin login, never a room's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from console.replication.address import check_room, login_for

SCHEMA = "holdspace"
CHANNEL = "holdspace"
STATION_ROLE = "holdspace_central_ro"
ROOMS_GROUP = "holdspace_room"

# The mirrored tables in the order a room pushes them (a session before its readings).
# Columns as in console/store/db.py, same names and order; SQLite REAL times (epoch seconds)
# stay double precision, BLOB samples become bytea. tests/test_replication_schema.py holds
# these equal to the SQLite file's columns, so a console migration cannot be forgotten here.
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "patients": [("id", "bigint not null"), ("identifier", "text"),
                 ("display_name", "text not null"), ("birth_date", "text"),
                 ("weight_kg", "double precision"), ("created", "double precision not null")],
    "sessions": [("id", "bigint not null"), ("patient_id", "bigint"),
                 ("started", "double precision not null"), ("ended", "double precision"),
                 ("state", "text not null"), ("template", "text"), ("title", "text")],
    "events": [("id", "bigint not null"), ("uid", "text not null"), ("session_id", "bigint"),
               ("t", "double precision not null"), ("recorded", "double precision not null"),
               ("kind", "text not null"), ("author", "text"), ("payload", "text not null"),
               ("refers_to", "text")],
    "readings": [("id", "bigint not null"), ("session_id", "bigint not null"),
                 ("t", "double precision not null"), ("source", "text not null"),
                 ("code", "bigint not null"), ("value", "double precision"), ("unit", "bigint"),
                 ("quality", "integer not null"), ("device_time", "double precision"),
                 ("reason", "text")],
    "waveforms": [("id", "bigint not null"), ("session_id", "bigint not null"),
                  ("source", "text not null"), ("code", "bigint not null"),
                  ("t0", "double precision not null"), ("rate_hz", "double precision not null"),
                  ("n", "integer not null"), ("samples", "bytea not null"),
                  ("quality", "integer")],
}
TABLES = list(COLUMNS)
# What the console updates after insert (console/store/records.py); everything else is
# append-only on the server as in the file.
UPDATABLE: dict[str, list[str]] = {"patients": ["weight_kg"], "sessions": ["ended", "state"]}
# Each table's time column, for "indexed by room and time" and for lag.
TIME_COLUMN = {"patients": "created", "sessions": "started", "events": "t", "readings": "t",
               "waveforms": "t0"}
ROOMS_UPDATABLE = ["workstation_id", "last_push_at", "behind_rows", "behind_seconds",
                   "last_error"]


class CentralError(Exception):
    """A problem with the central server, worded for the clinic's IT or the nurse."""


def _ensure_role(name: str, options: str) -> str:
    return (f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') "
            f"THEN CREATE ROLE {name} {options}; END IF; END $$")


def _v1() -> list[str]:
    s = SCHEMA
    sql = [
        _ensure_role(STATION_ROLE, "NOLOGIN"),
        _ensure_role(ROOMS_GROUP, "NOLOGIN"),
        f"GRANT USAGE ON SCHEMA {s} TO {STATION_ROLE}, {ROOMS_GROUP}",
        # connecting, and the rooms' COPY staging tables, whatever PUBLIC may do there
        f"""DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO {STATION_ROLE}',
                                        current_database());
                     EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO {ROOMS_GROUP}',
                                        current_database()); END $$""",
        f"GRANT SELECT ON {s}.schema_version TO {STATION_ROLE}, {ROOMS_GROUP}",
        # which login is which room; read only through room_of() (SECURITY DEFINER)
        f"CREATE TABLE {s}.room_logins (login name PRIMARY KEY, room text NOT NULL UNIQUE)",
        f"REVOKE ALL ON {s}.room_logins FROM PUBLIC",
        f"""CREATE FUNCTION {s}.room_of(who name) RETURNS text LANGUAGE sql STABLE
            SECURITY DEFINER SET search_path = pg_catalog, {s} AS
            $$ SELECT room FROM {s}.room_logins WHERE login = who $$""",
        f"REVOKE ALL ON FUNCTION {s}.room_of(name) FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION {s}.room_of(name) TO {ROOMS_GROUP}",
        f"""CREATE FUNCTION {s}.notify_rows() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              PERFORM pg_notify('{CHANNEL}', json_build_object('room', r.room,
                                                                'table', TG_TABLE_NAME)::text)
                FROM (SELECT DISTINCT room FROM new_rows) AS r;
              RETURN NULL;
            END $$""",
        f"""CREATE TABLE {s}.rooms (
              room text PRIMARY KEY,
              workstation_id text,
              last_push_at timestamptz,
              behind_rows integer,
              behind_seconds real,
              last_error text)""",
    ]
    for table, cols in COLUMNS.items():
        body = ",\n".join(f"{c} {t}" for c, t in cols)
        sql.append(f"CREATE TABLE {s}.{table} (room text NOT NULL,\n{body},\n"
                   f"PRIMARY KEY (room, id))")
        sql.append(f"CREATE INDEX {table}_room_time ON {s}.{table} "
                   f"(room, {TIME_COLUMN[table]})")
    sql += [
        f"CREATE UNIQUE INDEX events_room_uid ON {s}.events (room, uid)",
        f"CREATE INDEX events_room_session_t ON {s}.events (room, session_id, t)",
        f"CREATE INDEX readings_room_session_code_t ON {s}.readings (room, session_id, code, t)",
        f"CREATE INDEX waveforms_room_session_code_t0 ON {s}.waveforms "
        f"(room, session_id, code, t0)",
        f"CREATE INDEX sessions_room_patient ON {s}.sessions (room, patient_id)",
    ]
    mine = f"room = {s}.room_of(current_user)"
    for table in [*TABLES, "rooms"]:
        q = f"{s}.{table}"
        sql += [
            f"ALTER TABLE {q} ENABLE ROW LEVEL SECURITY",
            f"GRANT SELECT ON {q} TO {STATION_ROLE}",
            f"CREATE POLICY station_reads ON {q} FOR SELECT TO {STATION_ROLE} USING (true)",
            f"GRANT SELECT, INSERT ON {q} TO {ROOMS_GROUP}",
            f"CREATE POLICY room_reads_own ON {q} FOR SELECT TO {ROOMS_GROUP} USING ({mine})",
            f"CREATE POLICY room_adds_own ON {q} FOR INSERT TO {ROOMS_GROUP} WITH CHECK ({mine})",
            f"CREATE TRIGGER {table}_notify_insert AFTER INSERT ON {q} REFERENCING NEW TABLE "
            f"AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {s}.notify_rows()",
        ]
        updatable = ROOMS_UPDATABLE if table == "rooms" else UPDATABLE.get(table)
        if updatable:
            sql += [
                f"GRANT UPDATE ({', '.join(updatable)}) ON {q} TO {ROOMS_GROUP}",
                f"CREATE POLICY room_updates_own ON {q} FOR UPDATE TO {ROOMS_GROUP} "
                f"USING ({mine}) WITH CHECK ({mine})",
                f"CREATE TRIGGER {table}_notify_update AFTER UPDATE ON {q} REFERENCING NEW "
                f"TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {s}.notify_rows()",
            ]
    return sql


# Forward-only: append, never edit a released entry.
MIGRATIONS: list[list[str]] = [_v1()]
SCHEMA_VERSION = len(MIGRATIONS)
LOCK_KEY = 0x486F6C64  # "Hold": serialises migrations and room changes on one server


def connect(url: str, **kw: Any) -> Any:
    """A psycopg connection, with errors as CentralError in words (never the password)."""
    import psycopg

    try:
        return psycopg.connect(url, connect_timeout=kw.pop("connect_timeout", 5), **kw)
    except psycopg.Error as e:
        raise CentralError(f"Cannot reach the central server: {explain(e)}") from None


def explain(e: BaseException) -> str:
    """One line for a server error: its first line only. The DETAIL lines that may follow
    can quote a refused row ("Failing row contains …"): patient data, never shown or logged."""
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def server_version(conn: Any) -> int:
    """The schema version on the server (0 when `central init` never ran there)."""
    row = conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.schema_version",)).fetchone()
    if row[0] is None:
        return 0
    got = conn.execute(f"SELECT COALESCE(MAX(version), 0) FROM {SCHEMA}.schema_version").fetchone()
    return int(got[0])


@dataclass
class InitResult:
    found: int  # the version before
    now: int
    rooms: list[tuple[str, str]]  # (room, login) set up this time


def migrate(conn: Any) -> int:
    """Bring the server's schema to SCHEMA_VERSION; returns the version it had."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_version ("
                     "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
    found = server_version(conn)
    if found > SCHEMA_VERSION:
        raise CentralError(
            f"The central server's schema is newer (version {found}) than this Holdspace "
            f"understands ({SCHEMA_VERSION}) — update Holdspace on this computer first.")
    for version in range(found, SCHEMA_VERSION):
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            if server_version(conn) > version:  # another `central init` did it meanwhile
                continue
            for stmt in MIGRATIONS[version]:
                conn.execute(stmt)
            conn.execute(f"INSERT INTO {SCHEMA}.schema_version (version) VALUES (%s)",
                         (version + 1,))
    return found


def add_room(conn: Any, room: str, password: str | None) -> str:
    """Create (or update the password of) the room's login; returns the login's name.

    Without a password the login has none (for certificate or peer authentication)."""
    from psycopg import sql

    room = check_room(room)
    login = login_for(room)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        other = conn.execute(f"SELECT room FROM {SCHEMA}.room_logins WHERE login = %s",
                             (login,)).fetchone()
        if other is not None and other[0] != room:
            raise CentralError(f"The room name {room!r} is too close to the existing room "
                               f"{other[0]!r} (both would log in as {login}) — choose another.")
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (login,)).fetchone()
        ident = sql.Identifier(login)
        if exists is None:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(ident))
        else:
            conn.execute(sql.SQL("ALTER ROLE {} LOGIN").format(ident))
        if password:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                ident, sql.Literal(_hashed(conn, password, login))))
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(ROOMS_GROUP), ident))
        conn.execute(f"INSERT INTO {SCHEMA}.room_logins (login, room) VALUES (%s, %s) "
                     "ON CONFLICT (login) DO NOTHING", (login, room))
    return login


def station_login(conn: Any, password: str) -> None:
    """Let the central station's role log in, with this password."""
    from psycopg import sql

    with conn.transaction():
        conn.execute(sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(STATION_ROLE), sql.Literal(_hashed(conn, password, STATION_ROLE))))


def _hashed(conn: Any, password: str, login: str) -> str:
    """The password as the server's SCRAM verifier, made here (libpq's PQencryptPasswordConn),
    so the clear text never reaches the server and its statement log."""
    out: bytes = conn.pgconn.encrypt_password(password.encode(), login.encode())
    return out.decode()


def init(url: str, rooms: list[tuple[str, str | None]] | None = None,
         station_password: str | None = None) -> InitResult:
    """`holdspace central init`: migrate, then set up each (room, password) given."""
    import psycopg

    conn = connect(url, autocommit=True)
    try:
        found = migrate(conn)
        done = [(room, add_room(conn, room, pw)) for room, pw in rooms or []]
        if station_password:
            station_login(conn, station_password)
    except psycopg.errors.InsufficientPrivilege as e:
        raise CentralError(
            "The login in this address may not create the schema and roles "
            f"({explain(e)}) — run `central init` with the clinic's admin login "
            "(one with CREATEROLE that owns, or may create in, the database).") from None
    except psycopg.Error as e:
        raise CentralError(f"Setting up the central server failed: {explain(e)}") from None
    finally:
        conn.close()
    return InitResult(found, SCHEMA_VERSION, done)
