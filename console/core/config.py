"""Settings remembered per workstation, declared once with their defaults.

Stored as JSON in the user's config directory (platformdirs). Clinic-wide content (protocol
templates, playlists, checklists) lives as files in the clinic data directory instead, so a
clinic can add its own without touching code. The file is edited by hand at times, so it is
read against its declared shape (settings_schema): a bad part is left out and explained in
`Config.problems`, and loading never raises.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypedDict, TypeVar

from console.core import clinic_files, settings, settings_schema
from console.core.clinic_files import FileProblem

# Re-exported: the defaults were defined here before they moved for the command line.
from console.core.paths import APP as APP
from console.core.paths import default_config_path as default_config_path
from console.core.paths import default_data_dir as default_data_dir
from console.core.settings import (  # noqa: F401  (the declarations, where they were before)
    MEANING,
    BackupSettings,
    ClinicSettings,
    MusicSettings,
    NotesSettings,
    SyncConfig,
)
from devices.plausibility import DEFAULT_LIMITS, Limits, limits_with

S = TypeVar("S")


@dataclass
class DeviceConfig:
    protocol: str
    port: str
    capture: bool = False  # write raw bytes to a capture file beside the database


@dataclass
class StaffConfig:
    name: str
    role: str


@dataclass
class Config:
    devices: list[DeviceConfig] = field(default_factory=list, metadata={MEANING: (
        "the monitors of this room: [{\"protocol\": \"nonin\", \"port\": \"/dev/ttyUSB0\", "
        "\"capture\": false}]; capture writes raw bytes beside the database")})
    # which source is shown when two devices send the same parameter: {str(code): source}
    preferred_source: dict[str, str] = field(default_factory=dict, metadata={MEANING: (
        "which monitor is shown when two send the same parameter, {MDC code: source}")})
    staff: list[StaffConfig] = field(default_factory=list, metadata={MEANING: (
        "the people who may sign in here, [{\"name\": …, \"role\": …}]")})
    room_mode: bool = field(default=False, metadata={MEANING: (
        "the screen dims to the room view (kept across a restart)")})
    # who is at the console ("writing as") and for which session: survives a restart
    console_user: dict[str, Any] = field(default_factory=dict, metadata={MEANING: (
        "who is writing at the console, and for which session (kept by the console)")})
    # start-up notes (a key made, files made private …) shown until someone presses Got it
    notices: list[str] = field(default_factory=list, metadata={MEANING: (
        "notes from a start not yet dismissed with Got it (kept by the console)")})
    extra: dict[str, Any] = field(default_factory=dict, metadata={MEANING: (
        "the sections below, one group {…} each")})  # feature settings by feature name
    path: Path | None = field(default=None, repr=False, compare=False)
    # What could not be used from the file, for the "problems with files" view; never saved.
    problems: list[FileProblem] = field(default_factory=list, repr=False, compare=False)
    _kept_original: bool = field(default=False, init=False, repr=False, compare=False)

    def section(self, cls: type[S]) -> S:
        """A declared section of `extra` (console/core/settings.py), every setting filled:
        the file's value where it is of the declared kind, else the declared default."""
        return settings.from_extra(cls, self.extra)

    @classmethod
    def load(cls, path: Path | None = None) -> Config:
        """The workstation's settings; never raises. What could not be used is in `problems`.

        A file of the wrong shape (not JSON, a list, damaged bytes) is renamed aside to
        `workstation.damaged.json` and the defaults are used; inside a good file, an entry of
        the wrong kind is left out and an unknown key ignored, each with its reason.
        """
        p = path or default_config_path()
        cfg = cls(path=p)
        try:
            text = clinic_files.read_text(p)
            raw = clinic_files.parse_json(text, p)
        except FileNotFoundError:
            return cfg
        except clinic_files.UnreadableFile as e:
            if e.reason.startswith("cannot be opened"):  # permissions: the file may be fine
                cfg.problems.append(e.problem("the standard settings are used"))
                return cfg
            cfg.problems.append(e.problem(_set_aside(p)))
            return cfg
        if not isinstance(raw, dict):
            kind = {list: "a list [ … ]", str: "a single text", type(None): "null"}.get(
                type(raw), "a single value")
            cfg.problems.append(clinic_files.FileProblem(
                p, 1, f"holds {kind} instead of settings in {{ … }}", _set_aside(p)))
            return cfg
        _fill(cfg, raw, text)
        return cfg

    def save(self) -> None:
        if self.path is None:
            return
        data = asdict(self)
        data.pop("path", None)
        data.pop("problems", None)
        data.pop("_kept_original", None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.problems and not self._kept_original:
            # Saving would drop the entries that were left out: keep the file as written.
            self._kept_original = True
            with contextlib.suppress(OSError):
                shutil.copyfile(self.path, self.path.with_suffix(".damaged.json"))
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self.path)


# ---------------------------------------------------------------- reading the file leniently
class _WorkstationFile(TypedDict, total=False):
    devices: list[Any]  # entries are checked one by one, so one bad monitor costs only itself
    preferred_source: dict[str, Any]
    staff: list[Any]
    room_mode: bool
    console_user: dict[str, Any]
    notices: list[str]
    extra: dict[str, Any]


