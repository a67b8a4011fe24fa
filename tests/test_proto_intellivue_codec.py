"""IntelliVue transport: FCS, transparency, frame reader, FLOAT-Type and AbsoluteTime.

Byte vectors come from the Data Export Programming Guide (Rev G), "Frame Check Sequence
Field", "Transparency" and "FLOAT-Type", and protocols.md.
"""

from __future__ import annotations

import calendar
import struct

import pytest

from devices.protocols import intellivue_codec as c


def test_fcs_check_value_and_residue() -> None:
    assert c.fcs(b"123456789") == 0x906E
    framed = b"123456789" + struct.pack("<H", c.fcs(b"123456789"))
    assert c.crc_register(framed) == c.FCS_GOOD_RESIDUE == 0xF0B8


def test_fcs_examples_from_the_guide() -> None:
    # "0x3a 0x71": CRC 0xd9 0x64 -> complemented, byte-swapped 0x9b 0x26
    assert struct.pack("<H", c.fcs(b"\x3a\x71")) == b"\x9b\x26"
    # "0x3a 0x91" -> 0x95 0xc1; the C1 must then be escaped as 7D E1
    assert struct.pack("<H", c.fcs(b"\x3a\x91")) == b"\x95\xc1"
    assert c.escape(b"\x3a\x91\x95\xc1") == b"\x3a\x91\x95\x7d\xe1"


def test_wrap_header_length_and_fcs() -> None:
    raw = b"\x11\x01\x00\x03\x01\x02\x03"
    assert c.fcs(raw) == 0xDC7D  # sent LSB first: 7D DC, and the 7D needs escaping
    assert c.wrap(b"\x01\x02\x03") == bytes.fromhex("c0 11 01 00 03 01 02 03 7d 5d dc c1")


def test_reserved_bytes_escaped_in_header_data_and_fcs() -> None:
    # A payload of 0xC0 bytes: the header length byte 0xC0 must be escaped too.
    payload = b"\xc0\xc1\x7d" + bytes(189)
    assert len(payload) == 0xC0
    frame = c.wrap(payload)
    inner = frame[1:-1]
    assert b"\xc0" not in inner and b"\xc1" not in inner
    assert inner.startswith(b"\x11\x01\x00\x7d\xe0\x7d\xe0\x7d\xe1\x7d\x5d")
    assert c.FrameReader().push(frame).payloads == [payload]


def _escaped_fcs_payload() -> bytes:
    """A payload whose FCS contains a reserved byte, found by search (deterministic)."""
    for i in range(5000):
        p = struct.pack(">H", i)
        raw = struct.pack(">BBH", 0x11, 1, 2) + p
        if set(struct.pack("<H", c.fcs(raw))) & {0xC0, 0xC1, 0x7D}:
            return p
    raise AssertionError("no payload found")


def test_fcs_with_reserved_byte_round_trips() -> None:
    p = _escaped_fcs_payload()
    frame = c.wrap(p)
    assert frame.count(b"\x7d") >= 1
    assert c.FrameReader().push(frame).payloads == [p]


def test_split_at_every_byte_boundary() -> None:
    payloads = [b"\xe1\x00\x00\x02\xc0\x7d\xc1", _escaped_fcs_payload(), bytes(range(256))]
    stream = b"".join(c.wrap(p) for p in payloads)
    for cut in range(len(stream) + 1):
        r = c.FrameReader()
        a, b = r.push(stream[:cut]), r.push(stream[cut:])
        assert a.payloads + b.payloads == payloads, cut
        assert a.rejected + b.rejected == 0


def test_bad_fcs_dropped_and_next_frame_read() -> None:
    good = c.wrap(b"\xe1\x00hello")
    bad = bytearray(c.wrap(b"\xe1\x00HELLO"))
    bad[-2] ^= 0x01  # last FCS byte
    res = c.FrameReader().push(bytes(bad) + good)
    assert res.payloads == [b"\xe1\x00hello"] and res.rejected == 1


