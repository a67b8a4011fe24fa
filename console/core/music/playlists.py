"""Playlists from M3U/M3U8 and XSPF files, read so that a bad file never stops a session.

A clinic's playlists are hand-made and copied between computers, so every problem (a
missing or unreadable track, an empty or malformed file) becomes a sentence a nurse can act
on, kept in `Playlist.problems`, and the bad part is skipped. Nothing here raises. A file
that cannot be used at all (too large, damaged, nested absurdly, no playable track) is also
described in `Playlist.file_problem`, for the "problems with clinic files" view. XSPF is
read without XML entities and with a depth limit (see console/core/clinic_files.py).

Lyrics: a track may say which language its lyrics are in, so the program can keep words in
the patient's language away until the return phase.
- M3U: a line `#EXTHS-LYRICS:de` (or `none` for instrumental) before the track's path.
- XSPF: `<meta rel="https://holdspace.app/xspf/lyrics">de</meta>` inside `<track>` (any
  meta whose rel ends in "lyrics" is accepted).
- Side file: `<track file>.lyrics` next to the audio file, holding the language code.
Unknown means "not marked"; such a track is played.
"""

from __future__ import annotations

import logging
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from console.core import clinic_files
from console.core.clinic_files import FileProblem

log = logging.getLogger(__name__)

PLAYLIST_SUFFIXES = (".m3u", ".m3u8", ".xspf")
XSPF_NS = "{http://xspf.org/ns/0/}"
NO_LYRICS = "none"


@dataclass(frozen=True, slots=True)
class Track:
    path: Path
    title: str
    duration_s: float | None = None
    lyrics: str | None = None  # language code, "none" (instrumental) or None (not marked)

    def has_lyrics_in(self, languages: set[str]) -> bool:
        if self.lyrics is None or self.lyrics == NO_LYRICS:
            return False
        return any(code.strip().lower() in languages for code in self.lyrics.split(","))


@dataclass
class Playlist:
    name: str
    path: Path | None
    tracks: list[Track] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    file_problem: FileProblem | None = None  # the file as a whole could not be used

    def refuse(self, line: int | None, reason: str, sentence: str) -> None:
        """The whole file is unusable: one sentence for the music panel, one entry for the list."""
        self.problems.append(sentence)
        if self.path is not None and self.file_problem is None:
            self.file_problem = FileProblem(self.path, line, reason,
                                            "its phase plays nothing until it is fixed")


def discover(dirs: list[Path]) -> dict[str, Path]:
    """Playlists by file stem; a later directory (the clinic's) overrides an earlier one."""
    found: dict[str, Path] = {}
    for d in dirs:
        try:
            entries = sorted(d.iterdir())
        except OSError:
            continue
        for p in entries:
            if p.suffix.lower() in PLAYLIST_SUFFIXES and p.is_file():
                found[p.stem] = p
    return found


def load(path: Path) -> Playlist:
    """Read a playlist; problems are described in `problems`, never raised."""
    pl = Playlist(name=path.stem, path=path)
    try:
        _load(path, pl)
    except Exception as e:  # a bug here must not stop the music or the console
        log.exception("playlist %s could not be loaded", path.name)
        pl.tracks = []
        pl.refuse(None, f"could not be read ({type(e).__name__})",
                  f"Playlist '{path.name}' could not be read.")
    return pl


