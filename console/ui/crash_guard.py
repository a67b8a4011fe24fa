"""What happens when Holdspace itself has a bug: log it, say so calmly, keep running.

An exception escaping a Qt slot would otherwise print to a terminal nobody in the room can
see. The hook writes the traceback to `<data dir>/logs/holdspace.log`, shows one line in the
status bar (entries are shown as saved only once committed, so what says saved is safe), and
the console carries on. A crash on any other thread (a monitor link, the database writer)
goes through `threading.excepthook` the same way; `show` may then be called off the GUI
thread, so the app gives it a GUI-thread poster. faulthandler writes a hard crash (segfault in
a library) to `<data dir>/logs/crash.log`, which is reported at the next start.
`log_thread_crashes` is the thread part alone, for `holdspace record` (no window; this module
imports no Qt).
"""

from __future__ import annotations

import faulthandler
import logging
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO

log = logging.getLogger("holdspace")


class CrashGuard:
    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir / "logs"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.dir / "holdspace.log"
        self.crash_path = self.dir / "crash.log"
        self.show: Callable[[str], None] | None = None
        self.errors = 0
        self._crash_file: IO[str] | None = None
        self._handler: logging.Handler | None = None
        self.previous_crash = self._read_previous_crash()

    def _read_previous_crash(self) -> str | None:
        try:
            text = self.crash_path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return None
        return text or None

    def install(self) -> None:
        handler = logging.FileHandler(self.log_path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        self._handler = handler
        root.setLevel(logging.INFO)
        if self.previous_crash:
            log.error("the previous run ended in a crash:\n%s", self.previous_crash)
            self.crash_path.rename(self.dir / "crash.previous.log")
        self._crash_file = open(self.crash_path, "w", encoding="utf-8")  # noqa: SIM115
        faulthandler.enable(self._crash_file)
        sys.excepthook = self.excepthook
        log_thread_crashes(lambda msg: self._show(msg))

    def excepthook(self, kind: type[BaseException], exc: BaseException,
                   tb: TracebackType | None) -> None:
        self.errors += 1
        log.error("unexpected error:\n%s", "".join(traceback.format_exception(kind, exc, tb)))
        self._show(
            f"Holdspace had an internal error ({kind.__name__}) and carried on; the record "
            f"is safe. Details for support: {self.log_path}"
        )

    def _show(self, message: str) -> None:
        if self.show is not None:
            self.show(message)

    def uninstall(self) -> None:
        """Normal exit: no crash to report next time."""
        sys.excepthook = sys.__excepthook__
        threading.excepthook = threading.__excepthook__
        if self._handler is not None:
            logging.getLogger().removeHandler(self._handler)
            self._handler.close()
            self._handler = None
        if self._crash_file is not None:
            faulthandler.disable()
            self._crash_file.close()
            self._crash_file = None
            try:
                if self.crash_path.stat().st_size == 0:
                    self.crash_path.unlink()
            except OSError:
                pass


def log_thread_crashes(show: Callable[[str], None] | None = None,
                       log_path: Path | None = None) -> None:
    """Every thread's uncaught exception goes to the log with its traceback, and `show` (if
    given; it may be called on any thread) gets one plain line naming the thread. With
    `log_path` (headless use), Holdspace's log lines are also appended to that file."""
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)

    def hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "a background thread"
        log.error("thread %s crashed:\n%s", name, "".join(traceback.format_exception(
            args.exc_type, args.exc_value, args.exc_traceback)))
        if show is not None:
            try:
                show(f"Holdspace's {name} thread stopped on an internal error "
                     f"({args.exc_type.__name__}); it is restarted where it can be. Details "
                     "for support are in the log.")
            except Exception:
                log.exception("could not show a thread crash")

    threading.excepthook = hook
