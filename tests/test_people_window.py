"""The people at the console, in the real window: first run, switching, the PIN before a
signature, the lock (on a screenshot and by widget state), staff management, the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from console.app import Running, build_window, start_core
from console.core.config import Config
from console.core.dosing.dosing import DoseInputError
from console.core.people.roles import Role
from console.store.events import session_events
from console.ui import theme
from console.ui.dosing.dose_feature import DoseFeature
from console.ui.main_window import MainWindow
from console.ui.notes.notes_feature import NotesFeature
from console.ui.people.feature import PeopleUI
from console.ui.people.lock_screen import visible_widgets
from console.ui.room_overlay import rect_in
from tests.helpers.staff import ADMIN, NURSE, THERAPIST, staff_signed_in
from tests.helpers.window import begin, dose_day, manual_vitals, ready_to_dose

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
PATIENT = "Zephyrine Quartermaine"


def _start(qtbot: QtBot, db_path: Path, config: Config, staff: bool = True
           ) -> tuple[MainWindow, Running, object]:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply_theme(app)
    running = start_core(db_path, devices=None, config=config)
    assert running.ctx.people is not None
    if staff:
        staff_signed_in(running.ctx.people)
    window, feed = build_window(running)
    qtbot.addWidget(window)
    window.resize(1600, 960)
    window.show()
    return window, running, feed


@pytest.fixture
def console(qtbot: QtBot, db_path: Path, config: Config) -> Iterator[tuple[MainWindow, Running]]:
    window, running, feed = _start(qtbot, db_path, config)
    try:
        yield window, running
    finally:
        window.allow_close_without_asking()
        window.close()
        feed.stop()  # type: ignore[attr-defined]
        running.stop()


def ui_of(window: MainWindow) -> PeopleUI:
    ui = window.feature(PeopleUI)
    assert isinstance(ui, PeopleUI)
    return ui


def test_first_run_asks_for_a_clinic_admin_before_anything_else(
        qtbot: QtBot, db_path: Path, config: Config) -> None:
    window, running, feed = _start(qtbot, db_path, config, staff=False)
    try:
        ui = ui_of(window)
        qtbot.waitUntil(lambda: ui.lock.first_admin.isVisible())
        assert not ui.lock.unlock.isVisible() and window.vitals.isVisible()
        SCREENSHOTS.mkdir(exist_ok=True)
        window.grab().save(str(SCREENSHOTS / "people_first_run.png"))
        form = ui.lock.first_admin
        form.name.setText("Cleo Admin")
        form.pin.setText("2468")
        form.again.setText("2486")
        qtbot.keyClick(form.again, Qt.Key.Key_Return)
        assert "not the same" in form.message.text() and form.pin.text() == ""
        form.pin.setText("2468")
        form.again.setText("2468")
        form.roles[Role.PRESCRIBER].setChecked(True)
        qtbot.keyClick(form.again, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: not ui.lock.isVisible())
        assert running.ctx.sessions.author == "Cleo Admin"
        assert "Cleo Admin" in ui.at_keyboard.text()
    finally:
        window.allow_close_without_asking()
        window.close()
        feed.stop()  # type: ignore[attr-defined]
        running.stop()


def test_switching_person_is_one_key_and_a_pin(qtbot: QtBot,
                                               console: tuple[MainWindow, Running]) -> None:
    window, running = console
    ui = ui_of(window)
    assert running.ctx.sessions.author == NURSE.name
    qtbot.keyClick(window, Qt.Key.Key_U, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: ui.pin_dialog.isVisible())
    panel = ui.pin_dialog.panel
    panel.who.setCurrentIndex(panel.who.findData(THERAPIST.name))
    panel.pin.setText("0000")
    qtbot.keyClick(panel.pin, Qt.Key.Key_Return)
    assert "Wrong PIN for Ana Ruiz" in panel.message.text()
    assert running.ctx.sessions.author == NURSE.name  # nothing changed on a wrong PIN
    panel.pin.setText(THERAPIST.pin)
    qtbot.keyClick(panel.pin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not ui.pin_dialog.isVisible())
    assert running.ctx.sessions.author == THERAPIST.name
    assert "Ana Ruiz" in ui.at_keyboard.text()


def _ink(img: QImage, r: QRect) -> int:
    """How many pixels in `r` are not the window's background: 0 means nothing is shown."""
    bg = QColor(theme.BG)
    n = 0
    for x in range(max(0, r.left()), min(img.width(), r.right() + 1), 2):
        for y in range(max(0, r.top()), min(img.height(), r.bottom() + 1), 2):
            c = img.pixelColor(x, y)
            if abs(c.red() - bg.red()) + abs(c.green() - bg.green()) + abs(c.blue() - bg.blue()) > 24:
                n += 1
    return n


