"""HL7 v2 ORU^R01 over MLLP, from a monitor or a gateway, over serial or TCP.

Framing is MLLP: 0x0B, the message (segments ending in CR), 0x1C 0x0D. Messages are parsed
with hl7apy (tolerant validation, so vendor Z-segments and extra fields pass), or, when they
use only the default delimiters and no escapes, split directly for speed (see `parse`). A
frame that does not parse, that holds control characters, or whose NM observation is not a number is
counted in `stats.frames_rejected` and gives no value at all, since HL7 carries no checksum
and a garbled value elsewhere in the frame is then likely. So is a frame whose last segment
lacks its CR (bytes lost before 0x1C could have cut a value short: "97" arriving as "9").
Without a checksum a changed digit inside an intact frame cannot be detected; over serial
that is a limit of the protocol, over TCP the transport checks it. Segments end in CR (CR LF
is accepted); a bare LF, any other control character, an empty segment, or a segment id that
is neither an HL7 segment nor a Z-segment rejects the frame.

OBX-3 is mapped to an MDC code when it is MDC-coded, when any coding names a known
`MDC_...` reference id, or when a vendor system (e.g. 99MNDRY) carries a known MDC number; a
coding whose number and name disagree is not guessed at. Anything else is counted in
`unknown_codes` and logged once, never silently dropped. NIBP in
the cuff family (150301-3) is folded onto 150021-3 by mdc.canonical.

Waves: an NA observation ('^'-separated samples, an empty one a gap) becomes a WaveChunk in
the device's own units when an MDC_ATTR_SAMP_RATE row gives its rate in Hz (the one whose
OBX-4 extends the wave's, else the latest without a rate); without a rate it is counted in
`skipped`, never guessed. (Recognised by name: the attribute's number is UNVERIFIED.)

Quality: sentinels (-999, -100, 32767), empty values and dashes give NaN/INVALID; OBX-11 X, N, I, D
and W give INVALID, P gives QUESTIONABLE; MSH-11 T (training) or D (debugging) gives DEMO;
a unit we cannot read, or a unit other than the one a known parameter is shown in, gives
INVALID (stored, never displayed as a number in the wrong unit), each with its reason.
An empty unit (OBX-6) is taken as the parameter's own unit only when the value is plausible in
it (devices.plausibility defaults); otherwise the reading is INVALID. A lost field can shift
the unit code into the value's place ("266016" read as a systolic pressure); such an NM value
usually arrives with components ("266016^MDC_DIM_MMHG^MDC"), and an NM OBX-5 with components
or repetitions rejects the whole frame. Every value then passes the link's plausibility gate.
Device time is OBX-14, else OBR-7, else MSH-7. A value repeated with the same device time
(monitors resend the last NIBP in every message with its OBX-14; senders resend a message whose
ACK they missed) is emitted once, so an old cuff reading never looks fresh.

Acknowledgement: MSA|AA (or AE for a parsed message we could not use) is sent when MSH-15
is AL, empty (HL7 original mode, as IHE PCD-01 senders expect), or SU/ER as they ask; never
for NE. Serial: 115200 baud, because one ORU^R01 with ten OBX is 1-1.5 kB and 9600 baud
(~960 bytes/s) cannot carry one per second; gateways are usually reached over TCP anyway
(socket://host:port), where the baud rate does not matter.
"""

from __future__ import annotations

import functools
import importlib
import logging
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np

from devices import mdc, plausibility
from devices.containment import frame_fault
from devices.physiology import Physiology
from devices.protocol import DecoderStats, Driver, SerialSettings
from devices.reading import Quality, Reading, Sample, WaveChunk

log = logging.getLogger(__name__)

