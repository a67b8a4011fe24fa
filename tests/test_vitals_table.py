"""The one vital-sign table: everything derives from it, and a new row works end to end.

Temperature was added to the console by one row in `core/vitals_table.py` and one check in the IV
template; these tests prove it reaches checks, manual entry and the store.
"""

from __future__ import annotations

import pytest

from console.core.dosing import alarms, dose_day, templates
from console.core.dosing.dosing import DoseInputError
from console.core.vitals_table import VITAL, VITALS, check_kinds, vital_of
from devices import mdc
from devices.plausibility import DEFAULT_LIMITS
from devices.reading import Quality, Reading
from tests.helpers.dose_fixtures import Core, core_fixture  # noqa: F401
from tests.test_dosing import ready

MIN = 60.0


def test_every_list_of_vitals_is_the_table() -> None:
    assert list(templates.PARAMS) == [v.key for v in VITALS]
    assert templates.PARAMS["hr"] == (mdc.MDC_ECG_HEART_RATE, "HR", "/min")
    assert templates.PARAM_CODES["hr"] == (mdc.MDC_ECG_HEART_RATE, mdc.MDC_PULS_OXIM_PULS_RATE,
                                           mdc.MDC_PULS_RATE)
    assert templates.CHECK_KINDS == ("hr", "spo2", "bp", "rr", "temp", "sedation", "dissociation")
    assert check_kinds() == templates.CHECK_KINDS[:-2]
    assert dose_day.CHECK_OF_PARAM == {"hr": "hr", "spo2": "spo2", "sys": "bp", "rr": "rr",
                                       "temp": "temp"}
    assert dose_day.MANUAL_RANGES["sys"] == (40, 300) and dose_day.MANUAL_NAMES["rr"] == (
        "Respiratory rate")
    assert set(alarms.STALE_CODES) == {*VITAL["hr"].codes, *VITAL["spo2"].codes}


def test_plausible_ranges_are_the_device_gates_own() -> None:
    for v in VITALS:
        assert v.plausible is DEFAULT_LIMITS[v.code]
        assert all(c in DEFAULT_LIMITS for c in v.codes), v.key
        lo, hi = v.manual_range
        assert v.plausible.low <= lo < hi <= v.plausible.high, v.key


def test_pulse_rate_and_aliases_belong_to_their_parameter() -> None:
    assert vital_of(mdc.MDC_PULS_OXIM_PULS_RATE) is VITAL["hr"]
    assert vital_of(mdc.PHILIPS_TEMP_ORAL_PRED) is VITAL["temp"]
    assert vital_of(mdc.MDC_TEMP_SKIN) is None  # skin is not a body temperature
    assert vital_of(mdc.MDC_PRESS_BLD_NONINV_MEAN) is None


def test_temperature_at_60_min_is_met_by_a_monitor_reading(core: Core) -> None:
    day = core.start("iv-infusion")
    ready(day)
    day.give_dose("35")
    temp = next(c for c in day.checks() if c.what == "temp")
    assert temp.label == "Temperature at 60 min" and temp.state == "upcoming"
    core.clock.advance(60 * MIN)
    assert next(c for c in day.checks() if c.what == "temp").state == "due"
    # A tympanic thermometer on the monitor: not the MDC_TEMP code itself, still temperature.
    day.readings([Reading(day.now(), "MON", mdc.MDC_TEMP_TYMP, 36.8, mdc.MDC_DIM_DEGC,
                          Quality.VALID)])
    temp = next(c for c in day.checks() if c.what == "temp")
    assert temp.state == "done" and temp.done_at == pytest.approx(day.now())


def test_temperature_typed_by_hand_is_stored_and_counts(core: Core) -> None:
    day = core.start("iv-infusion")
    ready(day)
    day.give_dose("35")
    core.clock.advance(58 * MIN)
    for text, words in (("warm", "not a number"), ("52", "not plausible"),
                        ("29", "not plausible")):
        with pytest.raises(DoseInputError, match=words):
            day.manual_vitals({"temp": text})
    ev, readings = day.manual_vitals({"temp": "37,1"})
    assert ev.payload["summary"] == "Manual vitals: Temp 37.1"
    assert [(r.code, r.value, r.unit, r.quality) for r in readings] == [
        (mdc.MDC_TEMP, 37.1, mdc.MDC_DIM_DEGC, Quality.MANUAL)]
    core.writer.flush()
    rows = core.sessions.reader.execute(
        "SELECT code, value, source FROM readings WHERE code=?", (mdc.MDC_TEMP,)).fetchall()
    assert rows == [(mdc.MDC_TEMP, 37.1, "manual")]
    assert next(c for c in day.checks() if c.what == "temp").state == "done"
