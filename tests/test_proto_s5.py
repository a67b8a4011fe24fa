"""GE/Datex-Ohmeda S/5: byte vectors built by hand from the documented format, properties, pty."""

from __future__ import annotations

import math
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import mdc
from devices.link import LinkStatus, SerialLink
from devices.physiology import Physiology
from devices.protocols import s5
from devices.protocols.s5 import DRIVER, S5Decoder, S5Monitor
from devices.reading import Quality, Reading, Sample
from devices.simulator import Simulator
from tests.helpers.pieces import feed_in_pieces

HR, SPO2, PR = mdc.MDC_ECG_HEART_RATE, mdc.MDC_PULS_OXIM_SAT_O2, mdc.MDC_PULS_OXIM_PULS_RATE
SYS, DIA, MEAN = (mdc.MDC_PRESS_BLD_NONINV_SYS, mdc.MDC_PRESS_BLD_NONINV_DIA,
                  mdc.MDC_PRESS_BLD_NONINV_MEAN)
RR, ETCO2, TEMP = mdc.MDC_RESP_RATE, mdc.MDC_AWAY_CO2_ET, mdc.MDC_TEMP
MARKERS = (-32767, -32766, -32765, -32764, -32763, -32762, -32001)

# --------------------------------------------------------------------------- hand-made vectors
# Built straight from the reference text, independent of the module's own builders.


def block(**raw: int) -> bytes:
    """A 270-byte basic block; keyword = byte offset name in the reference, value = raw i16."""
    offsets = {"hr": 6, "imp_rr": 14, "nibp_sys": 78, "nibp_dia": 80, "nibp_mean": 82,
               "t1": 92, "spo2": 124, "pr": 126, "et": 138, "co2_rr": 142, "amb": 144}
    b = bytearray(270)
    for off in range(0, 270, 2):  # everything "invalid" unless given
        b[off : off + 2] = struct.pack("<h", -32767)
    for name, value in raw.items():
        struct.pack_into("<h", b, offsets[name], value)
    return bytes(b)


def subrecord(blk: bytes, t: int = 1_700_000_000, cls: int = 0) -> bytes:
    return struct.pack("<I", t) + blk + bytes([0, 0]) + struct.pack("<H", cls << 8)


def record(subs: list[bytes], r_time: int = 1_700_000_000, maintype: int = 0,
           sr_type: int = 1, r_len_delta: int = 0, pad: int = 0) -> bytes:
    """Header: r_len, r_nbr, dri_level, plug_id, r_time, 2 reserved u8, reserved u16 (`pad`,
    used to steer the checksum), r_maintype, then 8 descriptors (offset from byte 40, type)."""
    body = b"".join(subs)
    head = struct.pack("<hBBHIBBHh", 40 + len(body) + r_len_delta, 7, 0, 0, r_time, 0, 0, pad,
                       maintype)
    descs = b""
    off = 0
    for sub in subs:
        descs += struct.pack("<hB", off, sr_type)
        off += len(sub)
    descs += struct.pack("<hB", 0, 0xFF) * (8 - len(subs))
    assert len(head + descs) == 40
    return head + descs + body


def esc(data: bytes) -> bytes:
    return data.replace(b"\x7d", b"\x7d\x5d").replace(b"\x7e", b"\x7d\x5e")


def wire(rec: bytes, escape_ck: bool = True, ck: int | None = None) -> bytes:
    c = bytes([sum(rec) & 0xFF if ck is None else ck])
    return b"\x7e" + esc(rec) + (esc(c) if escape_ck else c) + b"\x7e"


def with_checksum(target: int, **raw: int) -> bytes:
    """A displayed-values record whose checksum is `target` (tuned through the reserved u16)."""
    rec = record([subrecord(block(**raw))])
    need = (target - sum(rec)) & 0xFF
    return record([subrecord(block(**raw))], pad=need)


GOOD = dict(hr=72, imp_rr=14, nibp_sys=12200, nibp_dia=7800, nibp_mean=9300, spo2=9750, pr=71,
            et=500, co2_rr=12, amb=7600, t1=3690)
