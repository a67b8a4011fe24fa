"""Opening the SQLite file: pragmas, integrity, schema version and forward migrations.

The schema version lives in `PRAGMA user_version`. Each entry of MIGRATIONS moves the file
one version forward inside one exclusive transaction; a file newer than this program is
refused rather than half-understood. The `parameters` vocabulary table is brought up to
date with devices.mdc at every open (`sync_parameters`), not by a migration: a migration runs
once, so codes and LOINC corrections added later would never reach an existing file. Errors
a clinician can act on (no such folder, no permission, a damaged file, a file another program
keeps locked, a full disk or a file-size limit) become a `StoreError` with one plain
sentence, found at start rather than minutes later.
Listings and checks open the file read-only (`open_readonly`), so they work on a copy on a
read-only disk and never write beside it.

Every file is encrypted with SQLCipher (console/store/engine.py) under this workstation's key
(console/store/keys.py). A plain file from an older Holdspace is encrypted in place when it is
next opened for writing, an encrypted backup made first (console/store/encryption.py); read-only
openings read a plain file as it is. A file the key does not open is a `KeyMismatch`: it may come
from another workstation, and its recovery key opens it (`holdspace recover`).
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from console.store import chain, drafts, engine, keys, owner
from console.store.engine import Connection
from devices import mdc

if TYPE_CHECKING:  # imported by `migrate` only: most starts have nothing to migrate
    import sqlite_utils


class StoreError(Exception):
    """A problem with the database file, worded for the person at the console."""


class DamagedStore(StoreError):
    """The file is damaged or not a database at all: a backup may be put back in its place."""


class KeyMismatch(DamagedStore):
    """This workstation's key does not open the file: it comes from another workstation, the
    key was lost — or it is damaged or no database (encrypted bytes look like any others)."""


def key_mismatch(p: Path, key: keys.Key | None) -> KeyMismatch:
    if key is None:
        return KeyMismatch(
            f"This record cannot be opened: this workstation has no Holdspace key (its keyring "
            f"entry or key file may have been removed). Open it with its recovery key: "
            f"holdspace recover --db {p} — or the file {p} is damaged or is not a Holdspace "
            "database. Nothing in it was changed.")
    return KeyMismatch(
        f"This record cannot be opened with this workstation's key — it may come from another "
        f"workstation; use its recovery key: holdspace recover --db {p} — or the file {p} is "
        "damaged or is not a Holdspace database. Nothing in it was changed.")


def file_key(p: Path, *, create: bool = False) -> bytes | None:
    """The key to open `p` with: None for a plain file, else this workstation's key (made for a
    new file, or when `create`). Raises KeyMismatch when an encrypted file has no key here."""
    kind = engine.file_kind(p)
    if kind == "plain":
        return None
    try:
        key = keys.workstation_key(create=create or kind == "new")
    except keys.KeyProblem as e:
        raise StoreError(str(e)) from None
    if key is None:
        raise key_mismatch(p, None)
    return key.raw


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


def _parameter_row(p: mdc.Parameter) -> tuple[int, str, str, int, str, str | None]:
    return (p.code, p.name, p.label, p.unit, mdc.unit_text(p.unit), p.loinc)


def sync_parameters(conn: Connection) -> int:
    """Make the `parameters` table hold today's vocabulary; returns the rows written.

    Rows of codes no longer in devices.mdc stay (old readings may use them). Only rows that
    differ are written, so an open with nothing new writes nothing.
    """
    have = {tuple(r) for r in conn.execute(
        "SELECT code, name, label, unit, unit_text, loinc FROM parameters")}
    new = [row for p in mdc.PARAMETERS.values() if (row := _parameter_row(p)) not in have]
    if new:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT OR REPLACE INTO parameters (code, name, label, unit, "
                             "unit_text, loinc) VALUES (?, ?, ?, ?, ?, ?)", new)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(new)


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


def _reading_reason(db: sqlite_utils.Database) -> None:
    """Why a reading is INVALID (out of the plausible range, a wrong unit, the monitor's own
    'no value' marker), so the record says why a number was never shown. NULL for the rest."""
    db.execute("ALTER TABLE readings ADD COLUMN reason TEXT")


def _replication(db: sqlite_utils.Database) -> None:
    """Where this file's copy to the clinic's central server has got to (console/replication).

    `replication_state` holds, per table, the highest id the server has committed, written only
    after the server's COMMIT, so a restart or an outage of any length resumes there and a row
    is never skipped. `replication_status` is one row: this file's identity on the server (a
    random id made here, kept by backups of the file), and the replicator's last word for
    `holdspace sync-status`. Neither holds clinical data; both are rewritten, not appended."""
    db.table("replication_state").create(
        {"tbl": str, "last_id": int, "pushed_at": float},
        pk="tbl",
        not_null={"last_id"},
    )
    db.table("replication_status").create(
        {
            "id": int,  # always 1: one row
            "workstation_id": str,
            "room": str,
            "server": str,  # the server's address without its password
            "connected": int,
            "behind_rows": int,
            "behind_seconds": float,
            "last_error": str,
            "error_since": float,
            "updated": float,
        },
        pk="id",
        not_null={"workstation_id"},
    )
    db.execute("INSERT INTO replication_status (id, workstation_id) VALUES (1, ?)",
               (uuid.uuid4().hex,))


def _hash_chain(db: sqlite_utils.Database) -> None:
    """Tamper evidence (console/store/chain.py): the `chain` table, linked once from the
    file's start over the events, readings and waveforms it already holds."""
    chain.create_tables(db.conn)
    chain.install(db.conn)  # the functions, for the links below; the trigger for what follows
    chain.link_existing(db.conn)


