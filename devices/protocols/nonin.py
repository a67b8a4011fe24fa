"""Nonin OEM III / Xpod pulse oximeter: 5-byte binary frames, 75 frames/s, 25 frames a packet.

Why whole packets: HR and SpO2 are spread over the FLOAT bytes of frames 1-3 of a packet, so a
value is only trustworthy when every frame of its packet arrived intact and in order. We align
on any frame whose checksum holds, start a packet on a frame with the SYNC bit, and emit HR,
SpO2 and the packet's 25 pleth samples only when all 25 frames passed their checksums and the
next packet's SYNC frame follows directly (so the packet had exactly 25 frames). A corrupted
frame is counted and drops its whole packet; nothing from it becomes a value. The price is
one frame (13 ms) of latency and, rarely, a good packet dropped with its damaged neighbour.
`stats.frames_ok` and `last_frame_t` move only when a packet is proven, because line noise
holds a frame with a valid checksum every few hundred bytes and must not look like a live link.

Data formats 2 and 7 are told apart per frame by the first byte, so one decoder reads both:
format 2 frames start with 0x01 (bit 7 clear), format 7 frames start with STATUS (bit 7 set).
A device left in format 7 therefore decodes without any configuration. The `nonin7` driver
(`request_format=7`) selects format 7 explicitly: it sends the select-format command
`02 70 02 02 07 03` (STX, op 0x70, length 2, data type 0x02, format 7, ETX: the reference's
`02 70 02 07 …`, laid out as in Nonin's serial command set, cf. mattjlewis/NoninPulseOx
NoninSetDataFormatRequest) after each (re)open, reads the oximeter's one-byte answer (ACK 06 /
NAK 15) between frames, and asks again while format-2 packets keep coming (an oximeter
power-cycled behind the cable) unless it said NAK.

Pleth is scaled to 0..1 (format 2: /255, format 7: /65535), like every other driver's waves.
Nonin frames carry no device clock, so `device_time` is None.
"""

from __future__ import annotations

import math

import numpy as np

from devices import mdc
from devices.containment import frame_fault
from devices.physiology import Physiology
from devices.protocol import DecoderStats, Driver, SerialSettings
from devices.reading import Quality, Reading, Sample, WaveChunk

FRAME_LEN = 5
FRAMES_PER_PACKET = 25
FRAME_RATE = 75.0

# STATUS bits
ST_ALWAYS = 0x80
ST_SENSOR_DISCONNECTED = 0x40
ST_ARTIFACT = 0x20
ST_OUT_OF_TRACK = 0x10
ST_SENSOR_ALARM = 0x08
ST_RED_PERFUSION = 0x04
ST_GREEN_PERFUSION = 0x02
ST_SYNC = 0x01
ST_QUESTIONABLE = ST_ARTIFACT | ST_OUT_OF_TRACK | ST_SENSOR_ALARM

FORMAT2_START = 0x01

# FLOAT byte by frame number in the packet (1-based).
F_HR_MSB, F_HR_LSB, F_SPO2, F_REV = 1, 2, 3, 4
F_SPO2_D, F_SPO2_FAST, F_SPO2_BB = 9, 10, 11
F_EHR_MSB, F_EHR_LSB, F_ESPO2, F_ESPO2_D = 14, 15, 16, 17
F_HRD_MSB, F_HRD_LSB, F_EHRD_MSB, F_EHRD_LSB = 20, 21, 22, 23

SPO2_UNAVAILABLE = 127
HR_UNAVAILABLE = 511  # UNVERIFIED in our reference; one constant so it is easy to change

# Host command selecting data format 7 (STX, 0x70, length 2, 0x02, format, ETX). The reference
# quotes it as `02 70 02 07 …` (UNVERIFIED); our simulator accepts either spelling because it
# takes the byte before ETX as the format.
SELECT_FORMAT7 = bytes((0x02, 0x70, 0x02, 0x02, 0x07, 0x03))
ACK = 0x06
NAK = 0x15

FIRMWARE_REV_DEFAULT = 0x30


def checksum(first4: bytes | bytearray) -> int:
    return sum(first4[:4]) & 0xFF


def heart_rate(msb: int, lsb: int) -> int:
    """9-bit HR: two bits from the MSB byte above seven from the LSB byte."""
    return ((msb & 0x03) << 7) | (lsb & 0x7F)


def perfusion(status: int) -> str | None:
    """The perfusion colour the device shows: 'green', 'yellow' (both bits), 'red' or None."""
    red, green = bool(status & ST_RED_PERFUSION), bool(status & ST_GREEN_PERFUSION)
    if red and green:
        return "yellow"
    if green:
        return "green"
    if red:
        return "red"
    return None


