"""Opening the SQLite file: pragmas, integrity, schema version and forward migrations.

The schema version lives in `PRAGMA user_version`. Each entry of MIGRATIONS moves the file
one version forward inside one exclusive transaction; a file newer than this program is
refused rather than half-understood. Errors a clinician can act on (no such folder, no
permission, a damaged file) become a `StoreError` with a plain sentence.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from devices import mdc


class StoreError(Exception):
    """A problem with the database file, worded for the person at the console."""


def _v1(db: sqlite_utils.Database) -> None:
    db.table("patients").create(
        {
            "id": int,
            "identifier": str,
            "display_name": str,
            "birth_date": str,
            "weight_kg": float,
            "created": float,
        },
        pk="id",
        not_null={"display_name", "created"},
    )
    db.execute("CREATE UNIQUE INDEX patients_identifier ON patients(identifier)")
    db.table("sessions").create(
        {
            "id": int,
            "patient_id": int,
            "started": float,
            "ended": float,
            "state": str,
            "template": str,
            "title": str,
        },
        pk="id",
        not_null={"started", "state"},
        foreign_keys=[("patient_id", "patients", "id")],
    )
    db.table("readings").create(
        {
            "id": int,
            "session_id": int,
            "t": float,
            "source": str,
            "code": int,
            "value": float,
            "unit": int,
            "quality": int,
            "device_time": float,
        },
        pk="id",
        not_null={"session_id", "t", "source", "code", "quality"},
        foreign_keys=[("session_id", "sessions", "id")],
    )
    db.execute("CREATE INDEX readings_session_code_t ON readings(session_id, code, t)")
    db.table("waveforms").create(
        {
            "id": int,
            "session_id": int,
            "source": str,
            "code": int,
            "t0": float,
            "rate_hz": float,
            "n": int,
            "samples": bytes,  # float32 little-endian
            "quality": int,
        },
        pk="id",
        not_null={"session_id", "source", "code", "t0", "rate_hz", "n", "samples"},
        foreign_keys=[("session_id", "sessions", "id")],
    )
    db.execute("CREATE INDEX waveforms_session_code_t0 ON waveforms(session_id, code, t0)")
    db.table("events").create(
        {
            "id": int,
            "uid": str,
            "session_id": int,
            "t": float,
            "recorded": float,
            "kind": str,
            "author": str,
            "payload": str,
            "refers_to": str,
        },
        pk="id",
        not_null={"uid", "t", "recorded", "kind", "payload"},
        foreign_keys=[("session_id", "sessions", "id")],
    )
    db.execute("CREATE UNIQUE INDEX events_uid ON events(uid)")
    db.execute("CREATE INDEX events_session_t ON events(session_id, t)")
    # Clinical records are append-only: corrections are new events that refer to old ones.
    for table in ("events", "readings", "waveforms"):
        db.execute(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} are append-only'); END"
        )
        db.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} are append-only'); END"
        )


def _v2(db: sqlite_utils.Database) -> None:
    """The parameter vocabulary, so exports can map MDC codes to LOINC inside SQL."""
    db.table("parameters").create(
        {"code": int, "name": str, "label": str, "unit": int, "unit_text": str, "loinc": str},
        pk="code",
    )
    db.table("parameters").insert_all(
        {
            "code": p.code,
            "name": p.name,
            "label": p.label,
            "unit": p.unit,
            "unit_text": mdc.unit_text(p.unit),
            "loinc": p.loinc,
        }
        for p in mdc.PARAMETERS.values()
    )


def _quarantine(db: sqlite_utils.Database) -> None:
    """Rows the database refused (a value that cannot be stored, a broken constraint), kept as
    JSON text with the reason so nothing is lost and support can see what happened. No foreign
    key: a session that does not exist may be the very reason a row was refused."""
    db.table("quarantine").create(
        {
            "id": int,
            "t": float,  # when it was set aside
            "what": str,  # reading, waveform, event
            "session_id": int,
            "reason": str,
            "content": str,  # the row as JSON text
        },
        pk="id",
        not_null={"t", "what", "reason", "content"},
    )
    db.execute(
        "CREATE TRIGGER quarantine_no_update BEFORE UPDATE ON quarantine "
        "BEGIN SELECT RAISE(ABORT, 'quarantine is append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER quarantine_no_delete BEFORE DELETE ON quarantine "
        "BEGIN SELECT RAISE(ABORT, 'quarantine is append-only'); END"
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2, _quarantine]
SCHEMA_VERSION = len(MIGRATIONS)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=10.0, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Bring the file to `target`; returns the version it had."""
    db = sqlite_utils.Database(conn)
    found: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"This database was written by a newer Holdspace (schema {found}; this program "
            f"understands up to {SCHEMA_VERSION}). Update Holdspace before opening it."
        )
    for version in range(found, target):
        conn.execute("BEGIN EXCLUSIVE")
        try:
            MIGRATIONS[version](db)
            conn.execute(f"PRAGMA user_version={version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return found


def open_db(path: str | os.PathLike[str], *, create: bool = True) -> sqlite3.Connection:
    """Open (and if needed create and migrate) the Holdspace database at `path`."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise StoreError(f"{p} is a folder, not a database file. Give a file name, e.g. {p}/holdspace.db")
    if not p.exists():
        if not create:
            raise StoreError(f"There is no database at {p}.")
        if not p.parent.exists():
            try:
                p.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(f"Cannot create the folder {p.parent}: {e.strerror}.") from e
        if not os.access(p.parent, os.W_OK):
            raise StoreError(f"Cannot write a database in {p.parent}: permission denied.")
    elif not os.access(p, os.W_OK) or not os.access(p.parent, os.W_OK):
        raise StoreError(
            f"Cannot write to {p}: permission denied. Readings could not be saved there."
        )
    try:
        conn = _connect(p)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        ok = conn.execute("PRAGMA quick_check").fetchone()[0]
        if ok != "ok":
            raise StoreError(
                f"The database {p} is damaged ({ok}). Keep the file for support and start "
                "Holdspace with another file (--db)."
            )
        migrate(conn)
    except sqlite3.OperationalError as e:
        raise StoreError(f"Cannot open the database {p}: {e}.") from e
    except sqlite3.DatabaseError as e:
        raise StoreError(
            f"The file {p} is damaged or is not a Holdspace database ({e}). Keep it for "
            "support and start Holdspace with another file (--db)."
        ) from e
    return conn


def open_reader(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """A second connection for reading while the writer thread writes (WAL allows both)."""
    conn = _connect(Path(path))
    conn.execute("PRAGMA query_only=ON")
    return conn
