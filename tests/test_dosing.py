"""Dose entry, the pre-dose gate and infusions, against a real SQLite file and a FakeClock."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.core.dosing.dose_day import DoseDay, NeedsConfirmation
from console.core.dosing.dosing import DoseInputError, parse_mg, parse_when
from tests.helpers.dose_fixtures import Core, bp, core_fixture, reading  # noqa: F401


def fill_checklist(day: DoseDay) -> None:
    for item in day.template.checklist:
        day.set_item(item.id, {"confirm": True, "text": "Sam, 555-0100", "hours": 6.0}[item.kind])


def ready(day: DoseDay, s: float = 128, d: float = 80, hr: float = 72) -> None:
    fill_checklist(day)
    now = day.now()
    day.readings([*bp(now, s, d), reading(now, "hr", hr)])


def test_parse_mg_and_when_in_words() -> None:
    assert parse_mg("50") == 50 and parse_mg("37,5 mg") == 37.5
    for bad, words in (("-5", "more than 0"), ("0", "more than 0"), ("fifty", "not a number"),
                       ("", "Type the dose"), ("5O", "not a number")):
        with pytest.raises(DoseInputError, match=words):
            parse_mg(bad)
    now = 1_800_000_000.0
    assert parse_when("", now) == now and parse_when("10", now) == now - 600
    assert parse_when("10 min ago", now) == now - 600
    with pytest.raises(DoseInputError, match="not a time"):
        parse_when("yesterday", now)


def test_bad_doses_are_refused_and_nothing_is_written(core: Core) -> None:
    day = core.start("im")
    ready(day)
    for mg, when, words in (("-10", "", "more than 0"), ("ten", "", "not a number"),
                            ("1200", "", "more than 10 times"),
                            ("50", _future(day), "is in the future")):
        with pytest.raises(DoseInputError, match=words):
            day.give_dose(mg, when)
    with pytest.raises(DoseInputError, match="before this session started"):
        day.give_dose("50", "90")
    assert core.events("dose.given", "gate.checked") == []


def _future(day: DoseDay) -> str:
    """A clock time ten minutes ahead, as a nurse would type it."""
    from datetime import datetime
    return datetime.fromtimestamp(day.now() + 600).strftime("%H:%M")


def test_mg_per_kg_template_without_weight_is_refused(core: Core) -> None:
    day = core.start("iv-infusion", weight=None)
    ready(day)
    with pytest.raises(DoseInputError, match="no weight recorded"):
        day.give_dose("35")
    assert core.events("dose.given") == []


def test_gate_blocks_until_checklist_and_bp_pass_or_an_override(core: Core) -> None:
    day = core.start("im")
    with pytest.raises(DoseInputError, match="Checklist not complete"):
        day.give_dose("50")
    fill_checklist(day)
    day.readings([*bp(day.now(), 172, 104), reading(day.now(), "hr", 96)])
    g = day.gate()
    assert g.checklist_complete and not g.passed
    assert any("BP 172/104 is not below 160/90" in r for r in g.reasons)
    with pytest.raises(DoseInputError, match="safety gate has not passed"):
        day.give_dose("50")
    with pytest.raises(DoseInputError, match="reason"):
        day.override_gate("")
    day.override_gate("Chronic hypertension, physician reviewed, accepts 172/104")
    ev = day.give_dose("50", lot="K123", given_by="Dr Lee")
    assert ev.payload["mg"] == 50 and ev.payload["mg_per_kg"] == pytest.approx(50 / 70, 1e-3)
    stored = core.events("gate.override", "gate.checked", "dose.given")
    assert [e.kind for e in stored] == ["gate.override", "gate.checked", "dose.given"]
    assert stored[0].author == "Ana Nurse" and "OVERRIDDEN" in stored[0].payload["summary"]
    assert stored[1].payload["passed"] is False and stored[1].payload["override"] == stored[0].uid
    assert stored[2].payload["lot"] == "K123" and stored[2].payload["role"] == "initial"


def test_fasting_too_short_fails_the_gate(core: Core) -> None:
    day = core.start("im")
    ready(day)
    assert day.gate().passed
    day.set_item("fasting_food", 1.0)
    assert not day.gate().passed
    assert any("at least 2 h" in r for r in day.gate().reasons)


def test_out_of_range_needs_confirmation_then_is_recorded_as_such(core: Core) -> None:
    day = core.start("im")
    ready(day)
    with pytest.raises(NeedsConfirmation) as e:
        day.give_dose("150")
    assert "ABOVE the protocol range 25–100 mg" in e.value.reasons[0]
    assert core.events("dose.given") == []
    ev = day.give_dose("150", confirmed=True)
    assert ev.payload["outside_protocol"] and "confirmed outside protocol" in ev.payload["summary"]


def test_boosters_follow_the_template_and_cumulative_adds_up(core: Core) -> None:
    day = core.start("im")
    ready(day)
    day.give_dose("50")
    core.clock.advance(10 * 60)
    with pytest.raises(NeedsConfirmation, match="not before 20 min"):
        day.give_dose("25")
    core.clock.advance(15 * 60)
    ev = day.give_dose("25")
    assert ev.payload["role"] == "booster"
    assert day.cumulative_mg() == 75
    core.clock.advance(15 * 60)
    with pytest.raises(NeedsConfirmation) as e:
        day.give_dose("80")
    assert any("booster 2" in r for r in e.value.reasons)
    assert any("would be 155 mg" in r for r in e.value.reasons)


def test_late_entry_is_marked_with_the_clinical_time(core: Core) -> None:
    day = core.start("im")
    ready(day)
    core.clock.advance(20 * 60)
    ev = day.give_dose("50", "15")
    assert ev.payload["late_entry"] is True
    assert ev.t == pytest.approx(day.now() - 15 * 60)
    assert ev.recorded == pytest.approx(day.now())
    assert "LATE ENTRY" in ev.payload["summary"]


def test_infusion_progress_pause_rate_and_stop_from_events(core: Core) -> None:
    day = core.start("iv-infusion", weight=70)
    ready(day)
    ev = day.give_dose("35")  # 0.5 mg/kg over 40 min -> 52.5 mg/h
    assert ev.payload["rate_mg_per_h"] == pytest.approx(52.5)
    core.clock.advance(20 * 60)
    st = day.infusion_status()
    assert st is not None and st.state == "running"
    assert st.mg_so_far == pytest.approx(17.5)
    assert day.cumulative_mg() == pytest.approx(17.5)
    day.infusion_action("pause")
    core.clock.advance(5 * 60)
    st = day.infusion_status()
    assert st is not None and st.state == "paused" and st.mg_so_far == pytest.approx(17.5)
    day.infusion_action("resume")
    end = day.observation_end()
    assert end == pytest.approx(ev.t + 45 * 60 + 60 * 60)  # 40 min + 5 paused, then 60 min
    core.clock.advance(10 * 60)
    day.infusion_action("stop")
    st = day.infusion_status()
    assert st is not None and st.state == "stopped" and st.mg_so_far == pytest.approx(26.25)
    with pytest.raises(DoseInputError, match="already stopped"):
        day.infusion_action("pause")
    # a fresh model from the stored events gives the same figures
    again = core.open("iv-infusion")
    st2 = again.infusion_status()
    assert st2 is not None and (st2.state, st2.mg_so_far) == ("stopped", pytest.approx(26.25))
    kinds = [e.kind for e in core.events()]
    infusion_kinds = [k for k in kinds if k.startswith("infusion.")]
    assert infusion_kinds == ["infusion.paused", "infusion.resumed", "infusion.stopped"]


def test_a_dose_entered_in_error_is_corrected_not_erased(core: Core) -> None:
    day = core.start("im")
    ready(day)
    ev = day.give_dose("50")
    day.void_dose(ev.uid, "wrong patient chart")
    assert day.cumulative_mg() == 0
    stored = core.events("dose.given", "dose.entered_in_error")
    assert len(stored) == 2 and stored[1].refers_to == ev.uid


def test_a_rate_change_moves_the_infusion_end(core: Core) -> None:
    day = core.start("iv-infusion", weight=70)
    ready(day)
    ev = day.give_dose("35")  # 52.5 mg/h
    core.clock.advance(10 * 60)
    day.infusion_action("rate_changed", "26,25")
    core.clock.advance(20 * 60)
    st = day.infusion_status()
    assert st is not None and st.mg_so_far == pytest.approx(17.5)
    assert st.ends_at == pytest.approx(ev.t + 30 * 60 + 17.5 / 26.25 * 3600)
    with pytest.raises(DoseInputError, match="mg per hour"):
        day.infusion_action("rate_changed", "fast")


@given(st.floats(min_value=-1e6, max_value=1e6) | st.sampled_from([float("nan"), float("inf")]))
@settings(max_examples=200, deadline=None)
def test_no_typed_number_slips_past_the_plausibility_limit(mg: float) -> None:
    from console.core.dosing.dosing import DoseRules
    from tests.helpers.dose_fixtures import template
    rules = DoseRules(template("im"), 70.0, 0.0)
    try:
        verdict = rules.check(repr(mg), "", 1000.0)
    except DoseInputError:
        assert not (0 < mg < float("inf"))
        return
    assert mg > 0
    if mg > 1000:  # 10 x the 100 mg maximum
        assert verdict.refused
    elif mg > 100:
        assert verdict.confirm and not verdict.refused


def test_beyond_the_hard_ceiling_a_second_named_person_must_confirm(core: Core) -> None:
    from console.core.dosing.dose_day import NeedsSecondPerson
    day = core.start("palliative-low", weight=70)  # 0.1–0.3 mg/kg: 7–21 mg, ceiling 42 mg
    ready(day)
    with pytest.raises(NeedsConfirmation) as soft:
        day.give_dose("30")
    assert not isinstance(soft.value, NeedsSecondPerson)
    assert soft.value.question == "Record 30 mg = 0.43 mg/kg (above the 7–21 mg range)?"
    with pytest.raises(NeedsSecondPerson) as hard:
        day.give_dose("140")
    assert "beyond the 42 mg hard ceiling" in hard.value.question
    assert any("hard ceiling of 42 mg" in r and "palliative-low.toml" in r
               for r in hard.value.reasons)
    with pytest.raises(NeedsSecondPerson):  # Ctrl+Y alone is not enough
        day.give_dose("140", confirmed=True, confirm_mg=140)
    with pytest.raises(DoseInputError, match="someone other than you"):
        day.give_dose("140", confirmed=True, confirm_mg=140, second_person="ana nurse")
    assert core.events("dose.given") == []
    ev = day.give_dose("140", confirmed=True, confirm_mg=140, second_person="Dr Lee")
    p = ev.payload
    assert (p["above_ceiling"], p["ceiling_mg"], p["confirmed_by"], p["second_person"]) == (
        True, 42.0, "Ana Nurse", "Dr Lee")
    assert p["out_of_range"] == "above" and p["protocol_range"] == "7–21 mg"


def test_a_confirmation_holds_only_for_the_number_it_named(core: Core) -> None:
    from console.core.dosing.dosing import DoseRules
    day = core.start("palliative-low", weight=70)
    ready(day)
    with pytest.raises(NeedsConfirmation):
        day.give_dose("30")
    with pytest.raises(NeedsConfirmation):  # confirmed 30, but 35 is typed now
        day.give_dose("35", confirmed=True, confirm_mg=30)
    assert core.events("dose.given") == []
    ev = day.give_dose("35", confirmed=True, confirm_mg=35)
    assert ev.payload["mg"] == 35 and "ABOVE THE PROTOCOL RANGE 7–21 mg" in ev.payload["summary"]
    inside = DoseRules(day.template, 70.0, day.session_start).judge(14, day.now(), day.now())
    assert inside.ok_without_confirmation and inside.out_of_range is None


def test_ceiling_from_mg_per_kg_and_template_errors() -> None:
    from pathlib import Path

    from console.core.dosing.dosing import DoseRules, ceiling_mg
    from console.core.dosing.templates import SHIPPED_DIR, TemplateError, parse_template
    from tests.helpers.dose_fixtures import template
    im = template("im")  # 25–100 mg; ceiling 2 x 100 mg, or 2.25 mg/kg if lower
    assert ceiling_mg(im, 70)[0] == pytest.approx(157.5)
    assert ceiling_mg(im, 100)[0] == 200 and ceiling_mg(im, None)[0] == 200
    v = DoseRules(im, 40.0, 0.0).judge(100, 10.0, 10.0)  # 2.5 mg/kg in a 40 kg patient
    assert v.out_of_range is None and v.needs_second_person and v.ceiling_mg == 90
    assert ceiling_mg(template("iv-infusion"), None)[0] is None  # mg/kg without a weight
    text = (SHIPPED_DIR / "im.toml").read_text()
    with pytest.raises(TemplateError, match="ceiling_factor"):
        parse_template(Path("x.toml"), text.replace("ceiling_factor = 2", "ceiling_factor = 0.5"))
    with pytest.raises(TemplateError, match="ceiling_mg_per_kg"):
        parse_template(Path("x.toml"),
                       text.replace("ceiling_mg_per_kg = 2.25", "ceiling_mg_per_kg = 0"))


def test_entered_in_error_needs_a_reason_and_an_author_and_keeps_the_dose(core: Core) -> None:
    day = core.start("im")
    ready(day)
    ev = day.give_dose("50")
    with pytest.raises(DoseInputError, match="Write why"):
        day.void_dose(ev.uid, "")
    core.sessions.set_user(None)
    with pytest.raises(DoseInputError, match="Choose who you are"):
        day.void_dose(ev.uid, "wrong patient")
    from console.core.session import Staff
    core.sessions.set_user(Staff("Ana Nurse", "nurse"))
    void = day.void_dose(ev.uid, "wrong patient")
    with pytest.raises(DoseInputError, match="already marked"):
        day.void_dose(ev.uid, "again")
    assert void.author == "Ana Nurse" and void.payload["mg"] == 50
    assert [e.uid for e in day.dose_log()] == [ev.uid] and day.void_events[ev.uid] == void
    again = core.open("im")  # rebuilt from the record: still there, still not counted
    assert again.cumulative_mg() == 0 and ev.uid in again.void_events
    assert [e.uid for e in again.dose_log()] == [ev.uid]


def test_hours_are_read_in_words() -> None:
    from console.core.dosing.gate import HoursInputError, parse_hours
    assert parse_hours("6") == 6 and parse_hours("2,5 h") == 2.5 and parse_hours("0") == 0
    for bad, words in (("abc", "not a number of hours"), ("-1", "negative"),
                       ("500", "more than a week"), ("", "Type a number"),
                       ("nan", "Type a number")):
        with pytest.raises(HoursInputError, match=words):
            parse_hours(bad)
    with pytest.raises(HoursInputError, match=r"^Food: “x” is not"):
        parse_hours("x", "Food")
