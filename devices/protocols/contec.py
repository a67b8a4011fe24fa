"""Contec CMS50-series USB/serial pulse oximeters (CMS50D+, CMS50E, CMS50F): live data.

Two live-data formats exist, by firmware; both stream 60 frames a second and the decoder reads
either (told apart by their sync bits, like Nonin's two formats), whatever port setting found
it. Facts from open implementations and the vendor's protocol notes they quote (learnt, not
copied; cited per field below):

Format "live5" (older CMS50D+/E firmware, 19200 baud 8 data bits ODD parity 1 stop: atbrask
CMS50Dplus cms50dplus.py; tranzoa.net "CMS50E Pulse Oximeter USB / Serial Protocol"; the
Contec manual translated on the picbasic.co.uk forum, thread 11311): 5-byte frames, bit 7 set
on the first byte only.
    byte 1: 1 | beep | SpO2 dropping | no finger / searching too long | signal strength 0-3
    byte 2: 0 | pleth (7 bits)
    byte 3: 0 | pulse rate bit 7 | searching for pulse | sensor error | bar graph 0-3
    byte 4: 0 | pulse rate bits 6-0
    byte 5: 0 | SpO2 (7 bits)

Format "v7" (CMS50D+ firmware 4.6 and later, CMS50E/F: 115200 baud 8N1; Contec "Communication
protocol of pulse oximeter V7.0" section 3.2 package format; headrotor contec_data
stream_data.py capture `01 E0 85 B3 96 C1 E1 FF FF`; celiponcio cms50Dplus_thread.py): a package
is a type byte (bit 7 clear), a high-bits byte (bit 7 set; its bit i is bit 7 of data byte i)
and data bytes sent with bit 7 set. Real-time data is type 0x01 with 7 data bytes:
    d0: signal strength 0-3, beep 6, no finger 7 (UNVERIFIED: celiponcio, headrotor "0xE1")
    d1: pleth 0-6, searching for pulse 7 (UNVERIFIED: celiponcio, headrotor "0xE2")
    d2: bar graph; d3: pulse rate (8 bits); d4: SpO2 (7 bits); d5-d6: not read here
The host starts the stream with the command `7D 81 A1 80 80 80 80 80 80` and keeps it going
with `7D 81 AF 80 ...` (headrotor); an older device starts streaming on any byte (tranzoa), so
sending the command harms neither.

Neither format has a checksum. So a value is believed only when three frames in a row, with
no byte lost or added between them, agree on pulse rate, SpO2 and status: a damaged byte
changes one frame, which then agrees with neither neighbour. `frames_ok` counts such proven
frames only, so line noise never looks like a live oximeter. Numerics are reported once per
60 proven frames, a second of the stream (the device's own numbers change slowly); the pleth
goes out in quarter-second chunks at 60 samples/s, scaled 0..1, NaN where the frame says there
is no finger or a sensor error. Both are counted in frames, never in host time, so a replayed
capture decodes exactly as the live stream did.
Pulse rate 255 and SpO2 127 (and zeros) mean no value.
"""

from __future__ import annotations

import math
import re

import numpy as np

from devices import mdc
from devices.physiology import Physiology
from devices.protocol import DecoderStats, Driver, SerialSettings
from devices.reading import Quality, Reading, Sample, WaveChunk

FRAME_RATE = 60.0
LIVE5_LEN = 5
V7_LEN = 9
V7_REALTIME = 0x01
PLETH_FULL = 127.0

PR_NONE = 255  # UNVERIFIED marker for "no pulse rate" (and 0)
SPO2_NONE = 127  # UNVERIFIED marker for "no SpO2" (and 0)

# Status flags, the same for both formats once decoded.
F_NO_FINGER = 0x01
F_SEARCHING = 0x02
F_SENSOR_ERROR = 0x04
FLAG_WORDS = {
    F_NO_FINGER: "no finger in the sensor",
    F_SEARCHING: "searching for pulse",
    F_SENSOR_ERROR: "sensor error",
}

START_COMMAND = bytes.fromhex("7D 81 A1 80 80 80 80 80 80")  # start real-time data
KEEPALIVE_COMMAND = bytes.fromhex("7D 81 AF 80 80 80 80 80 80")

PROVE = 3  # frames in a row that must agree before their values are believed
REPORT_FRAMES = 60  # numerics every this many proven frames (a second of the stream)
CHUNK = 15  # pleth samples per WaveChunk (a quarter second)

# A v7 real-time package (type 0x01, 8 bytes with bit 7 set, then the next type byte), or a
# live5 frame (one byte with bit 7 set, four without, then the next frame's first byte). The
# look-ahead is the proof that the frame had exactly its length.
_FRAME = re.compile(rb"\x01[\x80-\xff]{8}(?=[\x00-\x7f])|[\x80-\xff][\x00-\x7f]{4}(?=[\x80-\xff])")
# Other v7 packages (answers to commands: type byte, then bytes with bit 7 set): between
# real-time packages of a v7 stream they are neither damage nor a break in the stream.
_V7_OTHER = re.compile(rb"(?:[\x02-\x7f][\x80-\xff]*)+")