SB, EB, CR = b"\x0b", b"\x1c", b"\x0d"
MAX_MESSAGE = 1 << 20  # bytes; a frame longer than this is garbage
# Every segment, the last included, ends with CR. A frame whose end is missing its CR may have
# lost bytes (e.g. the end of a value), so it is rejected. One constant if a vendor omits it.
REQUIRE_FINAL_CR = True
PLAIN_MSH = "MSH|^~\\&|"
FALLBACK_VERSION = "2.6"  # parse with this when MSH-12 names a version hl7apy lacks
SENTINELS = frozenset({-999.0, -100.0, 32767.0})  # vendors' "no value" (UNVERIFIED per vendor)
STATUS_INVALID = frozenset({"X", "N", "I", "D", "W"})  # OBX-11: cannot obtain, deleted, wrong…
STATUS_QUESTIONABLE = frozenset({"P"})  # preliminary
DEMO_PROCESSING = frozenset({"T", "D"})  # MSH-11 training / debugging
# After CR LF is folded to CR, any other control character (a bare LF or TAB included) means
# the frame was damaged on the way: HL7 text from a monitor has none.
_CONTROL = re.compile(r"[\x00-\x0c\x0e-\x1f\x7f]")
# hl7apy (tolerant) accepts odd segment names such as "Z0|" or "obx"; a stray CR inside a
# segment shows up as one, so every segment must start with a proper three-character id.
_SEGMENT = re.compile(r"[A-Z][A-Z0-9]{2}(\|.*)?")
_NM = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")  # HL7 NM: optional sign, digits, optional point


@functools.cache
def known_segments() -> frozenset[str]:
    """Every segment id any HL7 version hl7apy knows defines (vendors' Z-segments aside).

    A stray CR that splits a segment leaves a tail such as "MDC|..." or "R01|...": not a
    segment. Loaded on first use: reading all versions' tables takes a fifth of a second.
    """
    from hl7apy import SUPPORTED_LIBRARIES

    names: set[str] = set()
    for module in SUPPORTED_LIBRARIES.values():
        try:
            table = importlib.import_module(f"{module}.segments").SEGMENTS
        except (ImportError, AttributeError):
            continue
        names.update(k for k in table if len(k) == 3)
    return frozenset(names)


def segment_ok(line: str) -> bool:
    return bool(_SEGMENT.fullmatch(line)) and (line[0] == "Z" or line[:3] in known_segments())


# Every MDC reference id we know, by name, for vendor codings that carry it as text.
CODE_BY_NAME: dict[str, int] = {
    k: v for k, v in vars(mdc).items()
    if k.startswith("MDC_") and not k.startswith("MDC_DIM_") and isinstance(v, int)
}
KNOWN_CODES = frozenset(CODE_BY_NAME.values())
UNIT_BY_NAME: dict[str, int] = {
    k: v for k, v in vars(mdc).items() if k.startswith("MDC_DIM_") and isinstance(v, int)
}
PER_MIN = -1  # "/min" without saying of what: the parameter decides (beats or breaths)
UNIT_BY_TEXT: dict[str, int] = {
    "%": mdc.MDC_DIM_PERCENT,
    "bpm": mdc.MDC_DIM_BEAT_PER_MIN,
    "{beats}/min": mdc.MDC_DIM_BEAT_PER_MIN,
    "{beat}/min": mdc.MDC_DIM_BEAT_PER_MIN,
    "rpm": mdc.MDC_DIM_RESP_PER_MIN,
    "brpm": mdc.MDC_DIM_RESP_PER_MIN,
    "{breaths}/min": mdc.MDC_DIM_RESP_PER_MIN,
    "{breath}/min": mdc.MDC_DIM_RESP_PER_MIN,
    "{resp}/min": mdc.MDC_DIM_RESP_PER_MIN,
    "/min": PER_MIN,
    "1/min": PER_MIN,
    "min-1": PER_MIN,
    "mmhg": mdc.MDC_DIM_MMHG,
    "mm[hg]": mdc.MDC_DIM_MMHG,
    "cel": mdc.MDC_DIM_DEGC,
    "degc": mdc.MDC_DIM_DEGC,
    "°c": mdc.MDC_DIM_DEGC,
}


def _num(name: str) -> int:
    tail = name.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _trim(comps: list[str]) -> list[str]:
    """Drop trailing empty components, so "%^^" and "%" read alike."""
    while len(comps) > 1 and comps[-1] == "":
        comps.pop()
    return comps


def components(field: Any) -> list[str]:
    """The component values of one hl7apy field repetition, by position (1-based -> [0])."""
    kids = getattr(field, "children", None)
    if not kids:
        return [str(field.value or "")]
    out: list[str] = []
    for c in kids:
        n = _num(c.name) or 1  # simple types name their one component without a number
        while len(out) < n:
            out.append("")
        out[n - 1] = str(c.value or "")
    return _trim(out)


