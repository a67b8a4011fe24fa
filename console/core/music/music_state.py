"""The music's state as the panel and the record see it: small value types.

Kept apart from the controller so the controller reads as behaviour only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from console.core.music import playlists
from console.core.music.music_program import Phase


class MusicState(StrEnum):
    STOPPED = "stopped"
    PLAYING = "playing"
    PAUSED = "paused"
    FADING_OUT = "fading out"
    SILENT = "silence"
    FADING_IN = "fading in"
    QUIET = "quiet"
    UNAVAILABLE = "unavailable"


@dataclass
class Ramp:
    """A value moving linearly from `a` to `b` over `dur` seconds from `t0`."""

    t0: float
    dur: float
    a: float
    b: float

    def value(self, now: float) -> float:
        if self.dur <= 0 or now >= self.t0 + self.dur:
            return self.b
        f = max(0.0, (now - self.t0) / self.dur)
        return self.a + (self.b - self.a) * f

    def done(self, now: float) -> bool:
        return now >= self.t0 + self.dur


@dataclass
class PhaseRun:
    index: int
    phase: Phase
    playlist: playlists.Playlist
    tracks: list[playlists.Track]
    started: float  # monotonic
    planned_s: float | None
    extended_min: float = 0.0
    pos: int = 0
    errors_in_a_row: int = 0


@dataclass(frozen=True)
class NowPlaying:
    """What the music panel shows."""

    state: MusicState
    phase: str | None
    phase_index: int | None
    phase_count: int
    next_phase: str | None
    title: str | None
    position_s: float
    length_s: float | None
    volume: int
    phase_elapsed_s: float
    phase_planned_s: float | None
    crossfading: bool
    ducked: bool
