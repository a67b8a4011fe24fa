"""Contec CMS50D+/E/F: byte vectors from the documented formats, properties, pty, record.

Sources for the vectors (each test names its own):
- [V7] Contec "Communication protocol of pulse oximeter V7.0" §2.2 (115200 baud 8N1) and §3.2
  (package = type byte with bit 7 clear, a high-bits byte, data bytes with bit 7 set), as
  quoted by headrotor/contec_data stream_data.py, whose capture after the start command
  `7D 81 A1 80 80 80 80 80 80` reads `01 E0 85 B3 96 C1 E1 FF FF` (PR 65, SpO2 97), and
  celiponcio cms50Dplus_thread.py (high-bits byte: bit 0 finger out, bit 1 searching).
- [L5] the older 5-byte live format, 60 frames/s, 19200 baud 8O1: the Contec manual as
  translated on picbasic.co.uk (thread 11311: byte 1 sync 1 / beep / SpO2 drop / searching
  too long / signal 0-3; byte 3 PR bit 7 / searching / sensor error / bar graph; bytes 2, 4, 5
  pleth, PR bits 6-0, SpO2, each with bit 7 clear) and atbrask/CMS50Dplus cms50dplus.py.
"""

from __future__ import annotations

import math
import os
import sqlite3
import subprocess
import sys
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import serial
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import mdc
from devices.drivers import DRIVERS, get_driver
from devices.link import LinkStatus, SerialLink, open_port
from devices.physiology import Physiology, Vitals
from devices.protocol import SerialSettings
from devices.protocols import contec
from devices.protocols.contec import (
    DRIVER,
    F_NO_FINGER,
    F_SEARCHING,
    F_SENSOR_ERROR,
    ContecDecoder,
    ContecMonitor,
    live5_frame,
    v7_frame,
)
from devices.reading import Quality, Reading, Sample, WaveChunk
from devices.simulator import Simulator
from tests.helpers.pieces import feed_in_pieces

PR, SPO2, PLETH = mdc.MDC_PULS_OXIM_PULS_RATE, mdc.MDC_PULS_OXIM_SAT_O2, mdc.MDC_PULS_OXIM_PLETH
CAPTURE = bytes.fromhex("01 E0 85 B3 96 C1 E1 FF FF")  # [V7] headrotor's capture


def readings(samples: list[Sample]) -> list[Reading]:
    return [s for s in samples if isinstance(s, Reading)]


def values(samples: list[Sample], code: int) -> list[float]:
    return [r.value for r in readings(samples) if r.code == code]


def waves(samples: list[Sample]) -> list[WaveChunk]:
    return [s for s in samples if isinstance(s, WaveChunk)]


def decode(data: bytes, now: float = 10.0) -> tuple[ContecDecoder, list[Sample]]:
    d = ContecDecoder("t")
    return d, d.feed(data, now)


# --------------------------------------------------------------------------- vectors


def test_published_v7_capture_decodes_to_pr65_spo297() -> None:
    """[V7] the capture repeated (60/s) and followed by the next package's type byte."""
    d, out = decode(CAPTURE * 4 + b"\x01")
    assert values(out, PR) == [65.0] and values(out, SPO2) == [97.0]
    assert all(r.quality == Quality.VALID and r.reason is None for r in readings(out))
    assert d.stats.frames_ok == 4 and d.stats.frames_rejected == 0 and d.data_format == "v7"
    r = readings(out)[0]
    assert (r.unit, readings(out)[1].unit) == (mdc.MDC_DIM_BEAT_PER_MIN, mdc.MDC_DIM_PERCENT)
    assert r.device_time is None and r.t == 10.0


