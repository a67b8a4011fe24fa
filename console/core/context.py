"""Everything a feature needs, built once by the composition root (console/app.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from console.core.acquisition import AcquisitionHub
from console.core.clock import Clock
from console.core.config import Config
from console.core.ducking import Ducking
from console.core.people.service import PeopleService
from console.core.saving import Post
from console.core.session import SessionService
from console.core.vitals.shown_history import ShownHistory
from console.store import engine
from console.store.writer import StoreWriter


def run_here(fn: Callable[[], None]) -> None:
    """`post` before there is a GUI thread to post to: run at once."""
    fn()


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
    # The one way onto the GUI thread, from any thread (the writer's news, VLC's callbacks,
    # a crash, a worker's result): the composition root sets it to the window's GuiPoster
    # (console/app.py wire_store_messages). Until then (no window: the headless recorder,
    # core tests) a call runs at once on the caller's thread.
    post: Post = field(default=run_here)
    # What the screen shows of the open session's values, kept once for the trend and the
    # live timeline (console/core/vitals/shown_history.py).
    shown: ShownHistory = field(default_factory=ShownHistory)

