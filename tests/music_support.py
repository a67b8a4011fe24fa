"""Real parts for the music tests: short tone files, playlists, a SQLite session, libvlc."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from console.core.clock import SystemClock
from console.core.music.audio_player import AudioEngine, open_engine
from console.core.music.music_controller import MusicController
from console.core.music.music_program import MusicProgram, Phase
from console.core.session import SessionService, Staff
from console.store import engine, records
from console.store.db import open_reader
from console.store.events import Event, session_events
from console.store.writer import StoreWriter


def tone(path: Path, seconds: float = 3.0, freq: float = 220.0, rate: int = 22050,
         amp: float = 0.3) -> Path:
    """A soft sine tone as a 16-bit mono WAV (stdlib only)."""
    t = np.arange(int(rate * seconds)) / rate
    x = (amp * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(x.tobytes())
    return path


def m3u(path: Path, entries: list[str], header: bool = True) -> Path:
    lines = (["#EXTM3U"] if header else []) + entries
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def two_phase_dir(tmp: Path, seconds: float = 4.0) -> Path:
    """playlists/a.m3u (two tones) and playlists/b.m3u (one tone)."""
    d = tmp / "playlists"
    tone(tmp / "music" / "a1.wav", seconds, 220)
    tone(tmp / "music" / "a2.wav", seconds, 247)
    tone(tmp / "music" / "b1.wav", seconds, 330)
    d.mkdir(parents=True, exist_ok=True)
    m3u(d / "a.m3u", ["#EXTINF:4,Drone A1", "../music/a1.wav",
                      "#EXTINF:4,Drone A2", "../music/a2.wav"])
    m3u(d / "b.m3u", ["#EXTINF:4,Drone B1", "../music/b1.wav"])
    return d


def program(fade: float = 1.5) -> MusicProgram:
    return MusicProgram("test", [Phase("onset", "a", None), Phase("peak", "b", None)],
                        fade_seconds=fade)


@dataclass
class MusicRig:
    writer: StoreWriter
    reader: engine.Connection
    sessions: SessionService
    engine: AudioEngine
    music: MusicController
    path: Path

    def events(self, prefix: str = "music.") -> list[Event]:
        self.writer.flush()
        sid = self.sessions.current.id if self.sessions.current else 0
        conn = open_reader(self.path)
        try:
            return [e for e in session_events(conn, sid) if e.kind.startswith(prefix)]
        finally:
            conn.close()


@contextmanager
def music_rig(tmp_path: Path, post, output: str = "dummy", fade: float = 1.5,
              prog: MusicProgram | None = None) -> Iterator[MusicRig]:
    """A real session on a real file, and a controller on real libvlc."""
    path = tmp_path / "holdspace.db"
    clock = SystemClock()
    writer = StoreWriter(str(path), flush_interval=0.05)
    writer.start()
    reader = open_reader(path)
    engine = open_engine(post, output=output)
    try:
        sessions = SessionService(clock, writer, reader)
        sessions.set_user(Staff("Ana Ruiz", "therapist"))
        pid = writer.call(lambda c: records.create_patient(c, "Maria K", clock.now(),
                                                           identifier="MK1")).result(10)
        sessions.start(pid)
        dirs = [two_phase_dir(tmp_path)]
        music = MusicController(engine, prog or program(fade), dirs, clock,
                                lambda k, p, automatic=False: sessions.record(
                                    k, p, automatic=automatic))
        yield MusicRig(writer, reader, sessions, engine, music, path)
    finally:
        engine.close()
        writer.stop()
        reader.close()