class Segment:
    """One segment's fields by number (repetitions of components), whichever parser read it."""

    def __init__(self, name: str, fields: dict[int, list[list[str]]]) -> None:
        self.name = name
        self._fields = fields

    @classmethod
    def from_hl7apy(cls, seg: Any) -> Segment:
        fields: dict[int, list[list[str]]] = {}
        for f in seg.children:
            fields.setdefault(_num(f.name), []).append(components(f))
        return cls(seg.name, fields)

    @classmethod
    def from_plain_er7(cls, line: str) -> Segment:
        """A segment in default delimiters with no escapes or subcomponents (see `parse`)."""
        parts = line.split("|")
        name = parts[0]
        first = 3 if name == "MSH" else 1  # MSH-1 is the "|" itself, MSH-2 the encoding chars
        values = parts[2:] if name == "MSH" else parts[1:]
        fields: dict[int, list[list[str]]] = {}
        for n, text in enumerate(values, start=first):
            if text.strip():  # hl7apy reads blank fields and components as empty; so do we
                fields[n] = [_trim([c if c.strip() else "" for c in rep.split("^")])
                             for rep in text.split("~")]
        return cls(name, fields)

    def reps(self, n: int) -> list[list[str]]:
        return self._fields.get(n, [])

    def comps(self, n: int) -> list[str]:
        r = self.reps(n)
        return r[0] if r else []

    def get(self, n: int, comp: int = 1) -> str:
        c = self.comps(n)
        return c[comp - 1].strip() if len(c) >= comp else ""


def parse_hl7_time(text: str) -> float | None:
    """HL7 DTM (YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+/-ZZZZ]) to epoch seconds; local time if no zone."""
    m = re.fullmatch(
        r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?", text.strip()
    )
    if not m:
        return None
    y, mo, d, h, mi, s, frac, zone = m.groups()
    try:
        tz = None
        if zone:
            sign = -1 if zone[0] == "-" else 1
            tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])))
        dt = datetime(int(y), int(mo or 1), int(d or 1), int(h or 0), int(mi or 0), int(s or 0),
                      tzinfo=tz)
        return dt.timestamp() + (float("0." + frac) if frac else 0.0)
    except (ValueError, OverflowError, OSError):  # no such date, or out of the platform's range
        return None


def format_hl7_time(t: float) -> str:
    dt = datetime.fromtimestamp(t, UTC)
    return dt.strftime("%Y%m%d%H%M%S") + f".{dt.microsecond // 1000:03d}+0000"


def mllp(message: str) -> bytes:
    """Wrap one message (segments joined by CR) in MLLP framing, final CR included."""
    body = message if message.endswith("\r") else message + "\r"
    return SB + body.encode("utf-8") + EB + CR


def parse_with_hl7apy(text: str) -> list[Segment]:
    """All segments, read by hl7apy (tolerant); versions it lacks are read as 2.6."""
    # Imported here: hl7apy takes a tenth of a second to load and most messages never need it.
    from hl7apy.consts import VALIDATION_LEVEL
    from hl7apy.exceptions import UnsupportedVersion
    from hl7apy.parser import parse_message, parse_segments

    try:
        msg = parse_message(text, validation_level=VALIDATION_LEVEL.TOLERANT, find_groups=False)
        segs = list(msg.children)
    except UnsupportedVersion:
        segs = list(parse_segments(text, version=FALLBACK_VERSION,
                                   validation_level=VALIDATION_LEVEL.TOLERANT))
    return [Segment.from_hl7apy(s) for s in segs]


def is_plain(text: str) -> bool:
    """Default delimiters and, past MSH-2, no escape or subcomponent character at all."""
    return text.startswith(PLAIN_MSH) and "\\" not in text[9:] and "&" not in text[9:]


def parse(text: str) -> list[Segment]:
    """All segments of one message (CR-separated); raises on anything that cannot be read.

    hl7apy reads every message that uses escapes, subcomponents or other delimiters. The plain
    majority (default delimiters, none of those) is split directly: hl7apy takes 10-20 ms for
    a monitor's message, which is 5x the 115200-baud line rate where 100x is required.
    tests/test_proto_hl7.py holds the two readers equal on generated and vendor messages.
    """
    text = text.rstrip("\r")
    if is_plain(text):
        out = [Segment.from_plain_er7(line) for line in text.split("\r")]
    else:
        out = parse_with_hl7apy(text)
    if not out or out[0].name != "MSH":
        raise ValueError("message does not start with MSH")
    if any(s.name == "MSH" for s in out[1:]):
        raise ValueError("two messages in one frame (a frame end was lost)")
    return out


