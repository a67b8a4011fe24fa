"""The plausibility gate: one table per parameter, every monitor's impossible numbers INVALID.

The known cases from the field (issue 9) are decoded by their real decoders from wire bytes and
then passed through the gate exactly as the link does.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import mdc
from devices.plausibility import (
    DEFAULT_LIMITS,
    MAX_CODE,
    Limits,
    PlausibilityGate,
    limits_with,
)
from devices.protocols import intellivue_messages, nonin, sim
from devices.protocols.intellivue_codec import wrap
from devices.reading import Quality, Reading, Sample, WaveChunk
from tests import test_proto_hl7 as hl7_vectors
from tests import test_proto_intellivue as iv_vectors
from tests import test_proto_s5 as s5_vectors

HR, PR, SPO2 = mdc.MDC_ECG_HEART_RATE, mdc.MDC_PULS_OXIM_PULS_RATE, mdc.MDC_PULS_OXIM_SAT_O2
SYS, DIA, MEAN = (mdc.MDC_PRESS_BLD_NONINV_SYS, mdc.MDC_PRESS_BLD_NONINV_DIA,
                  mdc.MDC_PRESS_BLD_NONINV_MEAN)
RR, TEMP, ETCO2 = mdc.MDC_RESP_RATE, mdc.MDC_TEMP, mdc.MDC_AWAY_CO2_ET
BPM, PCT, MMHG = mdc.MDC_DIM_BEAT_PER_MIN, mdc.MDC_DIM_PERCENT, mdc.MDC_DIM_MMHG
RPM, DEGC = mdc.MDC_DIM_RESP_PER_MIN, mdc.MDC_DIM_DEGC


def r(code: int, value: float, unit: int, q: Quality = Quality.VALID, t: float = 10.0,
      device_time: float | None = 9.0) -> Reading:
    return Reading(t, "dev", code, value, unit, q, device_time)


def gate(*samples: Sample, limits: dict[int, Limits] | None = None) -> list[Sample]:
    return PlausibilityGate(limits).apply(list(samples))


def one(reading: Reading) -> Reading:
    out = gate(reading)
    assert len(out) == 1 and isinstance(out[0], Reading)
    return out[0]


# --- the table ----------------------------------------------------------------------------------

# (code, unit, lowest plausible, highest plausible, just below, just above)
TABLE = [
    (HR, BPM, 15, 300, 14.9, 300.1),
    (PR, BPM, 15, 300, 14, 301),
    (mdc.MDC_PULS_RATE, BPM, 15, 300, 14, 301),
    (SPO2, PCT, 0.1, 100, -0.1, 100.1),
    (SYS, MMHG, 30, 300, 29, 301),
    (DIA, MMHG, 10, 250, 9, 251),
    (RR, RPM, 0, 150, -1, 151),
    (TEMP, DEGC, 25, 45, 24.9, 45.1),
    (ETCO2, MMHG, 0, 150, -0.5, 150.5),
]


@pytest.mark.parametrize(("code", "unit", "low", "high", "below", "above"), TABLE)
def test_each_parameter_range(code: int, unit: int, low: float, high: float, below: float,
                              above: float) -> None:
    for v in (low, high, (low + high) / 2):
        ok = r(code, v, unit)
        assert one(ok) == ok, v  # a plausible value passes unchanged
    for v in (below, above):
        bad = one(r(code, v, unit))
        assert bad.quality == Quality.INVALID and not bad.quality.displayable
        assert bad.value == v  # kept for the record
        assert bad.reason is not None and "outside" in bad.reason


def test_the_impedance_rate_and_cuff_family_are_judged_as_their_parameter() -> None:
    assert one(r(mdc.MDC_TTHOR_RESP_RATE, 151, RPM)).quality == Quality.INVALID
    assert one(r(mdc.MDC_PRESS_CUFF_SYS, 400, MMHG)).quality == Quality.INVALID


def test_spo2_zero_means_no_value() -> None:
    zero = one(r(SPO2, 0, PCT))
    assert zero.quality == Quality.INVALID and zero.reason == "SpO2 0 % means no value"


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_a_value_that_is_not_a_finite_number_is_invalid(value: float) -> None:
    out = one(r(HR, value, BPM))
    assert out.quality == Quality.INVALID and math.isnan(out.value)
    assert out.reason is not None and "not a number" in out.reason


def test_a_value_in_another_unit_is_invalid() -> None:
    out = one(r(SYS, 16, mdc.MDC_DIM_PERCENT))
    assert out.quality == Quality.INVALID and out.reason == "NIBP sys came in %, not in mmHg"
    assert one(r(TEMP, 98.6, 268768)).quality == Quality.INVALID  # °F is not °C


def test_no_device_may_claim_manual_entry() -> None:
    out = one(r(HR, 72, BPM, Quality.MANUAL))
    assert out.quality == Quality.QUESTIONABLE and out.reason is not None
    assert "manual" in out.reason
    worse = one(r(HR, 510, BPM, Quality.MANUAL))
    assert worse.quality == Quality.INVALID and "outside" in (worse.reason or "")
    w = WaveChunk(1.0, "dev", mdc.MDC_PULS_OXIM_PLETH, 125.0, np.zeros(5, np.float32),
                  Quality.MANUAL)
    (wout,) = gate(w)
    assert isinstance(wout, WaveChunk) and wout.quality == Quality.QUESTIONABLE


def test_demo_and_questionable_values_are_judged_too() -> None:
    assert one(r(HR, 1e9, BPM, Quality.DEMO)).quality == Quality.INVALID
    assert one(r(HR, 72, BPM, Quality.QUESTIONABLE)).quality == Quality.QUESTIONABLE


def test_already_invalid_values_pass_uncounted() -> None:
    g = PlausibilityGate()
    nan = r(HR, math.nan, BPM, Quality.INVALID)
    (out,) = g.apply([nan])
    assert isinstance(out, Reading) and out.quality == Quality.INVALID
    assert not g.rejected and not g.last_rejected


def test_parameters_without_a_range_keep_their_values() -> None:
    pi = r(mdc.MDC_PULS_OXIM_PERF_REL, 250, PCT)
    assert one(pi) == pi
    assert one(r(148066, 3, mdc.MDC_DIM_DIMLESS)).quality == Quality.VALID


# --- NIBP: the three of one cuff result -------------------------------------------------------------


@pytest.mark.parametrize(("s", "d", "m", "ok"), [
    (120, 80, 93, True), (120, 80, 80, True), (120, 80, 120, True),
    (120, 80, 130, False), (120, 80, 70, False), (80, 120, 100, False), (100, 100, 100, False),
])
def test_nibp_mean_must_lie_between_diastolic_and_systolic(s: float, d: float, m: float,
                                                           ok: bool) -> None:
    out = gate(r(SYS, s, MMHG), r(DIA, d, MMHG), r(MEAN, m, MMHG), r(HR, 70, BPM))
    qs = [x.quality for x in out if isinstance(x, Reading) and x.code != HR]
    assert qs == [Quality.VALID] * 3 if ok else qs == [Quality.INVALID] * 3
    assert out[3].quality == Quality.VALID  # nothing else is touched
    if not ok:
        assert all("does not fit together" in (x.reason or "") for x in out[:3]
                   if isinstance(x, Reading))


def test_nibp_of_different_measurements_are_not_compared() -> None:
    out = gate(r(SYS, 120, MMHG, device_time=1.0), r(DIA, 130, MMHG, device_time=2.0),
               r(MEAN, 125, MMHG, device_time=3.0))
    assert [x.quality for x in out] == [Quality.VALID] * 3


# --- a clinic's own limits -------------------------------------------------------------------------


def test_clinic_overrides_by_label_code_or_name() -> None:
    table = limits_with({"HR": (20, 250), SPO2: {"low": 50}, "MDC_RESP_RATE": [4, 60]})
    assert table[HR] == Limits(BPM, 20, 250)
    assert table[SPO2] == Limits(PCT, 50, 100, no_value=0)
    assert (table[RR].low, table[RR].high) == (4, 60)
    assert table[SYS] == DEFAULT_LIMITS[SYS]  # the rest stays the default
    assert DEFAULT_LIMITS[HR] == Limits(BPM, 15, 300)  # the defaults are not changed
    g = PlausibilityGate(table)
    out = g.apply([r(HR, 260, BPM), r(SPO2, 45, PCT), r(RR, 3, RPM), r(HR, 240, BPM)])
    assert [x.quality for x in out] == [Quality.INVALID] * 3 + [Quality.VALID]
    assert isinstance(out[0], Reading) and "20–250 /min" in (out[0].reason or "")


@pytest.mark.parametrize(("overrides", "words"), [
    ({"Heart": (1, 2)}, "unknown monitor parameter"),
    ({"HR": (300, 20)}, "low must be below high"),
    ({"HR": (20,)}, "[low, high]"),
    ({"HR": ("a", "b")}, "two numbers"),
    ({"HR": (math.nan, 200)}, "not a range"),
    ({"HR": {"lo": 20}}, "only 'low' and 'high'"),
    ({"Pleth": (0, 1)}, "no plausible range"),
])
def test_unusable_overrides_are_refused_in_words(overrides: dict, words: str) -> None:
    with pytest.raises(ValueError) as e:
        limits_with(overrides)
    assert words in str(e.value)


# --- what cannot be stored at all -------------------------------------------------------------------


def test_codes_or_units_beyond_32_bits_and_unusable_wave_rates_are_dropped_and_counted() -> None:
    g = PlausibilityGate()
    waves = [WaveChunk(1.0, "dev", mdc.MDC_PULS_OXIM_PLETH, rate, np.zeros(3, np.float32))
             for rate in (math.nan, math.inf, 0.0, -5.0, 125.0)]
    out = g.apply([r(2**40, 1, BPM), r(HR, 72, 2**63), r(-1, 1, BPM),
                   *waves, r(HR, 72, BPM)])
    assert len(out) == 2 and isinstance(out[0], WaveChunk) and out[0].rate_hz == 125.0
    assert isinstance(out[1], Reading) and out[1].value == 72
    assert sum(g.rejected.values()) == 7


def test_non_finite_device_time_is_dropped_not_stored() -> None:
    out = one(r(HR, 72, BPM, device_time=math.inf))
    assert out.device_time is None and out.quality == Quality.VALID


def test_numpy_numbers_become_plain_floats() -> None:
    out = one(r(HR, np.float32(72.0), BPM))  # type: ignore[arg-type]
    assert type(out.value) is float and out.value == 72.0


_CODES = st.one_of(st.sampled_from([*DEFAULT_LIMITS, mdc.MDC_PULS_OXIM_PERF_REL]),
                   st.integers(min_value=-(2**70), max_value=2**70))
_UNITS = st.one_of(st.sampled_from([BPM, PCT, MMHG, RPM, DEGC, 0]),
                   st.integers(min_value=-(2**70), max_value=2**70))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_CODES, st.floats(allow_nan=True, allow_infinity=True), _UNITS,
                          st.sampled_from(list(Quality)),
                          st.one_of(st.none(), st.floats()))))
def test_nothing_passes_the_gate_that_could_be_shown_wrongly_or_not_stored(
    rows: list[tuple[int, float, int, Quality, float | None]],
) -> None:
    out = PlausibilityGate().apply([Reading(1.0, "p", c, v, u, q, dt) for c, v, u, q, dt in rows])
    assert len(out) <= len(rows)
    for x in out:
        assert isinstance(x, Reading)
        assert 0 <= x.code <= MAX_CODE and 0 <= x.unit <= MAX_CODE
        assert type(x.value) is float and (math.isfinite(x.value) or math.isnan(x.value))
        assert x.device_time is None or math.isfinite(x.device_time)
        assert x.quality != Quality.MANUAL
        if x.quality == Quality.INVALID:
            continue
        assert math.isfinite(x.value)
        lim = DEFAULT_LIMITS.get(mdc.canonical(x.code))
        if lim is not None:
            assert x.unit == lim.unit and lim.low <= x.value <= lim.high
            assert x.value != lim.no_value


# --- the known cases, from wire bytes ---------------------------------------------------------------


def decoded_then_gated(samples: list[Sample]) -> dict[int, Reading]:
    return {x.code: x for x in PlausibilityGate().apply(samples) if isinstance(x, Reading)}


@pytest.mark.parametrize("hr", [-32000, 32767])
def test_s5_hr_minus_32000_and_32767_are_invalid(hr: int) -> None:
    raw = dict(s5_vectors.GOOD, hr=hr)
    _, out = s5_vectors.decode(s5_vectors.wire(s5_vectors.record(
        [s5_vectors.subrecord(s5_vectors.block(**raw))])))
    got = decoded_then_gated(out)
    assert got[HR].quality == Quality.INVALID and got[HR].value == hr
    assert got[PR].quality == Quality.VALID and got[PR].value == 71  # only its own parameter


def test_s5_markers_are_no_value_with_the_monitors_reason() -> None:
    raw = dict(s5_vectors.GOOD, hr=-32763, spo2=-32766)
    _, out = s5_vectors.decode(s5_vectors.wire(s5_vectors.record(
        [s5_vectors.subrecord(s5_vectors.block(**raw))])))
    got = decoded_then_gated(out)
    assert math.isnan(got[HR].value) and got[HR].reason == "monitor: over range (-32763)"
    assert got[SPO2].reason == "monitor: not updated (-32766)"


def test_intellivue_hr_1e9_is_invalid() -> None:
    d = iv_vectors.associated_decoder()
    raw = (9 << 24) | 1  # FLOAT-Type 1 x 10^9
    obs = [iv_vectors.numeric(0x0101, intellivue_messages.NOM_ECG_CARD_BEAT_RATE, 0,
                              intellivue_messages.NOM_DIM_BEAT_PER_MIN, raw)]
    out = d.feed(wrap(iv_vectors.poll_result(obs)), 1.0)
    assert [x.value for x in out if isinstance(x, Reading)] == [1e9]  # the decoder reads it
    got = decoded_then_gated(out)
    assert got[HR].quality == Quality.INVALID and "outside 15–300 /min" in (got[HR].reason or "")


@pytest.mark.parametrize("value", [math.inf, -math.inf])
def test_sim_hr_infinite_is_invalid(value: float) -> None:
    line = sim.numeric_line(1, HR, value, BPM, Quality.VALID)
    assert (b",inf," if value > 0 else b",-inf,") in line
    d = sim.SimDecoder("s")
    got = decoded_then_gated(d.feed(line, 1.0))
    assert got[HR].quality == Quality.INVALID and math.isnan(got[HR].value)


def test_sim_device_claiming_manual_is_downgraded() -> None:
    d = sim.SimDecoder("s")
    got = decoded_then_gated(d.feed(sim.numeric_line(1, HR, 72, BPM, Quality.MANUAL), 1.0))
    assert got[HR].quality == Quality.QUESTIONABLE


def test_nonin_pulse_510_and_spo2_0_are_invalid() -> None:
    d = nonin.NoninDecoder("n")
    out = d.feed(nonin.make_packet(2, 510, 0) + nonin.make_packet(2, 72, 97)[:5], 1.0)
    got = decoded_then_gated(out)
    assert got[PR].quality == Quality.INVALID and got[PR].value == 510
    assert got[SPO2].quality == Quality.INVALID and got[SPO2].reason == "SpO2 0 % means no value"


def test_nonin_missing_markers_are_no_value() -> None:
    d = nonin.NoninDecoder("n")
    out = d.feed(nonin.make_packet(2, nonin.HR_UNAVAILABLE, nonin.SPO2_UNAVAILABLE)
                 + nonin.make_packet(2, 72, 97)[:5], 1.0)
    got = decoded_then_gated(out)
    assert got[PR].reason == "monitor: no pulse rate (511)" and math.isnan(got[PR].value)
    assert got[SPO2].reason == "monitor: no SpO2 (127)" and math.isnan(got[SPO2].value)


def test_hl7_spo2_150_is_invalid() -> None:
    _, rs = hl7_vectors.decode(hl7_vectors.oru(
        hl7_vectors.nm("150456^MDC_PULS_OXIM_SAT_O2^MDC", "150", "262688^MDC_DIM_PERCENT^MDC"),
        hl7_vectors.HR))
    got = decoded_then_gated(list(rs))
    assert got[SPO2].quality == Quality.INVALID and got[HR].quality == Quality.VALID


def test_hl7_unit_code_shifted_into_the_value_never_becomes_a_systolic() -> None:
    """A lost OBX-5 puts the unit ("266016^MDC_DIM_MMHG^MDC") in the value's place."""
    shifted = "NM|150301^MDC_PRESS_CUFF_SYS^MDC|1.1.6.1|266016^MDC_DIM_MMHG^MDC||||||R"
    d, rs = hl7_vectors.decode(hl7_vectors.oru(shifted, hl7_vectors.HR))
    # The shifted row is dropped; the rest of the message stands (issue 12: one bad row costs
    # one row). Before, the whole frame was rejected.
    assert [r.code for r in rs] == [HR] and d.stats.rows_skipped == 1
    assert d.stats.frames_rejected == 0
    # Without the components, an empty unit is assumed only for a plausible value.
    d, rs = hl7_vectors.decode(hl7_vectors.oru(hl7_vectors.nm("150301^^MDC", "266016", "")))
    assert rs[0].quality == Quality.INVALID and rs[0].reason is not None
    assert "no unit" in rs[0].reason
    _, rs = hl7_vectors.decode(hl7_vectors.oru(hl7_vectors.nm("150301^^MDC", "118", "")))
    assert (rs[0].value, rs[0].unit, rs[0].quality) == (118, MMHG, Quality.VALID)


