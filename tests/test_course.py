"""A patient's course and search across sessions, read back from a real file."""

from __future__ import annotations

from console.core.notes.course import measures_in, outcome_trend, patient_course
from console.core.notes.notes import NoteBook
from console.core.notes.scales import NoteError, measures
from console.core.notes.search import search
from tests.notes_support import T0, rig, write_day


def _session(r, template, phase, label, phq, sign=True, tag=None):
    r.sessions.start(r.patient_id, template=template)
    r.notes.set_phase(phase, label)
    r.notes.outcome("PHQ-9", str(phq))
    if tag:
        r.notes.observe("", tags=[tag])
    r.clock.advance(3600)
    r.sessions.end()
    if sign:
        r.notes.sign("Dr Chen", "physician")
    r.clock.advance(7 * 86400)


def test_course_lists_sessions_with_doses_sign_state_and_outcome_trend(tmp_path):
    with rig(tmp_path, template="preparation") as r:
        r.notes.set_phase("preparation")
        r.notes.outcome("PHQ-9", "19")
        r.notes.outcome("ESAS-r", "40")
        r.clock.advance(3600)
        r.sessions.end()
        r.notes.sign("Dr Chen", "physician")
        r.clock.advance(86400)
        r.sessions.start(r.patient_id, template="palliative-low-dose")
        write_day(r)
        r.notes.set_phase("dosing", "low-dose")
        r.notes.outcome("PHQ-9", "14")
        r.clock.advance(3600)
        r.sessions.end()
        r.clock.advance(86400)
        _session(r, "integration", "integration", "", 9, tag="tearful")
        r.flush()
        course = patient_course(r.reader, r.patient_id)
        assert [(c.phase, c.phase_label) for c in course] == [
            ("preparation", ""), ("dosing", "low-dose"), ("integration", "")]
        assert [c.signed for c in course] == [True, False, True]
        assert course[1].dose_text == "ketamine 50 mg IM"
        assert course[0].dose_text == "no dose"
        assert [v for _t, v in outcome_trend(course, "PHQ-9")] == [19, 14, 9]
        assert measures_in(course) == ["PHQ-9", "ESAS-r"]

        hits = search(r.reader, tag="tearful")
        assert [h.session_id for h in hits] == [course[2].id]
        assert search(r.reader, text="ketamine 50")[0].kind == "dose.given"
        by_date = search(r.reader, date_from=T0 + 86400, date_to=T0 + 86400 * 2)
        assert [h.session_id for h in by_date] == [course[1].id]
        assert search(r.reader, text="100%_") == []


def test_outcome_range_and_custom_measures(tmp_path):
    with rig(tmp_path) as r:
        nb = NoteBook(r.clock, r.writer, r.reader, r.sessions,
                      custom_measures={"Demoralization": [0, 96]})
        try:
            nb.outcome("PHQ-9", "30")
        except NoteError as e:
            assert "PHQ-9 goes from 0 to 27" in str(e)
        else:
            raise AssertionError("PHQ-9 30 was accepted")
        ev = nb.outcome("Demoralization", "41.5")
        assert ev.payload["value"] == 41.5
        assert "Demoralization" in measures({"Demoralization": [0, 96]})