def test_v7_builder_matches_the_capture_but_for_the_bar_graph() -> None:
    """[V7] data bytes 85 B3 96 C1 E1 FF FF: signal 5, pleth 0x33, bar graph 0x16, PR 0x41,
    SpO2 0x61, two bytes 0xFF (their bit 7 in the high-bits byte E0: bits 5 and 6)."""
    assert v7_frame(0x33, 65, 97, signal=5, bar=0x06)[:4] == CAPTURE[:4]
    assert v7_frame(0x33, 65, 97, signal=5)[5:] == CAPTURE[5:]


def test_v7_pulse_rate_above_127_takes_bit_7_from_the_high_bits_byte() -> None:
    """[V7] PR 200 = 0xC8: on the wire C8 with bit 3 of the high-bits byte set (E8)."""
    pkg = bytes.fromhex("01 E8 85 B3 83 C8 E1 FF FF")
    _, out = decode(pkg * 3 + b"\x01")
    assert values(out, PR) == [200.0]
    assert contec.decode_frame(v7_frame(10, 254, 99)) == (10, 254, 99, 0)


def test_live5_frame_by_hand() -> None:
    """[L5] 85 30 43 02 60: signal 5, pleth 0x30, bar 3 with PR bit 7 (0x40), PR low 2 ->
    130 /min, SpO2 0x60 = 96 %."""
    frame = bytes.fromhex("85 30 43 02 60")
    assert live5_frame(0x30, 130, 96, signal=5, bar=3) == frame
    d, out = decode(frame * 3 + b"\x85")
    assert values(out, PR) == [130.0] and values(out, SPO2) == [96.0]
    assert d.data_format == "live5" and d.stats.frames_ok == 3


@pytest.mark.parametrize(("frame", "why"), [
    (bytes.fromhex("95 00 03 7F 7F"), "no finger in the sensor"),  # [L5] byte 1 bit 4
    (bytes.fromhex("85 30 23 48 61"), "searching for pulse"),  # [L5] byte 3 bit 5
    (bytes.fromhex("85 30 13 48 61"), "sensor error"),  # [L5] byte 3 bit 4
    (bytes.fromhex("01 E1 85 B3 83 C1 E1 FF FF"), "no finger in the sensor"),  # [V7] E1
    (bytes.fromhex("01 E2 85 B3 83 C1 E1 FF FF"), "searching for pulse"),  # [V7] E2
])
def test_status_flags_make_both_values_invalid_with_reason(frame: bytes, why: str) -> None:
    """[L5] / [V7] flag bits as listed in the module docstring's sources."""
    nxt = b"\x01" if frame[0] == 0x01 else b"\x85"
    _, out = decode(frame * 3 + nxt)
    rs = readings(out)
    assert [r.code for r in rs] == [PR, SPO2]
    for r in rs:
        assert r.quality == Quality.INVALID and math.isnan(r.value)
        assert r.reason == f"monitor: {why}"


def test_builders_put_the_flags_where_the_documents_say() -> None:
    assert live5_frame(0x30, 72, 97, F_SEARCHING) == bytes.fromhex("85 30 23 48 61")
    assert live5_frame(0x30, 72, 97, F_SENSOR_ERROR) == bytes.fromhex("85 30 13 48 61")
    assert live5_frame(0, 255, 127, F_NO_FINGER)[0] == 0x95
    assert v7_frame(0x33, 65, 97, F_NO_FINGER)[1] == 0xE1
    assert v7_frame(0x33, 65, 97, F_SEARCHING)[1] == 0xE2


@pytest.mark.parametrize(("pr", "spo2", "pr_ok", "spo2_ok"), [
    (255, 127, False, False),  # the "no value" markers
    (0, 0, False, False),
    (72, 127, True, False),
    (255, 97, False, True),
    (72, 110, True, False),  # SpO2 above 100 is no measurement
])
def test_no_value_markers(pr: int, spo2: int, pr_ok: bool, spo2_ok: bool) -> None:
    for make, nxt in ((live5_frame, b"\x85"), (v7_frame, b"\x01")):
        _, out = decode(make(20, pr, spo2) * 3 + nxt)
        (p,) = [r for r in readings(out) if r.code == PR]
        (s,) = [r for r in readings(out) if r.code == SPO2]
        assert (p.quality == Quality.VALID) == pr_ok and (s.quality == Quality.VALID) == spo2_ok
        assert pr_ok or (math.isnan(p.value) and p.reason)
        assert spo2_ok or s.reason


