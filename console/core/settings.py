"""Every workstation setting of `workstation.json`'s `extra`, declared once: section, key,
type, default and what it means for the clinic (as Picard's `options.py` declares its options).

A section is a frozen dataclass registered with `@section("name")`; a setting is one line in
it, `key: type = setting(default, "meaning")`. Features read a filled section with
`config.section(MusicSettings)` — never `extra.get(...)` with a default of their own — so the
default lives here only. The file itself keeps its shape: `Config.extra` holds each section
as the JSON object it is (only the values that were set), unknown sections and keys of a newer
version are kept as they are, and a value of the wrong kind is reported in `Config.problems`
and its default used (console/core/config.py reads the file against these declarations).

docs/settings.md holds the table made by `python -m console.core.settings`; a test keeps it
equal to the declarations.

Adding a setting: one line in its section below (and `python -m console.core.settings` into
docs/settings.md). Adding a section: a class with `@section("name")` and `@dataclass(frozen=True)`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar

from console.core import settings_schema

T = TypeVar("T")
S = TypeVar("S")

MEANING = "meaning"  # the dataclass field metadata key holding the one-line meaning

# section name -> its declaration, in the order declared (the docs table follows it)
SECTIONS: dict[str, type[Any]] = {}
_NAME_OF: dict[type[Any], str] = {}


def setting(default: T, meaning: str) -> T:
    """One setting's default and its meaning in a line; lists and mappings are copied per use."""
    md = {MEANING: meaning}
    if isinstance(default, list | dict | set):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata=md)
    return dataclasses.field(default=default, metadata=md)


def section(name: str) -> Callable[[type[S]], type[S]]:
    """Register a dataclass as `extra[name]`'s declaration."""
    def register(cls: type[S]) -> type[S]:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls.__name__}: declare it as a @dataclass(frozen=True)")
        if name in SECTIONS and SECTIONS[name] is not cls:
            raise ValueError(f"the settings section {name!r} is declared twice")
        SECTIONS[name] = cls
        _NAME_OF[cls] = name
        return cls
    return register


def name_of(cls: type[Any]) -> str:
    """The `extra` key a declared section is stored under."""
    try:
        return _NAME_OF[cls]
    except KeyError:
        raise KeyError(f"{cls.__name__} is not a declared settings section") from None


def fill(cls: type[S], raw: Any) -> S:
    """The section with the values of `raw` that are of the declared kind, defaults for the
    rest. Never raises: the reasons for what was not used are reported when the file is read."""
    if not isinstance(raw, Mapping):
        return cls()
    good, _problems = settings_schema.check_table(dict(raw), cls)
    return cls(**good)


def from_extra(cls: type[S], extra: Mapping[str, Any]) -> S:
    """A declared section, filled, out of a whole `extra` mapping (`Config.section` does this)."""
    return fill(cls, extra.get(name_of(cls)))


# --------------------------------------------------------------------------- the declarations
@section("music")
@dataclasses.dataclass(frozen=True)
class MusicSettings:
    """`extra["music"]`: the music program (console/ui/music/music_feature.py)."""

    autostart: Literal["launch", "session", "off"] = setting(
        "session", "when the music starts: with the session (patient in the room), at launch "
                   "(room being prepared), or off (by hand only)")
    output: str = setting("", "libvlc audio output module (empty: the system's default)")
    libvlc: str = setting("", "path to a libvlc library to use (empty: the one found)")
    patient_languages: tuple[str, ...] = setting(
        ("en",), "languages of the tracks offered (spoken guidance), e.g. [\"en\", \"es\"]")
    volume: int = setting(70, "starting volume, 0–100")
    return_phase: str = setting("return", "the program phase the \"return\" button goes to")
    follow_doses: bool = setting(
        True, "the program moves on by itself when a dose is recorded")


@section("notes")
@dataclasses.dataclass(frozen=True)
class NotesSettings:
    """`extra["notes"]`: quick tags and the clinic's own measures (console/ui/notes)."""

    tags: tuple[str, ...] = setting(
        ("tearful", "nausea", "restless", "eyes open", "asks for music off"),
        "quick tags offered in the note pane, in order (quick_tags.txt in the clinic folder "
        "takes precedence)")
    measures: dict[str, tuple[float, float]] = setting(
        {}, "the clinic's own rated measures and their scale, {name: [low, high]}")


