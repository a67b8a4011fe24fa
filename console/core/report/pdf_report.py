"""The session report as a PDF a physician signs and files: `render_report(report) -> bytes`.

Read top to bottom it follows the day: who and what (patient, session, protocol), whether
dosing was allowed (checklist, gate, override), what was given (every dose with its
cumulative total; entries in error struck through, never removed), what was watched (chart,
checks, alarms), what happened (note entries with amendments beside what they amend, scores,
adverse events and rescue drugs, music and setting), the structured note, and the sign-off.
"""

from __future__ import annotations

from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from console.core.dosing.gate import baseline_text
from console.core.event_kinds import by_text
from console.core.report import model as m
from console.core.report.pdf_base import (
    ALERT,
    ALERT_ROW,
    DIM,
    INK,
    OK,
    STRUCK,
    WARN,
    WARN_ROW,
    ClinicalPDF,
    PageInfo,
    date_time,
    day,
    when,
)
from console.core.report.pdf_chart import draw_chart

STATE_WORDS = {"met": "met", "late": "LATE", "missed": "MISSED", "overdue": "OVERDUE",
               "due": "due", "upcoming": "upcoming", "not reached": "not reached (session ended)"}


def page_info(r: m.SessionReport, title: str = "Session report") -> PageInfo:
    s = r.signature
    signed = (f"SIGNED by {s.name} ({s.role}) {date_time(s.t)}" if s is not None else
              "NOT SIGNED — a draft of the record, not the signed note")
    altered = r.integrity.headline if r.integrity and not r.integrity.intact else ""
    return PageInfo(r.clinic, title, r.patient.name, r.patient.identifier or "",
                    r.patient.birth_date or "", day(r.started), r.generated, signed,
                    s is not None, r.record_hash, altered)


def mg(v: float | None) -> str:
    return "—" if v is None else f"{v:g}"


def render_report(r: m.SessionReport) -> bytes:
    pdf = ClinicalPDF(page_info(r))
    pdf.add_page()
    _overview(pdf, r)
    pdf.heading("Vitals over the whole session")
    draw_chart(pdf, r)
    _protocol(pdf, r)
    _checklist_and_gate(pdf, r)
    _doses(pdf, r)
    _checks(pdf, r)
    _alarms(pdf, r)
    _timed(pdf, r)
    _adverse(pdf, r)
    _sections(pdf, r)
    _logs(pdf, r)
    _sign_off(pdf, r)
    _record(pdf, r)
    return bytes(pdf.output())


# ---------------------------------------------------------------- sections of the report
def _overview(pdf: ClinicalPDF, r: m.SessionReport) -> None:
    pdf.use_font("B", 16)
    title = r.protocol.title if r.protocol else (r.title or "Session")
    pdf.cell(0, 9, pdf.tx(f"Dosing-day record — {title}"), new_x=XPos.LMARGIN,
             new_y=YPos.NEXT)
    p = r.patient
    end = r.ended if r.ended is not None else None
    length = (r.end - r.started) / 60
    rows = [
        ("Patient", p.name),
        ("Identifier", p.identifier or "—"),
        ("Birth date", p.birth_date or "—"),
        ("Weight", f"{p.weight_kg:g} kg" if p.weight_kg else "not recorded"),
        ("Session", f"#{r.session_id}, {date_time(r.started)} to "
                    f"{when(end) if end is not None else 'not ended (' + r.state + ')'}"
                    f" — {length:.0f} min"),
        ("Cumulative dose", f"{r.cumulative_mg():g} mg "
                            f"{r.protocol.drug if r.protocol and r.protocol.drug else ''}".strip()),
        ("People in the record", ", ".join(r.authors) or "—"),
    ]
    for wc in p.weight_changes:
        rows.append(("Weight changed", f"{when(wc.t)} to {wc.weight_kg:g} kg (was "
                                       f"{mg(wc.previous_kg)} kg) by {wc.author or '?'}"))
    for lc in r.lifecycle:
        if lc.kind in ("interrupted", "resumed"):
            rows.append((lc.kind.capitalize(), f"{date_time(lc.t)} — {lc.text}"))
        elif lc.kind == "discharge":  # criteria, escort, who signed, why it ended early
            rows.append(("Discharge", f"{when(lc.t)} — {lc.text}"))
        elif lc.kind == "ended" and lc.text != "Session ended":  # with the reason given
            rows.append(("Ended", f"{when(lc.t)} — {lc.text} — {lc.author or '?'}"))
    pdf.pairs(rows)
    pdf.ln(1)
    _altered(pdf, r)
    s = r.signature
    if s is not None:
        pdf.para(f"Signed by {s.name} ({s.role}) at {date_time(s.t)}. The record is locked; "
                 "later additions are signed addenda.", "B", 9.5, OK)
    else:
        pdf.para("NOT SIGNED. This is the record as it stands; it becomes the note once "
                 "signed.", "B", 9.5, ALERT)