def _load(path: Path, pl: Playlist) -> None:
    try:
        raw = clinic_files.read_bytes(path)
    except FileNotFoundError:
        pl.refuse(None, "was not found", f"Playlist '{path.name}' was not found.")
        return
    except clinic_files.UnreadableFile as e:
        if e.reason.startswith("cannot be opened"):
            sentence = (f"Playlist '{path.name}' could not be opened (no permission or disk "
                        "problem).")
        else:
            sentence = _unreadable(path, e)
        pl.refuse(e.line, e.reason, sentence)
        return
    parse = _parse_xspf if path.suffix.lower() == ".xspf" else _parse_m3u
    entries = parse(raw, path, pl)
    for track in entries:
        problem = _check_file(track.path)
        if problem:
            pl.problems.append(f"Playlist '{path.name}': {problem} — skipped.")
        else:
            pl.tracks.append(track)
    if not pl.tracks and not pl.problems:
        pl.refuse(None, "has no tracks", f"Playlist '{path.name}' has no tracks.")
    elif not pl.tracks:
        skipped = [p for p in pl.problems if p.endswith("— skipped.")] or pl.problems
        first = skipped[0].removeprefix(f"Playlist '{path.name}': ").removesuffix(" — skipped.")
        pl.refuse(None, f"has no playable tracks ({clinic_files.shorten(first, 140)})",
                  f"Playlist '{path.name}' has no playable tracks.")


def _check_file(p: Path) -> str | None:
    name = clinic_files.shorten(p.name, 60)
    try:
        if not p.exists():
            return f"track '{name}' is missing"
        if not p.is_file():
            return f"'{name}' is not an audio file"
        with p.open("rb") as f:
            head = f.read(16)
    except (OSError, ValueError):  # a name too long for the disk, a NUL in the name
        if len(p.name) > 255 or any(len(part) > 255 for part in p.parts):
            return f"track '{name}' has a file name too long for the disk"
        return f"track '{name}' cannot be read (no permission or disk problem)"
    if not head:
        return f"track '{name}' is empty"
    return None


def _side_lyrics(p: Path) -> str | None:
    side = p.with_name(p.name + ".lyrics")
    try:
        text = clinic_files.read_text(side, max_bytes=1024).strip().lower()
    except (OSError, ValueError):  # includes UnreadableFile
        return None
    return clinic_files.shorten(text, 40) or None


def _resolve(location: str, base: Path) -> Path | None:
    """A local path from a playlist entry; None for streams (local files only)."""
    loc = location.strip()
    if loc.lower().startswith("file:"):
        try:
            parsed = urlparse(loc)
        except ValueError:  # e.g. "file://[x": a damaged address; reported as missing
            return base / loc
        return Path(unquote(parsed.path))
    if "://" in loc:
        return None
    p = Path(unquote(loc) if "%" in loc else loc)
    return p if p.is_absolute() else (base / p)


def _parse_m3u(raw: bytes, path: Path, pl: Playlist) -> list[Track]:
    if b"\x00" in raw:
        pl.refuse(raw.count(b"\n", 0, raw.find(b"\x00")) + 1,
                  "contains a NUL byte, so it is damaged or is not a text playlist",
                  f"Playlist '{path.name}' is not a text playlist (damaged or wrong file type).")
        return []
    try:
        if path.suffix.lower() == ".m3u8":  # UTF-8 by definition
            text = clinic_files.decode_text(raw, path)
        else:
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:  # an old .m3u: Latin-1
                text = raw.decode("latin-1")
            clinic_files.check_lines(text, path)
    except clinic_files.UnreadableFile as e:
        pl.refuse(e.line, e.reason, _unreadable(path, e))
        return []
    out: list[Track] = []
    title: str | None = None
    duration: float | None = None
    lyrics: str | None = None
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        if s.startswith("#EXTINF:"):
            head, _, rest = s[8:].partition(",")
            try:
                duration = float(head.split()[0]) if head.split() else None
            except ValueError:
                duration = None
            if duration is not None and not 0 <= duration < 1e7:  # negative, inf, nan
                duration = None
            title = _name(rest.strip(), "a track title", path, pl) or None
            continue
        if s.upper().startswith("#EXTHS-LYRICS:"):
            lyrics = s.split(":", 1)[1].strip().lower() or None
            continue
        if s.startswith("#"):
            continue
        p = _resolve(s, path.parent)
        if p is None:
            pl.problems.append(f"Playlist '{path.name}': '{s}' is a stream, only local files "
                               "are played — skipped.")
        else:
            out.append(Track(p, title or p.stem, duration, lyrics or _side_lyrics(p)))
        title, duration, lyrics = None, None, None
    return out


