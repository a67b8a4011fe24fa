"""Masimo serial ASCII: the published sample lines, every exception state, malformed lines,
properties, and a real pty."""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import mdc
from devices.link import LinkStatus, SerialLink
from devices.physiology import Physiology
from devices.protocols import masimo
from devices.protocols.masimo import DRIVER, MasimoDecoder, MasimoMonitor
from devices.reading import Quality, Reading, Sample
from devices.simulator import Simulator
from tests.helpers.pieces import feed_in_pieces

SAMPLES = Path("/work/shared/reference/protocol-samples/masimo_ascii_samples.txt")
SPO2, PR, PI = mdc.MDC_PULS_OXIM_SAT_O2, mdc.MDC_PULS_OXIM_PULS_RATE, mdc.MDC_PULS_OXIM_PERF_REL
V, Q, X = Quality.VALID, Quality.QUESTIONABLE, Quality.INVALID
NAN = math.nan

RAD8 = (
    "03/19/16 13:37:12 SN=0000093112 SPO2=097% BPM=064 PI=00.80% SPCO=--.-% SPMET=--.-% "
    "DESAT=-- PIDELTA=+-- ALARM=0000 EXC={exc}"
)


def readings(samples: list[Sample]) -> list[Reading]:
    return [s for s in samples if isinstance(s, Reading)]


def triple(samples: list[Sample]) -> tuple[tuple[float, float, float], Quality]:
    """(SpO2, PR, PI) of one line's readings, and their common quality."""
    rs = readings(samples)
    assert [r.code for r in rs] == [SPO2, PR, PI]
    qs = {r.quality for r in rs if not math.isnan(r.value)} or {X}
    assert len(qs) == 1
    return (rs[0].value, rs[1].value, rs[2].value), qs.pop()


def decode(text: str, now: float = 5.0) -> tuple[MasimoDecoder, list[Sample]]:
    d = MasimoDecoder("test")
    return d, d.feed(text.encode("ascii"), now)


