"""The first run's notes (the database key, its recovery key, files made private) on a calm
banner with Got it, not in the status bar: shown until dismissed, never again after, kept in
the workstation settings across a restart; the status bar stays one line and the trend keeps
its height."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from console.app import Running, build_window, start_core, start_notes
from console.cli import check_db
from console.core import start_notices
from console.core.config import Config
from console.store import keys
from console.ui import theme
from console.ui.crash_guard import CrashGuard
from console.ui.dosing.alarm_banner import AlarmBanner
from console.ui.live_feed import LiveFeed
from console.ui.main_window import MainWindow
from console.ui.start_notices import GOT_IT, StartNotices
from console.ui.status_line import OneLineLabel
from tests.helpers.staff import ADMIN, CHEAP, staff_signed_in

SCREENS = {"laptop": (1366, 768), "1080p": (1920, 1080)}
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"


@pytest.fixture
def first_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A fresh workstation: no key yet, so opening the database makes one and says where it
    is and where its recovery key is (the key file: the tests' keyring is off)."""
    data = tmp_path / "data"
    monkeypatch.setenv("HOLDSPACE_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("HOLDSPACE_DATA_DIR", str(data))
    keys.forget_cached()
    keys.take_notices()
    data.mkdir()
    data.chmod(0o755)  # readable by others (whatever the umask): made private, and said
    yield check_db(data / "holdspace.db")
    keys.forget_cached()


def _start(qtbot: QtBot, db: Path, cfg_path: Path, notes: list[str], size: tuple[int, int],
           signed_in: bool = True) -> tuple[MainWindow, LiveFeed, Running, Config]:
    """What `run_gui` does: keep the start's notes, then the core and the window."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply_theme(app)
    config = Config.load(cfg_path)
    start_notices.keep(config, start_notes(notes, CrashGuard(db.parent)))
    running = start_core(db, devices=None, config=config)
    if signed_in:
        staff_signed_in(running.ctx.people)
    window, feed = build_window(running)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    return window, feed, running, config


@contextmanager
def console(qtbot: QtBot, db: Path, cfg_path: Path, notes: list[str],
            size: tuple[int, int] = SCREENS["laptop"], signed_in: bool = True,
            ) -> Iterator[tuple[MainWindow, Running, Config]]:
    window, feed, running, config = _start(qtbot, db, cfg_path, notes, size, signed_in)
    try:
        yield window, running, config
    finally:
        window.allow_close_without_asking()
        window.close()
        feed.stop()
        running.stop()


def notices(window: MainWindow) -> StartNotices:
    return window.feature(StartNotices)


def test_first_run_notes_are_a_banner_with_got_it_and_the_status_bar_stays_one_line(
        qtbot: QtBot, tmp_path: Path, first_run: list[str]) -> None:
    notes = first_run
    text = " ".join(notes)
    assert "RECOVERY KEY" in text and str(keys.key_file()) in text
    assert "now readable by this account only" in text
    db, cfg_path = tmp_path / "data" / "holdspace.db", tmp_path / "workstation.json"
    for name, size in SCREENS.items():
        with console(qtbot, db, cfg_path, notes, size) as (window, _running, config):
            banner = notices(window).banner
            qtbot.waitUntil(banner.isVisible, timeout=5000)
            # the recovery key first: where it is, what to do with it, the command
            shown = banner.text.text()
            assert shown.index("For the clinic admin") < shown.index("RECOVERY KEY")
            assert str(keys.key_file()) in shown
            assert "print it" in shown and "holdspace recover" in shown
            assert banner.got_it.text() == GOT_IT and banner.got_it.isVisible()
            assert f"{len(notes) - 1} more" in banner.count.text()
            # calm: no alarm colour anywhere on it
            for colour in (theme.ALARM_HIGH, theme.ALARM_MEDIUM, theme.ALARM_LOW):
                assert colour not in banner.styleSheet() + banner.text.styleSheet() + shown
            # nothing of it in the status bar, which is not even shown
            assert not window.statusBar().isVisible()
            assert "RECOVERY" not in window.problem_text()
            # under the alarm banner, above the tiles: neither is covered
            alarm = window.findChild(AlarmBanner)
            assert alarm is not None
            assert window.banners.indexOf(alarm) < window.banners.indexOf(banner)
            for tile in window.tiles():
                assert tile.isVisible() and tile.height() >= tile.minimumSizeHint().height()
                assert not tile.geometry().intersects(banner.geometry())
            trend = window.vitals.trend.layout_widget
            assert trend.height() >= trend.minimumHeight()
            SCREENSHOTS.mkdir(exist_ok=True)
            window.grab().save(str(SCREENSHOTS / f"start-notes-{name}.png"))

            # The status bar never grows past one line, whatever it is told; the trend keeps
            # its height.
            qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith(
                "Record intact"), timeout=10_000)  # said for a while once checked: not this
            window.statusBar().clearMessage()
            window.show_problem("Saving is slow.")
            qtbot.waitUntil(lambda: window.problem_message.isVisible(), timeout=2000)
            qtbot.wait(50)  # let the layout settle (heights are compared, not waited for)
            one_line = window.statusBar().height()
            trend_before = trend.height()
            window.show_problem(text)  # all the notes at once, as it was before
            qtbot.waitUntil(lambda: window.problem_message.isVisible(), timeout=2000)
            qtbot.wait(50)
            assert window.statusBar().height() == one_line
            assert window.problem_message.height() <= window.problem_message.fontMetrics(
                ).height() + 4
            assert trend.height() == trend_before
            assert window.problem_text() == text and window.problem_message.toolTip() == text
            window.show_problem("")

            if name == "1080p":
                # Got it, one by one: each note goes for good, the trend gets its height back
                shown_first = banner.shown
                qtbot.mouseClick(banner.got_it, _left())
                assert banner.shown != shown_first and shown_first not in config.notices
                while banner.isVisible():
                    qtbot.mouseClick(banner.got_it, _left())
                assert config.notices == []
                qtbot.waitUntil(_taller(trend, trend_before), timeout=2000)


def _taller(w: QWidget, than: int) -> Callable[[], bool]:
    return lambda: w.height() > than


def _left() -> object:
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_a_dismissed_note_stays_dismissed_after_a_restart_and_an_unread_one_comes_back(
        qtbot: QtBot, tmp_path: Path, first_run: list[str]) -> None:
    db, cfg_path = tmp_path / "data" / "holdspace.db", tmp_path / "workstation.json"
    notes = first_run
    with console(qtbot, db, cfg_path, notes) as (window, _running, _config):
        banner = notices(window).banner
        qtbot.waitUntil(banner.isVisible, timeout=5000)
        dismissed = banner.shown
        qtbot.mouseClick(banner.got_it, _left())
        left = banner.shown
        assert left and left != dismissed
    # the next start on the same data folder and settings: nothing new to say (the key is
    # there), the dismissed note does not come back, the unread ones do
    again = check_db(db)
    assert not any("RECOVERY KEY" in n for n in again)
    assert dismissed not in Config.load(cfg_path).notices
    with console(qtbot, db, cfg_path, again) as (window, _running, config):
        banner = notices(window).banner
        qtbot.waitUntil(banner.isVisible, timeout=5000)
        assert banner.shown == left and dismissed not in config.notices
        while banner.isVisible():
            qtbot.mouseClick(banner.got_it, _left())
    with console(qtbot, db, cfg_path, check_db(db)) as (window, _running, _config):
        banner = notices(window).banner
        qtbot.wait(100)  # the banner looks again once the window's first events have run
        assert not banner.isVisible() and Config.load(cfg_path).notices == [], banner.shown


def test_the_notes_wait_behind_the_lock_and_appear_once_the_clinic_admin_is_made(
        qtbot: QtBot, tmp_path: Path, first_run: list[str]) -> None:
    db, cfg_path = tmp_path / "data" / "holdspace.db", tmp_path / "workstation.json"
    with console(qtbot, db, cfg_path, first_run, signed_in=False) as (window, running, _c):
        people = running.ctx.people
        assert people is not None
        banner = notices(window).banner
        qtbot.waitUntil(lambda: people.presence.locked, timeout=5000)
        qtbot.wait(100)
        # not shown on the lock (and it takes no height from the vitals there)
        assert not banner.isVisible()
        assert not window.statusBar().isVisible()
        people.cost = CHEAP
        people.create_first_admin(ADMIN.name, "", ADMIN.pin, ADMIN.pin)
        qtbot.waitUntil(banner.isVisible, timeout=5000)
        assert "RECOVERY KEY" in banner.shown
        people.lock("key")
        qtbot.waitUntil(lambda: not banner.isVisible(), timeout=5000)


def test_the_last_runs_crash_is_a_note_too(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "crash.log").write_text("Fatal Python error: Segmentation fault\n")
    said = start_notes(["A note."], CrashGuard(tmp_path))
    assert said[0] == "A note." and "closed unexpectedly last time" in said[1]
    cfg = Config(path=tmp_path / "ws.json")
    start_notices.keep(cfg, said + said)  # the same note twice is one note
    assert Config.load(tmp_path / "ws.json").notices == said


def test_the_one_line_label_says_everything_in_its_tooltip(qtbot: QtBot) -> None:
    label = OneLineLabel("")
    qtbot.addWidget(label)
    long = "The disk is slow: waiting for it to start the session. " * 6
    label.setText(long)
    label.resize(400, 30)
    label.show()
    qtbot.waitExposed(label)
    assert label.text() == long and label.toolTip() == long
    assert label.minimumSizeHint().width() == 0  # never widens the window
    assert label.sizeHint().height() == label.fontMetrics().height()
    shown = super(OneLineLabel, label).text()
    assert shown.endswith("…") and len(shown) < len(long)


def test_a_passing_note_is_never_drawn_over_a_problem(qtbot: QtBot, tmp_path: Path) -> None:
    """A problem (the disk is full) keeps the status line: a note said meanwhile ("Record
    intact…") is not painted over it, and notes show again once the problem is gone."""
    from tests.helpers.window import whole_console

    problem = ("Could not save to the database: the disk is full (or a file-size limit was "
               "reached). Everything is kept and retried; do not close Holdspace.")
    with whole_console(qtbot, tmp_path / "h.db", Config(path=tmp_path / "w.json"),
                       size=SCREENS["laptop"]) as (window, _running):
        window.show_status("Report saved.", 60_000)
        window.show_problem(problem)
        bar = window.statusBar()
        assert bar.currentMessage() == ""  # the note gave way
        window.show_status("Record intact: 3 entries verified.", 60_000)
        assert bar.currentMessage() == ""
        assert window.problem_message.isVisible() and window.problem_text() == problem
        window.show_problem("")
        window.show_status("Record intact: 3 entries verified.", 60_000)
        assert bar.currentMessage() == "Record intact: 3 entries verified."