EXPECTED = {HR: 72.0, SYS: 122.0, DIA: 78.0, MEAN: 93.0, SPO2: 97.5, PR: 71.0, RR: 12.0,
            ETCO2: 38.0, TEMP: 36.9}


def readings(samples: list[Sample]) -> list[Reading]:
    return [s for s in samples if isinstance(s, Reading)]


def by_code(samples: list[Sample]) -> dict[int, Reading]:
    return {r.code: r for r in readings(samples)}


def decode(data: bytes, now: float = 50.0) -> tuple[S5Decoder, list[Sample]]:
    d = S5Decoder("test")
    return d, d.feed(data, now)


def trusted(r: Reading) -> bool:
    """VALID; for NIBP, the first result after a connect is QUESTIONABLE (age unknown)."""
    if r.code in (SYS, DIA, MEAN):
        return r.quality in (Quality.VALID, Quality.QUESTIONABLE)
    return r.quality == Quality.VALID


def assert_good(samples: list[Sample]) -> None:
    got = by_code(samples)
    assert set(got) == set(EXPECTED)
    for code, value in EXPECTED.items():
        assert got[code].value == pytest.approx(value)
        assert trusted(got[code])
        assert got[code].device_time == 1_700_000_000.0
    units = {c: r.unit for c, r in got.items()}
    assert units[HR] == units[PR] == mdc.MDC_DIM_BEAT_PER_MIN
    assert units[SYS] == units[ETCO2] == mdc.MDC_DIM_MMHG
    assert units[SPO2] == mdc.MDC_DIM_PERCENT
    assert units[RR] == mdc.MDC_DIM_RESP_PER_MIN
    assert units[TEMP] == mdc.MDC_DIM_DEGC


# --------------------------------------------------------------------------- framing


def test_request_bytes_match_the_documented_layout() -> None:
    req = s5.displayed_values_request(5)
    rec = record([struct.pack("<BhIh", 1, 5, 0x0E, 0)], r_time=0, sr_type=0)
    rec = rec[:2] + b"\x00" + rec[3:]  # r_nbr 0
    assert req == wire(rec)
    assert req.hex() == (
        "7e" "3100" "00" "00" "0000" "00000000" "00" "00" "0000" "0000"
        "000000" + "0000ff" * 7 + "01" "0500" "0e000000" "0000" "3e" "7e"
    )


def test_displayed_values_decode_with_scaling_units_and_device_time() -> None:
    d, out = decode(wire(record([subrecord(block(**GOOD))])))
    assert_good(out)
    assert all(r.t == 50.0 and r.source == "test" for r in readings(out))
    assert (d.stats.frames_ok, d.stats.frames_rejected, d.stats.last_frame_t) == (1, 0, 50.0)
    assert d.stats.bytes_in == len(wire(record([subrecord(block(**GOOD))])))


def test_split_at_every_byte_boundary() -> None:
    data = wire(record([subrecord(block(**GOOD))])) * 2
    for i in range(len(data) + 1):
        d = S5Decoder("test")
        out = d.feed(data[:i], 1.0) + d.feed(data[i:], 1.0)
        assert len(readings(out)) == 2 * len(EXPECTED) - 3, i  # unchanged NIBP not repeated
        assert_good(out[: len(EXPECTED)])
        assert d.stats.frames_rejected == 0


def test_byte_by_byte() -> None:
    data = wire(record([subrecord(block(**GOOD))]))
    d = S5Decoder("test")
    out: list[Sample] = []
    for b in data:
        out += d.feed(bytes([b]), 1.0)
    assert_good(out)


def test_escaped_bytes_in_values_and_header() -> None:
    raw = dict(GOOD, hr=0x7E, pr=0x7D, spo2=0x7E7D)  # 126, 125, 32381 -> 323.81 (still decoded)
    rec = record([subrecord(block(**raw), t=0x7D7E7D7E)], r_time=0x7E7D7E7D)
    data = wire(rec)
    assert b"\x7d\x5e" in data and b"\x7d\x5d" in data
    _, out = decode(data)
    got = by_code(out)
    assert got[HR].value == 126 and got[PR].value == 125
    assert got[SPO2].value == pytest.approx(323.81)
    assert got[HR].device_time == float(0x7E7D7E7D)