def test_pleth_at_60_per_second_scaled_with_gaps_where_no_finger() -> None:
    frames = [v7_frame(i * 8, 70, 98) for i in range(16)]
    frames += [v7_frame(0, 255, 127, F_NO_FINGER)] * 14
    _, out = decode(b"".join(frames) + b"\x01", now=5.0)
    w1, w2 = waves(out)
    assert (w1.code, w1.rate_hz, len(w1.samples)) == (PLETH, 60.0, 15)
    np.testing.assert_allclose(w1.samples, np.arange(15) * 8 / 127, atol=1e-6)
    assert w1.t0 == pytest.approx(5.0 - 30 / 60)  # 30 proven samples, the first 15 sent first
    assert w2.samples[0] == pytest.approx(120 / 127) and np.isnan(w2.samples[1:]).all()
    assert w1.quality == Quality.VALID


def test_numerics_once_a_second() -> None:
    d = ContecDecoder("t")
    frame = v7_frame(30, 70, 98)
    got = []
    for k in range(300):  # 5 s of frames, one per read
        got += readings(d.feed(frame, 100.0 + k / 60))
    assert len([r for r in got if r.code == PR]) in (5, 6)


def test_a_pause_never_passes_old_values_or_pleth_on_as_new() -> None:
    """Frames until 10.5 s, then the cable is pulled: nothing from before the pause is reported
    later with a later time; leftover pleth goes out stamped with its own arrival time."""
    d = ContecDecoder("t")
    f = v7_frame(40, 70, 97)
    d.feed(f * 4 + b"\x01", 10.0)  # reported at 10.0
    d.feed(v7_frame(40, 71, 97)[1:] + v7_frame(40, 71, 97) * 3 + b"\x01", 10.5)  # PR 71
    out = d.feed(b"\x33\x99" * 20, 15.0)  # noise after the pause
    assert readings(out) == []
    (old,) = waves(out)
    assert old.t0 + old.duration == pytest.approx(10.5)
    assert d.stats.last_frame_t == 10.5


# --------------------------------------------------------------------------- damage, resync


@pytest.mark.parametrize("make", [live5_frame, v7_frame])
def test_split_at_every_byte_boundary(make: object) -> None:
    assert callable(make)
    data = b"".join(make(i, 140, 95) for i in range(4)) + make(0, 140, 95)[:1]
    for cut in range(len(data) + 1):
        d = ContecDecoder("t")
        out = feed_in_pieces(d, data, [cut], 1.0)
        assert values(out, PR) == [140.0] and values(out, SPO2) == [95.0], cut
        assert d.stats.frames_ok == 4 and d.stats.frames_rejected == 0


def test_byte_by_byte() -> None:
    data = v7_frame(3, 66, 94) * 20 + b"\x01"
    d = ContecDecoder("t")
    out: list[Sample] = []
    for i in range(len(data)):
        out += d.feed(data[i : i + 1], 1.0 + i / 540)
    assert set(values(out, PR)) == {66.0} and d.stats.frames_ok == 20


def test_two_agreeing_frames_are_not_enough() -> None:
    d, out = decode(v7_frame(3, 66, 94) * 2 + b"\x01")
    assert out == [] and d.stats.frames_ok == 0 and d.stats.last_frame_t is None