def _staff_accounts(db: sqlite_utils.Database) -> None:
    """Who may use the console: one row per member of staff, with roles and a hashed PIN.

    Not a clinical record (a PIN is reset, an account disabled), so rows may change; what
    changed is kept as `audit.*` events. `pin_hash` holds scrypt's own parameters beside the
    salt and digest (console/core/people/accounts.py), so the cost can be raised later and old
    PINs still check. Names are unique regardless of case: an author is named by them."""
    db.table("staff_accounts").create(
        {
            "id": int,
            "name": str,
            "credentials": str,  # e.g. "RN", "MD", "LMFT"
            "roles": str,  # comma-separated role keys (console/core/people/roles.py)
            "pin_hash": str,
            "active": int,  # 0 = disabled: cannot sign in, stays in old notes
            "failed": int,  # wrong PINs in a row
            "locked_until": float,  # epoch seconds; NULL = not locked out
            "created": float,
            "changed": float,
        },
        pk="id",
        not_null={"name", "roles", "pin_hash", "active", "failed", "created", "changed"},
        defaults={"active": 1, "failed": 0, "credentials": ""},
    )
    db.execute("CREATE UNIQUE INDEX staff_accounts_name ON staff_accounts(name COLLATE NOCASE)")


def _drafts(db: sqlite_utils.Database) -> None:
    """Typed text not saved yet (console/store/drafts.py): kept in this encrypted file so a
    crash loses at most the last second of it. Not part of the record: rewritten and deleted,
    never chained, replicated, reported or exported."""
    drafts.create_table(db.conn)


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _v1, _v2, _quarantine, _reading_reason, _replication, _hash_chain, _staff_accounts,
    _drafts]
SCHEMA_VERSION = len(MIGRATIONS)

# How long a write waits for another connection's transaction once the file is open. Our
# own commits take milliseconds; a program that keeps the file locked is caught at start by
# a probe that waits only LOCK_PROBE_MS, so nobody waits out this timeout at the console.
BUSY_TIMEOUT_MS = 10_000
LOCK_PROBE_MS = 1_000
# At start, a disk with less free space than this is full (an hour of recording is ~3 MB),
# and a file-size limit must leave the file room to grow by a few pages at least.
MIN_FREE_BYTES = 1024 * 1024
MIN_ROOM_BYTES = 16 * 1024


def _connect(path: Path, key: bytes | None, busy_ms: int = BUSY_TIMEOUT_MS) -> Connection:
    conn = engine.connect(path, key, timeout=busy_ms / 1000)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={busy_ms}")
    return conn


def _sqlite_utils() -> ModuleType:
    """sqlite_utils without pandas: it imports pandas when it can (for DataFrames, which the
    migrations never use), and that alone would be ~58 MB resident for the rest of the run."""
    with _IMPORT_LOCK:  # two first migrations at once (a check beside the writer)
        if "sqlite_utils" in sys.modules or "pandas" in sys.modules:
            import sqlite_utils

            return sqlite_utils
        sys.modules["pandas"] = None  # type: ignore[assignment]  # its import fails: skipped
        try:
            import sqlite_utils
        finally:
            sys.modules.pop("pandas", None)
        return sqlite_utils


