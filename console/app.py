"""The composition root: builds the store, the session, the device links and the window.

The one place that knows every feature: FEATURES lists them by module path; each module's
`install(shell, ctx, feed)` (console/ui/shell.py `Feature`) adds itself through the `Shell`
and returns what it built, kept in the shell's registry and closed with the window. So the
window and the core never import a feature, and features never import each other.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

from console.core import at_console, start_notices
from console.core.acquisition import AcquisitionHub
from console.core.clock import Clock, SystemClock
from console.core.config import Config, DeviceConfig, default_data_dir, plausible_limits
from console.core.context import AppContext
from console.core.ducking import Ducking
from console.core.people.service import PeopleService, Security
from console.core.session import SessionService
from console.core.settings import SecuritySettings
from console.core.vitals.captures import connect
from console.core.vitals.device_setup import apply_devices, preferred_from_config
from console.replication.replicator import Replicator, SyncSettings
from console.store import allocator, owner
from console.store.db import open_reader
from console.store.writer import StoreWriter
from devices.drivers import get_driver
from devices.physiology import Physiology
from devices.simulator import Simulator

if TYPE_CHECKING:
    from console.ui.crash_guard import CrashGuard
    from console.ui.live_feed import LiveFeed
    from console.ui.main_window import MainWindow
    from console.ui.shell import Feature

SYNC_FLUSH_S = 5.0  # at closing, how long the replicator may try to send the rest

# In the order they add themselves (tabs, banners and menus appear in this order).
FEATURES: list[str] = [
    "console.ui.notes.notes_feature",
    "console.ui.music.music_feature",
    "console.ui.dosing.dose_feature",
    "console.ui.file_problems",
    "console.ui.report_actions",
    "console.ui.export_actions",
    "console.ui.backup_feature",
    "console.ui.record_integrity",
    "console.ui.start_notices",  # under the others' banners: the alarm banner stays on top
    # last: the lock lies over everything the others put in, and the guard checks their writes
    "console.ui.people.feature",
]


def load_feature(path: str) -> Feature:
    """A feature module by its path; one without `install` is refused by name at start."""
    module = importlib.import_module(path)
    if not callable(getattr(module, "install", None)):
        raise ImportError(f"feature {path} has no install(shell, ctx, feed)")
    return cast("Feature", module)


@dataclass
class Running:
    """What `start_core` built, so it can be stopped in the right order."""

    ctx: AppContext
    simulator: Simulator | None = None
    replicator: Replicator | None = None  # `--sync` / the workstation's sync settings

    def stop(self) -> None:
        self.ctx.hub.stop()
        if self.simulator is not None:
            self.simulator.stop()
        self.ctx.writer.stop()
        if self.replicator is not None:  # after the writer, so the last rows go too
            self.replicator.stop(flush=SYNC_FLUSH_S)
        self.ctx.sessions.close()
        self.ctx.reader.close()
        if not self.ctx.writer.alive and not self.ctx.writer.unsaved:
            # The reader's close may have moved the -wal into the file after the writer said
            # it was closed properly: say it again for the file as it is now.
            owner.mark_closed_cleanly(self.ctx.db_path)


def start_core(
    db_path: Path,
    devices: list[DeviceConfig] | None = None,
    config: Config | None = None,
    clock: Clock | None = None,
    scenario: str = "calm",
    data_dir: Path | None = None,
    on_store_error: Callable[[str], None] | None = None,
    capture: bool = False,
    sync: SyncSettings | None = None,
) -> Running:
    """Open the store, find sessions interrupted by a crash or a close (the window offers
    to resume or end them), and connect the monitors.

    With no device configured, the built-in simulator runs on a real pseudo-terminal (or a
    local TCP port on Windows) and the link reads it like any monitor.
    """
    allocator.tune()  # before the writer, the links and the window allocate much
    clock = clock or SystemClock()
    config = config or Config.load()
    writer = StoreWriter(str(db_path), on_error=on_store_error)
    writer.start()
    reader = open_reader(db_path)
    hub = AcquisitionHub(writer, clock.now)
    hub.limits = plausible_limits(config)
    sessions = SessionService(clock, writer, reader)
    sessions.changed.connect(lambda s: setattr(hub, "session_id", s.id if s else None))
    ctx = AppContext(clock, db_path, writer, reader, sessions, hub, config,
                     data_dir or default_data_dir(), Ducking())
    hub.preferred = preferred_from_config(config.preferred_source)
    ctx.people = PeopleService(clock, writer, reader, sessions,
                               Security.from_settings(config.section(SecuritySettings)))
    running = Running(ctx)
    sessions.find_interrupted()
    at_console.keep(sessions, config, reader)  # no "Author None" after a restart
    specs = devices if devices is not None else config.devices
    if capture:  # `--capture`: this run captures every link, whatever the saved setting
        specs = [replace(d, capture=True) for d in specs]
    if not specs:
        driver = get_driver("sim")
        sim = Simulator(driver, Physiology(scenario, start=clock.now()))
        port = sim.start()
        running.simulator = sim
        connect(hub, DeviceConfig(driver.name, port, capture), db_path, source="SIMULATOR")
    apply_devices(hub, specs, db_path, keep={"SIMULATOR"})
    if sync is not None:  # the file is open and migrated by now (the writer's first open)
        running.replicator = Replicator(db_path, sync)
        running.replicator.start()
    return running


def build_window(running: Running) -> tuple[MainWindow, LiveFeed]:
    """The main window with every feature installed; returns (window, feed)."""
    from console.ui.live_feed import LiveFeed
    from console.ui.main_window import MainWindow
    from console.ui.resume_bar import install as install_resume_bar
    from console.ui.shell_actions import install_shell

    ctx = running.ctx
    feed = LiveFeed(ctx.hub, ctx.clock)
    window = MainWindow(ctx, feed)
    wire_store_messages(window, ctx)
    install_shell(window, ctx, running)
    window.provide(install_resume_bar(window, ctx.sessions))
    for path in FEATURES:
        window.provide(load_feature(path).install(window, ctx, feed))
    if running.replicator is not None:
        from console.ui.sync_indicator import install as install_sync_indicator

        window.provide(install_sync_indicator(window, ctx, running.replicator))
    feed.start()
    return window, feed


def wire_store_messages(window: MainWindow, ctx: AppContext) -> None:
    """One way onto the GUI thread: `ctx.post` becomes the window's poster, and the writer
    thread's news goes through it: a disk failure, its recovery, a refused row and a
    restarted writer go to the status bar, each event's save outcome to the views that show
    it as "saving…" until committed, and every committed event to the features that follow
    the record (`SessionService.committed`)."""
    post = window.post
    ctx.post = post
    ctx.writer.on_error = lambda msg: post(lambda: window.show_problem(msg))
    ctx.writer.on_recovered = lambda msg: post(lambda: window.show_problem(msg))
    ctx.writer.on_committed = lambda evs: post(lambda: ctx.sessions.announce(evs))
    ctx.sessions.saves.post = post
    ctx.sessions.post = post  # a start or end the disk was slow to store completes here


def start_notes(notes: list[str], guard: CrashGuard) -> list[str]:
    """What this start has to tell the person at the console once: `check_db`'s notes and
    a crash of the last run."""
    if guard.previous_crash:
        notes = [*notes, "Holdspace closed unexpectedly last time; the record up to then is "
                         f"kept. Details for support: {guard.dir / 'crash.previous.log'}"]
    return notes


def has_screen() -> bool:
    if sys.platform != "linux":
        return True
    if os.environ.get("QT_QPA_PLATFORM", "").split(":")[0] in ("offscreen", "minimal", "vnc"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_gui(
    db_path: Path,
    devices: list[DeviceConfig] | None,
    scenario: str = "calm",
    fullscreen: bool = False,
    screenshot: Path | None = None,
    quit_after: float | None = None,
    capture: bool = False,
    sync: SyncSettings | None = None,
    notes: list[str] | None = None,
) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from console.ui import theme

    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Holdspace")
    from console.ui.crash_guard import CrashGuard

    config = Config.load()
    guard = CrashGuard(default_data_dir())
    guard.install()
    theme.apply_theme(app, room_mode=config.room_mode)
    # A key made, a record encrypted, files made private, the last run's crash: kept until
    # someone presses Got it on the banner (console/ui/start_notices.py), never the status bar.
    start_notices.keep(config, start_notes(notes or [], guard))
    running = start_core(db_path, devices, config, scenario=scenario, capture=capture, sync=sync)
    window, feed = build_window(running)
    post = running.ctx.post  # a crash on any thread is shown on the GUI thread
    guard.show = lambda msg: post(lambda: window.show_problem(msg))
    # Ctrl-C / SIGTERM end the Qt loop normally, so the database is flushed and closed.
    # (a deliberate stop: no question; the open session resumes at the next start)
    def stop(*_: object) -> None:
        window.allow_close_without_asking()
        app.quit()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    wake = QTimer()
    wake.start(250)  # lets Python run signal handlers while Qt's loop is in C++
    wake.timeout.connect(lambda: None)
    if fullscreen:
        window.showFullScreen()
    else:
        # The one screen in the room: use all of it (also where no window manager maximises).
        screen = app.primaryScreen()
        if screen is not None:
            window.setGeometry(screen.availableGeometry())
        window.showMaximized()
    if screenshot is not None:
        def grab() -> None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            window.grab().save(str(screenshot))
            print(f"screenshot saved to {screenshot}")
            if quit_after is not None:
                stop()  # after the picture: two timers might fire in either order under load
        QTimer.singleShot(max(0, int((quit_after or 5.0) * 1000) - 200), grab)
    elif quit_after is not None:
        QTimer.singleShot(int(quit_after * 1000), stop)
    try:
        return app.exec()
    finally:
        feed.stop()
        running.stop()
        guard.uninstall()
