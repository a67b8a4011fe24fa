"""Backups of the database file: made online, verified, thinned, and restored.

A backup is made with SQLite's online backup API (`Connection.backup`) from a
read-only connection of its own, in one step: the copy is one consistent moment of the file,
and with the write-ahead log the writer thread is never blocked meanwhile (a copy made in
several steps would start over each time the writer commits). The copy is written under a
temporary name readable by the owner only (0600), switched from WAL to a plain journal so it
is one self-contained file, closed, checked with `PRAGMA integrity_check` from a fresh
connection, and only then given its final name; a copy that fails the check never appears.

Names say whose copy it is and when: `<db stem>-<host>-<YYYYmmdd-HHMMSS>-<why>.db`, so several
workstations can share one backup folder without thinning each other's copies.

Thinning (`to_keep`), after each new verified copy, per database and workstation in a folder:
the 3 newest, plus the newest of each of the last 7 days that have a backup, of the last 4
weeks and of the last 12 months. Days without a backup (a closed clinic) do not use up a
place. The record is append-only, so a newer copy holds everything an older one did; older
copies are there for a file damaged or changed unnoticed. Files with other names are never
touched.

Backups are encrypted like the database, with the workstation's key: a copy of an encrypted
file is made with the backup API between two keyed connections (a page-for-page copy, still
one step); a plain source (an old plain backup being restored) is written encrypted with
SQLCipher's `sqlcipher_export`. A backup from another workstation does not open here until
`holdspace recover --db BACKUP` re-encrypts it with its recovery key.

Restoring (`restore`) checks the backup first, refuses a file a running Holdspace writes, and
keeps the replaced database (with its -wal) beside it under a `.replaced-<time>` name.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from console.store import engine, owner
from console.store.db import (
    SCHEMA_VERSION,
    DamagedStore,
    KeyMismatch,
    StoreError,
    explain,
    file_key,
    open_readonly,
)
from console.store.engine import Connection
from console.store.health import Health, check_database

KEEP_LAST = 3
KEEP_DAILY = 7
KEEP_WEEKLY = 4
KEEP_MONTHLY = 12
STAMP = "%Y%m%d-%H%M%S"
WHY = ("session", "daily", "manual", "restore", "encrypt")
PARTIAL = ".partial"
STALE_PARTIAL_S = 3600  # a half-made copy older than this was left by a crash


class BackupError(StoreError):
    """A backup or a restore that could not be done, in one sentence for the person at hand."""


class SourceDamaged(BackupError):
    """The database itself is damaged: no copy of it is worth keeping."""


class FolderMissing(BackupError):
    """The clinic's chosen folder is not there (the disk is unplugged, the share not mounted)."""


@dataclass(frozen=True, slots=True)
class BackupFile:
    path: Path
    t: float  # when it was made (from its name; epoch seconds)
    why: str


@dataclass
class Copy:
    """One verified backup file."""

    path: Path
    size: int
    counts: dict[str, int]
    seconds: float  # how long copying and checking took
    thinned: list[Path] = field(default_factory=list)  # older copies removed after it


def backups_dir(db_path: Path) -> Path:
    """Backups kept on the workstation: `backups/` beside the database (the data folder)."""
    return db_path.expanduser().absolute().parent / "backups"


def host_name() -> str:
    name = re.sub(r"[^A-Za-z0-9_]+", "_", socket.gethostname().split(".")[0]).strip("_")
    return name or "workstation"


def _prefix(db_path: Path, host: str | None = None) -> str:
    return f"{db_path.stem}-{host or host_name()}-"


_NAME = re.compile(r"^(?P<stamp>\d{8}-\d{6})-(?P<why>[a-z]+)(?:-(?P<n>\d+))?\.db$")


def list_backups(folder: Path, db_path: Path, host: str | None = None) -> list[BackupFile]:
    """This workstation's backups of this database in `folder`, newest first."""
    prefix = _prefix(db_path, host)
    out = []
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    for name in names:
        if not name.startswith(prefix):
            continue
        m = _NAME.match(name[len(prefix):])
        if m is None or m["why"] not in WHY:
            continue
        try:
            t = time.mktime(time.strptime(m["stamp"], STAMP))
        except (ValueError, OverflowError):
            continue
        out.append(BackupFile(folder / name, t + int(m["n"] or 0) * 1e-3, m["why"]))
    return sorted(out, key=lambda b: b.t, reverse=True)