@pytest.mark.parametrize("target", [0x7E, 0x7D])
@pytest.mark.parametrize("escape_ck", [True, False])
def test_checksum_byte_escaped_or_raw_both_accepted(target: int, escape_ck: bool) -> None:
    rec = with_checksum(target, **GOOD)
    assert sum(rec) & 0xFF == target
    data = wire(rec, escape_ck=escape_ck)
    if not escape_ck:
        assert data.endswith(bytes([target, 0x7E]))
    for i in range(len(data) + 1):  # also when the frame is split anywhere
        d = S5Decoder("test")
        out = d.feed(data[:i], 1.0) + d.feed(data[i:], 1.0)
        assert_good(out)
        assert d.stats.frames_rejected == 0, (i, d.stats)


def test_raw_7e_checksum_waits_for_the_real_closing_flag() -> None:
    data = wire(with_checksum(0x7E, **GOOD), escape_ck=False)
    d = S5Decoder("test")
    assert d.feed(data[:-1], 1.0) == []  # `... 7E` could still be a bad frame
    assert_good(d.feed(data[-1:], 1.0))


def test_a_run_summing_to_7e_without_a_following_flag_is_not_a_frame() -> None:
    rec = with_checksum(0x7E, **dict(GOOD, hr=150))
    other = wire(record([subrecord(block(**GOOD))]))
    d, out = decode(b"\x7e" + esc(rec) + other)  # no checksum, next frame shares the flag
    assert_good(out)
    assert (d.stats.frames_ok, d.stats.frames_rejected) == (1, 1)


def test_sending_escapes_the_checksum_by_default() -> None:
    assert s5.ESCAPE_CHECKSUM is True
    rec = with_checksum(0x7E, **GOOD)
    assert s5.frame(rec).endswith(b"\x7d\x5e\x7e")
    assert s5.frame(rec, escape_checksum=False).endswith(b"\x7e\x7e")


def test_bad_checksum_is_dropped_counted_and_the_next_frame_decodes() -> None:
    good = wire(record([subrecord(block(**GOOD))]))
    bad_rec = record([subrecord(block(**dict(GOOD, hr=150)))])
    bad = wire(bad_rec, ck=(sum(bad_rec) + 1) & 0xFF)
    d, out = decode(bad + good)
    assert_good(out)
    assert (d.stats.frames_ok, d.stats.frames_rejected) == (1, 1)


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda r: r[:-1], id="truncated"),
        pytest.param(lambda r: r + b"\x00", id="extra byte"),
    ],
)
def test_wrong_length_is_rejected(mangle: Callable[[bytes], bytes]) -> None:
    rec = mangle(record([subrecord(block(**GOOD))]))
    d, out = decode(wire(rec))
    assert out == [] and d.stats.frames_rejected == 1


def test_r_len_mismatch_is_rejected() -> None:
    d, out = decode(wire(record([subrecord(block(**GOOD))], r_len_delta=2)))
    assert out == [] and d.stats.frames_rejected == 1


def test_invalid_escape_is_rejected() -> None:
    data = wire(record([subrecord(block(**GOOD))]))
    bad = data[:50] + b"\x7d\x41" + data[50:]
    d, out = decode(bad + data)
    assert_good(out)
    assert d.stats.frames_rejected == 1


def test_descriptor_offset_out_of_bounds_is_rejected() -> None:
    rec = bytearray(record([subrecord(block(**GOOD))]))
    struct.pack_into("<hB", rec, 19, 400, 1)  # a second subrecord beyond the record's end
    d, out = decode(wire(bytes(rec)))
    assert out == [] and (d.stats.frames_ok, d.stats.frames_rejected) == (0, 1)


def test_leading_garbage_and_oversized_runs_resync() -> None:
    good = wire(record([subrecord(block(**GOOD))]))
    d, out = decode(b"\x01\x02\x03" + good[5:] + b"\x55" * 5000 + good)
    assert_good(out)
    assert d.stats.frames_ok == 1 and d.stats.frames_rejected >= 2


