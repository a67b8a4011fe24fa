"""The central station on a real PostgreSQL server fed by the rooms' own replicators.

Three rooms write real SQLite files through the real core (checklist, dose, alarm rules) and
replicate them; the station window (offscreen) reads the server with the read-only login.
Every wait is on a condition; the 2 s bound on an alarm reaching the station is the issue's.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from console.central import rooms as rooms_mod
from console.central.feed import StationFeed, Update
from console.central.rooms import StationNeverWrites
from console.central.window import CentralWindow
from console.core.dosing.templates import load_catalog
from devices.drivers import get_driver
from devices.simulator import Simulator
from tests.helpers.central_rooms import caught_up, init_server, rooms, station_url
from tests.helpers.fixtures import wait_until
from tests.helpers.pg import Cluster

NAMES = ["Room 1", "Room 2", "Room 3"]
PATIENTS = ["Maria Keller", "John Smith", "Ana Lopez"]


def _window(qtbot: QtBot, url: str, stale_after: float = 3.0) -> CentralWindow:
    win = CentralWindow(url, catalog=load_catalog(), stale_after=stale_after)
    qtbot.addWidget(win)
    win.resize(1500, 900)
    win.show()
    win.start()
    return win


def test_three_rooms_an_alarm_within_2_s_and_a_stopped_room_goes_stale(
        qtbot: QtBot, tmp_path: Path, pg: Cluster, pg_db: str) -> None:
    urls = init_server(pg, pg_db, NAMES)
    admin = pg.url(pg_db)
    with rooms(tmp_path, NAMES) as rs:
        for r, patient in zip(rs, PATIENTS, strict=True):
            r.dosed(patient)
            r.replicate(urls[r.name])
        for r in rs:
            assert caught_up(r, admin)
        win = _window(qtbot, station_url(pg, pg_db))
        try:
            qtbot.waitUntil(lambda: len(win.panels) == 3 and all(
                s.in_progress and s.day is not None for s in win.states.values()), timeout=20000)
            assert sorted(win.panels) == NAMES
            for name, patient in zip(NAMES, PATIENTS, strict=True):
                p = win.panels[name]
                assert p.who.text().startswith(rooms_mod.initials(patient))
                assert patient not in p.who.text()  # initials only: nobody is signed in
                assert "IM ketamine" in p.who.text()
                assert p.since.text() != "--:--:--" and p.observe.text() != "--:--:--"
                assert p.hr.value.text() == "72" and p.spo2.value.text() == "97"
                assert p.nibp.value.text() == "124/78"
                assert p.alarm_text() == "No alarms"
            assert not win.banner.isVisible() and win.sound.priority is None
            # the station's since-dose clock is the room's own DoseDay's
            room2 = rs[1]
            assert room2.day is not None
            station_timers = win.states["Room 2"].timers()
            assert station_timers is not None
            assert station_timers.first_dose == room2.day.timers().first_dose

            # Room 2 desaturates: its own rules raise a HIGH alarm, written by its writer
            room2.feed(15, spo2=88, step=1)
            assert "spo2-low" in room2.day.alarms.active
            room2.writer.flush()
            qtbot.waitUntil(lambda: any("ROOM 2" in t and "HIGH" in t and "SpO2 88" in t
                                        for t in win.banner.texts()), timeout=2000)
            assert win.banner.isVisible()
            assert "HIGH" in win.panels["Room 2"].alarm_text()
            assert win.windowTitle().startswith("1 alarm (HIGH) — ")
            assert win.panels["Room 1"].alarm_text() == "No alarms"
            assert win.sound.priority == "high"  # the tone sounds at the station

            # acknowledged in the room: the station's tone stops, the alarm stays listed
            room2.day.acknowledge("Ana Nurse")
            room2.writer.flush()
            qtbot.waitUntil(lambda: win.sound.priority is None, timeout=5000)
            assert any("silenced in the room by Ana Nurse" in t for t in win.banner.texts())

            # Room 3's replication stops: its panel goes grey with how long, and says so
            stopped = rs[2].replicator
            assert stopped is not None
            stopped.stop(flush=2.0)
            qtbot.waitUntil(lambda: win.panels["Room 3"].stale.isVisible(), timeout=15000)
            text = win.panels["Room 3"].stale.text()
            assert text.startswith("No data from Room 3 for ") and " s — " in text
            age = int(text.removeprefix("No data from Room 3 for ").split(" s")[0])
            assert 3 <= age < 60
            assert win.panels["Room 3"].alarm_text() == "Alarms not known while no data arrive"
            assert any("ROOM 3" in t and "cannot be seen" in t for t in win.banner.texts())
            assert not win.panels["Room 1"].stale.isVisible()
            # its age goes on counting without any news from the server
            qtbot.waitUntil(lambda: win.panels["Room 3"].stale.text() != text, timeout=3000)

            # clicking a room opens its trend and timeline, read only
            qtbot.mouseClick(win.panels["Room 2"], Qt.MouseButton.LeftButton)
            qtbot.keyClick(win.panels["Room 1"], Qt.Key.Key_Return)  # or from the keyboard
            qtbot.waitUntil(lambda: "Room 1" in win.details, timeout=5000)
            qtbot.waitUntil(lambda: "Room 2" in win.details
                            and win.details["Room 2"].timeline is not None, timeout=5000)
            tl = win.details["Room 2"].timeline
            assert tl is not None
            qtbot.waitUntil(lambda: any(i.kind == "alarm.raised" for i in tl.items),
                            timeout=5000)
            assert any(i.kind == "dose.given" for i in tl.items)
            conn = win.details["Room 2"].conn
            assert conn is not None
            with pytest.raises(sqlite3.OperationalError):
                conn.execute("DELETE FROM readings")
            # the room's report of the session, made from the server
            detail = win.details["Room 2"]
            assert detail.report_button.isEnabled()
            detail.make_report(tmp_path / "room2.pdf")
            qtbot.waitUntil(lambda: "written to" in detail.report_note.text(), timeout=30000)
            assert (tmp_path / "room2.pdf").read_bytes().startswith(b"%PDF")
            text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "room2.pdf"), "-"],
                                  capture_output=True, text=True, check=True).stdout
            assert "John Smith" in text and "SpO2" in text
            detail.close()  # closed: gone, its snapshot let go
            qtbot.waitUntil(lambda: "Room 2" not in win.details, timeout=5000)
        finally:
            win.close()


def test_full_names_only_while_staff_are_signed_in(qtbot: QtBot, tmp_path: Path, pg: Cluster,
                                                   pg_db: str) -> None:
    urls = init_server(pg, pg_db, ["Room 1"])
    with rooms(tmp_path, ["Room 1"]) as rs:
        rs[0].dosed("Maria Keller")
        rs[0].replicate(urls["Room 1"])
        win = _window(qtbot, station_url(pg, pg_db), stale_after=30)
        try:
            qtbot.waitUntil(lambda: "Room 1" in win.panels
                            and win.states["Room 1"].in_progress, timeout=20000)
            who = win.panels["Room 1"].who
            assert who.text().startswith("M. K. ·")
            assert not win.silent.isVisible()  # the tone plays (VLC to the null device)
            assert win.sound.unavailable is None
            win.set_signed_in("Ana Nurse")
            assert who.text().startswith("Maria Keller ·")
            win.set_signed_in(None)
            assert who.text().startswith("M. K. ·")
            # where libvlc cannot start, the station says its alarms are visual only
            win.sound.unavailable = ("Alarm sound unavailable (VLC could not start) — alarms "
                                     "are visual only on this console.")
            win.tick()
            assert win.silent.isVisible() and "visual only" in win.silent.text()
        finally:
            win.close()


def test_the_station_cannot_write_and_says_when_the_server_is_unreachable(
        qtbot: QtBot, tmp_path: Path, pg: Cluster, pg_db: str) -> None:
    urls = init_server(pg, pg_db, ["Room 1"])
    with rooms(tmp_path, ["Room 1"]) as rs:
        rs[0].dosed("Maria Keller")
        rs[0].replicate(urls["Room 1"])
        assert caught_up(rs[0], pg.url(pg_db))
        got: list[Update] = []
        feed = StationFeed(station_url(pg, pg_db), got.append, catalog=load_catalog())
        feed.start()
        try:
            assert _until(lambda: any("Room 1" in u.rooms and u.rooms["Room 1"].day is not None
                                      for u in got))
        finally:
            feed.stop()
        state = next(u.rooms["Room 1"] for u in got if "Room 1" in u.rooms)
        assert state.day is not None
        with pytest.raises(StationNeverWrites):  # the station's dose day cannot record
            state.day.record_check("bp", "120/80")
        with psycopg.connect(station_url(pg, pg_db)) as c, pytest.raises(
                psycopg.errors.InsufficientPrivilege):
            c.execute("INSERT INTO holdspace.events (room, id, uid, t, recorded, kind, payload) "
                      "VALUES ('Room 1', 999, 'x', 0, 0, 'note', '{}')")

    win = _window(qtbot, f"postgresql://nobody:x@127.0.0.1:{_closed_port()}/none")
    try:
        qtbot.waitUntil(lambda: win.server_bar.isVisible(), timeout=10000)
        assert win.server_bar.text().startswith(
            "The station has not been able to read the clinic server")
        assert "(connection refused)" in win.server_bar.text()
        assert not win.empty.isVisible()  # not "no room yet": the station cannot know
        assert "x@" not in win.server_bar.text()  # never the password
    finally:
        win.close()


def _until(pred: Callable[[], bool], timeout: float = 20.0) -> bool:
    return wait_until(pred, timeout=timeout)


def _closed_port() -> int:
    from tests.helpers.pg import free_port

    return free_port()


def test_initials_say_enough_to_tell_rooms_apart() -> None:
    assert rooms_mod.initials("Maria Keller") == "M. K."
    assert rooms_mod.initials("van der Berg, Ana") == "V. D. B."
    assert rooms_mod.initials("") == "" and rooms_mod.initials(None) == ""


def test_new_readings_fold_into_the_same_day_and_agree_with_a_rebuild(
        tmp_path: Path, pg: Cluster, pg_db: str) -> None:
    """Readings alone do not rebuild the dose day (too dear for hours of values); folded in,
    they give what a rebuild from the record gives: a cuff value fulfils the BP check."""
    urls = init_server(pg, pg_db, ["Room 1"])
    with rooms(tmp_path, ["Room 1"], minutes_ago=20) as rs:
        room = rs[0]
        room.dosed("Maria Keller")
        room.feed(14 * 60)  # past the 15-min BP check's due time, no cuff value yet
        room.writer.flush()
        room.replicate(urls["Room 1"])
        got: list[Update] = []
        feed = StationFeed(station_url(pg, pg_db), got.append, catalog=load_catalog())
        feed.start()
        try:
            assert _until(lambda: any("Room 1" in u.rooms and u.rooms["Room 1"].day is not None
                                      for u in got))
            first = next(u.rooms["Room 1"] for u in got
                         if "Room 1" in u.rooms and u.rooms["Room 1"].day is not None)
            before = first.timers()
            assert before is not None and before.next_check is not None
            assert before.next_check.what == "bp" and before.next_check.state != "done"
            n = len(room.sessions.reader.execute("SELECT id FROM events").fetchall())
            room.feed(5, bp=(131, 79))
            room.writer.flush()
            assert len(room.sessions.reader.execute("SELECT id FROM events").fetchall()) == n
            assert _until(lambda: any(u.rooms.get("Room 1") is not None
                                      and "sys" in u.rooms["Room 1"].latest
                                      and u.rooms["Room 1"].latest["sys"].value == 131
                                      for u in got))
            copies: list[sqlite3.Connection | None] = []
            feed.request_copy("Room 1", copies.append)
            assert _until(lambda: bool(copies))
        finally:
            feed.stop()
        last = [u.rooms["Room 1"] for u in got if "Room 1" in u.rooms][-1]
        assert last.day is first.day  # folded into, not rebuilt
        copy = copies[0]
        assert copy is not None and last.session is not None
        fresh = rooms_mod.derive("Room 1", copy, last.session.id, load_catalog(), feed.clock,
                                 None)
        assert fresh.day is not None and last.day is not None
        assert [(c.key, c.state, c.done_at) for c in last.day.checks()] == [
            (c.key, c.state, c.done_at) for c in fresh.day.checks()]
        assert any(c.what == "bp" and c.state == "done" for c in fresh.day.checks())
        assert last.latest == fresh.latest


def test_the_station_says_when_the_server_goes_away_and_recovers_by_itself(
        qtbot: QtBot, tmp_path: Path, pg: Cluster, pg_db: str) -> None:
    urls = init_server(pg, pg_db, ["Room 1"])
    with rooms(tmp_path, ["Room 1"]) as rs:
        rs[0].dosed("Maria Keller")
        rs[0].replicate(urls["Room 1"])
        win = _window(qtbot, station_url(pg, pg_db), stale_after=60)
        try:
            qtbot.waitUntil(lambda: "Room 1" in win.panels
                            and win.states["Room 1"].in_progress, timeout=20000)
            assert not win.server_bar.isVisible()
            pg.stop()
            try:
                qtbot.waitUntil(win.server_bar.isVisible, timeout=15000)
                assert "not been able to read the clinic server" in win.server_bar.text()
                assert "nothing shown is current" in win.server_bar.text()
                assert any("ROOM 1" in t and "cannot be seen" in t for t in win.banner.texts())
                assert win.sound.priority == "low"  # a dosed room the station cannot see
            finally:
                pg.start()
            qtbot.waitUntil(lambda: not win.server_bar.isVisible(), timeout=20000)
            assert win.connected and "live from" in win.status.text()
        finally:
            win.close()


@pytest.mark.slow
def test_three_headless_recordings_with_simulators_reach_the_station(
        qtbot: QtBot, tmp_path: Path, pg: Cluster, pg_db: str) -> None:
    """`holdspace record --sync … --room …` from three simulated monitors on real ptys: the
    station shows each room's live values, then each room's end."""
    urls = init_server(pg, pg_db, NAMES)
    sims, procs = [], []
    win = _window(qtbot, station_url(pg, pg_db), stale_after=30)
    try:
        for i, name in enumerate(NAMES):
            sim = Simulator(get_driver("sim"), link_path=str(tmp_path / f"ttySIM{i}"))
            sims.append(sim)
            port = sim.start()
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "console", "record", "--device", f"sim:{port}", "--db",
                 str(tmp_path / f"room{i}.db"), "--sync", urls[name], "--room", name],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
        qtbot.waitUntil(lambda: len(win.panels) == 3 and all(
            s.in_progress and "hr" in s.latest and "spo2" in s.latest
            for s in win.states.values()), timeout=60000)
        for name in NAMES:
            p = win.panels[name]
            assert p.hr.value.text().isdigit() and p.spo2.value.text().isdigit()
            assert "without a dosing protocol" in p.timer_notes.text()
            assert ": live" in p.link.text()  # the monitor link as the room recorded it
            assert not p.stale.isVisible()
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            assert proc.wait(60) == 0, proc.stderr.read() if proc.stderr else ""
        qtbot.waitUntil(lambda: all(not s.in_progress for s in win.states.values()),
                        timeout=30000)
        for name in NAMES:
            assert win.panels[name].who.text().startswith("No session in progress (last ended")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            if proc.stderr is not None:
                proc.stderr.close()
        for sim in sims:
            sim.stop()
        win.close()


@pytest.mark.slow
def test_holdspace_central_opens_the_station_and_bad_input_is_one_line(
        tmp_path: Path, pg: Cluster, pg_db: str) -> None:
    init_server(pg, pg_db, ["Room 1"])
    shot = tmp_path / "station.png"
    r = subprocess.run([sys.executable, "-m", "console", "central", "--pg",
                        station_url(pg, pg_db), "--quit-after", "2", "--screenshot", str(shot)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert shot.is_file() and shot.stat().st_size > 10_000
    for args, words in ((["--pg", "mysql://x@y/z"], "should start with postgresql://"),
                        ([], "holdspace central --pg URL")):
        bad = subprocess.run([sys.executable, "-m", "console", "central", *args],
                             capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and words in bad.stderr, bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1


def test_a_server_not_set_up_for_holdspace_is_said_so(qtbot: QtBot, pg: Cluster,
                                                      pg_db: str) -> None:
    win = _window(qtbot, pg.url(pg_db))  # a database `central init` never ran on
    try:
        qtbot.waitUntil(win.server_bar.isVisible, timeout=10000)
        assert "is not set up for Holdspace yet" in win.server_bar.text()
        assert "holdspace central init" in win.server_bar.text()
    finally:
        win.close()


def test_the_next_patient_replaces_the_last_in_the_rooms_panel(
        qtbot: QtBot, tmp_path: Path, pg: Cluster, pg_db: str) -> None:
    urls = init_server(pg, pg_db, ["Room 1"])
    with rooms(tmp_path, ["Room 1"]) as rs:
        room = rs[0]
        room.dosed("Maria Keller")
        room.replicate(urls["Room 1"])
        win = _window(qtbot, station_url(pg, pg_db), stale_after=30)
        try:
            who = lambda: win.panels["Room 1"].who.text() if "Room 1" in win.panels else ""  # noqa: E731
            qtbot.waitUntil(lambda: who().startswith("M. K. ·"), timeout=20000)
            room.sessions.end()
            qtbot.waitUntil(lambda: who().startswith("No session in progress (last ended"),
                            timeout=10000)
            assert win.panels["Room 1"].since.text() == "--:--:--"
            assert win.sound.priority is None and not win.banner.isVisible()
            room.day = None
            room.start("Ana Lopez")
            room.writer.flush()
            qtbot.waitUntil(lambda: who().startswith("A. L. ·"), timeout=10000)
            assert "no dose yet" in win.panels["Room 1"].timer_notes.text()
        finally:
            win.close()