def test_a_changed_byte_never_becomes_a_value() -> None:
    """[L5] PR 72 / SpO2 97, with the PR byte of one frame changed to 0x11: the odd frame
    agrees with no neighbour, so 17 /min is never reported."""
    good = live5_frame(40, 72, 97)
    bad = bytearray(good)
    bad[3] = 0x11
    d = ContecDecoder("t")
    out = d.feed(good * 2 + bytes(bad) + good * 2 + live5_frame(40, 72, 97)[:1], 1.0)
    assert values(out, PR) == [] and d.stats.frames_ok == 0  # no 3 in a row yet
    out = d.feed(good * 3 + b"\x85", 5.0)
    assert values(out, PR) == [72.0]


def test_lost_byte_resyncs_and_is_counted() -> None:
    stream = v7_frame(1, 80, 96) * 4
    damaged = stream[:13] + stream[14:]  # one data byte lost in the second package
    d, out = decode(damaged + v7_frame(1, 80, 96) * 3 + b"\x01")
    assert values(out, PR) == [80.0] and d.stats.frames_rejected >= 1


def test_answers_to_commands_inside_a_v7_stream_do_not_break_it() -> None:
    """[V7] a short package (type 0x0C, one data byte, as headrotor saw after 7D 81 A7) between
    real-time packages: read past, not counted as damage, the run of frames goes on."""
    f = v7_frame(9, 77, 95)
    d, out = decode(f * 2 + bytes.fromhex("0C 80") + f + b"\x01")
    assert values(out, PR) == [77.0] and d.stats.frames_rejected == 0


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=1500, max_size=1500), st.lists(st.integers(1, 200), max_size=10))
def test_line_noise_never_looks_live(noise: bytes, cuts: list[int]) -> None:
    d = ContecDecoder("p")
    out = feed_in_pieces(d, noise, cuts, 1.0)
    assert out == [] and d.stats.frames_ok == 0 and d.stats.last_frame_t is None
    assert d.stats.bytes_in == len(noise) and d.stats.frames_rejected > 0


@st.composite
def damaged_blocks(draw: st.DrawFn) -> tuple[bytes, list[tuple[int, int]], list[int]]:
    """Blocks of 8 frames, each block its own PR/SpO2; some bytes changed, dropped, added."""
    makers: list[Callable[..., bytes]] = [live5_frame, v7_frame]
    make = draw(st.sampled_from(makers))
    n = draw(st.integers(2, 6))
    pairs = [(40 + 7 * i, 90 + i % 10) for i in range(n)]
    data = bytearray(b"".join(make(20 + j, pr, s) for pr, s in pairs for j in range(8)))
    for _ in range(draw(st.integers(0, 6))):
        pos = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["change", "drop", "insert"]))
        if kind == "change":
            data[pos] ^= draw(st.integers(1, 255))
        elif kind == "drop":
            del data[pos]
        else:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
    cuts = draw(st.lists(st.integers(1, 60), max_size=20))
    # clean frames at the end: more than the 60 between two reports, so one falls in them
    tail = b"".join(make(5, 111, 93) for _ in range(65)) + make(5, 111, 93)[:1]
    return bytes(data) + tail, pairs, cuts


@settings(max_examples=200, deadline=None)
@given(damaged_blocks())
def test_damaged_frames_never_give_values_and_decoding_resumes(
    case: tuple[bytes, list[tuple[int, int]], list[int]],
) -> None:
    data, pairs, cuts = case
    d = ContecDecoder("p")
    out = feed_in_pieces(d, data, cuts, 0.0, 1.0, rest_at=len(cuts) + 5.0)
    got = [(p, s) for p, s in zip(values(out, PR), values(out, SPO2), strict=True)]
    assert all(pair in [*pairs, (111, 93)] for pair in got), got
    assert got[-1] == (111, 93)  # the clean frames at the end are read
    assert d.stats.faults == 0


def _said(samples: list[Sample]) -> list[object]:
    """What the samples say, without host times."""
    return [("N", s.code, s.value if s.value == s.value else "nan", int(s.quality))
            if isinstance(s, Reading) else ("W", tuple(np.round(s.samples, 4)))
            for s in samples]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 400), max_size=30), st.lists(st.integers(1, 400), max_size=30))
