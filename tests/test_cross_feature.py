"""Features hear each other: notes' rescue drugs and scores, as the dose feature sees them."""

from __future__ import annotations

from console.core.notes.notes import NoteBook
from tests.helpers.dose_fixtures import Core, core_fixture  # noqa: F401
from tests.test_dosing import ready

MIN = 60.0


def test_a_rescue_drug_from_the_notes_is_never_counted_as_ketamine(core: Core) -> None:
    day = core.start("im")
    ready(day)
    day.give_dose("50")
    core.clock.advance(10 * MIN)
    core.sessions.record("dose.given", {
        "drug": "ondansetron", "formulation": "", "route": "IV", "mg": 4.0, "mg_per_kg": None,
        "lot": None, "given_by": "RN", "late_entry": False, "role": "rescue",
        "summary": "ondansetron 4 mg IV (rescue)"})
    assert day.cumulative_mg() == 50.0
    assert [e.payload["drug"] for e in day.rescue_doses] == ["ondansetron"]
    reopened = core.open("im")  # after a restart, rebuilt from the store
    assert reopened.cumulative_mg() == 50.0 and len(reopened.doses) == 1
    assert len(reopened.rescue_doses) == 1


def test_a_moaas_scored_in_the_notes_satisfies_the_sedation_check(core: Core) -> None:
    day = core.start("esketamine-rems")
    ready(day)
    day.give_dose("56")
    core.clock.advance(15 * MIN)
    assert next(c for c in day.checks() if c.what == "sedation").state == "due"
    NoteBook(core.clock, core.writer, core.sessions.reader, core.sessions).score("moaas", "4")
    assert next(c for c in day.checks() if c.what == "sedation").state == "done"
    reopened = core.open("esketamine-rems")
    assert next(c for c in reopened.checks() if c.what == "sedation").state == "done"
