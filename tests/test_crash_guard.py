"""Holdspace's own bugs: logged, reported calmly, and a hard crash is noticed next start."""

from __future__ import annotations

import sys
from pathlib import Path

from console.ui.crash_guard import CrashGuard


def test_an_unexpected_error_is_logged_and_shown_and_the_console_goes_on(tmp_path: Path) -> None:
    guard = CrashGuard(tmp_path)
    shown: list[str] = []
    guard.install()
    guard.show = shown.append
    try:
        try:
            raise KeyError("a bug in a slot")
        except KeyError:
            sys.excepthook(*sys.exc_info())  # what Qt does with an exception in a slot
    finally:
        guard.uninstall()
    assert guard.errors == 1
    assert "internal error (KeyError)" in shown[0] and "record is safe" in shown[0]
    assert "a bug in a slot" in guard.log_path.read_text(encoding="utf-8")
    assert not guard.crash_path.exists(), "a clean exit leaves no crash report"
    assert sys.excepthook is sys.__excepthook__


def test_a_hard_crash_from_the_last_run_is_reported_at_the_next_start(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "crash.log").write_text("Fatal Python error: Segmentation fault\n", encoding="utf-8")
    guard = CrashGuard(tmp_path)
    assert guard.previous_crash is not None and "Segmentation fault" in guard.previous_crash
    guard.install()
    guard.uninstall()
    assert "Segmentation fault" in (logs / "crash.previous.log").read_text(encoding="utf-8")
    assert "previous run ended in a crash" in guard.log_path.read_text(encoding="utf-8")
