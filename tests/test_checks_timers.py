"""Scheduled checks and timers, driven by a FakeClock over a real store."""

from __future__ import annotations

import pytest

from console.core.dosing.checks import schedule
from console.core.dosing.templates import CheckRule
from console.core.dosing.timers import hms
from tests.helpers.dose_fixtures import Core, bp, core_fixture, reading  # noqa: F401
from tests.test_dosing import ready

MIN = 60.0


def bp40(day_template: str = "esketamine-rems") -> CheckRule:
    from tests.helpers.dose_fixtures import template
    return next(c for c in template(day_template).checks if c.at_minutes == (40.0,))


def test_bp_check_at_40_is_due_then_overdue_and_satisfied_by_a_monitor_bp() -> None:
    rule = bp40()
    t0 = 1_800_000_000.0
    states = lambda now, values: [c.state for c in schedule((rule,), t0, t0 + 7200, values, now)]  # noqa: E731
    assert states(t0 + 39 * MIN + 59, {}) == ["upcoming"]
    assert states(t0 + 40 * MIN, {}) == ["due"]
    assert states(t0 + 44 * MIN + 59, {}) == ["due"]
    assert states(t0 + 45 * MIN, {}) == ["overdue"]  # grace 5 min
    bp_at = {"bp": [t0 + 41 * MIN + 30]}
    assert states(t0 + 41 * MIN + 30, bp_at) == ["done"]
    assert states(t0 + 60 * MIN, bp_at) == ["done"]
    # a BP long before the window does not count
    assert states(t0 + 46 * MIN, {"bp": [t0 + 20 * MIN]}) == ["overdue"]


def test_every_n_minutes_checks_are_missed_not_piled_up() -> None:
    rule = CheckRule("bp", "BP every 10", every_minutes=10, from_minutes=10, until_minutes=40,
                     grace_minutes=3)
    t0 = 0.0
    occ = schedule((rule,), t0, 3600, {"bp": [10 * MIN, 31 * MIN]}, 35 * MIN)
    assert [(round(c.due / MIN), c.state) for c in occ] == [
        (10, "done"), (20, "missed"), (30, "done"), (40, "upcoming")]


def test_day_timers_checks_tick_and_survive_a_wall_clock_change(core: Core) -> None:
    day = core.start("esketamine-rems")
    ready(day)
    dose = day.give_dose("56")
    core.clock.advance(15 * MIN)
    day.record_check("sedation", "MOAA/S 5")
    core.clock.advance(22 * MIN + 12)
    snap = day.timers()
    assert hms(snap.since_first or 0) == "00:37:12"
    assert snap.observation_left == pytest.approx(120 * MIN - (37 * MIN + 12))
    assert snap.next_check is not None and snap.next_check.label.startswith("BP about 40")
    assert snap.next_check.state == "upcoming"
    core.clock.set_wall(core.clock.now() - 3 * 3600)  # someone changes the system time
    assert hms(day.timers().since_first or 0) == "00:37:12"
    core.clock.advance(2 * MIN + 48)  # 40:00
    res = day.tick()
    assert [c.label for c in res.newly_due] == ["BP about 40 min after dosing (REMS)"]
    assert day.timers().next_check.state == "due"  # type: ignore[union-attr]
    core.clock.advance(5 * MIN)
    res = day.tick()
    assert [c.what for c in res.newly_overdue] == ["bp"]
    assert day.tick().newly_overdue == []
    assert len(core.events("check.overdue")) == 1
    # the timer found it overdue, not the nurse at the keyboard: no person's name on it
    assert [e.author for e in core.events("check.overdue")] == [None]
    assert [e.author for e in core.events("check.recorded")] == ["Ana Nurse"]
    # a manual cuff BP now satisfies it, like a monitor value would
    day.manual_vitals({"sys": "138", "dia": "86", "hr": "", "spo2": "", "rr": ""})
    bp_check = next(c for c in day.checks() if c.label.startswith("BP about 40"))
    assert bp_check.state == "done"
    assert bp_check.done_at == pytest.approx(dose.t + 45 * MIN)


def test_sedation_check_is_satisfied_by_a_recorded_score(core: Core) -> None:
    day = core.start("esketamine-rems")
    ready(day)
    day.give_dose("56")
    core.clock.advance(15 * MIN)
    first = next(c for c in day.checks() if c.what == "sedation")
    assert first.state == "due"
    day.record_check("sedation", "MOAA/S 4")
    first = next(c for c in day.checks() if c.what == "sedation")
    assert first.state == "done"


def test_manual_vitals_are_stored_as_manual_readings_with_clear_errors(core: Core) -> None:
    from console.core.dosing.dosing import DoseInputError
    from devices.reading import Quality
    day = core.start("im")
    for texts, words in (({"sys": "120", "dia": ""}, "both numbers"),
                         ({"sys": "abc", "dia": "80"}, "not a number"),
                         ({"hr": "400"}, "not plausible"),
                         ({"sys": "80", "dia": "120"}, "higher than diastolic"),
                         ({}, "at least one")):
        with pytest.raises(DoseInputError, match=words):
            day.manual_vitals(texts)
    day.manual_vitals({"sys": "128", "dia": "82", "hr": "70"})
    core.writer.flush()
    rows = core.sessions.reader.execute(
        "SELECT source, quality, value FROM readings ORDER BY code").fetchall()
    assert {r[0] for r in rows} == {"manual"} and {r[1] for r in rows} == {int(Quality.MANUAL)}
    assert sorted(r[2] for r in rows) == [70, 82, 97, 128]
    assert [e.payload["summary"] for e in core.events("vitals.manual")] == [
        "Manual vitals: BP 128/82, HR 70"]
    assert day.gate().baseline["sys"] == 128


def test_only_the_kinds_the_protocol_checks_keep_their_times(core: Core) -> None:
    """HR and SpO2 every second would keep 8 bytes a second each for a check no rule of
    this protocol asks for; the BP the 40-minute check asks for is kept and satisfies it."""
    day = core.start("esketamine-rems")
    ready(day)
    dose = day.give_dose("56")
    assert "bp" in day.asked and "hr" not in day.asked and "spo2" not in day.asked
    t = core.clock.now()
    for s in range(600):
        day.readings([reading(t + s, "hr", 70), reading(t + s, "spo2", 97)])
    day.readings(bp(dose.t + 41 * MIN, 128, 80))
    assert set(day.values) == {"bp"} and day.values["bp"][-1] == dose.t + 41 * MIN
    core.clock.advance(42 * MIN)
    bp_check = next(c for c in day.checks() if c.label.startswith("BP about 40"))
    assert bp_check.state == "done" and bp_check.done_at == pytest.approx(dose.t + 41 * MIN)
