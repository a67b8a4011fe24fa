"""Dose entry that cannot slip (issue 10, items 4–8), in the real window with every feature.

The console is built as `holdspace` builds it (`start_core` + `build_window`: the built-in
simulator on a real pty, a real SQLite file, the notes, music and dose features), with a
FakeClock at the real time so a booster can be 25 minutes later without waiting. Keys are
pressed on the window, so the window's own shortcuts (F2, Ctrl+Y) are what is tested.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QWidget,
)
from pytestqt.qtbot import QtBot

from console.app import Running, build_window, start_core
from console.core.clock import FakeClock
from console.core.config import Config, StaffConfig
from console.core.dosing.dose_day import DoseDay
from console.core.session import Staff
from console.store import records
from console.store.events import Event, session_events
from console.ui import session_dialog, theme
from console.ui.dosing.dose_feature import DoseFeature
from console.ui.dosing.dose_panel import DosePanel
from console.ui.music.music_feature import MusicFeature
from console.ui.notes.notes_feature import NotesFeature
from console.ui.session_dialog import SessionDialog
from tests.helpers.staff import PRESCRIBER, staff_signed_in
from tests.helpers.window import pause_before_second_press

MIN = 60.0
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"


class Room:
    """The whole console as started by `holdspace`, on its built-in simulator."""

    def __init__(self, qtbot: QtBot, tmp_path: Path, size: tuple[int, int] = (1600, 1000)) -> None:
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        theme.apply_theme(app)
        self.qtbot = qtbot
        self.clock = FakeClock(time.time())
        config = Config(path=tmp_path / "workstation.json",
                        staff=[StaffConfig("Ana Nurse", "nurse"),
                               StaffConfig("Dr Lee", "physician")])
        self.running: Running = start_core(tmp_path / "room.db", None, config, clock=self.clock,
                                           data_dir=tmp_path / "data")
        self.ctx = self.running.ctx
        staff_signed_in(self.running.ctx.people, PRESCRIBER)  # who is at the console
        self.window, self.feed = build_window(self.running)
        qtbot.addWidget(self.window)
        self.window.resize(*size)
        self.window.show()
        self.window.activateWindow()
        qtbot.waitUntil(self.window.isActiveWindow, timeout=5000)

    @property
    def panel(self) -> DosePanel:
        return self.window.feature(DoseFeature).dose_panel

    @property
    def day(self) -> DoseDay:
        day = self.window.feature(DoseFeature).day
        assert day is not None
        return day

    def begin(self, template: str = "palliative-low", weight: float = 70.0,
              name: str = "Rosa M.") -> int:
        ctx = self.ctx
        ctx.sessions.set_user(Staff("Ana Nurse", "nurse"))
        pid = ctx.writer.call(lambda conn: records.create_patient(
            conn, name, ctx.clock.now(), birth_date="1948-05-01", weight_kg=weight)).result(5)
        ctx.sessions.start(pid, template=template)
        return int(pid)

    def ready(self) -> None:
        """The pre-dose checklist ticked and a baseline BP/HR typed: dosing unlocked."""
        checklist = self.window.feature(DoseFeature).checklist
        for item_id, w in checklist.inputs.items():
            if isinstance(w, QCheckBox):
                w.click()
            else:
                assert isinstance(w, QLineEdit)
                w.setText("6" if item_id.startswith("fasting") else "Sam (son), 555-0100")
                w.editingFinished.emit()
        self.day.manual_vitals({"sys": "124", "dia": "78", "hr": "70"})
        self.window.feature(DoseFeature).refresh()
        assert self.day.dosing_allowed(), self.day.gate().reasons

    def key(self, key: Qt.Key, mod: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
        """A key pressed where the nurse's focus is (the window's shortcuts handle it)."""
        target = QApplication.focusWidget() or self.window
        self.qtbot.keyClick(target, key, mod)

    def type_dose(self, text: str) -> None:
        self.panel.mg.setFocus()
        self.panel.mg.clear()
        self.qtbot.keyClicks(self.panel.mg, text)

    def events(self, *kinds: str) -> list[Event]:
        self.ctx.writer.flush()
        assert self.ctx.sessions.current is not None
        return session_events(self.ctx.reader, self.ctx.sessions.current.id, kinds or None)

    def close(self) -> None:
        self.window.close()
        self.feed.stop()
        self.running.stop()


@pytest.fixture
def rooms(qtbot: QtBot) -> Iterator[list[Room]]:
    made: list[Room] = []
    yield made
    for r in made:
        r.close()


def whole(label: QLabel) -> bool:
    """A wrapped label has all the height its text needs (a squeezed layout cuts lines)."""
    return label.height() >= label.heightForWidth(label.width()) - 1


def on_screen(w: QWidget, window: QWidget, screen: QRect) -> bool:
    """`w` is shown, not clipped away by its scroll area, and inside the screen's area."""
    if not w.isVisible() or w.visibleRegion().isEmpty():
        return False
    rect = QRect(w.mapTo(window, QPoint(0, 0)), w.size())
    area = w.parentWidget()
    while area is not None and not isinstance(area, QScrollArea):
        area = area.parentWidget()
    if area is not None:
        vp = area.viewport()
        view = QRect(vp.mapTo(window, QPoint(0, 0)), vp.size())
        if not view.contains(rect):
            return False
    return screen.intersected(window.rect()).contains(rect)