def wants_ack(accept_ack_type: str, ok: bool) -> bool:
    """MSH-15: AL always, NE never, SU on success, ER on error; empty = original mode: always."""
    t = accept_ack_type.upper()
    if t in ("", "AL"):
        return True
    if t == "SU":
        return ok
    if t == "ER":
        return not ok
    return False


def build_ack(msh: Segment, code: str, control_id: str, now: float) -> bytes:
    """An MLLP-framed ACK in the sender's HL7 version, answering its MSH-10.

    Written out directly: building it with hl7apy costs as much as parsing the message, and
    the fields we copy back are the sender's own (already escaped) text.
    """
    version = msh.get(12) or FALLBACK_VERSION
    trigger = msh.get(9, 2) or "R01"
    mtype = f"ACK^{trigger}" if version < "2.4" else f"ACK^{trigger}^ACK"
    fields = [
        "MSH", "^~\\&", "HOLDSPACE", "", msh.get(3), msh.get(4), format_hl7_time(now)[:14], "",
        mtype, control_id or "0", msh.get(11) or "P", version,
    ]
    return mllp("|".join(fields) + "\r" + f"MSA|{code}|{msh.get(10)}")


_HEX_CODE = re.compile(r"([0-9A-Fa-f]{4})-([0-9A-Fa-f]{4})")  # "0002-4182": partition-term


def mdc_number(ident: str, system: str) -> int | None:
    """An MDC code from a coding's identifier: MDC-coded decimal ("147842") or partition-term
    hex ("0002-4182", UNVERIFIED which senders use it), or a known MDC number under a vendor's
    own system (e.g. 99MNDRY)."""
    if system == "MDC":
        if ident.isdigit() and int(ident) > 0:
            return int(ident)
        m = _HEX_CODE.fullmatch(ident)
        if m:
            return (int(m.group(1), 16) << 16) | int(m.group(2), 16)
    if ident.isdigit() and int(ident) in KNOWN_CODES:
        return int(ident)
    return None


MAX_RATE_HZ = 10_000.0
SAMPLE_RATE_NAME = "MDC_ATTR_SAMP_RATE"  # the attribute OBX giving an NA wave's rate (in Hz)


@dataclass(slots=True)
class _Wave:
    code: int
    sub_id: str  # OBX-4; the rate OBX's sub-id extends it (IHE PCD containment)
    samples: np.ndarray
    quality: Quality
    rate: float | None = None


def is_sample_rate(obx: Segment) -> bool:
    return any(SAMPLE_RATE_NAME in c.upper() for rep in obx.reps(3) for c in rep)


def _attach_rate(waves: list[_Wave], obx: Segment) -> None:
    """Give the rate to the wave it belongs to: the latest whose sub-id it extends, else the
    latest still without one. A rate that is not a plain HL7 number is ignored."""
    text = obx.get(5)
    if not _NM.fullmatch(text):
        return
    sub = obx.get(4)
    for w in reversed(waves):
        if w.sub_id and sub.startswith(w.sub_id + "."):
            w.rate = float(text)
            return
    for w in reversed(waves):
        if w.rate is None:
            w.rate = float(text)
            return


MAX_KEYS = 500  # distinct keys per counter; past that, new ones are counted under "…"


def _count(counter: Counter[str], key: str) -> None:
    """Count without letting a stream of ever-new codes grow the counter without bound."""
    counter[key if key in counter or len(counter) < MAX_KEYS else "…"] += 1


class BadMessage(ValueError):
    """A parsed message whose content is unusable (e.g. an NM value that is not a number)."""