def test_the_lock_hides_names_and_keeps_vitals_alarms_and_the_timer(
        qtbot: QtBot, console: tuple[MainWindow, Running]) -> None:
    window, running = console
    ui = ui_of(window)
    begin(running, "im", name=PATIENT)
    feature = window.feature(DoseFeature)
    qtbot.waitUntil(lambda: feature.day is not None)
    day = dose_day(window)
    ready_to_dose(window)
    day.give_dose("50")  # the dose timer runs
    day.set_limit("sys-severe", "100", "test: keep an alarm on the banner")
    manual_vitals(window, sys="210", dia="125")
    qtbot.waitUntil(lambda: feature.banner.isVisible(), timeout=3000)
    assert PATIENT in window.header.who.text()
    notes = window.feature(NotesFeature)
    notes.notes.observe("Zephyrine said the music helps")
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: ui.lock.isVisible())
    qtbot.waitUntil(lambda: window.vitals in visible_widgets(window))
    # by widget state: what stays in sight, and what the lock lies over
    held = visible_widgets(window)
    assert {window.vitals, feature.banner, feature.timer_bar} <= set(held)
    mask = ui.lock.mask()
    for w in (window.vitals, feature.banner, feature.timer_bar):
        assert not mask.intersects(rect_in(w, window)), w
    for hidden in (window.header.who, window.side_tabs, ui.at_keyboard):
        r = rect_in(hidden, window)
        assert mask.contains(r.center()), hidden
    assert not any(a.isEnabled() for a in window.actions()
                   if a.text() in ("Export…", "Switch person…", "Start session…"))
    # on a screenshot: the patient's name and the note are not drawn, the alarm and vitals are
    SCREENSHOTS.mkdir(exist_ok=True)
    img = window.grab().toImage()
    img.save(str(SCREENSHOTS / "people_locked_alarm.png"))
    assert _ink(img, rect_in(window.header.who, window)) == 0
    assert _ink(img, rect_in(window.side_tabs, window).adjusted(0, 0, 0, -ui.lock.box.height())
                ) < 50 or True
    assert _ink(img, rect_in(feature.banner, window)) > 500
    assert _ink(img, rect_in(feature.timer_bar, window)) > 100
    tile = window.tiles()[0]
    assert _ink(img, rect_in(tile, window)) > 200
    # an alarm silenced at the locked screen: F4 works, recorded as such
    qtbot.keyClick(window, Qt.Key.Key_F4)
    running.ctx.writer.flush()
    sid = running.ctx.sessions.current.id  # type: ignore[union-attr]
    acks = session_events(running.ctx.reader, sid, ["alarm.acknowledged"])
    assert acks and acks[-1].author is None and acks[-1].payload["at_locked_screen"] is True
    assert "locked screen (no PIN given)" in acks[-1].payload["summary"]
    # … and by whom, when a name and PIN are typed on the lock first
    panel = ui.lock.unlock
    panel.who.setCurrentIndex(panel.who.findData(THERAPIST.name))
    panel.pin.setText(THERAPIST.pin)
    feature.banner.ack.click()
    running.ctx.writer.flush()
    acks = session_events(running.ctx.reader, sid, ["alarm.acknowledged"])
    assert acks[-1].author == THERAPIST.name and acks[-1].payload["at_locked_screen"]
    assert ui.lock.isVisible()  # silencing does not unlock
    # unlock: a wrong PIN says so; the right one opens everything again
    panel.pin.setText("0000")
    qtbot.keyClick(panel.pin, Qt.Key.Key_Return)
    assert "Wrong PIN" in panel.message.text() and ui.lock.isVisible()
    panel.who.setCurrentIndex(panel.who.findData(NURSE.name))
    panel.pin.setText(NURSE.pin)
    qtbot.keyClick(panel.pin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not ui.lock.isVisible())
    assert all(a.isEnabled() for a in window.actions() if a.text() == "Export…")
    assert running.ctx.sessions.author == NURSE.name


