"""Masimo Rad-8 / Rad-97 / Radical-7 serial ASCII output: decoder and simulator.

Facts from /work/shared/reference/protocols.md (Masimo section) and the sample lines in
protocol-samples/masimo_ascii_samples.txt. One line per second:

    MM/DD/YY HH:MM:SS SN=... SPO2=097% BPM=064 PI=00.80% ... ALARM=0000 EXC=000000

and the trend-dump / "ASCII 2" form `SpO2=097 PR=069 PI=04.69 EXC=800:SET`. Fields vary by model
and firmware, so lines are parsed by KEY=value, never by position. Lines carry no checksum, so
validation is strict instead: a line without a valid date/time, with a token that is not
KEY=value, or with a known field that does not have its documented shape or range is counted
as rejected and yields nothing.

Exceptions (EXC, hex bits; the trend dump adds text such as `OffPat`, `Search`) decide quality,
bit by bit, from the Radical-5/7 serial interface's exception list (as named in MD PnP OpenICE,
poxrad_discrete.h, and in /work/shared/reference/protocols.md). A condition under which the
oximeter cannot measure (no or defective or unrecognised or incompatible sensor or cable, sensor
off, pulse search, sensor or cable life expired, sensor calibrating, emitter temperature or
sensor current out of range) makes SpO2, PR and PI INVALID (NaN, never a number); one under
which it measures with less confidence (low perfusion, low signal IQ, interference, ambient
light) makes them QUESTIONABLE. Either way the reading's `reason` says which, in words for the
room ("monitor: sensor off patient"). SpCO/SpMET low confidence concern values we do not
read; full SET mode is information only. SpO2 or pulse rate of zero means the oximeter has no
reading: SpO2, PR and PI of that line are INVALID. A line without EXC is QUESTIONABLE: its
exception state is unknown.
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

EXC_NO_SENSOR = 0x000001
EXC_DEFECTIVE_SENSOR = 0x000002
EXC_LOW_PERFUSION = 0x000004
EXC_PULSE_SEARCH = 0x000008
EXC_INTERFERENCE = 0x000010
EXC_SENSOR_OFF = 0x000020
EXC_AMBIENT_LIGHT = 0x000040
EXC_UNRECOGNISED_SENSOR = 0x000080
EXC_INCOMPATIBLE_SENSOR = 0x000100
EXC_LOW_SIGNAL_IQ = 0x000400
EXC_SET_MODE = 0x000800  # information only: full SET processing
EXC_NO_CABLE = 0x001000
EXC_CABLE_EXPIRED = 0x002000
EXC_INCOMPATIBLE_CABLE = 0x004000
EXC_UNRECOGNISED_CABLE = 0x008000
EXC_DEFECTIVE_CABLE = 0x010000
EXC_SENSOR_CALIBRATING = 0x020000
EXC_SENSOR_EXPIRED = 0x040000
EXC_EMITTER_TEMP = 0x080000
EXC_SENSOR_CURRENT = 0x100000
EXC_SPCO_LOW_CONFIDENCE = 0x200000  # concerns SpCO only, which we do not read
EXC_SPMET_LOW_CONFIDENCE = 0x400000  # concerns SpMET only

# Each exception bit: what it does to SpO2, PR and PI, and how the room is told.
EXCEPTIONS: dict[int, tuple[Quality, str]] = {
    EXC_NO_SENSOR: (Quality.INVALID, "no sensor"),
    EXC_DEFECTIVE_SENSOR: (Quality.INVALID, "sensor defective"),
    EXC_PULSE_SEARCH: (Quality.INVALID, "searching for pulse"),
    EXC_SENSOR_OFF: (Quality.INVALID, "sensor off patient"),
    EXC_UNRECOGNISED_SENSOR: (Quality.INVALID, "sensor not recognised"),
    EXC_INCOMPATIBLE_SENSOR: (Quality.INVALID, "incompatible sensor"),
    EXC_NO_CABLE: (Quality.INVALID, "no cable"),
    EXC_CABLE_EXPIRED: (Quality.INVALID, "cable life expired"),
    EXC_INCOMPATIBLE_CABLE: (Quality.INVALID, "incompatible cable"),
    EXC_UNRECOGNISED_CABLE: (Quality.INVALID, "cable not recognised"),
    EXC_DEFECTIVE_CABLE: (Quality.INVALID, "cable defective"),
    EXC_SENSOR_CALIBRATING: (Quality.INVALID, "sensor calibrating"),
    EXC_SENSOR_EXPIRED: (Quality.INVALID, "sensor life expired"),
    EXC_EMITTER_TEMP: (Quality.INVALID, "sensor temperature out of range"),
    EXC_SENSOR_CURRENT: (Quality.INVALID, "sensor current too high"),
    EXC_LOW_PERFUSION: (Quality.QUESTIONABLE, "low perfusion"),
    EXC_INTERFERENCE: (Quality.QUESTIONABLE, "interference"),
    EXC_AMBIENT_LIGHT: (Quality.QUESTIONABLE, "ambient light"),
    EXC_LOW_SIGNAL_IQ: (Quality.QUESTIONABLE, "low signal IQ"),
}
INVALID_BITS = sum(b for b, (q, _) in EXCEPTIONS.items() if q == Quality.INVALID)
QUESTIONABLE_BITS = sum(b for b, (q, _) in EXCEPTIONS.items() if q == Quality.QUESTIONABLE)

# Text forms after the colon in the trend dump (`EXC=828:Search,OffPat,SET`).
EXCEPTION_TEXT: dict[str, int] = {
    "OFFPAT": EXC_SENSOR_OFF,
    "SEARCH": EXC_PULSE_SEARCH,
    "LOWSIGIQ": EXC_LOW_SIGNAL_IQ,
}
NO_EXC_REASON = "monitor: exception state not sent (no EXC field)"

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


def exceptions(text: str | None) -> tuple[Quality, str | None]:
    """Quality implied by an EXC field (None = no EXC field on the line), and why in words."""
    if text is None:
        return Quality.QUESTIONABLE, NO_EXC_REASON
    m = _EXC.fullmatch(text)
    if m is None:
        raise Malformed(f"EXC={text}")
    bits = int(m.group(1), 16)
    for word in (m.group(2) or "").split(","):
        bits |= EXCEPTION_TEXT.get(word.upper(), 0)
    for quality in (Quality.INVALID, Quality.QUESTIONABLE):
        said = [words for b, (q, words) in EXCEPTIONS.items() if q == quality and bits & b]
        if said:
            return quality, "monitor: " + ", ".join(said)
    return Quality.VALID, None


def exception_quality(text: str | None) -> Quality:
    """Quality implied by an EXC field (None = no EXC field on the line)."""
    return exceptions(text)[0]


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
    quality, why = exceptions(fields.get("EXC"))
    if quality != Quality.INVALID and (values.get("SPO2") == 0.0 or values.get("PR") == 0.0):
        quality, why = Quality.INVALID, "monitor: no reading (zero)"  # zeros: nothing measured
    out = []
    for key, value in values.items():
        code, unit = _CODES[key]
        if value is None:
            q = Quality.INVALID
            reason = why if quality == Quality.INVALID else "monitor: no value (dashes)"
        else:
            q, reason = quality, why
        out.append(
            Reading(
                t=now,
                source=source,
                code=mdc.canonical(code),
                value=math.nan if q == Quality.INVALID or value is None else value,
                unit=unit,
                quality=q,
                device_time=when,
                reason=reason,
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
