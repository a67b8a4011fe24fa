"""One OBX row at a time: a numeric Reading, a waveform, or an attribute of a waveform.

Row by row: a row that cannot be used (an NM value that is not a number, such as an escaped
"2.73x10^-7", a wave sample that is not one, an empty OBX-3) raises RowError, which costs that
row only (HL7 v2.x Chapter 7, OBX: each OBX is one observation).

Numerics: sentinels (-999, -100, 32767), empty values and dashes give NaN/INVALID; OBX-11 X,
N, I, D and W give INVALID, P gives QUESTIONABLE; a unit we cannot read, or a unit other than
the one a known parameter is shown in, gives INVALID (stored, never displayed as a number in
the wrong unit). An empty unit is the parameter's own unit only when the value is plausible in
it (devices.plausibility defaults): a lost field can shift the unit code into the value's
place ("266016" read as a systolic pressure).

Waves (IHE PCD-01 and the Waveform Content Module: an NA row, '^'-separated samples, followed
by attribute rows whose OBX-4 extends the wave's, e.g. 1.3.1.150452 and 1.3.1.150452.1):
- MDC_ATTR_SAMP_RATE gives the rate in Hz; without one the wave is counted, never guessed;
- MDC_ATTR_DATA_RANGE / MDC_ATTR_SCALE_RANGE (NR "low^high"): a sample outside the stated range
  is not data, nor is one at its top when the top is an all-ones code (2^n - 1: 4095, 32767…),
  the value senders reserve for "no data";
- an INOP row (MDC_EVT_INOP and the like) with a number names the sample value that means "no
  data" (a Mindray gateway sends 32767, UNVERIFIED); with any other value the wave is INVALID;
- a sample of 32767 (the top of a 16-bit sample) is "no data" whatever the rows say;
- resolution, filter, colour and every other MDC_ATTR_ row are the wave's metadata.
"No data" samples become NaN: gaps the store keeps (float32) and the display leaves blank,
so the samples around them keep their exact times. No attribute row is ever a Reading.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from devices import mdc, plausibility
from devices.protocols import hl7_codes as codes
from devices.protocols.hl7_er7 import Segment
from devices.protocols.hl7_time import parse_hl7_time
from devices.reading import Quality, Reading, WaveChunk

log = logging.getLogger("devices.protocols.hl7")

SENTINELS = frozenset({-999.0, -100.0, 32767.0})  # vendors' "no value" (UNVERIFIED per vendor)
NO_DATA_SAMPLES = frozenset({32767.0})  # wave samples that are never data
STATUS_INVALID = frozenset({"X", "N", "I", "D", "W"})  # OBX-11: cannot obtain, deleted, wrong…
STATUS_QUESTIONABLE = frozenset({"P"})  # preliminary
MAX_RATE_HZ = 10_000.0
MAX_KEYS = 500  # distinct keys per counter; past that, new ones are counted under "…"
_NM = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")  # HL7 NM: optional sign, digits, optional point

SAMPLE_RATE = "MDC_ATTR_SAMP_RATE"
RANGES = ("MDC_ATTR_DATA_RANGE", "MDC_ATTR_SCALE_RANGE")
ATTRIBUTE_PREFIX = "MDC_ATTR_"


class RowError(ValueError):
    """One OBX row that cannot be used; `kind` names why (no values in it: it is logged)."""

    def __init__(self, kind: str, hl7_error: str = "102^Data type error^HL70357") -> None:
        super().__init__(kind)
        self.kind = kind
        self.hl7_error = hl7_error  # HL7 table 0357 code for the ERR segment of an AE


def count(counter: Counter[str], key: str) -> None:
    """Count without letting a stream of ever-new codes grow the counter without bound."""
    counter[key if key in counter or len(counter) < MAX_KEYS else "…"] += 1


def number(text: str) -> float | None:
    """An HL7 NM value, or None. Python's float() would also take "9_7", "1e3" or "inf"."""
    return float(text) if _NM.fullmatch(text) else None


