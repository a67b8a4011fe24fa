"""GE/Datex-Ohmeda S/5 waveforms over the computer interface: request, record layout, scaling.

Facts from /work/shared/reference/protocols.md (S/5 section) and the open implementation
VSCaptureWave (xeonfusion, Class1.cs RequestMultipleWaveTransfer / ReadMultipleWaveSubRecords
and Class2.cs wf_req / wf_hdr / DRI_WF_* constants), learnt and written anew here:

- Request: a record of maintype 1 (waveform) with one subrecord of type 0 (DRI_WF_CMD):
  `req_type i16` (0 start continuous, 1 stop), `reserved i16`, `type[8] u8` (wave ids, the
  list ended by 0xFF), `reserved i16 x 10`: 32 bytes, so the record is 72 bytes long.
- Data: records of maintype 1 whose subrecord descriptors carry the wave id as the subrecord
  type; each subrecord is `act_len i16` (number of samples), `status u16`, `reserved u16`,
  then `act_len` little-endian i16 samples.
- Sample rates: ECG 300/s, invasive pressures and pleth 100/s, CO2 and respiration 25/s; all
  requested waves together must stay under about 600 samples/s on this link.
- A sample at or below -32001 is a marker (invalid, not updated, ...), never a value: a gap.

Scaling (UNVERIFIED in our references beyond VSCaptureWave's unit shifts, so each is one
constant): ECG samples are taken as 0.01 mV each. The pleth has no calibrated amplitude (the
monitor itself draws it auto-scaled), so it is scaled to 0..1 over the last few seconds of
samples, as every other driver's pleth is 0..1 on screen.
"""

from __future__ import annotations

import math
import struct
from collections import deque
from dataclasses import dataclass

import numpy as np

from devices import mdc

SR_WF_CMD = 0  # subrecord type of a waveform request
WF_REQ_CONT_START = 0
WF_REQ_CONT_STOP = 1
WF_END = 0xFF
MAX_WAVES = 8

WF_ECG1, WF_ECG2, WF_ECG3 = 1, 2, 3
WF_INVP1, WF_INVP2, WF_INVP3, WF_INVP4 = 4, 5, 6, 7
WF_PLETH, WF_CO2, WF_RESP = 8, 9, 15

RATE_HZ: dict[int, float] = {
    WF_ECG1: 300.0, WF_ECG2: 300.0, WF_ECG3: 300.0,
    WF_INVP1: 100.0, WF_INVP2: 100.0, WF_INVP3: 100.0, WF_INVP4: 100.0,
    WF_PLETH: 100.0, WF_CO2: 25.0, WF_RESP: 25.0,
}
MAX_SAMPLES_PER_S = 600.0

# The waves we decode into WaveChunks, with their MDC code. ECG1 is the first ECG trace the
# monitor draws (its lead is chosen on the monitor), hence the lead-unspecified code.
CODES: dict[int, int] = {
    WF_ECG1: mdc.MDC_ECG_ELEC_POTL,
    WF_PLETH: mdc.MDC_PULS_OXIM_PLETH,
}
ECG_MV_PER_UNIT = 0.01  # UNVERIFIED (VSCaptureWave's unit shift for ECG)
PLETH_SCALE_S = 5.0  # the pleth is scaled to 0..1 over this many seconds of samples
INVALID_LIMIT = -32001

_REQ = struct.Struct("<hh8B10h")  # 32 bytes
_WF_HDR = struct.Struct("<hHH")  # act_len, status, reserved


def wave_request_subrecord(waves: tuple[int, ...], start: bool = True) -> bytes:
    """The DRI_WF_CMD subrecord asking for `waves` (up to 8) continuously, or to stop."""
    if len(waves) > MAX_WAVES:
        raise ValueError(f"the S/5 sends at most {MAX_WAVES} waves at once")
    if sum(RATE_HZ.get(w, 0.0) for w in waves) > MAX_SAMPLES_PER_S:
        raise ValueError("these waves together exceed 600 samples/s, more than the link carries")
    ids = list(waves) + [WF_END] * (MAX_WAVES - len(waves))
    return _REQ.pack(WF_REQ_CONT_START if start else WF_REQ_CONT_STOP, 0, *ids, *([0] * 10))