def _unreadable(path: Path, e: clinic_files.UnreadableFile) -> str:
    """The music panel's sentence for a playlist file that cannot be read at all."""
    if e.reason.startswith("is damaged"):
        at = f" (XML error at line {e.line})" if e.line else ""
        return f"Playlist '{path.name}' is damaged and could not be read{at}."
    reason = e.reason.rstrip("?.")
    if reason.split(" ", 1)[0] in ("is", "contains", "uses", "has"):
        reason = "it " + reason
    return f"Playlist '{path.name}' could not be read: {reason}."


def _name(text: str, what: str, path: Path, pl: Playlist) -> str:
    """A title cut to a readable length, saying so once per playlist."""
    if not clinic_files.too_long(text):
        return text
    note = (f"Playlist '{path.name}': {what} is {len(text)} characters long — shortened to "
            f"{clinic_files.NAME_MAX}.")
    if note not in pl.problems:
        pl.problems.append(note)
    return clinic_files.shorten(text)


def _parse_xspf(raw: bytes, path: Path, pl: Playlist) -> list[Track]:
    try:
        root = clinic_files.parse_xml(raw, path)
    except clinic_files.UnreadableFile as e:
        pl.refuse(e.line, e.reason, _unreadable(path, e))
        return []
    if root.tag not in (f"{XSPF_NS}playlist", "playlist"):
        tag = clinic_files.shorten(str(root.tag).rpartition("}")[2], 40)
        pl.refuse(1, f"is not an XSPF playlist (it starts with <{tag}>)",
                  f"Playlist '{path.name}' is not an XSPF playlist.")
        return []

    def find(el: ET.Element, name: str) -> ET.Element | None:
        found = el.find(f"{XSPF_NS}{name}")
        return found if found is not None else el.find(name)

    def findall(el: ET.Element, name: str) -> list[ET.Element]:
        return el.findall(f"{XSPF_NS}{name}") + el.findall(name)

    out: list[Track] = []
    title_el = find(root, "title")
    if title_el is not None and (title_el.text or "").strip():
        pl.name = _name((title_el.text or "").strip(), "the playlist title", path, pl)
    track_list = find(root, "trackList")
    for tr in findall(track_list, "track") if track_list is not None else []:
        loc_el = find(tr, "location")
        loc = (loc_el.text or "").strip() if loc_el is not None else ""
        if not loc:
            pl.problems.append(f"Playlist '{path.name}': a track has no location — skipped.")
            continue
        p = _resolve(loc, path.parent)
        if p is None:
            pl.problems.append(f"Playlist '{path.name}': '{loc}' is a stream, only local "
                               "files are played — skipped.")
            continue
        t_el, d_el = find(tr, "title"), find(tr, "duration")
        duration: float | None = None
        if d_el is not None and d_el.text:
            try:
                duration = int(d_el.text.strip()) / 1000.0
            except (ValueError, OverflowError):
                duration = None
            if duration is not None and not 0 <= duration < 1e7:
                duration = None
        lyrics = None
        for meta in findall(tr, "meta"):
            if (meta.get("rel") or "").lower().endswith("lyrics") and meta.text:
                lyrics = meta.text.strip().lower() or None
        title = _name((t_el.text or "").strip() if t_el is not None else "", "a track title",
                      path, pl)
        out.append(Track(p, title or p.stem, duration, lyrics or _side_lyrics(p)))
    return out


def default_dirs(repo_root: Path | None, data_dir: Path) -> list[Path]:
    """Shipped playlists first, then the clinic's (which win on a name clash)."""
    dirs: list[Path] = []
    env = os.environ.get("HOLDSPACE_PLAYLISTS")
    if env:
        dirs.append(Path(env))
    if repo_root is not None:
        dirs.append(repo_root / "playlists")
    dirs.append(data_dir / "playlists")
    return dirs
