"""Philips IntelliVue MIB/RS232 transport and primitive types: frames, FCS, FLOAT, time.

The fixed-baudrate protocol wraps every message as

    C0 | 11 01 LEN_hi LEN_lo | user data | FCS_lo FCS_hi | C1

with C0, C1 and 7D inside the frame (header, data and FCS) sent as 7D, byte ^ 0x20. The FCS is
CRC-16/X-25 (PPP FCS) over header + data, ones' complement sent LSB first (Data Export
Interface Programming Guide, "Transport Protocols for the MIB/RS232 Interface"). Kept free of
message semantics so the framing can be tested byte for byte on its own.
"""

from __future__ import annotations

import calendar
import math
import struct
import time
from dataclasses import dataclass, field

BOF = 0xC0
EOF = 0xC1
ESC = 0x7D
PROTOCOL_ID = 0x11  # Data Export service access point
MSG_TYPE_COMMAND = 0x01  # association control or data export command
HEADER_LEN = 4
MAX_USER_DATA = 4096  # the MTU is at most 1000 on RS232; anything far larger is garbage

FCS_GOOD_RESIDUE = 0xF0B8  # CRC register after data + its FCS when nothing was corrupted


def _make_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _make_table()


def crc_register(data: bytes, crc: int = 0xFFFF) -> int:
    """The reflected CRC-CCITT register (init 0xFFFF) after `data`; no final complement."""
    for b in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ b) & 0xFF]
    return crc


def fcs(data: bytes) -> int:
    """CRC-16/X-25 of `data`: what is transmitted, LSB first. fcs(b"123456789") == 0x906E."""
    return crc_register(data) ^ 0xFFFF


def escape(raw: bytes) -> bytes:
    """Transparency: C0, C1 and 7D become 7D, byte ^ 0x20."""
    if not any(b in raw for b in (b"\xc0", b"\xc1", b"\x7d")):
        return raw
    out = bytearray()
    for b in raw:
        if b in (BOF, EOF, ESC):
            out += bytes((ESC, b ^ 0x20))
        else:
            out.append(b)
    return bytes(out)


def unescape(body: bytes) -> bytes | None:
    """Undo transparency; None if an escape is dangling or doubled (a corrupted frame)."""
    if ESC not in body:
        return body
    parts = body.split(b"\x7d")
    out = bytearray(parts[0])
    for p in parts[1:]:
        if not p:
            return None
        out.append(p[0] ^ 0x20)
        out += p[1:]
    return bytes(out)


def wrap(payload: bytes) -> bytes:
    """A complete frame around one association-control or data-export message."""
    raw = struct.pack(">BBH", PROTOCOL_ID, MSG_TYPE_COMMAND, len(payload)) + payload
    raw += struct.pack("<H", fcs(raw))
    return bytes((BOF,)) + escape(raw) + bytes((EOF,))


@dataclass(slots=True)
class FrameResult:
    """What the frame reader found in one call: good payloads and how many frames it dropped."""

    payloads: list[bytes] = field(default_factory=list)
    rejected: int = 0


class FrameReader:
    """Splits a byte stream into checked frame payloads; resynchronises on the next BOF.

    Anything outside C0..C1 is skipped. A frame is dropped (and counted) if its FCS, header or
    length is wrong, an escape is malformed, a new BOF interrupts it, or the sender aborts it
    with 7D C1.
    """

    def __init__(self) -> None:
        self._buf = bytearray()

    def reset(self) -> None:
        self._buf.clear()

    def push(self, data: bytes) -> FrameResult:
        res = FrameResult()
        buf = self._buf
        buf += data
        while True:
            start = buf.find(BOF)
            if start < 0:
                buf.clear()
                break
            if start:
                del buf[:start]
            end = buf.find(EOF, 1)
            nxt = buf.find(BOF, 1, end if end >= 0 else len(buf))
            if nxt >= 0:
                # A new frame begins before this one ended: this one is lost.
                if nxt > 1:
                    res.rejected += 1
                del buf[:nxt]
                continue
            if end < 0:
                if len(buf) > 2 * (MAX_USER_DATA + 8):
                    res.rejected += 1
                    buf.clear()
                break
            body = bytes(buf[1:end])
            del buf[: end + 1]
            payload = self._check(body)
            if payload is None:
                res.rejected += 1
            else:
                res.payloads.append(payload)
        return res

    @staticmethod
    def _check(body: bytes) -> bytes | None:
        if not body or body[-1] == ESC:  # empty, or 7D C1: the sender aborted the frame
            return None
        raw = unescape(body)
        if raw is None or len(raw) < HEADER_LEN + 2:
            return None
        if crc_register(raw) != FCS_GOOD_RESIDUE:
            return None
        proto, msg_type, length = struct.unpack_from(">BBH", raw)
        if proto != PROTOCOL_ID or msg_type != MSG_TYPE_COMMAND:
            return None
        if length != len(raw) - HEADER_LEN - 2:
            return None
        return raw[HEADER_LEN:-2]


