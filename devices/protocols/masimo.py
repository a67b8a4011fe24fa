"""Masimo Rad-8 / Rad-97 / Radical-7 serial ASCII output: decoder and simulator.

Facts from /work/shared/reference/protocols.md (Masimo section) and the sample lines in
protocol-samples/masimo_ascii_samples.txt. One line per second:

    MM/DD/YY HH:MM:SS SN=... SPO2=097% BPM=064 PI=00.80% ... ALARM=0000 EXC=000000

and the trend-dump / "ASCII 2" form `SpO2=097 PR=069 PI=04.69 EXC=800:SET`. Fields vary by model
and firmware, so lines are parsed by KEY=value, never by position. Lines carry no checksum, so
validation is strict instead: a line without a valid date/time, with a token that is not
KEY=value, or with a known field that does not have its documented shape or range is counted
as rejected and yields nothing.

Exceptions (EXC, hex bits; the trend dump adds text such as `OffPat`, `Search`) decide quality:
no sensor, defective or unrecognised sensor, sensor off, pulse search -> INVALID (NaN, never a
number); low perfusion, interference, ambient light, low signal IQ -> QUESTIONABLE. SpO2 or
pulse rate of zero means the oximeter has no reading: SpO2, PR and PI of that line are INVALID.
A line without EXC is QUESTIONABLE: its exception state is unknown.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from devices import mdc
from devices.containment import frame_fault
from devices.physiology import Physiology
from devices.protocol import DecoderStats, Driver, SerialSettings
from devices.reading import Quality, Reading, Sample

MAX_LINE = 512

EXC_NO_SENSOR = 0x001
EXC_DEFECTIVE_SENSOR = 0x002
EXC_LOW_PERFUSION = 0x004
EXC_PULSE_SEARCH = 0x008
EXC_INTERFERENCE = 0x010
EXC_SENSOR_OFF = 0x020
EXC_AMBIENT_LIGHT = 0x040
EXC_UNRECOGNISED_SENSOR = 0x080
EXC_LOW_SIGNAL_IQ = 0x400
EXC_SET_MODE = 0x800  # information only: full SET processing

INVALID_BITS = (
    EXC_NO_SENSOR | EXC_DEFECTIVE_SENSOR | EXC_PULSE_SEARCH | EXC_SENSOR_OFF
    | EXC_UNRECOGNISED_SENSOR
)
QUESTIONABLE_BITS = EXC_LOW_PERFUSION | EXC_INTERFERENCE | EXC_AMBIENT_LIGHT | EXC_LOW_SIGNAL_IQ

# Text forms after the colon in the trend dump (`EXC=828:Search,OffPat,SET`).
INVALID_TEXT = frozenset({"OFFPAT", "SEARCH"})
QUESTIONABLE_TEXT = frozenset({"LOWSIGIQ"})

SPO2_MAX = 100.0
PR_MAX = 350.0
PI_MAX = 20.0  # the oximeter's PI range is 0.02-20 %

_DATE = re.compile(r"(\d\d)/(\d\d)/(\d\d)")
_TIME = re.compile(r"(\d\d):(\d\d):(\d\d)")
_TOKEN = re.compile(r"([A-Za-z][A-Za-z0-9]*)=([0-9A-Za-z.%+\-:,]+)")
_DASHES = re.compile(r"[-.]*-[-.]*%?")
_SPO2 = re.compile(r"(\d{1,3})%?")
_PR = re.compile(r"(\d{1,3})")
_PI = re.compile(r"(\d{1,2}\.\d{1,2})%?")
_EXC = re.compile(r"([0-9A-Fa-f]{1,8})(?::([A-Za-z0-9,]*))?")

_CODES = {
    "SPO2": (mdc.MDC_PULS_OXIM_SAT_O2, mdc.MDC_DIM_PERCENT),
    "PR": (mdc.MDC_PULS_OXIM_PULS_RATE, mdc.MDC_DIM_BEAT_PER_MIN),
    "PI": (mdc.MDC_PULS_OXIM_PERF_REL, mdc.MDC_DIM_PERCENT),
}


class Malformed(ValueError):
    """A line that is not a well-formed Masimo data line."""


def device_time(date: str, time_: str) -> float:
    """Seconds since the epoch of the monitor's wall-clock stamp (read as host local time)."""
    d, t = _DATE.fullmatch(date), _TIME.fullmatch(time_)
    if d is None or t is None:
        raise Malformed("no date/time")
    mo, day, yy = (int(x) for x in d.groups())
    hh, mi, ss = (int(x) for x in t.groups())
    year = 2000 + yy if yy < 70 else 1900 + yy
    try:
        return dt.datetime(year, mo, day, hh, mi, ss).timestamp()
    except (ValueError, OverflowError, OSError) as e:
        raise Malformed(str(e)) from e


def _number(key: str, text: str) -> float | None:
    """The field's number, None for dashes; Malformed when the shape or range is wrong."""
    if _DASHES.fullmatch(text):
        return None
    pattern, top = {"SPO2": (_SPO2, SPO2_MAX), "PR": (_PR, PR_MAX), "PI": (_PI, PI_MAX)}[key]
    m = pattern.fullmatch(text)
    if m is None:
        raise Malformed(f"{key}={text}")
    value = float(m.group(1))
    if not 0.0 <= value <= top:
        raise Malformed(f"{key}={text} out of range")
    return value


def exception_quality(text: str | None) -> Quality:
    """Quality implied by an EXC field (None = no EXC field on the line)."""
    if text is None:
        return Quality.QUESTIONABLE
    m = _EXC.fullmatch(text)
    if m is None:
        raise Malformed(f"EXC={text}")
    bits = int(m.group(1), 16)
    words = {w.upper() for w in (m.group(2) or "").split(",") if w}
    if bits & INVALID_BITS or words & INVALID_TEXT:
        return Quality.INVALID
    if bits & QUESTIONABLE_BITS or words & QUESTIONABLE_TEXT:
        return Quality.QUESTIONABLE
    return Quality.VALID


