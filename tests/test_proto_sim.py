"""Our own line protocol: round trip, split at every byte, bad checksums, noise."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import mdc
from devices.physiology import Physiology
from devices.protocols import sim
from devices.reading import Quality, Reading, WaveChunk


def stream() -> bytes:
    return (
        sim.numeric_line(1000, mdc.MDC_ECG_HEART_RATE, 72, mdc.MDC_DIM_BEAT_PER_MIN, Quality.VALID)
        + sim.numeric_line(1000, mdc.MDC_PULS_OXIM_SAT_O2, None, mdc.MDC_DIM_PERCENT,
                           Quality.INVALID)
        + sim.wave_line(1000, mdc.MDC_PULS_OXIM_PLETH, 125, np.linspace(0, 1, 25))
    )


def test_round_trip_values_codes_units_quality() -> None:
    d = sim.SimDecoder("s")
    out = d.feed(stream(), 5.0)
    hr, spo2, wave = out
    assert isinstance(hr, Reading) and hr.value == 72 and hr.code == mdc.MDC_ECG_HEART_RATE
    assert hr.unit == mdc.MDC_DIM_BEAT_PER_MIN and hr.device_time == 1.0 and hr.t == 5.0
    assert isinstance(spo2, Reading) and math.isnan(spo2.value)
    assert spo2.quality == Quality.INVALID and not spo2.quality.displayable
    assert isinstance(wave, WaveChunk) and len(wave.samples) == 25
    assert wave.t0 == 5.0 - 25 / 125
    assert d.stats.frames_ok == 3 and d.stats.frames_rejected == 0


def test_split_at_every_byte_boundary() -> None:
    data = stream()
    for cut in range(1, len(data)):
        d = sim.SimDecoder("s")
        out = d.feed(data[:cut], 1.0) + d.feed(data[cut:], 1.0)
        assert len(out) == 3, cut
        assert d.stats.frames_rejected == 0


def test_bad_checksum_is_dropped_and_counted() -> None:
    good = sim.numeric_line(1, mdc.MDC_ECG_HEART_RATE, 72, mdc.MDC_DIM_BEAT_PER_MIN,
                            Quality.VALID)
    bad = good.replace(b",72,", b",92,")
    d = sim.SimDecoder("s")
    out = d.feed(bad + good, 1.0)
    assert [r.value for r in out if isinstance(r, Reading)] == [72]
    assert d.stats.frames_rejected == 1


@settings(max_examples=200, deadline=None)
@given(noise=st.binary(max_size=300), flip=st.integers(min_value=0, max_value=10_000))
def test_noise_never_raises_and_resyncs(noise: bytes, flip: int) -> None:
    data = bytearray(stream())
    i = flip % len(data)
    data[i] ^= 0x01  # one flipped bit somewhere: that line must not produce a value
    d = sim.SimDecoder("s")
    out = d.feed(noise + b"\n" + bytes(data), 1.0)
    after = d.feed(stream(), 2.0)
    assert len(after) == 3  # resynchronised on the next good lines
    for s in out:
        if isinstance(s, Reading) and s.code == mdc.MDC_ECG_HEART_RATE and s.t == 1.0:
            assert s.value == 72  # never a wrong number


def test_simulator_and_decoder_talk_in_simulated_time() -> None:
    physio = Physiology("calm", start=0.0)
    mon = sim.SimMonitor(physio)
    dec = sim.SimDecoder("s")
    got: list = []
    t = 0.0
    while t < 5.0:
        got += dec.feed(mon.produce(t), t)
        t += 0.02
    hrs = [r for r in got if isinstance(r, Reading) and r.code == mdc.MDC_ECG_HEART_RATE]
    assert 4 <= len(hrs) <= 6
    assert abs(hrs[-1].value - physio.vitals(hrs[-1].device_time or 0).hr) <= 1  # type: ignore[operator]
    pleth = sum(len(w.samples) for w in got if isinstance(w, WaveChunk))
    assert abs(pleth - 5.0 * 125) <= 30
    nibp = [r for r in got if isinstance(r, Reading) and r.code == mdc.MDC_PRESS_BLD_NONINV_SYS]
    assert len(nibp) == 1  # one cuff cycle completed at 2 s
