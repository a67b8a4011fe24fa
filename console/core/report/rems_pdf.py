"""The REMS Patient Monitoring Form of one session as its own PDF, with its due date.

Every field of the form in its sections, with where each value came from (the record, typed
by whom) or MISSING, so whoever transcribes it to the REMS portal or fax copies only what the
record holds. The 7-day due date stands at the top.
"""

from __future__ import annotations

import datetime as dt

from fpdf.enums import XPos, YPos

from console.core.report import model as m
from console.core.report.pdf_base import ALERT, ALERT_ROW, DIM, OK, ClinicalPDF
from console.core.report.pdf_report import page_info
from console.core.report.rems_form import FilledForm

FORM_TITLE = "REMS Patient Monitoring Form"


def render_rems(form: FilledForm, r: m.SessionReport) -> bytes:
    pdf = ClinicalPDF(page_info(r, FORM_TITLE))
    pdf.add_page()
    spec = form.spec
    pdf.use_font("B", 15)
    pdf.multi_cell(0, 7.5, pdf.tx(spec.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.para(f"Form version: {spec.version}", "", 8, DIM)
    due = form.due()
    treated = (dt.datetime.fromtimestamp(form.treatment_t).strftime("%Y-%m-%d")
               if form.treatment_t is not None else None)
    pdf.ln(1)
    if due is not None:
        pdf.para(f"Submit by {due.isoformat()} — {spec.submit_within_days} days after the "
                 f"treatment on {treated}, {spec.submit_to}.", "B", 11)
    else:
        pdf.para("No dose of esketamine is recorded in this session: there is no form to "
                 "submit.", "B", 11, ALERT)
    missing = form.missing()
    if missing:
        pdf.para(f"INCOMPLETE — {len(missing)} required field{'s' if len(missing) != 1 else ''}"
                 " missing: " + ", ".join(f.spec.label for f in missing) + ".", "B", 9.5,
                 ALERT)
    else:
        pdf.para("Complete: every required field has a value.", "B", 9.5, OK)
    titles = dict(spec.sections)
    for sid, _title in spec.sections:
        rows, styles = [], []
        for f in form.fields:
            if f.spec.section != sid:
                continue
            need = form.needed(f)
            label = f.spec.label + (" *" if need else "")
            if f.value:
                where = "from the record" if f.origin == "record" else (
                    f"typed by {f.by or '?'}")
            else:
                where = "MISSING" if need else "not answered"
            if f.evidence:
                where += f" ({f.evidence})"
            rows.append((label, f.value or "—", where))
            styles.append(ALERT_ROW if need and not f.value else None)
        pdf.heading(titles[sid])
        pdf.grid(("Field", "Value", "Where it comes from"), rows, (70, 56, 56), styles,
                 size=9)
    pdf.para("* required. Field labels summarise the form; check them against the current "
             f"form ({spec.source}).", "I", 7.5, DIM)
    return bytes(pdf.output())
