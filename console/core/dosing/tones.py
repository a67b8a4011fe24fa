"""Alarm and reminder tones, synthesised with numpy (no recorded audio to license or lose).

Patterns follow the shape of IEC 60601-1-8 auditory alarm signals: a high-priority burst of
10 pulses (3 + 2, pause, 3 + 2), a medium-priority burst of 3 pulses, a low-priority burst
of 2 softer pulses; each pulse has a fundamental and four harmonics so it is easy to locate
in a room. The reminder chime for a due check is a soft two-note sine, deliberately unlike
an alarm. `assets/make_alarm_sounds.py` writes them to assets/sounds/; the console writes
them again to its data folder if that folder is missing.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

RATE = 22050
FILES = {"high": "alarm_high.wav", "medium": "alarm_medium.wav", "low": "alarm_low.wav",
         "chime": "check_chime.wav"}


def _pulse(freq: float, dur: float, level: float) -> np.ndarray:
    t = np.arange(int(dur * RATE)) / RATE
    wave_ = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 6))
    ramp = int(0.02 * RATE)  # 20 ms rise and fall: no clicks
    env = np.ones_like(t)
    env[:ramp] = np.linspace(0, 1, ramp)
    env[-ramp:] = np.linspace(1, 0, ramp)
    return (level * env * wave_ / 2.3).astype(np.float32)


def _silence(dur: float) -> np.ndarray:
    return np.zeros(int(dur * RATE), dtype=np.float32)


def _burst(notes: list[float], dur: float, gap: float, level: float) -> np.ndarray:
    parts: list[np.ndarray] = []
    for f in notes:
        parts += [_pulse(f, dur, level), _silence(gap)]
    return np.concatenate(parts)


def high() -> np.ndarray:
    c, a, f, a2, f2 = 523.25, 880.0, 698.46, 880.0, 698.46  # C5 A5 F5 - A5 F5 melody shape
    part = np.concatenate([_burst([c, a, f], 0.15, 0.08, 0.9), _silence(0.2),
                           _burst([a2, f2], 0.15, 0.08, 0.9)])
    return np.concatenate([part, _silence(0.6), part, _silence(0.2)])


def medium() -> np.ndarray:
    return np.concatenate([_burst([523.25, 880.0, 698.46], 0.2, 0.12, 0.7), _silence(0.2)])


def low() -> np.ndarray:
    return np.concatenate([_burst([698.46, 523.25], 0.25, 0.15, 0.45), _silence(0.2)])


def chime() -> np.ndarray:
    t = np.arange(int(1.2 * RATE)) / RATE
    out = np.zeros_like(t)
    for start, f in ((0.0, 659.25), (0.35, 880.0)):
        tt = np.clip(t - start, 0, None)
        out += (t >= start) * np.sin(2 * np.pi * f * tt) * np.exp(-tt * 3.5) * 0.3
    return out.astype(np.float32)


def write_wav(path: Path, samples: np.ndarray) -> None:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())


def write_all(folder: Path) -> dict[str, Path]:
    """Write every tone into `folder`; returns {name: path}."""
    makers = {"high": high, "medium": medium, "low": low, "chime": chime}
    out = {}
    for name, fn in makers.items():
        p = folder / FILES[name]
        write_wav(p, fn())
        out[name] = p
    return out


def ensure(folder: Path) -> dict[str, Path]:
    """The tone files in `folder`, written first if any is missing."""
    paths = {name: folder / f for name, f in FILES.items()}
    if not all(p.exists() for p in paths.values()):
        return write_all(folder)
    return paths
