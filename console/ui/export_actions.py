"""Session ▸ Export…: one session as CSV, a .vital file or a FHIR R4 bundle, from the window.

The file type chosen in the save dialog says which. The export runs on a worker thread with
its own read-only connection, the way the command line makes it (core/exports/make.py):
written private to its owner under a temporary name, recorded as an `export.*` event
through the console's writer, and given its name only once that event is committed. What
happened, or why not, is said in the status bar in plain words; patient data goes only into
the chosen file.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QWidget

from console.core.context import AppContext
from console.core.exports.export_events import CONSOLE
from console.core.exports.output import ExportError
from console.core.report.clinic import clinic_from
from console.store import allocator
from console.ui.export_rule import may_export
from console.ui.live_feed import LiveFeed
from console.ui.report_actions import SLOW_DISK, chosen_session
from console.ui.shell import Shell

if TYPE_CHECKING:  # the exporters are imported at the first export, not at every start
    from console.core.exports.make import Made

SHOWN_MS = 20_000


@dataclass(frozen=True)
class Format:
    key: str  # "fhir", "csv", "vital"
    name: str  # as the dialog's file type says it
    short: str  # as the status bar says it
    suffix: str


FORMATS = (
    Format("fhir", "FHIR R4 bundle for the clinic's record system", "FHIR bundle", ".json"),
    Format("csv", "CSV of readings and events for a spreadsheet", "CSV", ".csv"),
    Format("vital", "VitalDB .vital file (needs the research add-on)", ".vital file", ".vital"),
)
BY_KEY = {f.key: f for f in FORMATS}

# (session, suggested path) → (where to, which format), or None when cancelled
Chooser = Callable[[int, Path], tuple[Path, str] | None]


def dialog_chooser(parent: QWidget) -> Chooser:
    """The save dialog. A name ending in .json, .csv or .vital says the format; otherwise
    the file type picked does, and its ending is added."""
    def choose(sid: int, suggested: Path) -> tuple[Path, str] | None:
        filters = [f"{f.name} (*{f.suffix})" for f in FORMATS]
        chosen, picked = QFileDialog.getSaveFileName(
            parent, f"Export session {sid}", str(suggested), ";;".join(filters), filters[0])
        if not chosen:
            return None
        path = Path(chosen)
        by_suffix = {f.suffix: f for f in FORMATS}.get(path.suffix.lower())
        if by_suffix is not None:
            return path, by_suffix.key
        fmt = FORMATS[filters.index(picked)] if picked in filters else BY_KEY["fhir"]
        return path.with_name(path.name + fmt.suffix), fmt.key

    return choose


class ExportActions(QObject):
    def __init__(self, shell: Shell, ctx: AppContext) -> None:
        super().__init__()
        self.shell = shell
        self.ctx = ctx
        self.post = ctx.post
        self.chooser: Chooser = dialog_chooser(shell.dialog_parent())  # tests put their own
        self.busy = False
        self.last_message = ""

    def say(self, text: str) -> None:
        self.last_message = text
        self.shell.show_status(text, SHOWN_MS)

    def export(self) -> None:
        sid = chosen_session(self.ctx)
        if sid is None:
            self.say("There is no session to export yet.")
            return
        if self.busy:
            self.say("An export is being made; wait a moment.")
            return
        if not may_export(self.ctx, self.say):
            return
        choice = self.chooser(sid, Path.home() / f"holdspace-session-{sid}.json")
        if choice is None:
            return
        path, key = choice
        self.start(sid, path, key)

    def start(self, sid: int, path: Path, key: str) -> None:
        from console.core.exports.make import make_csv, make_fhir, make_vital, writer_recorder

        fmt = BY_KEY[key]
        self.busy = True
        self.say(f"Exporting session {sid} as {fmt.short}…")
        db, author = self.ctx.db_path, self.ctx.sessions.author
        clinic = clinic_from(self.ctx.config.extra)
        recorder = writer_recorder(self.ctx.writer, self.ctx.clock.now)

        def make() -> Made:
            if key == "csv":
                return make_csv(db, path, session=sid, by=author, via=CONSOLE,
                                recorder=recorder)
            if key == "vital":
                return make_vital(db, path, sid, by=author, via=CONSOLE, recorder=recorder)
            return make_fhir(db, path, sid, clinic, by=author, via=CONSOLE, recorder=recorder)

        def work() -> None:
            try:
                self.ctx.writer.flush()  # everything typed so far is in the file (not waited
                made = make()           # for on the GUI thread: a slow disk waits here)
                names = " and ".join(f.name for f in made.files)
                message = (f"Session {sid} exported as {fmt.short}: {names}, in "
                           f"{made.files[0].parent}.")
            except ExportError as e:
                message = f"Not exported: {e}"
            except TimeoutError:
                message = SLOW_DISK
            except Exception as e:  # the window stays up and says what went wrong
                message = f"The export could not be made: {e}"
            allocator.release()  # the export's rows are freed by now
            self.post(lambda: self._done(message))

        threading.Thread(target=work, name="holdspace-export", daemon=True).start()

    def _done(self, message: str) -> None:
        self.busy = False
        self.say(message)

    def close(self) -> None:
        """Nothing to let go: an export under way finishes on its own thread."""

def install(shell: Shell, ctx: AppContext, feed: LiveFeed) -> ExportActions:
    """Session ▸ Export… (see console/app.py FEATURES)."""
    del feed
    actions = ExportActions(shell, ctx)
    shell.action("Export… (FHIR, CSV, .vital)", "Ctrl+E", actions.export, "session")
    return actions
