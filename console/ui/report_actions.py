"""Session ▸ Report… / Print report… / REMS form…: the record leaves the room as a PDF.

The report is built and drawn on a worker thread with its own read connection (an 8-hour
session takes a few seconds; the vitals keep moving meanwhile) and saved the way every export
is (core/exports/make.py): written private to its owner under a temporary name, recorded as
an `export.*` event through the writer, and only then given its name, so a copy the record
could not note never appears. Printing goes through Qt's print dialog: the
PDF's pages are rasterised by PDFium (pypdfium2) at the printer's resolution and painted onto
the QPrinter, so the paper shows exactly the PDF. (PySide6-Essentials has QtPrintSupport but
not QtPdf; pypdfium2 stands in for QPdfDocument.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QDialog, QFileDialog

from console.core.context import AppContext
from console.core.exports.export_events import CONSOLE
from console.core.exports.output import ExportError
from console.core.report.clinic import clinic_from
from console.store import allocator
from console.store.db import open_reader
from console.ui.export_rule import may_export
from console.ui.live_feed import LiveFeed
from console.ui.shell import Shell

# The report builders and Qt's printing are imported at the first report or print, not at
# every start: a console that makes no report that day does not keep them in memory.
if TYPE_CHECKING:
    from PySide6.QtPrintSupport import QPrinter

    from console.core.report.making import Made

# The worker waits for the writer before reading the file; this is said if it waited in vain.
SLOW_DISK = ("Not made: the disk is slow and has not stored the latest entries yet. "
             "Monitoring goes on; try again in a moment.")

WHAT = {"report": "session report", "rems": "REMS form"}


def paint_pdf(printer: QPrinter, data: bytes) -> int:
    """Every page of the PDF onto the printer, scaled to its page; returns the page count."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(data)
    painter = QPainter()
    if not painter.begin(printer):
        raise ExportError("the printer could not be started")
    try:
        dpi = max(150, min(printer.resolution(), 600))
        area = printer.pageLayout().paintRectPixels(printer.resolution())
        for i in range(len(doc)):
            if i:
                printer.newPage()
            page = doc[i]
            w_pt, h_pt = page.get_size()
            bitmap = page.render(scale=dpi / 72.0, rev_byteorder=True)
            arr = bitmap.to_numpy()
            img = QImage(arr.data, arr.shape[1], arr.shape[0], bitmap.stride,
                         QImage.Format.Format_RGB888).copy()
            scale = min(area.width() / w_pt, area.height() / h_pt)
            target = QRectF(0, 0, w_pt * scale, h_pt * scale)
            painter.drawImage(target, img)
        return len(doc)
    finally:
        painter.end()
        doc.close()


def chosen_session(ctx: AppContext) -> int | None:
    """The session a report or an export is of: the open one, else the one in the note
    (ended, being signed), else the newest."""
    cur = ctx.sessions.current
    if cur is not None:
        return cur.id
    in_note = ctx.sessions.note_session()
    if in_note is not None:
        return int(in_note)
    row = ctx.reader.execute("SELECT MAX(id) FROM sessions").fetchone()
    return int(row[0]) if row and row[0] is not None else None


