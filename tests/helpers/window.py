"""The whole console (every feature) on the built-in simulator, for tests of the window."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pytestqt.qtbot import QtBot

from console.app import Running, build_window, start_core
from console.core.clock import Clock, FakeClock
from console.core.config import Config
from console.core.dosing.dose_day import DoseDay
from console.core.session import Staff
from console.store import records
from console.ui import theme
from console.ui.dosing.dose_feature import DoseFeature
from console.ui.main_window import END_GAP_MIN_S, MainWindow
from tests.helpers.staff import staff_signed_in


@contextmanager
def whole_console(qtbot: QtBot, db_path: Path, config: Config,
                  size: tuple[int, int] = (1600, 960),
                  clock: Clock | None = None) -> Iterator[tuple[MainWindow, Running]]:
    """The real window with all features, a real database and the simulator on a pty
    (a FakeClock set to the real time lets a test move the session forward)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply_theme(app)
    running = start_core(db_path, devices=None, config=config, clock=clock)
    staff_signed_in(running.ctx.people)  # who is at the console
    window, feed = build_window(running)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    try:
        yield window, running
    finally:
        window.allow_close_without_asking()
        window.close()
        feed.stop()
        running.stop()
        theme.apply_theme(app)


def begin(running: Running, template: str | None, name: str = "Rosa M.",
          weight: float | None = 70.0) -> None:
    """A named clinician at the console opens a session for a new patient."""
    ctx = running.ctx
    ctx.sessions.set_user(Staff("Ana Nurse", "nurse"))
    pid = ctx.writer.call(lambda c: records.create_patient(
        c, name, ctx.clock.now(), birth_date="1948-05-01", weight_kg=weight)).result(5)
    ctx.sessions.start(pid, template=template)


def dose_day(window: MainWindow) -> DoseDay:
    day = window.feature(DoseFeature).day
    assert day is not None
    return day


def manual_vitals(window: MainWindow, **values: str) -> None:
    """Vitals typed by hand (as in the Limits tab): through the hub, recorded and shown on
    the strip at once."""
    dose_day(window).manual_vitals(values)


def ready_to_dose(window: MainWindow) -> None:
    """Every checklist item answered and a fresh baseline typed in by hand."""
    day = dose_day(window)
    for item in day.template.checklist:
        value: object = True
        if item.kind == "hours":
            value = 6.0
        elif item.kind == "text":
            value = "Sam (son), 555-0100"
        day.set_item(item.id, value)
    manual_vitals(window, sys="128", dia="80", hr="72")


def pause_before_second_press(qtbot: QtBot, window: MainWindow) -> None:
    """The deliberate pause between the two presses of End, on the console's own clock: a
    FakeClock is moved past it, a real clock is waited on (a condition, not a sleep)."""
    clock = window.ctx.clock
    if isinstance(clock, FakeClock):
        clock.advance(END_GAP_MIN_S)
    else:
        qtbot.waitUntil(window.end_accepts_second_press, timeout=10_000)
    assert window.end_accepts_second_press()
