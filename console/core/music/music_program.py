"""A session's music program: which playlist plays in which phase, and for how long.

The arc follows the Bonny/Pahnke and Johns Hopkins practice (pre-onset, onset, peak, return,
integration). Names, playlists, planned minutes and the crossfade time are the clinic's
choice, written in a small TOML file (`program.toml` in a playlists directory), so the
program can be changed without code. Lyrics in the patient's language are kept out of the
phases before `lyrics_from` (the return, by default).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Required, TypedDict

from console.core import clinic_files, settings_schema
from console.core.clinic_files import FileProblem

log = logging.getLogger(__name__)

DEFAULT_PHASES = ("pre-onset", "onset", "peak", "return", "integration")
PHASE_NAME_MAX = 40  # shown large in the music panel; real names are a word or two
PROGRAM_FILE = "program.toml"
DEMO_NAME = "Demo program (calm ambient)"
DEMO_USED = "the demo music program is played instead"
NO_PHASES = "has no usable phases; using the demo program."


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    playlist: str  # a playlist's file stem, looked up in the playlist directories
    minutes: float | None = None  # planned duration; None = until moved on by hand
    lyrics_ok: bool = False  # may tracks with lyrics in the patient's language play?


@dataclass
class MusicProgram:
    name: str
    phases: list[Phase]
    fade_seconds: float = 8.0
    auto_advance: bool = True  # cross to the next phase when the planned time is over
    extend_minutes: float = 15.0  # one "extend phase" press (e.g. after a booster)
    problems: list[str] = field(default_factory=list)
    file_problem: FileProblem | None = None  # the file could not be used: the demo plays
    source: Path | None = None  # the file this program was read from

    def index_of(self, name: str) -> int | None:
        for i, ph in enumerate(self.phases):
            if ph.name == name:
                return i
        return None


def demo_program() -> MusicProgram:
    """The shipped demo: one demo playlist per phase."""
    # pre-onset has no planned time: it lasts until moved on at the dose.
    minutes = {"pre-onset": None, "onset": 15, "peak": 30, "return": 25, "integration": None}
    return MusicProgram(
        name=DEMO_NAME,
        phases=[Phase(n, f"demo-{n}", minutes[n], lyrics_ok=n in ("return", "integration"))
                for n in DEFAULT_PHASES],
    )


def load_program(path: Path) -> MusicProgram:
    """Read a program file; on any problem fall back to the demo and say why. Never raises."""
    try:
        raw = clinic_files.load_toml(path)
    except FileNotFoundError:
        prog = demo_program()
        prog.problems.append(f"Music program '{path.name}' was not found; using the demo.")
        prog.file_problem = FileProblem(path, None, "was not found", DEMO_USED)
        return prog
    except clinic_files.UnreadableFile as e:
        prog = demo_program()
        prog.problems.append(f"Music program '{path.name}' could not be read ({e.reason}); "
                             "using the demo program.")
        prog.file_problem = e.problem(DEMO_USED)
        return prog
    try:
        prog = program_from_dict(raw, path.name)
    except Exception as e:  # a bug here must not stop the music or the console
        log.exception("music program %s could not be loaded", path.name)
        prog = demo_program()
        prog.problems.append(f"Music program '{path.name}' could not be read; using the demo "
                             "program.")
        prog.file_problem = FileProblem(path, None, f"could not be read ({type(e).__name__})",
                                        DEMO_USED)
        return prog
    if prog.problems and prog.problems[-1].endswith(NO_PHASES):
        prog.file_problem = FileProblem(path, None, "has no usable phases (each needs a name "
                                        "and a playlist)", DEMO_USED)
    else:
        prog.source = path
    return prog


class _ProgramFile(TypedDict, total=False):
    """The declared shape of program.toml (phases are checked one by one)."""

    name: str
    fade_seconds: float
    auto_advance: bool
    extend_minutes: float
    lyrics_from: str
    phase: list[Any]


class _PhaseEntry(TypedDict, total=False):
    name: Required[str]
    playlist: Required[str]
    minutes: Any  # checked below with its own message
    lyrics: bool


def program_from_dict(raw: dict[str, Any], label: str = "program") -> MusicProgram:
    problems: list[str] = []
    good, bad = settings_schema.check_table(raw, _ProgramFile)
    for key, reason in bad:
        if key != "fade_seconds":  # said below in the words a nurse knows
            problems.append(f"Music program '{label}': {reason}.")
    phases: list[Phase] = []
    items = good.get("phase", [])
    lyrics_from = good.get("lyrics_from", "return")
    seen_lyrics_phase = False
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not _text(item.get("name")) or not _text(
                item.get("playlist")):
            problems.append(f"Music program '{label}': phase {i + 1} needs a name and a "
                            "playlist — left out.")
            continue
        name = _short_name(item["name"], f"phase {i + 1}'s name", label, problems,
                           PHASE_NAME_MAX)
        playlist = _short_name(item["playlist"], f"phase '{name}''s playlist", label, problems)
        seen_lyrics_phase = seen_lyrics_phase or name == lyrics_from
        _, item_bad = settings_schema.check_table(item, _PhaseEntry)
        for key, reason in item_bad:
            if key != "minutes":
                problems.append(f"Music program '{label}', phase '{name}': {reason}.")
        minutes = item.get("minutes")
        if minutes is not None and (isinstance(minutes, bool) or not isinstance(
                minutes, int | float) or not 0 < minutes < 10_000):
            problems.append(f"Music program '{label}': phase '{name}' has an invalid duration "
                            "— it will run until moved on by hand.")
            minutes = None
        lyrics = item.get("lyrics", seen_lyrics_phase)
        lyrics_ok = lyrics if isinstance(lyrics, bool) else seen_lyrics_phase
        phases.append(Phase(name, playlist, minutes, lyrics_ok))
    if not phases:
        prog = demo_program()
        prog.problems = [*problems, f"Music program '{label}' {NO_PHASES}"]
        return prog
    fade = raw.get("fade_seconds", 8.0)
    if isinstance(fade, bool) or not isinstance(fade, int | float) or not 0 <= fade <= 120:
        problems.append(f"Music program '{label}': fade time must be 0–120 seconds; using 8.")
        fade = 8.0
    ext = good.get("extend_minutes", 15.0)
    if not 0 < ext <= 600:
        ext = 15.0
    return MusicProgram(
        name=_short_name(good.get("name", label), "the program's name", label, problems),
        phases=phases,
        fade_seconds=float(fade),
        auto_advance=good.get("auto_advance", True),
        extend_minutes=float(ext),
        problems=problems,
    )


def _text(v: Any) -> bool:
    return isinstance(v, str) and bool(v.strip())


def _short_name(text: str, what: str, label: str, problems: list[str],
                longest: int = clinic_files.NAME_MAX) -> str:
    if clinic_files.too_long(text, longest):
        problems.append(f"Music program '{label}': {what} is {len(text)} characters long — "
                        f"shortened to {longest}.")
        return clinic_files.shorten(text, longest)
    return text


def find_program(dirs: list[Path]) -> MusicProgram:
    """The clinic's program if it has one, else the shipped one, else the built-in demo."""
    for d in reversed(dirs):
        p = d / PROGRAM_FILE
        if p.is_file():
            return load_program(p)
    return demo_program()
