"""The console window with the built-in simulator: live values, sessions, staleness, picture."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from console.app import Running, build_window, start_core
from console.core.config import Config
from console.store.db import open_db
from console.ui import theme
from console.ui.main_window import MainWindow
from console.ui.resume_bar import ResumeBar
from console.ui.session_dialog import NewPatient, SessionChoice, parse_weight
from console.ui.shell_actions import start_session_from_choice
from devices import mdc
from tests.helpers.staff import staff_signed_in
from tests.helpers.window import pause_before_second_press

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"


@pytest.fixture
def console(qtbot: QtBot, db_path: Path, config: Config) -> Iterator[tuple[MainWindow, Running]]:
    """The real console on the built-in simulator (a real pty), with a real database."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply_theme(app)
    running = start_core(db_path, devices=None, config=config)
    staff_signed_in(running.ctx.people)  # who is at the console
    window, feed = build_window(running)
    qtbot.addWidget(window)
    window.resize(1600, 960)
    window.show()
    yield window, running
    window.allow_close_without_asking()  # a session may still be open: no question
    feed.stop()
    running.stop()


def test_live_values_appear_and_a_session_records_them(
    console: tuple[MainWindow, Running], qtbot: QtBot, db_path: Path
) -> None:
    window, running = console
    strip = window.vitals
    qtbot.waitUntil(lambda: strip.hr.value.text().isdigit(), timeout=10_000)
    assert 55 <= int(strip.hr.value.text()) <= 90
    qtbot.waitUntil(lambda: strip.spo2.value.text().isdigit(), timeout=10_000)
    assert "No session open" in window.header.who.text()
    assert "not recorded" in window.header.state.text()

    start_session_from_choice(
        running.ctx,
        SessionChoice(None, NewPatient("Ada Example", "MRN-1", "1950-02-03", 61.0), None, None),
    )
    assert "Ada Example" in window.header.who.text() and "61 kg" in window.header.who.text()
    sid = running.ctx.sessions.current.id  # type: ignore[union-attr]
    conn = open_db(db_path)

    def stored() -> int:
        running.ctx.writer.flush()
        return int(conn.execute(
            "SELECT COUNT(*) FROM readings WHERE session_id=? AND code=?",
            (sid, mdc.MDC_ECG_HEART_RATE)).fetchone()[0])

    qtbot.waitUntil(lambda: stored() >= 2, timeout=10_000)
    qtbot.waitUntil(lambda: "/" in strip.nibp.value.text(), timeout=10_000)
    SCREENSHOTS.mkdir(exist_ok=True)
    assert window.grab().save(str(SCREENSHOTS / "console-live.png"))

    # End needs two presses (no modal dialog over the vitals), with a deliberate pause
    # between them since issue 10 (a double-click does not end a session).
    window.request_end_session()
    assert running.ctx.sessions.current is not None
    pause_before_second_press(qtbot, window)
    window.request_end_session()
    assert running.ctx.sessions.current is None
    assert conn.execute("SELECT state FROM sessions WHERE id=?", (sid,)).fetchone()[0] == "ended"
    kinds = [k for (k,) in conn.execute("SELECT kind FROM events WHERE session_id=? ORDER BY t",
                                        (sid,))]
    session_kinds = [k for k in kinds if k.startswith("session.")]
    assert session_kinds == ["session.started", "session.ended"]


def test_a_value_that_stops_arriving_turns_grey_with_its_age(
    console: tuple[MainWindow, Running], qtbot: QtBot
) -> None:
    window, running = console
    tile = window.vitals.spo2
    qtbot.waitUntil(lambda: tile.value.text().isdigit(), timeout=10_000)
    assert theme.SPO2 in tile.value.styleSheet()
    assert running.simulator is not None
    running.simulator.unplug()
    qtbot.waitUntil(lambda: theme.STALE in tile.value.styleSheet(), timeout=15_000)
    assert "ago" in tile.detail.text()
    qtbot.waitUntil(lambda: "lost" in window.vitals.link_label.text(), timeout=10_000)


def test_weight_input_is_checked_in_plain_words() -> None:
    assert parse_weight("72,5 kg") == 72.5
    assert parse_weight("") is None
    with pytest.raises(ValueError, match="not a number"):
        parse_weight("seventy")
    with pytest.raises(ValueError, match="check the units"):
        parse_weight("720")


def test_reopening_mid_session_resumes_it_with_its_whole_trend(
    qtbot: QtBot, db_path: Path, config: Config
) -> None:
    from console.store import records
    from console.store.events import session_events
    from console.store.writer import StoreWriter
    from devices.reading import Reading

    w = StoreWriter(str(db_path))
    w.start()
    import time

    t0 = time.time() - 1800  # a session that started half an hour ago and never ended (crash)
    sid = w.call(lambda c: records.start_session(c, None, t0)).result(5)
    w.add_samples(sid, [Reading(t0 + 60 * i, "SIMULATOR", mdc.MDC_ECG_HEART_RATE, 70 + i,
                                mdc.MDC_DIM_BEAT_PER_MIN) for i in range(20)])
    w.flush()
    w.stop()
    running = start_core(db_path, devices=None, config=config)
    staff_signed_in(running.ctx.people)  # who is at the console
    window, feed = build_window(running)
    qtbot.addWidget(window)
    try:
        # Issue 9: a session whose process died is offered, not resumed behind anyone's back.
        bar = window.feature(ResumeBar)
        assert running.ctx.sessions.current is None
        assert not bar.isHidden() and "stopped unexpectedly" in bar.text.text()
        SCREENSHOTS.mkdir(exist_ok=True)
        window.resize(1600, 960)
        assert window.grab().save(str(SCREENSHOTS / "console-resume-offer.png"))
        bar.resume_button.click()
        assert running.ctx.sessions.current is not None
        assert running.ctx.sessions.current.id == sid
        assert bar.isHidden()
        assert "recording" in window.header.state.text()
        # The history is drawn right after the window's first paint (issue 17).
        qtbot.waitUntil(lambda: window.vitals.trend.series[mdc.MDC_ECG_HEART_RATE].n >= 20)
        t, v = window.vitals.trend.series[mdc.MDC_ECG_HEART_RATE].arrays()
        finite = v[v == v]
        assert list(finite[:20]) == [70 + i for i in range(20)]
        assert t[0] == pytest.approx(t0)
        running.ctx.writer.flush()
        ev = session_events(running.ctx.reader, sid, ["session.interrupted", "session.resumed"])
        assert [e.kind for e in ev] == ["session.interrupted", "session.resumed"]
        assert ev[0].t == pytest.approx(t0 + 60 * 19), "interrupted at its last stored data"
    finally:
        feed.stop()
        running.stop()


