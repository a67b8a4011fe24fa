"""Real libvlc playing real audio files with outputs that need no sound card."""

from __future__ import annotations

import pytest

from console.core.music.audio_player import MusicUnavailable, open_engine
from console.core.music.music_controller import MusicController, MusicState
from console.ui.gui_post import GuiPoster
from tests.music_support import music_rig, program, tone


@pytest.fixture
def post(qapp):
    """Forwards VLC's callbacks to the Qt GUI thread, as the app does."""
    return GuiPoster()


def test_track_starts_and_is_recorded(tmp_path, qtbot, post):
    with music_rig(tmp_path, post) as r:
        r.music.start()
        deck = r.engine.decks[r.music.active_deck]
        qtbot.waitUntil(lambda: deck.state() == "playing", timeout=5000)
        qtbot.waitUntil(lambda: deck.position_s() > 0.2, timeout=5000)
        assert deck.path is not None and deck.path.name == "a1.wav"
        assert deck.vlc_volume() == 70  # libvlc's own volume = the console's setting
        assert r.music.now_playing().title == "Drone A1"
        kinds = [e.kind for e in r.events()]
        assert kinds == ["music.phase_changed", "music.track_started"]


def test_phase_change_crossfades(tmp_path, qtbot, post):
    with music_rig(tmp_path, post, fade=1.5) as r:
        r.music.start()
        old = r.engine.decks[r.music.active_deck]
        qtbot.waitUntil(lambda: old.state() == "playing", timeout=5000)
        r.music.next_phase()
        new = r.engine.decks[r.music.active_deck]
        assert new is not old
        seen: list[tuple[int, int]] = []

        def sample() -> bool:
            r.music.tick()
            seen.append((old.vlc_volume(), new.vlc_volume()))
            return not r.music.now_playing().crossfading

        qtbot.waitUntil(sample, timeout=6000)
        assert new.state() == "playing" and new.path is not None and new.path.name == "b1.wav"
        assert old.state() in ("stopped", "nothingspecial")
        rising = [n for _, n in seen if n >= 0]
        falling = [o for o, _ in seen if o >= 0]
        assert rising[0] <= 10 and rising[-1] >= 60, rising  # heard ramps in libvlc itself
        assert falling[0] >= 60 and min(falling) <= 10, falling
        assert rising == sorted(rising)
        assert len(set(rising)) >= 4  # a ramp, not a jump
        ev = r.events()
        kinds = [e.kind for e in ev]
        i = kinds.index("music.phase_changed", 1)
        assert kinds[i:] == ["music.phase_changed", "music.crossfade", "music.track_started",
                             "music.track_stopped"]
        assert ev[i].payload["previous"] == "onset" and ev[i].payload["phase"] == "peak"
        assert ev[-1].t - ev[i].t >= 1.4  # the old track stopped when the fade ended
        assert [e.t for e in ev] == sorted(e.t for e in ev)


def test_fade_out_reaches_silence_in_the_audio(tmp_path, qtbot, post):
    with music_rig(tmp_path, post, output="meter") as r:
        r.music.start()
        deck = r.engine.decks[r.music.active_deck]
        assert deck.sink is not None
        qtbot.waitUntil(lambda: deck.state() == "playing", timeout=5000)
        # Real sound came out. The tone's RMS is 0.21 at full scale and 0.07 at the deck's volume
        # of 70 (libvlc's volume curve is cubic); which of the two the first blocks carry depends
        # on when libvlc's memory output takes the volume, so wait for either, well above silence.
        qtbot.waitUntil(lambda: any(lv.rms > 0.05 for lv in deck.sink.recent()), timeout=5000)
        r.music.fade_out(1.0)
        t_fade = deck.sink.recent()[-1].t

        def done() -> bool:
            r.music.tick()
            return r.music.state is MusicState.SILENT

        qtbot.waitUntil(done, timeout=5000)
        qtbot.waitUntil(lambda: deck.state() == "paused", timeout=3000)
        after = [lv.rms for lv in deck.sink.recent() if lv.t > t_fade]
        assert after and after[-1] < 0.01, after  # the last audio played was silent
        kinds = [e.kind for e in r.events()]
        assert kinds[-2:] == ["music.fade_out", "music.silence"]
        silence = r.events()[-1]
        assert silence.payload["on"] is True and "silence" in silence.payload["summary"]
        r.music.fade_in(0.5)
        qtbot.waitUntil(lambda: deck.state() == "playing", timeout=5000)
        assert [e.kind for e in r.events()][-2:] == ["music.silence", "music.fade_in"]


