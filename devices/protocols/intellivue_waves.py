"""IntelliVue wave objects: which object's attributes give a sample array its rate and scale.

A wave (real-time sample array) object describes itself in its static context (Sample Period
NOM_ATTR_TIME_PD_SAMP, Sample Array Specification NOM_ATTR_SA_SPECN with `array_size`, the
maximum number of samples in one observed value) and dynamic context (scale and range), and
reports samples in its observed values (guide, "Wave Objects" / "Wave Object Attributes").
A poll result need not repeat the context attributes with every observed value.

A monitor can report two wave objects under the same handle (in another context, or beside
it: a compound ECG object at one sample period next to a single-lead one at another). Keeping
one description per handle lets whichever object was described last set the rate of every
later chunk, so a chunk comes out at half or double its true rate. Here each handle keeps the
description of every object seen under it (in its context), and the samples of an observation
are placed with the description of *their own* object:

- an observation that carries its own context attributes uses them (completed, for what it
  leaves out, from the description of that same object: same period and array size);
- one that carries only samples is matched to a description by its form (compound or single
  array), its sample count against `array_size` (a full array equals it, none exceeds it) and
  the physiological ids seen with that object before;
- if two descriptions with different sample periods still fit equally, the chunk is not
  placed at all (counted in `unplaced`): a wave at a wrong rate is worse than a short gap.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from devices.protocols import intellivue_messages as m
from devices.protocols.intellivue_codec import TICKS_PER_S, decode_float

MAX_OBJECTS_PER_HANDLE = 4  # descriptions kept per (context, handle); the oldest unused goes
FORGET_AFTER_S = 120.0  # a description not used for this long belongs to a removed object

_CONTEXT_ATTRS = (m.NOM_ATTR_TIME_PD_SAMP, m.NOM_ATTR_SA_SPECN, m.NOM_ATTR_SCALE_SPECN_I16,
                  m.NOM_ATTR_SA_FIXED_VAL_SPECN, m.NOM_ATTR_ID_TYPE)


@dataclass(slots=True)
class WaveSpec:
    """What one wave object told us about itself, kept between polls."""

    period_ticks: int | None = None
    array_size: int | None = None  # maximum samples in one observed value (SaSpec)
    sample_bytes: int = 2
    mask: int = 0xFFFF
    invalid_mask: int = 0
    lower_abs: float | None = None
    upper_abs: float | None = None
    lower_scaled: int = 0
    upper_scaled: int = 0
    type_code: int | None = None  # NOM_ATTR_ID_TYPE code (the object's own physio id)
    compound: bool | None = None  # reports a Compound Sample Array Observed Value
    physio_ids: set[int] = field(default_factory=set)  # ids seen in its observed values
    used_t: float = 0.0
    context_raw: tuple[bytes | None, ...] = ()  # the context attributes it was last told

    @property
    def rate_hz(self) -> float | None:
        return TICKS_PER_S / self.period_ticks if self.period_ticks else None


@dataclass(frozen=True, slots=True)
class SampleArray:
    """One SaObsValue: physio id, measurement state and the raw sample bytes."""

    physio: int
    state: int
    body: bytes


def sample_arrays(a: dict[int, bytes]) -> tuple[list[SampleArray], bool]:
    """The observed sample arrays of one observation, and whether they came as a compound."""
    raws: list[bytes] = []
    if m.NOM_ATTR_SA_VAL_OBS in a:
        raws.append(a[m.NOM_ATTR_SA_VAL_OBS])
    compound = m.NOM_ATTR_SA_CMPD_VAL_OBS in a
    if compound:
        r = m.Reader(a[m.NOM_ATTR_SA_CMPD_VAL_OBS])
        count, length = r.u16(), r.u16()
        cr = r.sub(length)
        for _ in range(count):
            start = cr.pos
            cr.take(4)
            cr.take(cr.u16())
            raws.append(cr.data[start : cr.pos])
    out = []
    for raw in raws:
        r = m.Reader(raw)
        physio, state, n = r.u16(), r.u16(), r.u16()
        body = r.take(n)
        if r.left:
            raise m.Malformed("sample array longer than its length")
        out.append(SampleArray(physio, state, body))
    return out, compound


def learn(spec: WaveSpec, a: dict[int, bytes]) -> None:
    """Take the context attributes present in `a` into `spec`."""
    if m.NOM_ATTR_TIME_PD_SAMP in a:
        spec.period_ticks = m.Reader(a[m.NOM_ATTR_TIME_PD_SAMP]).u32() or None
    if m.NOM_ATTR_SA_SPECN in a:
        r = m.Reader(a[m.NOM_ATTR_SA_SPECN])
        size, bits, significant, flags = r.u16(), r.u8(), r.u8(), r.u16()
        if bits not in (8, 16):
            raise m.Malformed(f"sample size {bits}")
        spec.array_size = size or None
        spec.sample_bytes = bits // 8
        full = (1 << bits) - 1
        spec.mask = ((1 << significant) - 1) if flags & 0x1000 and significant else full
    if m.NOM_ATTR_SCALE_SPECN_I16 in a:
        r = m.Reader(a[m.NOM_ATTR_SCALE_SPECN_I16])
        spec.lower_abs, spec.upper_abs = decode_float(r.u32()), decode_float(r.u32())
        spec.lower_scaled, spec.upper_scaled = r.u16(), r.u16()
    if m.NOM_ATTR_SA_FIXED_VAL_SPECN in a:
        r = m.Reader(a[m.NOM_ATTR_SA_FIXED_VAL_SPECN])
        count, _length = r.u16(), r.u16()
        for _ in range(count):
            fid, fval = r.u16(), r.u16()
            if fid == m.SA_FIX_INVALID_MASK:
                spec.invalid_mask = fval
    if m.NOM_ATTR_ID_TYPE in a and len(a[m.NOM_ATTR_ID_TYPE]) == 4:
        spec.type_code = m.Reader(a[m.NOM_ATTR_ID_TYPE]).u32() & 0xFFFF


class WaveObjects:
    """The wave objects seen per (context, handle), and which one a set of samples is from."""

    def __init__(self) -> None:
        self._known: dict[tuple[int, int], list[WaveSpec]] = {}
        self.unplaced = 0  # sample arrays dropped: no object, or two fitting at other rates

    def clear(self) -> None:
        self._known.clear()

    def spec_for(self, context: int, handle: int, a: dict[int, bytes],
                 arrays: list[SampleArray], compound: bool, now: float) -> WaveSpec | None:
        """The description the samples of this observation are to be read with (None: unknown
        or ambiguous), learning what the observation says about its object on the way."""
        known = self._known.setdefault((context, handle), [])
        spec: WaveSpec | None
        raw = tuple(a.get(k) for k in _CONTEXT_ATTRS)
        told = any(x is not None for x in raw)
        repeated = next((k for k in reversed(known) if k.context_raw == raw), None) if told \
            else None
        if repeated is not None:
            spec = repeated  # the same object telling the same context again (the usual case)
        elif told:
            own = WaveSpec()
            learn(own, a)
            base = self._same_object(known, own, arrays, compound)
            spec = dataclasses.replace(base, physio_ids=set(base.physio_ids)) if base \
                else WaveSpec()
            learn(spec, a)
            spec.context_raw = raw
            if base is not None:
                known.remove(base)
            self._keep(known, spec, now)
        else:
            spec = self._match(known, arrays, compound)
        if spec is None or spec.period_ticks is None:
            if arrays:
                self.unplaced += len(arrays)
            return None
        if arrays:
            spec.compound = compound
            spec.physio_ids.update(x.physio for x in arrays)
            spec.used_t = now
        return spec

    @classmethod
    def _same_object(cls, known: list[WaveSpec], own: WaveSpec, arrays: list[SampleArray],
                     compound: bool) -> WaveSpec | None:
        """The description this observation's own context attributes continue.

        An object is known by its Type: one of the same type and form under this handle is
        the same object, re-described (its period may have changed). Without a type, one
        whose period and array size agree wherever both state them; without a period of its
        own either, the samples decide among several (and with no samples, only a single one).
        """
        if own.type_code is not None:
            same = [spec for spec in known if spec.type_code == own.type_code
                    and (not arrays or spec.compound in (None, compound))]
            return same[-1] if same else None
        fits = [spec for spec in known if all(
            x is None or y is None or x == y for x, y in (
                (own.period_ticks, spec.period_ticks),
                (own.array_size, spec.array_size)))]
        if not fits:
            return None
        if own.period_ticks is not None or len(fits) == 1:
            return fits[-1]
        return cls._match(fits, arrays, compound)

    @staticmethod
    def _keep(known: list[WaveSpec], spec: WaveSpec, now: float) -> None:
        spec.used_t = max(spec.used_t, now)
        known[:] = [k for k in known if now - k.used_t < FORGET_AFTER_S]
        known.append(spec)
        if len(known) > MAX_OBJECTS_PER_HANDLE:
            known.remove(min(known, key=lambda k: k.used_t))

    @staticmethod
    def _match(known: list[WaveSpec], arrays: list[SampleArray],
               compound: bool) -> WaveSpec | None:
        """The one description these samples fit best; None if none fits or the best fits
        differ in sample period."""
        if not arrays:
            return None
        scored: list[tuple[tuple[int, int, int], WaveSpec]] = []
        ids = {x.physio for x in arrays}
        for spec in known:
            if spec.period_ticks is None:
                continue
            counts = {len(x.body) // spec.sample_bytes for x in arrays}
            if spec.array_size is not None and max(counts) > spec.array_size:
                continue  # more samples than this object ever reports at once
            if spec.compound is not None and spec.compound != compound:
                continue
            size = 1 if spec.array_size is not None and counts == {spec.array_size} else 0
            seen = 1 if ids <= spec.physio_ids else 0
            typed = 1 if spec.type_code is not None and spec.type_code in ids else 0
            scored.append(((seen, size, typed), spec))
        if not scored:
            return None
        top = max(score for score, _ in scored)
        best = [spec for score, spec in scored if score == top]
        if len({spec.period_ticks for spec in best}) > 1:
            return None
        return best[-1]


def chunk_values(spec: WaveSpec, body: bytes) -> np.ndarray | None:
    """The samples of one array as floats (NaN where the invalid mask is set), scaled to the
    object's range; None if the array does not fit the object's sample size."""
    if not body or len(body) % spec.sample_bytes:
        return None
    dtype = ">u2" if spec.sample_bytes == 2 else "u1"
    ints = np.frombuffer(body, dtype=dtype).astype(np.int64)
    values = (ints & spec.mask).astype(np.float64)
    lo_s, hi_s = spec.lower_scaled, spec.upper_scaled
    if hi_s != lo_s:
        values = (values - lo_s) / (hi_s - lo_s)
        if spec.lower_abs is not None and spec.upper_abs is not None:
            values = spec.lower_abs + values * (spec.upper_abs - spec.lower_abs)
    if spec.invalid_mask:
        values[(ints & spec.invalid_mask) != 0] = np.nan
    return values
