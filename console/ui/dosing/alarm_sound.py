"""The audible side of alarms: a tone pattern per priority, independent of the music.

A separate libvlc instance and player (never the music decks) plays the tone WAVs; loudness
and repeat interval follow priority (high loudest and most frequent). While a tone pattern
is on, the music is ducked through `Ducking`. `HOLDSPACE_AUDIO=dummy` plays to ALSA's null
device so tests and CI run the real player without a sound card. If libvlc cannot start,
alarms stay visual and `unavailable` says so in words for the banner.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject, QTimer

from console.core.dosing import tones
from console.core.ducking import Ducking

ASSETS = Path(__file__).resolve().parents[3] / "assets" / "sounds"
# (volume 0-100, seconds between bursts) per priority
PATTERN = {"high": (100, 6.0), "medium": (75, 12.0), "low": (50, 25.0)}
CHIME_VOLUME = 45


class TonePlayer(Protocol):
    def play(self, path: Path, volume: int) -> None: ...

    def stop(self) -> None: ...


class VlcTonePlayer:
    """One libvlc player of its own, for tones only."""

    def __init__(self) -> None:
        import vlc

        self._vlc = vlc
        args = ["--no-video", "--quiet", "--intf=dummy", "--no-media-library"]
        want = (os.environ.get("HOLDSPACE_AUDIO") or "").lower()
        if want in ("dummy", "none", "silent", "off", "meter") and sys.platform.startswith("linux"):
            args += ["--aout=alsa", "--alsa-audio-device=null"]
        self._instance: Any = vlc.Instance(args)
        if self._instance is None:
            raise RuntimeError("libvlc could not start")
        self._player: Any = self._instance.media_player_new()
        self.played: list[tuple[str, int]] = []  # what was asked, for the record and tests

    def play(self, path: Path, volume: int) -> None:
        self._player.stop()
        self._player.set_media(self._instance.media_new(str(path)))
        self._player.audio_set_volume(volume)
        self._player.play()
        self.played.append((path.name, volume))

    def stop(self) -> None:
        self._player.stop()

    def release(self) -> None:
        self._player.stop()
        self._player.release()
        self._instance.release()


def tone_files(data_dir: Path | None) -> dict[str, Path]:
    """The shipped tones, or freshly generated ones in the data folder if they are missing."""
    shipped = {name: ASSETS / f for name, f in tones.FILES.items()}
    if all(p.exists() for p in shipped.values()):
        return shipped
    return tones.ensure((data_dir or Path.home()) / "sounds")


class AlarmSound(QObject):
    """Keeps the right pattern playing for the highest audible priority; ducks the music."""

    def __init__(self, ducking: Ducking, data_dir: Path | None = None,
                 player: TonePlayer | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ducking = ducking
        self.files = tone_files(data_dir)
        self.unavailable: str | None = None
        self.player: TonePlayer | None = player
        if self.player is None:
            try:
                self.player = VlcTonePlayer()
            except Exception:  # any libvlc failure means visual-only alarms
                self.unavailable = ("Alarm sound unavailable (VLC could not start) — alarms "
                                    "are visual only on this console.")
        self.priority: str | None = None
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._burst)

    def set_priority(self, priority: str | None) -> None:
        """The highest unsilenced alarm priority now (None: quiet)."""
        if priority == self.priority:
            return
        self.priority = priority
        self._timer.stop()
        if priority is None:
            if self.player is not None:
                self.player.stop()
            self.ducking.request("alarm", False)
            return
        self.ducking.request("alarm", True)
        self._timer.setInterval(int(PATTERN[priority][1] * 1000))
        self._burst()
        self._timer.start()

    def chime(self) -> None:
        """A gentle reminder that a check is due; never while an alarm sounds."""
        if self.priority is None and self.player is not None:
            self.player.play(self.files["chime"], CHIME_VOLUME)

    def _burst(self) -> None:
        if self.priority is not None and self.player is not None:
            self.player.play(self.files[self.priority], PATTERN[self.priority][0])

    def close(self) -> None:
        """Stop and let go of the player; later calls are harmless (visual alarms only)."""
        self.set_priority(None)
        rel = getattr(self.player, "release", None)
        self.player = None
        if rel is not None:
            rel()