def frame_format(frame: bytes | bytearray) -> int | None:
    """2 or 7 if these 5 bytes are a well-formed frame with a good checksum, else None."""
    if len(frame) < FRAME_LEN or checksum(frame) != frame[4]:
        return None
    if frame[0] == FORMAT2_START and frame[1] & ST_ALWAYS:
        return 2
    if frame[0] & ST_ALWAYS:
        return 7
    return None


def make_frame(fmt: int, status: int, pleth: int, float_byte: int) -> bytes:
    """One frame in data format 2 (8-bit pleth) or 7 (16-bit pleth)."""
    status |= ST_ALWAYS
    if fmt == 2:
        body = bytes((FORMAT2_START, status & 0xFF, pleth & 0xFF, float_byte & 0xFF))
    else:
        body = bytes((status & 0xFF, (pleth >> 8) & 0xFF, pleth & 0xFF, float_byte & 0xFF))
    return body + bytes((checksum(body),))


class NoninDecoder:
    """Decoder for data formats 2 and 7 (auto-detected per frame)."""

    SELECT_RETRY_S = 3.0  # format-2 packets still coming this long after asking: ask again

    def __init__(self, source: str, request_format: int | None = None) -> None:
        self.source = source
        self.request_format = request_format
        self.stats = DecoderStats()
        self.firmware_rev: int | None = None
        self.perfusion: str | None = None  # colour of the last complete packet
        self.data_format: int | None = None  # format of the last complete packet
        self.select_answer: int | None = None  # ACK or NAK to the last select-format command
        self.reset()

    def reset(self) -> None:
        self._buf = bytearray()
        self._aligned = False
        self._skip_run = 0
        self._packet: list[bytes] = []
        self._packet_fmt: int | None = None
        self._request_sent = False
        self._requested_t: float | None = None
        self._awaiting_answer = False
        self._refused = False

    def outgoing(self, now: float) -> bytes:
        if self.request_format != 7 or self._refused:
            return b""
        if not self._request_sent or (
                self.data_format == 2 and self._requested_t is not None
                and now - self._requested_t >= self.SELECT_RETRY_S):
            self._request_sent = True
            self._requested_t = now
            self._awaiting_answer = True
            return SELECT_FORMAT7
        return b""

    def _answer(self, byte: int) -> None:
        """The oximeter's answer to the select-format command: ACK, or NAK (stop asking)."""
        self.select_answer = byte
        self._awaiting_answer = False
        if byte == NAK:
            self._refused = True

    def feed(self, data: bytes, now: float) -> list[Sample]:
        self.stats.bytes_in += len(data)
        self._buf += data
        out: list[Sample] = []
        i = 0
        buf = self._buf
        while len(buf) - i >= FRAME_LEN:
            fmt = frame_format(buf[i : i + FRAME_LEN])
            if fmt is None and self._awaiting_answer and buf[i] in (ACK, NAK):
                if len(buf) - i < 1 + FRAME_LEN:
                    break  # an answer, if the next frame follows it: wait for that frame
                if frame_format(buf[i + 1 : i + 1 + FRAME_LEN]) is not None:
                    self._answer(buf[i])  # a one-byte answer between two frames
                    i += 1
                    continue
            if fmt is None:
                if self._aligned:
                    # A frame we expected failed: it and its packet are lost. Most damage is a
                    # changed byte, so look for the next frame in its usual place first.
                    if len(buf) - i < 2 * FRAME_LEN:
                        break  # wait for the next frame before deciding
                    self._aligned = False
                    self._drop_packet()
                    if frame_format(buf[i + FRAME_LEN : i + 2 * FRAME_LEN]) is not None:
                        self._skip(FRAME_LEN)
                        i += FRAME_LEN
                        continue
                self._skip(1)
                i += 1
                continue
            frame = bytes(buf[i : i + FRAME_LEN])
            self._aligned = True
            self._skip_run = 0
            i += FRAME_LEN
            self._add_frame(frame, fmt, now, out)
        del buf[:i]
        return out

    def _skip(self, n: int) -> None:
        """Count unreadable bytes: one rejected frame per started run of 5 skipped bytes."""
        for _ in range(n):
            if self._skip_run % FRAME_LEN == 0:
                self.stats.frames_rejected += 1
            self._skip_run += 1

    def _drop_packet(self) -> None:
        self._packet = []
        self._packet_fmt = None

    def _add_frame(self, frame: bytes, fmt: int, now: float, out: list[Sample]) -> None:
        """Collect frames from SYNC; a packet counts once the next packet's SYNC frame follows.

        Waiting for that SYNC frame proves the packet had exactly 25 frames, so a whole
        frame lost or injected never shifts the FLOAT bytes into the wrong fields.
        """
        status = frame[0] if fmt == 7 else frame[1]
        if status & ST_SYNC:
            if len(self._packet) == FRAMES_PER_PACKET and fmt == self._packet_fmt:
                # Frames count as good only once their packet is proven: line noise holds a
                # frame with a valid checksum every few hundred bytes, and must not look live.
                try:
                    samples = self._decode_packet(self._packet, fmt, now)
                except Exception as e:  # a bug must cost this packet only, never the link
                    frame_fault("nonin", self.source, e, b"".join(self._packet), self.stats)
                else:
                    self.stats.frames_ok += FRAMES_PER_PACKET
                    self.stats.last_frame_t = now
                    out.extend(samples)
            self._packet = [frame]
            self._packet_fmt = fmt
            return
        if not self._packet or fmt != self._packet_fmt or len(self._packet) >= FRAMES_PER_PACKET:
            self._drop_packet()  # no packet start seen, format changed, or too long: wait
            return
        self._packet.append(frame)

    def _decode_packet(self, frames: list[bytes], fmt: int, now: float) -> list[Sample]:
        if fmt == 2:
            statuses = [f[1] for f in frames]
            pleth = np.array([f[2] for f in frames], dtype=np.float32) / 255.0
        else:
            statuses = [f[0] for f in frames]
            pleth = np.array([(f[1] << 8) | f[2] for f in frames], dtype=np.float32) / 65535.0
        floats = [f[3] for f in frames]

        def fl(n: int) -> int:
            return floats[n - 1]

        any_status = 0
        for s in statuses:
            any_status |= s
        self.data_format = fmt
        self.firmware_rev = fl(F_REV)
        self.perfusion = perfusion(statuses[-1])

        q = Quality.VALID
        why: str | None = None
        if any_status & ST_QUESTIONABLE or self.perfusion == "red":
            q, why = Quality.QUESTIONABLE, "monitor: artefact, out of track or low perfusion"
        if any_status & ST_SENSOR_DISCONNECTED:
            q, why = Quality.INVALID, "monitor: sensor disconnected"

        hr = heart_rate(fl(F_HR_MSB), fl(F_HR_LSB))
        spo2 = fl(F_SPO2) & 0x7F
        # The device's own "missing" markers: HR 511, SpO2 127. Other impossible numbers (HR
        # 510, SpO2 0) are judged by the plausibility gate in the link.
        hr_value, hr_q, hr_why = ((math.nan, Quality.INVALID, "monitor: no pulse rate (511)")
                                  if hr == HR_UNAVAILABLE else (float(hr), q, why))
        spo2_why: str | None
        if spo2 == SPO2_UNAVAILABLE:
            spo2_value, spo2_q, spo2_why = math.nan, Quality.INVALID, "monitor: no SpO2 (127)"
        elif spo2 > 100:
            spo2_value, spo2_q, spo2_why = float(spo2), Quality.INVALID, f"SpO2 {spo2} % > 100"
        else:
            spo2_value, spo2_q, spo2_why = float(spo2), q, why
        duration = (FRAMES_PER_PACKET + 1) / FRAME_RATE  # decoded when the next SYNC came
        return [
            WaveChunk(
                t0=now - duration,
                source=self.source,
                code=mdc.MDC_PULS_OXIM_PLETH,
                rate_hz=FRAME_RATE,
                samples=pleth,
                quality=q,
            ),
            Reading(
                t=now,
                source=self.source,
                code=mdc.MDC_PULS_OXIM_PULS_RATE,
                value=hr_value,
                unit=mdc.MDC_DIM_BEAT_PER_MIN,
                quality=hr_q,
                reason=hr_why,
            ),
            Reading(
                t=now,
                source=self.source,
                code=mdc.MDC_PULS_OXIM_SAT_O2,
                value=spo2_value,
                unit=mdc.MDC_DIM_PERCENT,
                quality=spo2_q,
                reason=spo2_why,
            ),
        ]


