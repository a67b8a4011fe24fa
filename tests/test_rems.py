"""The REMS monitoring form is filled entirely from the session's record."""

from __future__ import annotations

from console.core.dosing import rems
from console.ui.dosing.dose_feature import DoseFeature
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


def _field(summary_html: str, name: str) -> str | None:
    """One row of the panel's summary table, as shown."""
    import html
    import re

    m = re.search(re.escape(html.escape(name)) + r"</td><td><b>(.*?)</b>", summary_html)
    return html.unescape(m.group(1)) if m else None


def test_rems_panel_only_for_rems_templates_and_always_from_the_record(
        qtbot, db_path, config) -> None:
    """Issue 10: the REMS tab showed for IM and palliative sessions, and its summary lagged
    the record ("Dose 0 mg" after a dose; "N" before administration after the gate passed)."""
    from tests.helpers.window import begin, dose_day, ready_to_dose, whole_console

    with whole_console(qtbot, db_path, config) as (window, running):
        feature = window.feature(DoseFeature)
        tabs, panel = window.side_tabs, feature.rems
        idx = tabs.indexOf(panel)
        begin(running, "im")
        ready_to_dose(window)
        dose_day(window).give_dose("50")
        assert not tabs.isTabVisible(idx), "no REMS form for IM ketamine"
        assert panel.summary.text() == ""
        running.ctx.sessions.end()
        assert not tabs.isTabVisible(idx)

        begin(running, "esketamine-rems", name="Lee K.")
        assert tabs.isTabVisible(idx)
        assert (_field(panel.summary.text(), "Patient") or "").startswith("Lee K.")  # and birth date
        dose_f, lot_f = "Dose administered (56, 84 or other; mg)", "Lot number"
        before_f = "Vital signs in acceptable range before administration?"
        assert _field(panel.summary.text(), dose_f) == "not in the record yet"
        ready_to_dose(window)
        day = dose_day(window)
        day.give_dose("56", lot="ESK-1")
        # from the record as soon as the dose is on disk (no waiting for a tick): the dose,
        # its lot, the gate
        qtbot.waitUntil(lambda: (_field(panel.summary.text(), dose_f) or "").startswith("56 mg"),
                        timeout=1000)
        assert (_field(panel.summary.text(), lot_f) or "").startswith("ESK-1")
        assert (_field(panel.summary.text(), before_f) or "").startswith("Yes")
        running.ctx.sessions.end()
        assert tabs.isTabVisible(idx), "kept after the end, for filling in the form"
        assert "At session end" in panel.summary.text()
        assert (_field(panel.summary.text(), dose_f) or "").startswith("56 mg")

        begin(running, "palliative-low", name="Next Patient")
        assert not tabs.isTabVisible(idx), "palliative ketamine is not esketamine"
        assert "Lee K." not in panel.summary.text()
        assert all(e.text() == "" for e in panel.inputs.values())