# ---------------------------------------------------------------- 4. visible questions
@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_the_out_of_range_question_appears_in_view_after_f2(
        qtbot: QtBot, tmp_path: Path, rooms: list[Room], size: tuple[int, int]) -> None:
    room = Room(qtbot, tmp_path, size)
    rooms.append(room)
    room.begin()
    room.ready()
    panel, window = room.panel, room.window
    screen = QRect(0, 0, *size)
    room.type_dose("30")
    room.key(Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: panel.confirm_box.isVisible(), timeout=3000)
    assert "Record 30 mg" in panel.confirm_text.text()
    assert "above the 7–21 mg range" in panel.confirm_text.text()
    assert "30 mg" in panel.confirm_yes.text() and "Ctrl+Y" in panel.confirm_yes.text()
    assert room.events("dose.given") == []
    qtbot.waitUntil(lambda: whole(panel.confirm_text), timeout=3000)
    SCREENSHOTS.mkdir(exist_ok=True)
    window.grab().save(str(SCREENSHOTS / f"dose_question_{size[0]}x{size[1]}.png"))
    panel.grab().save(str(SCREENSHOTS / f"dose_question_panel_{size[0]}x{size[1]}.png"))
    # in view in the dose panel's own scroll area, whatever the window's height
    qtbot.waitUntil(lambda: on_screen(panel.confirm_text, window, window.rect())
                    and on_screen(panel.confirm_yes, window, window.rect()), timeout=3000)
    assert window.height() <= size[1], (
        f"the window must fit a {size[1]} px screen (minimum "
        f"{window.minimumSizeHint().height()} px)")
    qtbot.waitUntil(lambda: on_screen(panel.confirm_text, window, screen)
                    and on_screen(panel.confirm_yes, window, screen), timeout=3000)
    # a refusal is said in view too, with what was typed kept
    room.type_dose("1400")
    assert not panel.confirm_box.isVisible()
    room.key(Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: on_screen(panel.message, window, screen), timeout=3000)
    assert "more than 10 times" in panel.message.text() and panel.mg.text() == "1400"


