"""Leaving and ending a session, in the real window: closing asks while a session is open, a
double-click never ends a session, and ending a dosed session is a discharge sign-off that
needs a reason when it is early or incomplete — all in the record, before `session.ended`."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from console.core.clock import FakeClock
from console.core.config import Config
from console.core.dosing.discharge import DischargeAnswers, DischargeFacts, assess, early_text
from console.store.db import open_db
from console.store.events import session_events
from console.ui.dosing.dose_feature import DoseFeature
from console.ui.main_window import CLOSE_DETAIL, MainWindow
from tests.helpers.window import (
    begin,
    dose_day,
    pause_before_second_press,
    ready_to_dose,
    whole_console,
)

MIN = 60.0
SHOTS = Path(__file__).resolve().parents[1] / "screenshots"


def press_end_twice(qtbot: QtBot, window: MainWindow) -> None:
    """Two deliberate presses of End session (the second after the pause)."""
    qtbot.mouseClick(window.header.end_button, Qt.MouseButton.LeftButton)
    pause_before_second_press(qtbot, window)
    qtbot.mouseClick(window.header.end_button, Qt.MouseButton.LeftButton)


def test_closing_during_a_session_asks_and_keeps_monitoring_by_default(
        qtbot: QtBot, db_path: Path, config: Config) -> None:
    with whole_console(qtbot, db_path, config) as (window, running):
        begin(running, None)
        sid = running.ctx.sessions.current.id  # type: ignore[union-attr]
        assert window.close() is False, "closing mid-session must ask first"
        question = window.close_question
        assert question is not None
        box = question  # narrowed once, for the waits below
        qtbot.waitUntil(box.isVisible, timeout=3000)
        assert CLOSE_DETAIL in box.informativeText()
        assert "Monitoring, alarms and recording stop" in box.informativeText()
        default = box.defaultButton()
        assert default is not None and default is box.escapeButton()
        assert default.text() == "Keep monitoring"
        qtbot.keyClick(box, Qt.Key.Key_Return)  # Enter answers with the default: keep
        qtbot.waitUntil(lambda: not box.isVisible(), timeout=3000)
        assert window.isVisible() and running.ctx.sessions.current is not None
        # asked again; this time the clinician means it
        assert window.close() is False
        again = window.close_question
        assert again is not None
        qtbot.waitUntil(again.isVisible, timeout=3000)
        box = again
        close = next(b for b in box.buttons()
                     if box.buttonRole(b) == QMessageBox.ButtonRole.DestructiveRole)
        assert close.text() == "Close Holdspace"
        qtbot.mouseClick(close, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=3000)
        running.ctx.writer.flush()
        conn = open_db(db_path)
        assert conn.execute("SELECT state FROM sessions WHERE id=?", (sid,)).fetchone()[0] \
            == "active", "the session stays open and resumes at the next start"


def test_closing_with_no_session_open_asks_nothing(qtbot: QtBot, db_path: Path,
                                                    config: Config) -> None:
    with whole_console(qtbot, db_path, config) as (window, _running):
        assert window.close() is True
        assert window.close_question is None


def test_a_double_click_on_end_does_not_end_the_session(qtbot: QtBot, db_path: Path,
                                                        config: Config) -> None:
    # The console's own clock decides what is "too quick": it stands still here, however
    # slowly the event loop runs under load, and moves only when the test says so.
    clock = FakeClock(time.time())
    with whole_console(qtbot, db_path, config, clock=clock) as (window, running):
        begin(running, None)
        end = window.header.end_button
        qtbot.mouseClick(end, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(end, Qt.MouseButton.LeftButton)  # at once: a double-click
        qtbot.mouseDClick(end, Qt.MouseButton.LeftButton)
        assert running.ctx.sessions.current is not None
        assert "double-click" in window.header.end_hint.text()
        # Ctrl+Shift+E twice in a row is no different
        window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=10_000)
        qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier
                       | Qt.KeyboardModifier.ShiftModifier)
        assert running.ctx.sessions.current is not None
        assert not window.end_accepts_second_press()
        # the deliberate second press ends it (no protocol: nothing to sign off)
        pause_before_second_press(qtbot, window)
        qtbot.mouseClick(end, Qt.MouseButton.LeftButton)
        assert running.ctx.sessions.current is None


def test_ending_early_needs_a_reason_and_a_discharge_sign_off(qtbot: QtBot, db_path: Path,
                                                              config: Config) -> None:
    with whole_console(qtbot, db_path, config) as (window, running):
        begin(running, "im")
        sid = running.ctx.sessions.current.id  # type: ignore[union-attr]
        day = dose_day(window)
        ready_to_dose(window)
        day.give_dose("50")
        panel = window.feature(DoseFeature).discharge
        assert panel is not None
        # first press: the sign-off comes into view (a tab, not a dialog over the vitals)
        qtbot.mouseClick(window.header.end_button, Qt.MouseButton.LeftButton)
        assert window.side_tabs.currentWidget().isAncestorOf(panel)
        assert panel.isVisible() and QApplication.activeModalWidget() is None
        assert "discharge sign-off (Checks tab)" in window.header.end_hint.text()
        assert panel.escort.text() == "Sam (son), 555-0100", "named in the pre-dose checklist"
        assert "Minimum observation not complete" in panel.observation.text()
        pause_before_second_press(qtbot, window)
        qtbot.mouseClick(window.header.end_button, Qt.MouseButton.LeftButton)
        assert running.ctx.sessions.current is not None, "1 h 59 min early, no reason"
        assert "Not ended" in window.header.end_hint.text()
        assert "minimum observation time (120 min per im.toml)" in panel.message.text()
        assert "5 discharge criteria are not ticked" in panel.message.text()
        SHOTS.mkdir(exist_ok=True)
        window.grab().save(str(SHOTS / "ending-sign-off.png"))
        # bad input: a reason of one word is not a reason; nothing is ended or written
        for w in panel.checks.values():
            qtbot.mouseClick(w.label, Qt.MouseButton.LeftButton)  # the words tick the box
        assert all(w.box.isChecked() for w in panel.checks.values())
        qtbot.keyClicks(panel.reason, "ok")
        press_end_twice(qtbot, window)
        assert running.ctx.sessions.current is not None
        assert "Write why the session ends now" in panel.message.text()
        assert panel.reason.text() == "ok", "what was typed is kept"
        qtbot.keyClicks(panel.reason, ": patient asked to leave; Dr Lee reviewed, escort here")
        press_end_twice(qtbot, window)
        assert running.ctx.sessions.current is None
        running.ctx.writer.flush()
        events = session_events(open_db(db_path), sid)
        kinds = [e.kind for e in events]
        assert kinds.index("session.discharge") < kinds.index("session.ended")
        sign = events[kinds.index("session.discharge")]
        p = sign.payload
        assert sign.author == "Ana Nurse" and p["signed_by"] == "Ana Nurse"
        assert p["all_met"] is True and p["escort"] == "Sam (son), 555-0100"
        assert p["observation_complete"] is False and 119 <= p["minutes_early"] <= 120
        assert p["reason"].startswith("ok: patient asked to leave")
        assert [c["met"] for c in p["criteria"]] == [True] * 5
        assert "im.toml" in panel.source.text() or p["criteria_source"]
        ended = events[kinds.index("session.ended")]
        assert ended.payload["reason"] == p["reason"]


def test_after_the_observation_time_unmet_criteria_still_need_a_reason(
        qtbot: QtBot, db_path: Path, config: Config) -> None:
    clock = FakeClock(time.time())
    with whole_console(qtbot, db_path, config, clock=clock) as (window, running):
        begin(running, "im")
        sid = running.ctx.sessions.current.id  # type: ignore[union-attr]
        day = dose_day(window)
        ready_to_dose(window)
        day.give_dose("50")
        clock.advance(121 * MIN)
        panel = window.feature(DoseFeature).discharge
        assert panel is not None
        panel.refresh()
        assert "Minimum observation complete" in panel.observation.text()
        first = next(iter(panel.checks.values()))
        for w in panel.checks.values():
            if w is not first:
                w.box.click()
        qtbot.keyClick(panel.escort, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClick(panel.escort, Qt.Key.Key_Delete)  # the escort did not come
        press_end_twice(qtbot, window)
        assert running.ctx.sessions.current is not None
        assert "1 discharge criterion is not ticked" in panel.message.text()
        assert "no escort is named" in panel.message.text()
        qtbot.keyClicks(panel.reason, "Aldrete 8/10 (tired); daughter collects at 18:00 by taxi")
        press_end_twice(qtbot, window)
        assert running.ctx.sessions.current is None
        running.ctx.writer.flush()
        p = next(e for e in session_events(open_db(db_path), sid)
                 if e.kind == "session.discharge").payload
        assert p["all_met"] is False and p["escort"] is None
        assert p["observation_complete"] is True and p["minutes_early"] == 0
        assert [c["met"] for c in p["criteria"]] == [False, True, True, True, True]
        assert "NO escort named" in p["summary"]


def test_discharge_rules_in_words() -> None:
    facts = DischargeFacts("im", "im.toml", ("SpO2 > 92 %", "Escort present"), "clinical.md",
                           dosed=True, observation_minutes=120, observation_end=10_000.0,
                           now=10_000.0 - 99 * MIN)
    v = assess(facts, DischargeAnswers({"SpO2 > 92 %": True, "Escort present": True},
                                       "Sam", "Ana", ""))
    assert not v.ok and "1 h 39 min" in " ".join(v.why_reason)
    assert assess(facts, DischargeAnswers({}, "Sam", "", "a real reason")).blocking == (
        "Name who signs the discharge: a prescriber or medical monitor, signed in at this "
        "console.",)
    undosed = DischargeFacts("im", "im.toml", ("x",), "", dosed=False, observation_minutes=120,
                             observation_end=None, now=0.0)
    assert assess(undosed, DischargeAnswers()).ok
    assert early_text(40) == "40 s" and early_text(12 * MIN) == "12 min"


def test_the_discharge_is_signed_only_by_a_prescriber_or_medical_monitor_signed_in(
        qtbot: QtBot, db_path: Path, config: Config) -> None:
    """"Signed by" took any typed name and the sign-off went down under it."""
    clock = FakeClock(time.time())
    with whole_console(qtbot, db_path, config, clock=clock) as (window, running):
        begin(running, "im")
        sid = running.ctx.sessions.current.id  # type: ignore[union-attr]
        day = dose_day(window)
        ready_to_dose(window)
        # "given by" is held to the same rule: a name not on staff writes nothing
        dose = window.feature(DoseFeature).dose_panel
        assert dose.givers is not None
        assert dose.givers.model.stringList() == ["Ana Nurse"]
        dose.given_by.selectAll()
        qtbot.keyClicks(dose.given_by, "Kim Helper")
        qtbot.keyClicks(dose.mg, "50")
        qtbot.mouseClick(dose.record_button, Qt.MouseButton.LeftButton)
        assert not day.doses
        assert "Kim Helper is not on the staff list" in dose.message.text()
        assert "Giving a dose needs a prescriber or medical monitor" in dose.message.text()
        day.give_dose("50")
        clock.advance(121 * MIN)
        panel = window.feature(DoseFeature).discharge
        assert panel is not None
        panel.refresh()
        for w in panel.checks.values():
            w.box.click()
        assert panel.signers is not None
        assert panel.signers.model.stringList() == ["Ana Nurse"], "the therapist may not sign"
        for name, says in (("Kim Helper", "Kim Helper is not on the staff list"),
                           ("Ana Ruiz", "(Ana Ruiz is signed in as therapist)")):
            panel.signed_by.selectAll()
            qtbot.keyClicks(panel.signed_by, name)
            press_end_twice(qtbot, window)
            assert running.ctx.sessions.current is not None, f"{name} may not discharge"
            for where in (panel.message.text(), window.header.end_hint.text()):
                assert says in where
                assert "Signing the discharge needs a prescriber or medical monitor" in where
        SHOTS.mkdir(exist_ok=True)
        window.resize(1366, 768)
        window.show_in_side_tab(panel)
        window.grab().save(str(SHOTS / "discharge-signer-refused.png"))
        panel.grab().save(str(SHOTS / "discharge-signer-panel.png"))
        panel.signed_by.selectAll()
        qtbot.keyClicks(panel.signed_by, "Ana Nurse")
        assert "Ready" in panel.message.text(), "a new name clears the refusal"
        press_end_twice(qtbot, window)
        assert running.ctx.sessions.current is None
        running.ctx.writer.flush()
        signed = [e for e in session_events(open_db(db_path), sid)
                  if e.kind == "session.discharge"]
        assert [(e.author, e.payload["signed_by"]) for e in signed] == [
            ("Ana Nurse", "Ana Nurse")]
