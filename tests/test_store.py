"""The SQLite store: migrations from every version, append-only records, clear errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from console.store import engine, records
from console.store.db import MIGRATIONS, SCHEMA_VERSION, StoreError, connect_file, migrate, open_db
from console.store.events import Event, session_events
from console.store.writer import StoreWriter
from devices import mdc
from devices.reading import Quality, Reading, WaveChunk


@pytest.mark.parametrize("from_version", range(SCHEMA_VERSION))
def test_migrates_forward_from_every_earlier_version(db_path: Path, from_version: int) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None)  # plain, as older Holdspace made it
    migrate(conn, target=from_version)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == from_version
    if from_version >= 1:  # data written under the old schema survives the upgrade
        conn.execute("INSERT INTO sessions (started, state) VALUES (1.0, 'active')")
    conn.close()
    conn = open_db(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    if from_version >= 1:
        assert conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 1
    loinc = conn.execute(
        "SELECT loinc FROM parameters WHERE code=?", (mdc.MDC_PULS_OXIM_SAT_O2,)
    ).fetchone()
    assert loinc == ("59408-5",)


def test_newer_database_is_refused_with_a_clear_message(db_path: Path) -> None:
    open_db(db_path).close()
    conn = connect_file(db_path)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer Holdspace"):
        open_db(db_path)


def test_corrupt_file_is_a_store_error_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="damaged or is not a Holdspace database"):
        open_db(bad)


def test_clinical_records_are_append_only(db_path: Path) -> None:
    conn = open_db(db_path)
    sid = records.start_session(conn, None, 10.0)
    conn.execute(
        "INSERT INTO readings (session_id, t, source, code, value, unit, quality) "
        "VALUES (?, 11.0, 'x', ?, 72, ?, 0)",
        (sid, mdc.MDC_ECG_HEART_RATE, mdc.MDC_DIM_BEAT_PER_MIN),
    )
    for sql in ("UPDATE events SET kind='x'", "DELETE FROM events",
                "UPDATE readings SET value=1", "DELETE FROM readings"):
        with pytest.raises(engine.IntegrityError, match="append-only"):
            conn.execute(sql)
    assert conn.execute("SELECT value FROM readings").fetchone() == (72.0,)


def test_writer_batches_readings_waves_and_events(db_path: Path) -> None:
    w = StoreWriter(str(db_path))
    w.start()
    sid = w.call(lambda c: records.start_session(c, None, 100.0)).result(5)
    readings = [Reading(100.0 + i, "sim", mdc.MDC_ECG_HEART_RATE, 70 + i,
                        mdc.MDC_DIM_BEAT_PER_MIN) for i in range(5)]
    readings.append(Reading(106.0, "sim", mdc.MDC_PULS_OXIM_SAT_O2, float("nan"),
                            mdc.MDC_DIM_PERCENT, Quality.INVALID))
    w.add_samples(sid, readings)
    # 3 s of pleth in 0.2 s chunks, then a 5 s gap (unplug), then 1 s more
    chunks = [WaveChunk(100.0 + i * 0.2, "sim", mdc.MDC_PULS_OXIM_PLETH, 125.0,
                        np.full(25, i, dtype=np.float32)) for i in range(15)]
    chunks += [WaveChunk(108.0 + i * 0.2, "sim", mdc.MDC_PULS_OXIM_PLETH, 125.0,
                         np.full(25, 99, dtype=np.float32)) for i in range(5)]
    w.add_samples(sid, chunks)
    w.append_event(Event("note.test", 101.5, {"summary": "x"}, session_id=sid))
    w.flush()
    w.stop()
    conn = open_db(db_path)
    vals = [r[0] for r in conn.execute("SELECT value FROM readings ORDER BY t")]
    assert vals[:5] == [70, 71, 72, 73, 74] and vals[5] is None
    rows = conn.execute("SELECT t0, n, samples FROM waveforms ORDER BY t0").fetchall()
    assert sum(r[1] for r in rows) == 20 * 25
    assert all(r[1] <= 150 for r in rows), "rows of about a second, never a row per sample"
    assert len(rows) < 20
    # the gap starts a new row: no row spans 103..108
    assert any(abs(r[0] - 108.0) < 1e-6 for r in rows)
    first = np.frombuffer(rows[0][2], dtype="<f4")
    assert first[0] == 0 and first[25] == 1
    kinds = [e.kind for e in session_events(conn, sid)]
    assert kinds == ["session.started", "note.test"]


def test_unwritable_folder_is_a_store_error(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        import os

        if os.access(ro, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        with pytest.raises(StoreError, match="permission denied"):
            open_db(ro / "x.db")
    finally:
        ro.chmod(0o700)


def test_directory_as_database_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a folder"):
        open_db(tmp_path)


def test_an_invalid_reading_is_stored_with_why_it_was_never_shown(db_path: Path) -> None:
    """The plausibility gate's reason reaches the record, not just the log."""
    w = StoreWriter(str(db_path))
    w.start()
    try:
        sid = w.call(lambda c: records.start_session(c, None, 10.0)).result(5)
        hr = mdc.MDC_ECG_HEART_RATE
        w.add_samples(sid, [
            Reading(11.0, "s5", hr, float("nan"), mdc.MDC_DIM_BEAT_PER_MIN, Quality.INVALID,
                    reason="monitor: over range (-32763)"),
            Reading(12.0, "s5", hr, 72.0, mdc.MDC_DIM_BEAT_PER_MIN),
        ])
        assert w.flush()
    finally:
        w.stop()
    conn = open_db(db_path)
    rows = conn.execute("SELECT value, quality, reason FROM readings ORDER BY t").fetchall()
    assert rows == [(None, int(Quality.INVALID), "monitor: over range (-32763)"),
                    (72.0, int(Quality.VALID), None)]
