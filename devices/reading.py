"""The values a monitor hands us, as plain immutable data.

Every decoder produces these and nothing else, so the store, alarms and display never need to
know which monitor a number came from beyond the `source` label.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np


class Quality(enum.IntEnum):
    """How far a value can be trusted. Stored as an integer; order matters (higher is worse)."""

    VALID = 0
    QUESTIONABLE = 1  # device flagged it (artefact, low perfusion, low signal IQ)
    DEMO = 2  # the monitor is in demo mode: never a patient's value
    MANUAL = 3  # typed in by a clinician (manual cuff, no monitor); trusted like VALID
    INVALID = 4  # device said invalid / unavailable: stored for the record, never displayed

    @property
    def displayable(self) -> bool:
        """Whether a value of this quality may be shown as a number."""
        return self in (Quality.VALID, Quality.QUESTIONABLE, Quality.MANUAL, Quality.DEMO)


@dataclass(frozen=True, slots=True)
class Reading:
    """One numeric observation.

    `t` is host time (epoch seconds) stamped when the bytes arrived and never re-stamped;
    `device_time` is the monitor's own clock where the protocol carries one.
    `code` is the IEEE 11073 MDC code (see devices.mdc); `unit` the MDC unit code.
    `reason` says why a value is INVALID or QUESTIONABLE where a decoder or the plausibility
    gate (devices.plausibility) knows it, e.g. "HR 510 /min is outside 15–300 /min".
    """

    t: float
    source: str
    code: int
    value: float
    unit: int
    quality: Quality = Quality.VALID
    device_time: float | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class WaveChunk:
    """A run of evenly spaced waveform samples (e.g. pleth at 125 Hz)."""

    t0: float  # host time of the first sample
    source: str
    code: int
    rate_hz: float
    samples: np.ndarray = field(repr=False)  # float32, one dimension
    quality: Quality = Quality.VALID

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate_hz if self.rate_hz else 0.0


Sample = Reading | WaveChunk