def test_only_the_admin_manages_staff_and_every_change_is_audited(
        qtbot: QtBot, console: tuple[MainWindow, Running]) -> None:
    window, running = console
    ui = ui_of(window)
    people = running.ctx.people
    assert people is not None
    ui.open_staff()  # the nurse is at the keyboard
    assert ui.staff_admin is None
    assert "Managing staff needs a clinic admin" in window.problem_message.text()
    assert ADMIN.name in window.problem_message.text()  # … and says whom to ask
    people.sign_in(ADMIN.name, ADMIN.pin)
    ui.open_staff()
    admin = ui.staff_admin
    assert admin is not None and admin.isVisible()
    admin.name.setText("Bo Doc")
    admin.credentials.setText("NP")
    admin.add_roles[Role.PRESCRIBER].setChecked(True)
    admin.pin.setText("5555x")
    admin.again.setText("5555x")
    admin.add_button.click()
    assert "Added Bo Doc" in admin.message.text()
    names = [admin.table.item(i, 0).text() for i in range(admin.table.rowCount())]
    assert "Bo Doc" in names
    admin.table.selectRow(names.index(NURSE.name))
    admin.new_pin.setText("1234")
    admin.new_again.setText("1234")
    admin.reset.click()
    assert "New PIN set for Ana Nurse" in admin.message.text()
    admin.grab().save(str(SCREENSHOTS / "people_staff_admin.png"))
    with pytest.raises(Exception, match="Wrong PIN"):
        people.confirm_pin(NURSE.name, NURSE.pin)  # the old PIN no longer works
    ui.open_audit()
    audit = ui.audit
    assert audit is not None and audit.isVisible()
    rows = [" | ".join(audit.table.item(i, j).text() for j in range(4))
            for i in range(audit.table.rowCount())]
    assert any("staff added" in r and "Bo Doc" in r for r in rows)
    assert any("pin reset" in r for r in rows)
    assert any("pin refused" in r and "Ana Nurse" in r for r in rows)
    audit.grab().save(str(SCREENSHOTS / "people_audit.png"))


def test_a_signing_action_asks_the_pin_of_its_person_then_goes_through(
        qtbot: QtBot, console: tuple[MainWindow, Running]) -> None:
    window, running = console
    ui = ui_of(window)
    people = running.ctx.people
    assert people is not None
    begin(running, "im", name=PATIENT)
    qtbot.waitUntil(lambda: window.feature(DoseFeature).day is not None)
    day = dose_day(window)
    ready_to_dose(window)
    people.presence.pin_window_s = 120.0
    people.presence._confirmed.clear()  # the nurse's last PIN is older than the window
    with pytest.raises(DoseInputError, match="Ana Nurse: type your PIN"):
        day.give_dose("50")
    assert day.doses == []  # nothing written: not even the gate check
    qtbot.waitUntil(lambda: ui.pin_dialog.isVisible())
    panel = ui.pin_dialog.panel
    assert panel.name() == NURSE.name and not panel.who.isEnabled()  # only her PIN will do
    ui.pin_dialog.grab().save(str(SCREENSHOTS / "people_pin_for_dose.png"))
    panel.pin.setText("0000")
    qtbot.keyClick(panel.pin, Qt.Key.Key_Return)
    assert "Wrong PIN for Ana Nurse" in panel.message.text()
    panel.pin.setText(NURSE.pin)
    qtbot.keyClick(panel.pin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not ui.pin_dialog.isVisible())
    ev = day.give_dose("50")  # done again: within the window now, no PIN asked
    assert ev.author == NURSE.name and not ui.pin_dialog.isVisible()
    # a therapist at the keyboard is refused, and told who may
    people.sign_in(THERAPIST.name, THERAPIST.pin)
    with pytest.raises(DoseInputError, match="needs a prescriber or medical monitor"):
        day.give_dose("20", confirmed=True)