def test_output_depends_on_the_bytes_not_on_how_reads_split_them(
    a: list[int], b: list[int],
) -> None:
    """A replayed capture arrives in other reads than the live stream did: same values."""
    m = ContecMonitor(Physiology("noisy", start=0.0), "v7")
    m.receive(contec.START_COMMAND, 0.0)
    stream = b"".join(m.produce(t / 50) for t in range(1, 250))
    outs = []
    for cuts in (a, b):
        outs.append(_said(feed_in_pieces(ContecDecoder("r"), stream, cuts, 1.0)))
    assert outs[0] == outs[1] and outs[0]


# --------------------------------------------------------------------------- talk-back


def test_start_command_then_keepalive_and_retry() -> None:
    d = ContecDecoder("t")
    assert d.outgoing(0.0) == bytes.fromhex("7D 81 A1 80 80 80 80 80 80")
    assert d.outgoing(1.0) == b""
    assert d.outgoing(3.0) == contec.START_COMMAND  # nothing came: ask again
    d.feed(v7_frame(1, 70, 97) * 4 + b"\x01", 3.5)
    assert d.outgoing(3.6) == b""
    assert d.outgoing(5.0) == bytes.fromhex("7D 81 AF 80 80 80 80 80 80")  # keep it going
    assert d.outgoing(5.5) == b""
    d.reset()
    assert d.outgoing(6.0) == contec.START_COMMAND


def test_no_keepalive_for_the_older_format() -> None:
    d = ContecDecoder("t")
    d.outgoing(0.0)
    d.feed(live5_frame(1, 70, 97) * 4 + b"\x81", 0.5)
    assert d.outgoing(2.6) == b"" and d.outgoing(3.4) == b""


# --------------------------------------------------------------------------- simulator


class Fixed(Physiology):
    def __init__(self, hr: float | None, spo2: float | None, **flags: bool) -> None:
        super().__init__("calm", start=0.0)
        self.hr, self.spo2, self.flags = hr, spo2, flags

    def vitals(self, t: float) -> Vitals:
        return Vitals(hr=self.hr, spo2=self.spo2, rr=14, pulse=self.hr, nibp=None, nibp_t=None,
                      **self.flags)


def run_loop(d: ContecDecoder, m: ContecMonitor, seconds: float, t: float = 1000.0
             ) -> list[Sample]:
    out: list[Sample] = []
    for _ in range(round(seconds / 0.02)):
        m.receive(d.outgoing(t), t)
        out += d.feed(m.produce(t), t)
        t += 0.02
    return out


@pytest.mark.parametrize("fmt", ["v7", "live5"])
@pytest.mark.parametrize("hr", [45, 130, 200])
def test_simulator_round_trips(fmt: str, hr: int) -> None:
    d = ContecDecoder("s")
    out = run_loop(d, ContecMonitor(Fixed(hr, 96), fmt), 3.0)
    assert values(out, PR)[-2:] == [hr, hr] and values(out, SPO2)[-2:] == [96, 96]
    assert d.data_format == fmt
    assert 3 * 60 - 15 <= d.stats.frames_ok <= 3 * 60
    assert 2.5 * 60 <= sum(len(w.samples) for w in waves(out)) <= 3 * 60


def test_simulated_v7_device_waits_for_the_start_command_and_stops_without_host() -> None:
    m = ContecMonitor(Physiology("calm"))
    assert m.produce(1.0) == b""
    m.receive(contec.START_COMMAND, 1.0)
    assert m.commands == [0xA1] and len(m.produce(1.5)) % 9 == 0 and m.produce(1.6)
    assert m.produce(11.5) == b""  # ten seconds without a word from the host
    live5 = ContecMonitor(Physiology("calm"), "live5")
    assert live5.produce(1.0) and len(live5.produce(1.5)) % 5 == 0


