"""IntelliVue wave objects that share a handle: every chunk at the rate of its own object.

Vectors are written from the Data Export Programming Guide (Rev G), chapter 7 "Attribute Data
Types and Constants Used", section "Wave Objects": Sample Period (NOM_ATTR_TIME_PD_SAMP,
RelativeTime in 1/8 ms), Sample Array Specification (NOM_ATTR_SA_SPECN: array_size u16,
sample_size u8, significant_bits u8, flags u16; "array_size specifies the maximum number of
samples in one observed value"), Sample Array Observed Value (SaObsValue: physio_id, state,
length, samples) and Compound Sample Array Observed Value (SaObsValueCmp: count, length,
SaObsValue[]; "used to provide 250 samples/s ECG waves"). Both context groups may be left out
of a poll result that carries observed values, so samples must find their own object.
"""

from __future__ import annotations

import random
import struct

import numpy as np

from devices import mdc
from devices.protocols import intellivue as iv
from devices.protocols import intellivue_messages as m
from devices.protocols.intellivue_codec import encode_abs_time, wrap
from devices.reading import WaveChunk

HANDLE = 0x0301
LEAD_I, LEAD_II, ECG_CMPD = 0x0101, 0x0102, 0x0100  # NOM_ECG_ELEC_POTL_I / _II / compound
PLETH = m.NOM_PLETH
TICKS_250HZ, TICKS_500HZ, TICKS_125HZ = 32, 16, 64  # sample period in 1/8 ms


def sa_value(physio: int, samples: list[int]) -> bytes:
    """SaObsValue: physio_id u16, state u16 (0 = valid), length u16, 16-bit samples."""
    body = struct.pack(f">{len(samples)}H", *samples)
    return struct.pack(">HHH", physio, 0, len(body)) + body


def compound(values: list[bytes]) -> bytes:
    """SaObsValueCmp: count u16, length u16, then the SaObsValues."""
    body = b"".join(values)
    return struct.pack(">HH", len(values), len(body)) + body


def context(type_code: int, period: int, array_size: int) -> dict[int, bytes]:
    """Static context: Type (partition SCADA, code), Sample Period, SaSpec (16-bit samples,
    14 significant bits, SA_EXT_VAL_RANGE so the upper bits are masked), and a scale."""
    return {
        m.NOM_ATTR_ID_TYPE: struct.pack(">HH", m.NOM_PART_SCADA, type_code),
        m.NOM_ATTR_TIME_PD_SAMP: struct.pack(">I", period),
        m.NOM_ATTR_SA_SPECN: struct.pack(">HBBH", array_size, 16, 14, 0x1000),
        m.NOM_ATTR_SCALE_SPECN_I16: struct.pack(">IIHH", 0x007FFFFF, 0x007FFFFF, 0, 0x3FFF),
    }


def cmpd_ecg(n: int = 64, with_context: bool = False) -> m.Observation:
    """The compound ECG object: leads I and II at 250 samples/s, `n` samples each."""
    attrs = {m.NOM_ATTR_SA_CMPD_VAL_OBS: compound([sa_value(LEAD_I, [100] * n),
                                                   sa_value(LEAD_II, [200] * n)])}
    if with_context:
        attrs.update(context(ECG_CMPD, TICKS_250HZ, 64))
    return m.Observation(0, HANDLE, attrs)


def single_ecg(n: int = 128, with_context: bool = False, ctx: int = 0) -> m.Observation:
    """The single-lead ECG II object under the same handle, at 500 samples/s."""
    attrs = {m.NOM_ATTR_SA_VAL_OBS: sa_value(LEAD_II, [300] * n)}
    if with_context:
        attrs.update(context(LEAD_II, TICKS_500HZ, 128))
    return m.Observation(ctx, HANDLE, attrs)


def wave_result(obs: list[m.Observation]) -> bytes:
    reply = m.PollReply(m.NOM_ACT_POLL_MDIB_DATA_EXT, 2, 0, 4766464, b"\xff" * 8,
                        m.NOM_MOC_VMO_METRIC_SA_RT, m.ALL_GROUPS, obs)
    return wrap(m.result(6, m.CMD_CONFIRMED_ACTION, m.action_result_body(reply)))


def decoder() -> iv.IntelliVueDecoder:
    d = iv.IntelliVueDecoder("iv")
    d.outgoing(0.0)
    d.feed(wrap(m.association_response(m.UserInfo(system_type=m.SYST_SERVER))), 0.0)
    d.feed(wrap(m.mds_create_event(1, 8000, encode_abs_time(1_000_000.0))), 0.0)
    return d


def chunks(d: iv.IntelliVueDecoder, obs: list[m.Observation], t: float = 1.0) -> list[WaveChunk]:
    return [s for s in d.feed(wave_result(obs), t) if isinstance(s, WaveChunk)]


def kind(c: WaveChunk) -> str:
    """Which object a chunk came from, told by its sample values (100/200: compound)."""
    return "single" if int(np.nanmax(c.samples) * 0x3FFF + 0.5) == 300 else "compound"


