"""Tamper evidence: the hash chain over events and readings (console/store/chain.py).

Edits are made the way someone outside Holdspace would make them: a bare SQL connection (with
the key, `connect_file`), the append-only triggers dropped first. Each must be found, named and dated.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from console.store import chain, engine, records
from console.store.db import MIGRATIONS, _hash_chain, connect_file, migrate, open_db
from console.store.events import Event
from console.store.health import check_database
from console.store.writer import StoreWriter
from devices import mdc
from devices.reading import Reading, WaveChunk

T0 = 1_780_000_000.0  # a fixed clinical start time


def _session(db_path: Path) -> tuple[int, dict[str, str]]:
    """A short session through the real writer: readings, a wave, a note, a signature."""
    w = StoreWriter(str(db_path), digest_interval=0.0)  # link readings at every commit
    w.start()
    pid = w.call(lambda c: records.create_patient(c, "Test Patient", T0, "ID-1")).result(5)
    sid = w.call(lambda c: records.start_session(c, pid, T0)).result(5)
    uids = {}
    for minute in range(3):
        w.add_samples(sid, [Reading(T0 + minute * 60 + s, "sim", mdc.MDC_ECG_HEART_RATE,
                                    60.0 + s, mdc.MDC_DIM_BEAT_PER_MIN) for s in range(0, 60, 5)])
        w.add_samples(sid, [WaveChunk(T0 + minute * 60, "sim", mdc.MDC_PULS_OXIM_PLETH, 100.0,
                                      np.linspace(0, 1, 100, dtype=np.float32))])
        assert w.flush()
        ev = Event("note.observation", T0 + minute * 60 + 30, {"text": f"calm {minute}"},
                   session_id=sid, author="Nurse A")
        uids[f"note{minute}"] = w.append_event(ev).result(5).uid
    signed = Event("sign.signed", T0 + 200, {"name": "Dr B", "role": "physician",
                                             "text": "Session uneventful."},
                   session_id=sid, author="Dr B")
    uids["signed"] = w.append_event(signed).result(5).uid
    w.call(lambda c: records.end_session(c, sid, T0 + 240)).result(5)
    w.stop()
    return sid, uids


def _outside(db_path: Path, *sql: tuple[str, tuple[object, ...]]) -> None:
    """Edit the file as another program would: triggers dropped, plain SQL."""
    conn = connect_file(db_path, isolation_level=None)
    for table in ("events", "readings", "waveforms"):
        conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    for statement, args in sql:
        conn.execute(statement, args)
    conn.close()


def _verify(db_path: Path) -> chain.ChainStatus:
    conn = connect_file(db_path)
    try:
        return chain.verify(conn)
    finally:
        conn.close()


def test_an_untouched_session_verifies_and_every_row_is_linked(db_path: Path) -> None:
    _session(db_path)
    st = _verify(db_path)
    assert st.ok, st.findings
    assert st.uncovered == 0  # a clean stop links the last readings too
    conn = connect_file(db_path)
    n_events = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    linked = conn.execute("SELECT COUNT(*) FROM chain WHERE what='event'").fetchone()[0]
    covered = conn.execute("SELECT SUM(readings), SUM(waves) FROM chain").fetchone()
    assert linked == n_events
    assert covered == (conn.execute("SELECT COUNT(*) FROM readings").fetchone()[0],
                       conn.execute("SELECT COUNT(*) FROM waveforms").fetchone()[0])
    assert st.links == linked + conn.execute(
        "SELECT COUNT(*) FROM chain WHERE what='readings'").fetchone()[0]
    assert st.headline().startswith("Record intact")


def test_signed_note_edited_with_plain_sql_is_found_and_named(db_path: Path) -> None:
    _, uids = _session(db_path)
    conn = connect_file(db_path)
    eid, recorded = conn.execute("SELECT id, recorded FROM events WHERE uid=?",
                                 (uids["signed"],)).fetchone()
    conn.close()
    assert _verify(db_path).ok
    payload = json.dumps({"name": "Dr B", "role": "physician", "text": "Patient fine."})
    _outside(db_path, ("UPDATE events SET payload=? WHERE uid=?", (payload, uids["signed"])))
    st = _verify(db_path)
    assert not st.ok
    assert [f.what for f in st.findings] == [
        f"the sign.signed entry of {time.strftime('%H:%M:%S', time.localtime(T0 + 200))} "
        f"(event {eid}, session 1) was changed"]
    assert st.altered_after is not None and st.altered_after < recorded
    assert st.headline() == f"Record altered outside Holdspace after {chain.fmt_time(st.altered_after)}"


def test_deleted_event_and_changed_reading_are_each_found(db_path: Path) -> None:
    _, uids = _session(db_path)
    conn = connect_file(db_path)
    rid, rt = conn.execute("SELECT id, t FROM readings ORDER BY id LIMIT 1 OFFSET 14").fetchone()
    conn.close()
    _outside(db_path, ("DELETE FROM events WHERE uid=?", (uids["note1"],)),
             ("UPDATE readings SET value=140 WHERE id=?", (rid,)))
    st = _verify(db_path)
    words = [f.what for f in st.findings]
    assert len(words) == 2, words
    minute = time.strftime("%H:%M", time.localtime(rt))
    assert any("vital signs recorded" in w and minute in w and w.endswith("were changed")
               for w in words), words
    assert any("note.observation" in w and w.endswith("was deleted") for w in words), words
    # the earliest damage dates the record: the reading (minute 1) comes before the note
    assert st.altered_after is not None and st.altered_after < rt


def test_a_reading_deleted_or_a_wave_changed_or_an_event_slipped_in(db_path: Path) -> None:
    sid, _ = _session(db_path)
    _outside(db_path, ("DELETE FROM readings WHERE id=(SELECT MAX(id) FROM readings)", ()),
             ("UPDATE waveforms SET samples=? WHERE id=1", (b"\0" * 400,)),
             ("INSERT INTO events (uid, session_id, t, recorded, kind, payload) "
              "VALUES ('x1', ?, ?, ?, 'dose.given', '{}')", (sid, T0 + 100, T0 + 100)))
    words = [f.what for f in _verify(db_path).findings]
    assert any(w.endswith("were deleted") for w in words), words
    assert any(w.endswith("were changed") for w in words), words
    assert any("dose.given" in w and w.endswith("was added") for w in words), words


def test_chain_rows_rewritten_are_found(db_path: Path) -> None:
    _session(db_path)
    conn = connect_file(db_path, isolation_level=None)
    conn.execute("DROP TRIGGER chain_no_delete")
    conn.execute("DELETE FROM chain WHERE seq = 3")
    conn.close()
    words = [f.what for f in _verify(db_path).findings]
    assert any("removed" in w for w in words), words
    assert any("edited at link 4" in w for w in words), words


def test_check_command_reports_the_chain(db_path: Path) -> None:
    _, uids = _session(db_path)
    assert check_database(db_path, every_row=True).intact
    _outside(db_path, ("DELETE FROM events WHERE uid=?", (uids["note2"],)))
    h = check_database(db_path)  # links and events only: cheap enough for every backup
    assert not h.chain.ok and not h.intact and h.ok  # altered, but whole: a backup is made
    assert any("was deleted" in f.what for f in h.chain.findings)


def test_a_changed_reading_is_found_in_all_rows_or_its_session_only(db_path: Path) -> None:
    sid, _ = _session(db_path)
    _outside(db_path, ("UPDATE readings SET value=1 WHERE id=3", ()))
    conn = connect_file(db_path)
    try:
        assert chain.verify(conn, rows=False).ok  # rows not re-hashed: not seen
        assert not chain.verify(conn, rows={sid}).ok
        assert chain.verify(conn, rows={sid + 1}).ok  # another session's rows are not read
        st = chain.verify(conn, rows=True)
        assert [f.what.endswith("were changed") for f in st.findings] == [True]
        assert st.rows_checked == "all"
    finally:
        conn.close()
    assert not check_database(db_path, every_row=True).intact


def test_an_existing_file_is_linked_once_from_its_start(db_path: Path) -> None:
    conn = connect_file(db_path, isolation_level=None)
    migrate(conn, target=MIGRATIONS.index(_hash_chain))  # the schema before the chain
    t0 = T0 - T0 % 60
    sid = records.start_session(conn, None, t0)
    conn.executemany("INSERT INTO readings (session_id, t, source, code, value, unit, quality) "
                     "VALUES (?, ?, 'x', ?, ?, ?, 0)",
                     [(sid, t0 + s, mdc.MDC_ECG_HEART_RATE, 70.0, mdc.MDC_DIM_BEAT_PER_MIN)
                      for s in range(0, 300, 10)])
    records.end_session(conn, sid, t0 + 300)
    conn.close()
    open_db(db_path).close()
    conn = connect_file(db_path)
    minutes = conn.execute("SELECT COUNT(*) FROM chain WHERE what='readings'").fetchone()[0]
    conn.close()
    assert minutes == 5  # one link per session-minute
    assert _verify(db_path).ok
    _outside(db_path, ("UPDATE readings SET value=30 WHERE t=?", (t0 + 130,)))
    assert ["were changed" in f.what for f in _verify(db_path).findings] == [True]


_KILLED = """
import sys, time
from console.store import records
from console.store.writer import StoreWriter
from devices import mdc
from devices.reading import Reading
w = StoreWriter(sys.argv[1], digest_interval=0.05, flush_interval=0.02)
w.start()
sid = w.call(lambda c: records.start_session(c, None, time.time())).result(5)
print(sid, flush=True)
i = 0
while True:
    w.add_samples(sid, [Reading(time.time(), "sim", mdc.MDC_ECG_HEART_RATE, 60.0 + i % 40,
                                mdc.MDC_DIM_BEAT_PER_MIN)])
    i += 1
    time.sleep(0.001)