@section("backup")
@dataclasses.dataclass(frozen=True)
class BackupSettings:
    """`extra["backup"]`: where backups go besides `backups/` beside the database
    (console/core/backups.py)."""

    folder: str = setting("", "the clinic's backup folder (a USB disk or a network share); "
                              "empty: only the copies on this computer")


@section("sync")
@dataclasses.dataclass(frozen=True)
class SyncConfig:
    """`extra["sync"]`: this room's copy to the clinic's central PostgreSQL server
    (console/replication, docs/replication.md). `--sync`/`--room` on the command line win."""

    url: str = setting("", "the central server, postgresql://USER@HOST/DB?sslmode=verify-full…; "
                           "empty: replication off")
    room: str = setting("", "this room's name on the central server, e.g. \"Room 2\"")
    waveforms: bool = setting(False, "also send waveforms (pleth, ECG): more data")


# A hand-typed zip code or phone number may arrive as a JSON number: taken as its text.
ClinicText = str | int


def _clinic_text(v: Any, _: Any) -> str | int:
    if isinstance(v, bool) or not isinstance(v, str | int):
        raise TypeError("not text")
    return v


settings_schema.converter.register_structure_hook(ClinicText, _clinic_text)


@section("clinic")
@dataclasses.dataclass(frozen=True)
class ClinicSettings:
    """`extra["clinic"]`: the clinic's details for reports and the REMS form
    (console/core/report/clinic.py)."""

    name: ClinicText = setting("", "the clinic's name on reports (empty: \"Holdspace\")")
    address1: ClinicText = setting("", "address, first line (REMS form)")
    address2: ClinicText = setting("", "address, second line (REMS form)")
    city: ClinicText = setting("", "city (REMS form)")
    state: ClinicText = setting("", "state (REMS form)")
    zip: ClinicText = setting("", "zip code (REMS form)")
    phone: ClinicText = setting("", "phone number (REMS form)")


@dataclasses.dataclass(frozen=True)
class FreeSection:
    """A section whose keys are not fixed (one per vital sign, say): checked by its reader."""

    name: str
    key: str
    type: str
    default: str
    meaning: str


FREE_SECTIONS: dict[str, FreeSection] = {s.name: s for s in (
    FreeSection("plausibility", "<parameter>", "[low, high] or {\"low\": …, \"high\": …}",
                "the vital-sign table's range",
                "plausible range of a parameter (label like \"HR\" or MDC code); values "
                "outside are stored invalid with the reason (devices/plausibility.py)"),
)}


# --------------------------------------------------------------------------- the docs table
def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def rows() -> list[tuple[str, str, str, str, str]]:
    """(section, key, type in words, default as JSON, meaning) for every declared setting."""
    from console.core.config import Config  # the top-level keys (config imports this module)

    hints = settings_schema.fields_of(Config)
    out = [("(top level)", f.name, settings_schema.expected(hints[f.name]),
            json.dumps(_default(f)), f.metadata[MEANING])
           for f in dataclasses.fields(Config) if MEANING in f.metadata]
    for name, cls in SECTIONS.items():
        hints = settings_schema.fields_of(cls)
        for f in dataclasses.fields(cls):
            out.append((name, f.name, settings_schema.expected(hints[f.name]),
                        json.dumps(_default(f), ensure_ascii=False), f.metadata[MEANING]))
    for free in FREE_SECTIONS.values():
        out.append((free.name, free.key, free.type, free.default, free.meaning))
    return out


def markdown_table() -> str:
    """The settings table of docs/settings.md."""
    lines = ["| section | key | kind | default | meaning |", "|---|---|---|---|---|"]
    for row in rows():
        cells = [c.replace("|", "\\|") for c in row]
        lines.append(f"| `{cells[0]}` | `{cells[1]}` | {cells[2]} | `{cells[3]}` | {cells[4]} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