def live5_frame(pleth: int, pr: int, spo2: int, flags: int = 0, signal: int = 5,
                beep: bool = False, dropping: bool = False, bar: int = 3) -> bytes:
    """One live5 frame (the older 19200-baud format)."""
    b0 = 0x80 | (signal & 0x0F) | (0x40 if beep else 0) | (0x20 if dropping else 0)
    b0 |= 0x10 if flags & F_NO_FINGER else 0
    b2 = (bar & 0x0F) | ((pr & 0x80) >> 1) | (0x20 if flags & F_SEARCHING else 0)
    b2 |= 0x10 if flags & F_SENSOR_ERROR else 0
    return bytes((b0, pleth & 0x7F, b2, pr & 0x7F, spo2 & 0x7F))


def v7_package(kind: int, data: bytes | list[int]) -> bytes:
    """A v7 package: type, high-bits byte, data bytes with bit 7 set on the wire."""
    high = 0x80
    for i, d in enumerate(data):
        high |= ((d >> 7) & 1) << i
    return bytes((kind & 0x7F, high)) + bytes(0x80 | (d & 0x7F) for d in data)


def v7_frame(pleth: int, pr: int, spo2: int, flags: int = 0, signal: int = 5,
             beep: bool = False, bar: int = 3) -> bytes:
    """One v7 real-time package (type 0x01, 7 data bytes; the last two sent as 0xFF)."""
    d0 = (signal & 0x0F) | (0x40 if beep else 0) | (0x80 if flags & F_NO_FINGER else 0)
    d1 = (pleth & 0x7F) | (0x80 if flags & F_SEARCHING else 0)
    return v7_package(V7_REALTIME, [d0, d1, bar & 0x0F, pr & 0xFF, spo2 & 0x7F, 0xFF, 0xFF])


def decode_frame(frame: bytes) -> tuple[int, int, int, int]:
    """(pleth 0-127, pulse rate, SpO2, flags) of one frame matched by `_FRAME`."""
    if len(frame) == LIVE5_LEN:
        b0, b1, b2, b3, b4 = frame
        flags = (F_NO_FINGER if b0 & 0x10 else 0) | (F_SEARCHING if b2 & 0x20 else 0) | (
            F_SENSOR_ERROR if b2 & 0x10 else 0)
        return b1, ((b2 & 0x40) << 1) | b3, b4, flags
    high, d1, d3, d4 = frame[1], frame[3], frame[5], frame[6]
    flags = (F_NO_FINGER if high & 0x01 else 0) | (F_SEARCHING if high & 0x02 else 0)
    pr = (d3 & 0x7F) | ((high & 0x08) << 4)
    return d1 & 0x7F, pr, d4 & 0x7F, flags


def assess(pr: int, spo2: int, flags: int) -> tuple[tuple[float, Quality, str | None],
                                                    tuple[float, Quality, str | None]]:
    """(value, quality, reason) for the pulse rate and for SpO2 of a proven frame."""
    if flags:
        why = "monitor: " + ", ".join(w for f, w in FLAG_WORDS.items() if flags & f)
        return (math.nan, Quality.INVALID, why), (math.nan, Quality.INVALID, why)
    pr_out: tuple[float, Quality, str | None]
    spo2_out: tuple[float, Quality, str | None]
    if pr in (0, PR_NONE):
        pr_out = (math.nan, Quality.INVALID, f"monitor: no pulse rate ({pr})")
    else:
        pr_out = (float(pr), Quality.VALID, None)
    if spo2 in (0, SPO2_NONE):
        spo2_out = (math.nan, Quality.INVALID, f"monitor: no SpO2 ({spo2})")
    elif spo2 > 100:
        spo2_out = (float(spo2), Quality.INVALID, f"SpO2 {spo2} % > 100")
    else:
        spo2_out = (float(spo2), Quality.VALID, None)
    return pr_out, spo2_out


