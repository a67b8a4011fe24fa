"""Found by walking a whole dosing day on the real console (1366×768, two people, two patients):
what the screen pre-fills and what it keeps from the last patient.

Real parts: the simulator over a pty, the hub, the writer and its SQLite file, the real window
with the dose feature (see tests/test_dose_ui.py for the harness).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent, QTextDocument
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from console.core.clock import FakeClock
from console.core.config import Config
from console.core.session import Staff
from console.store.records import Patient
from console.ui import theme
from console.ui.dosing.rems_panel import RemsPanel
from console.ui.notes.note_pane import NotePane
from console.ui.session_dialog import SessionDialog
from console.ui.side_tabs import PageScroll
from console.ui.vitals.vitals_strip import VitalsStrip
from devices import mdc
from devices.link import LinkState, LinkStatus
from devices.protocol import DecoderStats
from devices.reading import Quality, Reading
from tests.helpers.window import whole_console
from tests.notes_support import rig
from tests.test_dose_ui import Console, begin, fill_checklist, start_sim


@pytest.fixture
def consoles(qtbot: QtBot) -> Iterator[list[Console]]:
    made: list[Console] = []
    yield made
    for c in made:
        if c.window.isVisible():
            c.close()


def test_given_by_and_signed_by_follow_a_switch_and_nothing_of_the_schedule_stays(
        qtbot: QtBot, tmp_path: Path, consoles: list[Console], config: Config) -> None:
    """Ana starts the session; Dr Lee takes the keyboard (Ctrl+U) and gives the dose. The dose
    must not go down as given by Ana, nor the discharge as signed by her; after the end, the
    last patient's check schedule is gone from the Checks tab."""
    sim = start_sim("calm", 179, tmp_path)  # a cuff BP ~3 s after start
    try:
        c = Console(qtbot, tmp_path / "w.db", sim.port, FakeClock(time.time()),
                    tmp_path / "data", config)
        consoles.append(c)
        begin(c, "im")
        feature, panel = c.feature, c.feature.dose_panel
        qtbot.waitUntil(lambda: feature.day is not None
                        and feature.day.gate().baseline["sys"] is not None, timeout=30000)
        fill_checklist(qtbot, c)
        qtbot.waitUntil(lambda: "Gate passed" in feature.checklist.gate.text(), timeout=5000)
        assert panel.given_by.text() == "Ana Nurse"

        c.ctx.sessions.set_user(Staff("Dr Lee", "prescriber"))  # what Ctrl+U does
        assert panel.given_by.text() == "Dr Lee"
        qtbot.keyClicks(panel.mg, "50")
        qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
        dose = c.events("dose.given")[0]
        assert (dose.author, dose.payload["given_by"]) == ("Dr Lee", "Dr Lee")

        # a name typed by hand (someone else gave it) stays through a switch
        panel.given_by.clear()
        qtbot.keyClicks(panel.given_by, "Kim Helper")
        c.ctx.sessions.set_user(Staff("Ana Nurse", "nurse"))
        assert panel.given_by.text() == "Kim Helper"

        discharge = feature.discharge
        assert discharge is not None
        discharge.refresh()
        assert discharge.signed_by.text() == "Ana Nurse"
        c.ctx.sessions.set_user(Staff("Dr Lee", "prescriber"))
        assert discharge.signed_by.text() == "Dr Lee"

        checklist = feature.checklist
        assert "BP every 15 min" in checklist.observation.text()
        c.ctx.sessions.end("walk")
        qtbot.waitUntil(lambda: c.ctx.sessions.current is None, timeout=5000)
        qtbot.waitUntil(lambda: feature.day is None, timeout=5000)
        assert checklist.observation.text() == ""
        assert "Observation" not in checklist.title.text()
    finally:
        for con in consoles:
            con.close()
        consoles.clear()
        sim.stop()