def packet_floats(hr: int, spo2: int, rev: int = FIRMWARE_REV_DEFAULT) -> list[int]:
    """The 25 FLOAT bytes of a packet carrying this HR and SpO2 (all averages alike)."""
    floats = [0] * FRAMES_PER_PACKET
    msb, lsb = (hr >> 7) & 0x03, hr & 0x7F
    for m, lo in ((F_HR_MSB, F_HR_LSB), (F_EHR_MSB, F_EHR_LSB), (F_HRD_MSB, F_HRD_LSB),
                  (F_EHRD_MSB, F_EHRD_LSB)):
        floats[m - 1], floats[lo - 1] = msb, lsb
    for n in (F_SPO2, F_SPO2_D, F_SPO2_FAST, F_SPO2_BB, F_ESPO2, F_ESPO2_D):
        floats[n - 1] = spo2 & 0x7F
    floats[F_REV - 1] = rev
    return floats


def make_packet(
    fmt: int,
    hr: int,
    spo2: int,
    status: int = ST_GREEN_PERFUSION,
    pleth: list[int] | None = None,
) -> bytes:
    """A complete 25-frame packet; `status` applies to every frame (SYNC added on frame 1)."""
    floats = packet_floats(hr, spo2)
    waves = pleth if pleth is not None else [0] * FRAMES_PER_PACKET
    out = bytearray()
    for n in range(FRAMES_PER_PACKET):
        st = status | (ST_SYNC if n == 0 else 0)
        out += make_frame(fmt, st, waves[n], floats[n])
    return bytes(out)


