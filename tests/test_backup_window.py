"""Backups in the window: after a session ends, and what the status bar says about them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from console.app import Running, build_window, start_core
from console.core.config import Config
from console.store.backup import backups_dir, list_backups
from console.ui import theme
from console.ui.backup_feature import BackupFeature
from console.ui.main_window import MainWindow
from console.ui.session_dialog import NewPatient, SessionChoice
from console.ui.shell_actions import start_session_from_choice
from tests.helpers.staff import staff_signed_in
from tests.helpers.window import pause_before_second_press

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"


@pytest.fixture
def usb(tmp_path: Path) -> Path:
    return tmp_path / "media" / "usb" / "holdspace"  # not plugged in yet


@pytest.fixture
def console(qtbot: QtBot, db_path: Path, config: Config,
            usb: Path) -> Iterator[tuple[MainWindow, Running]]:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply_theme(app)
    config.extra["backup"] = {"folder": str(usb)}
    running = start_core(db_path, devices=None, config=config)
    staff_signed_in(running.ctx.people)  # who is at the console
    window, feed = build_window(running)
    qtbot.addWidget(window)
    window.resize(1600, 960)
    window.show()
    yield window, running
    window.close()  # lets a backup under way finish before the writer stops
    feed.stop()
    running.stop()


def test_ending_a_session_backs_up_and_a_missing_disk_is_said_in_the_status_bar(
    console: tuple[MainWindow, Running], qtbot: QtBot, db_path: Path, usb: Path
) -> None:
    window, running = console
    feature = window.feature(BackupFeature)
    assert isinstance(feature, BackupFeature)
    start_session_from_choice(running.ctx, SessionChoice(
        None, NewPatient("Ada Example", "MRN-1", "1950-02-03", 61.0), None, None))
    window.request_end_session()
    pause_before_second_press(qtbot, window)  # a deliberate pause
    window.request_end_session()
    assert running.ctx.sessions.current is None
    local = backups_dir(db_path)
    qtbot.waitUntil(lambda: "plug in the backup disk" in window.problem_message.text(),
                    timeout=20_000)
    assert window.problem_message.text() == (
        f"The backup folder {usb} is not there — plug in the backup disk; a copy was kept "
        f"in {local}.")
    made = list_backups(local, db_path)
    assert len(made) == 1 and made[0].why == "session"
    SCREENSHOTS.mkdir(exist_ok=True)
    assert window.grab().save(str(SCREENSHOTS / "backup-disk-missing.png"))

    usb.mkdir(parents=True)  # the disk is plugged in
    feature.service.backup_now()
    qtbot.waitUntil(lambda: "Backup made and checked" in window.statusBar().currentMessage(),
                    timeout=20_000)
    assert window.problem_message.text() == "", "the problem is cleared by a good backup"
    assert len(list_backups(usb, db_path)) == 1
    assert window.grab().save(str(SCREENSHOTS / "backup-made.png"))