def _altered(pdf: ClinicalPDF, r: m.SessionReport) -> None:
    """An edit made outside Holdspace, named where the reader starts (the hash chain)."""
    g = r.integrity
    if g is None or g.intact:
        return
    pdf.para(f"{g.headline}. Changed since Holdspace wrote it:", "B", 10, ALERT)
    for line in g.details:
        pdf.para(f"• {line}", "", 9, ALERT)


def _protocol(pdf: ClinicalPDF, r: m.SessionReport) -> None:
    pdf.heading("Protocol")
    pr = r.protocol
    if pr is None:
        pdf.quiet("No dosing protocol was used in this session.")
        return
    rows = [("Template", f"{pr.title} ({pr.template_id or '?'}, {pr.origin or '?'} template)"),
            ("Source", pr.source or "—"),
            ("Drug and route", f"{pr.drug or '?'}, {pr.route or '?'}"),
            ("Dose range", pr.dose_rule or "—"),
            ("Observation", pr.observation or "—"),
            ("Pre-dose gate", pr.gate_rule or "—"),
            ("File", pr.file or "?"), ("File SHA-256", pr.sha256 or "?")]
    pdf.pairs(rows)
    if pr.unverified:
        pdf.para("UNVERIFIED template: its values are placeholders a clinic must confirm.",
                 "B", 9, WARN)
    if pr.file_changed:
        pdf.para("The template file has changed since this session; the rules above are the "
                 "file's current ones, the SHA-256 is the one used in the session.", "I", 8.5,
                 WARN)


def _checklist_and_gate(pdf: ClinicalPDF, r: m.SessionReport) -> None:
    pdf.heading("Pre-dose checklist and safety gate")
    if r.checklist:
        pdf.grid(("Item", "Answer", "Time", "By"),
                 [(c.label, c.value, when(c.t), c.author or "—") for c in r.checklist],
                 (92, 44, 16, 30),
                 [None if c.answered else WARN_ROW for c in r.checklist])
    else:
        pdf.quiet("No checklist in this session.")
    g = r.gate
    if g.passed is None:
        pdf.para("The gate was never checked: no dose was given.", "I", 9, DIM)
    else:
        base = baseline_text(g.baseline)
        if g.passed:
            pdf.para(f"Safety gate PASSED at {when(g.checked_t)} — baseline {base}.", "B", 9.5,
                     OK)
        else:
            pdf.para(f"Safety gate NOT PASSED at {when(g.checked_t)} — baseline {base}. "
                     "Dosed under override.", "B", 9.5, ALERT)
            for reason in g.reasons:
                pdf.para(f"  • {reason}", "", 8.5, INK)
    for o in g.overrides:
        pdf.para(f"OVERRIDE at {when(o.t)} by {o.author or '?'}: {o.reason}", "B", 9.5, ALERT)


def _dose_notes(d: m.Dose) -> str:
    notes = []
    if d.voided is not None:
        notes.append(f"ENTERED IN ERROR {when(d.voided.t)} by {d.voided.author or '?'}: "
                     f"{d.voided.reason} — not counted")
    if d.role == "rescue":
        notes.append("rescue drug (not counted with the protocol drug)")
    if d.above_ceiling:
        notes.append(f"⚠ beyond the hard ceiling of {mg(d.ceiling_mg)} mg — confirmed by "
                     f"{d.confirmed_by or '?'}, second person {d.second_person or '?'}")
    elif d.out_of_range:
        notes.append(f"⚠ {d.out_of_range.upper()} the protocol range {d.protocol_range or ''}")
    if d.outside_protocol:
        notes.append(f"confirmed outside protocol by {d.confirmed_by or '?'}: "
                     + " ".join(d.outside_protocol))
    if d.late_entry:
        notes.append(f"late entry (recorded {when(d.recorded)})")
    if d.units:
        notes.append(f"{d.units:g} unit{'s' if d.units != 1 else ''}")
    if d.infusion:
        notes.append(d.infusion)
    return "; ".join(notes)


