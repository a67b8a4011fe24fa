"""The Composition's sections: the session record in words, as the PDF report says it.

Each section's narrative (XHTML, as FHIR requires) is what a reader without a FHIR viewer
sees; its entries point at the resources that carry the same facts as data. Times are the
workstation's local clock, as in the room. Built from the report model only.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from console.core.report import model as m

if TYPE_CHECKING:
    from console.core.exports.fhir_bundle import Refs

XHTML = "http://www.w3.org/1999/xhtml"
ROLE_WORD = {"initial": "Initial dose", "booster": "Booster dose", "rescue": "Rescue drug"}


def clock(t: float | None, seconds: bool = False) -> str:
    if t is None:
        return "—"
    return time.strftime("%H:%M:%S" if seconds else "%H:%M", time.localtime(t))


def day(t: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(t))


def date_time(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def dose_line(d: m.Dose) -> str:
    """A dose in one line: time, what, route, mg and mg/kg, lot, who, running total, and
    any confirmation outside the protocol."""
    parts = [f"{clock(d.t)} {ROLE_WORD.get(d.role, d.role.capitalize())}: {d.drug} {d.mg:g} mg"
             + (f" ({d.mg_per_kg:.2f} mg/kg)" if d.mg_per_kg is not None else "")]
    if d.route:
        parts.append(d.route)
    if d.units:
        parts.append(f"{d.units:g} {'devices' if d.method == 'nasal_devices' else 'units'}")
    if d.lot:
        parts.append(f"lot {d.lot}")
    if d.given_by:
        parts.append(f"given by {d.given_by}")
    if d.cumulative_mg is not None:
        parts.append(f"cumulative {d.cumulative_mg:g} mg")
    if d.out_of_range and d.protocol_range:
        parts.append(f"{d.out_of_range.upper()} the protocol range {d.protocol_range}")
    if d.above_ceiling:
        parts.append(f"above the hard ceiling {d.ceiling_mg:g} mg" if d.ceiling_mg
                     else "above the hard ceiling")
    if d.outside_protocol:
        who = f" by {d.confirmed_by}" if d.confirmed_by else ""
        parts.append(f"confirmed outside protocol{who}: " + " ".join(d.outside_protocol))
    if d.second_person:
        parts.append(f"second person {d.second_person}")
    if d.late_entry and d.recorded is not None:
        parts.append(f"entered late, at {clock(d.recorded)}")
    if d.infusion:
        parts.append(d.infusion)
    if d.voided:
        parts.append(f"ENTERED IN ERROR {clock(d.voided.t)} by {d.voided.author or '—'}: "
                     f"{d.voided.reason} — not counted")
    return " · ".join(parts)


def _div(items: Iterable[str | tuple[str, str]]) -> dict[str, str]:
    """A narrative list; an item ("del", text) is shown struck through."""
    lis = []
    for item in items:
        if isinstance(item, tuple):
            lis.append(f"<li><{item[0]}>{html.escape(item[1], quote=False)}</{item[0]}></li>")
        else:
            lis.append(f"<li>{html.escape(item, quote=False)}</li>")
    if not lis:
        lis = ["<li>Nothing recorded.</li>"]
    return {"status": "generated", "div": f'<div xmlns="{XHTML}"><ul>{"".join(lis)}</ul></div>'}


def _section(title: str, items: Iterable[str | tuple[str, str]],
             entries: Sequence[str] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {"title": title, "text": _div(items)}
    if entries:
        out["entry"] = [{"reference": u} for u in entries]
    return out


def _amendment_lines(original: str, amendments: Sequence[m.Amendment]) -> list[str]:
    if not amendments:
        return []
    lines = [f"   Originally: {original}"]
    lines += [f"   Amended {date_time(a.t)} by {a.author or '—'}"
              + (f" ({a.reason})" if a.reason else "") for a in amendments]
    return lines


def _protocol(r: m.SessionReport) -> list[str]:
    p = r.protocol
    if p is None:
        return ["No protocol template was used."]
    lines = [f"{p.title} ({p.origin or 'unknown'} template{f' {p.file}' if p.file else ''})"
             + (" — UNVERIFIED template" if p.unverified else ""),
             f"Source: {p.source}"]
    if p.drug:
        lines.append(f"Drug: {p.drug}" + (f", {p.route}" if p.route else ""))
    lines += [f"Dose: {p.dose_rule}", f"Observation: {p.observation}",
              f"Safety gate: {p.gate_rule}"]
    if p.file_changed:
        lines.append("The template file has changed since this session.")
    return lines


def _checklist_gate(r: m.SessionReport) -> list[str]:
    lines = [f"{c.label}: {c.value}" + (f" ({clock(c.t)}, {c.author})" if c.answered else "")
             for c in r.checklist]
    g = r.gate
    if g.passed is None:
        lines.append("No dose was given: the safety gate was not checked.")
    else:
        lines.append(f"Safety gate {'passed' if g.passed else 'NOT PASSED'} at "
                     f"{clock(g.checked_t)}" + (": " + " ".join(g.reasons) if g.reasons else ""))
    lines += [f"OVERRIDE at {clock(o.t)} by {o.author or '—'}: {o.reason}" for o in g.overrides]
    return lines


def _doses(r: m.SessionReport) -> list[str | tuple[str, str]]:
    items: list[str | tuple[str, str]] = [("del", dose_line(d)) if d.voided else dose_line(d)
                                          for d in r.doses]
    drug = r.protocol.drug if r.protocol and r.protocol.drug else "protocol drug"
    if r.doses:
        items.append(f"Cumulative {drug}: {r.cumulative_mg():g} mg")
    return items


def _vitals(r: m.SessionReport) -> list[str]:
    v = r.vitals
    lines = []
    for s in (*v.hr, *v.spo2, *v.rr, *v.temp, *v.etco2):
        if len(s) and s.source != "manual":
            lines.append(f"{s.label} from {s.source}: {len(s)} values {clock(float(s.t[0]))}–"
                         f"{clock(float(s.t[-1]))}, median {float(np.median(s.v)):g}, range "
                         f"{float(s.v.min()):g}–{float(s.v.max()):g} {s.unit} (as 5-minute "
                         "medians below)")
    bp: dict[tuple[str, float], dict[str, float]] = {}
    for key, series in (("sys", v.sys), ("dia", v.dia), ("mean", v.mean)):
        for s in series:
            for t, value in zip(s.t.tolist(), s.v.tolist(), strict=True):
                bp.setdefault((s.source, t), {})[key] = value
    for (source, t), x in sorted(bp.items(), key=lambda kv: kv[0][1]):
        mean = f" (mean {x['mean']:g})" if "mean" in x else ""
        lines.append(f"{clock(t)} NIBP {x.get('sys', float('nan')):g}/"
                     f"{x.get('dia', float('nan')):g}{mean} mmHg — {source}")
    for n in r.timed_notes:
        if n.kind == "vitals.manual":
            lines.append(f"{clock(n.t)} {n.text} — {n.author or '—'}")
    return lines


def _checks(r: m.SessionReport) -> list[str]:
    return [f"{c.label}: {c.state}" + (f" (due {clock(c.due)}" + (
        f", done {clock(c.done_at)})" if c.done_at is not None else ")"))
            for c in r.checks]


def _alarms(r: m.SessionReport) -> list[str]:
    lines = []
    for a in r.alarms:
        acks = "; ".join(f"acknowledged {clock(k.t, True)} by {k.by or '—'}" for k in a.acks)
        lines.append(f"{clock(a.raised, True)} {a.priority.upper()} {a.what}"
                     + (f"; {acks}" if acks else "")
                     + (f"; cleared {clock(a.cleared, True)}" if a.cleared else ""))
    lines += [f"{clock(c.t)} limit changed by {c.author or '—'}: {c.text}"
              + (f" ({c.reason})" if c.reason else "") for c in r.limit_changes]
    return lines


def _notes(r: m.SessionReport) -> list[str]:
    lines = []
    for n in r.timed_notes:
        if n.kind == "vitals.manual":
            continue
        lines.append(f"{clock(n.t)} {n.text} — {n.author or '—'}")
        lines += _amendment_lines(n.original_text, n.amendments)
    return lines


def _adverse(r: m.SessionReport) -> list[str]:
    lines = []
    for a in r.adverse_events:
        lines.append(f"{clock(a.t)} {a.text} — {a.author or '—'}")
        lines += _amendment_lines(a.original_text, a.amendments)
    return lines


def _note_section(s: m.SectionNote) -> list[str]:
    lines = [f"{label}: {value}" for label, value in s.fields]
    if s.text:
        lines.append(s.text)
    if lines and s.author:
        lines.append(f"— {s.author}, {clock(s.t)}")
    if s.amendments:
        original = "; ".join(f"{label}: {value}" for label, value in s.original)
        lines += _amendment_lines(original, s.amendments)
    return lines or ["Not written."]


def _signature(r: m.SessionReport) -> list[str]:
    s = r.signature
    lines = [f"Signed by {s.name} ({s.role}) {date_time(s.t)}"
             + (f": {s.statement}" if s.statement else "") if s else "NOT SIGNED"]
    lines += [f"Addendum {date_time(a.t)} by {a.name} ({a.role}): {a.text}" for a in r.addenda]
    lines.append(f"Record hash (SHA-256 over the session's {r.event_count} events, "
                 f"console/core/report/record_hash.py): {r.record_hash}")
    return lines


def sections(r: m.SessionReport, refs: Refs) -> list[dict[str, Any]]:
    """The Composition's sections, in the order of the PDF report."""
    out = [
        _section("Protocol", _protocol(r)),
        _section("Pre-dose checklist and safety gate", _checklist_gate(r)),
        _section("Doses", _doses(r), [refs.doses[d.uid] for d in r.doses]),
        _section("Vital signs", _vitals(r), refs.vitals),
        _section("Observation checks", _checks(r)),
        _section("Alarms and limits", _alarms(r)),
        _section("Timed notes and scores", _notes(r),
                 [*refs.notes.values(), *refs.scores.values()]),
        _section("Adverse events and interventions", _adverse(r),
                 [*refs.adverse_events.values(),
                  *(refs.doses[d.uid] for d in r.rescue_doses())]),
    ]
    out += [_section(s.title, _note_section(s)) for s in r.sections]
    if r.outcomes:
        out.append(_section("Outcomes", [f"{clock(n.t)} {n.text}" for n in r.outcomes]))
    out.append(_section("Music and set and setting",
                        [f"{clock(x.t)} {x.text}"
                         for x in sorted((*r.setting, *r.music), key=lambda x: x.t)]))
    if r.other_log:
        out.append(_section("Other events", [f"{clock(x.t)} {x.text}" for x in r.other_log]))
    out.append(_section("Signature and addenda", _signature(r), refs.provenance))
    if r.exports:
        out.append(_section("Copies made before this one",
                            [f"{date_time(e.t)} {e.what} → {e.where or '—'} by "
                             f"{e.author or '—'}" for e in r.exports]))
    return out
