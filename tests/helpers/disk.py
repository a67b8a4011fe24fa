"""A slow or locked-out database, made with the real writer and a real second connection.

`stalled`: the writer thread is stuck in a call that waits, as a disk stuck in fsync holds
it; everything queued meanwhile is written in order when it lets go. `locked_out`: another
connection holds the file's write lock (another program), so the writer's next writes are
refused by SQLite after a short busy wait (SQLITE_BUSY), until the block ends."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from console.store.db import BUSY_TIMEOUT_MS, connect_file
from console.store.writer import StoreWriter


@contextmanager
def stalled(writer: StoreWriter) -> Iterator[None]:
    """The writer thread is stuck until the block ends (then it carries on in order)."""
    entered, release = threading.Event(), threading.Event()

    def hold(_c: object) -> None:
        entered.set()
        release.wait(30)

    writer.call(hold)
    assert entered.wait(10), "the writer took the hold"
    try:
        yield
    finally:
        release.set()


@contextmanager
def locked_out(writer: StoreWriter, db_path: Path, busy_ms: int = 200) -> Iterator[None]:
    """Another connection holds the write lock: the writer's writes fail (after `busy_ms`)
    until the block ends. The writer waits `busy_ms` instead of its usual 10 s meanwhile."""
    writer.call(lambda c: c.execute(f"PRAGMA busy_timeout={busy_ms}")).result(10)
    other = connect_file(db_path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # the write lock, as another program would take it
        try:
            yield
        finally:
            other.execute("ROLLBACK")
    finally:
        other.close()
        writer.call(lambda c: c.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")).result(10)