def test_signing_refuses_while_a_section_holds_unsaved_text(qtbot: QtBot, qapp: Any,
                                                             tmp_path: Path) -> None:
    """Mood 6 typed in Check-in, not saved, then Sign: the session was signed and locked
    without it while the box still showed 6, as if it were in the note."""
    theme.apply_theme(qapp)
    with rig(tmp_path) as r:
        p = NotePane(r.notes, lambda: [("Ana Ruiz", "therapist")],
                     default_author=lambda: r.sessions.author)
        qtbot.addWidget(p)
        p.show()
        assert "Sign once the session has ended" in p.sign_state.text()
        r.sessions.end()
        qtbot.waitUntil(lambda: r.sessions.current is None)
        # it has ended: the Sign tab no longer tells to wait for the end
        qtbot.waitUntil(lambda: "Read the note below, then sign it" in p.sign_state.text())
        ci = p.section_boxes["check_in"]
        qtbot.keyClicks(ci.inputs["mood"], "6")
        assert ci.dirty
        p.sign_name.setCurrentText("Ana Ruiz")
        p.sign_role.setText("therapist")
        p.sign_button.click()
        assert "Not signed: Check-in has text that is not saved yet" in p.message.text()
        assert r.notes.record().signature is None
        ci.save_button.click()
        qtbot.waitUntil(lambda: "saved" in ci.state.text())
        p.sign_button.click()
        assert "signed and locked" in p.message.text()
        sec = r.notes.record().section("check_in")
        assert sec is not None and sec.current["fields"]["mood"] == 6.0


def test_what_the_note_pane_says_comes_into_view_on_a_low_screen(qtbot: QtBot, qapp: Any,
                                                                 tmp_path: Path) -> None:
    """At 1366×768 the Notes tab shows ~150 px of the pane: a refused score (said at the
    pane's top) and the adverse-event form (Ctrl+Shift+A) were below or above the fold."""
    theme.apply_theme(qapp)
    with rig(tmp_path) as r:
        p = NotePane(r.notes, lambda: [("Ana Ruiz", "therapist")],
                     default_author=lambda: r.sessions.author)
        page = PageScroll(p)
        qtbot.addWidget(page)
        page.resize(440, 160)
        page.show()
        qtbot.waitExposed(page)
        page.ensureWidgetVisible(p.score_edit)
        qtbot.waitUntil(lambda: not p.score_edit.visibleRegion().isEmpty())
        qtbot.keyClicks(p.score_edit, "9")
        qtbot.keyClick(p.score_edit, Qt.Key.Key_Return)
        assert "MOAA/S goes from 0 to 5" in p.message.text()
        qtbot.waitUntil(lambda: not p.message.visibleRegion().isEmpty())
        page.verticalScrollBar().setValue(0)
        p.open_ae_form()
        qtbot.waitUntil(lambda: not p.ae_what.visibleRegion().isEmpty())
        page.grab().save(str(tmp_path / "ae.png"))


def test_a_lost_monitor_link_greys_its_live_values_at_once(qtbot: QtBot, qapp: Any) -> None:
    """The simulator was stopped (a cable pulled): the banner said "Monitor link lost" while
    HR 70, SpO2 98 and RR 14 stayed big and green, with no age, for several more seconds."""
    theme.apply_theme(qapp)
    strip = VitalsStrip()
    qtbot.addWidget(strip)
    strip.resize(1200, 600)
    strip.show()
    t0 = 1_800_000_000.0
    src = "sim:/dev/pts/3"
    strip.add_samples([
        Reading(t0, src, mdc.MDC_ECG_HEART_RATE, 70, mdc.MDC_DIM_BEAT_PER_MIN, Quality.VALID),
        Reading(t0, src, mdc.MDC_PULS_OXIM_SAT_O2, 98, mdc.MDC_DIM_PERCENT, Quality.VALID),
        Reading(t0 - 100, src, mdc.MDC_PRESS_BLD_NONINV_SYS, 121, mdc.MDC_DIM_MMHG,
                Quality.VALID),
        Reading(t0 - 100, src, mdc.MDC_PRESS_BLD_NONINV_DIA, 79, mdc.MDC_DIM_MMHG,
                Quality.VALID)])
    strip.refresh(t0 + 1)
    assert not strip.hr.is_stale(t0 + 1) and not strip.spo2.is_stale(t0 + 1)
    strip.set_link_status(LinkStatus(src, LinkState.LOST, "Port not found", t0 + 1,
                                     DecoderStats()))
    assert theme.STALE in strip.hr.value.styleSheet() and "link lost" in strip.hr.detail.text()
    strip.refresh(t0 + 1)
    for tile in (strip.hr, strip.spo2):
        assert tile.is_stale(t0 + 1)
        assert "link lost" in tile.detail_text
    assert not strip.nibp.is_stale(t0 + 1)  # a cuff BP keeps its own age
    assert "link lost" not in strip.nibp.detail_text
    # another monitor's link says nothing about these values; the next value is current
    strip.add_samples([Reading(t0 + 2, src, mdc.MDC_ECG_HEART_RATE, 72,
                               mdc.MDC_DIM_BEAT_PER_MIN, Quality.VALID)])
    strip.refresh(t0 + 2)
    assert not strip.hr.is_stale(t0 + 2) and "link lost" not in strip.hr.detail_text
    assert strip.spo2.is_stale(t0 + 2)


