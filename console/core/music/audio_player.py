"""Two libvlc players ("decks") so one can fade in while the other fades out.

No Qt here: VLC reports events on its own threads and its callbacks must not call back into
libvlc, so every VLC event is handed to `post` (the GUI layer passes one that queues the
call onto the GUI thread) and acted on there.

If libvlc is missing or broken, `open_engine` raises `MusicUnavailable` with a sentence for
the banner; the rest of the console does not depend on music.

Outputs: "default" is the computer's sound device. "dummy" needs no sound card (used by
CI and `HOLDSPACE_AUDIO=dummy`): on Linux ALSA's `null` device, which keeps libvlc's own
volume readable; elsewhere "meter". "meter" plays into memory (libvlc's amem output with
its software volume) and measures the level of what was really played — tests use it to
hear fades. (With amem, libvlc can only take a volume once a track has started, so the
first half second of a track plays at full gain; the sound-card and ALSA outputs keep the
volume between tracks.)
"""

from __future__ import annotations

import collections
import ctypes
import math
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import ModuleType
from typing import Any

Post = Callable[[Callable[[], None]], None]

MISSING_TEXT = ("Music unavailable — VLC (libvlc) is not installed on this computer. "
                "Everything else works; install VLC to play music.")


class MusicUnavailable(Exception):
    """libvlc could not be loaded or started; the message is shown to staff as is."""


class DeckEvent(Enum):
    PLAYING = "playing"
    AUDIO = "audio"  # a sound stream was found in the file
    ENDED = "ended"
    ERROR = "error"


def load_vlc(lib_path: str | None = None) -> ModuleType:
    """Import python-vlc, optionally from an explicit libvlc (`HOLDSPACE_LIBVLC`)."""
    lib_path = lib_path or os.environ.get("HOLDSPACE_LIBVLC") or None
    if lib_path:
        try:
            ctypes.CDLL(lib_path)
        except OSError as e:
            raise MusicUnavailable(
                f"Music unavailable — the VLC library at {lib_path} could not be loaded. "
                "Everything else works.") from e
        if "vlc" not in sys.modules:
            os.environ["PYTHON_VLC_LIB_PATH"] = lib_path
    try:
        import vlc
    except Exception as e:  # python-vlc raises OSError/NotImplementedError/ImportError
        raise MusicUnavailable(MISSING_TEXT) from e
    return vlc


@dataclass(frozen=True, slots=True)
class Level:
    t: float  # time.monotonic() when the block was played
    rms: float  # 0..1 of full scale