"""


def test_chain_verifies_after_kill_9_mid_session(db_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, str(db_path)],
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait for several readings links on disk
            conn = connect_file(db_path)
            try:
                n = conn.execute("SELECT COUNT(*) FROM chain WHERE what='readings'").fetchone()[0]
            except engine.OperationalError:
                n = 0
            conn.close()
            if n >= 5:
                break
        assert n >= 5
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    st = _verify(db_path)
    assert st.ok, st.findings  # the partial last minute is simply not linked yet
    w = StoreWriter(str(db_path))  # the next Holdspace links what was left
    w.start()
    w.stop()
    st = _verify(db_path)
    assert st.ok and st.uncovered == 0


@pytest.mark.parametrize("kind", ["event", "readings"])
def test_link_hash_follows_the_documented_definition(db_path: Path, kind: str) -> None:
    """Anyone can recompute a link from the module's definition, without Holdspace."""
    _session(db_path)
    conn = connect_file(db_path)
    cols = [*chain.LINK_FIELDS, "prev_hash", "hash"]
    row = dict(zip(cols, conn.execute(f"SELECT {', '.join(cols)} FROM chain WHERE what=? "
                                      "ORDER BY seq DESC LIMIT 1", (kind,)).fetchone(),
                   strict=True))
    body = json.dumps({k: row[k] for k in chain.LINK_FIELDS}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)
    import hashlib
    assert hashlib.sha256(f"{row['prev_hash']}\n{body}".encode()).hexdigest() == row["hash"]