def test_two_objects_one_handle_interleaved_each_chunk_its_own_rate() -> None:
    """Guide "Wave Objects": the compound ECG (SaObsValueCmp, 250 samples/s, array_size 64)
    and a single-lead ECG (SaObsValue, 500 samples/s, array_size 128) described once under
    one handle, then only observed values, in any order: each chunk keeps its object's rate."""
    d = decoder()
    first = chunks(d, [cmpd_ecg(with_context=True), single_ecg(with_context=True)])
    assert sorted((c.rate_hz, c.code) for c in first) == [
        (250.0, mdc.MDC_ECG_ELEC_POTL_II - 1), (250.0, mdc.MDC_ECG_ELEC_POTL_II),
        (500.0, mdc.MDC_ECG_ELEC_POTL_II)]
    rng = random.Random(12)
    polls = [[cmpd_ecg()], [single_ecg()], [single_ecg(), cmpd_ecg()], [cmpd_ecg(), single_ecg()]]
    got: list[WaveChunk] = []
    for t in range(2, 40):
        got += chunks(d, rng.choice(polls), float(t))
    assert {kind(c) for c in got} == {"single", "compound"}
    for c in got:
        want = 500.0 if kind(c) == "single" else 250.0
        assert c.rate_hz == want, (kind(c), c.rate_hz)
        assert c.duration == (128 / 500.0 if want == 500.0 else 64 / 250.0)
    assert d._waves.unplaced == 0


def test_each_observation_with_its_own_context_uses_its_own_period() -> None:
    """Guide "Wave Objects": the Sample Period is a static context attribute of the object; a
    result that repeats it with every observed value (as our simulator does) is read with that
    observation's own period, whichever object came last."""
    d = decoder()
    rates = []
    for order in ([True, False], [False, True], [True, True, False]):
        obs = [cmpd_ecg(with_context=True) if c else single_ecg(with_context=True)
               for c in order]
        rates += [(kind(c), c.rate_hz) for c in chunks(d, obs)]
    assert {("compound", 250.0), ("single", 500.0)} == set(rates)


def test_same_handle_in_two_contexts_keeps_both_rates() -> None:
    """Guide, SingleContextPoll: a handle is unique within a context only, so pleth at 125
    samples/s in context 0 and the single ECG at 500 samples/s in context 1 share handle
    0x0301 without sharing a rate."""
    d = decoder()
    pleth_ctx = context(PLETH, TICKS_125HZ, 32)
    pleth = lambda extra: m.Observation(  # noqa: E731
        0, HANDLE, {m.NOM_ATTR_SA_VAL_OBS: sa_value(PLETH, [50] * 32), **extra})
    chunks(d, [pleth(pleth_ctx), single_ecg(with_context=True, ctx=1)])
    for obs in ([single_ecg(ctx=1), pleth({})], [pleth({})], [single_ecg(ctx=1)]) * 3:
        for c in chunks(d, obs):
            assert c.rate_hz == (125.0 if c.code == mdc.MDC_PULS_OXIM_PLETH else 500.0)


def test_more_samples_than_one_objects_array_size_belong_to_the_other() -> None:
    """SaSpec.array_size is the maximum number of samples in one observed value: 128 samples
    cannot be from an object whose arrays hold at most 64."""
    d = decoder()
    a = m.Observation(0, HANDLE, {m.NOM_ATTR_SA_VAL_OBS: sa_value(LEAD_I, [1] * 64),
                                  **context(LEAD_I, TICKS_250HZ, 64)})
    b = m.Observation(0, HANDLE, {m.NOM_ATTR_SA_VAL_OBS: sa_value(LEAD_II, [1] * 128),
                                  **context(LEAD_II, TICKS_500HZ, 128)})
    chunks(d, [a, b])
    long_ = m.Observation(0, HANDLE, {m.NOM_ATTR_SA_VAL_OBS: sa_value(LEAD_II, [1] * 128)})
    (c,) = chunks(d, [long_])
    assert c.rate_hz == 500.0


def test_samples_that_fit_two_objects_at_other_rates_are_not_placed() -> None:
    """Two objects of the same array size but different sample periods, described without a
    Type and not yet seen with values: samples without context cannot be told apart, so they
    are counted and left out rather than drawn at a guessed rate."""
    d = decoder()
    for period in (TICKS_250HZ, TICKS_500HZ):
        # context only (a static-group poll result): no values, so nothing ties ids to them
        ctx = context(LEAD_II, period, 64)
        del ctx[m.NOM_ATTR_ID_TYPE]
        chunks(d, [m.Observation(0, HANDLE, ctx)])
    bare = m.Observation(0, HANDLE, {m.NOM_ATTR_SA_VAL_OBS: sa_value(LEAD_II, [1] * 64)})
    assert chunks(d, [bare]) == []
    assert d._waves.unplaced == 1


def test_one_object_whose_period_changes_is_followed() -> None:
    """A single object re-described with another period (its static context re-sent) is the
    same object: later values use the new period, nothing is dropped."""
    d = decoder()
    chunks(d, [single_ecg(with_context=True)])
    ctx = context(LEAD_II, TICKS_250HZ, 128)
    (c,) = chunks(d, [m.Observation(0, HANDLE, {
        m.NOM_ATTR_SA_VAL_OBS: sa_value(LEAD_II, [300] * 128), **ctx})])
    assert c.rate_hz == 250.0
    (c,) = chunks(d, [single_ecg()])
    assert c.rate_hz == 250.0
    assert d._waves.unplaced == 0