def same(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    pairs = zip(a, b, strict=True)
    return all((math.isnan(x) and math.isnan(y)) or x == pytest.approx(y) for x, y in pairs)


def local(y: int, mo: int, d: int, h: int, mi: int, s: int) -> float:
    return dt.datetime(y, mo, d, h, mi, s).timestamp()


# --------------------------------------------------------------------------- published samples

SAMPLE_EXPECTED = [
    # (a) Rad-8 trend dump
    ((NAN, NAN, NAN), X, local(2008, 9, 21, 9, 56, 8)),  # 820 OffPat
    ((NAN, NAN, NAN), X, local(2008, 9, 21, 9, 56, 10)),  # 828 Search, OffPat
    ((97, 69, 4.69), V, local(2008, 9, 21, 9, 56, 12)),  # 800 SET only
    ((96, 74, 2.28), Q, local(2008, 9, 21, 9, 56, 14)),  # C00 low signal IQ
    ((98, 78, 3.64), V, local(2008, 9, 21, 9, 56, 16)),
    ((NAN, NAN, NAN), X, local(2008, 9, 21, 9, 56, 18)),  # zeros without a sensor bit
    ((NAN, NAN, NAN), X, local(2008, 9, 21, 9, 56, 20)),
    ((96, 78, 2.68), V, local(2008, 9, 21, 9, 56, 22)),
    # (b) Radical-7 all dashes
    ((NAN, NAN, NAN), X, local(2007, 5, 15, 8, 12, 21)),
    # (c) Radical-7 rainbow, EXC=0000C00 -> low signal IQ
    ((98, 123, 0.55), Q, local(2016, 3, 17, 19, 19, 36)),
    # (d) Rad-8 ASCII 1
    ((97, 64, 0.80), V, local(2016, 3, 19, 13, 37, 12)),
]


def test_published_sample_lines_decode_with_their_exception_states() -> None:
    lines = [ln for ln in SAMPLES.read_text().splitlines() if ln and not ln.startswith("#")]
    assert len(lines) == len(SAMPLE_EXPECTED)
    for line, (vals, quality, when) in zip(lines, SAMPLE_EXPECTED, strict=True):
        d, out = decode(line + "\r\n")
        got, q = triple(out)
        assert same(got, vals) and q == quality, line
        assert all(r.device_time == when for r in readings(out)), line
        assert (d.stats.frames_ok, d.stats.frames_rejected) == (1, 0)


def test_sample_file_as_one_stream_counts_the_comment_lines_as_rejected() -> None:
    d = MasimoDecoder("test")
    out = d.feed(SAMPLES.read_bytes(), 1.0)
    assert len(readings(out)) == 3 * len(SAMPLE_EXPECTED)
    assert d.stats.frames_ok == len(SAMPLE_EXPECTED)
    comments = [ln for ln in SAMPLES.read_text().splitlines() if ln.startswith("#")]
    assert d.stats.frames_rejected == len(comments)


# --------------------------------------------------------------------------- fields


def test_units_codes_device_time_and_host_time() -> None:
    d, out = decode(RAD8.format(exc="000000") + "\r\n", now=123.5)
    rs = readings(out)
    assert [(r.code, r.unit) for r in rs] == [
        (SPO2, mdc.MDC_DIM_PERCENT), (PR, mdc.MDC_DIM_BEAT_PER_MIN), (PI, mdc.MDC_DIM_PERCENT)]
    assert all(r.t == 123.5 and r.source == "test" for r in rs)
    assert rs[0].device_time == local(2016, 3, 19, 13, 37, 12)
    assert d.stats.last_frame_t == 123.5


def test_parsed_by_key_not_by_position() -> None:
    line = "01/02/20 03:04:05 EXC=000000 PI=12.34% NEWFIELD=7 BPM=101 SPO2=091% ALARM=0000"
    _, out = decode(line + "\n")
    got = {r.code: r.value for r in readings(out)}
    assert got == {SPO2: 91.0, PR: 101.0, PI: pytest.approx(12.34)}


@pytest.mark.parametrize(("text", "value"), [("00.80", 0.8), ("04.69", 4.69), ("0.5", 0.5),
                                               ("19.99%", 19.99), ("00.02%", 0.02)])
def test_pi_keeps_its_decimals(text: str, value: float) -> None:
    _, out = decode(RAD8.format(exc="000000").replace("PI=00.80%", f"PI={text}") + "\n")
    assert [r.value for r in readings(out) if r.code == PI] == [pytest.approx(value)]


def test_dashes_mean_no_value_per_field() -> None:
    line = RAD8.format(exc="000000").replace("PI=00.80%", "PI=--.--%")
    _, out = decode(line + "\n")
    got = {r.code: r for r in readings(out)}
    assert got[SPO2].value == 97 and got[SPO2].quality == V
    assert math.isnan(got[PI].value) and got[PI].quality == X


def test_zeros_are_not_a_value_even_without_exception_bits() -> None:
    for field in ("SPO2=000%", "BPM=000"):
        line = RAD8.format(exc="000000").replace(
            "SPO2=097%" if field.startswith("SPO2") else "BPM=064", field)
        _, out = decode(line + "\n")
        vals, q = triple(out)
        assert q == X and all(math.isnan(v) for v in vals)


# --------------------------------------------------------------------------- exceptions


@pytest.mark.parametrize(
    ("bit", "quality"),
    [
        (0x001, X),  # no sensor
        (0x002, X),  # defective sensor
        (0x004, Q),  # low perfusion
        (0x008, X),  # pulse search
        (0x010, Q),  # interference
        (0x020, X),  # sensor off
        (0x040, Q),  # ambient light
        (0x080, X),  # unrecognised sensor
        (0x400, Q),  # low signal IQ
        (0x800, V),  # full SET mode: information only
        (0x000, V),
    ],
)
def test_every_exception_bit(bit: int, quality: Quality) -> None:
    for exc in (f"{bit:06X}", f"{bit | 0x800:03X}:SET", f"{bit:07X}"):
        _, out = decode(RAD8.format(exc=exc) + "\r\n")
        vals, q = triple(out)
        assert q == quality, exc
        if quality == X:
            assert all(math.isnan(v) for v in vals)
            assert not any(r.quality.displayable for r in readings(out))
        else:
            assert same(vals, (97, 64, 0.8))


def test_invalid_wins_over_questionable() -> None:
    _, out = decode(RAD8.format(exc="000424") + "\n")
    assert triple(out)[1] == X


@pytest.mark.parametrize(("words", "quality"), [("OffPat,SET", X), ("Search", X),
                                                ("LowSigIQ,SET", Q), ("SET", V), ("", V)])
def test_trend_dump_text_forms_count_even_if_the_hex_does_not(words: str, quality: Quality) -> None:
    _, out = decode(f"09/21/08 09:56:12 SpO2=097 PR=069 PI=04.69 EXC=800:{words}\n")
    assert triple(out)[1] == quality


def test_a_line_without_exc_is_questionable() -> None:
    _, out = decode("09/21/08 09:56:12 SpO2=097 PR=069 PI=04.69\n")
    vals, q = triple(out)
    assert q == Q and same(vals, (97, 69, 4.69))


# --------------------------------------------------------------------------- malformed lines

GOOD = RAD8.format(exc="000000")


@pytest.mark.parametrize(
    "line",
    [
        "SPO2=097% BPM=064 PI=00.80% EXC=000000",  # no date/time
        GOOD.replace("03/19/16", "13/40/16"),  # impossible date
        GOOD.replace("13:37:12", "25:37:12"),  # impossible time
        GOOD.replace("03/19/16", "3/19/16"),
        GOOD.replace("13:37:12", "13:37"),
        GOOD.replace("SPO2=097%", "SPO2=1O7%"),
        GOOD.replace("SPO2=097%", "SPO2=101%"),
        GOOD.replace("BPM=064", "BPM=6a4"),
        GOOD.replace("BPM=064", "BPM=0644"),
        GOOD.replace("PI=00.80%", "PI=4.6.9"),
        GOOD.replace("PI=00.80%", "PI=20.50%"),
        GOOD.replace("PI=00.80%", "PI=080"),
        GOOD.replace("EXC=000000", "EXC=XYZ"),
        GOOD.replace("EXC=000000", "EXC=000000000"),
        GOOD.replace("ALARM=0000", "ALARM 0000"),  # a token that is not KEY=value
        GOOD.replace("ALARM=0000", "ALARM="),
        GOOD + " BPM=070",  # a field twice
        GOOD.replace("SPO2=097%", "SpO2=097") + " SPO2=098%",
        "03/19/16 13:37:12 SN=0000093112 ALARM=0000 EXC=000000",  # no oximetry field
        "03/19/16 13:37:12",
        "Rad-8 trend data",
        "\x00\x01\x02garbage\x7f",
    ],
)
def test_malformed_lines_are_counted_and_the_next_line_decodes(line: str) -> None:
    d = MasimoDecoder("test")
    out = d.feed(line.encode("latin-1") + b"\r\n" + GOOD.encode() + b"\r\n", 1.0)
    assert same(triple(out)[0], (97, 64, 0.8))
    assert (d.stats.frames_ok, d.stats.frames_rejected) == (1, 1)


def test_non_ascii_line_is_rejected() -> None:
    d = MasimoDecoder("test")
    out = d.feed(GOOD.replace("SN=", "SN\xe9=").encode("latin-1") + b"\n", 1.0)
    assert out == [] and d.stats.frames_rejected == 1


def test_over_long_line_is_counted_once_and_resyncs() -> None:
    junk = b"X" * (masimo.MAX_LINE * 3)
    for chunk in (1, 100, len(junk)):
        d = MasimoDecoder("test")
        out: list[Sample] = []
        stream = junk + b"\r\n" + GOOD.encode() + b"\r\n"
        for i in range(0, len(stream), chunk):
            out += d.feed(stream[i : i + chunk], 1.0)
        assert same(triple(out)[0], (97, 64, 0.8))
        assert d.stats.frames_rejected == 1, chunk


@pytest.mark.parametrize("eol", ["\r\n", "\n", "\r", "\n\r"])
def test_line_endings(eol: str) -> None:
    d, out = decode((GOOD + eol) * 3)
    assert len(readings(out)) == 9 and d.stats.frames_rejected == 0


def test_split_at_every_byte_boundary() -> None:
    data = (GOOD + "\r\n" + "09/21/08 09:56:14 SpO2=096 PR=074 PI=02.28 EXC=C00:LowSigIQ,SET\r\n")
    raw = data.encode()
    for i in range(len(raw) + 1):
        d = MasimoDecoder("test")
        out = d.feed(raw[:i], 1.0) + d.feed(raw[i:], 1.0)
        rs = readings(out)
        assert [(r.value, r.quality) for r in rs] == [
            (97, V), (64, V), (pytest.approx(0.8), V), (96, Q), (74, Q), (pytest.approx(2.28), Q)
        ], i
        assert d.stats.frames_rejected == 0 and d.stats.bytes_in == len(raw)


# --------------------------------------------------------------------------- simulator


def test_simulator_line_round_trips_model_values() -> None:
    physio = Physiology("calm", start=0.0)
    m = MasimoMonitor(physio)
    d = MasimoDecoder("test")
    out: list[Sample] = []
    t = 1_000_000.0
    for _ in range(50):
        out += d.feed(m.produce(t), t)
        t += 0.25
    rs = readings(out)
    assert len(rs) == 3 * 13 and d.stats.frames_rejected == 0
    for r in rs:
        v = physio.vitals(r.t)
        expected = {SPO2: v.spo2, PR: v.pulse, PI: masimo.simulated_pi(r.t)}[r.code]
        assert r.value == pytest.approx(expected) and r.quality == V
        assert r.device_time == math.floor(r.t)


def test_simulator_probe_off_and_artefact() -> None:
    physio = Physiology("noisy", start=0.0)
    m = MasimoMonitor(physio)
    assert physio.vitals(41.0).probe_off and physio.vitals(21.0).artefact
    line = m.line(41.0)
    assert b"SPO2=---%" in line and b"BPM=---" in line and b"EXC=000020" in line
    vals, q = triple(MasimoDecoder("t").feed(line, 41.0))
    assert q == X and all(math.isnan(v) for v in vals)
    vals, q = triple(MasimoDecoder("t").feed(m.line(21.0), 21.0))
    assert q == Q and not math.isnan(vals[0])


def test_generic_bench_loop_yields_readings_within_seconds() -> None:
    d = DRIVER.make_decoder("bench")
    m = DRIVER.make_simulator(Physiology("calm", start=0.0))
    out: list[Sample] = []
    t = 0.0
    while t < 3.0:
        m.receive(d.outgoing(t), t)
        out += d.feed(m.produce(t), t)
        t += 0.02
    assert len(readings(out)) == 9 and all(r.quality == V for r in readings(out))


def test_driver_entry() -> None:
    from devices.drivers import DRIVERS

    assert DRIVERS["masimo"] is DRIVER
    assert DRIVER.settings == masimo.SerialSettings(9600)
    assert not DRIVER.talks_back
    assert DRIVER.title == "Masimo Rad-8 / Rad-97 / Radical-7 (serial ASCII)"


# --------------------------------------------------------------------------- properties

LINE = st.sampled_from(
    [GOOD, *(ln for ln in SAMPLES.read_text().splitlines() if ln and not ln.startswith("#"))]
)


def sane(r: Reading) -> bool:
    if r.quality == X:
        return math.isnan(r.value)
    top = {SPO2: 100.0, PR: 350.0, PI: 20.0}[r.code]
    return 0.0 < r.value <= top if r.code != PI else 0.0 <= r.value <= top


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000), st.integers(min_value=1, max_value=64))
def test_random_bytes_never_raise_and_never_give_an_insane_value(data: bytes, chunk: int) -> None:
    d = MasimoDecoder("prop")
    for i in range(0, len(data), chunk):
        assert all(sane(r) for r in readings(d.feed(data[i : i + chunk], 1.0)))
    assert d.stats.bytes_in == len(data)