# FLOAT-Type: signed 8-bit exponent, signed 24-bit mantissa; value = mantissa * 10**exponent.
FLOAT_NAN = 0x007FFFFF
FLOAT_NRES = 0x00800000  # not at this resolution
FLOAT_POS_INF = 0x007FFFFE
FLOAT_NEG_INF = 0x00800002
_SPECIAL_MANTISSAS = {0x7FFFFF, 0x800000, 0x7FFFFE, 0x800002}


def decode_float(raw: int) -> float | None:
    """The number a FLOAT-Type carries, or None for NaN, NRes and ±infinity (no value)."""
    mant = raw & 0xFFFFFF
    if mant in _SPECIAL_MANTISSAS:
        return None
    if mant & 0x800000:
        mant -= 0x1000000
    exp = (raw >> 24) & 0xFF
    if exp & 0x80:
        exp -= 0x100
    if exp < 0:
        return mant / 10.0 ** (-exp)  # 970 / 10 is exactly 97.0; 970 * 0.1 is not
    return float(mant * 10**exp)


def encode_float(value: float | None, decimals: int = 0) -> int:
    """FLOAT-Type for `value` with `decimals` digits after the point (None or NaN -> NaN)."""
    if value is None or math.isnan(value):
        return FLOAT_NAN
    if math.isinf(value):
        return FLOAT_POS_INF if value > 0 else FLOAT_NEG_INF
    mant = round(value * 10**decimals)
    exp = -decimals
    while not -(2**23 - 3) <= mant <= 2**23 - 3:
        mant = round(mant / 10)
        exp += 1
    return ((exp & 0xFF) << 24) | (mant & 0xFFFFFF)


# Absolute time: 8 BCD bytes century, year, month, day, hour, minute, second, fraction.
ABS_TIME_INVALID = b"\xff" * 8


def _bcd(v: int) -> int:
    return ((v // 10) << 4) | (v % 10)


def _unbcd(b: int) -> int:
    hi, lo = b >> 4, b & 0x0F
    if hi > 9 or lo > 9:
        raise ValueError("not BCD")
    return hi * 10 + lo


def encode_abs_time(epoch: float) -> bytes:
    """The monitor's wall clock (we treat it as UTC) as AbsoluteTime; fractions unused."""
    tm = time.gmtime(epoch)
    return bytes(
        (
            _bcd(tm.tm_year // 100),
            _bcd(tm.tm_year % 100),
            _bcd(tm.tm_mon),
            _bcd(tm.tm_mday),
            _bcd(tm.tm_hour),
            _bcd(tm.tm_min),
            _bcd(tm.tm_sec),
            0,
        )
    )


def decode_abs_time(raw: bytes) -> float | None:
    """Epoch seconds of an AbsoluteTime, or None if it is marked invalid or malformed."""
    if len(raw) != 8 or raw == ABS_TIME_INVALID:
        return None
    try:
        century, year, month, day, hour, minute, second = (_unbcd(b) for b in raw[:7])
        if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
            return None
        return float(
            calendar.timegm((century * 100 + year, month, day, hour, minute, second, 0, 0, 0))
        )
    except (ValueError, OverflowError):
        return None


TICKS_PER_S = 8000  # RelativeTime: 1/8 ms


def rel_delta(later: int, earlier: int) -> float:
    """Seconds from `earlier` to `later` RelativeTime, across the 32-bit wrap."""
    d = (later - earlier) & 0xFFFFFFFF
    if d >= 0x80000000:
        d -= 0x100000000
    return d / TICKS_PER_S