def _doses(pdf: ClinicalPDF, r: m.SessionReport) -> None:
    pdf.heading("Doses", "Every dose recorded, in time order. A dose entered in error stays in "
                         "the record, struck through, and is not counted.")
    if not r.doses:
        pdf.quiet("No dose recorded.")
        return
    rows: list[tuple[str, ...]] = []
    styles: list[FontFace | list[FontFace] | None] = []
    for d in r.doses:
        per_kg = "—" if d.mg_per_kg is None else f"{d.mg_per_kg:.2f}"
        rows.append((when(d.t), f"{d.drug}, {d.route or '?'} ({d.role})", mg(d.mg), per_kg,
                     d.lot or "—", d.given_by or d.author or "—", mg(d.cumulative_mg),
                     _dose_notes(d)))
        styles.append([STRUCK] * 7 + [ALERT_ROW] if d.voided is not None else (
            ALERT_ROW if d.above_ceiling or d.out_of_range or d.outside_protocol else None))
    pdf.grid(("Time", "Drug, route (role)", "mg", "mg/kg", "Lot", "Given by", "Total mg",
              "Confirmations and notes"), rows, (12, 30, 10, 12, 16, 20, 15, 67), styles)
    drug = r.protocol.drug if r.protocol and r.protocol.drug else "protocol drug"
    pdf.para(f"Cumulative {drug}: {r.cumulative_mg():g} mg.", "B", 9.5)


def _checks(pdf: ClinicalPDF, r: m.SessionReport) -> None:
    pdf.heading("Observation checks", "Due times from the protocol, counted from the first "
                                      "dose; a check is met by any value of its kind in its "
                                      "window (a monitor NIBP counts).")
    if not r.checks:
        pdf.quiet("No scheduled checks (no dose given, or the protocol has none).")
        return
    styles: list[FontFace | None] = [
        ALERT_ROW if c.state in ("missed", "overdue") else WARN_ROW if c.state == "late" else None
        for c in r.checks]
    pdf.grid(("Due", "Check", "State", "Done at"),
             [(when(c.due), c.label, STATE_WORDS.get(c.state, c.state), when(c.done_at))
              for c in r.checks], (16, 110, 32, 24), styles)
    counts = {s: sum(1 for c in r.checks if c.state == s) for s in ("met", "late", "missed")}
    pdf.para(f"{counts['met']} met, {counts['late']} late, {counts['missed']} missed.", "", 9)


def _alarms(pdf: ClinicalPDF, r: m.SessionReport) -> None:
    pdf.heading("Alarms", "Raised by Holdspace's rules on the values shown in the room (the "
                          "bedside monitor's own alarms are not part of this record).")
    if r.alarms:
        rows = []
        for a in r.alarms:
            acks = "; ".join(f"{when(k.t, True)} {k.by or '?'}"
                             + (f" (silenced {k.silence_s / 60:g} min)" if k.silence_s else "")
                             for k in a.acks) or "not acknowledged"
            esc = "; ".join(f"{when(t, True)} to {p.upper()}" for t, p in a.escalations)
            rows.append((when(a.raised, True), a.priority.upper(), a.what, acks,
                         esc or "—", when(a.cleared, True) if a.cleared else "still active"))
        pdf.grid(("Raised", "Priority", "What (value and limit)", "Acknowledged", "Escalated",
                  "Cleared"), rows, (16, 16, 70, 38, 22, 20),
                 [ALERT_ROW if a.priority == "high" else None for a in r.alarms])
    else:
        pdf.quiet("No alarm was raised.")
    if r.limit_changes:
        pdf.para("Alarm limits changed for this patient:", "B", 9)
        pdf.grid(("Time", "Change", "By"),
                 [(when(c.t), c.text, c.author or "—") for c in r.limit_changes],
                 (16, 136, 30))


def _amend_text(amendments: tuple[m.Amendment, ...], original: str) -> str:
    if not amendments:
        return ""
    parts = [f"Originally: {original}"]
    for a in amendments:
        parts.append(f"Amended {date_time(a.t)} by {a.author or '?'}"
                     + (f" ({a.reason})" if a.reason else ""))
    return "\n".join(parts)


def _timed(pdf: ClinicalPDF, r: m.SessionReport) -> None:
    pdf.heading("Observations, quotes, scores and checks",
                "As the record reads now; an amendment is shown beside the entry it amends, "
                "with the original kept.")
    if not r.timed_notes:
        pdf.quiet("Nothing was written during the session.")
    else:
        pdf.grid(("Time", "By", "Entry", "Amendments"),
                 [(when(n.t), n.author or "—", n.text, _amend_text(n.amendments,
                                                                  n.original_text))
                  for n in r.timed_notes], (12, 24, 86, 60))
    if r.scores:
        pdf.para("Scores: " + "; ".join(f"{s.label} {s.value:g} at {when(s.t)}"
                                        + (" (amended)" if s.amended else "")
                                        for s in r.scores), "", 9)


