"""Runs the session's music: phases, tracks, crossfades, fades, silence, quiet, ducking.

Everything audible that changes is recorded as a `music.*` event the moment it happens, so
the session record shows what the patient heard and when. Fades and crossfades are ramps
computed from the monotonic clock; the GUI calls `tick()` a few times a second only to
apply them, so a late timer never changes how long a fade takes.

Without libvlc (`engine is None`) the controller still exists, says why music is off, and
every method is a harmless no-op, so nothing else in the console has to care.

What the controller does by itself (a track ends and the next starts, a planned phase time
passes, the first dose moves the phase, an alarm lowers the music, the session's end stops
it) is recorded as automatic: no person's name on it, whoever is at the keyboard. Only what a
person pressed carries that person (the feature's recorder adds the name).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from console.core.clock import Clock
from console.core.music import playlists
from console.core.music.audio_player import AudioEngine, Deck, DeckEvent
from console.core.music.music_program import MusicProgram
from console.core.music.music_state import MusicState, NowPlaying, PhaseRun, Ramp
from console.core.observers import Observers


class Record(Protocol):
    """Writes a music event; `automatic` when no person did it (see the module text)."""

    def __call__(self, kind: str, payload: dict[str, Any], *,
                 automatic: bool = False) -> Any: ...


F = TypeVar("F", bound=Callable[..., Any])


def by_itself(method: F) -> F:
    """What this method records is the console's own doing (it runs from a timer, the
    player, the dose record or the alarms), never the person at the keyboard."""

    @functools.wraps(method)
    def run(self: MusicController, *args: Any, **kwargs: Any) -> Any:
        with self.automatic():
            return method(self, *args, **kwargs)

    return run  # type: ignore[return-value]

DUCK_GAIN = 0.25  # music level while an alarm sounds
DUCK_SECONDS = 0.5
SILENCE_FADE_SECONDS = 3.0


class MusicController:
    def __init__(
        self,
        engine: AudioEngine | None,
        program: MusicProgram,
        playlist_dirs: list[Path],
        clock: Clock,
        record: Record,
        *,
        languages: set[str] | None = None,
        volume: int = 70,
        unavailable_reason: str | None = None,
    ) -> None:
        self.engine = engine
        self.program = program
        self.playlist_dirs = playlist_dirs
        self.clock = clock
        self._record = record
        self.languages = {x.lower() for x in (languages or {"en"})}
        self.volume = max(0, min(100, volume))
        self._recorded_volume = self.volume
        self.unavailable_reason = unavailable_reason
        self.state = MusicState.UNAVAILABLE if engine is None else MusicState.STOPPED
        self.run: PhaseRun | None = None
        self.changed: Observers[None] = Observers()
        self.messages: Observers[str] = Observers()
        self._active = 0  # index of the deck now heard
        self._xfade: Ramp | None = None
        self._xfade_from: PhaseRun | None = None
        self._fade: Ramp | None = None  # the master fade (out, in, silence)
        self._fade_gain = 1.0
        self._duck: Ramp = Ramp(0.0, 0.0, 1.0, 1.0)
        self._silence_since: float | None = None  # wall time
        self._silence_cause: str | None = None
        self._deck_track: dict[int, playlists.Track | None] = {0: None, 1: None}
        self._deck_run: dict[int, PhaseRun | None] = {0: None, 1: None}
        self._automatic = 0  # inside what the console does by itself (see `automatic`)
        if engine is not None:
            for i, deck in enumerate(engine.decks):
                deck.on_event = lambda d, kind, i=i: self._on_deck_event(i, d, kind)
        for p in program.problems:
            self._problem(p)

    # ----- helpers -----
    @property
    def available(self) -> bool:
        return self.engine is not None

    def _deck(self, i: int) -> Deck:
        assert self.engine is not None
        return self.engine.decks[i]

    @contextmanager
    def automatic(self) -> Iterator[None]:
        """Everything recorded inside names no person (the session ended, the console
        closed, a session resumed: the music follows by itself)."""
        self._automatic += 1
        try:
            yield
        finally:
            self._automatic -= 1

    def _emit(self, kind: str, summary: str, **fields: Any) -> None:
        self._record(kind, {"summary": summary, **fields}, automatic=self._automatic > 0)

    def _problem(self, text: str) -> None:
        with self.automatic():  # a file that will not play is nobody's doing
            self._emit("music.error", text)
        self.messages.emit(text)

    def _now(self) -> float:
        return self.clock.monotonic()

    def _gain(self, deck: int, now: float) -> float:
        g = self.volume / 100.0 * self._fade_gain * self._duck.value(now)
        if self._xfade is not None:
            x = self._xfade.value(now)
            g *= x if deck == self._active else 1.0 - x
        return g

    def _apply(self, now: float) -> None:
        if self.engine is None:
            return
        if self._fade is not None:
            self._fade_gain = self._fade.value(now)
        for i in (0, 1):
            self._deck(i).set_gain(self._gain(i, now))

    # ----- phases -----
    def _load_phase(self, index: int) -> PhaseRun:
        phase = self.program.phases[index]
        found = playlists.discover(self.playlist_dirs)
        path = found.get(phase.playlist)
        if path is None:
            pl = playlists.Playlist(phase.playlist, None)
            pl.problems.append(f"Playlist '{phase.playlist}' for phase '{phase.name}' was not "
                               "found.")
        else:
            pl = playlists.load(path)
        for p in pl.problems:
            self._problem(p)
        tracks = pl.tracks
        if not phase.lyrics_ok:
            kept = [t for t in tracks if not t.has_lyrics_in(self.languages)]
            left_out = len(tracks) - len(kept)
            if left_out:
                langs = ", ".join(sorted(self.languages))
                self._emit("music.tracks_left_out",
                           f"{left_out} track(s) with lyrics in the patient's language "
                           f"({langs}) left out of phase '{phase.name}'.",
                           phase=phase.name, count=left_out)
            tracks = kept
        if pl.tracks and not tracks:
            self._problem(f"Phase '{phase.name}': every track has lyrics in the patient's "
                          "language — silence in this phase.")
        planned = phase.minutes * 60.0 if phase.minutes else None
        return PhaseRun(index, phase, pl, tracks, self._now(), planned)

    def start(self, phase_index: int = 0) -> None:
        """Begin the program (or a given phase) from silence."""
        if self.engine is None or not self.program.phases:
            return
        if self.state not in (MusicState.STOPPED,):
            return
        self._fade, self._fade_gain = None, 1.0
        run = self._load_phase(max(0, min(phase_index, len(self.program.phases) - 1)))
        self.run = run
        self._emit("music.phase_changed", f"Music phase: {run.phase.name}", phase=run.phase.name,
                   previous=None, playlist=run.playlist.name, fade_s=0.0,
                   planned_min=run.phase.minutes)
        self.state = MusicState.PLAYING
        self._start_track(self._active, run)
        self.changed.emit(None)

    def next_phase(self, *, auto: bool = False) -> None:
        """Crossfade into the next phase's playlist."""
        if self.engine is None or self.run is None:
            return
        if self.run.index + 1 >= len(self.program.phases):
            self.messages.emit("This is the last music phase.")
            return
        self.go_to_phase(self.run.index + 1, auto=auto)

    def go_to_phase(self, index: int, *, auto: bool = False, trigger: str | None = None) -> None:
        if self.engine is None:
            return
        if self.run is None or self.state is MusicState.STOPPED:
            self.state = MusicState.STOPPED
            self.start(index)
            return
        now = self._now()
        self._finish_xfade()  # a second press during a crossfade completes the first
        old = self.run
        new = self._load_phase(index)
        self.run = new
        fade_s = self.program.fade_seconds
        how = ("at the first dose" if trigger == "dose"
               else "automatically at its planned time" if auto else "by hand")
        self._emit("music.phase_changed",
                   f"Music phase: {old.phase.name} → {new.phase.name} ({how}, {fade_s:g} s "
                   "crossfade)", phase=new.phase.name, previous=old.phase.name,
                   playlist=new.playlist.name, fade_s=fade_s, auto=auto, trigger=trigger,
                   planned_min=new.phase.minutes)
        audible = self.state in (MusicState.PLAYING, MusicState.FADING_IN,
                                 MusicState.FADING_OUT)
        if not audible:
            # In silence/quiet/pause: change the playlist only; its first track starts
            # (and is recorded) when the music comes back.
            self._stop_deck(self._active, "phase change")
            self._deck_run[self._active] = new
            self.changed.emit(None)
            return
        self._xfade_from = old
        self._active = 1 - self._active
        self._xfade = Ramp(now, fade_s, 0.0, 1.0)
        if fade_s > 0:
            self._emit("music.crossfade", f"Crossfade over {fade_s:g} s", seconds=fade_s)
        self._start_track(self._active, new)
        self._apply(now)
        self.changed.emit(None)

    @by_itself
    def dose_given(self, role: str) -> None:
        """Follow the dose record: the first dose ends the first phase (pre-onset) with a
        crossfade; a booster lengthens the phase now playing. Rescue drugs change nothing."""
        if self.engine is None or self.run is None or self.state is MusicState.STOPPED:
            return
        if role == "initial" and self.run.index == 0 and len(self.program.phases) > 1:
            self.go_to_phase(1, auto=True, trigger="dose")
        elif role == "booster":
            self.extend_phase(reason="booster")

    def extend_phase(self, minutes: float | None = None, reason: str = "by hand") -> None:
        """Lengthen the current phase (e.g. after a booster); its playlist keeps looping.

        No minutes (or a Qt `checked` flag passed by mistake) means the program's own step.
        """
        if self.run is None:
            return
        given = None if isinstance(minutes, bool) else minutes
        add = given if given is not None and given > 0 else self.program.extend_minutes
        self.run.extended_min += add
        elapsed = self._now() - self.run.started
        base = self.run.planned_s if self.run.planned_s is not None else elapsed
        self.run.planned_s = base + add * 60.0
        why = " after a booster" if reason == "booster" else ""
        self._emit("music.phase_extended",
                   f"Music phase '{self.run.phase.name}' extended by {add:g} min{why}",
                   phase=self.run.phase.name, minutes=add, reason=reason,
                   planned_total_min=round(self.run.planned_s / 60.0, 1))
        self.changed.emit(None)

    # ----- tracks -----
    def _start_track(self, deck: int, run: PhaseRun) -> None:
        if not run.tracks:
            self._deck_track[deck] = None
            self._deck_run[deck] = run
            return
        track = run.tracks[run.pos % len(run.tracks)]
        self._deck_track[deck] = track
        self._deck_run[deck] = run
        self._deck(deck).play(track.path, self._gain(deck, self._now()))
        self._emit("music.track_started", f"Track started: {track.title} ({run.phase.name})",
                   title=track.title, path=str(track.path), phase=run.phase.name,
                   playlist=run.playlist.name, deck=self._deck(deck).name,
                   lyrics=track.lyrics)

    def _stop_deck(self, deck: int, reason: str) -> None:
        track = self._deck_track.get(deck)
        d = self._deck(deck)
        pos = d.position_s()
        d.stop()
        self._deck_track[deck] = None
        if track is not None:
            run = self._deck_run.get(deck)
            self._emit("music.track_stopped", f"Track stopped: {track.title} ({reason})",
                       title=track.title, path=str(track.path), reason=reason,
                       position_s=round(pos, 1), deck=d.name,
                       phase=run.phase.name if run else None)

    def _advance(self, deck: int, step: int, reason: str) -> None:
        run = self._deck_run.get(deck)
        if run is None or not run.tracks:
            return
        self._stop_deck(deck, reason)
        run.pos = (run.pos + step) % len(run.tracks)
        self._start_track(deck, run)

    @by_itself
    def _on_deck_event(self, i: int, deck: Deck, kind: DeckEvent) -> None:
        run = self._deck_run.get(i)
        track = self._deck_track.get(i)
        if kind is DeckEvent.PLAYING:
            if run is not None:
                run.errors_in_a_row = 0
            self._apply(self._now())
            self.changed.emit(None)
            return
        if track is None or run is None:
            return
        fading_old = self._xfade is not None and i != self._active
        if kind is DeckEvent.ENDED:
            if fading_old:
                self._stop_deck(i, "ended during crossfade")
            else:
                self._advance(i, 1, "ended")
        elif kind is DeckEvent.ERROR:
            run.errors_in_a_row += 1
            self._problem(f"Could not play '{track.path.name}' (damaged or not a sound file) "
                          "— skipped.")
            self._deck_track[i] = None
            deck.stop()
            if fading_old:
                pass
            elif run.errors_in_a_row >= len(run.tracks):
                self._problem(f"No track in playlist '{run.playlist.name}' could be played — "
                              f"music for phase '{run.phase.name}' is silent. Other functions "
                              "are not affected.")
            else:
                run.pos = (run.pos + 1) % len(run.tracks)
                self._start_track(i, run)
        self.changed.emit(None)

    def next_track(self) -> None:
        if self.engine is None or self.run is None or not self._audible_or_paused():
            return
        self._finish_xfade()
        self._resume_if_paused()
        self._advance(self._active, 1, "skipped to next")
        self.changed.emit(None)

    def previous_track(self) -> None:
        if self.engine is None or self.run is None or not self._audible_or_paused():
            return
        self._finish_xfade()
        self._resume_if_paused()
        if self._deck(self._active).position_s() > 5.0:
            self._advance(self._active, 0, "restarted")
        else:
            self._advance(self._active, -1, "back to previous")
        self.changed.emit(None)

    def _resume_if_paused(self) -> None:
        """Choosing another track while paused means: play it."""
        if self.state is MusicState.PAUSED:
            self.state = MusicState.PLAYING
            self._emit("music.resumed", "Music resumed", phase=self._phase_name())

    def _start_pending(self) -> None:
        """Start the current phase's track if a phase change happened while silent."""
        if self.run is not None and self._deck_track[self._active] is None and self.run.tracks:
            self._start_track(self._active, self.run)

    def _audible_or_paused(self) -> bool:
        return self.state in (MusicState.PLAYING, MusicState.PAUSED, MusicState.FADING_IN)

    def play_pause(self) -> None:
        if self.engine is None:
            return
        if self.state is MusicState.STOPPED:
            self.start(self.run.index if self.run else 0)
        elif self.state is MusicState.PLAYING:
            for i in (0, 1):
                self._deck(i).pause()
            self.state = MusicState.PAUSED
            self._emit("music.paused", "Music paused", phase=self._phase_name())
        elif self.state is MusicState.PAUSED:
            for i in (0, 1):
                if self._deck_track[i] is not None:
                    self._deck(i).resume()
            self.state = MusicState.PLAYING
            self._emit("music.resumed", "Music resumed", phase=self._phase_name())
            self._start_pending()
        elif self.state in (MusicState.SILENT, MusicState.QUIET, MusicState.FADING_OUT):
            self.fade_in()
            return
        self.changed.emit(None)

    def _phase_name(self) -> str | None:
        return self.run.phase.name if self.run else None

    def _finish_xfade(self) -> None:
        if self._xfade is None:
            return
        self._xfade = None
        self._xfade_from = None
        self._stop_deck(1 - self._active, "crossfade finished")

    # ----- one-touch controls -----
    def fade_out(self, seconds: float | None = None, *, cause: str = "fade_out") -> None:
        """Fade to silence over a few seconds, then hold (position kept)."""
        if self.engine is None or self.state not in (MusicState.PLAYING, MusicState.FADING_IN,
                                                      MusicState.PAUSED):
            return
        secs = self.program.fade_seconds if seconds is None else seconds
        secs = min(secs, 8.0)  # the therapist is talking: a few seconds at most
        now = self._now()
        if self.state is MusicState.PAUSED:
            self._fade, self._fade_gain = None, 0.0
            self._enter_silence(cause)
            return
        self._fade = Ramp(now, secs, self._fade_gain, 0.0)
        self._silence_cause = cause
        self.state = MusicState.FADING_OUT
        if cause == "fade_out":
            self._emit("music.fade_out", f"Music fading out over {secs:g} s", seconds=secs,
                       phase=self._phase_name())
        self._apply(now)
        self.changed.emit(None)

    def _enter_silence(self, cause: str) -> None:
        self._finish_xfade()
        for i in (0, 1):
            self._deck(i).pause()
        self.state = MusicState.SILENT
        self._silence_since = self.clock.now()
        self._silence_cause = cause
        text = ("Silence chosen — music faded out" if cause == "chosen"
                else "Music faded to silence")
        self._emit("music.silence", text, on=True, cause=cause, phase=self._phase_name())
        self.changed.emit(None)

    def fade_in(self, seconds: float | None = None) -> None:
        """From silence, quiet or a fade-out in progress, fade back in where it left off."""
        if self.engine is None:
            return
        if self.state is MusicState.STOPPED:
            self.start(self.run.index if self.run else 0)
            return
        if self.state not in (MusicState.SILENT, MusicState.QUIET, MusicState.FADING_OUT,
                              MusicState.PAUSED):
            return
        secs = min(self.program.fade_seconds if seconds is None else seconds, 8.0)
        now = self._now()
        if self._silence_since is not None:
            lasted = self.clock.now() - self._silence_since
            self._emit("music.silence", f"Silence ended after {_dur(lasted)}", on=False,
                       cause=self._silence_cause, lasted_s=round(lasted, 1),
                       phase=self._phase_name())
        self._silence_since = None
        if self.state is not MusicState.FADING_OUT:
            self._fade_gain = 0.0
        self._fade = Ramp(now, secs, self._fade_gain, 1.0)
        self._apply(now)
        self.state = MusicState.FADING_IN
        self._emit("music.fade_in", f"Music fading in over {secs:g} s", seconds=secs,
                   phase=self._phase_name())
        for i in (0, 1):
            if self._deck_track[i] is not None:
                self._deck(i).resume()
        self._start_pending()
        self.changed.emit(None)

    def toggle_fade(self) -> None:
        if self.state in (MusicState.PLAYING, MusicState.FADING_IN):
            self.fade_out()
        else:
            self.fade_in()

    def silence(self) -> None:
        """An explicit, chosen silence: recorded as such, music fades out and holds."""
        if self.engine is None or self.state in (MusicState.SILENT, MusicState.QUIET):
            return
        if self.state is MusicState.STOPPED:
            self._enter_silence("chosen")
            return
        self._silence_cause = "chosen"
        self._fade = Ramp(self._now(), SILENCE_FADE_SECONDS, self._fade_gain, 0.0)
        self.state = MusicState.FADING_OUT
        self._apply(self._now())
        self.changed.emit(None)

    def toggle_silence(self) -> None:
        chosen_fading = (self.state is MusicState.FADING_OUT
                         and self._silence_cause == "chosen")
        if self.state in (MusicState.SILENT, MusicState.QUIET) or chosen_fading:
            self.fade_in()
        else:
            self.silence()

    def quiet(self) -> None:
        """Emergency: music off at once, no fade."""
        if self.engine is None or self.state in (MusicState.QUIET, MusicState.STOPPED):
            return
        self._fade, self._fade_gain = None, 0.0
        self._finish_xfade()
        self._apply(self._now())
        for i in (0, 1):
            self._deck(i).pause()
        self.state = MusicState.QUIET
        self._silence_since = self.clock.now()
        self._silence_cause = "quiet"
        self._emit("music.quiet", "Music stopped at once (quiet)", phase=self._phase_name())
        self.changed.emit(None)

    def stop(self, reason: str = "stopped") -> None:
        """End the program (e.g. when the session ends)."""
        if self.engine is None or self.state is MusicState.STOPPED:
            return
        self._finish_xfade()
        self._stop_deck(self._active, reason)
        self._fade, self._fade_gain = None, 1.0
        self._silence_since = None
        self.state = MusicState.STOPPED
        self._emit("music.stopped", f"Music program stopped ({reason})",
                   phase=self._phase_name())
        self.changed.emit(None)

    # ----- volume and ducking -----
    def set_volume(self, volume: int, *, record: bool = True) -> None:
        self.volume = max(0, min(100, int(volume)))
        self._apply(self._now())
        if record:
            self.record_volume()
        self.changed.emit(None)

    def step_volume(self, delta: int) -> None:
        self.set_volume(self.volume + delta)

    def record_volume(self) -> None:
        if self.volume != self._recorded_volume:
            self._emit("music.volume", f"Music volume {self._recorded_volume} → {self.volume}",
                       volume=self.volume, previous=self._recorded_volume)
            self._recorded_volume = self.volume

    @by_itself
    def set_ducked(self, on: bool) -> None:
        """An alarm is sounding: lower the music quickly, restore it afterwards."""
        now = self._now()
        cur = self._duck.value(now)
        self._duck = Ramp(now, DUCK_SECONDS, cur, DUCK_GAIN if on else 1.0)
        if self.engine is not None and self.state is not MusicState.STOPPED:
            self._emit("music.ducked" if on else "music.unducked",
                       "Music lowered for an alarm" if on else "Music back to its level",
                       on=on)
        self._apply(now)
        self.changed.emit(None)

    # ----- clock -----
    @by_itself
    def tick(self) -> None:
        """Apply ramps and planned phase times; called a few times a second by the GUI."""
        if self.engine is None:
            return
        now = self._now()
        self._apply(now)
        if self._xfade is not None and self._xfade.done(now):
            self._finish_xfade()
            self.changed.emit(None)
        if self._fade is not None and self._fade.done(now):
            self._fade = None
            if self.state is MusicState.FADING_OUT:
                self._enter_silence(self._silence_cause or "fade_out")
            elif self.state is MusicState.FADING_IN:
                self.state = MusicState.PLAYING
                self.changed.emit(None)
        run = self.run
        if (run is not None and self.program.auto_advance and run.planned_s is not None
                and self.state is MusicState.PLAYING and self._xfade is None
                and now - run.started >= run.planned_s
                and run.index + 1 < len(self.program.phases)):
            self.next_phase(auto=True)

    def now_playing(self) -> NowPlaying:
        now = self._now()
        run = self.run
        track = self._deck_track.get(self._active) if self.engine else None
        pos, length = 0.0, None
        if track is not None:
            d = self._deck(self._active)
            pos, length = d.position_s(), d.length_s() or track.duration_s
        nxt = None
        if run is not None and run.index + 1 < len(self.program.phases):
            nxt = self.program.phases[run.index + 1].name
        return NowPlaying(
            state=self.state,
            phase=run.phase.name if run else None,
            phase_index=run.index if run else None,
            phase_count=len(self.program.phases),
            next_phase=nxt,
            title=track.title if track else None,
            position_s=pos,
            length_s=length,
            volume=self.volume,
            phase_elapsed_s=(now - run.started) if run else 0.0,
            phase_planned_s=run.planned_s if run else None,
            crossfading=self._xfade is not None,
            ducked=self._duck.b < 1.0,
        )

    def deck_gain(self, deck: int) -> float:
        """The gain last given to a deck (0..1), for tests and the level display."""
        return self._deck(deck).gain if self.engine else 0.0

    @property
    def active_deck(self) -> int:
        return self._active

    def close(self) -> None:
        """Release libvlc; afterwards every method is a no-op (timers may still fire)."""
        engine, self.engine = self.engine, None
        self.state = MusicState.UNAVAILABLE
        self.unavailable_reason = "Music closed."
        if engine is not None:
            engine.close()


def _dur(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"
