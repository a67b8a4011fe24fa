"""GE/Datex-Ohmeda S/5 computer interface (DRI): framing, displayed-values decoding, simulator.

Facts from /work/shared/reference/protocols.md (S/5 section). A frame is `7E record cksum 7E`
with `7E`/`7D` inside escaped as `7D 5E`/`7D 5D`; the checksum is the 8-bit sum of the
unescaped record. The record is a 40-byte little-endian header (r_len, r_nbr, dri_level,
plug_id, r_time, reserved, r_maintype, 8 subrecord descriptors) followed by subrecords.

We ask for displayed values (physiological data, record type 1) at `interval` seconds. Each
displayed-values subrecord is `time u32 | 270-byte block | marker u8 | reserved u8 |
cl_drilvl_subt u16`; the block class (basic / ext1-3) is in bits 8-11 of the last word and only
the basic block is decoded. NIBP is passed on only when the cuff result changes (see
`S5Decoder._basic`). Any value <= -32001 is a device marker (invalid, not updated, under
or over range ...) and becomes NaN with Quality.INVALID and the marker's meaning as the
reason: never a number on screen. Values above that (HR -32000, 32767) are not markers in
the reference and are passed on as numbers; the plausibility gate in the link makes them
INVALID (devices.plausibility).

Whether the monitor escapes the checksum byte is UNVERIFIED: we escape it on send
(`ESCAPE_CHECKSUM`) and accept both forms on receive.

Waveforms (maintype 1, layout in devices.protocols.s5_waves) are asked for alongside: the pleth
by default, the first ECG trace as well with the `s5-ecg` variant. Wave records come several
times a second and become WaveChunks at each wave's fixed rate (pleth 100/s, ECG 300/s);
marker samples become gaps. The wave request is sent again when no wave record came for a while.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from devices import mdc
from devices.containment import frame_fault
from devices.physiology import Physiology
from devices.protocol import DecoderStats, Driver, SerialSettings
from devices.protocols import s5_waves as w
from devices.reading import Quality, Reading, Sample, WaveChunk

FLAG = 0x7E
ESC = 0x7D
ESC_XOR = 0x20
ESCAPE_CHECKSUM = True  # UNVERIFIED whether the monitor escapes the checksum; we do on send

HEADER_LEN = 40
N_DESC = 8
DESC_END = 0xFF
MAX_RECORD = 1500  # five 278-byte subrecords + header fit well below this
MAX_ESCAPED = 2 * MAX_RECORD + 2

MAINTYPE_PHDB = 0
MAINTYPE_WAVE = 1
MAINTYPE_ALARM = 4

SR_XMIT_REQ = 0  # subrecord type of a physiological-data transmit request
SR_DISPL = 1  # subrecord type of displayed values (2, 3 = 10 s / 60 s trends)
RCRD_DISPLAYED = 1
CLASS_BITS = 0x0000000E  # ask for ext1-3 as well; basic comes unless denied
DENY_BASIC = 0x00000001
CLASS_BASIC = 0

PHDB_LEN = 278  # time 4 + block 270 + marker 1 + reserved 1 + cl_drilvl_subt 2
BLOCK_LEN = 270
BLOCK_AT = 4  # the block starts after the subrecord's time word

INVALID_LIMIT = -32001  # every value at or below this is a marker, never a measurement
DATA_INVALID = -32767
NOT_UPDATED = -32766
DISCONTINUITY = -32765
UNDER_RANGE = -32764
OVER_RANGE = -32763
NOT_CALIBRATED = -32762
MARKER_TEXT = {
    DATA_INVALID: "data invalid",
    NOT_UPDATED: "not updated",
    DISCONTINUITY: "discontinuity",
    UNDER_RANGE: "under range",
    OVER_RANGE: "over range",
    NOT_CALIBRATED: "not calibrated",
}

# Value offsets inside the basic block (group header 6 bytes, then i16 values).
ECG_HR, ECG_IMP_RR = 6, 14
NIBP_SYS, NIBP_DIA, NIBP_MEAN = 78, 80, 82
T1 = 92
SPO2, SPO2_PR = 124, 126
CO2_ET, CO2_RR, CO2_AMB = 138, 142, 144
GROUP_STARTS = (0, 16, 30, 44, 58, 72, 86, 94, 102, 110, 118, 132)

_HEADER = struct.Struct("<hBBHIBBHh")  # 16 bytes, then 8 descriptors of <hB
_DESC = struct.Struct("<hB")
_REQ = struct.Struct("<BhIh")  # phdb_rcrd_type, tx_ival, class bits, reserved


# --------------------------------------------------------------------------- framing


def checksum(record: bytes) -> int:
    return sum(record) & 0xFF


def _escape(data: bytes) -> bytes:
    out = bytearray()
    for b in data:
        if b in (FLAG, ESC):
            out += bytes((ESC, b ^ ESC_XOR))
        else:
            out.append(b)
    return bytes(out)


def frame(record: bytes, escape_checksum: bool = ESCAPE_CHECKSUM) -> bytes:
    """Wrap a record for the wire: flags, escaping, checksum (escaped or raw)."""
    ck = bytes((checksum(record),))
    return bytes((FLAG,)) + _escape(record) + (_escape(ck) if escape_checksum else ck) + bytes(
        (FLAG,)
    )


@dataclass(frozen=True, slots=True)
class Header:
    r_len: int
    r_nbr: int
    dri_level: int
    plug_id: int
    r_time: int
    maintype: int
    subrecords: tuple[tuple[int, bytes], ...]  # (type, bytes) in descriptor order


def build_record(
    maintype: int,
    subrecords: list[tuple[int, bytes]],
    r_time: int = 0,
    r_nbr: int = 0,
    dri_level: int = 0,
    plug_id: int = 0,
) -> bytes:
    """A record: header with descriptors (offsets from byte 40), then the subrecords."""
    body = b"".join(data for _, data in subrecords)
    r_len = HEADER_LEN + len(body)
    head = _HEADER.pack(r_len, r_nbr & 0xFF, dri_level, plug_id, r_time & 0xFFFFFFFF, 0, 0, 0,
                        maintype)
    descs = bytearray()
    offset = 0
    for sr_type, data in subrecords[:N_DESC]:
        descs += _DESC.pack(offset, sr_type)
        offset += len(data)
    while len(descs) < N_DESC * _DESC.size:
        descs += _DESC.pack(0, DESC_END)
    return head + bytes(descs) + body


def parse_record(record: bytes) -> Header | None:
    """Header and subrecords of an unescaped, checksum-verified record; None if malformed."""
    if len(record) < HEADER_LEN:
        return None
    r_len, r_nbr, level, plug, r_time, _, _, _, maintype = _HEADER.unpack_from(record, 0)
    if r_len != len(record):
        return None
    descs: list[tuple[int, int]] = []
    for i in range(N_DESC):
        off, sr_type = _DESC.unpack_from(record, 16 + i * _DESC.size)
        if sr_type == DESC_END:
            break
        descs.append((off, sr_type))
    body = record[HEADER_LEN:]
    subs: list[tuple[int, bytes]] = []
    for i, (off, sr_type) in enumerate(descs):
        end = descs[i + 1][0] if i + 1 < len(descs) else len(body)
        if off < 0 or end < off or end > len(body):
            return None
        subs.append((sr_type, body[off:end]))
    return Header(r_len, r_nbr, level, plug, r_time, maintype, tuple(subs))


class Deframer:
    """Splits a 7E-delimited byte stream into verified records. Never raises.

    Each run of bytes between two flags is a candidate. It is unescaped (a `7D` followed by
    anything other than `5E`/`5D` rejects it; a lone `7D` just before the closing flag is the
    checksum sent raw) and checked: last byte = checksum, and r_len = record length. If that
    fails, a checksum of 0x7E sent raw would itself close the frame early: the run is taken as
    the whole record when its sum is 0x7E, r_len fits, and the very next byte is the real
    closing flag.
    """

    def __init__(self, stats: DecoderStats) -> None:
        self.stats = stats
        self._buf = bytearray()
        self._synced = False  # seen a flag since the last reset

    def reset(self) -> None:
        self._buf.clear()
        self._synced = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._buf += data
        buf = self._buf
        if not self._synced:
            i = buf.find(FLAG)
            if i < 0:
                if len(buf) > MAX_ESCAPED:
                    self.stats.frames_rejected += 1
                    buf.clear()
                return
            if i > 0:
                self.stats.frames_rejected += 1  # the tail of a frame we joined mid-way
            del buf[:i]
            self._synced = True
        # Invariant here: buf[0] is a flag.
        while True:
            end = buf.find(FLAG, 1)
            if end < 0:
                if len(buf) > MAX_ESCAPED + 1:
                    self.stats.frames_rejected += 1
                    buf.clear()
                    self._synced = False
                return
            run = bytes(buf[1:end])
            if not run:
                del buf[:end]
                continue
            verdict = self._check(run, buf, end)
            if verdict is None:  # need one more byte to decide
                return
            del buf[:end]
            if verdict:
                yield verdict
            else:
                self.stats.frames_rejected += 1

    def _check(self, run: bytes, buf: bytearray, end: int) -> bytes | None:
        """The record if the run is a good frame, b"" if bad, None if undecidable yet."""
        if len(run) > MAX_ESCAPED:
            return b""
        data = _unescape(run)
        if data is None:
            return b""
        if len(data) > HEADER_LEN and checksum(data[:-1]) == data[-1] and _len_ok(data[:-1]):
            return data[:-1]
        if len(data) >= HEADER_LEN and checksum(data) == FLAG and _len_ok(data):
            if end + 1 >= len(buf):
                return None
            if buf[end + 1] == FLAG:
                return data
        return b""


def _len_ok(record: bytes) -> bool:
    return len(record) >= HEADER_LEN and struct.unpack_from("<h", record, 0)[0] == len(record)


def _unescape(run: bytes) -> bytes | None:
    """Undo 7D escaping; None for an escape other than 7D 5E / 7D 5D.

    A lone 7D at the very end is kept as is: the checksum sent unescaped.
    """
    if ESC not in run:
        return run
    parts = run.split(bytes((ESC,)))
    out = [parts[0]]
    last = len(parts) - 1
    for i in range(1, len(parts)):
        part = parts[i]
        if not part:
            if i != last:
                return None
            out.append(bytes((ESC,)))
            continue
        if part[0] not in (FLAG ^ ESC_XOR, ESC ^ ESC_XOR):
            return None
        out.append(bytes((part[0] ^ ESC_XOR,)))
        out.append(part[1:])
    return b"".join(out)


# --------------------------------------------------------------------------- requests


def displayed_values_request(interval: int, class_bits: int = CLASS_BITS) -> bytes:
    """The framed request for displayed values every `interval` s (0 stops transmission)."""
    sub = _REQ.pack(RCRD_DISPLAYED, interval, class_bits, 0)
    return frame(build_record(MAINTYPE_PHDB, [(SR_XMIT_REQ, sub)]))


def wave_request(waves: tuple[int, ...], start: bool = True) -> bytes:
    """The framed request to start (or stop) sending `waves` continuously."""
    return frame(build_record(MAINTYPE_WAVE, [(w.SR_WF_CMD, w.wave_request_subrecord(waves,
                                                                                     start))]))


def parse_request(h: Header) -> tuple[int, int] | None:
    """(record type, interval) of a physiological-data transmit request, else None."""
    if h.maintype != MAINTYPE_PHDB:
        return None
    for sr_type, data in h.subrecords:
        if sr_type == SR_XMIT_REQ and len(data) >= _REQ.size:
            rtype, ival, _, _ = _REQ.unpack_from(data, 0)
            return rtype, ival
    return None


# --------------------------------------------------------------------------- decoding


def _i16(block: bytes, off: int) -> int:
    return int(struct.unpack_from("<h", block, off)[0])


def subrecord_class(sub: bytes) -> int:
    """The block class (0 basic, 1-3 ext) of a displayed-values subrecord."""
    if len(sub) >= PHDB_LEN:
        word = struct.unpack_from("<H", sub, PHDB_LEN - 2)[0]
        return int((word >> 8) & 0x0F)
    return CLASS_BASIC  # a short subrecord without the trailer: take it as basic


class S5Decoder:
    """Decodes S/5 records into readings and waves; asks for displayed values (and waves) and
    asks again after silence."""

    WAVE_RESEND_S = 5.0  # no wave record this long after asking: ask again

    def __init__(self, source: str, interval: int = 5, resend_after: float | None = None,
                 waves: tuple[int, ...] = ()) -> None:
        self.source = source
        self.interval = interval
        self.resend_after = resend_after if resend_after is not None else 2 * interval + 5
        self.waves = waves
        w.wave_request_subrecord(waves)  # refuse a request the monitor could not honour
        self.stats = DecoderStats()
        self._deframer = Deframer(self.stats)
        self._pleth = w.PlethScaler()
        self.reset()

    def reset(self) -> None:
        self._deframer.reset()
        self._pleth.reset()
        self._asked_at: float | None = None
        self._last_values_t: float | None = None
        self._last_nibp: tuple[int, int, int] | None = None
        self._waves_asked_at: float | None = None
        self._last_wave_t: float | None = None

    def outgoing(self, now: float) -> bytes:
        out = b""
        last = self._asked_at
        if self._last_values_t is not None and last is not None:
            last = max(last, self._last_values_t)
        if last is None or now - last >= self.resend_after:
            self._asked_at = now
            out += displayed_values_request(self.interval)
        if self.waves:
            wl = self._waves_asked_at
            if self._last_wave_t is not None and wl is not None:
                wl = max(wl, self._last_wave_t)
            if wl is None or now - wl >= self.WAVE_RESEND_S:
                self._waves_asked_at = now
                out += wave_request(self.waves)
        return out

    def feed(self, data: bytes, now: float) -> list[Sample]:
        self.stats.bytes_in += len(data)
        out: list[Sample] = []
        for record in self._deframer.feed(data):
            try:
                samples = self._record(record, now)
            except Exception as e:  # a bug must cost this record only, never the link
                frame_fault("s5", self.source, e, record, self.stats)
                continue
            if samples is None:
                self.stats.frames_rejected += 1
                continue
            self.stats.frames_ok += 1
            self.stats.last_frame_t = now
            out += samples
        return out

    def _record(self, record: bytes, now: float) -> list[Sample] | None:
        """The readings or waves of one verified record; None if it is malformed."""
        h = parse_record(record)
        if h is None:
            return None
        out: list[Sample] = []
        if h.maintype == MAINTYPE_PHDB:
            for sr_type, sub in h.subrecords:
                if sr_type == SR_DISPL and len(sub) >= BLOCK_AT + BLOCK_LEN and (
                    subrecord_class(sub) == CLASS_BASIC
                ):
                    self._last_values_t = now
                    out += self._basic(sub[BLOCK_AT : BLOCK_AT + BLOCK_LEN], now,
                                       float(h.r_time))
        elif h.maintype == MAINTYPE_WAVE:
            waves = self._waves(h, now)
            if waves is None:
                return None
            out += waves
        return out

    def _waves(self, h: Header, now: float) -> list[Sample] | None:
        """One WaveChunk per wave we decode; None if a wave subrecord does not add up."""
        out: list[Sample] = []
        for wave_id, sub in h.subrecords:
            if wave_id == w.SR_WF_CMD:
                continue  # a request (echoed or looped back), not data
            raw = w.parse_wave_subrecord(sub)
            if raw is None:
                return None
            self._last_wave_t = now
            code, rate = w.CODES.get(wave_id), w.RATE_HZ.get(wave_id)
            if code is None or rate is None:
                continue  # a wave we did not ask for (another client's request): not ours
            values = w.samples_to_values(wave_id, raw, self._pleth)
            valid = not np.isnan(values).all()
            out.append(WaveChunk(
                t0=now - len(values) / rate,
                source=self.source,
                code=code,
                rate_hz=rate,
                samples=values.astype(np.float32),
                quality=Quality.VALID if valid else Quality.INVALID,
            ))
        return out

    def _basic(self, block: bytes, now: float, device_time: float) -> list[Reading]:
        def reading(code: int, raw: int | None, per: float, unit: int) -> Reading:
            ok = raw is not None and raw > INVALID_LIMIT
            return Reading(
                t=now,
                source=self.source,
                code=mdc.canonical(code),
                value=raw / per if ok and raw is not None else math.nan,
                unit=unit,
                quality=Quality.VALID if ok else Quality.INVALID,
                device_time=device_time,
                reason=None if ok else marker_reason(raw),
            )

        bpm, mmhg = mdc.MDC_DIM_BEAT_PER_MIN, mdc.MDC_DIM_MMHG
        co2_rr = _i16(block, CO2_RR)
        # One respiration rate per record: the airway (CO2) rate when valid, else impedance.
        rr_raw, rr_code = (co2_rr, mdc.MDC_RESP_RATE) if co2_rr > INVALID_LIMIT else (
            _i16(block, ECG_IMP_RR), mdc.MDC_TTHOR_RESP_RATE)
        et, amb = _i16(block, CO2_ET), _i16(block, CO2_AMB)
        # EtCO2 mmHg = et (0.01 %) x ambient pressure (0.1 mmHg) / 1e5.
        # A marker in et is passed on as such (its reason is kept); a bad amb leaves None.
        et_raw = (et * amb if amb > 0 else None) if et > INVALID_LIMIT else et
        out = [reading(mdc.MDC_ECG_HEART_RATE, _i16(block, ECG_HR), 1.0, bpm)]
        # The block repeats the last cuff result every record. Passing it on each time would
        # make an old measurement look fresh, so it goes out only when it changes (and once
        # after a reset). Two identical results in a row therefore look like one, older one.
        # The first result after a (re)connect is of unknown age: it is passed on as
        # QUESTIONABLE so that it is shown with a mark and never satisfies a due BP check.
        nibp = (_i16(block, NIBP_SYS), _i16(block, NIBP_DIA), _i16(block, NIBP_MEAN))
        if nibp != self._last_nibp:
            age_unknown = self._last_nibp is None
            self._last_nibp = nibp
            out += [
                _age_unknown(reading(code, raw, 100, mmhg)) if age_unknown
                else reading(code, raw, 100, mmhg)
                for code, raw in zip(
                    (mdc.MDC_PRESS_BLD_NONINV_SYS, mdc.MDC_PRESS_BLD_NONINV_DIA,
                     mdc.MDC_PRESS_BLD_NONINV_MEAN),
                    nibp,
                    strict=True,
                )
            ]
        out += [
            reading(mdc.MDC_PULS_OXIM_SAT_O2, _i16(block, SPO2), 100, mdc.MDC_DIM_PERCENT),
            reading(mdc.MDC_PULS_OXIM_PULS_RATE, _i16(block, SPO2_PR), 1.0, bpm),
            reading(rr_code, rr_raw, 1.0, mdc.MDC_DIM_RESP_PER_MIN),
            reading(mdc.MDC_AWAY_CO2_ET, et_raw, 1e5, mmhg),
            reading(mdc.MDC_TEMP, _i16(block, T1), 100, mdc.MDC_DIM_DEGC),
        ]
        return out


def marker_reason(raw: int | None) -> str:
    """Why the monitor sent no value, in its own terms."""
    if raw is None:
        return "monitor: no ambient pressure to scale EtCO2"
    return f"monitor: {MARKER_TEXT.get(raw, 'data invalid')} ({raw})"


def _age_unknown(r: Reading) -> Reading:
    return replace(r, quality=Quality.QUESTIONABLE) if r.quality == Quality.VALID else r


# --------------------------------------------------------------------------- simulator


def _put(block: bytearray, off: int, value: float | None, scale: float = 1.0,
         marker: int = DATA_INVALID) -> None:
    raw = marker if value is None else max(-32000, min(32767, round(value / scale)))
    struct.pack_into("<h", block, off, raw)


def basic_block(
    hr: float | None = None,
    imp_rr: float | None = None,
    nibp: tuple[float, float, float] | None = None,
    spo2: float | None = None,
    pr: float | None = None,
    etco2_pct: float | None = None,
    co2_rr: float | None = None,
    amb_mmhg: float | None = None,
    t1: float | None = None,
) -> bytes:
    """A 270-byte basic block; None fields carry DATA_INVALID. Groups marked present+active."""
    block = bytearray(BLOCK_LEN)
    for start in GROUP_STARTS:
        struct.pack_into("<IH", block, start, 0x3, 0)
    for off in range(0, BLOCK_LEN, 2):
        if not any(s <= off < s + 6 for s in GROUP_STARTS) and off + 2 <= BLOCK_LEN:
            struct.pack_into("<h", block, off, DATA_INVALID)
    _put(block, ECG_HR, hr)
    _put(block, ECG_IMP_RR, imp_rr)
    sys_, dia, mean = nibp if nibp is not None else (None, None, None)
    _put(block, NIBP_SYS, sys_, 0.01)
    _put(block, NIBP_DIA, dia, 0.01)
    _put(block, NIBP_MEAN, mean, 0.01)
    _put(block, SPO2, spo2, 0.01)
    _put(block, SPO2_PR, pr)
    _put(block, CO2_ET, etco2_pct, 0.01)
    _put(block, CO2_RR, co2_rr)
    _put(block, CO2_AMB, amb_mmhg, 0.1)
    _put(block, T1, t1, 0.01)
    return bytes(block)


def displayed_subrecord(block: bytes, time_s: int, cls: int = CLASS_BASIC) -> bytes:
    return struct.pack("<I", time_s & 0xFFFFFFFF) + block + struct.pack("<BBH", 0, 0, cls << 8)


class S5Monitor:
    """The monitor's side: waits for a displayed-values request, then sends at its interval;
    after a wave request, sends the requested waves every `WAVE_RECORD_S` until told to stop.

    A real S/5 does not go below 5 s; the simulator honours down to `MIN_INTERVAL` so tests run
    fast. With ext classes requested it sends ext subrecords too (zero-filled here), so the
    decoder must tell them from the basic block. Waves it can simulate: ECG1 (a synthetic
    trace at the model's heart rate) and pleth (the model's; marker samples while the probe is
    off); other requested waves are sent as marker samples.
    """

    MIN_INTERVAL = 1.0
    WAVE_RECORD_S = 0.25  # UNVERIFIED how often a real S/5 sends wave records
    PLETH_UNITS = 10000  # raw pleth units per 0..1 of the model's wave (any scale will do)

    def __init__(self, physio: Physiology, escape_checksum: bool = ESCAPE_CHECKSUM) -> None:
        self.physio = physio
        self.escape_checksum = escape_checksum
        self._stats = DecoderStats()
        self._deframer = Deframer(self._stats)
        self.reset()

    def reset(self) -> None:
        self._deframer.reset()
        self._interval: float | None = None
        self._class_bits = 0
        self._next = 0.0
        self._nbr = 0
        self.waves: tuple[int, ...] = ()
        self._wave_start = 0.0
        self._wave_sent: dict[int, int] = {}
        self._wave_next = 0.0

    def receive(self, data: bytes, now: float) -> None:
        for record in self._deframer.feed(data):
            h = parse_record(record)
            if h is None:
                continue
            if h.maintype == MAINTYPE_WAVE:
                self._wave_command(h, now)
                continue
            for sr_type, sub in h.subrecords:
                if h.maintype != MAINTYPE_PHDB or sr_type != SR_XMIT_REQ or len(sub) < _REQ.size:
                    continue
                rtype, ival, bits, _ = _REQ.unpack_from(sub, 0)
                if rtype != RCRD_DISPLAYED:
                    continue
                if ival <= 0:
                    self._interval = None
                else:
                    self._interval = max(self.MIN_INTERVAL, float(ival))
                    self._class_bits = bits
                    self._next = now

    def _wave_command(self, h: Header, now: float) -> None:
        for sr_type, sub in h.subrecords:
            req = w.parse_wave_request(sub) if sr_type == w.SR_WF_CMD else None
            if req is None:
                continue
            start, waves = req
            if not start:
                self.waves = ()
            elif waves != self.waves:
                self.waves = waves
                self._wave_start = self._wave_next = now
                self._wave_sent = dict.fromkeys(waves, 0)

    def produce(self, now: float) -> bytes:
        out = b""
        if self._interval is not None and now >= self._next:
            self._next += self._interval
            if self._next <= now:  # fell behind (paused): keep the rhythm from now, no burst
                self._next = now + self._interval
            out += frame(self.record(now), self.escape_checksum)
        if self.waves and now >= self._wave_next:
            if now - self._wave_next > 1.0:  # not called for a while: start afresh, no burst
                self._wave_start = now - self.WAVE_RECORD_S
                self._wave_sent = dict.fromkeys(self.waves, 0)
            self._wave_next = now + self.WAVE_RECORD_S
            out += frame(self.wave_record(now), self.escape_checksum)
        return out

    def wave_record(self, now: float) -> bytes:
        """One record with every requested wave's samples due since the last one."""
        subs = []
        v = self.physio.vitals(now)
        for wave in self.waves:
            rate = w.RATE_HZ.get(wave, 100.0)
            due = int((now - self._wave_start) * rate) - self._wave_sent[wave]
            if due <= 0:
                continue
            t0 = self._wave_start + self._wave_sent[wave] / rate
            self._wave_sent[wave] += due
            if wave == w.WF_PLETH and not v.probe_off:
                raw = np.round(self.physio.pleth(t0, due, rate) * self.PLETH_UNITS)
            elif wave == w.WF_ECG1 and v.hr is not None:
                raw = np.round(w.synthetic_ecg(t0, due, rate, v.hr) / w.ECG_MV_PER_UNIT)
            else:
                raw = np.full(due, DATA_INVALID)
            subs.append((wave, w.wave_subrecord(raw.astype(np.int64))))
        self._nbr += 1
        return build_record(MAINTYPE_WAVE, subs, r_time=int(now), r_nbr=self._nbr)

    def record(self, now: float) -> bytes:
        v = self.physio.vitals(now)
        block = basic_block(
            hr=v.hr, imp_rr=v.rr, nibp=v.nibp, spo2=v.spo2, pr=v.pulse,
        )
        subs = [] if self._class_bits & DENY_BASIC else [
            (SR_DISPL, displayed_subrecord(block, int(now)))]
        for cls in (1, 2, 3):
            if self._class_bits & (1 << cls):
                subs.append((SR_DISPL, displayed_subrecord(bytes(BLOCK_LEN), int(now), cls)))
        self._nbr += 1
        return build_record(MAINTYPE_PHDB, subs, r_time=int(now), r_nbr=self._nbr)