def to_keep(backups: Iterable[BackupFile], last: int = KEEP_LAST, daily: int = KEEP_DAILY,
            weekly: int = KEEP_WEEKLY, monthly: int = KEEP_MONTHLY) -> set[Path]:
    """Which backups the thinning rule keeps (see the module's docstring)."""
    ordered = sorted(backups, key=lambda b: b.t, reverse=True)
    keep = {b.path for b in ordered[:last]}
    periods: list[tuple[int, Callable[[time.struct_time], tuple[int, ...]]]] = [
        (daily, lambda s: (s.tm_year, s.tm_yday)),
        (weekly, lambda s: _iso_week(s)),
        (monthly, lambda s: (s.tm_year, s.tm_mon)),
    ]
    for n, period in periods:
        seen: set[tuple[int, ...]] = set()
        for b in ordered:
            key = period(time.localtime(b.t))
            if key in seen:
                continue
            if len(seen) >= n:
                break
            seen.add(key)
            keep.add(b.path)
    return keep


def _iso_week(s: time.struct_time) -> tuple[int, ...]:
    import datetime

    year, week, _ = datetime.date(s.tm_year, s.tm_mon, s.tm_mday).isocalendar()
    return (year, week)


def thin(folder: Path, db_path: Path, now: float | None = None) -> list[Path]:
    """Remove this workstation's older backups of this database that the rule does not keep,
    and half-made copies left by a crash. Returns what was removed."""
    backups = list_backups(folder, db_path)
    keep = to_keep(backups)
    removed = []
    for b in backups:
        if b.path not in keep:
            with contextlib.suppress(OSError):
                b.path.unlink()
                removed.append(b.path)
    now = time.time() if now is None else now
    prefix = "." + _prefix(db_path)
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            p = folder / name
            if name.startswith(prefix) and name.endswith(PARTIAL):
                with contextlib.suppress(OSError):
                    if now - p.stat().st_mtime > STALE_PARTIAL_S:
                        p.unlink()
    return removed