def test_the_windows_ctrl_keys_work_while_typing_in_a_field(qtbot: QtBot, tmp_path: Path,
                                                            config: Config) -> None:
    """On the clinic's Linux, Ctrl+U (switch person) in the observation field deleted what was
    typed and switched nobody; Ctrl+E (export) went to the end of the line. Which Ctrl keys a
    field claims depends on the platform (here, offscreen, Ctrl+Y is "redo"): whatever the
    platform, a field does not claim a key the window has an action for."""
    with whole_console(qtbot, tmp_path / "k.db", config, size=(1366, 768)) as (window, _r):
        notes = window.findChild(NotePane)
        assert notes is not None
        field = notes.obs_edit
        window.show_side_tab(notes)
        field.setFocus()
        qtbot.waitUntil(field.hasFocus)
        ctrl = Qt.KeyboardModifier.ControlModifier
        for key in (Qt.Key.Key_U, Qt.Key.Key_E, Qt.Key.Key_Y, Qt.Key.Key_L):
            ev = QKeyEvent(QEvent.Type.ShortcutOverride, key, ctrl)
            ev.setAccepted(False)
            QApplication.sendEvent(field, ev)
            assert not ev.isAccepted(), key  # left to the window's shortcut
        # Ctrl+A (select all) is not the window's: the field keeps it
        ev = QKeyEvent(QEvent.Type.ShortcutOverride, Qt.Key.Key_A,
                       Qt.KeyboardModifier.ControlModifier)
        ev.setAccepted(False)
        QApplication.sendEvent(field, ev)
        assert ev.isAccepted()
        # and the key does what the window says: Ctrl+U asks who takes over
        qtbot.keyClicks(field, "Eyes closed")
        qtbot.keyClick(field, Qt.Key.Key_U, Qt.KeyboardModifier.ControlModifier)
        assert field.text() == "Eyes closed"


def test_a_link_alarm_rebuilt_at_resume_clears_when_the_monitor_is_live(
        qtbot: QtBot, tmp_path: Path, consoles: list[Console], config: Config) -> None:
    """Resumed after a kill -9 with the monitor live again: "Monitor link lost … since 16:10"
    stayed up (music lowered) beside live values, because the link had said "live" before
    the session was resumed and says nothing more until it changes."""
    sim = start_sim("calm", 179, tmp_path)  # a cuff BP ~3 s after start
    clock = FakeClock(time.time())
    db = tmp_path / "r.db"
    try:
        c = Console(qtbot, db, sim.port, clock, tmp_path / "data", config)
        consoles.append(c)
        begin(c, "im")
        feature, panel = c.feature, c.feature.dose_panel
        qtbot.waitUntil(lambda: feature.day is not None
                        and feature.day.gate().baseline["sys"] is not None, timeout=30000)
        fill_checklist(qtbot, c)
        qtbot.waitUntil(lambda: "Gate passed" in feature.checklist.gate.text(), timeout=5000)
        qtbot.keyClicks(panel.mg, "50")
        qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
        (src,) = c.ctx.hub.statuses()
        day = feature.day
        assert day is not None
        day.link(LinkStatus(src, LinkState.LOST, "Connection to the monitor lost", clock.now(),
                            DecoderStats()))  # the cable out just before Holdspace died
        key = f"tech:link:{src}"
        assert key in day.alarms.active
        c.close()
        consoles.clear()
        clock.advance(30)
        c2 = Console(qtbot, db, sim.port, clock, tmp_path / "data", config)
        consoles.append(c2)
        qtbot.waitUntil(lambda: c2.window.vitals.links.get(src) is not None
                        and c2.window.vitals.links[src].state == LinkState.LIVE, timeout=10000)
        (waiting,) = c2.ctx.sessions.waiting
        c2.ctx.sessions.resume(waiting.row.id)
        f2 = c2.feature
        assert f2.day is not None
        assert key not in f2.day.alarms.active
        qtbot.waitUntil(lambda: not f2.banner.isVisible(), timeout=3000)
    finally:
        for con in consoles:
            con.close()
        consoles.clear()
        sim.stop()


