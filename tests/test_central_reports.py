"""The report and the exports of a room's session made from the clinic server equal the ones the
room makes from its own file: a whole simulated dosing day written through the real core,
replicated by the room's replicator to a real PostgreSQL server, then made both ways."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from console.central import mirror, reports, server
from console.core.exports.export_events import COMMAND_LINE
from console.core.exports.make import (
    command_line_recorder,
    make_csv,
    make_fhir,
    make_report,
    make_vital,
)
from console.core.exports.output import ExportError
from console.core.report.build import build_report
from console.core.report.clinic import Clinic
from console.core.report.record_hash import session_record_hash
from console.replication.address import login_for
from console.replication.replicator import Replicator, SyncSettings
from console.replication.schema import init
from console.store.db import connect_file
from console.store.events import session_events
from devices import mdc
from devices.reading import WaveChunk
from tests.helpers.central_rooms import STATION_PW, Room, caught_up, on_server
from tests.helpers.fixtures import wait_until
from tests.helpers.pg import Cluster
from tests.helpers.report_day import MON, T0, Day, ketamine_day, rig

HS = [sys.executable, "-m", "console"]
ROOM = "Room 2"
NOW = T0 + 6 * 3600.0  # the moment both reports say they were made


def _pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def _without_chain(text: str) -> list[str]:
    """The report's content lines with its "Hash chain" row left out (it runs up to
    "Generated") and the page furniture too (running header, footer, page numbers): the two
    rows differ in length, so a page may break one line earlier or later."""
    start = text.index("Hash chain")
    text = text[:start] + text[text.index("Generated", start):]
    pages = [[" ".join(line.split()) for line in page.splitlines() if line.strip()]
             for page in text.split("\f") if page.strip()]
    # what stands on every page (the running header and footer) is furniture
    furniture = set.intersection(*(set(p) for p in pages)) if len(pages) > 1 else set()
    return [line for page in pages for line in page
            if line not in furniture and " page " not in line]


def _serve(tmp_path: Path, pg: Cluster, pg_db: str, fill: Callable[[Day], object],
           waves: int = 0) -> tuple[Path, int, str]:
    """A room's file filled by `fill` (and `waves` seconds of pleth), all of it replicated by
    the room's replicator; (a copy of the file as replicated, the session, the station's URL)."""
    init(pg.url(pg_db), [(ROOM, "room-pw")], STATION_PW)
    (tmp_path / "room").mkdir()
    with rig(tmp_path / "room") as d:
        fill(d)
        sid = d.session_id
        wave = np.sin(np.arange(125 * waves) / 20).astype("<f4")
        d.writer.add_samples(sid, [WaveChunk(T0 + 600 + i, MON, mdc.MDC_PULS_OXIM_PLETH, 125.0,
                                             wave[i * 125:(i + 1) * 125]) for i in range(waves)])
        d.writer.flush()
        rep = Replicator(d.path, SyncSettings(pg.url(pg_db, user=login_for(ROOM),
                                                     password="room-pw"), ROOM, waveforms=True))
        rep.start()
        try:
            assert caught_up(Room(ROOM, d.path, d.clock, d.writer, d.sessions), pg.url(pg_db))
            assert wait_until(lambda: on_server(pg.url(pg_db), ROOM, "waveforms") == waves)
        finally:
            rep.stop()
        path = d.path
    copy = tmp_path / "room-copy.db"
    shutil.copy(path, copy)
    return copy, sid, pg.url(pg_db, user="holdspace_central_ro", password=STATION_PW)


@pytest.fixture
def served(tmp_path: Path, pg: Cluster, pg_db: str) -> tuple[Path, int, str]:
    """A whole ketamine day and a minute of pleth at 125 Hz (this clinic sends waveforms)."""
    return _serve(tmp_path, pg, pg_db, ketamine_day, waves=60)


def test_the_server_made_report_equals_the_room_made_one(tmp_path: Path,
                                                         served: tuple[Path, int, str]) -> None:
    room_db, sid, url = served
    clinic = Clinic("Harbour Clinic", named=True)
    data = tmp_path / "station"
    room_pdf, server_pdf = tmp_path / "room.pdf", tmp_path / "server.pdf"
    make_report(room_db, room_pdf, sid, "report", clinic, by="Dr Lee", via=COMMAND_LINE,
                recorder=command_line_recorder(room_db), now=NOW)
    made, pdf = reports.from_server(url, ROOM, sid, lambda db: make_report(
        db, server_pdf, sid, "report", clinic, by="Dr Lee", via=COMMAND_LINE,
        recorder=reports.recorder(url, ROOM, data), now=NOW))
    room_text, server_text = _pdf_text(room_pdf), _pdf_text(server_pdf)
    assert "Maria Keller" in server_text and "Harbour Clinic" in server_text
    # The same report, but for the hash chain: the room's file verifies its own; the server
    # holds the rows, not the room's chain, and the copy says so instead of checking one.
    assert "Record intact" in room_text and "Record intact" not in server_text
    assert "copy made from the central server" in server_text
    assert _without_chain(server_text) == _without_chain(room_text)
    conn = connect_file(room_db)
    assert pdf.record_hash == session_record_hash(conn, sid)
    conn.close()
    assert made.files == [server_pdf.absolute()]
    # the copy that left is in the station's own record, naming the room and its session
    station = connect_file(data / reports.RECORD_NAME)
    (kind, sess, payload), = station.execute(
        "SELECT kind, session_id, payload FROM events WHERE kind LIKE 'export.%'").fetchall()
    p = json.loads(payload)
    assert kind == "export.report" and sess is None
    assert p["room"] == ROOM and p["room_sessions"] == [sid] and p["by"] == "Dr Lee"
    assert "room-pw" not in payload and STATION_PW not in payload


def test_the_server_copy_holds_the_rooms_rows_and_the_report_model_agrees(
        served: tuple[Path, int, str]) -> None:
    room_db, sid, url = served
    pg = server.connect(url)
    try:
        copy = mirror.new_mirror()
        mirror.load_session(pg, ROOM, sid, copy)
    finally:
        pg.close()
    room = connect_file(room_db)
    for table, where in (("events", "session_id"), ("readings", "session_id")):
        cols = ", ".join(server.columns(table))
        q = f"SELECT {cols} FROM {table} WHERE {where} = ? ORDER BY id"
        assert copy.execute(q, (sid,)).fetchall() == room.execute(q, (sid,)).fetchall()
    assert session_events(copy, sid) == session_events(room, sid)
    a, b = build_report(room, sid, now=NOW), build_report(copy, sid, now=NOW)
    assert (a.record_hash, a.doses, a.alarms, a.checks, a.signature, a.patient) == (
        b.record_hash, b.doses, b.alarms, b.checks, b.signature, b.patient)
    room.close()


def test_csv_and_fhir_from_the_server_equal_the_rooms(tmp_path: Path,
                                                      served: tuple[Path, int, str]) -> None:
    served_db, sid, url = served
    data = tmp_path / "station"
    clinic = Clinic("Harbour Clinic", named=True)
    # each export is recorded in the room's file it is made from: one fresh copy for each,
    # so both ways start from the same record
    room_db = tmp_path / "for-csv.db"
    shutil.copy(served_db, room_db)
    make_csv(room_db, tmp_path / "room.csv", session=sid, by="x", via=COMMAND_LINE,
             recorder=command_line_recorder(room_db))
    reports.from_server(url, ROOM, sid, lambda db: make_csv(
        db, tmp_path / "server.csv", session=sid, by="x", via=COMMAND_LINE,
        recorder=reports.recorder(url, ROOM, data)), waveforms=False)
    for suffix in (".csv", ".events.csv"):
        room_bytes = (tmp_path / f"room{suffix}").read_bytes()
        assert (tmp_path / f"server{suffix}").read_bytes() == room_bytes
    room_db = tmp_path / "for-fhir.db"
    shutil.copy(served_db, room_db)
    make_fhir(room_db, tmp_path / "room.json", sid, clinic, by="x", via=COMMAND_LINE,
              recorder=command_line_recorder(room_db), now=NOW)
    reports.from_server(url, ROOM, sid, lambda db: make_fhir(
        db, tmp_path / "server.json", sid, clinic, by="x", via=COMMAND_LINE,
        recorder=reports.recorder(url, ROOM, data), now=NOW))
    r, s = (json.loads((tmp_path / n).read_text()) for n in ("room.json", "server.json"))
    r.pop("identifier"), s.pop("identifier")  # a new id for every bundle made
    assert s == r


def test_report_from_the_server_on_the_command_line(tmp_path: Path,
                                                    served: tuple[Path, int, str]) -> None:
    _room_db, sid, url = served
    listed = subprocess.run([*HS, "sessions", "--pg", url, "--room", ROOM], capture_output=True,
                            text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    (line,) = listed.stdout.strip().splitlines()
    assert line.startswith(f"{ROOM}") and f"#{sid} " in line and "Maria Keller" in line
    assert "ended" in line and " readings" in line
    out = tmp_path / "r.pdf"
    ok = subprocess.run([*HS, "report", "--pg", url, "--room", ROOM, "--session", str(sid),
                         "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert f"of {ROOM}'s session {sid}" in ok.stdout and out.is_file()
    assert "Maria Keller" in _pdf_text(out)
    for args, words in (
            (["--room", "Room 9", "--session", str(sid)], "holds no session"),
            (["--room", ROOM, "--session", "999"], "holds no session 999"),
            (["--session", str(sid)], "--room NAME")):
        bad = subprocess.run([*HS, "report", "--pg", url, *args, "--out",
                              str(tmp_path / "x.pdf")], capture_output=True, text=True,
                             timeout=120)
        assert bad.returncode == 2 and words in bad.stderr, bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1 and STATION_PW not in bad.stderr
    csv = subprocess.run([*HS, "export", "--pg", url, "--room", ROOM, "--session", str(sid),
                          "--csv", str(tmp_path / "s.csv")], capture_output=True, text=True,
                         timeout=120)
    assert csv.returncode == 0, csv.stderr
    assert (tmp_path / "s.csv").is_file() and (tmp_path / "s.events.csv").is_file()


def test_an_unreachable_server_is_one_sentence(tmp_path: Path) -> None:
    from tests.helpers.pg import free_port

    words = r"Cannot reach the clinic server at 127\.0\.0\.1:\d+/x \(connection refused\)"
    with pytest.raises(ExportError, match=words):
        reports.from_server(f"postgresql://u:secret@127.0.0.1:{free_port()}/x", ROOM, 1,
                            lambda db: db)


def test_a_vital_file_from_the_server_holds_the_rooms_tracks(
        tmp_path: Path, served: tuple[Path, int, str]) -> None:
    from tests.test_exports import read_vital

    served_db, sid, url = served
    room_db = tmp_path / "for-vital.db"
    shutil.copy(served_db, room_db)
    make_vital(room_db, tmp_path / "room.vital", sid, by="x", via=COMMAND_LINE,
               recorder=command_line_recorder(room_db))
    made = reports.from_server(url, ROOM, sid, lambda db: make_vital(
        db, tmp_path / "server.vital", sid, by="x", via=COMMAND_LINE,
        recorder=reports.recorder(url, ROOM, tmp_path / "station")))
    assert made.export.counts["wave samples"] == 125 * 60
    r, s = read_vital(tmp_path / "room.vital"), read_vital(tmp_path / "server.vital")
    assert s.get_track_names() == r.get_track_names()
    assert any(n.endswith("/PLETH") for n in s.get_track_names())
    for name in r.get_track_names():
        a, b = r.trks[name].recs, s.trks[name].recs
        assert len(a) == len(b), name
        for x, y in zip(a, b, strict=True):
            assert x["dt"] == y["dt"]
            assert np.array_equal(np.asarray(x["val"]), np.asarray(y["val"]), equal_nan=True) \
                if not isinstance(x["val"], str) else x["val"] == y["val"]


def test_the_rems_form_from_the_server_equals_the_rooms(tmp_path: Path, pg: Cluster,
                                                         pg_db: str) -> None:
    """An esketamine session's REMS form, the provider's details carried from the room's
    earlier answers included."""
    from tests.test_report import ANSWERS, esketamine_day, save_answers

    def fill(d: Day) -> None:
        esketamine_day(d)
        save_answers(d, ANSWERS)

    room_db, sid, url = _serve(tmp_path, pg, pg_db, fill)
    clinic = Clinic("Harbour Clinic", named=True)
    make_report(room_db, tmp_path / "room.pdf", sid, "rems", clinic, by="Dr Lee",
                via=COMMAND_LINE, recorder=command_line_recorder(room_db), now=NOW)
    reports.from_server(url, ROOM, sid, lambda db: make_report(
        db, tmp_path / "server.pdf", sid, "rems", clinic, by="Dr Lee", via=COMMAND_LINE,
        recorder=reports.recorder(url, ROOM, tmp_path / "station"), now=NOW))
    text = _pdf_text(tmp_path / "server.pdf")
    assert "ESK-7731" in text and "ana@harbour.example" in text
    assert text == _pdf_text(tmp_path / "room.pdf")