def test_chosen_silence_and_quiet_are_recorded(tmp_path, qtbot, post):
    with music_rig(tmp_path, post) as r:
        r.music.start()
        deck = r.engine.decks[r.music.active_deck]
        qtbot.waitUntil(lambda: deck.state() == "playing", timeout=5000)
        r.music.quiet()
        assert r.music.state is MusicState.QUIET

        def hushed() -> bool:
            # While its output starts, libvlc can accept the volume and keep the old one for a
            # moment; the panel's tick (a few times a second) must then put it right.
            r.music.tick()
            return deck.vlc_volume() == 0 and deck.state() == "paused"

        qtbot.waitUntil(hushed, timeout=3000)
        r.music.toggle_silence()  # from quiet: back in
        r.music.toggle_silence()  # then a chosen silence

        def silent() -> bool:
            r.music.tick()
            return r.music.state is MusicState.SILENT

        qtbot.waitUntil(silent, timeout=6000)
        ev = r.events()
        kinds = [e.kind for e in ev]
        assert "music.quiet" in kinds
        chosen = [e for e in ev if e.kind == "music.silence" and e.payload.get("on")]
        assert chosen[-1].payload["cause"] == "chosen"


def test_track_end_moves_on_and_volume_is_recorded(tmp_path, qtbot, post):
    with music_rig(tmp_path, post) as r:
        for p in ("a1", "a2"):
            tone(tmp_path / "music" / f"{p}.wav", 1.0)
        r.music.start()
        r.music.step_volume(-10)
        qtbot.waitUntil(lambda: r.music.now_playing().title == "Drone A2", timeout=6000)
        deck = r.engine.decks[r.music.active_deck]
        qtbot.waitUntil(lambda: deck.vlc_volume() == 60, timeout=3000)
        ev = r.events()
        stopped = [e for e in ev if e.kind == "music.track_stopped"]
        assert stopped[0].payload["reason"] == "ended"
        vol = [e for e in ev if e.kind == "music.volume"]
        assert vol[0].payload["volume"] == 60 and vol[0].payload["previous"] == 70
        # Ana is at the keyboard throughout: what she pressed is hers, what followed by
        # itself (the track ended, the next began) names nobody
        started = [e for e in ev if e.kind == "music.track_started"]
        assert [e.author for e in started[:2]] == ["Ana Ruiz", None]
        assert stopped[0].author is None and vol[0].author == "Ana Ruiz"


def test_damaged_audio_file_is_skipped(tmp_path, qtbot, post):
    with music_rig(tmp_path, post) as r:
        (tmp_path / "music" / "a1.wav").write_bytes(b"not audio at all " * 200)
        messages: list[str] = []
        r.music.messages.connect(messages.append)
        r.music.start()
        qtbot.waitUntil(lambda: r.music.now_playing().title == "Drone A2", timeout=6000)
        assert any("Could not play 'a1.wav'" in m for m in messages)
        assert r.music.state is MusicState.PLAYING
        assert any(e.kind == "music.error" for e in r.events())


def test_missing_libvlc_disables_music_with_a_reason(tmp_path):
    with pytest.raises(MusicUnavailable) as exc:
        open_engine(lambda f: None, lib_path=str(tmp_path / "no" / "libvlc.so.5"))
    assert "Music unavailable" in str(exc.value)
    recorded: list[str] = []
    music = MusicController(None, program(), [], SystemClockLike(),
                            lambda k, p, automatic=False: recorded.append(k),
                            unavailable_reason=str(exc.value))
    music.start()
    music.fade_out()
    music.quiet()
    music.tick()
    assert music.state is MusicState.UNAVAILABLE and recorded == []


class SystemClockLike:
    def now(self) -> float:
        return 0.0

    def monotonic(self) -> float:
        return 0.0


def test_shipped_demo_program_plays(tmp_path, qtbot, post):
    from pathlib import Path

    from console.core.music.music_program import find_program

    repo = Path(__file__).resolve().parents[1]
    with music_rig(tmp_path, post, output="meter",
                   prog=find_program([repo / "playlists"])) as r:
        r.music.playlist_dirs = [repo / "playlists"]
        r.music.start()
        deck = r.engine.decks[r.music.active_deck]
        qtbot.waitUntil(lambda: deck.has_audio and deck.state() == "playing", timeout=5000)
        assert deck.sink is not None
        qtbot.waitUntil(lambda: any(lv.rms > 0.001 for lv in deck.sink.recent()), timeout=5000)
        assert r.music.now_playing().title == "Holdspace demo - Harbour"
        assert r.music.now_playing().phase == "pre-onset"