def test_simulator_probe_off_is_invalid() -> None:
    out = run_loop(ContecDecoder("s"), ContecMonitor(Fixed(None, None, probe_off=True)), 2.0)
    rs = readings(out)
    assert rs and all(r.quality == Quality.INVALID for r in rs)
    assert all(r.reason == "monitor: no finger in the sensor" for r in rs)


def test_driver_registered_with_both_port_settings() -> None:
    assert DRIVERS["contec"] is DRIVER and get_driver("cms50e") is DRIVER
    assert DRIVER.settings == SerialSettings(115200) and DRIVER.talks_back
    assert DRIVER.supported == (SerialSettings(115200), SerialSettings(19200, 8, "O", 1))
    older = get_driver("contec@19200-8O1")
    assert older.name == "contec" and older.settings == SerialSettings(19200, 8, "O", 1)


# --------------------------------------------------------------------------- real pty


class Sink:
    def __init__(self, want: int) -> None:
        self.got: list[Sample] = []
        self.want = want
        self.done = threading.Event()
        self._lock = threading.Lock()

    def samples(self, source: str, samples: list[Sample]) -> None:
        with self._lock:
            self.got += samples
            if len(readings(self.got)) >= self.want and waves(self.got):
                self.done.set()

    def status(self, status: LinkStatus) -> None:
        pass


@pytest.mark.parametrize("spec", ["contec", "contec@19200-8O1"])
def test_end_to_end_over_a_real_pty(spec: str) -> None:
    driver = get_driver(spec)
    fmt = "v7" if driver.settings.baudrate == 115200 else "live5"
    sim = Simulator(replace(driver, make_simulator=lambda p: ContecMonitor(p, fmt)),
                    Fixed(130, 95))
    port = sim.start()
    sink = Sink(want=6)
    link = SerialLink(port, driver, sink)
    link.start()
    try:
        assert sink.done.wait(15), link.status
    finally:
        link.stop()
        sim.stop()
    assert {(r.code, r.value, r.unit, r.quality) for r in readings(sink.got)} == {
        (PR, 130, mdc.MDC_DIM_BEAT_PER_MIN, Quality.VALID),
        (SPO2, 95, mdc.MDC_DIM_PERCENT, Quality.VALID),
    }
    assert link.decoder.stats.frames_ok >= 60 and link.source == f"contec:{port}"


def test_odd_parity_port_opens_on_a_pty() -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        port = open_port(os.ttyname(slave), SerialSettings(19200, 8, "O", 1))
        assert port.parity == serial.PARITY_ODD
        port.close()
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.slow
def test_record_older_contec_at_its_own_port_settings_into_sqlite(tmp_path: Path) -> None:
    """`holdspace record --device contec@19200-8O1:PORT` as a real process, a simulated older
    CMS50E (5-byte format) on a real pty: pulse rate, SpO2 and the 60/s pleth are stored."""
    driver = get_driver("contec@19200-8O1")
    sim = Simulator(replace(driver, make_simulator=lambda p: ContecMonitor(p, "live5")),
                    Physiology("calm", start=time.time()), link_path=str(tmp_path / "ttyCMS"))
    port = sim.start()
    db = tmp_path / "contec.db"
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "console", "record", "--device", f"contec@19200-8O1:{port}",
             "--db", str(db), "--duration", "6"],
            capture_output=True, text=True, timeout=60)
    finally:
        sim.stop()
    assert proc.returncode == 0, proc.stderr
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT code, value, unit, source FROM readings WHERE quality = 0"
                        ).fetchall()
    assert {r[3] for r in rows} == {f"contec:{port}"}
    assert any(c == PR and 55 <= v <= 95 for c, v, _, _ in rows)
    assert any(c == SPO2 and 94 <= v <= 100 for c, v, _, _ in rows)
    (n, rate) = conn.execute("SELECT SUM(n), MAX(rate_hz) FROM waveforms WHERE code = ?",
                             (PLETH,)).fetchone()
    assert rate == 60.0 and n >= 4 * 60
    conn.close()
