"""Holdspace's own line protocol, spoken by the built-in simulator.

Documented in docs/protocol-sim.md. One ASCII line per numeric or per wave chunk, NMEA-style:

    $HSN,<device ms>,<MDC code>,<value or ->,<MDC unit>,<quality>*HHHH\r\n
    $HSW,<device ms of first sample>,<MDC code>,<rate Hz>,<s1> <s2> ...*HHHH\r\n

HHHH is the CRC-16/CCITT-FALSE (binascii.crc_hqx, initial value 0xFFFF) of every byte between
`$` and `*`, as four upper-case hex digits. An XOR checksum, used before, let two equal bytes
vanish unnoticed ("100" arriving as "1"); a CRC catches that. Wave samples are integers 0..1000
(scaled by 1/1000). A line with a bad CRC, a bad field count or a field out of its form (a
400-digit time, a code beyond 32 bits) is counted and dropped.
"""

from __future__ import annotations

import binascii
import math
import re

import numpy as np

from devices import mdc
from devices.containment import frame_fault
from devices.physiology import Physiology
from devices.protocol import DecoderStats, Driver, SerialSettings
from devices.reading import Quality, Reading, Sample, WaveChunk

MAX_LINE = 4096
PLETH_RATE = 125.0
WAVE_CHUNK_S = 0.2
CRC_INIT = 0xFFFF
MAX_RATE_HZ = 10_000.0

_CRC = re.compile(rb"[0-9A-Fa-f]{4}")
_MS = re.compile(r"\d{1,15}")  # device milliseconds: up to the year 33658
_CODE = re.compile(r"\d{1,10}")  # an MDC code or unit: 32 bits at most (checked below)
_QUALITY = re.compile(r"\d")
# Decimal as `{:g}` writes it, "inf" and "nan" included (the plausibility gate judges those).
_VALUE = re.compile(r"[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?|inf|nan)")
_SAMPLE = re.compile(r"\d{1,4}")


def checksum(body: bytes) -> int:
    """CRC-16/CCITT-FALSE of the line's body (check value of b"123456789": 0x29B1)."""
    return binascii.crc_hqx(body, CRC_INIT)


def frame(body: str) -> bytes:
    raw = body.encode("ascii")
    return b"$" + raw + b"*" + f"{checksum(raw):04X}".encode() + b"\r\n"


def numeric_line(device_ms: int, code: int, value: float | None, unit: int, q: Quality) -> bytes:
    v = "-" if value is None or math.isnan(value) else f"{value:g}"
    return frame(f"HSN,{device_ms},{code},{v},{unit},{int(q)}")


def wave_line(device_ms: int, code: int, rate: float, samples: np.ndarray) -> bytes:
    ints = np.clip(np.round(samples * 1000), 0, 1000).astype(int)
    return frame(f"HSW,{device_ms},{code},{rate:g}," + " ".join(map(str, ints)))


def _code(text: str) -> int:
    if not _CODE.fullmatch(text) or int(text) > 0xFFFF_FFFF:
        raise ValueError("not a 32-bit code")
    return int(text)


def _ms(text: str) -> int:
    if not _MS.fullmatch(text):
        raise ValueError("not a device time in ms")
    return int(text)