def parse_line(line: str, now: float, source: str) -> list[Reading]:
    """Readings of one data line; raises Malformed for anything that is not one."""
    tokens = line.split()
    if len(tokens) < 3:
        raise Malformed("too short")
    when = device_time(tokens[0], tokens[1])
    fields: dict[str, str] = {}
    for tok in tokens[2:]:
        m = _TOKEN.fullmatch(tok)
        if m is None:
            raise Malformed(f"not KEY=value: {tok!r}")
        key = m.group(1).upper()
        key = "PR" if key == "BPM" else key
        if key in fields:
            raise Malformed(f"{key} twice")
        fields[key] = m.group(2)
    values = {k: _number(k, fields[k]) for k in _CODES if k in fields}
    if not values:
        raise Malformed("no SpO2, pulse rate or PI")
    quality = exception_quality(fields.get("EXC"))
    if values.get("SPO2") == 0.0 or values.get("PR") == 0.0:
        quality = Quality.INVALID  # zeros: the oximeter has no reading
    out = []
    for key, value in values.items():
        code, unit = _CODES[key]
        q = Quality.INVALID if value is None else quality
        out.append(
            Reading(
                t=now,
                source=source,
                code=mdc.canonical(code),
                value=math.nan if q == Quality.INVALID or value is None else value,
                unit=unit,
                quality=q,
                device_time=when,
            )
        )
    return out


class MasimoDecoder:
    """Line decoder; one rejected count per malformed line, resync at the next line end."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.stats = DecoderStats()
        self._buf = bytearray()
        self._skipping = False  # inside an over-long line already counted

    def reset(self) -> None:
        self._buf.clear()
        self._skipping = False

    def outgoing(self, now: float) -> bytes:
        return b""  # the oximeter only talks

    def feed(self, data: bytes, now: float) -> list[Sample]:
        self.stats.bytes_in += len(data)
        self._buf += data
        out: list[Sample] = []
        while True:
            ends = [i for i in (self._buf.find(b"\n"), self._buf.find(b"\r")) if i >= 0]
            if not ends:
                if len(self._buf) > MAX_LINE:
                    if not self._skipping:
                        self.stats.frames_rejected += 1
                        self._skipping = True
                    self._buf.clear()
                break
            end = min(ends)
            raw = bytes(self._buf[:end])
            del self._buf[: end + 1]
            if self._skipping:
                self._skipping = False
                continue
            if not raw.strip():
                continue
            try:
                if len(raw) > MAX_LINE:
                    raise Malformed("too long")
                readings = parse_line(raw.decode("ascii"), now, self.source)
            except (Malformed, UnicodeDecodeError):
                self.stats.frames_rejected += 1
                continue
            except Exception as e:  # a bug must cost this line only, never the link
                frame_fault("masimo", self.source, e, raw, self.stats)
                continue
            self.stats.frames_ok += 1
            self.stats.last_frame_t = now
            out += readings
        return out


def ascii1_line(
    when: float,
    spo2: float | None,
    bpm: float | None,
    pi: float | None,
    exc: int,
    sn: str = "0000093112",
) -> bytes:
    """A Rad-8 style "ASCII 1" line; None fields are sent as dashes."""
    stamp = dt.datetime.fromtimestamp(when).strftime("%m/%d/%y %H:%M:%S")
    s = "---" if spo2 is None else f"{round(spo2):03d}"
    b = "---" if bpm is None else f"{round(bpm):03d}"
    p = "--.--" if pi is None else f"{pi:05.2f}"
    return (
        f"{stamp} SN={sn} SPO2={s}% BPM={b} PI={p}% SPCO=--.-% SPMET=--.-% DESAT=-- "
        f"PIDELTA=+-- ALARM=0000 EXC={exc:06X}\r\n"
    ).encode("ascii")


def simulated_pi(t: float) -> float:
    """The simulator's perfusion index: the physiology model has none, so a slow wave 1.5-3.5."""
    return round(2.5 + math.sin(2 * math.pi * t / 61.0), 2)


class MasimoMonitor:
    """The oximeter's side: one ASCII 1 line per second; probe off -> dashes + sensor-off bit."""

    INTERVAL = 1.0

    def __init__(self, physio: Physiology) -> None:
        self.physio = physio
        self.reset()

    def reset(self) -> None:
        self._next: float | None = None

    def receive(self, data: bytes, now: float) -> None:
        """The oximeter ignores anything sent to it."""

    def produce(self, now: float) -> bytes:
        if self._next is None:
            self._next = now
        if now < self._next:
            return b""
        self._next += self.INTERVAL
        if self._next <= now:
            self._next = now + self.INTERVAL
        return self.line(now)

    def line(self, now: float) -> bytes:
        v = self.physio.vitals(now)
        if v.probe_off or v.spo2 is None:
            return ascii1_line(now, None, None, None, EXC_SENSOR_OFF)
        exc = EXC_LOW_SIGNAL_IQ if v.artefact else 0
        return ascii1_line(now, v.spo2, v.pulse, simulated_pi(now), exc)


DRIVER = Driver(
    name="masimo",
    title="Masimo Rad-8 / Rad-97 / Radical-7 (serial ASCII)",
    settings=SerialSettings(9600),
    make_decoder=MasimoDecoder,
    make_simulator=MasimoMonitor,
    talks_back=False,
    notes="Reads SpO2, pulse rate and PI with exception states; ASCII 1 and trend-dump lines.",
    aliases=("rad8", "rad97", "radical7"),
)
