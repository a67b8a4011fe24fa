"""`PRAGMA quick_check` (seconds on a long day's file) runs at start only when the file was not
closed properly, or has changed since it was: a console closed normally starts at once; after
a crash, a kill or a power cut, or with a file a failing disk wrote into, damage is looked for
as before (tests/test_backups.py holds the failing-disk case)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from console.store import db as db_module
from console.store import engine, owner, records
from console.store.db import DamagedStore, open_db
from console.store.writer import StoreWriter


def record_a_little(db: Path) -> None:
    w = StoreWriter(str(db))
    w.start()
    w.call(lambda c: records.start_session(c, None, 100.0)).result(10)
    w.flush()
    w.stop()


def damage_keeping_the_time(db: Path) -> None:
    """Garbage in the middle of the file, its size and modification time put back: what only
    the integrity check can find."""
    st = db.stat()
    with db.open("r+b") as f:
        f.seek(st.st_size // 2 // 4096 * 4096)
        f.write(b"\xde\xad\xbe\xef" * 1024)
    os.utime(db, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_a_file_closed_properly_is_not_checked_again(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[Path] = []
    real = db_module._damage

    def damage_check(conn: engine.Connection, p: Path) -> None:  # the real check, counted
        checked.append(p)
        real(conn, p)

    monkeypatch.setattr(db_module, "_damage", damage_check)
    db = tmp_path / "h.db"
    record_a_little(db)  # a new file: checked at its first opening
    assert len(checked) == 1 and owner.closed_cleanly(db)
    conn = open_db(db)
    assert len(checked) == 1, "closed properly and unchanged since: not checked again"
    assert not owner.closed_cleanly(db), "open for writing: not clean until closed"
    conn.close()
    open_db(db).close()
    assert len(checked) == 2, "opened and closed without saying so: checked"


def test_a_file_changed_since_it_was_closed_is_checked(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    record_a_little(db)
    st = db.stat()
    with db.open("r+b") as f:  # a failing disk: the file's time moves
        f.seek(st.st_size // 2 // 4096 * 4096)
        f.write(b"\xde\xad\xbe\xef" * 1024)
    assert not owner.closed_cleanly(db)
    with pytest.raises(DamagedStore):
        open_db(db)


def test_after_a_crash_the_file_is_checked(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    record_a_little(db)
    # Another Holdspace writes the file and dies without closing it.
    script = textwrap.dedent(f"""
        import os
        from console.store import records
        from console.store.writer import StoreWriter
        w = StoreWriter({str(db)!r})
        w.start()
        w.call(lambda c: records.start_session(c, None, 200.0)).result(10)
        w.flush()
        os._exit(0)
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert not owner.closed_cleanly(db)
    # Its -wal is read into the file by the next opening; damage then is found at once.
    conn = open_db(db)
    conn.close()
    damage_keeping_the_time(db)
    assert not owner.closed_cleanly(db), "opened, not closed by a writer that said so"
    with pytest.raises(DamagedStore):
        open_db(db)


def test_a_file_someone_else_writes_is_not_said_to_be_clean(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    w = StoreWriter(str(db))
    w.start()
    try:
        open_db(db).close()
        owner.mark_closed_cleanly(db)  # a start-up check beside a running console
        assert not owner.closed_cleanly(db)
    finally:
        w.stop()
    assert owner.closed_cleanly(db)
