"""GE/Datex-Ohmeda S/5 waves: the request and the wave record, by hand from the documented layout.

Layout as described by /work/shared/reference/protocols.md (S/5: "Waves: maintype 1 request
(start/stop, up to 8 wave ids ended by 0xFF): ECG1 1, INVP1 4, PLETH 8, CO2 9, RESP 15. Sample
rates: ECG 300 Hz, pressure and pleth 100 Hz, resp/CO2 25 Hz; total under ~600 samples/s") and
VSCaptureWave (Class2.cs `wf_req`: req_type i16, res i16, type[8] u8, reserved i16[10], 32
bytes, record r_len 72; `wf_hdr`: act_len i16, status u16, reserved u16; Class1.cs
ReadMultipleWaveSubRecords: subrecord type = wave id, act_len i16 samples follow the header;
DATA_INVALID_LIMIT -32001). The framing helpers are those of tests/test_proto_s5.py (7E, 7D
escapes, 8-bit sum), written independently of the module.
"""

from __future__ import annotations

import math
import struct
import threading

import numpy as np
import pytest

from devices import mdc
from devices.drivers import get_driver
from devices.link import LinkStatus, SerialLink
from devices.physiology import Physiology
from devices.protocol import Decoder
from devices.protocols import s5
from devices.protocols import s5_waves as w
from devices.protocols.s5 import S5Decoder, S5Monitor
from devices.reading import Quality, Sample, WaveChunk
from devices.simulator import Simulator
from tests.helpers.pieces import feed_in_pieces
from tests.test_proto_s5 import GOOD, block, record, subrecord, wire

PLETH, ECG = mdc.MDC_PULS_OXIM_PLETH, mdc.MDC_ECG_ELEC_POTL


def wave_sub(samples: list[int], status: int = 0) -> bytes:
    """wf_hdr (act_len, status, reserved) then the i16 samples, little-endian."""
    return struct.pack("<hHH", len(samples), status, 0) + struct.pack(f"<{len(samples)}h",
                                                                      *samples)


def wave_record(waves: list[tuple[int, bytes]], r_len_delta: int = 0) -> bytes:
    """A maintype-1 record whose descriptors carry each wave id as subrecord type."""
    body = b"".join(sub for _, sub in waves)
    head = struct.pack("<hBBHIBBHh", 40 + len(body) + r_len_delta, 3, 0, 0, 1_700_000_000,
                       0, 0, 0, 1)
    descs, off = b"", 0
    for wave_id, sub in waves:
        descs += struct.pack("<hB", off, wave_id)
        off += len(sub)
    descs += struct.pack("<hB", 0, 0xFF) * (8 - len(waves))
    return head + descs + body


def waves_of(samples: list[Sample]) -> list[WaveChunk]:
    return [s for s in samples if isinstance(s, WaveChunk)]


# --------------------------------------------------------------------------- the request


def test_wave_request_is_the_documented_72_byte_record() -> None:
    """Header r_len 72, maintype 1, one DRI_WF_CMD (type 0) subrecord at offset 0; body:
    req_type 0 (WF_REQ_CONT_START), reserved 0, ids 8 (pleth) then 0xFF, ten reserved i16."""
    head = struct.pack("<hBBHIBBHh", 72, 0, 0, 0, 0, 0, 0, 0, 1)
    descs = struct.pack("<hB", 0, 0) + struct.pack("<hB", 0, 0xFF) * 7
    body = struct.pack("<hh", 0, 0) + bytes([8] + [0xFF] * 7) + bytes(20)
    assert len(head + descs + body) == 72
    assert s5.wave_request((w.WF_PLETH,)) == wire(head + descs + body)


def test_stop_request_and_two_waves() -> None:
    sub = w.wave_request_subrecord((w.WF_ECG1, w.WF_PLETH), start=False)
    assert sub[:12] == struct.pack("<hh", 1, 0) + bytes([1, 8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                                         0xFF])
    assert w.parse_wave_request(sub) == (False, (1, 8))


def test_request_beyond_what_the_link_carries_is_refused() -> None:
    """Under ~600 samples/s in all: three ECG traces (900/s) cannot be asked for."""
    with pytest.raises(ValueError, match="600 samples/s"):
        w.wave_request_subrecord((w.WF_ECG1, w.WF_ECG2, w.WF_ECG3))
    with pytest.raises(ValueError, match="at most 8"):
        w.wave_request_subrecord((w.WF_CO2,) * 9)
    with pytest.raises(ValueError):
        S5Decoder("x", waves=(w.WF_ECG1, w.WF_ECG2, w.WF_ECG3))