def _private_file(path: Path) -> None:
    """Create `path` empty, readable and writable by the owner only."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)


def _fsync(path: Path, directory: bool = False) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _source(db_path: Path) -> tuple[Connection, bool]:
    """A read-only connection of our own to copy from (never the writer's), and whether the
    file is encrypted."""
    if not db_path.exists():
        raise BackupError(f"There is no database at {db_path}.")
    key = file_key(db_path)
    try:
        conn = engine.connect(f"{db_path.resolve().as_uri()}?mode=ro", key, uri=True, timeout=10)
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        engine.limit_cache(conn)
        return conn, key is not None
    except engine.Error as e:
        if engine.is_not_a_database(e):
            raise
        return open_readonly(db_path)[0], key is not None  # a read-only folder: as it is


def src_file(conn: Connection) -> str:
    """The file a connection reads (its main database)."""
    for _, name, file in conn.execute("PRAGMA database_list"):
        if name == "main":
            return str(file)
    raise BackupError("the backup source has no file")


def _copy_into(src: Connection, tmp: Path, encrypted: bool = True) -> None:
    """Copy `src` into the new file `tmp`, encrypted with the workstation's key."""
    key = file_key(tmp, create=True)  # tmp is new and empty: the workstation's key
    assert key is not None
    if not encrypted:  # a plain source: the backup API cannot change the encryption
        from console.store.encryption import export_encrypted

        export_encrypted(Path(src_file(src)), tmp, key)
        return
    dst = engine.connect(tmp, key)
    try:
        engine.limit_cache(dst)
        src.backup(dst)  # one step: one consistent moment, never restarted by the writer
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
    finally:
        dst.close()


def verify(path: Path) -> Health:
    """The backup's own integrity check and counts; raises BackupError when it is not a whole
    Holdspace database this program can use."""
    if not path.is_file():
        raise BackupError(f"There is no backup file at {path}.")
    try:
        h = check_database(path)
    except KeyMismatch:
        raise BackupError(f"The backup {path} cannot be opened with this workstation's key — it "
                          f"may come from another workstation (`holdspace recover --db {path}` "
                          "re-encrypts it for this one with its recovery key), or it is damaged "
                          "or is not a Holdspace backup — it cannot be used as it is.") from None
    except DamagedStore:
        raise BackupError(f"The backup {path} is damaged or is not a Holdspace backup — it "
                          "cannot be used.") from None
    except StoreError as e:
        raise BackupError(f"The backup {path} cannot be used: {e}") from None
    if not h.ok:
        raise BackupError(f"The backup {path} is damaged ({h.problems[0]}) — it cannot be used.")
    if h.version > SCHEMA_VERSION:
        raise BackupError(f"The backup {path} was made by a newer Holdspace (schema {h.version}) "
                          "— update Holdspace to restore it.")
    return h


def _name(folder: Path, db_path: Path, why: str, now: float) -> Path:
    base = f"{_prefix(db_path)}{time.strftime(STAMP, time.localtime(now))}-{why}"
    path = folder / f"{base}.db"
    n = 1
    while path.exists() or (folder / f".{path.name}{PARTIAL}").exists():
        path = folder / f"{base}-{n}.db"
        n += 1
    return path


def check_folder(folder: Path, data_backups: Path | None = None) -> None:
    """Is the chosen folder there and writable? Raises FolderMissing / BackupError in words
    a nurse can act on."""
    kept = f"; a copy was kept in {data_backups}" if data_backups else ""
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "is not there"
        raise FolderMissing(f"The backup folder {folder} {what} — plug in the backup disk"
                            f"{kept}.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BackupError(f"Holdspace may not write in the backup folder {folder} (permission "
                          f"denied){kept}.")


def make_backup(db_path: Path, folder: Path, why: str = "manual", now: float | None = None,
                *, create: bool = False) -> Copy:
    """Copy the database into `folder`, verify the copy, then thin the folder.

    `create` makes the folder (0700) if it is missing: for the workstation's own backups; a
    clinic-chosen folder must already be there (an unplugged disk is not silently replaced by
    an empty folder on the workstation).
    """
    if why not in WHY:
        raise ValueError(f"unknown backup reason {why!r}")
    db_path = db_path.expanduser()
    started = time.monotonic()
    now = time.time() if now is None else now
    if create and not folder.exists():
        try:
            folder.mkdir(mode=0o700, parents=True)
        except OSError as e:
            raise BackupError(f"Cannot make the backup folder {folder} ({e.strerror}).") from None
    if create:
        with contextlib.suppress(OSError):
            os.chmod(folder, 0o700)
    check_folder(folder)
    final = _name(folder, db_path, why, now)
    tmp = folder / f".{final.name}{PARTIAL}"
    try:
        src, encrypted = _source(db_path)
    except engine.Error as e:
        raise explain(db_path, e) from None
    try:
        try:
            _private_file(tmp)
            _copy_into(src, tmp, encrypted)
        except OSError as e:
            raise BackupError(f"Cannot write the backup in {folder} ({e.strerror or e}).") from None
        except engine.Error as e:
            if getattr(e, "sqlite_errorname", "").startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
                raise _failed_copy(db_path, folder) from None
            raise BackupError(f"The backup to {folder} failed: {' '.join(str(e).split())}."
                              ) from None
        finally:
            src.close()
        try:
            h = verify(tmp)
        except BackupError:
            raise _failed_copy(db_path, folder) from None
        with contextlib.suppress(OSError):
            os.chmod(tmp, 0o600)
        _fsync(tmp)
        os.replace(tmp, final)
        _fsync(folder, directory=True)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    copy = Copy(final, final.stat().st_size, dict(h.counts), time.monotonic() - started)
    copy.thinned = thin(folder, db_path, now)
    return copy


def _failed_copy(db_path: Path, folder: Path) -> BackupError:
    """Why a copy failed its check: the database itself, or the disk the copy went to."""
    try:
        damaged = not check_database(db_path).ok
    except StoreError:
        damaged = True
    if damaged:
        return SourceDamaged(f"The database {db_path} is damaged, so no backup was made (a damaged "
                           f"copy would not help) — `holdspace check --db {db_path}` lists the "
                           "problems.")
    return BackupError(f"The copy written to {folder} failed its check (that disk may be "
                       "failing), so it was removed; no backup was made there.")


def newest_good(db_path: Path, folders: Iterable[Path]) -> BackupFile | None:
    """The newest backup of this database (this workstation's) that passes its check."""
    found: list[BackupFile] = []
    for f in folders:
        found += list_backups(f.expanduser(), db_path)
    for b in sorted(found, key=lambda b: b.t, reverse=True):
        try:
            verify(b.path)
        except BackupError:
            continue
        return b
    return None


@dataclass
class Restored:
    db_path: Path
    source: Path
    counts: dict[str, int]
    kept_aside: Path | None  # the replaced database, or None when there was none


def _open_sessions(db_path: Path) -> list[str]:
    """The sessions of the file about to be replaced that are not closed ("#3 started …"), or
    [] when it cannot be read (a damaged file is what a restore is for)."""
    try:
        conn, _ = open_readonly(db_path)
    except StoreError:
        return []
    try:
        rows = conn.execute(
            "SELECT id, started FROM sessions WHERE state = 'active' OR "
            "(state = 'interrupted' AND ended IS NULL) ORDER BY id").fetchall()
    except engine.Error:
        return []
    finally:
        conn.close()
    return [f"#{sid} started {time.strftime('%Y-%m-%d %H:%M', time.localtime(t))}"
            for sid, t in rows]


def _companions(p: Path) -> list[tuple[Path, str]]:
    """The database and what SQLite keeps beside it, as (path, suffix after the name)."""
    return [(p, ""), (p.with_name(p.name + "-wal"), "-wal"), (p.with_name(p.name + "-shm"), "-shm"),
            (owner.owners_dir(p), ".owners")]


def restore(backup: Path, db_path: Path, *, force: bool = False,
            now: float | None = None) -> Restored:
    """Put a verified backup in the place of `db_path`, keeping the replaced file aside.

    Refused when a running Holdspace writes `db_path`, and (unless `force`) when it holds a
    session that is not closed. Nothing is changed before the backup has passed its check.
    """
    backup, db_path = backup.expanduser(), db_path.expanduser()
    try:
        h = verify(backup)
    except BackupError as e:
        raise BackupError(f"{e} Nothing was restored; {db_path} is as it was.") from None
    if backup.resolve() == (db_path.resolve() if db_path.exists() else None):
        raise BackupError(f"{backup} is the database itself — choose a backup file.")
    if db_path.is_dir():
        raise BackupError(f"{db_path} is a folder, not a database file.")
    folder = db_path.parent
    if not folder.is_dir():
        raise BackupError(f"There is no folder {folder} to restore the database into.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BackupError(f"Cannot write in {folder} (permission denied): nothing was restored.")
    exists = db_path.exists()
    if exists and owner.in_use(db_path):
        raise BackupError(f"Holdspace is using {db_path} right now — close it (and any "
                          "`holdspace record`) first; nothing was restored.")
    if exists and not force:
        unclosed = _open_sessions(db_path)
        if unclosed:
            raise BackupError(
                f"{db_path} has a session that is not closed ({', '.join(unclosed)}) — end it "
                "in Holdspace first, or add --force to replace it anyway (it is kept aside); "
                "nothing was restored.")
    now = time.time() if now is None else now
    stamp = time.strftime(STAMP, time.localtime(now))
    tmp = folder / f".{db_path.name}.restoring{PARTIAL}"
    with contextlib.suppress(OSError):
        tmp.unlink()
    try:
        _private_file(tmp)
        src = open_readonly(backup)[0]
        try:
            _copy_into(src, tmp, engine.file_kind(backup) != "plain")
        finally:
            src.close()
        verify(tmp)
        with contextlib.suppress(OSError):
            os.chmod(tmp, 0o600)
        _fsync(tmp)
    except (OSError, engine.Error) as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise BackupError(f"Cannot write the restored database in {folder} ({e}); nothing was "
                          "restored.") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    aside = _set_aside(db_path, stamp) if exists else None
    try:
        os.replace(tmp, db_path)
    except OSError as e:
        if aside is not None:
            _put_back(aside, db_path)
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise BackupError(f"Cannot put the backup in place of {db_path} ({e.strerror}); the "
                          "database was left as it was.") from None
    _fsync(folder, directory=True)
    return Restored(db_path, backup, dict(h.counts), aside)


def _set_aside(db_path: Path, stamp: str) -> Path:
    aside = db_path.with_name(f"{db_path.stem}.replaced-{stamp}{db_path.suffix}")
    n = 1
    while aside.exists():
        aside = db_path.with_name(f"{db_path.stem}.replaced-{stamp}-{n}{db_path.suffix}")
        n += 1
    moved: list[tuple[Path, Path]] = []
    try:
        for p, suffix in _companions(db_path):
            if p.exists():
                target = aside.with_name(aside.name + suffix)
                os.replace(p, target)
                moved.append((target, p))
    except OSError as e:
        for target, p in reversed(moved):
            with contextlib.suppress(OSError):
                os.replace(target, p)
        raise BackupError(f"Cannot set {db_path} aside ({e.strerror}); nothing was restored."
                          ) from None
    return aside


def _put_back(aside: Path, db_path: Path) -> None:
    for p, suffix in _companions(db_path):
        src = aside.with_name(aside.name + suffix)
        if src.exists():
            with contextlib.suppress(OSError):
                os.replace(src, p)