class _MemorySink:
    """amem callbacks for the dummy output: drop the audio, remember its level."""

    def __init__(self, vlc: ModuleType, keep: int = 4000) -> None:
        import time

        self.levels: collections.deque[Level] = collections.deque(maxlen=keep)
        self._lock = threading.Lock()
        cd = vlc.CallbackDecorators
        i16 = ctypes.POINTER(ctypes.c_int16)

        def play(_opaque: Any, samples: Any, count: int, _pts: int) -> None:
            n = int(count) * 2
            if n <= 0:
                return
            buf = ctypes.cast(samples, i16)
            step = max(1, n // 512)  # a few hundred samples are enough for a level
            acc = 0.0
            m = 0
            for i in range(0, n, step):
                v = buf[i] / 32768.0
                acc += v * v
                m += 1
            with self._lock:
                self.levels.append(Level(time.monotonic(), math.sqrt(acc / m)))

        # Keep references: ctypes callbacks must outlive the player.
        self.cbs = (
            cd.AudioPlayCb(play),
            cd.AudioPauseCb(lambda _o, _p: None),
            cd.AudioResumeCb(lambda _o, _p: None),
            cd.AudioFlushCb(lambda _o, _p: None),
            cd.AudioDrainCb(lambda _o: None),
        )

    def attach(self, mp: Any) -> None:
        mp.audio_set_callbacks(*self.cbs, None)
        mp.audio_set_format("S16N", 44100, 2)

    def recent(self) -> list[Level]:
        with self._lock:
            return list(self.levels)


class Deck:
    """One libvlc media player: a track, a gain, and events posted to the GUI thread."""

    def __init__(self, engine: AudioEngine, name: str) -> None:
        self.name = name
        self._engine = engine
        vlc = engine.vlc
        self._mp = engine.instance.media_player_new()
        self.sink: _MemorySink | None = None
        if engine.output == "meter":
            self.sink = _MemorySink(vlc)
            self.sink.attach(self._mp)
        self.path: Path | None = None
        self.has_audio = False
        self.gain = 1.0
        self.on_event: Callable[[Deck, DeckEvent], None] | None = None
        self._generation = 0  # events from a previous track are ignored
        em = self._mp.event_manager()
        et = vlc.EventType
        self._handlers = {
            et.MediaPlayerPlaying: DeckEvent.PLAYING,
            et.MediaPlayerESAdded: DeckEvent.AUDIO,
            et.MediaPlayerEndReached: DeckEvent.ENDED,
            et.MediaPlayerEncounteredError: DeckEvent.ERROR,
        }
        for etype, kind in self._handlers.items():
            em.event_attach(etype, self._vlc_callback, kind)

    def _vlc_callback(self, _event: Any, kind: DeckEvent) -> None:
        # VLC's thread: touch nothing of libvlc, just hand over (nothing once closing).
        if self._engine.closed:
            return
        gen = self._generation
        self._engine.post(lambda: self._deliver(kind, gen))

    def _deliver(self, kind: DeckEvent, gen: int) -> None:
        if gen != self._generation or self._engine.closed:
            return
        if kind is DeckEvent.PLAYING:
            self.apply_gain()
        elif kind is DeckEvent.AUDIO:
            self.has_audio = True
            return
        elif kind is DeckEvent.ENDED and not self.has_audio:
            kind = DeckEvent.ERROR  # "played" to the end without any sound: not audio
        if self.on_event is not None:
            self.on_event(self, kind)

    @property
    def _dead(self) -> bool:
        return self._engine.closed

    def play(self, path: Path, gain: float) -> None:
        if self._dead:
            return
        self._generation += 1
        self.path = path
        self.has_audio = False
        self.gain = gain
        media = self._engine.instance.media_new_path(str(path))
        self._mp.set_media(media)
        media.release()
        self.apply_gain()
        self._mp.play()

    def set_gain(self, gain: float) -> None:
        self.gain = min(1.0, max(0.0, gain))
        self.apply_gain()

    def apply_gain(self) -> None:
        """Set libvlc's volume to the gain unless libvlc already reports it.

        Compared with libvlc's own figure, not with what was last sent: while the audio output
        is starting, libvlc can accept a volume (return 0) and still keep the old one, and only
        the next tick's comparison puts it right.
        """
        if self._dead:
            return
        vol = round(self.gain * 100)
        if self._mp.audio_get_volume() != vol:
            self._mp.audio_set_volume(vol)

    def pause(self) -> None:
        if not self._dead and self.is_playing():
            self._mp.set_pause(1)

    def resume(self) -> None:
        if not self._dead and self.path is not None and not self.is_playing():
            self._mp.set_pause(0)
            self.apply_gain()

    def stop(self) -> None:
        self._generation += 1
        self.path = None
        if not self._dead:
            self._mp.stop()

    def state(self) -> str:
        """libvlc's own state name, lower case: playing, paused, ended, stopped, error…"""
        if self._dead:
            return "closed"
        return str(self._mp.get_state()).split(".")[-1].lower()

    def is_playing(self) -> bool:
        return not self._dead and bool(self._mp.is_playing())

    def position_s(self) -> float:
        if self._dead:
            return 0.0
        t = self._mp.get_time()
        return max(0.0, t / 1000.0) if t is not None and t >= 0 else 0.0

    def length_s(self) -> float | None:
        if self._dead:
            return None
        n = self._mp.get_length()
        return n / 1000.0 if n and n > 0 else None

    def vlc_volume(self) -> int:
        return -1 if self._dead else int(self._mp.audio_get_volume())

    def release(self) -> None:
        """Called by the engine while closing (before `closed` is final)."""
        self._generation += 1
        em = self._mp.event_manager()
        for etype in self._handlers:
            em.event_detach(etype)
        self._mp.stop()
        self._mp.release()


class AudioEngine:
    """One libvlc instance and two decks."""

    def __init__(self, vlc: ModuleType, instance: Any, output: str, post: Post) -> None:
        self.vlc = vlc
        self.instance = instance
        self.output = output
        self.post = post
        self.closed = False
        self.decks = (Deck(self, "A"), Deck(self, "B"))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for d in self.decks:
            d.release()
        self.instance.release()


def choose_output(requested: str | None = None) -> str:
    """`dummy` or `meter` when asked (`HOLDSPACE_AUDIO=dummy`), else the sound device."""
    want = (requested or os.environ.get("HOLDSPACE_AUDIO") or "default").strip().lower()
    if want == "meter":
        return "meter"
    return "dummy" if want in ("dummy", "none", "silent", "off") else "default"


def open_engine(post: Post, output: str | None = None,
                lib_path: str | None = None) -> AudioEngine:
    """Start libvlc; raise `MusicUnavailable` (with the banner text) if it cannot."""
    vlc = load_vlc(lib_path)
    out = choose_output(output)
    if out == "default" and not _has_sound_device():
        out = "dummy"
    args = ["--no-video", "--quiet", "--no-xlib", "--intf=dummy", "--no-media-library"]
    if out == "dummy":
        if sys.platform.startswith("linux"):
            args += ["--aout=alsa", "--alsa-audio-device=null"]
        else:
            out = "meter"
    try:
        instance = vlc.Instance(args)
    except Exception as e:
        raise MusicUnavailable(MISSING_TEXT) from e
    if instance is None:
        raise MusicUnavailable("Music unavailable — VLC is installed but could not start "
                               "(its plugins may be missing). Everything else works.")
    return AudioEngine(vlc, instance, out, post)


def _has_sound_device() -> bool:
    """False when this computer plainly has no sound device (a Linux box without ALSA
    devices or a sound server); then music runs silently instead of failing."""
    if sys.platform.startswith("linux"):
        runtime = os.environ.get("XDG_RUNTIME_DIR", "")
        server = os.environ.get("PULSE_SERVER") or (
            runtime and (Path(runtime, "pulse", "native").exists()
                         or Path(runtime, "pipewire-0").exists()))
        if not server and not Path("/dev/snd").exists():
            return False
    return True
