"""Settings remembered per workstation, declared once with their defaults.

Stored as JSON in the user's config directory (platformdirs). Clinic-wide content (protocol
templates, playlists, checklists) lives as files in the clinic data directory instead, so a
clinic can add its own without touching code.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

APP = "holdspace"


def default_data_dir() -> Path:
    return Path(os.environ.get("HOLDSPACE_DATA_DIR") or platformdirs.user_data_dir(APP, appauthor=False))


def default_config_path() -> Path:
    base = os.environ.get("HOLDSPACE_CONFIG_DIR") or platformdirs.user_config_dir(APP, appauthor=False)
    return Path(base) / "workstation.json"


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
    devices: list[DeviceConfig] = field(default_factory=list)
    # which source is shown when two devices send the same parameter: {str(code): source}
    preferred_source: dict[str, str] = field(default_factory=dict)
    staff: list[StaffConfig] = field(default_factory=list)
    room_mode: bool = False
    # who is at the console ("writing as") and for which session: survives a restart
    console_user: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # feature settings by feature name
    path: Path | None = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, path: Path | None = None) -> Config:
        p = path or default_config_path()
        cfg = cls(path=p)
        try:
            raw = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cfg
        except (OSError, ValueError):
            # A damaged settings file must not stop the console; keep it for support.
            with contextlib.suppress(OSError):
                p.replace(p.with_suffix(".damaged.json"))
            return cfg
        cfg.devices = [DeviceConfig(**d) for d in raw.get("devices", []) if isinstance(d, dict)]
        cfg.preferred_source = dict(raw.get("preferred_source", {}))
        cfg.staff = [StaffConfig(**s) for s in raw.get("staff", []) if isinstance(s, dict)]
        cfg.room_mode = bool(raw.get("room_mode", False))
        cu = raw.get("console_user", {})
        cfg.console_user = dict(cu) if isinstance(cu, dict) else {}
        cfg.extra = dict(raw.get("extra", {}))
        return cfg

    def save(self) -> None:
        if self.path is None:
            return
        data = asdict(self)
        data.pop("path", None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self.path)