@settings(max_examples=200, deadline=None)
@given(st.lists(LINE, min_size=1, max_size=5), st.data())
def test_mutated_lines_never_raise_and_stay_sane(lines: list[str], data: st.DataObject) -> None:
    raw = bytearray("\r\n".join(lines).encode() + b"\r\n")
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        pos = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
        raw[pos] = data.draw(st.integers(min_value=0, max_value=255))
    d = MasimoDecoder("prop")
    out = d.feed(bytes(raw), 1.0)
    assert all(sane(r) for r in readings(out))
    assert d.stats.frames_ok + d.stats.frames_rejected <= len(lines) + 8


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.integers(min_value=0, max_value=800))
def test_resync_on_the_next_good_line(garbage: bytes, cut: int) -> None:
    stream = garbage + b"\n" + GOOD.encode() + b"\r\n"
    d = MasimoDecoder("prop")
    out = feed_in_pieces(d, stream, [cut], 1.0)
    assert same(triple(out[-3:])[0], (97, 64, 0.8))


# --------------------------------------------------------------------------- real pty


class Sink:
    def __init__(self, lines: int) -> None:
        self.lines = lines
        self.readings: list[Reading] = []
        self.done = threading.Event()
        self._lock = threading.Lock()

    def samples(self, source: str, samples: list[Sample]) -> None:
        with self._lock:
            self.readings += readings(samples)
            if len(self.readings) >= 3 * self.lines:
                self.done.set()

    def status(self, status: LinkStatus) -> None:
        pass


def test_end_to_end_over_a_real_pty() -> None:
    physio = Physiology("calm", start=time.time())
    sim = Simulator(DRIVER, physio)
    port = sim.start()
    sink = Sink(lines=2)
    link = SerialLink(port, DRIVER, sink, source="masimo-test")
    link.start()
    try:
        assert sink.done.wait(10.0), sink.readings
    finally:
        link.stop()
        sim.stop()
    assert link.decoder.stats.frames_rejected == 0
    for r in sink.readings:
        assert r.source == "masimo-test" and r.quality == V and r.device_time is not None
        assert r.unit == mdc.PARAMETERS[r.code].unit
        # The line's stamp is the second in which the monitor read the model.
        window = [r.device_time + k / 50 for k in range(50)]
        if r.code == SPO2:
            assert r.value in {physio.vitals(t).spo2 for t in window}
        elif r.code == PR:
            assert r.value in {physio.vitals(t).pulse for t in window}
        else:
            assert r.code == PI
            assert any(r.value == pytest.approx(masimo.simulated_pi(t)) for t in window)