def _adverse(pdf: ClinicalPDF, r: m.SessionReport) -> None:
    pdf.heading("Adverse events and interventions")
    if not r.adverse_events:
        pdf.quiet("No adverse event recorded.")
        return
    rows = []
    for a in r.adverse_events:
        given = f"{a.drug} {mg(a.mg)} mg {a.route or ''}".strip() if a.drug else ""
        done = "; ".join(x for x in (given, a.intervention) if x) or "—"
        rows.append((when(a.t), f"{a.what} ({a.severity})", done, a.outcome or "—",
                     a.author or "—", _amend_text(a.amendments, a.original_text)))
    pdf.grid(("Time", "What (severity)", "Intervention / rescue drug", "Outcome", "By",
              "Amendments"), rows, (12, 34, 44, 34, 22, 36))


def _sections(pdf: ClinicalPDF, r: m.SessionReport) -> None:
    pdf.heading("Structured note")
    empty = [s.title for s in r.sections if not s.fields and not s.text]
    for s in r.sections:
        if not s.fields and not s.text:
            continue
        if pdf.get_y() > pdf.h - 40:
            pdf.add_page()
        pdf.use_font("B", 10)
        pdf.cell(0, 6, pdf.tx(s.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        rows = list(s.fields) + ([("Text", s.text)] if s.text else [])
        pdf.pairs(rows, label_w=52)
        pdf.para(f"Written by {s.author or '?'} at {when(s.t)}", "I", 8, DIM)
        if s.amendments:
            orig = "; ".join(f"{k}: {v}" for k, v in s.original) or "—"
            pdf.para(_amend_text(s.amendments, orig), "I", 8, WARN)
    if empty:
        pdf.para("Not written: " + ", ".join(empty) + ".", "I", 8.5, DIM)
    if r.outcomes:
        pdf.use_font("B", 10)
        pdf.cell(0, 6, pdf.tx("Course and outcome measures"), new_x=XPos.LMARGIN,
                 new_y=YPos.NEXT)
        for o in r.outcomes:
            pdf.para(f"{o.text} — {o.author or '?'}"
                     + (f"  [{_amend_text(o.amendments, o.original_text)}]"
                        if o.amendments else ""), "", 9)


def _logs(pdf: ClinicalPDF, r: m.SessionReport) -> None:
    pdf.heading("Music and set & setting")
    lines = sorted(r.music + r.setting, key=lambda x: x.t)
    if lines:
        pdf.grid(("Time", "What", "By"), [(when(x.t), x.text, by_text(x.author))
                                          for x in lines], (16, 136, 30))
    else:
        pdf.quiet("No music or setting entries.")
    if r.other_log:
        pdf.heading("Monitors, display and other entries")
        pdf.grid(("Time", "What", "By"),
                 [(when(x.t), x.text, by_text(x.author)) for x in r.other_log],
                 (16, 136, 30))


def _sign_off(pdf: ClinicalPDF, r: m.SessionReport) -> None:
    pdf.heading("Sign-off")
    s = r.signature
    if s is None:
        pdf.para("Not signed.", "B", 10, ALERT)
    else:
        rows = [("Signed by", f"{s.name} ({s.role})"), ("At", date_time(s.t)),
                ("Statement", s.statement or "—")]
        if s.chain_seq is not None and s.chain_hash:
            rows.append(("Covers", f"the record up to entry {s.chain_seq} of its hash chain "
                                   f"({s.chain_hash})"))
        pdf.pairs(rows)
    for a in r.addenda:
        pdf.para(f"Addendum {date_time(a.t)} by {a.name} ({a.role}):", "B", 9)
        pdf.para(a.text, "", 9)


def _record(pdf: ClinicalPDF, r: m.SessionReport) -> None:
    pdf.heading("This record")
    pdf.pairs([
        ("Events", f"{r.event_count} events in the session's log"),
        ("Record SHA-256", r.record_hash),
        *([("Hash chain", r.integrity.headline + (
            f" Head: entry {r.integrity.head_seq}, {r.integrity.head_hash}"
            if r.integrity.head_hash else ""))] if r.integrity else []),
        ("Generated", f"{date_time(r.generated)} by Holdspace"),
    ])
    pdf.para("The SHA-256 is computed over the session's events in order (see "
             "console/core/report/record_hash.py); the same database gives the same hash, so a "
             "printed copy can be checked against it.", "I", 8, DIM)
    if r.exports:
        pdf.para("Copies made earlier:", "B", 9)
        pdf.grid(("Time", "What", "Where", "By"),
                 [(date_time(e.t), e.what, e.where, e.author or "—") for e in r.exports],
                 (28, 60, 64, 30))