class ReportActions(QObject):
    def __init__(self, shell: Shell, ctx: AppContext) -> None:
        super().__init__()
        self.shell = shell
        self.ctx = ctx
        self.post = ctx.post
        self.busy = False
        self.last_message = ""
        self.done = threading.Event()  # set when a report job has finished (tests wait on it)

    # ----- which session -----
    def session_id(self) -> int | None:
        return chosen_session(self.ctx)

    def say(self, text: str) -> None:
        self.last_message = text
        self.shell.show_status(text, 15000)

    # ----- actions -----
    def save_as(self, kind: str = "report", path: Path | None = None) -> None:
        sid = self.session_id()
        if sid is None:
            self.say("There is no session to report yet.")
            return
        if not may_export(self.ctx, self.say):
            return
        if path is None:
            default = Path.home() / f"holdspace-session-{sid}-{kind}.pdf"
            chosen, _f = QFileDialog.getSaveFileName(
                self.shell.dialog_parent(), f"Save the {WHAT[kind]} of session {sid} as PDF", str(default),
                "PDF (*.pdf)")
            if not chosen:
                return
            path = Path(chosen)
        self._save(kind, sid, path)

    def print_it(self, kind: str = "report",
                 printer_for: Callable[[], QPrinter | None] | None = None) -> None:
        sid = self.session_id()
        if sid is None:
            self.say("There is no session to print yet.")
            return
        if not may_export(self.ctx, self.say):
            return
        self._made_for_print(kind, sid, printer_for)

    # ----- the worker -----
    def _start(self, kind: str, sid: int) -> bool:
        if self.busy:
            self.say("A report is being made; wait a moment.")
            return False
        self.busy = True
        self.done.clear()
        self.say(f"Making the {WHAT[kind]} of session {sid}…")
        return True

    def _run(self, kind: str, work: Callable[[], str]) -> None:
        """`work` on a worker thread; its sentence (or the error's) ends in the status bar."""
        def run() -> None:
            from console.core.report.build import SessionNotFound

            try:
                self.ctx.writer.flush()  # everything typed so far is in the file (here, not
                message = work()        # on the GUI thread: a slow disk waits here)
            except SessionNotFound as e:
                message = str(e)
            except ExportError as e:
                message = f"Not saved: {e}"
            except TimeoutError:
                message = SLOW_DISK
            except Exception as e:
                message = f"The {WHAT[kind]} could not be made: {e}"
            allocator.release()  # a report's pages and pictures are freed by now
            self.post(lambda: self._finish(message))

        threading.Thread(target=run, name="holdspace-report", daemon=True).start()

    def _finish(self, message: str) -> None:
        self.busy = False
        if message:
            self.say(message)
        self.done.set()

    def _save(self, kind: str, sid: int, path: Path) -> None:
        if not self._start(kind, sid):
            return
        from console.core.exports.make import make_report, writer_recorder

        clinic = clinic_from(self.ctx.config.extra)
        db, author = self.ctx.db_path, self.ctx.sessions.author
        recorder = writer_recorder(self.ctx.writer, self.ctx.clock.now)

        def work() -> str:
            made, pdf = make_report(db, path, sid, kind, clinic, by=author, via=CONSOLE,
                                    recorder=recorder)
            return (f"{pdf.what} of session {sid} saved to {made.files[0]} ({pdf.pages} "
                    "pages) and recorded.")

        self._run(kind, work)

    def _made_for_print(self, kind: str, sid: int,
                        printer_for: Callable[[], QPrinter | None] | None) -> None:
        if not self._start(kind, sid):
            return
        clinic = clinic_from(self.ctx.config.extra)
        db = self.ctx.db_path

        def work() -> str:
            from console.core.report.making import make_pdf

            conn = open_reader(db)
            try:
                made = make_pdf(conn, sid, kind, clinic)
            finally:
                conn.close()
            self.post(lambda: self._print(made, sid, printer_for))
            return ""

        self._run(kind, work)

    def _print(self, made: Made, sid: int,
               printer_for: Callable[[], QPrinter | None] | None) -> None:
        printer = printer_for() if printer_for is not None else self._ask_printer()
        if printer is None:
            self.say("Printing cancelled.")
            return
        try:
            pages = paint_pdf(printer, made.data)
        except ExportError as e:
            self.say(f"Not printed: {e}.")
            return
        from console.core.exports.make import pdf_export, writer_recorder

        name = printer.printerName() or printer.outputFileName() or "printer"
        x = pdf_export(made, sid, [], by=self.ctx.sessions.author, via=CONSOLE,
                       to=f"printer {name}")
        recorder = writer_recorder(self.ctx.writer, self.ctx.clock.now)

        def record() -> None:
            try:
                recorder(x)
                msg = f"{made.what} of session {sid} sent to {name} ({pages} pages) and recorded."
            except Exception as e:
                msg = f"Printed, but the copy could not be recorded in the session ({e})."
            self.post(lambda: self.say(msg))

        threading.Thread(target=record, name="holdspace-report-record", daemon=True).start()

    def close(self) -> None:
        """Nothing to let go: a report being recorded finishes on its own thread."""

    def _ask_printer(self) -> QPrinter | None:
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dlg = QPrintDialog(printer, self.shell.dialog_parent())
        dlg.setWindowTitle("Print")
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return None
        return printer


def install(shell: Shell, ctx: AppContext, feed: LiveFeed) -> ReportActions:
    """Session ▸ Report… and the REMS form, saved or printed (see console/app.py FEATURES)."""
    actions = ReportActions(shell, ctx)
    items = (("Report… (save as PDF)", "Ctrl+R", lambda: actions.save_as("report")),
             ("Print report…", "Ctrl+P", lambda: actions.print_it("report")),
             ("REMS monitoring form… (save as PDF)", "", lambda: actions.save_as("rems")),
             ("Print REMS monitoring form…", "", lambda: actions.print_it("rems")))
    shell.add_separator("session")
    for text, keys, slot in items:
        shell.action(text, keys, slot, "session")
    return actions