class NoninMonitor:
    """A Nonin OEM III speaking format 2 (or 7 once the host selects it) at 75 frames/s."""

    def __init__(self, physio: Physiology, data_format: int = 2,
                 formats: tuple[int, ...] = (2, 7)) -> None:
        self.physio = physio
        self.power_on_format = data_format
        self.formats = formats  # the formats this oximeter accepts (others: NAK)
        self.reset()

    def reset(self) -> None:
        self.data_format = self.power_on_format
        self._pending_format: int | None = None
        self._next_t: float | None = None
        self._k = 0  # frames sent since power-on
        self._floats: list[int] = []
        self._status = 0
        self._pleth: list[int] = []
        self._inbox = bytearray()
        self._replies = bytearray()

    def receive(self, data: bytes, now: float) -> None:
        """Recognise the select-format command; answer ACK and switch at the next packet."""
        self._inbox += data
        while True:
            stx = self._inbox.find(b"\x02\x70")
            if stx < 0:
                del self._inbox[: max(0, len(self._inbox) - 1)]
                return
            etx = self._inbox.find(b"\x03", stx + 2)
            if etx < 0:
                del self._inbox[:stx]
                if len(self._inbox) > 16:
                    self._inbox.clear()
                return
            fmt = self._inbox[etx - 1]
            del self._inbox[: etx + 1]
            if fmt in self.formats:
                self._pending_format = fmt
                self._replies.append(ACK)
            else:
                self._replies.append(0x15)  # NAK

    def produce(self, now: float) -> bytes:
        out = bytearray(self._replies)
        self._replies.clear()
        if self._next_t is None:
            self._next_t = now
        if now - self._next_t > 1.0:  # we were not called for a while: do not flood
            self._next_t = now - 1.0
        while self._next_t <= now:
            n = self._k % FRAMES_PER_PACKET
            if n == 0:
                self._start_packet(self._next_t)
            st = self._status | (ST_SYNC if n == 0 else 0)
            out += make_frame(self.data_format, st, self._pleth[n], self._floats[n])
            self._k += 1
            self._next_t += 1.0 / FRAME_RATE
        return bytes(out)

    def _start_packet(self, t: float) -> None:
        if self._pending_format is not None:
            self.data_format, self._pending_format = self._pending_format, None
        v = self.physio.vitals(t)
        hr = HR_UNAVAILABLE if v.pulse is None else max(0, min(510, round(v.pulse)))
        spo2 = SPO2_UNAVAILABLE if v.spo2 is None else max(0, min(100, round(v.spo2)))
        self._floats = packet_floats(hr, spo2)
        status = ST_GREEN_PERFUSION
        if v.probe_off:
            status = ST_SENSOR_DISCONNECTED
        elif v.artefact:
            status |= ST_ARTIFACT
        self._status = status
        full = 255 if self.data_format == 2 else 65535
        wave = self.physio.pleth(t, FRAMES_PER_PACKET, FRAME_RATE)
        self._pleth = [int(x) for x in np.clip(np.round(wave * full), 0, full)]


DRIVER = Driver(
    name="nonin",
    title="Nonin OEM III / Xpod (pulse oximeter)",
    settings=SerialSettings(baudrate=9600),
    make_decoder=NoninDecoder,
    make_simulator=NoninMonitor,
    talks_back=False,
    notes=(
        "Data formats 2 and 7 are recognised automatically per frame; values come only from "
        "complete packets whose 25 frames all pass their checksums. No device clock."
    ),
    aliases=("xpod", "nonin-oem3"),
)


def format7_decoder(source: str) -> NoninDecoder:
    """A decoder that selects data format 7 (16-bit pleth) on the oximeter."""
    return NoninDecoder(source, request_format=7)


VARIANTS = (
    Driver(
        name="nonin7",
        title="Nonin OEM III / Xpod, data format 7 (16-bit pleth)",
        settings=DRIVER.settings,
        make_decoder=format7_decoder,
        make_simulator=NoninMonitor,
        talks_back=True,
        notes=("Holdspace selects data format 7 on the oximeter (finer pleth) after connecting "
               "and again if it falls back to format 2; values as with the plain Nonin."),
        aliases=("nonin-df7",),
        probe=False,
    ),
)
