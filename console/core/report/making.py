"""One call that makes a PDF of a session (the report or the REMS form) with what the record
of its making needs: the bytes, the page count, what it is and the record hash it shows.
Writing it and recording that it left are the exports' (core/exports/make.py `make_report`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from console.core.exports.export_events import TITLES
from console.core.report import rems_form
from console.core.report.build import build_report
from console.core.report.clinic import Clinic
from console.store import engine

EXPORT_KINDS = {"report": "report", "rems": "rems_form"}  # the event is `export.<kind>`


@dataclass(frozen=True, slots=True)
class Made:
    data: bytes
    pages: int
    what: str  # "Session report (PDF)", as the export event and the report's list say it
    export_kind: str  # "report" or "rems_form"
    record_hash: str


def page_count(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", data))


def make_pdf(conn: engine.Connection, session_id: int, kind: str, clinic: Clinic,
             now: float | None = None) -> Made:
    """`kind` "report" or "rems"; raises build.SessionNotFound for a session not there."""
    # The PDF writers (fpdf2, fontTools, Pillow: ~1 s and ~25 MB) are imported on the first
    # report, not when the window starts.
    from console.core.report.pdf_report import render_report
    from console.core.report.rems_pdf import render_rems

    report = build_report(conn, session_id, clinic=clinic.name, now=now)
    if kind == "rems":
        from console.store.events import session_events

        form = rems_form.fill(conn, session_id, session_events(conn, session_id),
                              clinic=clinic)
        data = render_rems(form, report)
    else:
        data = render_report(report)
    export_kind = EXPORT_KINDS[kind]
    return Made(data, page_count(data), TITLES[export_kind], export_kind, report.record_hash)