def test_empty_runs_between_flags_are_not_frames() -> None:
    good = wire(record([subrecord(block(**GOOD))]))
    d, out = decode(b"\x7e\x7e\x7e" + good + b"\x7e\x7e")
    assert_good(out)
    assert d.stats.frames_rejected == 0


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize("marker", MARKERS)
def test_every_invalid_marker_is_never_a_value(marker: int) -> None:
    raw = {k: marker for k in GOOD if k != "amb"}
    raw["amb"] = 7600
    _, out = decode(wire(record([subrecord(block(**raw))])))
    rs = readings(out)
    assert {r.code for r in rs} == set(EXPECTED)
    for r in rs:
        assert math.isnan(r.value) and r.quality == Quality.INVALID
        assert not r.quality.displayable


def test_marker_boundary_minus_32000_is_a_value() -> None:
    _, out = decode(wire(record([subrecord(block(**dict(GOOD, imp_rr=-32000, co2_rr=-32001)))])))
    got = by_code(out)
    assert got[RR].value == -32000.0 and got[RR].quality == Quality.VALID


def test_one_marker_only_blanks_its_own_parameter() -> None:
    _, out = decode(wire(record([subrecord(block(**dict(GOOD, spo2=-32766)))])))
    got = by_code(out)
    assert math.isnan(got[SPO2].value) and got[SPO2].quality == Quality.INVALID
    assert got[PR].value == 71 and got[HR].value == 72


def test_etco2_needs_valid_ambient_pressure() -> None:
    _, out = decode(wire(record([subrecord(block(**dict(GOOD, amb=-32767)))])))
    assert by_code(out)[ETCO2].quality == Quality.INVALID


def test_rr_falls_back_to_impedance_when_co2_rr_is_invalid() -> None:
    _, out = decode(wire(record([subrecord(block(**dict(GOOD, co2_rr=-32767, imp_rr=17)))])))
    rr = [r for r in readings(out) if r.code == RR]
    assert len(rr) == 1 and rr[0].value == 17.0


def test_only_the_basic_class_is_decoded() -> None:
    ext = [subrecord(bytes(270), cls=c) for c in (1, 2, 3)]
    _, out = decode(wire(record([*ext[:1], subrecord(block(**GOOD)), *ext[1:]])))
    assert_good(out)
    assert len(readings(out)) == len(EXPECTED)


def test_other_record_types_count_as_good_frames_without_values() -> None:
    d, out = decode(wire(record([b"\x00" * 20], maintype=4, sr_type=0)))
    assert out == [] and d.stats.frames_ok == 1 and d.stats.last_frame_t == 50.0
    d, out = decode(wire(record([subrecord(block(**GOOD))], sr_type=2)))  # 10 s trend
    assert out == [] and d.stats.frames_ok == 1


def test_nibp_goes_out_only_when_the_cuff_result_changes() -> None:
    d = S5Decoder("test")

    def nibp(raw: dict[str, int]) -> list[float]:
        out = d.feed(wire(record([subrecord(block(**raw))])), 1.0)
        return [r.value for r in readings(out) if r.code in (SYS, DIA, MEAN)]

    no_cuff = dict(GOOD, nibp_sys=-32767, nibp_dia=-32767, nibp_mean=-32767)
    first = nibp(no_cuff)
    assert len(first) == 3 and all(math.isnan(v) for v in first)
    assert nibp(no_cuff) == []
    assert nibp(GOOD) == [122.0, 78.0, 93.0]
    assert nibp(GOOD) == []  # the same result repeated is not a new measurement
    assert nibp(dict(GOOD, nibp_dia=8000)) == [122.0, 80.0, 93.0]
    d.reset()
    assert nibp(dict(GOOD, nibp_dia=8000)) == [122.0, 80.0, 93.0]


# --------------------------------------------------------------------------- talk-back


def test_decoder_asks_once_and_re_asks_after_silence() -> None:
    d = S5Decoder("test", interval=5)
    assert d.outgoing(0.0) == s5.displayed_values_request(5)
    assert d.outgoing(0.1) == b""
    assert d.outgoing(d.resend_after - 0.1) == b""
    # Data keeps it quiet...
    d.feed(wire(record([subrecord(block(**GOOD))])), 10.0)
    assert d.outgoing(d.resend_after + 1.0) == b""
    # ...silence after the data makes it ask again.
    assert d.outgoing(10.0 + d.resend_after) == s5.displayed_values_request(5)
    d.reset()
    assert d.outgoing(100.0) == s5.displayed_values_request(5)