def parse_wave_request(sub: bytes) -> tuple[bool, tuple[int, ...]] | None:
    """(start?, wave ids) of a DRI_WF_CMD subrecord; None if it is too short."""
    if len(sub) < _REQ.size:
        return None
    fields = _REQ.unpack_from(sub, 0)
    ids: list[int] = []
    for w in fields[2:10]:
        if w == WF_END:
            break
        ids.append(w)
    return fields[0] == WF_REQ_CONT_START, tuple(ids)


def wave_subrecord(samples: list[int] | np.ndarray, status: int = 0) -> bytes:
    """One wave's subrecord: header then little-endian i16 samples."""
    arr = np.asarray(samples, dtype="<i2")
    return _WF_HDR.pack(len(arr), status, 0) + arr.tobytes()


def parse_wave_subrecord(sub: bytes) -> np.ndarray | None:
    """The raw i16 samples of one wave subrecord; None if its length does not add up.

    A subrecord may be followed by padding up to the next descriptor's offset, so bytes past
    `act_len` samples are allowed; fewer are not."""
    if len(sub) < _WF_HDR.size:
        return None
    n, _status, _ = _WF_HDR.unpack_from(sub, 0)
    end = _WF_HDR.size + 2 * n
    if n <= 0 or end > len(sub):
        return None
    return np.frombuffer(sub, dtype="<i2", count=n, offset=_WF_HDR.size).astype(np.float64)


@dataclass
class PlethScaler:
    """Scales pleth samples to 0..1 over the last `PLETH_SCALE_S` seconds (auto-gain)."""

    rate_hz: float = RATE_HZ[WF_PLETH]

    def __post_init__(self) -> None:
        self._recent: deque[tuple[float, float, int]] = deque()  # (min, max, n) per chunk

    def reset(self) -> None:
        self._recent.clear()

    def scale(self, raw: np.ndarray) -> np.ndarray:
        ok = raw[~np.isnan(raw)]
        if len(ok):
            self._recent.append((float(ok.min()), float(ok.max()), len(raw)))
        keep = int(PLETH_SCALE_S * self.rate_hz)
        total = sum(n for _, _, n in self._recent)
        while len(self._recent) > 1 and total - self._recent[0][2] >= keep:
            total -= self._recent.popleft()[2]
        if not self._recent:
            return raw * math.nan
        lo = min(x for x, _, _ in self._recent)
        hi = max(x for _, x, _ in self._recent)
        if hi - lo < 1e-9:
            return np.where(np.isnan(raw), np.nan, 0.5)
        return np.clip((raw - lo) / (hi - lo), 0.0, 1.0)


def samples_to_values(wave: int, raw: np.ndarray, pleth: PlethScaler) -> np.ndarray:
    """Physical (ECG, mV) or display-scaled (pleth, 0..1) values, NaN where a marker was."""
    raw = raw.copy()
    raw[raw <= INVALID_LIMIT] = np.nan
    if wave == WF_PLETH:
        return pleth.scale(raw)
    if wave in (WF_ECG1, WF_ECG2, WF_ECG3):
        return raw * ECG_MV_PER_UNIT
    return raw


def synthetic_ecg(t0: float, n: int, rate_hz: float, hr: float) -> np.ndarray:
    """An ECG-like trace in mV for the simulator: P, QRS and T waves at the heart rate."""
    f = max(hr, 20.0) / 60.0
    ph = ((t0 + np.arange(n) / rate_hz) * f) % 1.0
    p = 0.12 * np.exp(-((ph - 0.15) ** 2) / 0.0008)
    q = -0.10 * np.exp(-((ph - 0.27) ** 2) / 0.00005)
    r = 1.10 * np.exp(-((ph - 0.29) ** 2) / 0.00008)
    s = -0.20 * np.exp(-((ph - 0.31) ** 2) / 0.00008)
    tw = 0.30 * np.exp(-((ph - 0.55) ** 2) / 0.004)
    out: np.ndarray = p + q + r + s + tw
    return out
