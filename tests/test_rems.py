"""The REMS monitoring form is filled entirely from the session's record."""

from __future__ import annotations

from console.core import rems
from tests.helpers.dose_fixtures import Core, bp, core_fixture  # noqa: F401
from tests.test_dosing import ready

MIN = 60.0


def test_rems_summary_fields_come_from_events_and_readings(core: Core) -> None:
    day = core.start("esketamine-rems")
    ready(day, s=132, d=84)
    core.sessions.writer.add_samples(day.session_id, bp(day.now(), 132, 84))
    day.set_item("concomitant", "lorazepam 0.5 mg at night")
    day.set_item("first_treatment", "yes")
    day.give_dose("56", lot="ESK-7", given_by="Dr Lee")
    core.clock.advance(41 * MIN)
    day.manual_vitals({"sys": "146", "dia": "92"})
    core.clock.advance(74 * MIN)
    day.manual_vitals({"sys": "128", "dia": "80"})
    core.clock.advance(5 * MIN)
    day.record_rems({"sedation": "MOAA/S 5 at 90 min", "dissociation": "resolved by 90 min",
                     "respiratory_depression": "none", "serious_ae": "none",
                     "ready_to_leave_minutes": "115"})
    core.writer.flush()
    f = dict(rems.summary(day))
    assert f["Patient"] == "Test Patient" and f["Birth date"] == "1950-02-03"
    assert f["Dose"] == "56 mg (lot ESK-7)"
    assert f["Monitoring provider"] == "Dr Lee"
    assert f["Total monitoring time"] == "120 min from first device"
    assert f["Ready to leave at"] == "115 min from start"
    assert f["BP before dosing"].startswith("132/84")
    assert f["BP at ~40 min"].startswith("146/92") and "T+41 min" in f["BP at ~40 min"]
    assert f["BP before completion"].startswith("128/80")
    assert f["Vitals acceptable before administration"] == "Y"
    assert f["Vitals acceptable before completion"] == "Y"
    assert f["Concomitant meds (benzodiazepines, sedative hypnotics, psychostimulants, MAOIs)"] \
        == "lorazepam 0.5 mg at night"
    assert f["First treatment"] == "yes" and f["Respiratory depression"] == "none"
