"""The console fits the room's screen: 1366×768 and 1280×800 laptops/touch screens, 1080p and
1440p monitors. Every control is reachable without sideways scrolling, the frequent ones are
on screen without scrolling at all, and the vitals' numerals stay at least 48 px — before the
first dose, and dosed with a high alarm on the banner (the tallest the window gets).

Each size saves screenshots/fit-WxH-*.png; they are looked at, not only measured.
Also here: room mode dims every surface but an alarming value (measured on the pixels).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, Qt, QTimer
from PySide6.QtGui import QAction, QColor, QImage
from PySide6.QtWidgets import QApplication, QDialog, QPushButton, QScrollArea, QWidget
from pytestqt.qtbot import QtBot

from console.core.config import Config
from console.ui import theme
from console.ui.dosing.dose_feature import DoseFeature
from console.ui.main_window import MainWindow
from console.ui.music.music_feature import MusicFeature
from console.ui.notes.notes_feature import NotesFeature
from console.ui.notes.staff_dialog import StaffEditor
from devices import mdc
from devices.reading import Reading
from tests.helpers.window import begin, dose_day, manual_vitals, ready_to_dose, whole_console

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"
SIZES = [(1366, 768), (1920, 1080), (2560, 1440), (1280, 800)]


def settle(qtbot: QtBot, window: MainWindow, w: int, h: int) -> None:
    window.resize(w, h)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == (w, h), timeout=3000)
    for _ in range(3):  # the scale switch lays out again once (splitter, panels)
        qtbot.wait(30)
        QApplication.processEvents()


def global_rect(w: QWidget) -> QRect:
    return QRect(w.mapToGlobal(QPoint(0, 0)), w.size())


def on_screen(window: MainWindow, w: QWidget) -> bool:
    """Shown, inside the window, and not scrolled out of its scroll area."""
    if not w.isVisible():
        return False
    r = global_rect(w)
    if not global_rect(window).contains(r):
        return False
    parent = w.parentWidget()
    while parent is not None and parent is not window:
        if isinstance(parent, QScrollArea) and parent.viewport() is not None:
            vp = parent.viewport()
            assert vp is not None
            if not global_rect(vp).contains(r):
                return False
        parent = parent.parentWidget()
    return True


def no_sideways_scrolling(window: MainWindow) -> list[str]:
    """Every page of the side tabs and every panel under a column, each shown in turn."""
    bad = []
    tabs = window.side_tabs
    current = tabs.currentIndex()
    for i in range(tabs.count()):
        if not tabs.isTabVisible(i):
            continue
        tabs.setCurrentIndex(i)
        QApplication.processEvents()
        scroll = tabs.scroll_areas()[i]
        bar = scroll.horizontalScrollBar()
        if bar is not None and bar.maximum() > 0:
            bad.append(f"tab {tabs.tabText(i)}: {bar.maximum()} px to the side")
    tabs.setCurrentIndex(current)
    for scroll in window.findChildren(QScrollArea):
        bar = scroll.horizontalScrollBar()
        if scroll.isVisible() and bar is not None and bar.isVisible() and bar.maximum() > 0:
            bad.append(f"{type(scroll.widget()).__name__}: {bar.maximum()} px to the side")
    if tabs.tabBar().sizeHint().width() > tabs.tabBar().width() + 1:
        bad.append("the tab names do not fit: the tab bar needs arrows")
    return bad


def numeral_px(window: MainWindow) -> dict[str, int]:
    out = {}
    for tile in window.tiles():
        m = re.search(r"font-size:\s*(\d+)px", tile.value.styleSheet())
        assert m is not None
        out[tile.title.text()] = int(m.group(1))
    return out


def show_wide_values(window: MainWindow, running_now: float) -> None:
    """The widest values a tile must hold (a hypertensive NIBP, a 3-digit HR)."""
    src = window.ctx.hub.shown_source(mdc.MDC_PRESS_BLD_NONINV_SYS) or "SIMULATOR"
    window.vitals.add_samples([
        Reading(running_now, src, mdc.MDC_PRESS_BLD_NONINV_SYS, 188, mdc.MDC_DIM_MMHG),
        Reading(running_now, src, mdc.MDC_PRESS_BLD_NONINV_DIA, 112, mdc.MDC_DIM_MMHG),
    ])
    window.vitals.refresh(running_now)


def music_buttons(window: MainWindow) -> list[QPushButton]:
    return list(window.feature(MusicFeature).panel.buttons.values())


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_every_control_fits_the_screen(qtbot: QtBot, db_path: Path, config: Config,
                                       width: int, height: int) -> None:
    SHOTS.mkdir(exist_ok=True)
    with whole_console(qtbot, db_path, config) as (window, running):
        begin(running, "esketamine-rems")  # six tabs, the REMS one among them
        qtbot.waitUntil(lambda: window.vitals.hr.value.text().isdigit(), timeout=10_000)
        settle(qtbot, window, width, height)
        feature = window.feature(DoseFeature)
        checks = feature.checklist

        # --- before the first dose: the checklist, the gate override, the dose entry
        hint = window.minimumSizeHint()
        assert hint.width() <= width and hint.height() <= height, hint
        assert no_sideways_scrolling(window) == []
        window.side_tabs.show_in_page(checks.override)
        QApplication.processEvents()
        assert on_screen(window, checks.override), "Override gate is out of reach"
        for w in (feature.dose_panel.record_button, window.header.end_button,
                  *music_buttons(window)):
            assert on_screen(window, w), w.text()
        show_wide_values(window, running.ctx.clock.now())
        px = numeral_px(window)
        assert min(px.values()) >= theme.NUMERAL_MIN_PX, px
        assert window.grab().save(str(SHOTS / f"fit-{width}x{height}-before-dose.png"))

        # --- dosed, with a high alarm on the banner: the tallest the window gets
        day = dose_day(window)
        ready_to_dose(window)
        day.give_dose("56")
        # BP > 200/120 once: two high alarms; the monitor's next cuff (normal) must not
        # clear them before the picture is taken, so the systolic limit is lowered too.
        day.set_limit("sys-severe", "100", "test: keep an alarm on the banner")
        manual_vitals(window, sys="210", dia="125")
        qtbot.waitUntil(lambda: feature.banner.isVisible(), timeout=3000)
        settle(qtbot, window, width, height)
        hint = window.minimumSizeHint()
        assert hint.width() <= width and hint.height() <= height, hint
        assert no_sideways_scrolling(window) == []
        shown: list[QWidget] = [feature.banner.ack, feature.dose_panel.record_button,
                                window.header.end_button, *window.tiles(),
                                *music_buttons(window)]
        for widget in shown:
            assert on_screen(window, widget), widget.objectName() or type(widget).__name__
        show_wide_values(window, running.ctx.clock.now())
        px = numeral_px(window)
        assert min(px.values()) >= theme.NUMERAL_MIN_PX, px
        assert window.grab().save(str(SHOTS / f"fit-{width}x{height}-alarm.png"))


def brightest(img: QImage, r: QRect) -> float:
    """The highest luminance (0–1) of the pixels inside `r`, sampled every 2 px."""
    best = 0.0
    for y in range(r.top(), r.bottom(), 2):
        for x in range(r.left(), r.right(), 2):
            c = QColor(img.pixel(x, y))
            best = max(best, 0.2126 * c.redF() + 0.7152 * c.greenF() + 0.0722 * c.blueF())
    return best


def test_room_mode_dims_every_surface_but_an_alarming_value(qtbot: QtBot, db_path: Path,
                                                            config: Config) -> None:
    with whole_console(qtbot, db_path, config) as (window, running):
        begin(running, "im")
        settle(qtbot, window, 1920, 1080)
        day = dose_day(window)
        ready_to_dose(window)
        day.give_dose("50")
        feature = window.feature(DoseFeature)
        feature.refresh()
        qtbot.waitUntil(lambda: window.vitals.nibp.value.text() == "128/80", timeout=5000)
        timer = feature.timer_bar
        surfaces = {  # what the issue saw staying bright, and the rest of the window
            "since-dose clock": timer.since, "observation left": timer.observe,
            "NIBP numerals": window.vitals.nibp.value, "header": window.header.who,
            "dose panel": feature.dose_panel.record_button, "tabs": window.side_tabs.tabBar(),
            "trend": window.vitals.trend, "wall clock": window.header.clock,
            "music": window.feature(MusicFeature).panel,
        }

        def measure() -> dict[str, float]:
            img = window.grab().toImage()
            return {k: brightest(img, QRect(w.mapTo(window, QPoint(0, 0)), w.size()))
                    for k, w in surfaces.items()}

        normal = measure()
        room_action = window.feature(MusicFeature).room_action
        room_action.trigger()  # Ctrl+Shift+R, as in the room
        assert theme.room_mode_active()
        try:
            window.refresh(time.time())
            feature.refresh()
            QApplication.processEvents()
            room = measure()
            for k in surfaces:
                assert room[k] <= normal[k] * 0.7 + 0.01, (k, normal[k], room[k])
            SHOTS.mkdir(exist_ok=True)
            window.grab().save(str(SHOTS / "room-mode.png"))
            # a high BP alarm: that tile and the banner stay at full brightness
            day.set_limit("sys-severe", "100", "test: keep the alarm on")
            manual_vitals(window, sys="210", dia="125")
            qtbot.waitUntil(lambda: window.vitals.nibp.alarm == "high", timeout=3000)
            QApplication.processEvents()
            img = window.grab().toImage()
            tile = window.vitals.nibp
            bright = brightest(img, QRect(tile.value.mapTo(window, QPoint(0, 0)),
                                          tile.value.size()))
            assert bright >= normal["NIBP numerals"] * 0.95, (bright, normal["NIBP numerals"])
            banner = feature.banner
            assert brightest(img, QRect(banner.mapTo(window, QPoint(0, 0)),
                                        banner.size())) > 0.5
            window.grab().save(str(SHOTS / "room-mode-alarm.png"))
        finally:
            room_action.trigger()
        assert not theme.room_mode_active()


def _action(window: MainWindow, text: str) -> QAction:
    return next(a for a in window.actions() if a.text() == text)


def _modal_geometry(qtbot: QtBot, action: QAction) -> QRect:
    """Trigger an action that runs a modal dialog; note where it opened; cancel it."""
    seen: list[QRect] = []

    def look() -> None:
        dlg = QApplication.activeModalWidget()
        if isinstance(dlg, QDialog) and not seen:
            seen.append(dlg.frameGeometry())
            dlg.reject()

    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(look)
    timer.start()
    try:
        action.trigger()  # runs the dialog's own event loop until `look` cancels it
    finally:
        timer.stop()
    assert seen, "no dialog opened"
    return seen[0]


def test_dialogs_open_clear_of_the_tiles_and_the_alarm_banner(
        qtbot: QtBot, db_path: Path, config: Config) -> None:
    with whole_console(qtbot, db_path, config) as (window, running):
        settle(qtbot, window, 1366, 768)
        tiles = [global_rect(t) for t in window.tiles()]
        start = _modal_geometry(qtbot, _action(window, "Start session…"))
        assert not any(start.intersects(t) for t in tiles), (start, tiles)
        assert global_rect(window).contains(start)

        begin(running, "im")
        day = dose_day(window)
        ready_to_dose(window)
        day.give_dose("50")
        day.set_limit("sys-severe", "100", "test: keep an alarm on the banner")
        manual_vitals(window, sys="210", dia="125")
        feature = window.feature(DoseFeature)
        qtbot.waitUntil(lambda: feature.banner.isVisible(), timeout=3000)
        settle(qtbot, window, 1366, 768)
        keep = [global_rect(feature.banner), *(global_rect(t) for t in window.tiles())]
        monitors = _modal_geometry(qtbot, _action(window, "Monitors…"))
        assert not any(monitors.intersects(k) for k in keep), (monitors, keep)

        notes = window.feature(NotesFeature)
        notes.open_staff()
        staff = notes.staff_editor
        assert staff is not None
        qtbot.waitUntil(staff.isVisible, timeout=3000)
        assert not any(staff.frameGeometry().intersects(k) for k in keep)
        notes.open_courses()
        courses = notes.course_view
        assert courses is not None
        qtbot.waitUntil(courses.isVisible, timeout=3000)
        assert not any(courses.frameGeometry().intersects(k) for k in keep)
        SHOTS.mkdir(exist_ok=True)
        window.grab().save(str(SHOTS / "dialogs-behind.png"))
        staff.grab().save(str(SHOTS / "staff-list.png"))
        courses.close()
        staff.close()


def test_staff_list_is_a_dialog_escape_closes_and_space_adds_nothing(
        qtbot: QtBot, db_path: Path, config: Config) -> None:
    with whole_console(qtbot, db_path, config) as (window, _running):
        notes = window.feature(NotesFeature)
        notes.open_staff()
        staff = notes.staff_editor
        assert isinstance(staff, StaffEditor)
        qtbot.waitUntil(staff.isVisible, timeout=3000)
        staff.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is staff, timeout=3000)
        rows = staff.table.rowCount()
        qtbot.keyClick(QApplication.focusWidget() or staff, Qt.Key.Key_Space)
        assert staff.table.rowCount() == rows, "a space bar press added a row"
        qtbot.mouseClick(staff.add_button, Qt.MouseButton.LeftButton)  # the explicit way
        assert staff.table.rowCount() == rows + 1
        qtbot.keyClick(staff, Qt.Key.Key_Escape)  # unsaved: the first Escape only warns
        assert staff.isVisible() and "Not saved yet" in staff.message.text()
        qtbot.keyClick(staff, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: not staff.isVisible(), timeout=3000)
        notes.open_staff()  # opened again: saved nothing, and Escape at once closes it
        qtbot.waitUntil(staff.isVisible, timeout=3000)
        staff.table.setRowCount(rows)
        staff.dirty = False
        qtbot.keyClick(staff, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: not staff.isVisible(), timeout=3000)


# ----- crowded: every banner at once, a weight error in the header, the lock's forms -----
CROWDED = [(1366, 768), (1920, 1080)]
LONG_NOTICE = ("A new database key was made for this workstation and kept in the key file "
               "/var/lib/holdspace/keys/database.key (readable by this account only: there is "
               "no keyring service on this workstation). Its RECOVERY KEY is in "
               "/var/lib/holdspace/keys/recovery-key-1dbc666f.txt: print it, keep the paper "
               "locked away (the clinic's safe), then delete the file. If the key is ever lost, "
               "`holdspace recover` opens the records with that paper.")
LONG_NAME = "Maria-Fernanda Rodríguez-Villanueva de la Cruz"


def numerals_unreadable(window: MainWindow) -> list[str]:
    """Each tile's numerals whole inside the tile, at ≥ NUMERAL_MIN_PX, with the small line
    under them (not over them), and the tile itself on screen."""
    from PySide6.QtGui import QFont, QFontMetrics

    bad = []
    px = numeral_px(window)
    for tile in window.tiles():
        name = tile.title.text()
        value = QRect(tile.value.mapTo(tile, QPoint(0, 0)), tile.value.size())
        f = QFont(tile.value.font())
        f.setPixelSize(px[name])
        f.setBold(True)
        line = QFontMetrics(f)
        if px[name] < theme.NUMERAL_MIN_PX:
            bad.append(f"{name}: numerals at {px[name]} px")
        if not tile.rect().contains(value):
            bad.append(f"{name}: numerals {value} outside the tile {tile.rect()}")
        if value.height() < line.height():
            bad.append(f"{name}: numerals {value.height()} px high, their line {line.height()}")
        if line.horizontalAdvance(tile.value.text()) > value.width():
            bad.append(f"{name}: {tile.value.text()!r} wider than its label")
        if tile.detail.isVisible() and tile.detail.geometry().top() < tile.value.geometry().bottom():
            bad.append(f"{name}: the small line overlaps the numerals")
        if not on_screen(window, tile):
            bad.append(f"{name}: tile not on screen")
    return bad


def crowd(qtbot: QtBot, window: MainWindow, running: object, config: Config) -> None:
    """A dosing day at its most crowded before the dose: a patient with no weight and a
    mistyped one (the header's message), a start note on its banner, the simulated-monitor
    banner, and a high alarm on the alarm banner."""
    from console.core import start_notices
    from console.ui.start_notices import StartNotices

    begin(running, "im", weight=None)  # type: ignore[arg-type]
    feature = window.feature(DoseFeature)
    qtbot.waitUntil(lambda: feature.day is not None, timeout=5000)
    window.header.weight_edit.setText("7O")
    window.header.weight_button.click()
    assert window.header.weight_message.isVisible()
    start_notices.keep(config, [LONG_NOTICE, "Files in the data folder were made private."])
    window.feature(StartNotices).banner.refresh()
    day = dose_day(window)
    day.set_limit("sys-severe", "100", "test: keep an alarm on the banner")
    manual_vitals(window, sys="210", dia="125")
    qtbot.waitUntil(lambda: feature.banner.isVisible(), timeout=3000)


@pytest.mark.parametrize(("width", "height"), CROWDED)
def test_numerals_stay_whole_under_every_banner(qtbot: QtBot, db_path: Path, config: Config,
                                                width: int, height: int) -> None:
    """The trend gives way first, then the information banner folds to one line; never the
    numerals, the alarm banner or the header's message."""
    from console.ui.start_notices import StartNotices

    SHOTS.mkdir(exist_ok=True)
    with whole_console(qtbot, db_path, config) as (window, running):
        settle(qtbot, window, width, height)
        crowd(qtbot, window, running, config)
        show_wide_values(window, running.ctx.clock.now())
        settle(qtbot, window, width, height)
        assert window.grab().save(str(SHOTS / f"crowded-{width}x{height}.png"))
        hint = window.minimumSizeHint()
        assert hint.height() <= height, hint
        assert numerals_unreadable(window) == []
        feature = window.feature(DoseFeature)
        for w in (feature.banner, feature.banner.ack, window.header.weight_message,
                  window.header.end_button, window.feature(StartNotices).banner.got_it):
            assert on_screen(window, w), w.objectName() or type(w).__name__
        # the header's message takes one line more at most, whatever its length
        msg = window.header.weight_message
        lines = msg.heightForWidth(msg.width()) // msg.fontMetrics().height()
        assert lines <= 1, (lines, msg.width())
        # the start note: folded to one line on the laptop, whole on 1080p; More… shows it
        # whole in a window clear of the tiles and the alarm banner
        notice = window.feature(StartNotices).banner
        assert notice.folded is (height < 1000), notice.folded
        if notice.folded:
            notice.more.click()
            whole = notice.whole
            assert whole is not None
            qtbot.waitUntil(whole.isVisible, timeout=3000)
            assert "holdspace recover opens the records" in whole.text()
            r = whole.frameGeometry()
            for vital in (feature.banner, *window.tiles()):
                assert not r.intersects(global_rect(vital)), (r, vital)
            whole.close()


@pytest.mark.parametrize(("width", "height"), CROWDED)
def test_the_locks_forms_cover_no_vital(qtbot: QtBot, db_path: Path, config: Config,
                                        width: int, height: int) -> None:
    """Unlock, sign in (after a restart) and the first run's admin form sit over the trend or
    the right column: every tile and the alarm banner stay in sight."""
    from console.ui.people.feature import PeopleUI
    from console.ui.room_overlay import rect_in

    SHOTS.mkdir(exist_ok=True)
    with whole_console(qtbot, db_path, config) as (window, running):
        settle(qtbot, window, width, height)
        ui = window.feature(PeopleUI)
        lock = ui.lock
        feature = window.feature(DoseFeature)

        def form_clear(state: str) -> None:
            settle(qtbot, window, width, height)
            lock.fit()
            box = lock.box.geometry()
            assert window.rect().contains(box), (state, box)
            assert lock.box.minimumSizeHint().height() <= box.height(), state  # not squeezed
            for w in [*window.tiles(), feature.banner, feature.timer_bar]:
                if w.isVisible():
                    assert not box.intersects(rect_in(w, window)), (state, w, box)
            assert window.grab().save(str(SHOTS / f"lock-{state}-{width}x{height}.png"))

        # the first run (no session yet: the clinic admin is made before anything else)
        lock.show_first_admin()
        form_clear("first-admin")
        ui.refresh()  # someone is signed in (the test's staff): the lock goes
        assert not lock.isVisible()
        crowd(qtbot, window, running, config)
        ui.lock_now()
        qtbot.waitUntil(lambda: lock.isVisible(), timeout=3000)
        assert feature.banner.isVisible()
        form_clear("unlock")
        # after a restart (a crash): nobody signed in yet
        lock.show_unlock(running.ctx.people.accounts(), None, "Sign in")  # type: ignore[union-attr]
        form_clear("sign-in")


@pytest.mark.parametrize(("width", "height"), CROWDED)
def test_a_whole_dose_fits_the_field_while_the_gate_is_locked(
        qtbot: QtBot, db_path: Path, config: Config, width: int, height: int) -> None:
    from PySide6.QtWidgets import QStyle, QStyleOptionFrame

    with whole_console(qtbot, db_path, config) as (window, running):
        settle(qtbot, window, width, height)
        begin(running, "im")
        panel = window.feature(DoseFeature).dose_panel
        qtbot.waitUntil(lambda: "LOCKED" in panel.record_button.text(), timeout=5000)
        settle(qtbot, window, width, height)
        mg = panel.mg
        mg.setText("112.5 mg")
        opt = QStyleOptionFrame()
        mg.initStyleOption(opt)
        style = mg.style()
        assert style is not None
        inner = style.subElementRect(QStyle.SubElement.SE_LineEditContents, opt, mg)
        need = mg.fontMetrics().horizontalAdvance("112.5 mg") + 4  # the cursor's margins
        assert inner.width() >= need, (inner.width(), need)
        assert on_screen(window, mg) and on_screen(window, panel.record_button)
        button = panel.record_button
        assert button.fontMetrics().horizontalAdvance(button.text()) <= button.width()
        # the notes, checks and sign panes keep room to write above the dose pane
        # (a low screen: the dose pane asks for at most RIGHT_PANEL_SHARE; the rest scrolls)
        assert window.side_tabs.height() >= 0.55 * window.right_column.height(), (
            window.side_tabs.height(), window.right_column.height())
        assert window.grab().save(str(SHOTS / f"dose-field-locked-{width}x{height}.png"))


def test_a_long_name_at_the_keyboard_leaves_help_in_the_menu_bar(
        qtbot: QtBot, db_path: Path, config: Config) -> None:
    from console.core.people.roles import Role
    from console.ui.people.feature import PeopleUI
    from tests.helpers.staff import Person, add_people

    with whole_console(qtbot, db_path, config) as (window, running):
        settle(qtbot, window, 1366, 768)
        people = running.ctx.people
        assert people is not None
        ui = window.feature(PeopleUI)
        assert "Ana Nurse, RN" in ui.at_keyboard.text()  # a usual name is not cut
        long = Person(LONG_NAME, "RN, MSN", frozenset({Role.MEDICAL_MONITOR}), "9191")
        add_people(people, long)
        people.sign_in(long.name, long.pin)
        qtbot.waitUntil(lambda: "Signed in" in ui.at_keyboard.text(), timeout=3000)
        settle(qtbot, window, 1366, 768)
        bar = window.menuBar()
        corner = ui.at_keyboard.geometry()
        # the corner shows its whole text (not clipped at both ends), the name cut with …
        assert ui.at_keyboard.sizeHint().width() <= corner.width(), (
            ui.at_keyboard.sizeHint(), corner)
        assert "…" in ui.at_keyboard.text()
        for a in bar.actions():
            r = bar.actionGeometry(a)
            assert r.isValid() and bar.rect().contains(r), a.text()
            assert not r.intersects(corner), a.text()
        assert ui.at_keyboard.toolTip() and LONG_NAME in ui.at_keyboard.toolTip()
        assert window.grab().save(str(SHOTS / "long-name-1366x768.png"))
