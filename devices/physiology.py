"""A patient for the simulators: plausible vital signs over time, per named scenario.

Deterministic for a given seed and start time, so tests can predict values. Every simulator
(our `sim` protocol and each real monitor's wire format) draws from the same model, so a
scenario such as `desaturation` looks the same whichever protocol carries it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from devices.scenarios import SCENARIOS


@dataclass(frozen=True, slots=True)
class Vitals:
    """What a monitor would display at one instant. None means 'no value' (probe off etc.)."""

    hr: float | None
    spo2: float | None
    rr: float | None
    pulse: float | None
    nibp: tuple[float, float, float] | None  # last completed cuff measurement sys/dia/mean
    nibp_t: float | None  # when that measurement completed
    probe_off: bool = False
    artefact: bool = False


class Physiology:
    """Vital signs as a function of time for one scenario."""

    def __init__(
        self,
        scenario: str = "calm",
        start: float = 0.0,
        seed: int = 1,
        nibp_interval: float = 180.0,
        first_nibp_after: float = 2.0,
    ) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(
                f"unknown scenario {scenario!r}; choose one of: {', '.join(SCENARIOS)}"
            )
        self.scenario = scenario
        self.start = start
        self.nibp_interval = nibp_interval
        self.first_nibp_after = first_nibp_after
        rng = np.random.default_rng(seed)
        self._phase = rng.uniform(0, 2 * math.pi, size=6)
        self._noise = rng.normal(0, 1, size=4096)
        self._pleth_end: float | None = None  # time and beat phase where the last chunk ended
        self._pleth_phase = 0.0

    def _jitter(self, t: float, k: int) -> float:
        """Smooth pseudo-random variation in [-1, 1]: sum of slow sines plus a little table noise."""
        p = self._phase
        s = 0.6 * math.sin(2 * math.pi * t / 47.0 + p[k % 6]) + 0.4 * math.sin(
            2 * math.pi * t / 13.0 + p[(k + 2) % 6]
        )
        return s + 0.15 * float(self._noise[(int(t) * 7 + k * 131) % 4096])

    def elapsed(self, t: float) -> float:
        return max(0.0, t - self.start)

    def link_down(self, t: float) -> bool:
        """True while the `unplug` scenario has the cable out (seconds 50-60 of each minute)."""
        return self.scenario == "unplug" and 50.0 <= self.elapsed(t) % 60.0 < 60.0

    def _baseline(self, e: float) -> tuple[float, float, float, float, float]:
        """(hr, spo2, rr, sys, dia) before noise, as the scenario dictates at elapsed time e."""
        hr, spo2, rr, sys_, dia = 72.0, 97.6, 14.0, 122.0, 78.0
        if self.scenario == "hypertensive":
            hr, sys_, dia = 96.0, 172.0, 104.0
        elif self.scenario == "desaturation":
            # 60-90 s: fall to 86; 90-120 s: hold; 120-160 s: recover
            if 60 <= e < 90:
                spo2 = 97.6 - (e - 60) / 30 * 11.6
            elif 90 <= e < 120:
                spo2 = 86.0
            elif 120 <= e < 160:
                spo2 = 86.0 + (e - 120) / 40 * 11.6
            if 60 <= e < 160:
                hr = 84.0
        elif self.scenario == "tachycardia" and e >= 60:
            hr = 72.0 + min(1.0, (e - 60) / 30) * 56.0
        return hr, spo2, rr, sys_, dia

    def vitals(self, t: float) -> Vitals:
        e = self.elapsed(t)
        hr0, spo20, rr0, _, _ = self._baseline(e)
        hr = hr0 + 3.0 * self._jitter(t, 0)
        spo2 = min(100.0, spo20 + 0.7 * self._jitter(t, 1))
        rr = rr0 + 1.2 * self._jitter(t, 2)
        probe_off = self.scenario == "noisy" and 40.0 <= e % 90.0 < 48.0
        artefact = self.scenario == "noisy" and 20.0 <= e % 45.0 < 23.0
        nibp: tuple[float, float, float] | None = None
        nibp_t: float | None = None
        if e >= self.first_nibp_after:
            n = int((e - self.first_nibp_after) // self.nibp_interval)
            nibp_t = self.start + self.first_nibp_after + n * self.nibp_interval
            ne = nibp_t - self.start
            _, _, _, sy, di = self._baseline(ne)
            sys_ = round(sy + 4.0 * self._jitter(nibp_t, 3))
            dia = round(di + 3.0 * self._jitter(nibp_t, 4))
            nibp = (float(sys_), float(dia), float(round((sys_ + 2 * dia) / 3)))
        return Vitals(
            hr=None if probe_off else round(hr),
            spo2=None if probe_off else round(spo2),
            rr=round(rr),
            pulse=None if probe_off else round(hr),
            nibp=nibp,
            nibp_t=nibp_t,
            probe_off=probe_off,
            artefact=artefact,
        )

    def pleth(self, t0: float, n: int, rate_hz: float) -> np.ndarray:
        """n pleth samples from t0: a dicrotic pulse wave at the current heart rate, 0..1 scale."""
        hr = self._baseline(self.elapsed(t0))[0] + 3.0 * self._jitter(t0, 0)
        f = hr / 60.0
        t = t0 + np.arange(n) / rate_hz
        # Continue the beat phase from the previous chunk so the wave has no seams.
        if self._pleth_end is None or abs(t0 - self._pleth_end) > 1.0 / rate_hz + 1e-6:
            self._pleth_phase = (t0 * f) % 1.0
        ph = (self._pleth_phase + np.arange(n) * f / rate_hz) % 1.0
        self._pleth_phase = float((self._pleth_phase + n * f / rate_hz) % 1.0)
        self._pleth_end = t0 + n / rate_hz
        wave = np.exp(-((ph - 0.18) ** 2) / 0.006) + 0.35 * np.exp(-((ph - 0.45) ** 2) / 0.01)
        breath = 0.05 * np.sin(2 * math.pi * t * 14.0 / 60.0)
        out = 0.1 + 0.8 * wave / 1.35 + breath
        if self.vitals(t0).probe_off:
            out = np.zeros(n)
        return out.astype(np.float32)
