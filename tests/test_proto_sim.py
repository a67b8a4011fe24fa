"""Our own line protocol: round trip, split at every byte, the CRC, bad fields, noise."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import mdc
from devices.physiology import Physiology
from devices.protocols import sim
from devices.reading import Quality, Reading, WaveChunk
from tests.helpers.pieces import feed_in_pieces


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
        out = feed_in_pieces(d, data, [cut], 1.0)
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


# --- the CRC (docs/protocol-sim.md) ------------------------------------------------------------


def test_crc_is_crc16_ccitt_false_with_the_documented_vectors() -> None:
    assert sim.checksum(b"123456789") == 0x29B1
    lines = [
        b"$HSN,1795497000123,147842,72,264864,0*32C6\r\n",
        b"$HSN,1795497000123,150456,100,262688,0*213C\r\n",
        b"$HSW,1795497000000,150452,125,100 103 110*BCE9\r\n",
    ]
    assert lines[0] == sim.numeric_line(1795497000123, mdc.MDC_ECG_HEART_RATE, 72,
                                        mdc.MDC_DIM_BEAT_PER_MIN, Quality.VALID)
    d = sim.SimDecoder("s")
    out = d.feed(b"".join(lines), 1.0)
    assert [(s.code, getattr(s, "value", None)) for s in out] == [
        (mdc.MDC_ECG_HEART_RATE, 72), (mdc.MDC_PULS_OXIM_SAT_O2, 100),
        (mdc.MDC_PULS_OXIM_PLETH, None)]
    assert d.stats.frames_rejected == 0
    assert d.feed(lines[0].replace(b"32C6", b"32c6"), 1.0)  # lower-case hex is accepted


def test_a_lost_00_in_100_is_rejected() -> None:
    """Under the old XOR checksum "100" -> "1" kept the checksum: SpO2 100 read as 1."""
    good = sim.numeric_line(1, mdc.MDC_PULS_OXIM_SAT_O2, 100, mdc.MDC_DIM_PERCENT, Quality.VALID)
    bad = good.replace(b",100,", b",1,")
    xor = 0
    for b in b"00":
        xor ^= b
    assert xor == 0  # why the XOR could not see it
    d = sim.SimDecoder("s")
    assert d.feed(bad, 1.0) == [] and d.stats.frames_rejected == 1
    assert [r.value for r in d.feed(good, 2.0) if isinstance(r, Reading)] == [100]


def test_every_lost_byte_or_pair_of_bytes_is_rejected() -> None:
    lines = [
        sim.numeric_line(1795497000123, code, v, unit, Quality.VALID)
        for code, v, unit in ((mdc.MDC_ECG_HEART_RATE, 100, mdc.MDC_DIM_BEAT_PER_MIN),
                              (mdc.MDC_PULS_OXIM_SAT_O2, 100, mdc.MDC_DIM_PERCENT),
                              (mdc.MDC_PRESS_BLD_NONINV_SYS, 1100, mdc.MDC_DIM_MMHG))
    ]
    for line in lines:
        body_end = line.index(b"*")
        for i in range(1, body_end):  # between "$" and "*"
            for n in (1, 2):
                damaged = line[:i] + line[i + n :]
                d = sim.SimDecoder("s")
                assert d.feed(damaged, 1.0) == [], damaged


def test_an_old_xor_line_is_not_read() -> None:
    d = sim.SimDecoder("s")
    assert d.feed(b"$HSN,1795497000123,147842,72,264864,0*5C\r\n", 1.0) == []
    assert d.stats.frames_rejected == 1


# --- fields out of their form ---------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    "HSN," + "9" * 400 + ",147842,72,264864,0",  # a 400-digit time once killed the link
    "HSN,1000," + "9" * 30 + ",72,264864,0",  # a code beyond 32 bits
    "HSN,1000,4294967296,72,264864,0",
    "HSN,1000,147842,72,4294967296,0",
    "HSN,1000,147842,7_2,264864,0",
    "HSN,1000,147842, 72,264864,0",
    "HSN,1000,147842,72,264864,7",  # no such quality
    "HSN,-5,147842,72,264864,0",
    "HSW,1000,150452,nan,1 2 3",
    "HSW,1000,150452,inf,1 2 3",
    "HSW,1000,150452,0,1 2 3",
    "HSW,1000,150452,125,1 2 nan",
    "HSW,1000,150452,125,1 2 99999",
])
def test_fields_out_of_their_form_reject_the_line_without_raising(body: str) -> None:
    d = sim.SimDecoder("s")
    d.feed(sim.frame(body) + stream(), 1.0)
    assert d.stats.frames_rejected == 1 and d.stats.frames_ok == 3 and d.stats.faults == 0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(st.characters(codec="ascii"), max_size=40),
                          st.sampled_from(["HSN", "HSW", "-", "inf", "nan", "9" * 400, "1e999"])),
                max_size=8))
def test_any_well_framed_body_never_raises(fields: list[str]) -> None:
    """Bodies with a correct CRC reach the field parsing: nothing in them may raise."""
    d = sim.SimDecoder("s")
    out = d.feed(sim.frame(",".join(f.replace("\n", "") for f in fields)), 1.0)
    assert d.stats.faults == 0 and len(out) <= 1