def test_the_next_patient_is_never_chosen_for_the_clinician(qtbot: QtBot, qapp: Any) -> None:
    """After Alice's day, Start session… opened with Alice already chosen: Start (or Enter)
    would have opened Bruno's day under Alice's name."""
    theme.apply_theme(qapp)
    dlg = SessionDialog([Patient(1, "Alice Able", "A-100", None, 70.0)],
                        [Staff("Kim Nurse", "nurse")])
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.existing.isChecked() and dlg.patient_list.currentItem() is None
    dlg._accept()
    assert dlg.choice is None
    assert "Choose a patient from the list" in dlg.error.text()
    dlg.patient_list.setCurrentRow(0)  # the clinician picks her
    dlg._accept()
    assert dlg.choice is not None and dlg.choice.patient_id == 1


def test_the_report_holds_the_discharge_sign_off_and_why_the_session_ended(
        tmp_path: Path) -> None:
    """Alice's report had no word of her discharge sign-off (criteria, escort, who signed,
    ended 1 h 56 min early and why) nor of the reason the session was ended."""
    from tests.helpers.report_day import rig as report_rig
    from tests.helpers.report_day import start
    from tests.test_report import pdf_text, report

    with report_rig(tmp_path) as d:
        start(d, "im")
        d.feed(10)
        d.sessions.record("session.discharge", {
            "summary": "Discharge signed by Ana Nurse: 4 of 4 criteria met; escort Bob Able "
                       "555-0100; ended 1 h 50 min before the minimum observation — reason: "
                       "patient's family emergency"})
        d.sessions.end("patient's family emergency")
        text = " ".join(pdf_text(report(d, tmp_path)))
        assert "Discharge" in text and "escort Bob Able 555-0100" in text
        assert "4 of 4 criteria met" in text
        assert "Session ended (patient's family emergency) — Ana Nurse" in text


def test_the_rems_form_says_manufacturers_not_an_html_entity(qtbot: QtBot, qapp: Any) -> None:
    """The REMS tab read "per the manufacturer&#x27;s Patient Monitoring Form"."""
    theme.apply_theme(qapp)
    panel = RemsPanel()
    qtbot.addWidget(panel)
    panel.show()
    shown = [lbl.text() for lbl in panel.findChildren(QLabel) if "Form version" in lbl.text()]
    assert shown
    for lbl in panel.findChildren(QLabel):
        if "&#x27;" in lbl.text() or "&amp;" in lbl.text():
            assert lbl.textFormat() == Qt.TextFormat.RichText, lbl.text()
    (version,) = [lbl for lbl in panel.findChildren(QLabel) if "Form version" in lbl.text()]
    doc = QTextDocument()
    doc.setHtml(version.text())
    assert "manufacturer's" in doc.toPlainText()


def test_a_simulator_stopped_with_kill_takes_its_link_away(tmp_path: Path) -> None:
    """`kill` on `holdspace simulate --link PATH` left PATH pointing at a freed /dev/pts/N;
    the system gave that pty to another terminal, and the console configured with PATH said
    "in use by another program" (or would have read someone's shell)."""
    import os
    import signal
    import subprocess
    import sys

    link = tmp_path / "ttysim"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "console", "simulate", "--link", str(link)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once the pty and its link are there
        assert str(link) in line and link.is_symlink(), line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert not link.is_symlink()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
