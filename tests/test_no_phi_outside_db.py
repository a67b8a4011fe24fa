"""A whole session with a distinctive patient, then every file Holdspace wrote outside its
database is searched for the patient's name and identifier.

The session runs in the real window: a patient is created, the session started, a monitor
sends HL7 naming the patient down a pty that is captured, a dose and notes are recorded, the
report is saved and printed, the session exported as CSV and FHIR, the session ended (which
makes a backup), and the log is written at DEBUG. Then the data folder (database, captures,
backups, logs), the config folder, HOME and the temporary folder are read byte by byte.
Database files (the database, its -wal/-shm, backups: SQLite files) are the one place the
patient may be — and `crypto` encrypts those. The exports the user saved to a folder they
chose are the patient's record by intent and live outside the searched folders.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtPrintSupport import QPrinter
from pytestqt.qtbot import QtBot

from console.core.config import Config, DeviceConfig, default_data_dir
from console.core.session import Staff
from console.core.vitals.captures import connect
from console.ui.backup_feature import BackupFeature
from console.ui.crash_guard import CrashGuard
from console.ui.export_actions import ExportActions
from console.ui.notes.notes_feature import NotesFeature
from console.ui.report_actions import ReportActions
from console.ui.session_dialog import NewPatient, SessionChoice
from console.ui.shell_actions import start_session_from_choice
from devices import mdc
from devices.protocols.hl7_ack import mllp
from tests.helpers.window import dose_day, ready_to_dose, whole_console

NAME, GIVEN, FAMILY, MRN = "Zebulon Quixotewright", "Zebulon", "Quixotewright", "QX-98765-ZZ"
SQLITE_MAGIC = b"SQLite format 3\0"


def forms(text: str) -> list[bytes]:
    """ASCII/UTF-8 in three cases, UTF-16 both byte orders, and hex (as a log might show)."""
    out: list[bytes] = []
    for t in {text, text.upper(), text.lower()}:
        out += [t.encode(), t.encode("utf-16-le"), t.encode("utf-16-be"),
                t.encode().hex().encode(), t.encode().hex(" ").encode()]
    return out


NEEDLES = {t: forms(t) for t in (GIVEN, FAMILY, MRN, "98765")}


def is_database(p: Path) -> bool:
    if p.name.endswith(("-wal", "-shm", "-journal")):
        return True
    with p.open("rb") as f:
        return f.read(16) == SQLITE_MAGIC


def leaks(roots: list[Path]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for root in roots:
        for p in sorted(root.rglob("*")):
            if not p.is_file() or p.is_symlink() or is_database(p):
                continue
            data = p.read_bytes()
            low = data.lower()
            hits = [t for t, needles in NEEDLES.items()
                    if any(n in data or n.lower() in low for n in needles)]
            if hits:
                found[str(p)] = hits
    return found


def _finished(actions: Any, before: str) -> bool:
    return not actions.busy and actions.last_message != before


def hl7_message(i: int) -> bytes:
    return mllp("\r".join([
        f"MSH|^~\\&|MONITOR|ROOM1|||2026120210{i:02d}00||ORU^R01|M{i}|P|2.6|||AL",
        f"PID|1||{MRN}^^^CLINIC^MR||{FAMILY}^{GIVEN}||19610412|M",
        f"PV1|1|I|ROOM1^^1||||||||||||||||V{MRN}",
        "OBR|1||M1|182777000^monitoring of patient^SNOMED-CT",
        f"OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.1.1.1|{70 + i}|264864^MDC_DIM_BEAT_PER_MIN^MDC"
        "|||||R",
    ]) + "\r")


@pytest.fixture
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    dirs = {k: tmp_path / k for k in ("home", "tmp", "exports")}
    for d in dirs.values():
        d.mkdir()
    monkeypatch.setenv("HOME", str(dirs["home"]))
    monkeypatch.setenv("TMPDIR", str(dirs["tmp"]))
    monkeypatch.setattr(tempfile, "tempdir", None)  # tempfile reads TMPDIR afresh
    dirs["data"] = default_data_dir()
    dirs["config"] = Path(os.environ["HOLDSPACE_CONFIG_DIR"])
    dirs["data"].mkdir(parents=True, exist_ok=True)
    dirs["config"].mkdir(parents=True, exist_ok=True)
    yield dirs


def test_a_whole_session_leaves_no_patient_data_outside_the_database(
        qtbot: QtBot, private_home: dict[str, Path]) -> None:
    dirs = private_home
    db = dirs["data"] / "holdspace.db"
    config = Config(path=dirs["config"] / "workstation.json")
    guard = CrashGuard(dirs["data"])  # the app's own log file, at DEBUG for this test
    guard.install()
    root = logging.getLogger()
    level, root.level = root.level, logging.DEBUG
    master, slave = os.openpty()
    try:
        with whole_console(qtbot, db, config) as (window, running):
            ctx = running.ctx
            start_session_from_choice(ctx, SessionChoice(
                None, NewPatient(NAME, MRN, "1961-04-12", 70.0), "im",
                Staff("Ana Nurse", "nurse")))
            qtbot.waitUntil(lambda: ctx.sessions.current is not None, timeout=10_000)
            session = ctx.sessions.current
            assert session is not None
            # a monitor that names the patient, captured as the console captures
            connect(ctx.hub, DeviceConfig("hl7", os.ttyname(slave), capture=True), db)
            sent = [0]

            def hl7_stored() -> bool:
                """Send the next message (the port may not be open yet) and look for it."""
                os.write(master, hl7_message(sent[0] % 30))
                sent[0] += 1
                return ctx.reader.execute(
                    "SELECT COUNT(*) FROM readings WHERE code=? AND source LIKE 'hl7:%'",
                    (mdc.MDC_ECG_HEART_RATE,)).fetchone()[0] >= 2

            qtbot.waitUntil(hl7_stored, timeout=60_000)
            ready_to_dose(window)
            dose_day(window).give_dose("50", lot="K-1", given_by="Ana Nurse")
            notes = window.feature(NotesFeature).notes
            notes.observe(f"Calm; says her name is {NAME}")
            ctx.writer.flush()

            reports = window.feature(ReportActions)
            reports.save_as("report", dirs["exports"] / "report.pdf")
            qtbot.waitUntil(lambda: reports.done.is_set() and not reports.busy, timeout=60_000)

            def printer() -> QPrinter:
                p = QPrinter(QPrinter.PrinterMode.HighResolution)
                p.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
                p.setResolution(100)
                p.setOutputFileName(str(dirs["exports"] / "printed.pdf"))
                return p

            reports.print_it("report", printer_for=printer)
            qtbot.waitUntil(lambda: "sent to" in reports.last_message, timeout=60_000)
            exports = window.feature(ExportActions)
            for key, name in (("csv", "s.csv"), ("fhir", "s.json")):
                before = exports.last_message
                exports.start(session.id, dirs["exports"] / name, key)
                qtbot.waitUntil(partial(_finished, exports, before), timeout=60_000)
                assert "exported" in exports.last_message, exports.last_message
            ctx.sessions.end()
            backups = window.feature(BackupFeature)
            backups.service.backup_now()
            qtbot.waitUntil(lambda: "Backup made" in window.statusBar().currentMessage(),
                            timeout=60_000)
    finally:
        root.level = level
        guard.uninstall()
        os.close(master)
        os.close(slave)

    # the test can fail: the patient is in the exports the user asked for and in the db
    assert leaks([dirs["exports"]])
    assert (dirs["data"] / "logs" / "holdspace.log").stat().st_size > 0
    captures = list((dirs["data"] / "captures").glob("*.hscap"))
    assert captures and all(c.stat().st_size > 200 for c in captures)
    assert leaks([dirs["data"], dirs["config"], dirs["home"], dirs["tmp"]]) == {}
