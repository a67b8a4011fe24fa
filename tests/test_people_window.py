"""The people at the console, in the real window: first run, switching, the PIN before a
signature, the lock (on a screenshot and by widget state), staff management, the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from console.app import Running, build_window, start_core
from console.core.config import Config
from console.core.people.roles import Role
from console.store.events import session_events
from console.ui import theme
from console.ui.main_window import MainWindow
from console.ui.people.feature import PeopleUI
from console.ui.people.lock_screen import visible_widgets
from tests.helpers.staff import ADMIN, NURSE, THERAPIST, staff_signed_in
from tests.helpers.window import begin

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
    ui = window.people_ui  # type: ignore[attr-defined]
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
        assert "Cleo Admin" in ui.at_keyboard.who.text()
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
    assert "Ana Ruiz" in ui.at_keyboard.who.text()


def test_the_lock_hides_names_and_keeps_vitals_alarms_and_the_timer(
        qtbot: QtBot, console: tuple[MainWindow, Running]) -> None:
    window, running = console
    ui = ui_of(window)
    begin(running, "im", name=PATIENT)
    feature = window.dose_feature  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: feature.day is not None)
    assert PATIENT in window.header.who.text()
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: ui.lock.isVisible())
    SCREENSHOTS.mkdir(exist_ok=True)
    shot = window.grab()
    shot.save(str(SCREENSHOTS / "people_locked.png"))
    held = visible_widgets(window)
    assert window.vitals in held and feature.timer_bar in held
    assert window.header not in held and window.side_tabs not in held
    assert running.ctx.people is not None and running.ctx.people.presence.locked


def test_only_the_admin_manages_staff_and_every_change_is_audited(
        qtbot: QtBot, console: tuple[MainWindow, Running]) -> None:
    window, running = console
    ui = ui_of(window)
    people = running.ctx.people
    assert people is not None
    ui.open_staff()  # the nurse is at the keyboard
    assert ui.staff_admin is None
    assert "Managing staff needs a clinic admin" in ui.at_keyboard.message.text()
    assert ADMIN.name in ui.at_keyboard.message.text()  # … and says whom to ask
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