_IMPORT_LOCK = threading.Lock()


def migrate(conn: Connection, target: int = SCHEMA_VERSION) -> int:
    """Bring the file to `target`; returns the version it had."""
    found: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"This database was written by a newer Holdspace (schema {found}; this program "
            f"understands up to {SCHEMA_VERSION}). Update Holdspace before opening it."
        )
    if found >= target:
        return found
    db = _sqlite_utils().Database(conn)
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



def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def explain(p: Path, e: engine.Error) -> StoreError:
    """One sentence for an SQLite error, by its result code rather than its wording."""
    name = getattr(e, "sqlite_errorname", None) or ""
    if engine.is_not_a_database(e) and engine.file_kind(p) == "encrypted":
        try:
            key = keys.workstation_key(create=False)
        except keys.KeyProblem:
            key = None
        return key_mismatch(p, key)
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in str(e):
        return StoreError(
            f"Another program is using {p} — close it (or the other Holdspace) and start again."
        )
    if name.startswith("SQLITE_FULL"):
        return StoreError(
            f"The disk holding {p} is full, or a file-size limit stops it growing — free some "
            "space (or choose another file with --db) and start again."
        )
    if name.startswith("SQLITE_READONLY"):
        return StoreError(
            f"{p} is read-only (permission denied): Holdspace cannot record into it. "
            "`holdspace sessions` and `holdspace check` can still read it."
        )
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return DamagedStore(
            f"The file {p} is damaged or is not a Holdspace database ({_one_line(e)}). Keep it "
            "for support and start Holdspace with another file (--db)."
        )
    if name.startswith("SQLITE_IOERR"):
        return StoreError(f"The disk refused to read or write {p} ({_one_line(e)}).")
    return StoreError(f"Cannot open the database {p}: {_one_line(e)}.")


def _file_size_limit() -> int | None:
    """The process's file-size limit in bytes (`ulimit -f`), or None when there is none."""
    try:
        import resource
    except ImportError:  # Windows has no such limit
        return None
    soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    return None if soft == resource.RLIM_INFINITY else int(soft)


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def check_room(p: Path) -> None:
    """Refuse to start on a disk that is full or a file that a size limit keeps from growing."""
    free = shutil.disk_usage(p.parent).free
    if free < MIN_FREE_BYTES:
        raise StoreError(
            f"The disk holding {p} is full ({free // 1024} KB free) — free some space (or "
            "choose another file with --db) and start again."
        )
    limit = _file_size_limit()
    if limit is not None:
        used = max(_size(p), _size(p.with_name(p.name + "-wal")))
        if limit - used < MIN_ROOM_BYTES:
            raise StoreError(
                f"A file-size limit (ulimit -f, {limit // 1024} KB) stops {p} from growing — "
                "raise it (`ulimit -f unlimited`) and start again."
            )


def _damage(conn: Connection, p: Path) -> None:
    problems = [line for (row,) in conn.execute("PRAGMA quick_check") for line in
                str(row).splitlines() if line and not line.startswith("*** in database")]
    if problems != ["ok"]:
        n = len(problems)
        raise DamagedStore(
            f"The database {p} is damaged ({n} problem{'s' if n != 1 else ''} found). Keep the "
            f"file for support (`holdspace check --db {p}` lists them) and start Holdspace with "
            "another file (--db)."
        )


