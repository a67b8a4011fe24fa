"""The plausibility gate: one table of what a monitor value can be, applied to every value.

Decoders read what the wire says; a bit error, a vendor's "no value" marker we do not know, or
a monitor bug can still say HR 32767 or SpO2 150 with a good checksum. Every sample a link
decodes passes `PlausibilityGate.apply` (devices.link does it right after decoding, so the
record, a replay and the console all see the same result). A value outside its parameter's
range, not a finite number, or in a unit that is not the parameter's is kept for the record
but made INVALID with the reason, so it is never displayed or alarmed on. No device may claim
MANUAL quality (only a person enters manual values): it becomes QUESTIONABLE.

The ranges are defaults a clinic can change: `limits_with(overrides)` returns the table with
some ranges replaced (by MDC code or by the label a clinician knows, e.g. "HR").
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

from devices import mdc
from devices.reading import Quality, Reading, Sample, WaveChunk

MAX_CODE = 0xFFFF_FFFF  # MDC codes and units are 32-bit; anything else cannot be stored
MAX_RATE_HZ = 100_000.0  # a wave faster than this is a decoding error


@dataclass(frozen=True, slots=True)
class Limits:
    """The plausible range of one parameter, in its one unit (both ends included)."""

    unit: int
    low: float
    high: float
    no_value: float | None = None  # what the device sends for "nothing measured" (SpO2 0)

    def describe(self) -> str:
        u = mdc.unit_text(self.unit)
        return f"{self.low:g}–{self.high:g}{' ' + u if u else ''}"


_BPM, _PCT, _RPM = mdc.MDC_DIM_BEAT_PER_MIN, mdc.MDC_DIM_PERCENT, mdc.MDC_DIM_RESP_PER_MIN
_MMHG, _DEGC = mdc.MDC_DIM_MMHG, mdc.MDC_DIM_DEGC

DEFAULT_LIMITS: Mapping[int, Limits] = MappingProxyType({
    mdc.MDC_ECG_HEART_RATE: Limits(_BPM, 15, 300),
    mdc.MDC_PULS_RATE: Limits(_BPM, 15, 300),
    mdc.MDC_PULS_OXIM_PULS_RATE: Limits(_BPM, 15, 300),
    mdc.MDC_PULS_OXIM_SAT_O2: Limits(_PCT, 0, 100, no_value=0),
    mdc.MDC_PRESS_BLD_NONINV_SYS: Limits(_MMHG, 30, 300),
    mdc.MDC_PRESS_BLD_NONINV_DIA: Limits(_MMHG, 10, 250),
    # The mean must also lie between diastolic and systolic when all three come together.
    mdc.MDC_PRESS_BLD_NONINV_MEAN: Limits(_MMHG, 10, 300),
    mdc.MDC_RESP_RATE: Limits(_RPM, 0, 150),
    mdc.MDC_TEMP: Limits(_DEGC, 25, 45),
    mdc.MDC_AWAY_CO2_ET: Limits(_MMHG, 0, 150),
    mdc.MDC_BLD_PULS_RATE_INV: Limits(_BPM, 15, 300),
    mdc.MDC_PULS_RATE_NON_INV: Limits(_BPM, 15, 300),
    mdc.MDC_CONC_AWAY_CO2_INSP: Limits(_MMHG, 0, 150),
    mdc.MDC_CONC_AWAY_O2_INSP: Limits(_PCT, 10, 100),
    mdc.MDC_CONC_AWAY_O2_ET: Limits(_PCT, 5, 100),
    **{code: Limits(_DEGC, 25, 45) for code in (
        mdc.MDC_TEMP_BODY, mdc.MDC_TEMP_CORE, mdc.MDC_TEMP_ESOPH, mdc.MDC_TEMP_NASOPH,
        mdc.MDC_TEMP_TYMP, mdc.MDC_TEMP_RECT, mdc.MDC_TEMP_ORAL, mdc.MDC_TEMP_AXIL)},
    mdc.MDC_TEMP_SKIN: Limits(_DEGC, 15, 45),  # cold hands and feet read low
})

NIBP = (mdc.MDC_PRESS_BLD_NONINV_SYS, mdc.MDC_PRESS_BLD_NONINV_DIA,
        mdc.MDC_PRESS_BLD_NONINV_MEAN)


def parameter_code(key: int | str) -> int:
    """An MDC code from a code, an MDC reference id ("MDC_ECG_HEART_RATE") or a label ("HR")."""
    if isinstance(key, int) and not isinstance(key, bool):
        return mdc.canonical(key)
    text = str(key).strip()
    if text.isdigit():
        return mdc.canonical(int(text))
    for p in mdc.PARAMETERS.values():
        if text.upper() in (p.name, p.label.upper()):
            return mdc.canonical(p.code)
    raise ValueError(f"unknown monitor parameter {key!r}; known: "
                     + ", ".join(mdc.label(c) for c in DEFAULT_LIMITS))


def limits_with(
    overrides: Mapping[int | str, Sequence[float] | Mapping[str, float]] | None = None,
    base: Mapping[int, Limits] = DEFAULT_LIMITS,
) -> Mapping[int, Limits]:
    """The limit table with a clinic's ranges in place of the defaults.

    `overrides` maps a parameter (code or label) to [low, high] or {"low": .., "high": ..}
    (either end may be left out). Only ranges change, never a parameter's unit. Raises
    ValueError, in words for whoever edits the clinic's settings, for anything unusable.
    """
    table = dict(base)
    for key, rng in (overrides or {}).items():
        code = parameter_code(key)
        old = table.get(code)
        if old is None:
            raise ValueError(f"{mdc.label(code)} has no plausible range to change")
        if isinstance(rng, Mapping):
            unknown = set(rng) - {"low", "high"}
            if unknown:
                raise ValueError(f"{mdc.label(code)}: only 'low' and 'high' can be set, not "
                                 + ", ".join(sorted(map(str, unknown))))
            low, high = rng.get("low", old.low), rng.get("high", old.high)
        else:
            try:
                low, high = rng
            except (TypeError, ValueError):
                raise ValueError(f"{mdc.label(code)}: give the range as [low, high]") from None
        try:
            low, high = float(low), float(high)
        except (TypeError, ValueError):
            raise ValueError(f"{mdc.label(code)}: the range must be two numbers") from None
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ValueError(f"{mdc.label(code)}: the range {low:g}–{high:g} is not a range "
                             "(low must be below high)")
        table[code] = replace(old, low=low, high=high)
    return MappingProxyType(table)


def _is_code(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= MAX_CODE


def _number(x: object) -> float | None:
    """A Python float from any real number type (numpy scalars included); None if not one."""
    if isinstance(x, bool):
        return None
    try:
        return float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


class PlausibilityGate:
    """Checks samples against a limit table. Not thread-safe: one gate per link thread.

    `rejected` counts, by reason kind, the samples the gate changed (made INVALID, downgraded
    from MANUAL) or dropped (nothing storable: a code or unit beyond 32 bits, a wave with no
    usable sample rate). Readings that arrive already INVALID are not counted.
    """

    def __init__(self, limits: Mapping[int, Limits] | None = None) -> None:
        self.limits: Mapping[int, Limits] = limits if limits is not None else DEFAULT_LIMITS
        self.rejected: Counter[str] = Counter()
        self.last_rejected: list[tuple[str, str]] = []  # (label, kind) from the last apply()

    def apply(self, samples: Iterable[Sample]) -> list[Sample]:
        """The samples as they may be stored: implausible values INVALID with a reason."""
        self.last_rejected = []
        out: list[Sample] = []
        for s in samples:
            checked = self._wave(s) if isinstance(s, WaveChunk) else self._reading(s)
            if checked is not None:
                out.append(checked)
        self._nibp_together(out)
        return out

    def _reject(self, label: str, kind: str) -> None:
        self.rejected[kind] += 1
        self.last_rejected.append((label, kind))

    def _wave(self, w: WaveChunk) -> WaveChunk | None:
        rate, t0 = _number(w.rate_hz), _number(w.t0)
        label = mdc.label(w.code) if _is_code(w.code) else "wave"
        if not _is_code(w.code):
            self._reject(label, "code not storable")
            return None
        if rate is None or not (math.isfinite(rate) and 0 < rate <= MAX_RATE_HZ):
            self._reject(label, "no usable sample rate")
            return None
        if t0 is None or not math.isfinite(t0):
            self._reject(label, "no usable time")
            return None
        if w.quality == Quality.MANUAL:
            self._reject(label, "device claimed manual entry")
            return replace(w, rate_hz=rate, t0=t0, quality=Quality.QUESTIONABLE)
        if (rate, t0) != (w.rate_hz, w.t0):
            return replace(w, rate_hz=rate, t0=t0)
        return w

    def _reading(self, r: Reading) -> Reading | None:
        if not (_is_code(r.code) and _is_code(r.unit)):
            self._reject("value", "code or unit not storable")
            return None
        label = mdc.label(r.code)
        t, value = _number(r.t), _number(r.value)
        if t is None or not math.isfinite(t):
            self._reject(label, "no usable time")
            return None
        device_time = _number(r.device_time) if r.device_time is not None else None
        if device_time is not None and not math.isfinite(device_time):
            device_time = None  # the monitor's clock is optional; an unreadable one is dropped
        try:
            quality = Quality(r.quality)
        except ValueError:
            quality = Quality.INVALID
        reason = r.reason
        if quality == Quality.MANUAL:
            quality, reason = Quality.QUESTIONABLE, "the device claimed a manual entry"
            self._reject(label, "device claimed manual entry")
        verdict = self._verdict(r.code, r.unit, value, quality)
        if verdict is not None:
            kind, reason = verdict
            self._reject(label, kind)
            quality = Quality.INVALID
        if value is None or not math.isfinite(value):
            value = math.nan  # stored as "no value"; ±inf is not a measurement
        unchanged = (
            type(r.value) is float and _same(value, r.value) and t == r.t
            and quality is r.quality and reason == r.reason and device_time == r.device_time
        )
        if unchanged:
            return r
        return replace(r, t=t, value=value, quality=quality, reason=reason,
                       device_time=device_time)

    def _verdict(self, code: int, unit: int, value: float | None,
                 quality: Quality) -> tuple[str, str] | None:
        """(kind, reason) if this value must be INVALID; None if it may stand."""
        if quality == Quality.INVALID:
            return None  # already no value: nothing to judge
        label = mdc.label(code)
        if value is None or not math.isfinite(value):
            return "not a number", f"{label}: not a number ({value})"
        lim = self.limits.get(mdc.canonical(code))
        if lim is None:
            return None
        if unit != lim.unit:
            got = mdc.unit_text(unit) or f"unit {unit}"
            return "wrong unit", (f"{label} came in {got}, not in {mdc.unit_text(lim.unit)}"
                                  if mdc.unit_text(lim.unit) else f"{label} came in {got}")
        u = mdc.unit_text(lim.unit)
        shown = f"{label} {value:g}{' ' + u if u else ''}"
        if lim.no_value is not None and value == lim.no_value:
            return "no value", f"{shown} means no value"
        if not lim.low <= value <= lim.high:
            return "out of range", f"{shown} is outside {lim.describe()}"
        return None

    def _nibp_together(self, out: list[Sample]) -> None:
        """Systolic, diastolic and mean of one cuff result must fit together: dia < sys and
        dia <= mean <= sys. When they do not, all three are INVALID (which one is wrong is
        unknown). Checked only when all three came in this batch with the same times."""
        groups: dict[tuple[str, float, float | None], dict[int, int]] = {}
        for i, s in enumerate(out):
            if isinstance(s, Reading) and s.code in NIBP and s.quality != Quality.INVALID:
                groups.setdefault((s.source, s.t, s.device_time), {})[s.code] = i
        for idx in groups.values():
            if len(idx) != 3:
                continue
            sys_r, dia_r, mean_r = (out[idx[c]] for c in NIBP)
            assert isinstance(sys_r, Reading) and isinstance(dia_r, Reading)
            assert isinstance(mean_r, Reading)
            sys_v, dia_v, mean_v = sys_r.value, dia_r.value, mean_r.value
            if dia_v < sys_v and dia_v <= mean_v <= sys_v:
                continue
            reason = (f"NIBP {sys_v:g}/{dia_v:g} ({mean_v:g}) does not fit together: the mean "
                      "must lie between diastolic and systolic")
            for c in NIBP:
                r = out[idx[c]]
                assert isinstance(r, Reading)
                out[idx[c]] = replace(r, quality=Quality.INVALID, reason=reason)
                self._reject(mdc.label(c), "NIBP does not fit together")