# ---------------------------------------------------------------- 5. graded stops
def test_stops_are_graded_and_an_edit_withdraws_the_question(
        qtbot: QtBot, tmp_path: Path, rooms: list[Room]) -> None:
    room = Room(qtbot, tmp_path, (1366, 768))
    rooms.append(room)
    room.begin()
    room.ready()
    panel = room.panel
    # outside the range: the question names the number; typing withdraws it
    room.type_dose("30")
    room.key(Qt.Key.Key_F2)
    assert panel.confirm_box.isVisible() and "Record 30 mg" in panel.confirm_text.text()
    qtbot.keyClick(panel.mg, Qt.Key.Key_Backspace)
    qtbot.keyClicks(panel.mg, "5")
    assert panel.mg.text() == "35" and not panel.confirm_box.isVisible()
    assert "question was withdrawn" in panel.message.text()
    room.key(Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert room.events("dose.given") == []  # Ctrl+Y after an edit records nothing
    room.key(Qt.Key.Key_F2)
    assert "Record 35 mg" in panel.confirm_text.text()
    room.key(Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    first = room.events("dose.given")
    assert [e.payload["mg"] for e in first] == [35.0]
    p = first[0].payload
    assert (p["out_of_range"], p["protocol_range"], p["confirmed_by"], p["above_ceiling"]) == (
        "above", "7–21 mg", "Ana Nurse", False)
    assert "ABOVE THE PROTOCOL RANGE 7–21 mg" in p["summary"]
    assert "⚠ ABOVE RANGE 7–21 mg" in panel.log.text() and "Ana Nurse" in panel.log.text()
    # the marker is in the note as it will be signed
    note = room.window.feature(NotesFeature).pane
    qtbot.waitUntil(lambda: "ABOVE THE PROTOCOL RANGE 7–21 mg" in note.full_note.toPlainText(),
                    timeout=5000)  # the note picks up other features' entries each second

    # beyond the hard ceiling (2 x 21 mg): 140 mg needs a second named person
    room.clock.advance(25 * MIN)
    room.type_dose("140")
    room.key(Qt.Key.Key_F2)
    assert panel.confirm_box.isVisible() and panel.second.isVisible()
    assert "Record 140 mg = 2.00 mg/kg (beyond the 42 mg hard ceiling)?" in (
        panel.confirm_text.text())
    assert "A second person must confirm" in panel.confirm_text.text()
    # the question and its button are in view in the dose panel, however low its row is
    qtbot.waitUntil(lambda: on_screen(panel.confirm_text, room.window, room.window.rect())
                    and on_screen(panel.confirm_yes, room.window, room.window.rect()),
                    timeout=3000)
    names = [panel.second.itemData(i) for i in range(panel.second.count())]
    assert names == [None, "Dr Lee"]  # from the staff list, not the nurse herself
    room.key(Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert "Choose the second person" in panel.confirm_hint.text()
    assert len(room.events("dose.given")) == 1
    # "1400" then Ctrl+Y must not record 140
    panel.mg.setFocus()
    qtbot.keyClicks(panel.mg, "0")
    assert panel.mg.text() == "1400" and not panel.confirm_box.isVisible()
    room.key(Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert len(room.events("dose.given")) == 1
    qtbot.keyClick(panel.mg, Qt.Key.Key_Backspace)
    room.key(Qt.Key.Key_F2)
    panel.second.setCurrentIndex(1)
    qtbot.waitUntil(lambda: whole(panel.confirm_text)
                    and on_screen(panel.second, room.window, room.window.rect()), timeout=3000)
    SCREENSHOTS.mkdir(exist_ok=True)
    room.window.grab().save(str(SCREENSHOTS / "dose_second_person_1366x768.png"))
    panel.grab().save(str(SCREENSHOTS / "dose_second_person_panel.png"))
    room.key(Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    doses = room.events("dose.given")
    assert [e.payload["mg"] for e in doses] == [35.0, 140.0]
    p = doses[1].payload
    assert (p["above_ceiling"], p["confirmed_by"], p["second_person"], p["ceiling_mg"]) == (
        True, "Ana Nurse", "Dr Lee", 42.0)
    assert doses[1].author == "Ana Nurse"
    assert "BEYOND THE HARD CEILING of 42 mg — confirmed by Ana Nurse and checked by Dr Lee" in (
        p["summary"])
    assert "BEYOND THE CEILING of 42 mg" in panel.log.text() and "Dr Lee" in panel.log.text()
    assert panel.mg.text() == "" and not panel.confirm_box.isVisible()


# ---------------------------------------------------------------- 6. entered in error
def test_a_dose_entered_in_error_is_struck_through_and_not_counted(
        qtbot: QtBot, tmp_path: Path, rooms: list[Room]) -> None:
    room = Room(qtbot, tmp_path, (1366, 768))
    rooms.append(room)
    room.begin()
    room.ready()
    panel = room.panel
    room.type_dose("14")
    room.key(Qt.Key.Key_F2)
    (dose,) = room.events("dose.given")
    assert "Cumulative this session: 14.0 mg (0.20 mg/kg)" in panel.cumulative.text()
    links = re.findall(r"href='(void:[^']+)'", panel.log.text())
    assert links == [f"void:{dose.uid}"]
    panel.log.linkActivated.emit(links[0])  # what a click on "entered in error…" does
    assert panel.void_box.isVisible() and "14 mg" in panel.void_text.text()
    qtbot.mouseClick(panel.void_yes, Qt.MouseButton.LeftButton)  # no reason yet
    assert "Write why" in panel.void_message.text()
    assert room.events("dose.entered_in_error") == []
    qtbot.keyClicks(panel.void_reason, "typed twice, given once")
    qtbot.mouseClick(panel.void_yes, Qt.MouseButton.LeftButton)
    (void,) = room.events("dose.entered_in_error")
    assert (void.refers_to, void.author, void.payload["reason"]) == (
        dose.uid, "Ana Nurse", "typed twice, given once")
    assert room.events("dose.given") == [dose]  # never deleted
    log = panel.log.text()
    assert "<s>" in log and "ENTERED IN ERROR" in log and "typed twice, given once" in log
    assert "void:" not in log
    assert "Cumulative this session: 0 mg" in panel.cumulative.text()
    # the next dose is the first that counts, with its mg/kg total
    room.type_dose("14")
    room.key(Qt.Key.Key_F2)
    assert "Cumulative this session: 14.0 mg (0.20 mg/kg) · 1 dose(s)" in (
        panel.cumulative.text())
    assert room.day.doses[0].role == "initial"
    note = room.window.feature(NotesFeature).pane
    qtbot.waitUntil(lambda: "ENTERED IN ERROR" in note.full_note.toPlainText(), timeout=5000)
    SCREENSHOTS.mkdir(exist_ok=True)
    panel.grab().save(str(SCREENSHOTS / "dose_entered_in_error_panel.png"))
    room.window.grab().save(str(SCREENSHOTS / "dose_entered_in_error_1366x768.png"))


# ---------------------------------------------------------------- 7. reset and wheel
def test_fields_are_empty_for_the_next_patient(
        qtbot: QtBot, tmp_path: Path, rooms: list[Room]) -> None:
    room = Room(qtbot, tmp_path)
    rooms.append(room)
    room.begin(name="First Patient")
    panel = room.panel
    checklist = room.window.feature(DoseFeature).checklist
    qtbot.keyClicks(panel.mg, "50")
    qtbot.keyClicks(panel.lot, "LOT-1")
    qtbot.keyClicks(panel.when, "5")
    qtbot.keyClicks(checklist.reason, "half-typed reason")
    panel.moaas.setCurrentIndex(3)
    room.window.request_end_session()
    pause_before_second_press(qtbot, room.window)  # a deliberate pause
    room.window.request_end_session()
    assert room.ctx.sessions.current is None
    # between patients the panel names no protocol, weight or lock of the one who left
    assert panel.protocol.text() == "" and "LOCKED" not in panel.record_button.text()
    room.begin(name="Second Patient")
    assert (panel.mg.text(), panel.lot.text(), panel.when.text()) == ("", "", "")
    assert panel.moaas.currentIndex() == 0 and checklist.reason.text() == ""
    assert panel.given_by.text() == "Ana Nurse" and not panel.confirm_box.isVisible()


def wheel(w: QWidget, down: bool = True) -> None:
    centre = QPointF(w.width() / 2, w.height() / 2)
    ev = QWheelEvent(centre, QPointF(w.mapToGlobal(centre.toPoint())), QPoint(0, 0),
                     QPoint(0, -120 if down else 120), Qt.MouseButton.NoButton,
                     Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(w, ev)


def test_the_wheel_changes_no_unfocused_input_anywhere(
        qtbot: QtBot, tmp_path: Path, rooms: list[Room]) -> None:
    room = Room(qtbot, tmp_path)
    rooms.append(room)
    room.begin()
    moaas = room.panel.moaas
    assert moaas.currentIndex() == 0  # MOAA/S 5
    for _ in range(6):
        wheel(moaas)
    assert moaas.currentIndex() == 0
    assert moaas.focusPolicy() == Qt.FocusPolicy.StrongFocus  # the wheel gives no focus
    volume = room.window.feature(MusicFeature).panel.volume
    before = volume.value()
    wheel(volume, down=before > volume.minimum())
    assert volume.value() == before
    # a spin box and a combo box added later (a dialog's, say) are covered too
    spin = QSpinBox(room.window)
    spin.setValue(5)
    dialog = SessionDialog([], [Staff("Ana Nurse", "nurse")], room.window.template_choices,
                           room.window)
    qtbot.addWidget(dialog)
    dialog.show()
    spin.show()
    wheel(spin)
    wheel(dialog.template)
    assert spin.value() == 5 and dialog.template.currentIndex() == 0
    # once clicked into on purpose, the wheel works as usual
    moaas.setFocus()
    qtbot.waitUntil(moaas.hasFocus, timeout=2000)
    wheel(moaas)
    assert moaas.currentIndex() == 1


# ---------------------------------------------------------------- 8. inputs in words
def test_date_of_birth_must_be_a_real_past_date() -> None:
    parse_birth_date = session_dialog.parse_birth_date
    weight_concern = session_dialog.weight_concern
    today = date(2025, 6, 1)
    assert parse_birth_date("", today) is None
    assert parse_birth_date("1985-3-7", today) == "1985-03-07"
    for bad, words in (("1985-13-40", "no month 13"), ("1985-02-30", "no day 30"),
                       ("07/03/1985", "year-month-day"), ("2030-01-01", "in the future"),
                       ("1880-01-01", "more than 120 years ago")):
        with pytest.raises(ValueError, match=words):
            parse_birth_date(bad, today)
    assert weight_concern(82, 180) is not None and "82 kg to 180 kg" in (
        weight_concern(82, 180) or "")
    assert weight_concern(82, 85) is None and weight_concern(None, 15) is not None


def test_start_dialog_refuses_an_impossible_birth_date_and_asks_about_odd_weights(
        qtbot: QtBot) -> None:
    dlg = SessionDialog([], [Staff("Ana Nurse", "nurse")])
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.keyClicks(dlg.name, "New Person")
    qtbot.keyClicks(dlg.birth, "1985-13-40")
    qtbot.keyClicks(dlg.weight, "15")
    buttons = dlg.findChild(QDialogButtonBox)
    assert buttons is not None
    start = buttons.button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(start, Qt.MouseButton.LeftButton)
    assert dlg.choice is None and "not a real date" in dlg.problems[dlg.birth].text()
    SCREENSHOTS.mkdir(exist_ok=True)
    dlg.grab().save(str(SCREENSHOTS / "start_dialog_birth_date.png"))
    assert dlg.problems[dlg.birth].isVisible() and dlg.birth.text() == "1985-13-40"
    dlg.birth.clear()
    qtbot.keyClicks(dlg.birth, "1985-03-07")
    qtbot.mouseClick(start, Qt.MouseButton.LeftButton)
    assert dlg.choice is None and "15 kg is outside the usual 20–300 kg" in (
        dlg.problems[dlg.weight].text())
    qtbot.mouseClick(start, Qt.MouseButton.LeftButton)  # asked once, confirmed by a 2nd press
    assert dlg.choice is not None and dlg.choice.new_patient is not None
    assert (dlg.choice.new_patient.birth_date, dlg.choice.new_patient.weight_kg) == (
        "1985-03-07", 15.0)


def test_a_big_weight_change_mid_session_needs_confirmation(
        qtbot: QtBot, tmp_path: Path, rooms: list[Room]) -> None:
    room = Room(qtbot, tmp_path)
    rooms.append(room)
    pid = room.begin(weight=82.0)
    header = room.window.header
    room.key(Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert header.weight_edit.isVisible()
    qtbot.keyClicks(header.weight_edit, "180")
    qtbot.keyClick(header.weight_edit, Qt.Key.Key_Return)

    def weight() -> float | None:
        room.ctx.writer.flush()
        p = records.get_patient(room.ctx.reader, pid)
        return p.weight_kg if p else None

    assert weight() == 82.0 and room.events("patient.weight_changed") == []
    assert "from 82 kg to 180 kg (+120 %)" in header.weight_message.text()
    assert header.weight_edit.text() == "180" and "Confirm 180 kg" in header.weight_button.text()
    SCREENSHOTS.mkdir(exist_ok=True)
    header.grab().save(str(SCREENSHOTS / "header_weight_change_question.png"))
    # an edit withdraws the question; the new number is asked about in turn
    qtbot.keyClick(header.weight_edit, Qt.Key.Key_Backspace)
    assert header.weight_message.text() == ""
    qtbot.keyClicks(header.weight_edit, "5")
    qtbot.keyClick(header.weight_edit, Qt.Key.Key_Return)
    assert "from 82 kg to 185 kg" in header.weight_message.text() and weight() == 82.0
    qtbot.mouseClick(header.weight_button, Qt.MouseButton.LeftButton)
    assert weight() == 185.0
    assert [e.payload.get("weight_kg") for e in room.events("patient.weight_changed")] == [185.0]


def test_hours_since_food_that_is_not_a_number_is_refused_beside_the_field(
        qtbot: QtBot, tmp_path: Path, rooms: list[Room]) -> None:
    room = Room(qtbot, tmp_path)
    rooms.append(room)
    room.begin()
    checklist = room.window.feature(DoseFeature).checklist
    room.window.side_tabs.setCurrentWidget(room.window.feature(DoseFeature).left)
    food = checklist.inputs["fasting_food"]
    assert isinstance(food, QLineEdit)
    food.setFocus()
    qtbot.keyClicks(food, "abc")
    qtbot.keyClick(food, Qt.Key.Key_Return)
    problem = checklist.problems["fasting_food"]
    assert "“abc” is not a number of hours" in problem.text() and problem.isVisible()
    assert food.text() == "abc"
    # ticking another item does not make the problem go away unseen
    box = next(w for w in checklist.inputs.values() if isinstance(w, QCheckBox))
    box.click()
    assert "is not a number of hours" in problem.text() and food.text() == "abc"
    qtbot.waitUntil(lambda: on_screen(problem, room.window, room.window.rect()), timeout=3000)
    SCREENSHOTS.mkdir(exist_ok=True)
    checklist.grab().save(str(SCREENSHOTS / "checklist_hours_refused.png"))
    assert [e.payload["item"] for e in room.events("checklist.item")] == [
        next(k for k, w in checklist.inputs.items() if w is box)]
    assert "Hours since last food" in " ".join(room.day.gate().missing)
    food.clear()
    qtbot.keyClicks(food, "6,5 h")
    qtbot.keyClick(food, Qt.Key.Key_Return)
    assert not problem.isVisible() and room.day.answers["fasting_food"] == 6.5