def test_lyrics_in_the_patients_language_wait_for_the_return(tmp_path, qtbot, post):
    from console.core.music.music_program import MusicProgram, Phase
    from tests.music_support import m3u

    prog = MusicProgram("t", [Phase("onset", "a", None, lyrics_ok=False),
                              Phase("return", "b", None, lyrics_ok=True)], fade_seconds=0.5)
    with music_rig(tmp_path, post, prog=prog) as r:
        d = tmp_path / "playlists"
        m3u(d / "a.m3u", ["#EXTINF:4,Song in English", "#EXTHS-LYRICS:en", "../music/a1.wav",
                          "#EXTINF:4,Song in German", "#EXTHS-LYRICS:de", "../music/a2.wav"])
        m3u(d / "b.m3u", ["#EXTINF:4,Song in English", "#EXTHS-LYRICS:en", "../music/b1.wav"])
        r.music.start()
        assert r.music.now_playing().title == "Song in German"
        r.music.next_phase()
        assert r.music.now_playing().title == "Song in English"  # the return: words allowed
        left = [e for e in r.events() if e.kind == "music.tracks_left_out"]
        assert left and left[0].payload["count"] == 1 and left[0].payload["phase"] == "onset"


def test_planned_phase_time_moves_on_and_extension_holds_it(tmp_path, qtbot, post):
    from console.core.music.music_program import MusicProgram, Phase

    prog = MusicProgram("t", [Phase("peak", "a", 0.02), Phase("return", "b", None)],
                        fade_seconds=0.3, extend_minutes=0.02)
    with music_rig(tmp_path, post, prog=prog) as r:
        r.music.start()
        r.music.extend_phase()  # a booster: the peak lasts 2.4 s instead of 1.2 s
        t0 = r.music.clock.monotonic()

        def moved() -> bool:
            r.music.tick()
            return r.music.now_playing().phase == "return"

        qtbot.waitUntil(moved, timeout=6000)
        assert r.music.clock.monotonic() - t0 >= 2.0
        ev = r.events()
        ext = next(e for e in ev if e.kind == "music.phase_extended")
        assert ext.payload["minutes"] == 0.02 and ext.payload["phase"] == "peak"
        change = [e for e in ev if e.kind == "music.phase_changed"][-1]
        assert change.payload["auto"] is True and change.payload["previous"] == "peak"
        assert change.author is None, "the planned time moved it, not the therapist"
        assert ext.author == "Ana Ruiz"
        r.music.dose_given("booster")  # the dose record lengthens the phase by itself
        r.music.set_ducked(True)  # an alarm lowers the music
        later = r.events()[len(ev):]
        assert {e.kind for e in later} >= {"music.phase_extended", "music.ducked"}
        assert all(e.author is None for e in later), [(e.kind, e.author) for e in later]


def test_phase_change_in_silence_waits_for_the_music_to_return(tmp_path, qtbot, post):
    with music_rig(tmp_path, post) as r:
        r.music.start()
        first = r.engine.decks[r.music.active_deck]
        qtbot.waitUntil(lambda: first.state() == "playing", timeout=5000)
        r.music.quiet()
        r.music.next_phase()
        assert r.music.now_playing().phase == "peak" and r.music.now_playing().title is None
        assert not any(e.kind == "music.track_started" and e.payload["phase"] == "peak"
                       for e in r.events())
        r.music.fade_in(0.5)
        deck = r.engine.decks[r.music.active_deck]
        qtbot.waitUntil(lambda: deck.state() == "playing", timeout=5000)
        assert deck.path is not None and deck.path.name == "b1.wav"
        kinds = [(e.kind, e.payload.get("phase")) for e in r.events()]
        assert kinds[-5:] == [("music.phase_changed", "peak"), ("music.track_stopped", "onset"),
                              ("music.silence", "peak"), ("music.fade_in", "peak"),
                              ("music.track_started", "peak")]


def test_news_for_a_window_already_gone_is_dropped_not_raised(qapp) -> None:
    """VLC or the writer may post from their thread while the window closes: once the
    poster's Qt object is deleted, a late post must not raise in that thread."""
    import threading

    from shiboken6 import delete

    poster = GuiPoster()
    delete(poster)
    errors: list[BaseException] = []

    def late() -> None:
        try:
            poster(lambda: None)
        except BaseException as e:  # what VLC's thread would have raised
            errors.append(e)

    t = threading.Thread(target=late)
    t.start()
    t.join(5)
    assert errors == []