def test_decoder_decodes_without_having_asked() -> None:
    _, out = decode(wire(record([subrecord(block(**GOOD))])))
    assert_good(out)


def test_simulator_waits_for_the_request_and_honours_interval_and_stop() -> None:
    m = S5Monitor(Physiology("calm", start=0.0, first_nibp_after=0.0))
    assert m.produce(0.0) == b""
    m.receive(s5.displayed_values_request(2), 1.0)
    first = m.produce(1.0)
    assert first and m.produce(2.5) == b"" and m.produce(3.0)
    m.receive(s5.displayed_values_request(0), 3.1)
    assert m.produce(10.0) == b""
    m.receive(s5.displayed_values_request(5), 11.0)
    assert m.produce(11.0) and m.produce(15.9) == b"" and m.produce(16.0)
    m.reset()
    assert m.produce(30.0) == b""


@pytest.mark.parametrize("escape_ck", [True, False])
def test_simulated_values_round_trip(escape_ck: bool) -> None:
    physio = Physiology("calm", start=0.0, first_nibp_after=0.0)
    m = S5Monitor(physio, escape_checksum=escape_ck)
    d = S5Decoder("test")
    out: list[Sample] = []
    for k in range(200):
        t = 1000.0 + k * 0.5
        m.receive(d.outgoing(t), t)
        out += d.feed(m.produce(t), t)
    assert d.stats.frames_rejected == 0 and d.stats.frames_ok >= 19
    for r in readings(out):
        v = physio.vitals(r.t)
        assert r.device_time == float(int(r.t))
        expected = {HR: v.hr, SPO2: v.spo2, PR: v.pulse, RR: v.rr,
                    SYS: v.nibp and v.nibp[0], DIA: v.nibp and v.nibp[1],
                    MEAN: v.nibp and v.nibp[2]}
        if r.code in expected:
            assert r.value == expected[r.code] and trusted(r)
        else:
            assert r.code in (ETCO2, TEMP) and r.quality == Quality.INVALID


def test_probe_off_in_the_simulator_is_invalid_spo2() -> None:
    physio = Physiology("noisy", start=0.0)
    m = S5Monitor(physio)
    m.receive(s5.displayed_values_request(5), 41.0)
    _, out = decode(m.produce(41.0))
    got = by_code(out)
    assert physio.vitals(41.0).probe_off
    assert got[SPO2].quality == Quality.INVALID and math.isnan(got[SPO2].value)
    assert got[HR].quality == Quality.INVALID


def test_generic_bench_loop_yields_readings_within_seconds() -> None:
    d = DRIVER.make_decoder("bench")
    m = DRIVER.make_simulator(Physiology("calm", start=0.0))
    out: list[Sample] = []
    t = 0.0
    while t < 3.0 and not out:
        m.receive(d.outgoing(t), t)
        out += d.feed(m.produce(t), t)
        t += 0.02
    assert by_code(out)[HR].quality == Quality.VALID


def test_first_nibp_after_connect_is_of_unknown_age_then_new_results_are_valid() -> None:
    d = S5Decoder("test")
    first = by_code(d.feed(wire(record([subrecord(block(**GOOD))])), 1.0))
    assert first[SYS].quality == Quality.QUESTIONABLE and first[SYS].value == 122.0
    same = by_code(d.feed(wire(record([subrecord(block(**GOOD))])), 6.0))
    assert SYS not in same  # the repeated old result is not passed on again
    newer = dict(GOOD, nibp_sys=13000)
    changed = by_code(d.feed(wire(record([subrecord(block(**newer))])), 11.0))
    assert changed[SYS].quality == Quality.VALID and changed[SYS].value == 130.0
    d.reset()
    again = by_code(d.feed(wire(record([subrecord(block(**newer))])), 16.0))
    assert again[SYS].quality == Quality.QUESTIONABLE