def pleth_decoder(source: str) -> S5Decoder:
    """Displayed values every 5 s and the pleth wave."""
    return S5Decoder(source, waves=(w.WF_PLETH,))


def ecg_and_pleth_decoder(source: str) -> S5Decoder:
    """Displayed values every 5 s, the first ECG trace and the pleth (400 samples/s)."""
    return S5Decoder(source, waves=(w.WF_ECG1, w.WF_PLETH))


DRIVER = Driver(
    name="s5",
    title="GE/Datex-Ohmeda S/5 (computer interface)",
    settings=SerialSettings(19200, 8, "E", 1, rtscts=True),
    make_decoder=pleth_decoder,
    make_simulator=S5Monitor,
    talks_back=True,
    update_interval=5.0,
    notes=("Asks for displayed values every 5 s and the pleth wave; decodes HR, NIBP, SpO2, PR, "
           "RR, EtCO2, T1."),
    aliases=("datex", "ge-s5"),
)

VARIANTS = (
    Driver(
        name="s5-ecg",
        title="GE/Datex-Ohmeda S/5 with ECG wave (computer interface)",
        settings=DRIVER.settings,
        make_decoder=ecg_and_pleth_decoder,
        make_simulator=S5Monitor,
        talks_back=True,
        update_interval=5.0,
        notes=("As the S/5, and the first ECG trace (300 samples/s) is recorded with the pleth."),
        probe=False,
    ),
)
