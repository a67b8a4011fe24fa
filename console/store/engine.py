"""The one place the database engine is named: SQLCipher, through `sqlcipher3`.

Every connection Holdspace opens comes from `connect` here, so the rest of the code neither
imports `sqlite3` nor knows whether a file is encrypted. sqlcipher3 is the standard library's
`sqlite3` module built against SQLCipher: the same API, but its own classes — a
`sqlcipher3.OperationalError` is not a `sqlite3.OperationalError` — so the exception classes
and `Row` are re-exported from here and code catches `engine.Error`, never `sqlite3.Error`.
(For the type checker they are the `sqlite3` classes, whose interface they share; sqlcipher3
ships no type information.)

Cipher settings, set explicitly on every keyed connection so a future SQLCipher with other
defaults still reads today's files: AES-256 in CBC mode per 4096-byte page, an HMAC-SHA512
on every page (a changed byte is found, not read), a random per-file salt in the first 16
bytes, no plain-text header. The key is a RAW 256-bit key (`PRAGMA key = "x'…'"`), so no
passphrase derivation (PBKDF2) runs at each open: that is what keeps opening cheap. The HMAC
key is still derived from it with SQLCipher's short fixed derivation.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import sqlcipher3.dbapi2 as _dbapi

if TYPE_CHECKING:
    from sqlite3 import (
        Connection,
        Cursor,
        DatabaseError,
        Error,
        IntegrityError,
        OperationalError,
        ProgrammingError,
        Row,
    )
else:
    from sqlcipher3.dbapi2 import (
        Connection,
        Cursor,
        DatabaseError,
        Error,
        IntegrityError,
        OperationalError,
        ProgrammingError,
        Row,
    )

__all__ = ["CIPHER_SETTINGS", "Connection", "Cursor", "DatabaseError", "Error", "IntegrityError",
           "OperationalError", "ProgrammingError", "Row", "connect", "file_kind", "memory",
           "sqlcipher_version"]

KEY_BYTES = 32  # AES-256
PLAIN_HEADER = b"SQLite format 3\x00"
# Written out, not left to the library's defaults (these are SQLCipher 4's).
CIPHER_SETTINGS = (
    "PRAGMA cipher_page_size = 4096",
    "PRAGMA cipher_hmac_algorithm = HMAC_SHA512",
    "PRAGMA cipher_kdf_algorithm = PBKDF2_HMAC_SHA512",
    "PRAGMA kdf_iter = 256000",  # used only for a passphrase key, never for Holdspace's raw keys
    "PRAGMA cipher_plaintext_header_size = 0",
    "PRAGMA cipher_use_hmac = ON",
)


def _quiet() -> None:
    """SQLCipher writes its own log lines to stderr (a wrong key, a failed page check, with
    page numbers); Holdspace says what happened in its own words, so they are turned off."""
    conn = _dbapi.connect(":memory:")
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
    finally:
        conn.close()


_quiet()


def _key_pragma(key: bytes) -> str:
    if len(key) != KEY_BYTES:
        raise ValueError("a database key is 32 bytes")
    return f"PRAGMA key = \"x'{key.hex()}'\""


def apply_key(conn: Connection, key: bytes) -> None:
    """Key a connection (before its first read): the raw key, then the cipher settings."""
    conn.execute(_key_pragma(key))
    for pragma in CIPHER_SETTINGS:
        conn.execute(pragma)


# Each file connection's page cache, in KiB (SQLite's negative `cache_size`). This build's
# default is 8000 KiB per connection, and a cache fills as the file grows: the writer and the
# reader each took ~2 MB more per session hour for four hours (and a backup's connections as
# much again, kept by the allocator), which looked like a leak of the console. The writer
# appends (it reuses the trees' inner pages, a few dozen) and readers stream a session once
# per code: 1 MiB each holds what is reused; the operating system caches the file itself.
CACHE_KIB = 1024


def limit_cache(conn: Connection) -> None:
    """Bound `conn`'s page cache to CACHE_KIB. SQLite reads the schema for this pragma, so it
    is set once the key is known to fit (a wrong key still shows where it did before)."""
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")


def connect(path: str | os.PathLike[str], key: bytes | None, *, uri: bool = False,
            timeout: float = 5.0, check_same_thread: bool = False,
            isolation_level: str | None = None) -> Connection:
    """A connection to `path`, keyed with `key` (None: a plain SQLite file, for migrating one
    or reading an old backup). Nothing is read yet: a wrong key shows at the first query."""
    conn: Connection = _dbapi.connect(os.fspath(path), uri=uri, timeout=timeout,
                                      check_same_thread=check_same_thread,
                                      isolation_level=isolation_level)
    if key is not None:
        try:
            apply_key(conn, key)
        except BaseException:
            conn.close()
            raise
    return conn


def attach_keyed(conn: Connection, path: Path, schema: str, key: bytes | None) -> None:
    """ATTACH another file to `conn` under `schema` with its own key (None: a plain file)."""
    if not schema.isidentifier():
        raise ValueError(f"bad schema name {schema!r}")
    conn.execute(f"ATTACH DATABASE ? AS {schema} KEY ?",
                 (os.fspath(path), "" if key is None else f"x'{key.hex()}'"))


def memory() -> Connection:
    """An in-memory database (no key), e.g. to build the reference schema."""
    conn: Connection = _dbapi.connect(":memory:", isolation_level=None)
    return conn


def file_kind(path: Path) -> str:
    """'new' (missing or empty), 'plain' (an unencrypted SQLite file) or 'encrypted' (anything
    else: SQLCipher's file starts with its random salt — or the file is not a database)."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(PLAIN_HEADER))
    except FileNotFoundError:
        return "new"
    if not head:
        return "new"
    return "plain" if head == PLAIN_HEADER else "encrypted"


def is_not_a_database(e: BaseException) -> bool:
    """The error SQLCipher gives for a wrong key (and SQLite for a file that is no database)."""
    name = getattr(e, "sqlite_errorname", "") or ""
    return name.startswith("SQLITE_NOTADB") or "file is not a database" in str(e)


def sqlcipher_version() -> str:
    conn = memory()
    try:
        row = conn.execute("PRAGMA cipher_version").fetchone()
        return str(row[0]) if row else "unknown"
    finally:
        conn.close()