def test_room_mode_dims_the_numerals_but_not_an_alarm(
    console: tuple[MainWindow, Running], qtbot: QtBot
) -> None:
    """Issue 10 moved room mode from each widget's colours to one veil over the window, so
    this looks at the rendered pixels instead of the tile's stylesheet."""
    from PySide6.QtCore import QPoint, QRect
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QApplication

    window, _ = console
    tile = window.vitals.spo2
    qtbot.waitUntil(lambda: tile.value.text().isdigit(), timeout=10_000)

    def brightest() -> float:
        img = window.grab().toImage()
        r = QRect(tile.value.mapTo(window, QPoint(0, 0)), tile.value.size())
        return max(QColor(img.pixel(x, y)).valueF()
                   for y in range(r.top(), r.bottom(), 2) for x in range(r.left(), r.right(), 2))

    normal = brightest()
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply_room_mode(app, True)
    try:
        assert brightest() <= normal * 0.6
        tile.set_alarm("high")
        assert theme.ALARM_HIGH in tile.styleSheet()
        assert theme.SPO2 in tile.value.styleSheet(), "an alarming value stays bright"
        assert brightest() >= normal * 0.95
    finally:
        tile.set_alarm(None)
        theme.apply_room_mode(app, False)


def test_start_dialog_explains_bad_input_and_keeps_what_was_typed(qtbot: QtBot) -> None:
    from console.core.session import Staff
    from console.ui.session_dialog import SessionDialog

    dlg = SessionDialog([], [Staff("Ana Ruiz", "nurse")],
                        lambda: [("im", "IM ketamine")])
    qtbot.addWidget(dlg)
    assert dlg.new.isChecked() and not dlg.existing.isEnabled()
    dlg._accept()  # no name
    assert dlg.choice is None and "needs a name" in dlg.error.text()
    dlg.name.setText("Rosa M.")
    dlg.weight.setText("seventy")
    dlg._accept()
    assert dlg.choice is None and "not a number" in dlg.error.text()
    assert dlg.name.text() == "Rosa M." and dlg.weight.text() == "seventy"
    dlg.weight.setText("70,5")
    dlg.template.setCurrentIndex(1)
    dlg.user.setCurrentIndex(1)
    dlg._accept()
    assert dlg.choice is not None
    assert dlg.choice.new_patient is not None and dlg.choice.new_patient.weight_kg == 70.5
    assert dlg.choice.template == "im" and dlg.choice.user == Staff("Ana Ruiz", "nurse")


def test_a_missing_weight_is_asked_for_in_the_header_and_recorded(
    console: tuple[MainWindow, Running], qtbot: QtBot, db_path: Path
) -> None:
    from console.store.events import session_events

    window, running = console
    start_session_from_choice(running.ctx, SessionChoice(None, NewPatient("No Weight"), None, None))
    header = window.header
    assert header.weight_edit.isVisible() and "weight not entered" in header.who.text()
    header.weight_edit.setText("7,2 stone")
    header.weight_button.click()
    assert "not a number" in header.weight_message.text()
    assert header.weight_edit.text() == "7,2 stone", "what was typed is kept"
    header.weight_edit.setText("700")
    header.weight_button.click()
    assert "check the units" in header.weight_message.text()
    conn = open_db(db_path)
    sid = running.ctx.sessions.current.id  # type: ignore[union-attr]

    def stored_hr() -> int:
        running.ctx.writer.flush()
        return int(conn.execute("SELECT COUNT(*) FROM readings WHERE session_id=? AND code=?",
                                (sid, mdc.MDC_ECG_HEART_RATE)).fetchone()[0])

    qtbot.waitUntil(lambda: stored_hr() >= 4, timeout=15_000)
    before = window.vitals.trend.series[mdc.MDC_ECG_HEART_RATE].n
    header.weight_edit.setText("58.5")
    header.weight_button.click()
    after = window.vitals.trend.series[mdc.MDC_ECG_HEART_RATE].n
    assert after - before < 3, "the session's trend is not loaded again (no duplicate points)"
    assert "58.5 kg" in header.who.text() and not header.weight_edit.isVisible()
    s = running.ctx.sessions.current
    assert s is not None and s.patient is not None and s.patient.weight_kg == 58.5
    running.ctx.writer.flush()
    ev = session_events(open_db(db_path), s.id, ["patient.weight_changed"])
    assert [(e.payload["weight_kg"], e.payload["previous_kg"]) for e in ev] == [(58.5, None)]