# Sections of `extra` whose shape is declared (console/core/settings.py); others (a newer
# feature's) are kept as they are.
EXTRA_SECTIONS = settings.SECTIONS


def _set_aside(p: Path) -> str:
    """Rename a damaged settings file out of the way (kept for support); says what happened."""
    aside = p.with_suffix(".damaged.json")
    try:
        p.replace(aside)
    except OSError:
        return "the standard settings are used"
    return f"the file was renamed to {aside.name} and the standard settings are used"


def _line_of(text: str, key: str) -> int | None:
    m = re.search(r'"' + re.escape(key) + r'"\s*:', text)
    return text.count("\n", 0, m.start()) + 1 if m else None


def _entry_lines(text: str, key: str) -> list[int]:
    """The line where each entry of the list under `key` starts (a cheap string-aware scan)."""
    m = re.search(r'"' + re.escape(key) + r'"\s*:\s*\[', text)
    if m is None:
        return []
    lines: list[int] = []
    depth, in_string, escaped, expect = 1, False, False, True
    line = text.count("\n", 0, m.end()) + 1
    for ch in text[m.end():]:
        if ch == "\n":
            line += 1
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch.isspace():
            continue
        if expect and depth == 1 and ch != "]":
            lines.append(line)
        expect = depth == 1 and ch == ","
        if ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
            if depth == 0:
                break
    return lines


def _fill(cfg: Config, raw: dict[str, Any], text: str) -> None:
    """Take every usable part of a settings object into `cfg`, noting each part left out."""
    assert cfg.path is not None
    path = cfg.path

    def note(key: str, reason: str) -> None:
        cfg.problems.append(FileProblem(path, _line_of(text, key), reason))

    good, problems = settings_schema.check_table(raw, _WorkstationFile)
    for key, reason in problems:
        note(key, reason)
    for key, cls, what in (("devices", DeviceConfig, "monitor"), ("staff", StaffConfig,
                                                                  "staff entry")):
        lines = _entry_lines(text, key)

        def at(i: int, reason: str, key: str = key, lines: list[int] = lines) -> None:
            line = lines[i] if i < len(lines) else _line_of(text, key)
            cfg.problems.append(FileProblem(path, line, reason))

        setattr(cfg, key, _entries(good.get(key, []), cls, what, at))
    for code, source in good.get("preferred_source", {}).items():
        if isinstance(source, str):
            cfg.preferred_source[code] = source
        else:
            note("preferred_source", f"the shown source for {code} must be text — ignored")
    cfg.room_mode = good.get("room_mode", False)
    cfg.console_user = dict(good.get("console_user", {}))
    cfg.notices = list(good.get("notices", []))
    for name, section in good.get("extra", {}).items():
        schema = EXTRA_SECTIONS.get(name)
        if schema is None:
            cfg.extra[name] = section
        elif not isinstance(section, dict):
            note(name, f"the `{name}` settings must be a group in {{…}} — left out")
        else:
            kept, bad = settings_schema.check_table(section, schema, keep_unknown=True)
            cfg.extra[name] = kept
            for key, reason in bad:
                note(key, f"{name} settings: {reason}")


def _entries(items: list[Any], cls: Any, what: str,
             note: Callable[[int, str], None]) -> list[Any]:
    """Each entry structured on its own; a bad one is left out with its reason."""
    out = []
    known = settings_schema.fields_of(cls)
    for i, item in enumerate(items):
        label = f"{what} {i + 1}"
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            label += f" ({clinic_files.shorten(item['name'], 40)})"
        value, reason = settings_schema.structure(item, cls) if isinstance(item, dict) else (
            None, "it must be a group of settings in {…}")
        if reason is not None:
            note(i, f"{label} is left out: {reason}")
            continue
        for text in settings_schema.unknown(item, known):
            note(i, f"{label}: {text}")
        out.append(value)
    return out


def plausible_limits(cfg: Config) -> Mapping[int, Limits]:
    """The clinic's plausible ranges per parameter (`extra.plausibility`, e.g.
    `{"HR": [20, 250]}`) over the defaults. A range that cannot be used is reported with the
    file's other problems and the defaults stand: a typo never stops the monitors."""
    overrides = cfg.extra.get("plausibility")
    if not overrides:
        return DEFAULT_LIMITS
    where = cfg.path or default_config_path()
    if not isinstance(overrides, dict):
        reason = "the plausible ranges (`plausibility`) must be a group in {…}"
    else:
        try:
            return limits_with(overrides)
        except (ValueError, TypeError) as e:
            reason = f"plausible ranges: {e}"
    cfg.problems.append(FileProblem(where, _line_of_key(where, "plausibility"), reason,
                                    "the standard plausible ranges are used"))
    return DEFAULT_LIMITS


def _line_of_key(path: Path, key: str) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return _line_of(path.read_text(encoding="utf-8"), key)
    return None
