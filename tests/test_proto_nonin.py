"""Nonin OEM III / Xpod: byte vectors from the documented format, properties, and a real pty."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import mdc
from devices.link import LinkStatus, SerialLink
from devices.physiology import Physiology, Vitals
from devices.protocol import Decoder, SimulatedMonitor
from devices.protocols import nonin
from devices.protocols.nonin import (
    DRIVER,
    ST_ARTIFACT,
    ST_GREEN_PERFUSION,
    ST_OUT_OF_TRACK,
    ST_RED_PERFUSION,
    ST_SENSOR_ALARM,
    ST_SENSOR_DISCONNECTED,
    NoninDecoder,
    NoninMonitor,
    make_packet,
)
from devices.reading import Quality, Reading, Sample, WaveChunk
from devices.simulator import Simulator
from tests.helpers.pieces import feed_in_pieces

SAMPLE = Path("/work/shared/reference/protocol-samples/nonin_df2_packet_hr72_spo297.hex")
HR, SPO2 = mdc.MDC_PULS_OXIM_PULS_RATE, mdc.MDC_PULS_OXIM_SAT_O2


def readings(samples: list[Sample]) -> list[Reading]:
    return [s for s in samples if isinstance(s, Reading)]


def values(samples: list[Sample], code: int) -> list[float]:
    return [r.value for r in readings(samples) if r.code == code]


def one_packet(samples: list[Sample]) -> tuple[Reading, Reading]:
    rs = readings(samples)
    assert [r.code for r in rs] == [HR, SPO2]
    return rs[0], rs[1]


def decode(data: bytes) -> tuple[NoninDecoder, list[Sample]]:
    d = NoninDecoder("test")
    return d, d.feed(data, 100.0)


def sync_frame(fmt: int = 2) -> bytes:
    """The first frame of a following packet: it confirms the packet before it was complete."""
    return make_packet(fmt, 72, 97)[:5]


# --- the published test packet ---------------------------------------------------------------


def test_sample_packet_decodes_to_hr72_spo297() -> None:
    if not SAMPLE.exists():
        pytest.skip(f"reference sample {SAMPLE} not present")
    text = SAMPLE.read_text()
    data = bytes(int(x, 16) for line in text.splitlines() for x in line.split("#")[0].split())
    assert len(data) == 125
    d, out = decode(data + data[:5])
    hr, spo2 = one_packet(out)
    assert (hr.value, hr.unit, hr.quality) == (72, mdc.MDC_DIM_BEAT_PER_MIN, Quality.VALID)
    assert (spo2.value, spo2.unit, spo2.quality) == (97, mdc.MDC_DIM_PERCENT, Quality.VALID)
    assert hr.device_time is None
    assert d.firmware_rev == 48 and d.data_format == 2
    assert d.stats.frames_ok == 25 and d.stats.frames_rejected == 0


# --- byte vectors -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [2, 7])
@pytest.mark.parametrize("hr", [0, 72, 127, 128, 130, 200, 300, 510])
def test_heart_rate_all_nine_bits(fmt: int, hr: int) -> None:
    _, out = decode(make_packet(fmt, hr, 95) + sync_frame(fmt))
    h, s = one_packet(out)
    assert (h.value, s.value) == (hr, 95)


def test_heart_rate_formula() -> None:
    assert nonin.heart_rate(0x01, 0x02) == 130
    assert nonin.heart_rate(0x01, 0x48) == 200
    assert nonin.heart_rate(0xFF, 0xFF) == 511  # stray high bits are masked off


@pytest.mark.parametrize("fmt", [2, 7])
def test_split_at_every_byte_boundary(fmt: int) -> None:
    data = make_packet(fmt, 130, 96) + sync_frame(fmt)
    for cut in range(len(data) + 1):
        d = NoninDecoder("t")
        out = feed_in_pieces(d, data, [cut], 1.0, 1.0)
        h, s = one_packet(out)
        assert (h.value, s.value) == (130, 96), cut
        assert d.stats.bytes_in == len(data) and d.stats.frames_rejected == 0


def test_byte_by_byte() -> None:
    data = make_packet(2, 200, 99) * 3
    d = NoninDecoder("t")
    out: list[Sample] = []
    for i in range(len(data)):
        out += d.feed(data[i : i + 1], float(i))
    assert values(out, HR) == [200, 200] and values(out, SPO2) == [99, 99]


@pytest.mark.parametrize("frame", [0, 1, 2, 3, 12, 24])
@pytest.mark.parametrize("offset", [0, 1, 2, 3, 4])
def test_bad_checksum_drops_the_packet_and_resyncs(frame: int, offset: int) -> None:
    bad = bytearray(make_packet(2, 130, 91))
    bad[frame * 5 + offset] ^= 0x10
    data = bytes(bad) + make_packet(2, 200, 94) + sync_frame()
    d, out = decode(data)
    assert values(out, HR) == [200] and values(out, SPO2) == [94]
    assert d.stats.frames_rejected == 1
    assert d.stats.frames_ok == 25  # only the proven packet's frames count as good


def test_missing_frame_never_shifts_fields() -> None:
    p = make_packet(2, 130, 91)
    short = p[:10] + p[15:]  # frame 3 (SpO2) lost whole: 24 frames, all checksums good
    _, out = decode(short + make_packet(2, 72, 97) + sync_frame())
    assert values(out, HR) == [72] and values(out, SPO2) == [97]


def test_extra_frame_never_shifts_fields() -> None:
    p = make_packet(2, 130, 91)
    extra = p[:5] + nonin.make_frame(2, 0x80, 0, 0x33) + p[5:]  # 26 frames
    _, out = decode(extra + make_packet(2, 72, 97) + sync_frame())
    assert values(out, HR) == [72] and values(out, SPO2) == [97]


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=2000, max_size=2000))
def test_line_noise_never_looks_live(noise: bytes) -> None:
    d = NoninDecoder("p")
    assert d.feed(noise, 1.0) == []
    assert d.stats.frames_ok == 0 and d.stats.last_frame_t is None
    assert d.stats.frames_rejected >= 2000 // 5 // 2


def test_garbage_before_and_between() -> None:
    junk = bytes(range(7, 60))
    data = junk + make_packet(2, 80, 93) + make_packet(2, 81, 94) + junk + sync_frame()
    d, out = decode(data)
    assert values(out, HR) == [80] and values(out, SPO2) == [93]  # the 2nd lacks a following SYNC
    assert d.stats.frames_rejected >= 2


def test_unavailable_markers_give_no_value() -> None:
    _, out = decode(make_packet(2, 511, 127) + sync_frame())
    h, s = one_packet(out)
    assert math.isnan(h.value) and h.quality == Quality.INVALID
    assert math.isnan(s.value) and s.quality == Quality.INVALID
    assert not h.quality.displayable


def test_sensor_disconnected_invalidates() -> None:
    _, out = decode(make_packet(2, 72, 97, status=ST_SENSOR_DISCONNECTED) + sync_frame())
    h, s = one_packet(out)
    assert h.quality == s.quality == Quality.INVALID
    wave = [x for x in out if isinstance(x, WaveChunk)]
    assert wave[0].quality == Quality.INVALID


def test_disconnect_in_one_frame_invalidates_the_packet() -> None:
    p = bytearray(make_packet(2, 72, 97))
    p[40:45] = nonin.make_frame(2, ST_SENSOR_DISCONNECTED, 0, p[43])
    _, out = decode(bytes(p) + sync_frame())
    h, s = one_packet(out)
    assert h.quality == s.quality == Quality.INVALID


@pytest.mark.parametrize("bit", [ST_ARTIFACT, ST_OUT_OF_TRACK, ST_SENSOR_ALARM])
def test_flags_make_values_questionable(bit: int) -> None:
    _, out = decode(make_packet(7, 72, 97, status=ST_GREEN_PERFUSION | bit) + sync_frame(7))
    h, s = one_packet(out)
    assert (h.value, s.value) == (72, 97)
    assert h.quality == s.quality == Quality.QUESTIONABLE


@pytest.mark.parametrize(
    ("bits", "colour", "quality"),
    [
        (ST_GREEN_PERFUSION, "green", Quality.VALID),
        (ST_GREEN_PERFUSION | ST_RED_PERFUSION, "yellow", Quality.VALID),
        (ST_RED_PERFUSION, "red", Quality.QUESTIONABLE),
        (0, None, Quality.VALID),
    ],
)
def test_perfusion_colour(bits: int, colour: str | None, quality: Quality) -> None:
    d, out = decode(make_packet(2, 72, 97, status=bits) + sync_frame())
    assert d.perfusion == colour
    assert one_packet(out)[0].quality == quality


def test_spo2_above_100_is_invalid() -> None:
    _, out = decode(make_packet(2, 72, 110) + sync_frame())
    assert one_packet(out)[1].quality == Quality.INVALID


@pytest.mark.parametrize(("fmt", "full"), [(2, 255), (7, 65535)])
def test_pleth_wave(fmt: int, full: int) -> None:
    raw = [round(i * full / 24) for i in range(25)]
    d, out = decode(make_packet(fmt, 72, 97, pleth=raw) + sync_frame(fmt))
    (wave,) = [x for x in out if isinstance(x, WaveChunk)]
    assert wave.code == mdc.MDC_PULS_OXIM_PLETH and wave.rate_hz == 75.0
    np.testing.assert_allclose(wave.samples, np.array(raw) / full, atol=1e-6)
    assert wave.samples.dtype == np.float32 and d.data_format == fmt


def test_format_change_between_packets() -> None:
    data = make_packet(2, 70, 95) + make_packet(7, 71, 96) + make_packet(7, 72, 97) + sync_frame(7)
    d, out = decode(data)
    # The format-2 packet is not confirmed by a format-2 SYNC frame, so it is dropped.
    assert values(out, HR) == [71, 72] and d.data_format == 7


# --- properties -------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(1, 50), max_size=20))
def test_random_bytes_never_raise(data: bytes, cuts: list[int]) -> None:
    d = NoninDecoder("p")
    out = feed_in_pieces(d, data, cuts)
    assert d.stats.bytes_in == len(data)
    for r in readings(out):
        assert r.code in (HR, SPO2)


@st.composite
def mutated_stream(draw: st.DrawFn) -> tuple[bytes, list[int], set[int], list[int]]:
    """Packets with unique HRs, some damaged (byte changed, dropped or inserted)."""
    n = draw(st.integers(2, 8))
    fmt = draw(st.sampled_from([2, 7]))
    hrs = [40 + i for i in range(n + 3)]  # the last three are left clean
    damaged: set[int] = set()
    out = bytearray()
    for i, hr in enumerate(hrs):
        p = bytearray(make_packet(fmt, hr, 90 + i % 10))
        if i < n and draw(st.booleans()):
            pos = draw(st.integers(0, len(p) - 1))
            kind = draw(st.sampled_from(["change", "drop", "insert"]))
            if kind != "insert" or pos:  # bytes inserted before a packet leave it intact
                damaged.add(i)
            if kind == "change":
                p[pos] ^= draw(st.integers(1, 255))
            elif kind == "drop":
                del p[pos]
            else:
                p[pos:pos] = draw(st.binary(min_size=1, max_size=7))
        out += p
    cuts = draw(st.lists(st.integers(1, 80), max_size=30))
    return bytes(out), hrs, damaged, cuts


@settings(max_examples=200, deadline=None)
@given(mutated_stream())
def test_damaged_packets_never_give_values_and_decoding_resumes(
    case: tuple[bytes, list[int], set[int], list[int]],
) -> None:
    data, hrs, damaged, cuts = case
    d = NoninDecoder("p")
    out = feed_in_pieces(d, data, cuts)
    got = values(out, HR)
    clean = [hr for i, hr in enumerate(hrs) if i not in damaged]
    assert all(hr in clean for hr in got), (got, damaged)
    assert got == sorted(set(got))  # in order, once each
    assert hrs[-2] in got  # decoding resumed after the damage
    assert len(values(out, SPO2)) == len(got)
    if damaged:
        assert d.stats.frames_rejected >= 1


# --- simulator --------------------------------------------------------------------------------


class FixedPhysiology(Physiology):
    """A patient whose numbers are set by the test."""

    def __init__(self, hr: float | None, spo2: float | None, **flags: bool) -> None:
        super().__init__("calm", start=0.0)
        self.hr, self.spo2, self.flags = hr, spo2, flags

    def vitals(self, t: float) -> Vitals:
        return Vitals(hr=self.hr, spo2=self.spo2, rr=14, pulse=self.hr, nibp=None, nibp_t=None,
                      **self.flags)


def run_loop(decoder: Decoder, monitor: SimulatedMonitor, seconds: float) -> list[Sample]:
    out: list[Sample] = []
    t = 1000.0
    for _ in range(round(seconds / 0.02)):
        monitor.receive(decoder.outgoing(t), t)
        out += decoder.feed(monitor.produce(t), t)
        t += 0.02
    return out


@pytest.mark.parametrize("hr", [130, 200])
@pytest.mark.parametrize("fmt", [2, 7])
def test_simulator_round_trips_high_heart_rates(hr: int, fmt: int) -> None:
    out = run_loop(NoninDecoder("s"), NoninMonitor(FixedPhysiology(hr, 96), data_format=fmt), 2)
    assert values(out, HR)[-3:] == [hr] * 3 and values(out, SPO2)[-3:] == [96] * 3


def test_simulator_rate_and_flags() -> None:
    d = NoninDecoder("s")
    out = run_loop(d, NoninMonitor(FixedPhysiology(None, None, probe_off=True)), 4)
    assert 4 * 75 - 50 <= d.stats.frames_ok <= 4 * 75
    rs = readings(out)
    assert len(rs) >= 2 * 10 and all(r.quality == Quality.INVALID for r in rs)
    assert all(math.isnan(r.value) for r in rs)
    out = run_loop(NoninDecoder("s"), NoninMonitor(FixedPhysiology(90, 94, artefact=True)), 1)
    assert {r.quality for r in readings(out)} == {Quality.QUESTIONABLE}


def test_host_selects_format7() -> None:
    d = NoninDecoder("s", request_format=7)
    m = NoninMonitor(Physiology("calm", start=1000.0))
    out = run_loop(d, m, 2)
    assert m.data_format == 7 and d.data_format == 7
    assert d.outgoing(0.0) == b""  # sent once per open
    waves = [x for x in out if isinstance(x, WaveChunk)]
    allw = np.concatenate([w.samples for w in waves])
    assert 0.5 < float(allw.max()) <= 1.0 and float(allw.min()) >= 0.0
    assert 60 <= values(out, HR)[-1] <= 85


def test_driver_loop_produces_readings_fast() -> None:
    out = run_loop(DRIVER.make_decoder("x"), DRIVER.make_simulator(Physiology("calm")), 3)
    assert len(values(out, HR)) >= 6
    assert DRIVER.name == "nonin" and DRIVER.settings.baudrate == 9600 and not DRIVER.talks_back


# --- end to end over a real pty ---------------------------------------------------------------


class Sink:
    def __init__(self, want: int) -> None:
        self.got: list[Sample] = []
        self.want = want
        self.done = threading.Event()
        self._lock = threading.Lock()

    def samples(self, source: str, samples: list[Sample]) -> None:
        with self._lock:
            self.got += samples
            if len(readings(self.got)) >= self.want:
                self.done.set()

    def status(self, status: LinkStatus) -> None:
        pass


def test_end_to_end_over_pty() -> None:
    sim = Simulator(DRIVER, FixedPhysiology(130, 95))
    port = sim.start()
    sink = Sink(want=6)
    link = SerialLink(port, DRIVER, sink)
    link.start()
    try:
        assert sink.done.wait(10), link.status
    finally:
        link.stop()
        sim.stop()
    rs = readings(sink.got)
    assert {(r.code, r.value, r.unit, r.quality) for r in rs} == {
        (HR, 130, mdc.MDC_DIM_BEAT_PER_MIN, Quality.VALID),
        (SPO2, 95, mdc.MDC_DIM_PERCENT, Quality.VALID),
    }
    assert any(isinstance(x, WaveChunk) and x.code == mdc.MDC_PULS_OXIM_PLETH for x in sink.got)
    assert link.decoder.stats.frames_ok >= 75
