"""Session ▸ Report… / Print report… / REMS form…: the record leaves the room as a PDF.

The report is built and drawn on a worker thread with its own read connection (an 8-hour
session takes a few seconds; the vitals keep moving meanwhile), written private to its owner,
and recorded as an `export.*` event through the writer before the window says it is done. A
copy the record could not note is deleted again. Printing goes through Qt's print dialog: the
PDF's pages are rasterised by PDFium (pypdfium2) at the printer's resolution and painted onto
the QPrinter, so the paper shows exactly the PDF. (PySide6-Essentials has QtPrintSupport but
not QtPdf; pypdfium2 stands in for QPdfDocument.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRectF, Qt
from PySide6.QtGui import QAction, QImage, QKeySequence, QPainter
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QFileDialog

from console.core.context import AppContext
from console.core.report.build import SessionNotFound
from console.core.report.clinic import clinic_from
from console.core.report.making import Made, make_pdf
from console.core.report.output import OutputError, export_event, write_private
from console.store.db import open_reader
from console.ui.gui_post import GuiPoster

WHAT = {"report": "session report", "rems": "REMS form"}


def paint_pdf(printer: QPrinter, data: bytes) -> int:
    """Every page of the PDF onto the printer, scaled to its page; returns the page count."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(data)
    painter = QPainter()
    if not painter.begin(printer):
        raise OutputError("the printer could not be started")
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


class ReportActions(QObject):
    def __init__(self, window: Any, ctx: AppContext) -> None:
        super().__init__()
        self.window = window
        self.ctx = ctx
        self.post = GuiPoster(window)
        self.busy = False
        self.last_message = ""
        self.done = threading.Event()  # set when a report job has finished (tests wait on it)

    # ----- which session -----
    def session_id(self) -> int | None:
        """The open session, else the one in the note (ended, being signed), else the
        newest."""
        cur = self.ctx.sessions.current
        if cur is not None:
            return cur.id
        notes = getattr(getattr(self.window, "notes_feature", None), "notes", None)
        if notes is not None and notes.session_id is not None:
            return int(notes.session_id)
        row = self.ctx.reader.execute("SELECT MAX(id) FROM sessions").fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def say(self, text: str) -> None:
        self.last_message = text
        self.window.statusBar().showMessage(text, 15000)

    # ----- actions -----
    def save_as(self, kind: str = "report", path: Path | None = None) -> None:
        sid = self.session_id()
        if sid is None:
            self.say("There is no session to report yet.")
            return
        if path is None:
            default = Path.home() / f"holdspace-session-{sid}-{kind}.pdf"
            chosen, _f = QFileDialog.getSaveFileName(
                self.window, f"Save the {WHAT[kind]} of session {sid} as PDF", str(default),
                "PDF (*.pdf)")
            if not chosen:
                return
            path = Path(chosen)
        self._job(kind, sid, lambda made: self._save(made, path, sid))

    def print_it(self, kind: str = "report",
                 printer_for: Callable[[], QPrinter | None] | None = None) -> None:
        sid = self.session_id()
        if sid is None:
            self.say("There is no session to print yet.")
            return
        self._job(kind, sid, None, lambda made: self._print(made, sid, printer_for))

    # ----- the worker -----
    def _job(self, kind: str, sid: int, in_worker: Callable[[Made], str] | None,
             on_gui: Callable[[Made], None] | None = None) -> None:
        if self.busy:
            self.say("A report is being made; wait a moment.")
            return
        self.busy = True
        self.done.clear()
        self.say(f"Making the {WHAT[kind]} of session {sid}…")
        clinic = clinic_from(self.ctx.config.extra)
        db = self.ctx.db_path
        self.ctx.writer.flush()

        def work() -> None:
            message = ""
            made: Made | None = None
            try:
                conn = open_reader(db)
                try:
                    made = make_pdf(conn, sid, kind, clinic)
                finally:
                    conn.close()
                if in_worker is not None:
                    message = in_worker(made)
            except SessionNotFound as e:
                message = str(e)
            except OutputError as e:
                message = f"Not saved: {e}."
            except Exception as e:
                message = f"The {WHAT[kind]} could not be made: {e}"
            self.post(lambda: self._finish(message, made, on_gui))

        threading.Thread(target=work, name="holdspace-report", daemon=True).start()

    def _finish(self, message: str, made: Made | None,
                on_gui: Callable[[Made], None] | None) -> None:
        self.busy = False
        if message:
            self.say(message)
        if on_gui is not None and made is not None and not message:
            on_gui(made)
        self.done.set()

    def _record(self, made: Made, sid: int, where: str) -> None:
        """Append the export event and wait for its commit (on the worker thread)."""
        ev = export_event(made.event_kind, sid, what=made.what, where=where,
                          author=self.ctx.sessions.author, now=self.ctx.clock.now(),
                          data=made.data, record_hash=made.record_hash, pages=made.pages)
        self.ctx.writer.append_event(ev).result(timeout=30)

    def _save(self, made: Made, path: Path, sid: int) -> str:
        write_private(path, made.data)
        try:
            self._record(made, sid, str(path.resolve()))
        except Exception as e:
            path.unlink(missing_ok=True)
            return f"Not saved: the copy could not be recorded in the session ({e})."
        return f"{made.what} of session {sid} saved to {path} ({made.pages} pages) and recorded."

    def _print(self, made: Made, sid: int,
               printer_for: Callable[[], QPrinter | None] | None) -> None:
        printer = printer_for() if printer_for is not None else self._ask_printer()
        if printer is None:
            self.say("Printing cancelled.")
            return
        try:
            pages = paint_pdf(printer, made.data)
        except OutputError as e:
            self.say(f"Not printed: {e}.")
            return
        name = printer.printerName() or printer.outputFileName() or "printer"
        where = f"printer {name}"

        def record() -> None:
            try:
                self._record(made, sid, where)
                msg = f"{made.what} of session {sid} sent to {name} ({pages} pages) and recorded."
            except Exception as e:
                msg = f"Printed, but the copy could not be recorded in the session ({e})."
            self.post(lambda: self.say(msg))

        threading.Thread(target=record, name="holdspace-report-record", daemon=True).start()

    def _ask_printer(self) -> QPrinter | None:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dlg = QPrintDialog(printer, self.window)
        dlg.setWindowTitle("Print")
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return None
        return printer


def install(window: Any, ctx: AppContext, feed: Any) -> ReportActions:
    actions = ReportActions(window, ctx)
    items = (("Report… (save as PDF)", "Ctrl+R", lambda: actions.save_as("report")),
             ("Print report…", "Ctrl+P", lambda: actions.print_it("report")),
             ("REMS monitoring form… (save as PDF)", "", lambda: actions.save_as("rems")),
             ("Print REMS monitoring form…", "", lambda: actions.print_it("rems")))
    window.session_menu.addSeparator()
    for text, keys, slot in items:
        a = QAction(text, window)
        if keys:
            a.setShortcut(QKeySequence(keys))
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        a.triggered.connect(slot)
        window.add_action(a, "session")
    window.report_actions = actions
    return actions