class ContecDecoder:
    """Decoder for both live-data formats; sends the start command and keeps the stream going."""

    START_RETRY_S = 3.0  # nothing proven this long after asking: ask again
    KEEPALIVE_S = 2.0  # v7 stream running: remind the device this often

    def __init__(self, source: str) -> None:
        self.source = source
        self.stats = DecoderStats()
        self.data_format: str | None = None  # "live5" or "v7", of the last proven frame
        self.reset()

    def reset(self) -> None:
        self._buf = bytearray()
        self._run_key: tuple[int, int, int] | None = None
        self._run_len = 0
        self._run_end = -1  # buffer position where the current run's last frame ended
        self._pending: list[float] = []  # pleth of the current run's unproven frames
        self._pleth: list[float] = []  # proven pleth samples not yet sent
        self._pleth_t: float | None = None  # when the newest of them arrived
        self._since_report: int | None = None  # proven frames since the numerics went out
        self._asked_t: float | None = None
        self._kept_t: float | None = None

    # ---- host -> oximeter

    def outgoing(self, now: float) -> bytes:
        last = self.stats.last_frame_t
        if self._asked_t is None or (
                now - self._asked_t >= self.START_RETRY_S
                and (last is None or now - last >= self.START_RETRY_S)):
            self._asked_t = self._kept_t = now
            return START_COMMAND
        if (self.data_format == "v7" and last is not None and now - last < self.START_RETRY_S
                and (self._kept_t is None or now - self._kept_t >= self.KEEPALIVE_S)):
            self._kept_t = now
            return KEEPALIVE_COMMAND
        return b""

    # ---- oximeter -> host

    def feed(self, data: bytes, now: float) -> list[Sample]:
        """What these bytes complete. What goes out, and in which order, depends on the bytes
        alone (a replayed capture decodes the same however its reads are split): pleth chunks
        every 15 proven frames, numerics with the first proven frame and then every 60."""
        self.stats.bytes_in += len(data)
        buf = self._buf
        buf += data
        pos = 0
        run_end = self._run_end
        key, run = self._run_key, self._run_len
        pending = self._pending
        out = self._flush_old_pleth(now)
        steps: list[tuple[int, tuple[int, int, int] | None]] = []  # (proven so far, report)
        proven = 0
        for m in _FRAME.finditer(buf):
            start, end = m.span()
            if start != pos:
                if (pos == run_end and len(m.group()) == V7_LEN
                        and _V7_OTHER.fullmatch(buf, pos, start)):
                    run_end = start  # an answer to a command inside the stream: read past it
                else:
                    self._skipped(start - pos, end - start)
            frame = m.group()
            p, pr, spo2, flags = decode_frame(frame)
            k = (pr, spo2, flags)
            if start != run_end or k != key:
                key, run, pending = k, 0, []
            run += 1
            run_end = pos = end
            pending.append(math.nan if flags & (F_NO_FINGER | F_SENSOR_ERROR)
                           else p / PLETH_FULL)
            if run < PROVE:
                continue
            self.data_format = "live5" if len(frame) == LIVE5_LEN else "v7"
            for sample in pending:  # the run's first frames, now proven, and this one
                self._pleth.append(sample)
                proven += 1
                since = self._since_report
                report = since is None or since + 1 >= REPORT_FRAMES
                self._since_report = 0 if report else (since or 0) + 1
                if report or len(self._pleth) % CHUNK == 0:
                    steps.append((proven, k if report else None))
            pending = []
        self._run_key, self._run_len, self._pending = key, run, pending
        # Keep what may still become a frame: from the last unmatched position, at most one
        # frame's worth plus its look-ahead byte.
        keep_from = max(pos, len(buf) - V7_LEN)
        if keep_from > pos:
            self._skipped(keep_from - pos, LIVE5_LEN)
        del buf[:keep_from]
        self._run_end = run_end - keep_from if run_end >= keep_from else -1
        if not proven:
            return out  # nothing new: nothing old is passed on as if it were
        self.stats.frames_ok += proven
        self.stats.last_frame_t = self._pleth_t = now
        return out + self._emit(steps, proven, now)

    def _skipped(self, n: int, frame_len: int) -> None:
        """Bytes that are no frame: one rejected frame per started frame length of them."""
        self.stats.frames_rejected += max(1, -(-n // frame_len))

    def _chunk(self, samples: list[float], t0: float) -> WaveChunk:
        chunk = np.array(samples, dtype=np.float32)
        return WaveChunk(
            t0=t0,
            source=self.source,
            code=mdc.MDC_PULS_OXIM_PLETH,
            rate_hz=FRAME_RATE,
            samples=chunk,
            quality=Quality.INVALID if bool(np.isnan(chunk).all()) else Quality.VALID,
        )

    def _flush_old_pleth(self, now: float) -> list[Sample]:
        """Pleth samples left over from a stream that has since paused go out with their own
        time, not joined to what comes next as if there had been no gap."""
        if not self._pleth or self._pleth_t is None or now - self._pleth_t < 2 * CHUNK / \
                FRAME_RATE:
            return []
        chunk = self._chunk(self._pleth, self._pleth_t - len(self._pleth) / FRAME_RATE)
        self._pleth.clear()
        return [chunk]

    def _emit(self, steps: list[tuple[int, tuple[int, int, int] | None]], proven: int,
              now: float) -> list[Sample]:
        """The chunks and numerics of this read in stream order; a sample's time counts back
        from `now` (the newest proven frame) at 60 per second."""
        out: list[Sample] = []
        pleth = self._pleth
        sent = 0  # samples of `pleth` already sent in this read
        carried = len(pleth) - proven  # samples from earlier reads at the front of `pleth`
        for upto, report in steps:
            have = carried + upto - sent  # samples in `pleth` up to this step, not yet sent
            if have >= CHUNK:
                t_end = now - (proven - upto) / FRAME_RATE
                out.append(self._chunk(pleth[sent : sent + CHUNK], t_end - CHUNK / FRAME_RATE))
                sent += CHUNK
            if report is not None:
                (pr, pr_q, pr_why), (spo2, spo2_q, spo2_why) = assess(*report)
                out.append(Reading(now, self.source, mdc.MDC_PULS_OXIM_PULS_RATE, pr,
                                   mdc.MDC_DIM_BEAT_PER_MIN, pr_q, reason=pr_why))
                out.append(Reading(now, self.source, mdc.MDC_PULS_OXIM_SAT_O2, spo2,
                                   mdc.MDC_DIM_PERCENT, spo2_q, reason=spo2_why))
        del pleth[:sent]
        return out


class ContecMonitor:
    """The oximeter's side at 60 frames/s: "v7" (the default, newer firmware) streams once the
    start command came and stops when the host has been silent for `STREAM_TIMEOUT_S`;
    "live5" (older firmware) streams all the time. Finger out: the no-finger flag with pulse
    rate 255 and SpO2 127; artefact: a weak signal strength."""

    STREAM_TIMEOUT_S = 10.0  # UNVERIFIED how long a v7 device streams without a command

    def __init__(self, physio: Physiology, data_format: str = "v7") -> None:
        if data_format not in ("v7", "live5"):
            raise ValueError(f"unknown Contec data format {data_format!r}")
        self.physio = physio
        self.data_format = data_format
        self.reset()

    def reset(self) -> None:
        self._inbox = bytearray()
        self._commanded_t: float | None = None
        self._next_t: float | None = None
        self.commands: list[int] = []  # command codes received, for tests

    def receive(self, data: bytes, now: float) -> None:
        """Recognise `7D 81 cc ...` commands (only their code matters here)."""
        self._inbox += data
        while True:
            i = self._inbox.find(b"\x7d")
            if i < 0 or len(self._inbox) - i < 3:
                del self._inbox[: max(0, i if i >= 0 else len(self._inbox))]
                return
            high, code = self._inbox[i + 1], self._inbox[i + 2]
            del self._inbox[: i + 3]
            if high & 0x80 and code & 0x80:
                cmd = (code & 0x7F) | ((high & 0x01) << 7)
                self.commands.append(cmd)
                self._commanded_t = now

    def streaming(self, now: float) -> bool:
        if self.data_format == "live5":
            return True
        return self._commanded_t is not None and now - self._commanded_t < self.STREAM_TIMEOUT_S

    def produce(self, now: float) -> bytes:
        if not self.streaming(now):
            self._next_t = None
            return b""
        if self._next_t is None or now - self._next_t > 1.0:
            self._next_t = now  # (re)started, or not called for a while: no burst
        n = int((now - self._next_t) * FRAME_RATE) + 1
        t0 = self._next_t
        self._next_t += n / FRAME_RATE
        v = self.physio.vitals(now)
        wave = self.physio.pleth(t0, n, FRAME_RATE)
        if v.probe_off or v.spo2 is None or v.pulse is None:
            pr, spo2, flags, signal = PR_NONE, SPO2_NONE, F_NO_FINGER, 0
        else:
            pr, spo2, flags = round(v.pulse), round(v.spo2), 0
            signal = 1 if v.artefact else 6
        make = v7_frame if self.data_format == "v7" else live5_frame
        out = bytearray()
        for x in np.clip(np.round(wave * PLETH_FULL), 0, PLETH_FULL):
            out += make(int(x), pr, spo2, flags, signal=signal)
        return bytes(out)


DRIVER = Driver(
    name="contec",
    title="Contec CMS50D+ / CMS50E / CMS50F (USB pulse oximeter)",
    settings=SerialSettings(115200),
    # Older CMS50D+/E firmware speaks the 5-byte format at 19200 baud, odd parity.
    alternatives=(SerialSettings(19200, 8, "O", 1),),
    make_decoder=ContecDecoder,
    make_simulator=ContecMonitor,
    talks_back=True,
    notes=("Plug in the oximeter's USB cable and switch it on with a finger in. Newer units "
           "(firmware 4.6 on) stream at 115200 baud once asked; older ones at 19200 baud, odd "
           "parity, when their USB menu item is on. SpO2, pulse rate and the pleth at 60/s."),
    aliases=("cms50", "cms50d", "cms50e", "cms50f"),
)
