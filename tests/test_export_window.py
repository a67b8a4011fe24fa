"""Session ▸ Export… in the real window: the chosen file is written off the GUI thread,
recorded as an export event through the console's writer, and what happened is said in the
status bar. The save dialog is replaced by a chooser the test sets (no native dialog)."""

from __future__ import annotations

import csv
import json
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from pytestqt.qtbot import QtBot

from console.app import Running, build_window, start_core
from console.core.config import Config
from console.store.db import open_reader
from console.store.events import session_events
from console.ui import theme
from console.ui.export_actions import ExportActions
from console.ui.main_window import MainWindow
from console.ui.report_actions import ReportActions
from console.ui.session_dialog import NewPatient, SessionChoice
from console.ui.shell_actions import start_session_from_choice
from tests.helpers.staff import staff_signed_in

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"


@pytest.fixture
def console(qtbot: QtBot, db_path: Path, config: Config) -> Iterator[tuple[MainWindow, Running]]:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply_theme(app)
    running = start_core(db_path, devices=None, config=config)
    staff_signed_in(running.ctx.people)  # who is at the console
    window, feed = build_window(running)
    qtbot.addWidget(window)
    window.resize(1600, 960)
    window.show()
    yield window, running
    window.close()
    feed.stop()
    running.stop()


def export_through_menu(window: MainWindow, qtbot: QtBot, path: Path, fmt: str) -> str:
    actions = window.feature(ExportActions)
    assert isinstance(actions, ExportActions)
    asked: list[int] = []

    def chooser(sid: int, suggested: Path) -> tuple[Path, str]:
        asked.append(sid)
        return path, fmt

    actions.chooser = chooser
    (menu_item,) = [a for a in window.session_menu.actions() if a.text().startswith("Export…")]
    before = actions.last_message
    menu_item.trigger()
    qtbot.waitUntil(lambda: not actions.busy and actions.last_message != before, timeout=30_000)
    assert asked, "the chooser was asked"
    return actions.last_message


def test_a_session_exported_as_fhir_through_the_menu(console: tuple[MainWindow, Running],
                                                     qtbot: QtBot, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    window, running = console
    ctx = running.ctx
    start_session_from_choice(ctx, SessionChoice(
        None, NewPatient("Ada Example", "MRN-1", "1950-02-03", 61.0), None, None))
    session = ctx.sessions.current
    assert session is not None
    ctx.sessions.record("note.observation", {"text": "Settled", "summary": "Settled"})

    def hr_stored() -> bool:
        ctx.writer.flush()
        return ctx.reader.execute("SELECT COUNT(*) FROM readings WHERE session_id = ?",
                                  (session.id,)).fetchone()[0] > 10

    qtbot.waitUntil(hr_stored, timeout=20_000)  # the simulated monitor's values are stored

    out = tmp_path / "ada.json"
    said = export_through_menu(window, qtbot, out, "fhir")
    assert said == f"Session {session.id} exported as FHIR bundle: ada.json, in {tmp_path}.", said
    assert window.statusBar().currentMessage() == said
    assert "Ada" not in said
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    bundle = json.loads(out.read_text(encoding="utf-8"))
    Bundle.model_validate(bundle)
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Composition", "Patient", "Encounter", "Device", "Observation"} <= kinds
    patient = next(e["resource"] for e in bundle["entry"]
                   if e["resource"]["resourceType"] == "Patient")
    assert patient["name"][0]["text"] == "Ada Example"
    SCREENSHOTS.mkdir(exist_ok=True)
    assert window.grab().save(str(SCREENSHOTS / "export-fhir-done.png"))

    reader = open_reader(ctx.db_path)
    try:
        (ev,) = session_events(reader, session.id, ["export.fhir"])
    finally:
        reader.close()
    assert ev.payload["via"] == "console" and ev.payload["files"] == [str(out)]
    assert ev.author == ctx.sessions.author

    # bad input: a folder that is not there — said in words, nothing written or recorded
    said = export_through_menu(window, qtbot, tmp_path / "usb" / "x.json", "fhir")
    assert said.startswith("Not exported: There is no folder") and "does not exist" in said
    assert not (tmp_path / "usb").exists()

    # .vital without the research add-on: how to install it
    monkeypatch.setitem(sys.modules, "vitaldb", None)
    said = export_through_menu(window, qtbot, tmp_path / "ada.vital", "vital")
    assert "needs the research add-on" in said and "holdspace[research]" in said, said
    assert not (tmp_path / "ada.vital").exists()
    assert window.grab().save(str(SCREENSHOTS / "export-vital-needs-research.png"))

    # and the CSV, the same way
    said = export_through_menu(window, qtbot, tmp_path / "ada.csv", "csv")
    assert said.endswith(f"as CSV: ada.csv and ada.events.csv, in {tmp_path}."), said
    with (tmp_path / "ada.csv").open(newline="", encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) > 10
    reader = open_reader(ctx.db_path)
    try:
        assert len(session_events(reader, session.id, ["export.fhir"])) == 1
        assert len(session_events(reader, session.id, ["export.csv"])) == 1
    finally:
        reader.close()


def test_the_report_saved_and_printed_from_the_window_is_recorded_the_same_way(
        console: tuple[MainWindow, Running], qtbot: QtBot, tmp_path: Path) -> None:
    """Report… and Print report… go through the exports' one path: a private file named once
    its event is committed; a print recorded with the printer as where it went."""
    from PySide6.QtPrintSupport import QPrinter


    window, running = console
    ctx = running.ctx
    start_session_from_choice(ctx, SessionChoice(
        None, NewPatient("Ada Example", "MRN-1", "1950-02-03", 61.0), None, None))
    session = ctx.sessions.current
    assert session is not None
    actions = window.feature(ReportActions)
    assert isinstance(actions, ReportActions)

    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "report.pdf"
    actions.save_as("report", out)
    qtbot.waitUntil(lambda: actions.done.is_set() and not actions.busy, timeout=30_000)
    assert actions.last_message.startswith(f"Session report (PDF) of session {session.id} "
                                           f"saved to {out}"), actions.last_message
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == ["report.pdf"], "no temporary file is left"

    printed = tmp_path / "printed.pdf"

    def printer() -> QPrinter:
        p = QPrinter(QPrinter.PrinterMode.HighResolution)
        p.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        p.setResolution(150)
        p.setOutputFileName(str(printed))
        return p

    actions.print_it("report", printer_for=printer)
    qtbot.waitUntil(lambda: "sent to" in actions.last_message, timeout=30_000)
    assert printed.exists()

    reader = open_reader(ctx.db_path)
    try:
        saved, sent = session_events(reader, session.id, ["export.report"])
    finally:
        reader.close()
    assert saved.payload["files"] == [str(out)] and saved.payload["where"] == str(out)
    assert saved.payload["via"] == "console" and saved.payload["what"] == "Session report (PDF)"
    assert sent.payload["files"] == [] and sent.payload["where"] == f"printer {printed}"
    assert saved.payload["record_hash"] == sent.payload["record_hash"]
