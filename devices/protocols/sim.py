"""Holdspace's own line protocol, spoken by the built-in simulator.

Documented in docs/protocol-sim.md. One ASCII line per numeric or per wave chunk, NMEA-style:

    $HSN,<device ms>,<MDC code>,<value or ->,<MDC unit>,<quality>*HH\r\n
    $HSW,<device ms of first sample>,<MDC code>,<rate Hz>,<s1> <s2> ...*HH\r\n

HH is the XOR of every byte between `$` and `*`, as two upper-case hex digits. Wave samples
are integers 0..1000 (scaled by 1/1000). A line with a bad checksum is counted and dropped.
"""

from __future__ import annotations

import math

import numpy as np

from devices import mdc
from devices.physiology import Physiology
from devices.protocol import DecoderStats, Driver, SerialSettings
from devices.reading import Quality, Reading, Sample, WaveChunk

MAX_LINE = 4096
PLETH_RATE = 125.0
WAVE_CHUNK_S = 0.2


def checksum(body: bytes) -> int:
    c = 0
    for b in body:
        c ^= b
    return c


def frame(body: str) -> bytes:
    raw = body.encode("ascii")
    return b"$" + raw + b"*" + f"{checksum(raw):02X}".encode() + b"\r\n"


def numeric_line(device_ms: int, code: int, value: float | None, unit: int, q: Quality) -> bytes:
    v = "-" if value is None or math.isnan(value) else f"{value:g}"
    return frame(f"HSN,{device_ms},{code},{v},{unit},{int(q)}")


def wave_line(device_ms: int, code: int, rate: float, samples: np.ndarray) -> bytes:
    ints = np.clip(np.round(samples * 1000), 0, 1000).astype(int)
    return frame(f"HSW,{device_ms},{code},{rate:g}," + " ".join(map(str, ints)))


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
            sample = self._parse(line, now)
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
        if start < 0 or star < start or len(line) - star != 3:
            return None
        body = line[start + 1 : star]
        try:
            if int(line[star + 1 :], 16) != checksum(body):
                return None
            parts = body.decode("ascii").split(",")
            if parts[0] == "HSN" and len(parts) == 6:
                value = math.nan if parts[3] == "-" else float(parts[3])
                q = Quality(int(parts[5]))
                if math.isnan(value):
                    q = Quality.INVALID
                return Reading(
                    t=now,
                    source=self.source,
                    code=mdc.canonical(int(parts[2])),
                    value=value,
                    unit=int(parts[4]),
                    quality=q,
                    device_time=int(parts[1]) / 1000.0,
                )
            if parts[0] == "HSW" and len(parts) == 5:
                rate = float(parts[3])
                samples = np.array(parts[4].split(), dtype=np.float32) / 1000.0
                if rate <= 0 or samples.size == 0:
                    return None
                return WaveChunk(
                    t0=now - samples.size / rate,
                    source=self.source,
                    code=int(parts[2]),
                    rate_hz=rate,
                    samples=samples,
                )
        except (ValueError, UnicodeDecodeError):
            return None
        return None


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