@pytest.mark.parametrize(("readings", "waves"), [(0, 0), (5, 0), (0, 4), (9, 7), (8, 8)])
def test_the_check_rehashes_a_link_as_it_reads_to_the_same_digest(
        monkeypatch: pytest.MonkeyPatch, readings: int, waves: int) -> None:
    """The start-up check hashes each link's rows as they come (a long link is not held in
    memory): the digest is the one the writer made, whatever the chunking and contents."""
    monkeypatch.setattr(chain, "CHECK_CHUNK", 3)  # chunk edges inside and at the end
    rows = [(i, 7, T0 + i + 0.25, "SIM é", mdc.MDC_ECG_HEART_RATE, None if i == 2 else 60.5 + i,
             mdc.MDC_DIM_BEAT_PER_MIN, 0, None, "out of range" if i == 3 else None)
            for i in range(1, readings + 1)]
    wave_rows = [(i, 7, "SIM", mdc.MDC_PULS_OXIM_PLETH, T0 + i, 125.0, 25, 0,
                  np.arange(25, dtype="<f4").tobytes() if i % 2 else memoryview(b"\x00" * 8))
                 for i in range(1, waves + 1)]
    made, rehashed = chain._Digest(), chain._Rehash()
    for r in rows:
        made.add_reading(r)
        rehashed.add_reading(r)
    for w in wave_rows:
        made.add_wave(w)
        rehashed.add_wave(w)
    assert (rehashed.readings, rehashed.waves) == (made.readings, made.waves)
    assert rehashed.hexdigest() == made.hexdigest()