class Hl7Decoder:
    """MLLP de-framing, parsing, OBX to Reading, and ACKs back to the sender."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.stats = DecoderStats()
        self.unknown_codes: Counter[str] = Counter()  # OBX-3 we could not map, by coding
        self.unknown_units: Counter[str] = Counter()  # OBX-6 we could not read or did not expect
        self.other_messages: Counter[str] = Counter()  # e.g. ORU^R40 alarms, ADT
        self.skipped: Counter[str] = Counter()  # OBX value types we do not decode (NA, ST, …)
        self.acks_sent = 0
        self._ack_no = 0
        # code -> (device time, value) last emitted; kept across reconnects, so a monitor
        # resending its last NIBP after a cable replug does not make it look new.
        self._last: dict[int, tuple[float, float]] = {}
        self.reset()

    def reset(self) -> None:
        self._buf = bytearray()
        self._in_garbage = False
        self._out = bytearray()

    def outgoing(self, now: float) -> bytes:
        out, self._out = bytes(self._out), bytearray()
        return out

    # --- framing -------------------------------------------------------------------------------

    def feed(self, data: bytes, now: float) -> list[Sample]:
        self.stats.bytes_in += len(data)
        self._buf += data
        out: list[Sample] = []
        buf = self._buf
        while buf:
            sb = buf.find(SB)
            if sb < 0:
                self._garbage(buf)
                buf.clear()
                break
            if sb:
                self._garbage(buf[:sb])
                del buf[:sb]
            self._in_garbage = False
            eb = buf.find(EB, 1)
            nsb = buf.find(SB, 1)
            if nsb >= 0 and (eb < 0 or nsb < eb):  # a new start before this one ended
                self.stats.frames_rejected += 1
                del buf[:nsb]
                continue
            if eb < 0:
                if len(buf) > MAX_MESSAGE:
                    self.stats.frames_rejected += 1
                    buf.clear()
                break
            body = bytes(buf[1:eb])
            del buf[: eb + 1]
            if buf[:1] == CR:
                del buf[:1]
            try:
                out += self._message(body, now)
            except Exception as e:  # a bug must cost this message only, never the link
                frame_fault("hl7", self.source, e, body, self.stats)
        return out

    def _garbage(self, data: bytes | bytearray) -> None:
        """Count a run of bytes outside any frame once, however it is split across reads."""
        if not self._in_garbage and bytes(data).strip(b"\r\n\t "):
            self.stats.frames_rejected += 1
            self._in_garbage = True

    # --- one message ---------------------------------------------------------------------------

    def _message(self, body: bytes, now: float) -> list[Sample]:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = body.decode("latin-1")
        text = text.replace("\r\n", "\r").lstrip("\r")
        if REQUIRE_FINAL_CR and not text.endswith("\r"):
            self.stats.frames_rejected += 1  # cut short: its last segment cannot be trusted
            return []
        text = text.rstrip("\r")
        if (not text or _CONTROL.search(text)
                or not all(segment_ok(seg) for seg in text.split("\r"))):
            self.stats.frames_rejected += 1
            return []
        try:
            segs = parse(text)
        except Exception:  # hl7apy raises many kinds; none may escape a decoder
            self.stats.frames_rejected += 1
            return []
        msh = segs[0]
        try:
            samples = self._samples(segs, now)
        except BadMessage as e:
            self.stats.frames_rejected += 1
            log.debug("%s: unusable message %s: %s", self.source, msh.get(10), e)
            self._ack(msh, ok=False, now=now)
            return []
        except Exception as e:  # a bug: it costs this message, logged without its content
            frame_fault("hl7", self.source, e, body, self.stats)
            self._ack(msh, ok=False, now=now)
            return []
        self.stats.frames_ok += 1
        self.stats.last_frame_t = now
        self._ack(msh, ok=True, now=now)
        return samples

    def _ack(self, msh: Segment, ok: bool, now: float) -> None:
        if not wants_ack(msh.get(15), ok):
            return
        self._ack_no += 1
        try:
            self._out += build_ack(msh, "AA" if ok else "AE", f"HS{self._ack_no}", now)
            self.acks_sent += 1
        except Exception as e:  # an ACK we cannot build must not stop decoding
            log.debug("%s: cannot build ACK: %s", self.source, e)

    def _samples(self, segs: list[Segment], now: float) -> list[Sample]:
        msh = segs[0]
        mtype = "^".join(msh.comps(9)[:2])
        if mtype != "ORU^R01":
            _count(self.other_messages, mtype)
            return []
        msh_time = parse_hl7_time(msh.get(7))
        demo = msh.get(11).upper() in DEMO_PROCESSING
        obr_time: float | None = None
        drafts: list[Reading] = []
        waves: list[_Wave] = []
        for seg in segs[1:]:
            if seg.name == "OBR":
                obr_time = parse_hl7_time(seg.get(7))
            elif seg.name != "OBX":
                continue
            elif seg.get(2).upper() == "NA":
                wave = self._wave(seg, demo)
                if wave is not None:
                    waves.append(wave)
            elif is_sample_rate(seg):
                _attach_rate(waves, seg)
            else:
                r = self._observation(seg, now, obr_time or msh_time, demo)
                if r is not None:
                    drafts.append(r)
        out: list[Sample] = [r for r in drafts if self._fresh(r)]
        for w in waves:
            if w.rate is None or not 0 < w.rate <= MAX_RATE_HZ:
                _count(self.skipped, "NA without sample rate")
                continue
            out.append(WaveChunk(t0=now - len(w.samples) / w.rate, source=self.source,
                                 code=w.code, rate_hz=w.rate, samples=w.samples,
                                 quality=w.quality))
        return out

    def _wave(self, obx: Segment, demo: bool) -> _Wave | None:
        """An NA observation: samples separated by '^'; an empty one is a gap (NaN)."""
        raw_code = obx.reps(3)
        if not raw_code or not any(raw_code[0]):
            raise BadMessage("OBX-3 empty")
        code = self._code(raw_code)
        if code is None:
            return None
        texts = [t.strip() for t in obx.comps(5)]
        bad = next((t for t in texts if t and not _NM.fullmatch(t)), None)
        if bad is not None:
            raise BadMessage(f"wave sample {bad!r} is not an HL7 number")
        samples = np.array([float(t) if t else math.nan for t in texts], dtype=np.float32)
        quality = Quality.DEMO if demo else Quality.VALID
        if obx.get(11).upper() in STATUS_INVALID:
            quality = Quality.INVALID
        return _Wave(code, obx.get(4), samples, quality)

    def _fresh(self, r: Reading) -> bool:
        """False for a repeat of the last value with the same observation time."""
        if r.device_time is None:
            return True
        key = (r.device_time, r.value)
        if self._last.get(r.code) == key:
            return False
        self._last[r.code] = key
        return True

    def _observation(
        self, obx: Segment, now: float, fallback_time: float | None, demo: bool
    ) -> Reading | None:
        vtype = obx.get(2).upper()
        raw_code = obx.reps(3)
        if not raw_code or not any(raw_code[0]):
            raise BadMessage("OBX-3 empty")
        if vtype != "NM":
            _count(self.skipped, vtype or "?")
            return None
        code = self._code(raw_code)
        if code is None:
            return None
        if len(obx.reps(5)) > 1 or len(obx.comps(5)) > 1:
            # NM is one number. Components here mean a field went missing and the next one
            # (typically the unit, "266016^MDC_DIM_MMHG^MDC") slid into the value's place.
            raise BadMessage("OBX-5 of an NM observation has components or repetitions")
        text = obx.get(5)
        quality = Quality.DEMO if demo else Quality.VALID
        reason: str | None = None
        if text.strip("-") == "":  # empty, or dashes as some displays show "no value"
            value = math.nan
        elif _NM.fullmatch(text):
            value = float(text)
        else:  # Python's float() would also take "9_7", "1e3" or "inf": HL7 NM takes none
            raise BadMessage(f"OBX-5 {text!r} is not an HL7 number")
        if math.isnan(value) or value in SENTINELS:
            reason = "monitor: no value" + ("" if math.isnan(value) else f" ({text})")
            value, quality = math.nan, Quality.INVALID
        status = obx.get(11).upper()
        if status in STATUS_INVALID:
            quality, reason = Quality.INVALID, reason or f"monitor: result status {status}"
        elif status in STATUS_QUESTIONABLE:
            quality = max(quality, Quality.QUESTIONABLE)
            reason = reason or "monitor: preliminary result"
        unit = self._unit(obx.comps(6), code)
        if unit is None:
            quality, unit = Quality.INVALID, 0
            reason = f"{mdc.label(code)}: unit {'^'.join(obx.comps(6)[:2])!r} is not its unit"
        elif not any(obx.comps(6)) and quality != Quality.INVALID:
            refused = self._unit_refused(code, value)
            if refused is not None:
                quality, reason = Quality.INVALID, refused
        obs_time = parse_hl7_time(obx.get(14))
        return Reading(
            t=now,
            source=self.source,
            code=code,
            value=value,
            unit=unit,
            quality=quality,
            device_time=obs_time if obs_time is not None else fallback_time,
            reason=reason,
        )

    @staticmethod
    def _unit_refused(code: int, value: float) -> str | None:
        """Why a value sent without a unit cannot be taken in its parameter's unit, or None.

        Senders omit OBX-6 now and then, and a plausible value is then taken in the unit the
        parameter is shown in. An implausible one is not: a lost field can shift the unit code
        itself into the value ("266016" as a systolic pressure). Judged against the default
        limits (a clinic's own limits are applied afterwards by the link's gate).
        """
        lim = plausibility.DEFAULT_LIMITS.get(code)
        if lim is None or lim.low <= value <= lim.high:
            return None
        return (f"no unit sent, and {mdc.label(code)} {value:g} is not plausible in "
                f"{mdc.unit_text(lim.unit)}")

    def _code(self, reps: list[list[str]]) -> int | None:
        """The canonical MDC code of OBX-3 (any repetition, primary or alternate coding).

        A coding whose number and reference id name different parameters is not guessed at.
        """
        for rep in reps:
            padded = [*rep, "", "", "", "", "", ""]
            for ident, text, system in (padded[0:3], padded[3:6]):
                by_number = mdc_number(ident.strip(), system.strip().upper())
                by_name = CODE_BY_NAME.get(text.strip().upper())
                if by_number is not None and by_name is not None and by_number != by_name:
                    continue
                code = by_name if by_name is not None else by_number
                if code is not None:
                    return mdc.canonical(code)
        key = "^".join(reps[0][:3])
        if key not in self.unknown_codes:
            log.info("%s: unknown observation %s (counted, not shown)", self.source, key)
        _count(self.unknown_codes, key)
        return None

    def _unit(self, comps: list[str], code: int) -> int | None:
        """The MDC unit, or None if unreadable or not the unit this parameter is shown in."""
        ident, text, system = [*comps, "", "", ""][:3]
        ident, text, system = ident.strip(), text.strip(), system.strip().upper()
        param = mdc.PARAMETERS.get(code)
        expected = param.unit if param else None
        unit: int | None = None
        if not ident and not text:
            unit = expected if expected is not None else mdc.MDC_DIM_DIMLESS
        elif ident.isdigit() and system in ("MDC", ""):
            unit = int(ident)
        else:
            for word in (ident, text):
                if word.upper() in UNIT_BY_NAME:
                    unit = UNIT_BY_NAME[word.upper()]
                    break
                if word.lower() in UNIT_BY_TEXT:
                    unit = UNIT_BY_TEXT[word.lower()]
                    break
        if unit == PER_MIN:
            per_min = (mdc.MDC_DIM_BEAT_PER_MIN, mdc.MDC_DIM_RESP_PER_MIN)
            unit = expected if expected in per_min else None
        if unit is None or (expected is not None and unit != expected):
            _count(self.unknown_units, "^".join(comps[:3]))
            return None
        return unit


# --- the simulated monitor -----------------------------------------------------------------------

PLETH_RATE_HZ = 125.0
VENDOR_UNKNOWN = "2001^ST-II^99MNDRY"  # a vendor parameter we do not map: counted, not shown


class Hl7Monitor:
    """A Mindray-like monitor: one ORU^R01 a second (NIBP in the cuff family, pleth as an NA
    row with its sample rate in a child row); reads ACKs."""

    def __init__(self, physio: Physiology) -> None:
        self.physio = physio
        self.on_ack: Callable[[str, str], None] | None = None  # (control id, MSA-1)
        self.reset()

    def reset(self) -> None:
        self._next: float | None = None
        self._wave_t: float | None = None
        self._seq = 0
        self._inbox = bytearray()
        self.sent: list[str] = []  # control ids
        self.acks: dict[str, str] = {}  # control id -> MSA-1 (AA/AE/…)

    @property
    def unacked(self) -> list[str]:
        return [c for c in self.sent if c not in self.acks]

    def receive(self, data: bytes, now: float) -> None:
        self._inbox += data
        while True:
            sb = self._inbox.find(SB)
            eb = self._inbox.find(EB, sb + 1) if sb >= 0 else -1
            if sb < 0 or eb < 0:
                if sb > 0:
                    del self._inbox[:sb]
                elif sb < 0:
                    self._inbox.clear()
                return
            body = bytes(self._inbox[sb + 1 : eb]).decode("utf-8", "replace").strip("\r")
            del self._inbox[: eb + 1]
            try:
                segs = parse(body)
            except Exception:
                continue
            for s in segs:
                if s.name == "MSA":
                    self.acks[s.get(2)] = s.get(1)
                    if self.on_ack is not None:
                        self.on_ack(s.get(2), s.get(1))

    def produce(self, now: float) -> bytes:
        if self._next is None:
            self._next = now
        if now < self._next:
            return b""
        self._next = max(self._next + 1.0, now - 1.0)
        return mllp(self.message(now))

    def message(self, now: float) -> str:
        self._seq += 1
        cid = f"MR{self._seq}"
        self.sent.append(cid)
        v = self.physio.vitals(now)
        ts = format_hl7_time(now)
        segs = [
            "MSH|^~\\&|MINDRAY_D-SERIES^00A037009A0053DE^EUI-64|MINDRAY|HOLDSPACE||"
            f"{ts}||ORU^R01^ORU_R01|{cid}|P|2.6|||AL|NE||UNICODE UTF-8|||"
            "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO",
            "PID|||SIM0001^^^HOLDSPACE^PI||Simulated^Patient^^^^^L",
            "PV1||I|TREATMENT^^ROOM1",
            f"OBR|1||{cid}|182777000^monitoring of patient^SNOMED-CT|||{ts}",
        ]
        beat, resp, mmhg = "264864^MDC_DIM_BEAT_PER_MIN^MDC", "264928^MDC_DIM_RESP_PER_MIN^MDC", (
            "266016^MDC_DIM_MMHG^MDC")
        rows: list[tuple[str, float | None, str, str, str]]
        rows = [
            ("147842^MDC_ECG_HEART_RATE^MDC", v.hr, beat, "X" if v.hr is None else "R", ""),
            ("150456^MDC_PULS_OXIM_SAT_O2^MDC", v.spo2, "262688^MDC_DIM_PERCENT^MDC", "R", ""),
            ("149530^MDC_PULS_OXIM_PULS_RATE^MDC", v.pulse, beat, "R", ""),
            ("151578^MDC_TTHOR_RESP_RATE^MDC", v.rr, resp, "R", ""),
            (VENDOR_UNKNOWN, 0.0, "", "R", ""),
        ]
        if v.nibp is not None and v.nibp_t is not None:
            nt = format_hl7_time(v.nibp_t)
            for name, p in zip(("SYS", "DIA", "MEAN"), v.nibp, strict=True):
                code = getattr(mdc, f"MDC_PRESS_CUFF_{name}")
                rows.append((f"{code}^MDC_PRESS_CUFF_{name}^MDC", p, mmhg, "R", nt))
        for i, (ident, val, unit, status, obs_t) in enumerate(rows, start=1):
            # No value, Mindray style: a sentinel, or nothing with "cannot obtain".
            shown = ("" if status == "X" else "-100") if val is None else f"{val:g}"
            segs.append(f"OBX|{i}|NM|{ident}|1.1.{i}.1|{shown}|{unit}|||||{status}|||"
                        f"{obs_t or ts}")
        segs += self._pleth(now, len(rows) + 1)
        return "\r".join(segs) + "\r"

    def _pleth(self, now: float, set_id: int) -> list[str]:
        """The pleth since the last message as an NA row, its sample rate in a child row."""
        t0 = now - 1.0 if self._wave_t is None or now - self._wave_t > 2.0 else self._wave_t
        n = round((now - t0) * PLETH_RATE_HZ)
        if n <= 0:
            return []
        self._wave_t = t0 + n / PLETH_RATE_HZ
        wave = self.physio.pleth(t0, n, PLETH_RATE_HZ)
        values = "^".join(f"{x:.3f}" for x in wave)
        sub = "1.3.1.150452"
        return [
            f"OBX|{set_id}|NA|150452^MDC_PULS_OXIM_PLETH^MDC|{sub}|{values}|"
            f"262144^MDC_DIM_DIMLESS^MDC|||||R|||{format_hl7_time(t0)}",
            f"OBX|{set_id + 1}|NM|0^{SAMPLE_RATE_NAME}^MDC|{sub}.1|{PLETH_RATE_HZ:g}|"
            "264608^MDC_DIM_PER_SEC^MDC|||||R",
        ]


DRIVER = Driver(
    name="hl7",
    title="HL7 v2 ORU^R01 (MLLP: gateway or monitor)",
    settings=SerialSettings(baudrate=115200),
    make_decoder=Hl7Decoder,
    make_simulator=Hl7Monitor,
    talks_back=True,
    notes=(
        "MLLP-framed ORU^R01 over serial (115200 baud) or TCP (socket://host:port). "
        "ACKs (MSA|AA) unless the sender asks for none (MSH-15 NE)."
    ),
    aliases=("mllp", "oru"),
)