def _names(obx: Segment) -> list[str]:
    return [c.upper() for rep in obx.reps(3) for c in rep]


def attribute_kind(obx: Segment) -> str | None:
    """What waveform attribute this row carries, by its MDC reference id; None if none."""
    names = _names(obx)
    if any(SAMPLE_RATE in n for n in names):
        return "rate"
    if any(n in RANGES for n in names):
        return "range"
    if any("INOP" in n for n in names):
        return "inop"
    if any(n.startswith(ATTRIBUTE_PREFIX) for n in names):
        return "other"  # resolution, filter, grid, colour…: metadata we keep no use for
    return None


@dataclass(slots=True)
class Wave:
    """An NA row and what its attribute rows said about it."""

    code: int
    sub_id: str
    samples: np.ndarray  # float32, NaN where the row had an empty sample
    quality: Quality
    rate: float | None = None
    low: float | None = None
    high: float | None = None
    inop_value: float | None = None
    inop: bool = False  # an INOP row without a marker value: the whole chunk is not data
    seen: frozenset[str] = frozenset()

    def gaps(self) -> np.ndarray:
        """The samples, "no data" markers made NaN (see the module docstring)."""
        s = self.samples.copy()
        bad = np.isin(s, np.array(sorted(NO_DATA_SAMPLES), dtype=np.float32))
        if self.inop_value is not None:
            bad |= s == np.float32(self.inop_value)
        if self.high is not None:
            bad |= s > np.float32(self.high)
            top = self.high
            if top >= 255 and top == int(top) and (int(top) + 1) & int(top) == 0:
                bad |= s == np.float32(top)
        if self.low is not None:
            bad |= s < np.float32(self.low)
        s[bad] = np.nan
        return s


def belongs(wave: Wave, obx: Segment) -> bool:
    """Whether an OBX's sub-id extends this wave's (IHE PCD containment: 1.3.1.1 → 1.3.1.1.2)."""
    sub = obx.get(4)
    return bool(wave.sub_id) and sub.startswith(wave.sub_id + ".")


def attach(waves: list[Wave], obx: Segment, kind: str) -> None:
    """Give an attribute to the wave it belongs to: the latest whose sub-id it extends, else the
    latest that has not had one of this kind. One that cannot be read is ignored (metadata)."""
    target = next((w for w in reversed(waves) if belongs(w, obx)), None)
    if target is None:
        target = next((w for w in reversed(waves) if kind not in w.seen), None)
    if target is None:
        return
    target.seen = target.seen | {kind}
    values = [t.strip() for t in obx.comps(5)]
    first = number(values[0]) if values else None
    if kind == "rate" and first is not None:
        target.rate = first
    elif kind == "range" and len(values) >= 2:
        low, high = number(values[0]), number(values[1])
        if low is not None and high is not None and low <= high:
            target.low, target.high = low, high
    elif kind == "inop":
        if first is not None:
            target.inop_value = first
        elif any(values):
            target.inop = True