class SimDecoder:
    """Decoder for the line protocol; tolerant of noise, partial lines and garbage."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.stats = DecoderStats()
        self._buf = bytearray()

    def reset(self) -> None:
        self._buf.clear()

    def outgoing(self, now: float) -> bytes:
        return b""

    def feed(self, data: bytes, now: float) -> list[Sample]:
        self.stats.bytes_in += len(data)
        self._buf += data
        out: list[Sample] = []
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                if len(self._buf) > MAX_LINE:
                    self._buf.clear()
                    self.stats.frames_rejected += 1
                break
            line = bytes(self._buf[:nl]).strip()
            del self._buf[: nl + 1]
            if not line:
                continue
            try:
                sample = self._parse(line, now)
            except Exception as e:  # a bug must cost this line only, never the link
                frame_fault("sim", self.source, e, line, self.stats)
                continue
            if sample is None:
                self.stats.frames_rejected += 1
            else:
                self.stats.frames_ok += 1
                self.stats.last_frame_t = now
                out.append(sample)
        return out

    def _parse(self, line: bytes, now: float) -> Sample | None:
        start = line.rfind(b"$")
        star = line.rfind(b"*")
        if start < 0 or star < start or len(line) - star != 5:
            return None
        body = line[start + 1 : star]
        if not _CRC.fullmatch(line[star + 1 :]) or int(line[star + 1 :], 16) != checksum(body):
            return None
        try:
            parts = body.decode("ascii").split(",")
            if parts[0] == "HSN" and len(parts) == 6:
                return self._numeric(parts, now)
            if parts[0] == "HSW" and len(parts) == 5:
                return self._wave(parts, now)
        except (ValueError, UnicodeDecodeError):
            return None
        return None

    def _numeric(self, parts: list[str], now: float) -> Reading:
        device_ms, code, unit = _ms(parts[1]), _code(parts[2]), _code(parts[4])
        if parts[3] != "-" and not _VALUE.fullmatch(parts[3]):
            raise ValueError("not a decimal value")
        if not _QUALITY.fullmatch(parts[5]):
            raise ValueError("not a quality")
        value = math.nan if parts[3] == "-" else float(parts[3])
        q = Quality(int(parts[5]))
        if math.isnan(value):
            q = Quality.INVALID
        return Reading(
            t=now,
            source=self.source,
            code=mdc.canonical(code),
            value=value,
            unit=unit,
            quality=q,
            device_time=device_ms / 1000.0,
        )

    def _wave(self, parts: list[str], now: float) -> WaveChunk | None:
        _ms(parts[1])
        code = _code(parts[2])
        if not _VALUE.fullmatch(parts[3]):
            raise ValueError("not a rate")
        rate = float(parts[3])
        texts = parts[4].split()
        if not all(_SAMPLE.fullmatch(t) for t in texts):
            raise ValueError("not a wave sample")
        samples = np.array(texts, dtype=np.float32) / 1000.0
        if not (math.isfinite(rate) and 0 < rate <= MAX_RATE_HZ) or samples.size == 0:
            return None
        return WaveChunk(
            t0=now - samples.size / rate,
            source=self.source,
            code=code,
            rate_hz=rate,
            samples=samples,
        )


class SimMonitor:
    """The simulated monitor's side: numerics every second, NIBP per cycle, pleth at 125 Hz."""

    def __init__(self, physio: Physiology) -> None:
        self.physio = physio
        self.reset()

    def reset(self) -> None:
        self._next_numeric: float | None = None
        self._wave_t: float | None = None
        self._last_nibp_t: float | None = None

    def receive(self, data: bytes, now: float) -> None:
        """The sim monitor ignores anything sent to it."""

    def produce(self, now: float) -> bytes:
        out = bytearray()
        if self._wave_t is None:
            self._wave_t = now
            self._next_numeric = now
        assert self._next_numeric is not None
        while now - self._wave_t >= WAVE_CHUNK_S:
            n = round(WAVE_CHUNK_S * PLETH_RATE)
            samples = self.physio.pleth(self._wave_t, n, PLETH_RATE)
            out += wave_line(int(self._wave_t * 1000), mdc.MDC_PULS_OXIM_PLETH, PLETH_RATE, samples)
            self._wave_t += n / PLETH_RATE
        if now >= self._next_numeric:
            self._next_numeric = max(self._next_numeric + 1.0, now - 1.0)
            out += self._numerics(now)
        return bytes(out)

    def _numerics(self, now: float) -> bytes:
        v = self.physio.vitals(now)
        ms = int(now * 1000)
        q = Quality.QUESTIONABLE if v.artefact else Quality.VALID
        bad = Quality.INVALID
        out = bytearray()
        out += numeric_line(ms, mdc.MDC_ECG_HEART_RATE, v.hr, mdc.MDC_DIM_BEAT_PER_MIN,
                            q if v.hr is not None else bad)
        out += numeric_line(ms, mdc.MDC_PULS_OXIM_SAT_O2, v.spo2, mdc.MDC_DIM_PERCENT,
                            q if v.spo2 is not None else bad)
        out += numeric_line(ms, mdc.MDC_PULS_OXIM_PULS_RATE, v.pulse, mdc.MDC_DIM_BEAT_PER_MIN,
                            q if v.pulse is not None else bad)
        out += numeric_line(ms, mdc.MDC_RESP_RATE, v.rr, mdc.MDC_DIM_RESP_PER_MIN, Quality.VALID)
        if v.nibp is not None and v.nibp_t != self._last_nibp_t:
            self._last_nibp_t = v.nibp_t
            for code, val in zip(
                (mdc.MDC_PRESS_BLD_NONINV_SYS, mdc.MDC_PRESS_BLD_NONINV_DIA,
                 mdc.MDC_PRESS_BLD_NONINV_MEAN),
                v.nibp,
                strict=True,
            ):
                out += numeric_line(ms, code, val, mdc.MDC_DIM_MMHG, Quality.VALID)
        return bytes(out)


DRIVER = Driver(
    name="sim",
    title="Holdspace simulator (built-in)",
    settings=SerialSettings(baudrate=115200),
    make_decoder=SimDecoder,
    make_simulator=SimMonitor,
    notes="Our own documented line protocol; see docs/protocol-sim.md.",
)
