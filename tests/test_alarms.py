"""Alarm rules: sustained limits, artefacts, BP confirmation, technical alarms, ack, restore."""

from __future__ import annotations

from console.core.dosing.dose_day import DoseDay
from devices.link import LinkState, LinkStatus
from devices.protocol import DecoderStats
from devices.reading import Quality
from tests.helpers.dose_fixtures import Core, bp, core_fixture, reading  # noqa: F401
from tests.test_dosing import ready

MIN = 60.0


def feed(core: Core, day: DoseDay, param: str, value: float, seconds: float, step: float = 5,
         quality: Quality = Quality.VALID) -> None:
    """One reading every `step` s for `seconds`, moving the clock along."""
    n = int(seconds // step)
    for _ in range(n + 1):
        day.readings([reading(day.now(), param, value, quality)])
        core.clock.advance(step)
    core.clock.advance(-step)


def test_hr_125_for_4_min_does_not_alarm_for_5_min_does(core: Core) -> None:
    day = core.start("im")
    feed(core, day, "hr", 125, 4 * MIN)
    assert day.alarms.active == {}
    feed(core, day, "hr", 125, 1 * MIN)
    assert list(day.alarms.active) == ["hr-high"]
    raised = core.events("alarm.raised")
    assert len(raised) == 1 and raised[0].payload["priority"] == "medium"
    assert raised[0].payload["code"] == 147842 and "HR 125" in raised[0].payload["summary"]
    day.readings([reading(day.now(), "hr", 90)])
    cleared = core.events("alarm.cleared")
    assert len(cleared) == 1 and cleared[0].refers_to == raised[0].uid
    assert day.alarms.active == {}


def test_a_normal_value_restarts_the_sustain_and_artefacts_are_ignored(core: Core) -> None:
    day = core.start("im")
    feed(core, day, "hr", 125, 4 * MIN)
    day.readings([reading(day.now(), "hr", 100)])
    feed(core, day, "hr", 125, 4 * MIN)
    assert day.alarms.active == {}
    feed(core, day, "spo2", 70, 1 * MIN, quality=Quality.QUESTIONABLE)
    assert day.alarms.active == {}


def test_bp_over_limit_needs_two_readings_5_min_apart_severe_alarms_at_once(core: Core) -> None:
    day = core.start("im")
    day.readings(bp(day.now(), 185, 100))
    assert day.alarms.active == {}
    core.clock.advance(3 * MIN)
    day.readings(bp(day.now(), 186, 100))
    assert day.alarms.active == {}
    core.clock.advance(2 * MIN)
    day.readings(bp(day.now(), 184, 100))
    assert list(day.alarms.active) == ["sys-high"]
    assert day.alarms.active["sys-high"].priority == "high"
    core.clock.advance(3 * MIN)
    day.readings(bp(day.now(), 204, 100))
    assert set(day.alarms.active) == {"sys-high", "sys-severe"}


def test_desaturation_alarm_acknowledge_silences_then_sound_returns(core: Core) -> None:
    day = core.start("im")
    feed(core, day, "spo2", 88, 15, step=1)
    assert list(day.alarms.active) == ["spo2-low"]
    assert day.alarms.sounding(day.now()) == "high"
    assert day.alarms.priority_for_code(150456) == "high"
    day.acknowledge("Ana Nurse", silence_s=120)
    assert day.alarms.sounding(day.now()) is None
    assert "spo2-low" in day.alarms.active  # still visible
    core.clock.advance(121)
    assert day.alarms.sounding(day.now()) == "high"
    ack = core.events("alarm.acknowledged")
    raised = core.events("alarm.raised")
    assert ack[0].refers_to == raised[0].uid and ack[0].author == "Ana Nurse"


def test_limit_change_is_recorded_and_applies(core: Core) -> None:
    day = core.start("im")
    day.set_limit("spo2-low", "88", reason="COPD, baseline 90 %")
    feed(core, day, "spo2", 90, 30, step=1)
    assert day.alarms.active == {}
    ev = core.events("limits.changed")[0]
    assert (ev.payload["old"], ev.payload["new"], ev.author) == (92, 88, "Ana Nurse")
    assert "SpO2 < 92 %" in ev.payload["summary"] and "SpO2 < 88 %" in ev.payload["summary"]
    again = core.open("im")
    assert again.alarms.rules["spo2-low"].below == 88


def _status(state: LinkState, t: float) -> LinkStatus:
    return LinkStatus("MON", state, f"monitor {state}", t, DecoderStats())


def test_technical_alarms_only_once_dosed(core: Core) -> None:
    day = core.start("im")
    day.readings([reading(day.now(), "hr", 72), reading(day.now(), "spo2", 97)])
    day.link(_status(LinkState.LOST, day.now()))
    core.clock.advance(60)
    day.tick()
    assert day.alarms.active == {}
    ready(day)
    day.give_dose("50")
    day.tick()
    assert set(day.alarms.active) == {"tech:link:MON"}
    core.clock.advance(31)
    day.tick()
    assert set(day.alarms.active) == {"tech:link:MON", "tech:stale"}
    assert all(a.code is None for a in day.alarms.active.values())
    day.link(_status(LinkState.LIVE, day.now()))
    day.readings([reading(day.now(), "hr", 72)])
    assert day.alarms.active == {}


def test_active_alarms_and_acks_come_back_after_a_restart(core: Core) -> None:
    day = core.start("im")
    feed(core, day, "spo2", 88, 15, step=1)
    day.acknowledge("Ana Nurse", silence_s=300)
    uid = day.alarms.active["spo2-low"].uid
    core.clock.advance(10)
    again = core.open("im")
    assert list(again.alarms.active) == ["spo2-low"]
    assert again.alarms.active["spo2-low"].uid == uid
    assert again.alarms.sounding(again.now()) is None  # still within the silence
    again.readings([reading(again.now(), "spo2", 97)])
    cleared = core.events("alarm.cleared")
    assert len(cleared) == 1 and cleared[0].refers_to == uid
    assert len(core.events("alarm.raised")) == 1  # the restart did not raise it twice


def test_an_oximeter_pulse_rate_counts_as_heart_rate(core: Core) -> None:
    from devices import mdc
    from devices.reading import Reading
    day = core.start("im")
    for _ in range(61):
        day.readings([Reading(day.now(), "OXI", mdc.MDC_PULS_OXIM_PULS_RATE, 130, 0)])
        core.clock.advance(5)
    assert list(day.alarms.active) == ["hr-high"]
    assert day.gate().baseline["hr"] == 130