class ObxReader:
    """OBX rows to Readings and Waves, counting what it could not use (shared by a decoder)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.unknown_codes: Counter[str] = Counter()  # OBX-3 we could not map, by coding
        self.unknown_units: Counter[str] = Counter()  # OBX-6 we could not read or did not expect
        self.skipped: Counter[str] = Counter()  # value types we do not decode (ST, …)

    def code(self, obx: Segment) -> int | None:
        reps = obx.reps(3)
        if not reps or not any(reps[0]):
            raise RowError("OBX-3 empty", "101^Required field missing^HL70357")
        code, _ = codes.coded(reps)
        if code is None:
            key = "^".join(reps[0][:3])
            if key not in self.unknown_codes:
                log.info("%s: unknown observation %s (counted, not shown)", self.source, key)
            count(self.unknown_codes, key)
        return code

    def wave(self, obx: Segment, demo: bool) -> Wave | None:
        """An NA row: samples separated by '^'; an empty one is a gap (NaN)."""
        code = self.code(obx)
        if code is None:
            return None
        texts = [t.strip() for t in obx.comps(5)]
        values = [number(t) if t else math.nan for t in texts]
        if any(v is None for v in values):
            raise RowError("wave sample is not a number")
        samples = np.array(values, dtype=np.float32)
        quality = Quality.DEMO if demo else Quality.VALID
        if obx.get(11).upper() in STATUS_INVALID:
            quality = Quality.INVALID
        return Wave(code, obx.get(4), samples, quality)

    def chunks(self, waves: list[Wave], now: float) -> list[WaveChunk]:
        out: list[WaveChunk] = []
        for w in waves:
            if w.rate is None or not 0 < w.rate <= MAX_RATE_HZ:
                count(self.skipped, "NA without sample rate")
                continue
            quality = Quality.INVALID if w.inop else w.quality
            out.append(WaveChunk(t0=now - len(w.samples) / w.rate, source=self.source,
                                 code=w.code, rate_hz=w.rate, samples=w.gaps(), quality=quality))
        return out

    def reading(self, obx: Segment, now: float, fallback_time: float | None,
                demo: bool) -> Reading | None:
        """An NM row as a Reading; None for rows that carry no numeric observation."""
        vtype = obx.get(2).upper()
        code = None
        if vtype == "NM":
            code = self.code(obx)
        elif not obx.reps(3) or not any(obx.reps(3)[0]):
            raise RowError("OBX-3 empty", "101^Required field missing^HL70357")
        else:
            count(self.skipped, vtype or "?")
            return None
        if code is None:
            return None
        if len(obx.reps(5)) > 1 or len(obx.comps(5)) > 1:
            # NM is one number. Components here mean a field went missing and the next one
            # (typically the unit, "266016^MDC_DIM_MMHG^MDC") slid into the value's place.
            raise RowError("NM value has components or repetitions")
        text = obx.get(5)
        quality = Quality.DEMO if demo else Quality.VALID
        reason: str | None = None
        if text.strip("-") == "":  # empty, or dashes as some displays show "no value"
            value = math.nan
        else:
            parsed = number(text)
            if parsed is None:
                raise RowError("NM value is not a number")
            value = parsed
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
        return Reading(t=now, source=self.source, code=code, value=value, unit=unit,
                       quality=quality,
                       device_time=obs_time if obs_time is not None else fallback_time,
                       reason=reason)

    @staticmethod
    def _unit_refused(code: int, value: float) -> str | None:
        """Why a value sent without a unit cannot be taken in its parameter's unit, or None.

        Judged against the default limits (a clinic's own limits are applied afterwards by
        the link's gate).
        """
        lim = plausibility.DEFAULT_LIMITS.get(code)
        if lim is None or lim.low <= value <= lim.high:
            return None
        return (f"no unit sent, and {mdc.label(code)} {value:g} is not plausible in "
                f"{mdc.unit_text(lim.unit)}")

    def _unit(self, comps: list[str], code: int) -> int | None:
        """The MDC unit, or None if unreadable or not the unit this parameter is shown in."""
        param = mdc.PARAMETERS.get(code)
        expected = param.unit if param else None
        if not any(c.strip() for c in comps[:2]):
            unit: int | None = expected if expected is not None else mdc.MDC_DIM_DIMLESS
        else:
            unit = codes.unit_of(comps)
        if unit == codes.PER_MIN:
            per_min = (mdc.MDC_DIM_BEAT_PER_MIN, mdc.MDC_DIM_RESP_PER_MIN)
            unit = expected if expected in per_min else None
        if unit is None or (expected is not None and unit != expected):
            count(self.unknown_units, "^".join(comps[:3]))
            return None
        return unit
