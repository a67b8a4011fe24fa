"""The smaller things from issue 10, in the real window: words a tired nurse reads right,
dose labels that do not print over each other, a note log that follows the newest entry,
and a README whose key list is the window's."""

from __future__ import annotations

import re
import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from console.core.clock import FakeClock
from console.core.config import Config
from console.core.dosing.templates import sustain_text
from console.core.music.music_controller import MusicState
from console.ui import theme
from console.ui.clock_axis import ClockAxis
from console.ui.dosing.dose_feature import DoseFeature
from console.ui.dosing.timer_bar import duration_words
from console.ui.music.music_feature import MusicFeature
from console.ui.notes.notes_feature import NotesFeature
from tests.helpers.window import begin, dose_day, ready_to_dose, whole_console

README = Path(__file__).resolve().parents[1] / "README.md"
MEDIA = {"Media Next", "Media Play", "Media Previous", "Media Stop", "Toggle Media Play/Pause"}


def readme_keys() -> dict[str, str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Keys", 1)[1].split("\n#", 1)[0]
    return {m.group(1): m.group(2).strip()
            for m in re.finditer(r"^\| `([^`]+)` \| (.+?) \|$", section, re.M)}


def test_the_readme_key_table_is_the_windows(qtbot: QtBot, db_path: Path,
                                             config: Config) -> None:
    with whole_console(qtbot, db_path, config) as (window, _running):
        actions = {a for a in window.findChildren(QAction) if a.text()}
        window_wide = [a for a in actions
                       if a.shortcutContext() != Qt.ShortcutContext.WidgetShortcut]
        pairs = [(ks.toString(QKeySequence.SequenceFormat.PortableText), a.text())
                 for a in window_wide for ks in a.shortcuts()]
        # Two actions on one key make Qt fire neither ("ambiguous shortcut"): never allowed.
        keys = [k for k, _t in pairs if k]
        clashes = sorted({k for k in keys if keys.count(k) > 1})
        assert not clashes, [(k, [t for kk, t in pairs if kk == k]) for k in clashes]
        shortcuts = dict(pairs) | {"L": "Trend: follow now"}
        actual = {k for k in shortcuts if k and k not in MEDIA}
        documented = readme_keys()
        assert set(documented) == actual, (
            f"in the window, not in README: {sorted(actual - set(documented))}; "
            f"in README, not in the window: {sorted(set(documented) - actual)}")
        for key, words in documented.items():  # and each says what the action is
            first = shortcuts[key].split("(")[0].split("…")[0].split(":")[0].strip().lower()
            assert first.split()[0] in words.lower(), (key, shortcuts[key], words)


def test_times_and_durations_read_as_durations() -> None:
    assert duration_words(274) == "4 min 34 s"
    assert duration_words(52) == "52 s" and duration_words(3900) == "1 h 05 min"
    assert sustain_text(0.25) == "15 s" and sustain_text(5) == "5 min"
    assert sustain_text(1.5) == "1 min 30 s"


def test_the_window_uses_those_words(qtbot: QtBot, db_path: Path, config: Config) -> None:
    clock = FakeClock(time.time())
    with whole_console(qtbot, db_path, config, clock=clock) as (window, running):
        feature = window.feature(DoseFeature)
        # no session: the dose panel says where to choose a protocol
        feature.dose_panel.record()
        assert "Session ▸ Start session… (Ctrl+N)" in feature.dose_panel.message.text()
        begin(running, "im")
        day = dose_day(window)
        ready_to_dose(window)
        day.give_dose("50")
        clock.advance(25 * 60)
        day.give_dose("20", confirmed=True)  # a booster below the range, confirmed
        clock.advance(4 * 60 + 34)
        feature.refresh()
        note = feature.timer_bar.since_note.text()
        assert "last dose 4 min 34 s ago (2 doses)" in note, note
        limits = " ".join(lab.text() for lab in feature.limits.findChildren(type(
            feature.limits.message)))
        assert "for 15 s" in limits and "0.25 min" not in limits
        # the radio buttons and disabled fields of the start dialog can be told apart
        sheet = QApplication.instance().styleSheet()  # type: ignore[union-attr]
        assert "QRadioButton::indicator" in sheet and "QLineEdit:disabled" in sheet


def test_silence_ends_with_a_whole_word(qtbot: QtBot, db_path: Path, config: Config) -> None:
    with whole_console(qtbot, db_path, config) as (window, running):
        begin(running, None)
        music = window.feature(MusicFeature)
        qtbot.waitUntil(lambda: music.music.state is MusicState.PLAYING, timeout=3000)
        music.music.silence()
        qtbot.waitUntil(lambda: music.music.state is MusicState.SILENT, timeout=5000)
        music.panel.refresh()
        assert music.panel.buttons["silence"].text().startswith("End silence")


def test_an_empty_time_axis_shows_no_milliseconds(qtbot: QtBot) -> None:
    import pyqtgraph as pg

    empty = ClockAxis(orientation="bottom")
    plot = pg.PlotWidget(axisItems={"bottom": empty})  # nothing in it: range 0-1 s of 1970
    qtbot.addWidget(plot)
    plot.show()
    QApplication.processEvents()
    lo, hi = plot.getViewBox().viewRange()[0]
    assert hi - lo <= 1.5
    assert empty.tickStrings([0.1, 0.2, 0.3], 1.0, 0.1) == ["", "", ""]


def test_close_dose_labels_do_not_print_over_each_other(qtbot: QtBot, db_path: Path,
                                                         config: Config) -> None:
    with whole_console(qtbot, db_path, config) as (window, running):
        trend = window.vitals.trend
        now = running.ctx.clock.now()
        trend.set_now(now)
        trend.add_marker(now - 90, "▼ 14 mg", theme.TEXT)
        trend.add_marker(now - 30, "▼ 140 mg", theme.TEXT)
        trend.set_window(2 * 3600)  # zoomed out: the two lines almost touch
        QApplication.processEvents()
        plot = next(iter(trend.plots.values()))
        labels = [item.label for item in plot.items
                  if getattr(item, "label", None) is not None][-2:]
        assert len(labels) == 2
        a, b = (lab.sceneBoundingRect() for lab in labels)
        assert not a.intersects(b), (a, b)


def test_the_note_log_follows_the_newest_entry_unless_scrolled_up(
        qtbot: QtBot, db_path: Path, config: Config) -> None:
    with whole_console(qtbot, db_path, config) as (window, running):
        begin(running, "im")
        notes = window.feature(NotesFeature)
        pane = notes.pane
        window.side_tabs.setCurrentWidget(pane)
        QApplication.processEvents()
        log = pane.entries
        assert log.height() >= log.fontMetrics().lineSpacing() * 8, "taller than 4 rows"
        for i in range(30):
            notes.notes.observe(f"observation {i}")
        QApplication.processEvents()
        last = log.item(log.count() - 1)
        assert "observation 29" in last.text()
        assert log.viewport().rect().intersects(log.visualItemRect(last)), "newest in view"
        bar = log.verticalScrollBar()
        bar.setValue(0)  # the clinician scrolls up to read
        notes.notes.observe("observation 30")
        QApplication.processEvents()
        assert bar.value() == 0, "reading further up: the list does not jump"
        bar.setValue(bar.maximum())
        notes.notes.observe("observation 31")
        QApplication.processEvents()
        newest = log.item(log.count() - 1)
        assert "observation 31" in newest.text()
        assert log.viewport().rect().intersects(log.visualItemRect(newest))


def _contrast(a: QColor, b: QColor) -> float:
    def lum(c: QColor) -> float:
        def ch(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * ch(c.redF()) + 0.7152 * ch(c.greenF()) + 0.0722 * ch(c.blueF())
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_radio_buttons_show_and_disabled_fields_look_disabled(qtbot: QtBot) -> None:
    """The start dialog in the dark theme: a radio button's circle stands out from the
    background, and the greyed-out form of the other choice looks greyed out."""
    from console.core.session import Staff
    from console.store.records import Patient
    from console.ui.session_dialog import SessionDialog

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply_theme(app)
    dlg = SessionDialog([Patient(1, "Rosa M.", None, None, 70.0)], [Staff("Ana", "nurse")])
    qtbot.addWidget(dlg)
    dlg.show()
    QApplication.processEvents()
    img = dlg.grab().toImage()
    bg = QColor(theme.BG)

    def strongest(w: QWidget, width: int = 26) -> float:
        top = w.mapTo(dlg, w.rect().topLeft())
        return max(_contrast(QColor(img.pixel(x, y)), bg)
                   for x in range(top.x(), top.x() + width) for y in range(top.y(), top.y() + w.height()))

    for radio in (dlg.existing, dlg.new):  # checked and unchecked: both circles visible
        assert strongest(radio) >= 3.0, radio.text()
    assert dlg.existing.isChecked() and not dlg.name.isEnabled()
    dlg.name.setText("Typed before")
    QApplication.processEvents()
    disabled = _brightest(dlg, dlg.name)
    dlg.new.setChecked(True)
    QApplication.processEvents()
    enabled = _brightest(dlg, dlg.name)
    assert enabled - disabled > 0.25, (enabled, disabled)
    shots = Path(__file__).resolve().parents[1] / "screenshots"
    shots.mkdir(exist_ok=True)
    dlg.grab().save(str(shots / "start-dialog.png"))


def _brightest(dlg: QWidget, w: QWidget) -> float:
    """How lit a field looks: its brightest pixel (the typed text, when there is some)."""
    img = dlg.grab().toImage()
    top = w.mapTo(dlg, w.rect().topLeft())
    return max(QColor(img.pixel(x, y)).valueF()
               for x in range(top.x(), top.x() + w.width(), 2)
               for y in range(top.y(), top.y() + w.height(), 2))
