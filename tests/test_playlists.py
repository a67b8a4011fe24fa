"""Playlists and programs: bad files become a clear sentence and are skipped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from console.core.music import playlists
from console.core.music.music_program import find_program, load_program
from tests.music_support import m3u, tone

REPO = Path(__file__).resolve().parents[1]


def test_m3u_with_lyrics_flags_and_relative_paths(tmp_path):
    tone(tmp_path / "m" / "a.wav", 0.2)
    tone(tmp_path / "m" / "b.wav", 0.2)
    (tmp_path / "m" / "b.wav.lyrics").write_text("de\n")
    p = m3u(tmp_path / "x.m3u8", ["#EXTINF:123,Calm – One", "#EXTHS-LYRICS:en",
                                   "m/a.wav", "m/b.wav"])
    pl = playlists.load(p)
    assert pl.problems == []
    assert [(t.title, t.lyrics, t.duration_s) for t in pl.tracks] == [
        ("Calm – One", "en", 123.0), ("b", "de", None)]
    assert pl.tracks[0].has_lyrics_in({"en"}) and not pl.tracks[1].has_lyrics_in({"en"})


def test_missing_unreadable_and_stream_entries_are_skipped(tmp_path):
    tone(tmp_path / "ok.wav", 0.2)
    locked = tone(tmp_path / "locked.wav", 0.2)
    locked.chmod(0)
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "folder.wav").mkdir()
    p = m3u(tmp_path / "x.m3u", ["ok.wav", "gone.wav", "locked.wav", "empty.wav", "folder.wav",
                                  "http://radio.example/stream"])
    pl = playlists.load(p)
    root = os.geteuid() == 0  # root reads anything, so "locked" is readable then
    assert [t.path.name for t in pl.tracks] == ["ok.wav"] + (["locked.wav"] if root else [])
    text = "\n".join(pl.problems)
    assert "track 'gone.wav' is missing — skipped" in text
    if not root:
        assert "'locked.wav' cannot be read" in text
    assert "track 'empty.wav' is empty" in text
    assert "'folder.wav' is not an audio file" in text
    assert "only local files" in text


@pytest.mark.parametrize("content, expected", [
    (b"", "has no tracks"),
    (b"#EXTM3U\n# nothing here\n", "has no tracks"),
    (b"\x00\x01\x02binary junk", "not a text playlist"),
])
def test_empty_or_malformed_m3u(tmp_path, content, expected):
    p = tmp_path / "bad.m3u"
    p.write_bytes(content)
    pl = playlists.load(p)
    assert pl.tracks == [] and expected in pl.problems[0]


def test_xspf_good_and_malformed(tmp_path):
    tone(tmp_path / "a.wav", 0.2)
    good = tmp_path / "g.xspf"
    good.write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<playlist version="1" xmlns="http://xspf.org/ns/0/">
  <title>Peak strings</title>
  <trackList>
    <track><location>{(tmp_path / 'a.wav').as_uri()}</location><title>A</title>
      <duration>200000</duration>
      <meta rel="https://holdspace.app/xspf/lyrics">none</meta></track>
    <track><location>missing.flac</location></track>
    <track><title>no location</title></track>
  </trackList>
</playlist>""", encoding="utf-8")
    pl = playlists.load(good)
    assert pl.name == "Peak strings"
    assert [(t.title, t.duration_s, t.lyrics) for t in pl.tracks] == [("A", 200.0, "none")]
    assert len(pl.problems) == 2
    bad = tmp_path / "b.xspf"
    bad.write_text("<playlist><trackList><track>", encoding="utf-8")
    pl = playlists.load(bad)
    assert pl.tracks == [] and "damaged" in pl.problems[0]
    wrong = tmp_path / "w.xspf"
    wrong.write_text("<html/>", encoding="utf-8")
    assert "not an XSPF" in playlists.load(wrong).problems[0]


def test_missing_playlist_file(tmp_path):
    pl = playlists.load(tmp_path / "nope.m3u")
    assert pl.problems == ["Playlist 'nope.m3u' was not found."]


def test_clinic_playlists_override_shipped(tmp_path):
    shipped, clinic = tmp_path / "s", tmp_path / "c"
    for d in (shipped, clinic):
        d.mkdir()
        (d / "peak.m3u").write_text("#EXTM3U\n")
    (shipped / "onset.xspf").write_text("<playlist/>")
    found = playlists.discover([shipped, clinic, tmp_path / "absent"])
    assert found == {"peak": clinic / "peak.m3u", "onset": shipped / "onset.xspf"}


def test_program_file_and_its_problems(tmp_path):
    p = tmp_path / "program.toml"
    p.write_text('name = "Mine"\nfade_seconds = 12\n'
                 '[[phase]]\nname = "settle"\nplaylist = "a"\nminutes = 5\n'
                 '[[phase]]\nname = "return"\nplaylist = "b"\n'
                 '[[phase]]\nname = "after"\nplaylist = "c"\nminutes = -3\n'
                 '[[phase]]\nplaylist = "d"\n')
    prog = load_program(p)
    assert [ph.name for ph in prog.phases] == ["settle", "return", "after"]
    assert [ph.lyrics_ok for ph in prog.phases] == [False, True, True]
    assert prog.fade_seconds == 12 and prog.phases[2].minutes is None
    assert len(prog.problems) == 2
    p.write_text("this is [ not toml")
    broken = load_program(p)
    assert broken.name.startswith("Demo") and "could not be read" in broken.problems[0]


def test_shipped_demo_program_and_playlists_are_complete():
    prog = find_program([REPO / "playlists"])
    assert prog.problems == []
    found = playlists.discover([REPO / "playlists"])
    for ph in prog.phases:
        pl = playlists.load(found[ph.playlist])
        assert pl.problems == [] and pl.tracks, ph.name