def _documented_digest(conn: engine.Connection, link: dict[str, object]) -> str:
    """A readings link's digest from the module's definition, with plain json and hashlib."""
    import hashlib

    def dumps(rows: list[list[object]]) -> bytes:
        return json.dumps(rows, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    readings = [list(r) for r in conn.execute(
        f"SELECT {', '.join(chain.READING_COLS)} FROM readings WHERE id BETWEEN ? AND ? "
        "ORDER BY id", (link["first_reading"], link["last_reading"]))]
    waves = [list(w) for w in conn.execute(
        f"SELECT {', '.join(chain.WAVE_COLS)} FROM waveforms WHERE id BETWEEN ? AND ? "
        "ORDER BY id", (link["first_wave"], link["last_wave"]))]
    h = hashlib.sha256(b"readings\n" + dumps(readings) + b"\nwaveforms\n"
                       + dumps([[*w[:-1], len(w[-1])] for w in waves]) + b"\n")
    for w in waves:
        h.update(w[-1])
    return h.hexdigest()


@pytest.mark.parametrize("chunk", [7, chain.CHECK_CHUNK])
def test_a_long_readings_link_is_hashed_in_chunks_as_the_definition_says(
        db_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """A link over many rows (a writer held up; here one link at stop) is hashed a chunk of
    rows at a time, never holding them all, and still gives the documented digest."""
    monkeypatch.setattr(chain, "CHECK_CHUNK", chunk)
    w = StoreWriter(str(db_path), digest_interval=3600.0)  # one link, made at stop
    w.start()
    sid = w.call(lambda c: records.start_session(c, None, T0)).result(5)
    for s in range(0, 2500, 50):
        w.add_samples(sid, [Reading(T0 + s + i, "sim", mdc.MDC_ECG_HEART_RATE, 60.0 + i % 7,
                                    mdc.MDC_DIM_BEAT_PER_MIN) for i in range(50)])
        w.add_samples(sid, [WaveChunk(T0 + s, "sim", mdc.MDC_PULS_OXIM_PLETH, 100.0,
                                      np.linspace(0, 1, 50, dtype=np.float32) + s)])
    w.stop()
    conn = connect_file(db_path)
    try:
        cols = chain.LINK_FIELDS
        links = [dict(zip(cols, r, strict=True)) for r in conn.execute(
            f"SELECT {', '.join(cols)} FROM chain WHERE what='readings'")]
        assert [(lk["readings"], lk["session_id"]) for lk in links] == [(2500, sid)]
        assert links[0]["waves"] and links[0]["t_from"] == T0
        assert links[0]["digest"] == _documented_digest(conn, links[0])
        assert chain.verify(conn).ok
    finally:
        conn.close()


def test_a_readings_digest_keeps_at_most_a_chunk_of_rows() -> None:
    d = chain._Digest()
    for i in range(1, 3 * chain.CHECK_CHUNK + 2):
        d.add_reading((i, 1, T0 + i, "sim", 1, 60.0, None, 0, None, None))
        assert len(d._rows) < chain.CHECK_CHUNK
    assert d.readings == 3 * chain.CHECK_CHUNK + 1 and d.span() == (T0 + 1, T0 + d.readings, 1)
