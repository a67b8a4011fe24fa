"""The esketamine REMS Patient Monitoring Form, filled from the session's own record.

Every field is derived from timestamped events and readings (nothing is typed twice): BP
before dosing, at about 40 minutes, before completion; total monitoring minutes from the first
device; "ready to leave" minutes; the sedation / dissociation / respiratory-depression answers
and serious adverse events from the `rems.answers` event. Field wording follows the 11/2021
form as described in clinical.md; the exact question wording is UNVERIFIED.
"""

from __future__ import annotations

from datetime import datetime

from console.core.dosing.dose_day import DoseDay
from devices import mdc

AT_40_WINDOW_S = 10 * 60.0


def _bp_near(conn_rows: list[tuple[float, float, float]], target: float,
             window: float) -> tuple[float, float, float] | None:
    best = None
    for t, s, d in conn_rows:
        if abs(t - target) <= window and (best is None or abs(t - target) < abs(best[0] - target)):
            best = (t, s, d)
    return best


def bp_rows(day: DoseDay) -> list[tuple[float, float, float]]:
    """(t, sys, dia) of every BP in the session, from the readings table."""
    conn = day.sessions.reader
    rows = conn.execute(
        "SELECT s.t, s.value, d.value FROM readings s JOIN readings d ON d.session_id=s.session_id "
        "AND d.t=s.t AND d.source=s.source AND d.code=? WHERE s.session_id=? AND s.code=? "
        "AND s.value IS NOT NULL AND d.value IS NOT NULL ORDER BY s.t",
        (mdc.MDC_PRESS_BLD_NONINV_DIA, day.session_id, mdc.MDC_PRESS_BLD_NONINV_SYS)).fetchall()
    return [(float(t), float(s), float(d)) for t, s, d in rows]


def _bp_text(bp: tuple[float, float, float] | None, t0: float | None) -> str:
    if bp is None:
        return "not recorded"
    rel = f" (T+{(bp[0] - t0) / 60:.0f} min)" if t0 is not None else ""
    return f"{bp[1]:g}/{bp[2]:g} mmHg at {datetime.fromtimestamp(bp[0]).strftime('%H:%M')}{rel}"


def yes_no(v: object) -> str:
    return "Y" if v else "N"


def summary(day: DoseDay, end: float | None = None) -> list[tuple[str, str]]:
    """(field, value) pairs in the order of the form."""
    end = end if end is not None else day.now()
    rows = bp_rows(day)
    t0 = day.doses[0].t if day.doses else None
    before = [r for r in rows if t0 is None or r[0] <= t0]
    at40 = _bp_near(rows, t0 + 40 * 60, AT_40_WINDOW_S) if t0 is not None else None
    last = rows[-1] if rows and (t0 is None or rows[-1][0] > t0) else None
    answers: dict[str, str] = {}
    for e in day.events:
        if e.kind == "rems.answers":
            answers.update({k: str(v) for k, v in e.payload.items() if k != "summary"})
    p = day.patient
    doses = [day.dose_events[d.uid].payload for d in day.doses]
    total = sum(float(x["mg"]) for x in doses)
    lots = sorted({str(x["lot"]) for x in doses if x.get("lot")})
    g = day.gate_record.payload if day.gate_record else {}
    gate_ok = bool(g.get("passed"))
    if day.gate_record is not None:  # recorded at the first dose: the answer for the form
        before_admin = yes_no(gate_ok) + ("" if gate_ok else " (gate overridden)")
    else:  # not dosed yet: what the gate says now
        before_admin = ("Y so far (gate passes now; recorded at the first dose)"
                        if day.gate().passed else "N so far (gate not passed yet)")
    lim = day.template.gate
    acceptable_end = (last is not None and (lim.sys_max is None or last[1] < lim.sys_max)
                      and (lim.dia_max is None or last[2] < lim.dia_max))
    ready = answers.get("ready_to_leave_minutes")
    providers = sorted({str(x["given_by"]) for x in doses if x.get("given_by")})
    return [
        ("Patient", p.display_name if p else "—"),
        ("Birth date", (p.birth_date or "—") if p else "—"),
        ("First treatment", day.answers.get("first_treatment", "—") or "—"),
        ("Concomitant meds (benzodiazepines, sedative hypnotics, psychostimulants, MAOIs)",
         str(day.answers.get("concomitant", "—") or "—")),
        ("Monitoring provider", ", ".join(providers) or (day.sessions.author or "—")),
        ("Treatment date", datetime.fromtimestamp(t0).strftime("%Y-%m-%d") if t0 else "—"),
        ("Dose", f"{total:g} mg" + (f" (lot {', '.join(lots)})" if lots else "")),
        ("Total monitoring time",
         f"{(end - t0) / 60:.0f} min from first device" if t0 is not None else "—"),
        ("Ready to leave at", f"{ready} min from start" if ready else "not recorded"),
        ("Vitals acceptable before administration", before_admin),
        ("Vitals acceptable before completion", yes_no(acceptable_end)),
        ("BP before dosing", _bp_text(before[-1] if before else None, t0)),
        ("BP at ~40 min", _bp_text(at40, t0)),
        ("BP before completion", _bp_text(last, t0)),
        ("Sedation", answers.get("sedation", "not recorded")),
        ("Dissociation", answers.get("dissociation", "not recorded")),
        ("Respiratory depression", answers.get("respiratory_depression", "not recorded")),
        ("Serious adverse events", answers.get("serious_ae", "not recorded")),
    ]
