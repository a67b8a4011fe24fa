"""A session's music program: which playlist plays in which phase, and for how long.

The arc follows the Bonny/Pahnke and Johns Hopkins practice (pre-onset, onset, peak, return,
integration). Names, playlists, planned minutes and the crossfade time are the clinic's
choice, written in a small TOML file (`program.toml` in a playlists directory), so the
program can be changed without code. Lyrics in the patient's language are kept out of the
phases before `lyrics_from` (the return, by default).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PHASES = ("pre-onset", "onset", "peak", "return", "integration")
PROGRAM_FILE = "program.toml"


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
        name="Demo program (calm ambient)",
        phases=[Phase(n, f"demo-{n}", minutes[n], lyrics_ok=n in ("return", "integration"))
                for n in DEFAULT_PHASES],
    )


def load_program(path: Path) -> MusicProgram:
    """Read a program file; on any problem fall back to the demo and say why."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        prog = demo_program()
        prog.problems.append(f"Music program '{path.name}' was not found; using the demo.")
        return prog
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        prog = demo_program()
        prog.problems.append(f"Music program '{path.name}' could not be read ({_short(e)}); "
                             "using the demo program.")
        return prog
    return program_from_dict(raw, path.name)


def program_from_dict(raw: dict[str, Any], label: str = "program") -> MusicProgram:
    problems: list[str] = []
    phases: list[Phase] = []
    items = raw.get("phase", [])
    if not isinstance(items, list):
        items = []
    lyrics_from = str(raw.get("lyrics_from", "return"))
    seen_lyrics_phase = False
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("name") or not item.get("playlist"):
            problems.append(f"Music program '{label}': phase {i + 1} needs a name and a "
                            "playlist — left out.")
            continue
        name = str(item["name"])
        seen_lyrics_phase = seen_lyrics_phase or name == lyrics_from
        minutes = item.get("minutes")
        if minutes is not None and (not isinstance(minutes, int | float) or minutes <= 0):
            problems.append(f"Music program '{label}': phase '{name}' has an invalid duration "
                            "— it will run until moved on by hand.")
            minutes = None
        lyrics_ok = bool(item.get("lyrics", seen_lyrics_phase))
        phases.append(Phase(name, str(item["playlist"]), minutes, lyrics_ok))
    if not phases:
        prog = demo_program()
        prog.problems = [*problems, f"Music program '{label}' has no usable phases; using the "
                         "demo program."]
        return prog
    fade = raw.get("fade_seconds", 8.0)
    if not isinstance(fade, int | float) or not 0 <= fade <= 120:
        problems.append(f"Music program '{label}': fade time must be 0–120 seconds; using 8.")
        fade = 8.0
    ext = raw.get("extend_minutes", 15.0)
    if not isinstance(ext, int | float) or ext <= 0:
        ext = 15.0
    return MusicProgram(
        name=str(raw.get("name", label)),
        phases=phases,
        fade_seconds=float(fade),
        auto_advance=bool(raw.get("auto_advance", True)),
        extend_minutes=float(ext),
        problems=problems,
    )


def find_program(dirs: list[Path]) -> MusicProgram:
    """The clinic's program if it has one, else the shipped one, else the built-in demo."""
    for d in reversed(dirs):
        p = d / PROGRAM_FILE
        if p.is_file():
            return load_program(p)
    return demo_program()


def _short(e: BaseException) -> str:
    return str(e).splitlines()[0][:120] if str(e) else type(e).__name__
