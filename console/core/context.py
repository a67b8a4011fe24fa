"""Everything a feature needs, built once by the composition root (console/app.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from console.core.acquisition import AcquisitionHub
from console.core.clock import Clock
from console.core.config import Config
from console.core.ducking import Ducking
from console.core.people.service import PeopleService
from console.core.session import SessionService
from console.store import engine
from console.store.writer import StoreWriter


@dataclass
class AppContext:
    clock: Clock
    db_path: Path
    writer: StoreWriter
    reader: engine.Connection  # for the GUI thread only
    sessions: SessionService
    hub: AcquisitionHub
    config: Config
    data_dir: Path  # the clinic's own templates/, playlists/, checklists/
    ducking: Ducking
    people: PeopleService | None = None  # who is signed in (console/core/people)