def test_driver_decoder_asks_for_values_and_pleth_and_again_after_wave_silence() -> None:
    d = get_driver("s5").make_decoder("t")
    first = d.outgoing(0.0)
    assert first == s5.displayed_values_request(5) + s5.wave_request((w.WF_PLETH,))
    assert d.outgoing(1.0) == b""
    d.feed(wire(wave_record([(w.WF_PLETH, wave_sub([1, 2, 3]))])), 3.0)
    assert d.outgoing(7.9) == b""  # waves came at 3.0
    assert d.outgoing(8.0) == s5.wave_request((w.WF_PLETH,))  # 5 s without waves
    ecg = get_driver("s5-ecg").make_decoder("t")
    assert s5.wave_request((w.WF_ECG1, w.WF_PLETH)) in ecg.outgoing(0.0)


# --------------------------------------------------------------------------- wave records


def test_pleth_and_ecg_record_decode_with_their_rates_and_markers_as_gaps() -> None:
    """ECG1 at 300/s in 0.01 mV (VSCaptureWave unit shift), pleth at 100/s; -32767 (invalid)
    and -32001 (the limit) are gaps, -32000 is a value."""
    d = S5Decoder("t", waves=(w.WF_ECG1, w.WF_PLETH))
    ecg_raw = [0, 10, 110, -20, -32767, 30]
    pleth_raw = [2000, 3000, -32001, 4000, 6000, 2000, -32000, 3000, 3000, 3000]
    out = d.feed(wire(wave_record([(w.WF_ECG1, wave_sub(ecg_raw)),
                                   (w.WF_PLETH, wave_sub(pleth_raw))])), 50.0)
    ecg, pleth = waves_of(out)
    assert (ecg.code, ecg.rate_hz, len(ecg.samples)) == (ECG, 300.0, 6)
    np.testing.assert_allclose(ecg.samples[:4], [0.0, 0.1, 1.1, -0.2], atol=1e-6)
    assert math.isnan(ecg.samples[4]) and ecg.samples[5] == pytest.approx(0.3)
    assert ecg.t0 == pytest.approx(50.0 - 6 / 300) and ecg.quality == Quality.VALID
    assert (pleth.code, pleth.rate_hz, len(pleth.samples)) == (PLETH, 100.0, 10)
    assert math.isnan(pleth.samples[2])
    ok = pleth.samples[~np.isnan(pleth.samples)]
    assert ok.min() == 0.0 and ok.max() == 1.0  # scaled 0..1 over what was seen
    assert pleth.samples[0] == pytest.approx((2000 + 32000) / (6000 + 32000))
    assert d.stats.frames_ok == 1 and d.stats.frames_rejected == 0


def test_all_marker_chunk_is_invalid() -> None:
    out = S5Decoder("t").feed(wire(wave_record([(w.WF_PLETH, wave_sub([-32767] * 25))])), 1.0)
    (pleth,) = waves_of(out)
    assert pleth.quality == Quality.INVALID and np.isnan(pleth.samples).all()


def test_waves_not_decoded_are_skipped_and_a_request_record_is_not_data() -> None:
    """INVP1 / CO2 (not asked for) and a looped-back DRI_WF_CMD give no chunk, no rejection."""
    rec = wave_record([(w.WF_INVP1, wave_sub([1] * 10)), (w.WF_CO2, wave_sub([5] * 3)),
                       (w.WF_PLETH, wave_sub([1, 2]))])
    d = S5Decoder("t")
    out = d.feed(wire(rec) + s5.wave_request((w.WF_PLETH,)), 1.0)
    assert [c.code for c in waves_of(out)] == [PLETH]
    assert d.stats.frames_rejected == 0 and d.stats.frames_ok == 2


@pytest.mark.parametrize("act_len", [0, -1, 11])
def test_act_len_that_does_not_fit_rejects_the_record(act_len: int) -> None:
    sub = struct.pack("<hHH", act_len, 0, 0) + struct.pack("<10h", *range(10))
    d = S5Decoder("t")
    out = d.feed(wire(wave_record([(w.WF_PLETH, sub)])), 1.0)
    assert out == [] and d.stats.frames_rejected == 1