@pytest.mark.parametrize(
    ("raw_header", "why"),
    [
        (b"\x12\x01\x00\x02", "unknown protocol id"),
        (b"\x11\x02\x00\x02", "unknown message type"),
        (b"\x11\x01\x00\x03", "length too long"),
        (b"\x11\x01\x00\x01", "length too short"),
    ],
)
def test_invalid_header_markers_rejected(raw_header: bytes, why: str) -> None:
    raw = raw_header + b"\xab\xcd"
    frame = b"\xc0" + c.escape(raw + struct.pack("<H", c.fcs(raw))) + b"\xc1"
    res = c.FrameReader().push(frame)
    assert res.payloads == [] and res.rejected == 1, why


def test_frame_abort_interrupted_frame_and_bad_escapes() -> None:
    good = c.wrap(b"\xe1\x00ok")
    aborted = b"\xc0\x11\x01\x00\x02ab\x7d\xc1"  # sender aborts with 7D C1
    interrupted = b"\xc0\x11\x01\x00\x09abc"  # a new BOF arrives before EOF
    dangling = b"\xc0\x11\x01\x00\x7d\x7d\x01\xc1"  # doubled escape
    res = c.FrameReader().push(b"junk\xc1" + aborted + interrupted + dangling + good)
    assert res.payloads == [b"\xe1\x00ok"]
    assert res.rejected == 3


def test_overlong_garbage_is_dropped() -> None:
    r = c.FrameReader()
    res = r.push(b"\xc0" + b"\x00" * 20_000)
    assert res.rejected == 1
    assert r.push(c.wrap(b"\xe1\x00x")).payloads == [b"\xe1\x00x"]


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (0x00000048, 72.0),
        (0xFF00016F, 36.7),
        (0xFF0003CA, 97.0),  # SpO2 as 970 x 10^-1
        (0xFD007D00, 32.0),
        (0x01000140, 3200.0),
        (0x02000020, 3200.0),
        (0x00FFFFFF, -1.0),
        (0xFEFFFF38, -2.0),  # -200 x 10^-2
    ],
)
def test_float_type(raw: int, value: float) -> None:
    assert c.decode_float(raw) == value


@pytest.mark.parametrize(
    "raw", [0x007FFFFF, 0x00800000, 0x007FFFFE, 0x00800002, 0x057FFFFF, 0xFF800000]
)
def test_float_specials_have_no_value(raw: int) -> None:
    assert c.decode_float(raw) is None  # NaN, NRes, +inf, -inf (any exponent)


def test_encode_float_round_trips() -> None:
    assert c.encode_float(97.0, 1) == 0xFF0003CA
    assert c.encode_float(72, 0) == 0x48
    assert c.encode_float(None) == c.FLOAT_NAN
    assert c.encode_float(float("inf")) == c.FLOAT_POS_INF
    for v, d in [(36.7, 1), (-12.5, 1), (123456.0, 0), (0.05, 2)]:
        assert c.decode_float(c.encode_float(v, d)) == pytest.approx(v)


def test_absolute_time_bcd() -> None:
    raw = bytes.fromhex("20 26 11 24 07 05 09 00")
    assert c.decode_abs_time(raw) == calendar.timegm((2026, 11, 24, 7, 5, 9, 0, 0, 0))
    assert c.encode_abs_time(c.decode_abs_time(raw) or 0) == raw
    assert c.decode_abs_time(b"\xff" * 8) is None
    assert c.decode_abs_time(bytes.fromhex("20 26 13 24 07 05 09 00")) is None  # month 13
    assert c.decode_abs_time(bytes.fromhex("20 2A 11 24 07 05 09 00")) is None  # not BCD


def test_relative_time_difference_wraps() -> None:
    assert c.rel_delta(8000, 0) == 1.0
    assert c.rel_delta(100, 0xFFFFFFFF - 7899) == 1.0
    assert c.rel_delta(0, 8000) == -1.0
