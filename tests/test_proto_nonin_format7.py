"""Nonin data format 7 selected explicitly (the `nonin7` driver).

The command is `02 70 02 02 07 03`: STX, op code 0x70 (set data format), length 2, data type
0x02, format 7, ETX — /work/shared/reference/protocols.md, Nonin section ("selected by the
host command `02 70 02 07 …`"), laid out as Nonin's serial command set does (mattjlewis/
NoninPulseOx: Nonin9560Constants STX 0x02, DATA_FORMAT_OP_CODE 0x70, ETX 0x03;
NoninSetDataFormatRequest: data type 0x02 then the format). The oximeter answers ACK 0x06 or
NAK 0x15, one byte, between its frames.
"""

from __future__ import annotations

import numpy as np

from devices.drivers import get_driver
from devices.physiology import Physiology
from devices.probe import default_order
from devices.protocols import nonin
from devices.protocols.nonin import ACK, NAK, NoninDecoder, NoninMonitor, make_packet
from devices.reading import Reading, Sample, WaveChunk
from tests.helpers.pieces import feed_in_pieces


def run_loop(d: NoninDecoder, m: NoninMonitor, seconds: float, t: float = 1000.0
             ) -> tuple[list[Sample], float]:
    out: list[Sample] = []
    for _ in range(round(seconds / 0.02)):
        m.receive(d.outgoing(t), t)
        out += d.feed(m.produce(t), t)
        t += 0.02
    return out, t


def test_select_command_bytes() -> None:
    assert bytes.fromhex("02 70 02 02 07 03") == nonin.SELECT_FORMAT7
    d = get_driver("nonin7").make_decoder("x")
    assert d.outgoing(0.0) == bytes.fromhex("02 70 02 02 07 03")
    assert d.outgoing(0.1) == b""


def test_nonin7_selects_format7_and_reads_the_ack() -> None:
    d = get_driver("nonin7").make_decoder("x")
    assert isinstance(d, NoninDecoder)
    m = NoninMonitor(Physiology("calm", start=1000.0))
    out, _ = run_loop(d, m, 3.0)
    assert m.data_format == 7 and d.data_format == 7 and d.select_answer == ACK
    assert d.stats.frames_rejected == 0, "the ACK between frames is no damage"
    pleth = np.concatenate([w.samples for w in out if isinstance(w, WaveChunk)])
    fine = np.abs(pleth * 255 - np.round(pleth * 255)) > 0.01
    assert fine.mean() > 0.5  # most samples fall between the 8-bit steps: 16-bit pleth
    assert any(isinstance(r, Reading) for r in out)


def test_ack_split_from_its_next_frame_is_still_read() -> None:
    d = NoninDecoder("x", request_format=7)
    d.outgoing(0.0)
    data = make_packet(2, 72, 97) + bytes([ACK]) + make_packet(7, 72, 97) * 2 + \
        make_packet(7, 72, 97)[:5]
    cut = 125 + 3  # the ACK and two bytes of the next frame in the first read
    feed_in_pieces(d, data, [cut], 1.0, 1.0)
    assert d.select_answer == ACK and d.stats.frames_rejected == 0 and d.data_format == 7


def test_asks_again_after_a_power_cycle_back_to_format2() -> None:
    d = NoninDecoder("x", request_format=7)
    m = NoninMonitor(Physiology("calm", start=1000.0))
    _, t = run_loop(d, m, 2.0)
    assert m.data_format == 7
    m.reset()  # powered off and on behind the cable: format 2 again, the port stays open
    _, t = run_loop(d, m, 5.0, t)
    assert m.data_format == 7 and d.data_format == 7


def test_a_nak_stops_the_asking_and_format2_is_read_on() -> None:
    d = NoninDecoder("x", request_format=7)
    m = NoninMonitor(Physiology("calm", start=1000.0), formats=(2,))
    out, _ = run_loop(d, m, 6.0)
    assert d.select_answer == NAK and m.data_format == 2 and d.data_format == 2
    assert d.outgoing(2000.0) == b""
    assert sum(isinstance(r, Reading) for r in out) >= 2 * 6 * 3 - 6


def test_plain_nonin_never_writes_and_the_variant_is_not_probed() -> None:
    plain = get_driver("nonin")
    assert plain.make_decoder("x").outgoing(0.0) == b"" and not plain.talks_back
    assert "nonin7" not in [x.name for x in default_order()]
    assert get_driver("nonin-df7").name == "nonin7" and get_driver("nonin7").talks_back