def test_driver_entry() -> None:
    from devices.drivers import DRIVERS

    assert DRIVERS["s5"] is DRIVER
    assert DRIVER.settings == s5.SerialSettings(19200, 8, "E", 1, rtscts=True)
    assert DRIVER.talks_back and DRIVER.title == "GE/Datex-Ohmeda S/5 (computer interface)"


# --------------------------------------------------------------------------- properties


def frames_with_hr(*hrs: int) -> list[bytes]:
    return [wire(record([subrecord(block(**dict(GOOD, hr=h)))])) for h in hrs]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000), st.integers(min_value=1, max_value=64))
def test_random_bytes_never_raise(data: bytes, chunk: int) -> None:
    d = S5Decoder("prop")
    for i in range(0, len(data), chunk):
        for r in readings(d.feed(data[i : i + chunk], 1.0)):
            assert math.isnan(r.value) or r.quality == Quality.VALID
    d.outgoing(2.0)
    assert d.stats.bytes_in == len(data)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_mutated_frame_never_yields_a_value_and_the_next_frame_decodes(
    data: st.DataObject,
) -> None:
    f1, f2, f3 = frames_with_hr(61, 62, 63)
    pos = data.draw(st.integers(min_value=0, max_value=len(f2) - 1))
    new = data.draw(st.integers(min_value=0, max_value=255).filter(lambda b: b != f2[pos]))
    f2m = f2[:pos] + bytes([new]) + f2[pos + 1 :]
    stream = f1 + f2m + f3
    cut = data.draw(st.integers(min_value=0, max_value=len(stream)))
    d = S5Decoder("prop")
    out = feed_in_pieces(d, stream, [cut], 1.0)
    hrs = [r.value for r in readings(out) if r.code == HR]
    assert hrs == [61.0, 63.0]
    assert d.stats.frames_rejected >= 1


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.integers(min_value=0, max_value=1000))
def test_resync_after_garbage(garbage: bytes, cut: int) -> None:
    (f,) = frames_with_hr(88)
    stream = garbage + f
    d = S5Decoder("prop")
    out = feed_in_pieces(d, stream, [cut], 1.0)
    assert [r.value for r in readings(out) if r.code == HR][-1:] == [88.0]


# --------------------------------------------------------------------------- real pty


class Sink:
    def __init__(self, want: set[int]) -> None:
        self.want = want
        self.readings: list[Reading] = []
        self.done = threading.Event()
        self._lock = threading.Lock()

    def samples(self, source: str, samples: list[Sample]) -> None:
        with self._lock:
            self.readings += readings(samples)
            valid = {r.code for r in self.readings if trusted(r)}
            if self.want <= valid:
                self.done.set()

    def status(self, status: LinkStatus) -> None:
        pass


def test_end_to_end_over_a_real_pty() -> None:
    physio = Physiology("calm", start=time.time(), first_nibp_after=0.0)
    driver = replace(DRIVER, make_decoder=lambda src: S5Decoder(src, interval=1))
    sim = Simulator(driver, physio)
    port = sim.start()
    sink = Sink({HR, SPO2, PR, RR, SYS, DIA, MEAN})
    link = SerialLink(port, driver, sink, source="s5-test")
    link.start()
    try:
        assert sink.done.wait(10.0), sink.readings
    finally:
        link.stop()
        sim.stop()
    assert link.decoder.stats.frames_rejected == 0
    for r in sink.readings:
        assert r.source == "s5-test" and r.device_time is not None
        # The monitor stamped r_time = int(now) at the instant it read the model.
        window = [physio.vitals(r.device_time + k / 50) for k in range(50)]
        expected: dict[int, set[float | None]] = {
                    HR: {v.hr for v in window}, SPO2: {v.spo2 for v in window},
                    PR: {v.pulse for v in window}, RR: {v.rr for v in window},
                    SYS: {v.nibp[0] for v in window if v.nibp},
                    DIA: {v.nibp[1] for v in window if v.nibp},
                    MEAN: {v.nibp[2] for v in window if v.nibp}}
        if r.code in expected:
            assert trusted(r) and r.value in expected[r.code], r
            assert r.unit == mdc.PARAMETERS[r.code].unit
        else:
            assert r.quality == Quality.INVALID