def open_db(path: str | os.PathLike[str], *, create: bool = True) -> Connection:
    """Open (and if needed create and migrate) the Holdspace database at `path` for writing.

    Everything that would stop recording later is found now: a lock held by another program
    (probed with a write transaction that waits LOCK_PROBE_MS, not SQLite's long busy
    timeout), a read-only file, damage, a full disk or a file-size limit. Damage is looked for
    (`PRAGMA quick_check`, seconds on a long day's file) unless the file was closed properly
    and has not changed since (console.store.owner.closed_cleanly).
    """
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
    check_room(p)
    clean = owner.closed_cleanly(p)
    owner.forget_closed_cleanly(p)  # open for writing now: not clean until closed properly
    if not p.exists():  # patient data: readable by the owner only (SQLite gives -wal the same)
        try:
            os.close(os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            pass
        except OSError as e:
            raise StoreError(f"Cannot create the database {p}: {e.strerror}.") from None
    if engine.file_kind(p) == "plain":  # from an older Holdspace: encrypt it, backup first
        from console.store.encryption import encrypt_in_place

        encrypt_in_place(p)
    key = file_key(p, create=False)  # a new file gets a key; an existing one needs its own
    try:
        conn = _connect(p, key, LOCK_PROBE_MS)
    except engine.Error as e:
        raise explain(p, e) from None
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        if not clean:
            _damage(conn, p)
        conn.execute("BEGIN IMMEDIATE")  # the lock probe: can this file be written now?
        conn.execute("ROLLBACK")
        chain.install(conn)  # before migrating: events a later migration writes are linked
        migrate(conn)
        chain.install(conn)
        sync_parameters(conn)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        engine.limit_cache(conn)
    except engine.Error as e:
        conn.close()
        raise explain(p, e) from None
    except BaseException:
        conn.close()
        raise
    return conn


def open_reader(path: str | os.PathLike[str]) -> Connection:
    """A second connection for reading while the writer thread writes (WAL allows both)."""
    p = Path(path)
    conn = _connect(p, file_key(p, create=False))
    try:
        conn.execute("PRAGMA query_only=ON")
        engine.limit_cache(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def open_readonly(
    path: str | os.PathLike[str], *, known_schema: bool = True
) -> tuple[Connection, str | None]:
    """Open the file for reading only, never writing to it or beside it.

    With a -wal file present (Holdspace running, or stopped by a crash) SQLite reads it
    read-only; where even that cannot be done (a read-only folder without the -shm file),
    the main file alone is read and the returned note says the last moments may be missing.
    Without a -wal file the file is opened as immutable, so no -wal or -shm is created.
    `known_schema` refuses a file that is not a Holdspace database or is from a newer one.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        raise StoreError(f"{p} is a folder, not a database file.")
    if not p.exists():
        raise StoreError(f"There is no database at {p}.")
    uri = p.resolve().as_uri()
    note = None
    key = file_key(p, create=False)
    try:
        if _size(p.with_name(p.name + "-wal")) > 0:
            try:
                conn = _ro_connect(f"{uri}?mode=ro", key)
            except engine.OperationalError as e:
                if engine.is_not_a_database(e):
                    raise
                conn = _ro_connect(f"{uri}?mode=ro&immutable=1", key)
                note = (f"the newest changes to {p.name} (in {p.name}-wal) could not be read "
                        "in this read-only folder; the last moments may be missing")
        else:
            conn = _ro_connect(f"{uri}?mode=ro&immutable=1", key)
    except engine.Error as e:
        raise explain(p, e) from None
    if known_schema:
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            has_sessions = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='sessions'").fetchone()
        except engine.Error as e:
            conn.close()
            raise explain(p, e) from None
        if version > SCHEMA_VERSION:
            conn.close()
            raise StoreError(
                f"{p} was written by a newer Holdspace (schema {version}; this program "
                f"understands up to {SCHEMA_VERSION}). Update Holdspace to read it."
            )
        if not has_sessions:
            conn.close()
            raise not_holdspace(p, note)
    return conn, note


def not_holdspace(p: Path, note: str | None) -> StoreError:
    if note:  # the tables are there, but only in the -wal file that could not be read
        return StoreError(
            f"Cannot read {p}: its contents are still in {p.name}-wal, which cannot be read in "
            f"this read-only folder — copy {p.name} and {p.name}-wal to a writable folder and "
            "try again."
        )
    return StoreError(f"{p} is not a Holdspace database (it holds no sessions table).")


def connect_file(path: str | os.PathLike[str], *, uri: bool = False, timeout: float = 5.0,
                 isolation_level: str | None = "", check_same_thread: bool = True) -> Connection:
    """A bare connection to a Holdspace file with the key it needs, for tools (and tests)
    that read or change rows directly: like `sqlite3.connect`, with the same defaults. With
    `uri`, `path` is a `file:` URI (e.g. `file:/x/holdspace.db?mode=ro`)."""
    text = os.fspath(path)
    p = Path(text.removeprefix("file:").split("?", 1)[0]) if uri else Path(text)
    return engine.connect(text, file_key(p), uri=uri, timeout=timeout,
                          isolation_level=isolation_level, check_same_thread=check_same_thread)


def _ro_connect(uri: str, key: bytes | None) -> Connection:
    conn = engine.connect(uri, key, uri=True, timeout=LOCK_PROBE_MS / 1000)
    try:
        conn.execute("PRAGMA query_only=ON")
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # opens the file now
        engine.limit_cache(conn)
    except engine.Error:
        conn.close()
        raise
    return conn
