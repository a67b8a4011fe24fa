"""Encrypting a plain database from an older Holdspace, and reopening one with its recovery key.

Encrypting in place (`encrypt_in_place`), when a plain file is next opened for recording:
1. the plain file is checked (a damaged one is left as it is, for the usual damage message)
   and taken out of WAL mode, which needs it to be used by nobody else;
2. an encrypted copy is written beside it under a temporary name (0600) with SQLCipher's
   `sqlcipher_export`, and checked: integrity, the schema version, the same row counts;
3. that copy is first kept as a verified backup in `backups/` (`…-encrypt.db`) — the
   backup made before anything is replaced, itself encrypted;
4. only then does the copy take the plain file's place (one rename), and the workstation's
   own plain backups of it are encrypted the same way.
No plain copy of the record is left behind by Holdspace. (Blocks of the old plain file may
still be on the disk until overwritten: the README says what full-disk encryption adds.)

Recovering (`recover`): the recovery key opens the file; if this workstation has no key any
more, the recovery key becomes its key again (every record and backup made with it opens);
if it has another key (a record moved from another workstation), the file is re-encrypted
for this workstation's key.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from console.store import engine, keys, owner
from console.store.db import LOCK_PROBE_MS, DamagedStore, StoreError, explain
from console.store.engine import Connection

COUNTED = ("patients", "sessions", "readings", "waveforms", "events", "quarantine")


def _counts(conn: Connection) -> dict[str, int]:
    tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    return {t: int(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])
            for t in COUNTED if t in tables}


def _fsync_dir(d: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(d, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def export_encrypted(src: Path, dst: Path, key: bytes) -> None:
    """Write everything the plain file `src` holds (schema, rows, triggers, user_version) into
    the new encrypted file `dst` (0600). `src` is only read."""
    if not dst.exists():
        os.close(os.open(dst, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    conn = engine.connect(dst, key, timeout=LOCK_PROBE_MS / 1000)
    try:
        engine.attach_keyed(conn, src, "plain", None)
        try:
            version = int(conn.execute("PRAGMA plain.user_version").fetchone()[0])
            conn.execute("SELECT sqlcipher_export('main', 'plain')")
            conn.execute(f"PRAGMA main.user_version = {version}")
        finally:
            conn.execute("DETACH DATABASE plain")
    finally:
        conn.close()


def _check_copy(path: Path, key: bytes, want: dict[str, int], version: int) -> None:
    conn = engine.connect(path, key)
    try:
        problems = [str(r) for (r,) in conn.execute("PRAGMA integrity_check")]
        got = _counts(conn)
        v = int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()
    if problems != ["ok"] or got != want or v != version:
        raise StoreError(f"The encrypted copy of {path.name} did not match the original "
                         f"({problems[0] if problems != ['ok'] else 'counts differ'}); the "
                         "original was left as it was.")


def encrypt_file(path: Path, key: bytes) -> None:
    """Replace the plain SQLite file `path` by an encrypted one holding the same, checked
    before the rename. Used for the database (after its backup) and for old plain backups."""
    tmp = path.with_name(f".{path.name}.encrypting.partial")
    with contextlib.suppress(OSError):
        tmp.unlink()
    plain = engine.connect(path, None, timeout=LOCK_PROBE_MS / 1000)
    try:
        plain.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        mode = plain.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        if str(mode).lower() != "delete":
            raise StoreError(f"Another program is using {path} — close it (or the other "
                             "Holdspace) and start again; it was not changed.")
        want = _counts(plain)
        version = int(plain.execute("PRAGMA user_version").fetchone()[0])
    finally:
        plain.close()
    try:
        export_encrypted(path, tmp, key)
        _check_copy(tmp, key, want, version)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    for suffix in ("-wal", "-shm", "-journal"):  # the plain file's, empty after the checkpoint
        with contextlib.suppress(OSError):
            path.with_name(path.name + suffix).unlink()
    _fsync_dir(path.parent)


def _quick_ok(path: Path) -> bool:
    try:
        conn = engine.connect(path, None, timeout=LOCK_PROBE_MS / 1000)
        try:
            return [str(r) for (r,) in conn.execute("PRAGMA quick_check")] == ["ok"]
        finally:
            conn.close()
    except engine.Error:
        return False


def encrypt_in_place(p: Path) -> None:
    """Encrypt the plain database `p` with this workstation's key, an encrypted, verified
    backup made first (see the module's docstring). A damaged file is left as it is."""
    from console.store.backup import BackupError, _name, backups_dir, verify

    if not _quick_ok(p):
        return  # opening it reports the damage (and the newest good backup)
    if owner.in_use(p):
        raise StoreError(f"Holdspace is recording into {p} right now — close it first.")
    try:
        key = keys.workstation_key(create=True)
    except keys.KeyProblem as e:
        raise StoreError(str(e)) from None
    assert key is not None
    folder = backups_dir(p)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        staged = folder / f".{p.stem}.encrypt-staging.partial"
        with contextlib.suppress(OSError):
            staged.unlink()
        src = engine.connect(p, None, timeout=LOCK_PROBE_MS / 1000)
        try:
            want, version = _counts(src), int(src.execute("PRAGMA user_version").fetchone()[0])
        finally:
            src.close()
        export_encrypted(p, staged, key.raw)  # the backup first: encrypted too
        _check_copy(staged, key.raw, want, version)
        backup = _name(folder, p, "encrypt", time.time())
        os.replace(staged, backup)
        verify(backup)
    except engine.Error as e:
        raise explain(p, e) from None
    except (OSError, BackupError) as e:
        raise StoreError(f"{p} is not encrypted yet: the backup made first could not be "
                         f"written in {folder} ({e}). It was left as it was.") from None
    try:
        encrypt_file(p, key.raw)
    except engine.Error as e:
        raise explain(p, e) from None
    n = encrypt_old_backups(folder, p, key.raw)
    more = f" {n} older backup{'s' if n != 1 else ''} of it in {folder} were encrypted too." \
        if n else ""
    keys.tell(f"The record {p} was stored unencrypted (an older Holdspace): it is now "
              f"encrypted with this workstation's key. An encrypted, checked backup was made "
              f"first: {backup}.{more}")


def encrypt_old_backups(folder: Path, db_path: Path, key: bytes) -> int:
    """Encrypt this workstation's plain backups of `db_path` in `folder`; returns how many."""
    from console.store.backup import list_backups

    n = 0
    for b in list_backups(folder, db_path):
        if engine.file_kind(b.path) == "plain" and _quick_ok(b.path):
            try:
                encrypt_file(b.path, key)
                n += 1
            except (engine.Error, StoreError, OSError):
                continue  # kept as it was; the keep rule thins it in time
    return n


def recover(p: Path, raw: bytes) -> str:
    """Open `p` with the key from its recovery key and make it open here again; returns what
    was done, in one sentence. Raises StoreError in words for the person at the keyboard."""
    p = p.expanduser()
    kind = engine.file_kind(p)
    if kind == "new":
        raise StoreError(f"There is no database at {p}.")
    if kind == "plain":
        raise StoreError(f"{p} is not encrypted: it needs no recovery key (Holdspace "
                         "encrypts it when it next records into it).")
    try:
        conn = engine.connect(p, raw)
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except engine.Error as e:
        if engine.is_not_a_database(e):
            raise StoreError(f"That recovery key does not open {p}: it is the key of another "
                             "workstation's records (compare the key id on the paper with "
                             "the other workstations'), or the file is damaged. Nothing was "
                             "changed.") from None
        raise explain(p, e) from None
    try:
        current = keys.workstation_key(create=False)
    except keys.KeyProblem:
        current = None
    if current is not None and current.raw == raw:
        return f"{p} already opens with this workstation's key; nothing to do."
    if current is None:
        kept = keys.keep(raw)
        return (f"This workstation's key was restored from the recovery key and is kept "
                f"{kept.describe()}. {p}, and every record and backup made with that key, "
                "open again.")
    if owner.in_use(p):
        raise StoreError(f"Holdspace is using {p} right now — close it first; nothing was "
                         "changed.")
    conn = engine.connect(p, raw, timeout=LOCK_PROBE_MS / 1000)
    try:
        conn.execute(f"PRAGMA rekey = \"x'{current.raw.hex()}'\"")
    except engine.Error as e:
        raise explain(p, e) from None
    finally:
        conn.close()
    check = engine.connect(p, current.raw)
    try:
        check.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except engine.Error as e:
        raise DamagedStore(f"{p} could not be re-encrypted ({e}).") from None
    finally:
        check.close()
    return (f"{p} came from a workstation with another key: it is now encrypted with this "
            f"workstation's key (id {current.id}), and this workstation's recovery key opens "
            "it from now on. Nothing in it was changed.")