def test_hl7_wrong_unit_gives_its_reason() -> None:
    _, rs = hl7_vectors.decode(hl7_vectors.oru(hl7_vectors.nm("150021^^MDC", "16", "kPa^kPa^UCUM")))
    assert rs[0].quality == Quality.INVALID and rs[0].reason == "NIBP sys: unit 'kPa^kPa' is not its unit"


def test_hl7_sentinels_and_statuses_give_reasons() -> None:
    _, rs = hl7_vectors.decode(hl7_vectors.oru(
        hl7_vectors.nm("150456^^MDC", "-100", "262688^^MDC"),
        hl7_vectors.nm("147842^^MDC", "72", "264864^^MDC", status="X")))
    assert [x.reason for x in rs] == ["monitor: no value (-100)", "monitor: result status X"]


def test_every_simulated_monitor_passes_the_gate_untouched() -> None:
    """The gate must not invalidate what the simulators send for a calm patient (units!)."""
    from devices.drivers import DRIVERS
    from devices.physiology import Physiology

    for driver in DRIVERS.values():
        dec, mon = driver.make_decoder("x"), driver.make_simulator(Physiology("calm", start=0.0))
        out: list[Sample] = []
        t = 0.0
        while t < 12.0:
            mon.receive(dec.outgoing(t), t)
            out += dec.feed(mon.produce(t), t)
            t += 0.02
        g = PlausibilityGate()
        g.apply(out)
        assert any(isinstance(x, Reading) for x in out), driver.name
        assert not g.rejected, (driver.name, g.last_rejected)