def test_split_at_every_byte_boundary_with_values_and_waves() -> None:
    stream = (wire(wave_record([(w.WF_ECG1, wave_sub([126, 125, 0x7E7D, -3])),
                                (w.WF_PLETH, wave_sub([0x7D7E, 1, 2]))]))
              + wire(record([subrecord(block(**GOOD))])))
    for cut in range(len(stream) + 1):
        d = S5Decoder("t")
        out = feed_in_pieces(d, stream, [cut], 1.0, 1.0)
        assert [(c.code, len(c.samples)) for c in waves_of(out)] == [(ECG, 4), (PLETH, 3)], cut
        assert len([s for s in out if not isinstance(s, WaveChunk)]) >= 5
        assert d.stats.frames_rejected == 0


def test_bad_checksum_costs_that_record_and_the_next_decodes() -> None:
    good = wire(wave_record([(w.WF_PLETH, wave_sub([1, 2, 3]))]))
    bad = wire(wave_record([(w.WF_PLETH, wave_sub([1, 2, 3]))]), ck=0x00)
    d = S5Decoder("t")
    out = d.feed(bad + good, 1.0)
    assert len(waves_of(out)) == 1 and d.stats.frames_rejected == 1


# --------------------------------------------------------------------------- the simulator


def run(decoder: Decoder, monitor: S5Monitor, seconds: float, t: float = 1000.0
        ) -> list[Sample]:
    out: list[Sample] = []
    for _ in range(round(seconds / 0.02)):
        monitor.receive(decoder.outgoing(t), t)
        out += decoder.feed(monitor.produce(t), t)
        t += 0.02
    return out


def test_simulator_sends_requested_waves_at_their_rates() -> None:
    physio = Physiology("calm", start=1000.0)
    out = run(get_driver("s5-ecg").make_decoder("t"), S5Monitor(physio), 10.0)
    chunks = waves_of(out)
    ecg = [c for c in chunks if c.code == ECG]
    pleth = [c for c in chunks if c.code == PLETH]
    assert {c.rate_hz for c in ecg} == {300.0} and {c.rate_hz for c in pleth} == {100.0}
    assert abs(sum(len(c.samples) for c in ecg) - 300 * 10) <= 300 * 0.3
    assert abs(sum(len(c.samples) for c in pleth) - 100 * 10) <= 100 * 0.3
    top = max(float(np.nanmax(c.samples)) for c in ecg)
    assert 0.8 < top < 1.5  # the R wave, in mV
    allp = np.concatenate([c.samples for c in pleth])
    assert allp.min() >= 0.0 and allp.max() <= 1.0 and allp.max() - allp.min() > 0.5
    assert any(r.code == mdc.MDC_ECG_HEART_RATE for r in out if not isinstance(r, WaveChunk))


def test_simulator_stops_on_request_and_probe_off_pleth_is_a_gap() -> None:
    m = S5Monitor(Physiology("noisy", start=0.0))
    m.receive(s5.wave_request((w.WF_PLETH,)), 41.0)
    d = S5Decoder("t")
    (pleth,) = waves_of(d.feed(m.produce(41.0) + m.produce(41.3), 41.3))
    assert pleth.quality == Quality.INVALID
    m.receive(s5.wave_request((w.WF_PLETH,), start=False), 42.0)
    assert m.produce(43.0) == b""


def test_pleth_scaler_follows_the_last_seconds() -> None:
    sc = w.PlethScaler()
    big = sc.scale(np.array([0.0, 1000.0]))
    assert list(big) == [0.0, 1.0]
    for _ in range(10):  # 6 s of a small wave: the big one has left the window
        small = sc.scale(np.linspace(400, 500, 60))
    assert small.min() == 0.0 and small.max() == 1.0
    assert list(w.PlethScaler().scale(np.array([7.0, 7.0]))) == [0.5, 0.5]


class _Sink:
    def __init__(self) -> None:
        self.got: list[Sample] = []
        self.done = threading.Event()
        self._lock = threading.Lock()

    def samples(self, source: str, samples: list[Sample]) -> None:
        with self._lock:
            self.got += samples
            codes = {c.code for c in waves_of(self.got)}
            if {ECG, PLETH} <= codes and len(waves_of(self.got)) >= 20:
                self.done.set()

    def status(self, status: LinkStatus) -> None:
        pass


def test_end_to_end_over_a_real_pty_with_ecg() -> None:
    driver = get_driver("s5-ecg")
    sim = Simulator(driver, Physiology("calm"))
    port = sim.start()
    sink = _Sink()
    link = SerialLink(port, driver, sink)
    link.start()
    try:
        assert sink.done.wait(15), link.status
    finally:
        link.stop()
        sim.stop()
    rates = {(c.code, c.rate_hz) for c in waves_of(sink.got)}
    assert rates == {(ECG, 300.0), (PLETH, 100.0)}
