"""Generate the demo music that ships with Holdspace (no copyrighted audio anywhere).

Why: the console should play a whole session's music program out of the box, and a clinic
evaluating it must not need to find licensed recordings first. Every sound here is made
from numbers by this script, so the files are ours to ship.

How the pieces are made (numpy only, deterministic seed per piece):
- a drone: a few sine partials of one chord (root, fifth, octave, sometimes a third), each
  slightly detuned left/right for width, each with its own very slow loudness swell
  (periods of 20–70 s), so the sound breathes without a beat;
- soft tones: occasional sine "bells" from a pentatonic scale over the drone, with a slow
  attack (1.5–3 s) and a long decay (6–12 s), never faster than one every few seconds;
- a gentle echo-like smear (a few delayed, quieter copies) instead of any reverb plug-in;
- 8 s fade in and out, peak normalised to -8 dBFS; nothing percussive, no lyrics.

Output: Ogg Vorbis (44.1 kHz stereo) in assets/music/, written with the `soundfile`
package (libsndfile bundled in its wheel), plus one demo playlist per phase in playlists/.
Run:  .venv/bin/pip install -e ".[assets]" && .venv/bin/python assets/make_demo_music.py
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 44100
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "assets" / "music"
PLAYLISTS = ROOT / "playlists"


@dataclass(frozen=True)
class Piece:
    file: str
    title: str
    phase: str
    minutes: float
    root_hz: float
    chord: tuple[float, ...]  # ratios to the root
    tone_every_s: float  # mean gap between soft tones; 0 = none
    brightness: float  # 0..1, how much of the upper partials
    seed: int


PIECES = [
    Piece("harbour.ogg", "Harbour", "pre-onset", 2.5, 110.0, (1, 1.5, 2, 2.5), 9.0, 0.45, 1),
    Piece("tidewater.ogg", "Tidewater", "onset", 2.5, 98.0, (1, 1.5, 2, 3), 14.0, 0.35, 2),
    Piece("open-sky.ogg", "Open Sky", "peak", 3.0, 73.4, (1, 1.5, 2, 2.25, 3), 0.0, 0.55, 3),
    Piece("deep-field.ogg", "Deep Field", "peak", 2.5, 65.4, (1, 1.5, 2, 3, 4), 20.0, 0.3, 4),
    Piece("return-light.ogg", "Return Light", "return", 2.5, 130.8, (1, 1.25, 1.5, 2), 7.0,
          0.5, 5),
    Piece("morning-room.ogg", "Morning Room", "integration", 2.5, 146.8, (1, 1.25, 1.5, 2),
          6.0, 0.6, 6),
]
PENTATONIC = (1.0, 9 / 8, 5 / 4, 3 / 2, 5 / 3, 2.0, 9 / 4, 5 / 2)


def synth(p: Piece) -> np.ndarray:
    rng = np.random.default_rng(p.seed)
    n = int(p.minutes * 60 * RATE)
    t = np.arange(n) / RATE
    out = np.zeros((n, 2))
    for k, ratio in enumerate(p.chord):
        for side, detune in ((0, -0.15), (1, 0.15)):
            f = p.root_hz * ratio + detune * (k + 1)
            period = rng.uniform(20, 70)
            phase = rng.uniform(0, 2 * np.pi)
            swell = 0.55 + 0.45 * np.sin(2 * np.pi * t / period + phase)
            weight = (p.brightness ** k) if k else 1.0
            out[:, side] += weight * swell * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.28))
    if p.tone_every_s > 0:
        at = rng.uniform(4, 10)
        while at < p.minutes * 60 - 15:
            f = p.root_hz * 2 * PENTATONIC[rng.integers(len(PENTATONIC))]
            attack, decay = rng.uniform(1.5, 3.0), rng.uniform(6, 12)
            i0, length = int(at * RATE), int((attack + decay * 3) * RATE)
            tt = np.arange(min(length, n - i0)) / RATE
            env = np.minimum(tt / attack, 1.0) * np.exp(-np.maximum(tt - attack, 0) / decay)
            tone = 0.35 * env * np.sin(2 * np.pi * f * tt)
            pan = rng.uniform(0.3, 0.7)
            out[i0:i0 + tt.size, 0] += tone * (1 - pan)
            out[i0:i0 + tt.size, 1] += tone * pan
            at += rng.exponential(p.tone_every_s) + 3.0
    smear = out.copy()
    for delay_s, gain in ((0.23, 0.35), (0.41, 0.25), (0.67, 0.15)):
        d = int(delay_s * RATE)
        smear[d:, :] += gain * out[:-d, ::-1]
    fade = int(8 * RATE)
    ramp = np.sin(np.linspace(0, np.pi / 2, fade)) ** 2
    smear[:fade] *= ramp[:, None]
    smear[-fade:] *= ramp[::-1, None]
    peak = float(np.max(np.abs(smear))) or 1.0
    result: np.ndarray = (smear / peak * 10 ** (-8 / 20)).astype(np.float32)
    return result


def write_playlists() -> None:
    by_phase: dict[str, list[Piece]] = {}
    for p in PIECES:
        by_phase.setdefault(p.phase, []).append(p)
    for phase, pieces in by_phase.items():
        if phase == "peak":  # one XSPF, to show both formats work
            tracks = "\n".join(
                f"    <track><location>../assets/music/{p.file}</location>"
                f"<title>{p.title}</title><creator>Holdspace demo</creator>"
                f"<duration>{int(p.minutes * 60000)}</duration>"
                f'<meta rel="https://holdspace.app/xspf/lyrics">none</meta></track>'
                for p in pieces)
            (PLAYLISTS / f"demo-{phase}.xspf").write_text(
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                '<playlist version="1" xmlns="http://xspf.org/ns/0/">\n'
                f"  <title>Demo — {phase}</title>\n  <trackList>\n{tracks}\n  </trackList>\n"
                "</playlist>\n", encoding="utf-8")
            continue
        lines = ["#EXTM3U", f"#PLAYLIST:Demo — {phase}"]
        for p in pieces:
            lines += [f"#EXTINF:{int(p.minutes * 60)},Holdspace demo - {p.title}",
                      "#EXTHS-LYRICS:none", f"../assets/music/{p.file}"]
        (PLAYLISTS / f"demo-{phase}.m3u8").write_text("\n".join(lines) + "\n",
                                                       encoding="utf-8")


def main() -> int:
    try:
        import soundfile as sf
    except ImportError:
        print("Needs the 'soundfile' package: .venv/bin/pip install soundfile")
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    PLAYLISTS.mkdir(exist_ok=True)
    for p in PIECES:
        data = synth(p)
        path = OUT / p.file
        # In blocks: libsndfile's Vorbis encoder crashes on one very large write.
        with sf.SoundFile(str(path), "w", RATE, 2, format="OGG", subtype="VORBIS",
                          compression_level=0.75) as f:
            for i in range(0, len(data), RATE):
                f.write(data[i:i + RATE])
        print(f"{path.relative_to(ROOT)}  {p.minutes:g} min  {path.stat().st_size // 1024} KiB")
    write_playlists()
    return 0


if __name__ == "__main__":
    sys.exit(main())
