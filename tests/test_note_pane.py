"""The note pane driven by keyboard and mouse like a clinician, checked against the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from console.store.db import connect_file
from console.ui import theme
from console.ui.gui_post import GuiPoster
from console.ui.notes.note_pane import NotePane
from console.ui.notes.timeline import Timeline
from tests.notes_support import rig

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"
STAFF = [("Ana Ruiz", "therapist"), ("Dr Chen", "physician")]


@pytest.fixture
def pane(qtbot, qapp, tmp_path):
    theme.apply_theme(qapp)
    with rig(tmp_path) as r:
        poster = GuiPoster()  # as the app wires it: committed events reach the GUI thread
        r.writer.on_committed = lambda evs: poster(lambda: r.sessions.announce(evs))
        p = NotePane(r.notes, lambda: STAFF, default_author=lambda: r.sessions.author)
        qtbot.addWidget(p)
        p.resize(620, 980)
        p.show()
        qtbot.waitExposed(p)
        p.activateWindow()
        qtbot.waitUntil(p.isActiveWindow)
        yield r, p


def rows(r) -> list[tuple[str, str, dict]]:
    r.flush()
    conn = connect_file(r.path)
    try:
        return [(k, a, json.loads(p)) for k, a, p in conn.execute(
            "SELECT kind, author, payload FROM events WHERE session_id=? ORDER BY t, id",
            (r.notes.session_id,))]
    finally:
        conn.close()


def entry_texts(p: NotePane) -> list[str]:
    return [p.entries.item(i).text() for i in range(p.entries.count())]


def test_a_dosing_day_typed_in_the_pane(qtbot, pane):
    r, p = pane
    # Ctrl+O, type, Enter: an observation stamped now.
    qtbot.keyClick(p, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert p.obs_edit.hasFocus()
    qtbot.keyClicks(p.obs_edit, "Eyes closed, slow breathing")
    qtbot.keyClick(p.obs_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: p.entries.count() == 1)
    assert p.obs_edit.text() == ""
    # A quote with Ctrl+Enter, one minute later.
    r.clock.advance(60)
    qtbot.keyClicks(p.obs_edit, "I am floating above the trees")
    qtbot.keyClick(p.obs_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: p.entries.count() == 2)
    # A quick tag by its key.
    r.clock.advance(60)
    qtbot.keyClick(p, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: p.entries.count() == 3)
    # MOAA/S 3.
    r.clock.advance(60)
    p.scale_box.setCurrentIndex(0)
    qtbot.keyClicks(p.score_edit, "3")
    qtbot.keyClick(p.score_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: p.entries.count() == 4)
    # An adverse event with ondansetron given, by Dr Chen (author switched for this entry).
    r.clock.advance(120)
    p.author_box.setCurrentText("Dr Chen")
    qtbot.mouseClick(p.ae_toggle, Qt.MouseButton.LeftButton)
    assert p.ae_box.isVisible() and p.ae_what.hasFocus()
    qtbot.keyClicks(p.ae_what, "Nausea, retching")
    p.ae_severity.setCurrentText("moderate")
    p.ae_drug.setCurrentText("ondansetron")
    qtbot.keyClicks(p.ae_mg, "4")
    p.ae_route.setCurrentText("IV")
    qtbot.keyClicks(p.ae_outcome, "settled within 10 min")
    qtbot.mouseClick(p.ae_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: p.entries.count() == 5)
    assert "ondansetron 4 mg IV" in entry_texts(p)[4] and p.ae_what.text() == ""
    assert not p.ae_box.isVisible()
    # Amend the first observation (as Dr Chen), history on demand.
    r.clock.advance(60)
    p.entries.setCurrentRow(0)
    qtbot.mouseClick(p.amend_button, Qt.MouseButton.LeftButton)
    assert p.amend_edit.text() == "Eyes closed, slow breathing"
    p.amend_edit.clear()
    qtbot.keyClicks(p.amend_edit, "Eyes closed, slow deep breathing")
    qtbot.keyClicks(p.amend_reason, "added detail")
    p.save_amendment()
    qtbot.waitUntil(lambda: "amended" in entry_texts(p)[0])
    p.entries.setCurrentRow(0)
    qtbot.mouseClick(p.history_button, Qt.MouseButton.LeftButton)
    hist = p.history.toPlainText()
    assert "original: Eyes closed, slow breathing" in hist and "added detail" in hist
    p.grab().save(str(SHOTS / "note_pane_mid_session.png"))

    # End, sign, then the lock.
    r.sessions.end()
    p.tabs.setCurrentIndex(2)
    p.sign_name.setCurrentText("Dr Chen")
    assert p.sign_role.text() == "physician"
    qtbot.mouseClick(p.sign_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Signed by Dr Chen" in p.sign_state.text())
    full = p.full_note.toPlainText()
    assert "08:00  Eyes closed, slow deep breathing  — Ana Ruiz  (amended)" in full
    assert "Rescue: ondansetron 4 mg IV" in full and "Signed by Dr Chen (physician)" in full
    p.grab().save(str(SHOTS / "note_pane_signed.png"))

    stored = rows(r)
    mine = [(k, a) for k, a, _p in stored if k not in ("session.started", "session.ended")]
    assert mine == [("note.observation", "Ana Ruiz"), ("note.observation", "Ana Ruiz"),
                    ("note.observation", "Ana Ruiz"), ("score.moaas", "Ana Ruiz"),
                    ("ae.reported", "Dr Chen"), ("dose.given", "Dr Chen"),
                    ("note.amended", "Dr Chen"), ("sign.signed", "Dr Chen")]
    obs, quote, tag, score, ae, dose, amend, sign = (pl for k, _a, pl in stored
                                                     if k not in ("session.started",
                                                                  "session.ended"))
    assert obs["text"] == "Eyes closed, slow breathing" and not obs["quote"]
    assert quote["quote"] and quote["text"] == "I am floating above the trees"
    assert tag["tags"] == ["nausea"]
    assert score["value"] == 3 and score["scale"] == "moaas"
    assert (ae["severity"], ae["drug"], ae["mg"], ae["route"]) == ("moderate", "ondansetron",
                                                                   4.0, "IV")
    assert (dose["role"], dose["drug"], dose["mg"]) == ("rescue", "ondansetron", 4.0)
    assert amend["changes"]["text"] == "Eyes closed, slow deep breathing"
    assert (sign["name"], sign["role"]) == ("Dr Chen", "physician")

    # The timeline shows exactly that, with the amendment folded into its entry.
    tl = Timeline(r.reader)
    qtbot.addWidget(tl)
    tl.load(r.notes.session_id)
    shown = [(it.kind, it.summary) for it in tl.items]
    assert shown[1:] == [
        ("note.observation", "Eyes closed, slow deep breathing  [amended]"),
        ("note.observation", "Patient: “I am floating above the trees”"),
        ("note.observation", "[nausea]"),
        ("score.moaas", "MOAA/S 3"),
        ("ae.reported", "Adverse event (moderate): Nausea, retching — ondansetron 4 mg IV → "
                        "settled within 10 min"),
        ("dose.given", "Rescue: ondansetron 4 mg IV (for Nausea, retching)"),
        ("session.ended", "Session ended"),
        ("sign.signed", "Signed by Dr Chen (physician)"),
    ]


def test_bad_input_gets_words_and_keeps_the_text(qtbot, pane):
    r, p = pane
    qtbot.keyClick(p.obs_edit, Qt.Key.Key_Return)
    assert "observation is empty" in p.message.text() and p.message.isVisible()
    qtbot.keyClicks(p.score_edit, "7")
    qtbot.keyClick(p.score_edit, Qt.Key.Key_Return)
    assert "MOAA/S goes from 0 to 5" in p.message.text() and p.score_edit.text() == "7"
    qtbot.keyClicks(p.obs_edit, "Restless, asks for water")
    qtbot.keyClicks(p.at_edit, "25:99")
    qtbot.keyClick(p.obs_edit, Qt.Key.Key_Return)
    assert "not a time" in p.message.text()
    assert p.obs_edit.text() == "Restless, asks for water"
    p.at_edit.clear()
    qtbot.keyClick(p.obs_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: p.entries.count() == 1)
    assert not p.message.text()

    r.sessions.end()
    p.sign_role.setText("physician")
    p.sign()
    assert "name of the clinician" in p.message.text() and p.sign_role.text() == "physician"
    p.sign_name.setCurrentText("Dr Chen")
    p.sign()
    qtbot.waitUntil(lambda: p.record is not None and p.record.locked)
    # Amending a signed entry: a clear message, and the typed correction stays.
    p.entries.setCurrentRow(0)
    p.start_amend()
    p.amend_edit.setText("Restless, asks for water and a blanket")
    p.save_amendment()
    assert "locked" in p.message.text() and "addendum" in p.message.text()
    assert p.amend_edit.text() == "Restless, asks for water and a blanket"
    qtbot.keyClicks(p.obs_edit, "late thought")
    qtbot.keyClick(p.obs_edit, Qt.Key.Key_Return)
    assert "locked" in p.message.text() and p.obs_edit.text() == "late thought"
    # The addendum is the way: signed by its author.
    p.add_text.setPlainText("Daughter phoned: home safely.")
    p.add_name.setCurrentText("Ana Ruiz")
    assert p.add_role.text() == "therapist"
    p.add_addendum()
    qtbot.waitUntil(lambda: "home safely" in p.addenda.text())
    kinds = [k for k, _a, _p in rows(r)]
    assert kinds.count("note.amended") == 0 and kinds[-1] == "sign.addendum"


def test_sections_and_dose_record(qtbot, pane):
    r, p = pane
    from tests.notes_support import write_day
    write_day(r)
    box = p.section_boxes["dose_record"]
    qtbot.waitUntil(lambda: "Ketamine 50 mg IM" in box.derived_label.text())
    ci = p.section_boxes["check_in"]
    ci.inputs["mood"].setText("12")
    ci.text.setPlainText("Nervous but hopeful")
    ci.save_button.click()
    assert "Mood (0–10) goes from 0 to 10" in p.message.text()
    assert ci.text.toPlainText() == "Nervous but hopeful"
    ci.inputs["mood"].setText("6")
    ci.save_button.click()
    qtbot.waitUntil(lambda: "saved" in ci.state.text())
    sec = r.notes.record().section("check_in")
    assert sec is not None and sec.current["fields"]["mood"] == 6.0
    assert "goals_of_care" not in p.section_boxes


def test_course_phase_and_outcome_from_the_note_tab(qtbot, pane):
    r, p = pane
    p.tabs.setCurrentIndex(1)
    p.phase_box.setCurrentText("dosing")
    p.phase_label.setText("low-dose")
    p.set_phase()
    qtbot.waitUntil(lambda: p.phase_state.text() == "Course: dosing (low-dose)")
    p.measure_box.setCurrentText("GAD-7")
    p.measure_edit.setText("25")
    p.add_outcome()
    assert "GAD-7 goes from 0 to 21" in p.message.text() and p.measure_edit.text() == "25"
    p.measure_edit.setText("12")
    p.add_outcome()
    qtbot.waitUntil(lambda: p.measure_list.text() == "GAD-7 12")
    from console.core.notes.course import patient_course
    r.flush()
    c = patient_course(r.reader, r.patient_id)[0]
    assert (c.phase, c.phase_label, c.outcomes) == ("dosing", "low-dose", {"GAD-7": 12.0})


def test_no_default_author_and_switching_per_entry(qtbot, qapp, tmp_path):
    with rig(tmp_path) as r:
        r.sessions.set_user(None)
        p = NotePane(r.notes, lambda: STAFF, default_author=lambda: r.sessions.author)
        qtbot.addWidget(p)
        assert p.author() is None and p.sign_name.currentText() == ""
        p.obs_edit.setText("Calm, hands relaxed")
        p.add_observation()
        assert "who you are" in p.message.text() and p.obs_edit.text() == "Calm, hands relaxed"
        p.author_box.setCurrentText("Dr Chen")
        p.add_observation()
        r.sessions.set_user(None)
        p.set_author("Ana Ruiz")
        p.obs_edit.setText("Asks for water")
        p.add_observation()
        qtbot.waitUntil(lambda: p.entries.count() == 2)
        assert [(k, a) for k, a, _p in rows(r)][1:] == [("note.observation", "Dr Chen"),
                                                        ("note.observation", "Ana Ruiz")]


def test_quick_tags_from_the_clinic_folder(tmp_path):
    from console.core.notes.notes import DEFAULT_TAGS
    from console.ui.notes.notes_feature import quick_tags

    assert quick_tags(tmp_path, {}) == list(DEFAULT_TAGS)
    assert quick_tags(tmp_path, {"tags": ["shivering"]}) == ["shivering"]
    (tmp_path / "quick_tags.txt").write_text("# our tags\ncrying\n\nlaughing\n", "utf-8")
    assert quick_tags(tmp_path, {"tags": ["shivering"]}) == ["crying", "laughing"]


def test_unsaved_section_goes_to_its_own_session_when_the_next_starts(qtbot, pane):
    r, p = pane
    first = r.notes.session_id
    box = p.section_boxes["integration_plan"]
    box.text.setPlainText("Integration session on Friday; journal daily")
    assert box.dirty
    r.sessions.end()
    r.clock.advance(3600)
    r.sessions.start(r.patient_id, template="palliative-low-dose")
    assert r.notes.session_id != first
    qtbot.waitUntil(lambda: "goals_of_care" in p.section_boxes)
    assert p.section_boxes["integration_plan"].text.toPlainText() == ""
    r.notes.open(first)
    sec = r.notes.record().section("integration_plan")
    assert sec is not None and sec.current["text"] == "Integration session on Friday; journal daily"
