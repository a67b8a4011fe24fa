"""Build the `SessionReport` of one session from the database.

The session's events are read once and folded here (with `build_record` for amendments over
originals, signatures and addenda); the chart's numerics come from one index-ordered query
per parameter straight into numpy. The protocol's rules (check schedule, gate limits, sources)
come from the template the session used, found in the catalog by its id; when that file has
changed since, the report says so.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

from console.core.dosing import checks as checks_mod
from console.core.dosing.infusion import Infusion
from console.core.dosing.templates import PARAM_CODES, Catalog, Template, load_catalog
from console.core.event_kinds import kind_label
from console.core.notes.scales import clock_text
from console.core.notes.sections import sections_for
from console.core.report import model as m
from console.core.report.record_hash import record_hash
from console.core.session_record import Entry, SessionRecord, build_record
from console.store import chain, engine, records
from console.store.events import Event, session_events
from devices import mdc
from devices.reading import Quality

TRUSTED = (int(Quality.VALID), int(Quality.MANUAL))
CHART: dict[str, tuple[int, ...]] = {
    "hr": PARAM_CODES["hr"],
    "spo2": PARAM_CODES["spo2"],
    "sys": PARAM_CODES["sys"],
    "dia": PARAM_CODES["dia"],
    "mean": (mdc.MDC_PRESS_BLD_NONINV_MEAN,),
    "rr": PARAM_CODES["rr"],
    "temp": (mdc.MDC_TEMP,),  # not drawn on the chart; the FHIR export carries them
    "etco2": (mdc.MDC_AWAY_CO2_ET,),
}
LABELS = {mdc.MDC_ECG_HEART_RATE: ("HR", "/min"), mdc.MDC_PULS_OXIM_PULS_RATE: ("PR", "/min"),
          mdc.MDC_PULS_RATE: ("PR", "/min"), mdc.MDC_PULS_OXIM_SAT_O2: ("SpO2", "%"),
          mdc.MDC_PRESS_BLD_NONINV_SYS: ("NIBP sys", "mmHg"),
          mdc.MDC_PRESS_BLD_NONINV_DIA: ("NIBP dia", "mmHg"),
          mdc.MDC_PRESS_BLD_NONINV_MEAN: ("NIBP mean", "mmHg"),
          mdc.MDC_RESP_RATE: ("RR", "/min"), mdc.MDC_TEMP: ("Temp", "°C"),
          mdc.MDC_AWAY_CO2_ET: ("EtCO2", "mmHg")}
# Which check a value satisfies (as the dose feature counts them).
CHECK_OF_PARAM = {"sys": "bp", "hr": "hr", "spo2": "spo2", "rr": "rr"}
CHECK_OF_SCORE = {"score.moaas": "sedation", "score.rass": "sedation",
                  "score.cadss": "dissociation", "score.cadss6": "dissociation"}
OTHER_LOG = ("link.", "display.", "staff.", "rems.", "patient.")
TIMED_NOTE = ("note.observation", "score.", "check.recorded", "check.overdue", "vitals.manual")


class SessionNotFound(LookupError):
    """No session with that number in this database."""


def build_report(conn: engine.Connection, session_id: int, *, clinic: str = "Holdspace",
                 now: float | None = None, catalog: Catalog | None = None) -> m.SessionReport:
    """The whole report of one session; `SessionNotFound` if there is none."""
    row = records.get_session(conn, session_id)
    if row is None:
        raise SessionNotFound(f"There is no session {session_id} in this database.")
    generated = time.time() if now is None else now
    events = session_events(conn, session_id)
    rec = build_record(events)
    patient_row = records.get_patient(conn, row.patient_id) if row.patient_id else None
    last_data = records.last_data_time(conn, session_id) or row.started
    end = row.ended if row.ended is not None else (
        last_data if row.state != "active" else max(last_data, generated))
    tpl = _template(events, row.template, catalog)
    vitals = _vitals(conn, session_id)
    doses = _doses(events)
    return m.SessionReport(
        clinic=clinic, generated=generated, session_id=row.id, started=row.started,
        ended=row.ended, state=row.state, title=row.title,
        patient=_patient(patient_row, events),
        lifecycle=_lifecycle(events),
        protocol=_protocol(events, row.template, tpl),
        checklist=_checklist(events, tpl),
        gate=_gate(events),
        doses=doses,
        checks=_checks(events, doses, tpl, vitals, end, row.state == "active"),
        alarms=_alarms(events),
        limit_changes=tuple(_limit(e) for e in events if e.kind == "limits.changed"),
        music=_log(events, ("music.",)),
        setting=_log(events, ("setting.",)),
        other_log=_log(events, OTHER_LOG),
        timed_notes=_timed(rec, events),
        scores=_scores(rec),
        adverse_events=tuple(_ae(e) for e in rec.of_kind("ae.")),
        sections=_sections(rec, row.template),
        outcomes=tuple(_note_entry(e) for e in rec.of_kind("outcome.") + rec.of_kind("course.")),
        signature=_signature(rec),
        addenda=tuple(m.Addendum(a.t, str(a.payload.get("name") or a.author or ""),
                                 str(a.payload.get("role") or ""), str(a.payload.get("text") or ""))
                      for a in rec.addenda),
        exports=tuple(_export(e) for e in events if e.kind.startswith("export.")),
        vitals=_with_markers(vitals, doses, events),
        record_hash=record_hash(events),
        event_count=len(events),
        authors=tuple(sorted({e.author for e in events if e.author})),
        last_data=last_data,
        integrity=integrity(conn, session_id),
    )


def integrity(conn: engine.Connection, session_id: int) -> m.Integrity:
    """The file's chain checked now: every link and event (an edit anywhere makes every
    report say so) and this session's own vitals; the findings of this session come first."""
    room = chain.is_server_copy(conn)
    if room is not None:
        return m.Integrity(True, f"A copy made from the central server; checked in room "
                           f"{room} (the server holds no chain).", (), 0, "")
    st = chain.verify(conn, rows={session_id})
    mine = [f.what for f in st.findings if f.session_id in (session_id, None)]
    others = len(st.findings) - len(mine) + st.more
    details = mine[:10] + ([f"{others} more change(s) elsewhere in this file"] if others else [])
    return m.Integrity(st.ok, st.headline(), tuple(details), st.head_seq, st.head_hash)


# ---------------------------------------------------------------- patient and session
def _patient(p: records.Patient | None, events: list[Event]) -> m.PatientInfo:
    changes = tuple(m.WeightChange(e.t, float(e.payload["weight_kg"]),
                                   _num(e.payload.get("previous_kg")), e.author)
                    for e in events if e.kind == "patient.weight_changed")
    if p is None:
        return m.PatientInfo(None, "(no patient)", None, None, None, changes)
    return m.PatientInfo(p.id, p.display_name, p.identifier, p.birth_date, p.weight_kg, changes)


def _lifecycle(events: list[Event]) -> tuple[m.Lifecycle, ...]:
    out = []
    for e in events:
        kind = e.kind.removeprefix("session.")
        if not e.kind.startswith("session.") or kind not in (
                "started", "interrupted", "resumed", "discharge", "ended"):
            continue
        p = e.payload
        text = {"started": "Session started",
                "discharge": str(p.get("summary") or "Discharge signed"),
                "interrupted": str(p.get("summary") or f"Interrupted: {p.get('reason', '')}"),
                "resumed": str(p.get("summary") or "Session resumed"),
                "ended": "Session ended" + (f" ({p['reason']})" if p.get("reason") else "")}[kind]
        out.append(m.Lifecycle(e.t, kind, e.author, text))
    return tuple(out)


def _template(events: list[Event], template_id: str | None,
              catalog: Catalog | None) -> Template | None:
    ids = [e.payload.get("template") for e in events if e.kind == "dose.protocol"]
    tid = next((i for i in reversed(ids) if i), template_id)
    if tid is None:
        return None
    cat = catalog if catalog is not None else load_catalog_quietly()
    return cat.get(tid) if cat is not None else None


def load_catalog_quietly() -> Catalog | None:
    """The shipped and clinic templates (a clinic template that cannot be read is left out,
    as at the console)."""
    from console.core.config import default_data_dir

    try:
        return load_catalog(default_data_dir())
    except OSError:
        return None


def _protocol(events: list[Event], template_id: str | None,
              tpl: Template | None) -> m.Protocol | None:
    used = next((e.payload for e in reversed(events) if e.kind == "dose.protocol"), None)
    if used is None and tpl is None and template_id is None:
        return None
    used = used or {}
    sha = used.get("sha256")
    dose_rule = observation = gate_rule = ""
    if tpl is not None:
        d = tpl.dose
        dose_rule = (f"{d.min:g}–{d.max:g} {d.basis}, {d.method.replace('_', ' ')}"
                     + (f"; hard ceiling {d.ceiling_factor:g} × max" if d.ceiling_factor else "")
                     + (f" (source: {d.source})" if d.source else ""))
        observation = (f"at least {tpl.observation_minutes:g} min from the "
                       f"{tpl.observation_from.replace('_', ' ')}"
                       + (f" (source: {tpl.observation_source})" if tpl.observation_source
                          else ""))
        g = tpl.gate
        limits = [f"BP below {g.sys_max:g}/{g.dia_max:g}" if g.sys_max and g.dia_max else "",
                  f"HR below {g.hr_max:g}" if g.hr_max else "",
                  f"SpO2 at least {g.spo2_min:g} %" if g.spo2_min else ""]
        gate_rule = ", ".join(x for x in limits if x) + (f" (source: {g.source})"
                                                          if g.source else "")
    return m.Protocol(
        template_id=str(used.get("template") or template_id or (tpl.id if tpl else "")) or None,
        title=str(used.get("title") or (tpl.title if tpl else template_id or "")),
        file=used.get("file") or (str(tpl.path) if tpl else None),
        origin=used.get("origin") or (tpl.origin if tpl else None),
        sha256=sha or (tpl.sha256 if tpl else None),
        unverified=bool(used.get("unverified", tpl.unverified if tpl else False)),
        source=tpl.source if tpl else "",
        drug=tpl.drug.name if tpl else None,
        route=tpl.drug.route if tpl else None,
        dose_rule=dose_rule, observation=observation, gate_rule=gate_rule,
        file_changed=None if tpl is None or not sha else tpl.sha256 != sha,
        rems=bool(tpl.rems) if tpl else bool(used.get("rems", False)),
    )


# ---------------------------------------------------------------- checklist, gate, doses
def _shown(value: Any) -> str:
    if value is True:
        return "done"
    if value is False:
        return "not done"
    if isinstance(value, int | float):
        return f"{value:g} h"
    return str(value)


def _checklist(events: list[Event], tpl: Template | None) -> tuple[m.ChecklistAnswer, ...]:
    last: dict[str, Event] = {}
    for e in events:
        if e.kind == "checklist.item" and e.payload.get("item"):
            last[str(e.payload["item"])] = e
    out = []
    order = [i.id for i in tpl.checklist] if tpl else []
    labels = {i.id: i.label for i in tpl.checklist} if tpl else {}
    for item in order + [k for k in last if k not in order]:
        answer = last.get(item)
        if answer is None:
            out.append(m.ChecklistAnswer(item, labels.get(item, item), "not answered", None,
                                         None, False))
        else:
            p = answer.payload
            out.append(m.ChecklistAnswer(item, str(p.get("label") or labels.get(item, item)),
                                         _shown(p.get("value")), answer.t, answer.author, True))
    return tuple(out)


def _gate(events: list[Event]) -> m.Gate:
    overrides = tuple(m.GateOverride(e.t, e.author, str(e.payload.get("reason", "")),
                                     tuple(e.payload.get("failed") or ()))
                      for e in events if e.kind == "gate.override")
    checked = next((e for e in events if e.kind == "gate.checked"), None)
    if checked is None:
        return m.Gate(None, None, (), {}, overrides)
    p = checked.payload
    return m.Gate(checked.t, bool(p.get("passed")), tuple(p.get("reasons") or ()),
                  {str(k): _num(v) for k, v in (p.get("baseline") or {}).items()}, overrides)


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _text(v: Any) -> str | None:
    return str(v) if v not in (None, "") else None


def _doses(events: list[Event]) -> tuple[m.Dose, ...]:
    voids = {e.refers_to: e for e in events if e.kind == "dose.entered_in_error" and e.refers_to}
    infusion_events: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        if e.kind.startswith("infusion.") and e.refers_to:
            infusion_events[e.refers_to].append(e)
    given = sorted((e for e in events if e.kind == "dose.given"),
                   key=lambda e: (e.t, e.recorded or e.t))
    out = []
    total = 0.0
    for e in given:
        p = e.payload
        mg = float(p.get("mg") or 0.0)
        v = voids.get(e.uid)
        role = str(p.get("role") or "initial")
        infusion = None
        counted_mg = mg
        later = infusion_events.get(e.uid, [])
        stop = next((x for x in reversed(later) if x.kind == "infusion.stopped"), None)
        if stop is not None and _num(stop.payload.get("mg_delivered")) is not None:
            counted_mg = float(stop.payload["mg_delivered"])
        if later:
            infusion = "; ".join(f"{clock_text(x.t)} "
                                 f"{x.payload.get('summary') or kind_label(x.kind)}"
                                 for x in later)
        cumulative = None
        if v is None and role != "rescue":
            total += counted_mg
            cumulative = total
        out.append(m.Dose(
            uid=e.uid, t=e.t, recorded=e.recorded, drug=str(p.get("drug") or "?"),
            formulation=_text(p.get("formulation")), route=_text(p.get("route")), mg=mg,
            mg_per_kg=_num(p.get("mg_per_kg")), lot=_text(p.get("lot")),
            given_by=_text(p.get("given_by")), author=e.author, role=role,
            method=_text(p.get("method")), units=_num(p.get("units")),
            late_entry=bool(p.get("late_entry")), cumulative_mg=cumulative,
            outside_protocol=tuple(str(x) for x in p.get("outside_protocol") or ()),
            out_of_range=_text(p.get("out_of_range")),
            protocol_range=_text(p.get("protocol_range")),
            confirmed_by=_text(p.get("confirmed_by")), above_ceiling=bool(p.get("above_ceiling")),
            ceiling_mg=_num(p.get("ceiling_mg")), second_person=_text(p.get("second_person")),
            summary=str(p.get("summary") or ""),
            voided=m.Void(v.t, v.author, str(v.payload.get("reason", ""))) if v else None,
            for_adverse_event=e.refers_to if role == "rescue" else None,
            infusion=infusion,
        ))
    return tuple(out)


# ---------------------------------------------------------------- checks
def _checks(events: list[Event], doses: tuple[m.Dose, ...], tpl: Template | None,
            vitals: m.Vitals, end: float, open_now: bool) -> tuple[m.CheckResult, ...]:
    counted = [d for d in doses if d.counts]
    if tpl is None or not counted:
        return ()
    t0 = counted[0].t
    ends = []
    by_uid = {e.uid: e for e in events if e.kind == "dose.given"}
    for d in counted:
        e = by_uid[d.uid]
        if e.payload.get("method") == "infusion" and e.payload.get("planned_minutes"):
            inf = Infusion(d.uid, d.t, d.mg, float(e.payload["planned_minutes"]),
                           float(e.payload.get("rate_mg_per_h") or 0.0))
            for x in events:
                if x.kind.startswith("infusion.") and x.refers_to == d.uid:
                    inf.apply(x)
            st = inf.status(end)
            ends.append(st.ends_at if st.ends_at is not None else end)
        else:
            ends.append(d.t)
    anchor = ends[0] if tpl.observation_from == "first_dose" else max(ends)
    obs_end = anchor + tpl.observation_minutes * 60.0
    values: dict[str, list[float]] = defaultdict(list)
    for key, series in (("hr", vitals.hr), ("spo2", vitals.spo2), ("sys", vitals.sys),
                        ("rr", vitals.rr)):
        for s in series:
            values[CHECK_OF_PARAM[key]].extend(s.t.tolist())
    for e in events:
        if e.kind in CHECK_OF_SCORE:
            values[CHECK_OF_SCORE[e.kind]].append(e.t)
        elif e.kind == "check.recorded" and e.payload.get("what"):
            values[str(e.payload["what"])].append(e.t)
    for v in values.values():
        v.sort()
    out = []
    for c in checks_mod.schedule(tpl.checks, t0, obs_end, values, end):
        state = c.state
        if state == "done":
            state = "met" if c.done_at is not None and c.done_at <= c.overdue_at else "late"
        elif state in ("overdue", "due") and not open_now:
            state = "missed"
        elif state == "upcoming" and not open_now:
            state = "not reached"
        out.append(m.CheckResult(c.label, c.what, c.due, c.grace_s, state, c.done_at))
    return tuple(out)


# ---------------------------------------------------------------- alarms and logs
def _alarms(events: list[Event]) -> tuple[m.Alarm, ...]:
    acks: dict[str, list[m.AlarmAck]] = defaultdict(list)
    escalations: dict[str, list[tuple[float, str]]] = defaultdict(list)
    cleared: dict[str, Event] = {}
    for e in events:
        ref = e.refers_to or ""
        if e.kind == "alarm.acknowledged":
            acks[ref].append(m.AlarmAck(e.t, e.payload.get("by") or e.author,
                                        _num(e.payload.get("silence_seconds"))))
        elif e.kind == "alarm.escalated":
            escalations[ref].append((e.t, str(e.payload.get("priority", ""))))
        elif e.kind == "alarm.cleared":
            cleared.setdefault(ref, e)
    out = []
    for e in events:
        if e.kind != "alarm.raised":
            continue
        p = e.payload
        c = cleared.get(e.uid)
        out.append(m.Alarm(
            uid=e.uid, rule=str(p.get("rule", "")), priority=str(p.get("priority", "")),
            type=str(p.get("type") or ("technical" if p.get("code") is None else "patient")),
            what=str(p.get("what") or p.get("summary") or ""), raised=e.t,
            value=_num(p.get("value")), limit=_num(p.get("limit")), source=_text(p.get("source")),
            acks=tuple(acks.get(e.uid, ())), escalations=tuple(escalations.get(e.uid, ())),
            cleared=c.t if c else None,
            cleared_text=str(c.payload.get("summary", "")) if c else None))
    return tuple(out)


def _limit(e: Event) -> m.LimitChange:
    p = e.payload
    return m.LimitChange(e.t, e.author, str(p.get("rule", "")), _num(p.get("old")),
                         _num(p.get("new")), str(p.get("reason") or ""),
                         str(p.get("summary") or ""))


def _log(events: list[Event], prefixes: tuple[str, ...]) -> tuple[m.LogLine, ...]:
    return tuple(m.LogLine(e.t, e.kind, e.author,
                           str(e.payload.get("summary") or kind_label(e.kind)))
                 for e in events if e.kind.startswith(prefixes))


def _export(e: Event) -> m.ExportMade:
    p = e.payload
    return m.ExportMade(e.t, e.kind, e.author,
                        str(p.get("what") or p.get("summary") or kind_label(e.kind)),
                        str(p.get("where") or p.get("path") or ""))


# ---------------------------------------------------------------- the note
def _amendments(entry: Entry) -> tuple[m.Amendment, ...]:
    out = []
    data = dict(entry.original.payload)
    for a in entry.amendments:
        changes = dict(a.payload.get("changes", {}))
        data.update(changes)
        out.append(m.Amendment(a.recorded if a.recorded is not None else a.t, a.author,
                               str(a.payload.get("reason") or ""), changes,
                               str(data.get("summary") or kind_label(entry.kind))))
    return tuple(out)


def _note_entry(entry: Entry) -> m.NoteEntry:
    return m.NoteEntry(entry.uid, entry.t, entry.kind, entry.author, entry.summary,
                       str(entry.original.payload.get("summary") or kind_label(entry.kind)),
                       _amendments(entry))


def _timed(rec: SessionRecord, events: list[Event]) -> tuple[m.NoteEntry, ...]:
    out = [_note_entry(e) for e in rec.of_kind("") if e.kind.startswith(("note.observation",
                                                                          "score."))]
    out += [m.NoteEntry(e.uid, e.t, e.kind, e.author,
                        str(e.payload.get("summary") or kind_label(e.kind)),
                        str(e.payload.get("summary") or kind_label(e.kind)))
            for e in events if e.kind in ("check.recorded", "check.overdue", "vitals.manual")]
    return tuple(sorted(out, key=lambda n: n.t))


def _scores(rec: SessionRecord) -> tuple[m.Score, ...]:
    out = []
    for e in rec.of_kind("score."):
        cur = e.current
        value = _num(cur.get("value"))
        if value is None:
            continue
        out.append(m.Score(e.uid, e.t, str(cur.get("scale") or e.kind.split(".", 1)[1]),
                           str(cur.get("label") or kind_label(e.kind)), value, e.author,
                           e.amended))
    return tuple(out)


def _ae(entry: Entry) -> m.AdverseEvent:
    c = entry.current
    return m.AdverseEvent(
        uid=entry.uid, t=entry.t, what=str(c.get("what", "")), severity=str(c.get("severity", "")),
        intervention=str(c.get("intervention") or ""), drug=_text(c.get("drug")),
        mg=_num(c.get("mg")), route=_text(c.get("route")), outcome=str(c.get("outcome") or ""),
        author=entry.author, text=entry.summary,
        original_text=str(entry.original.payload.get("summary", "")),
        amendments=_amendments(entry))


def _field_text(key: str, v: Any) -> str:
    if key == "time" and isinstance(v, float):
        return clock_text(v)
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _fields(sec_fields: dict[str, str], data: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    labels = {**sec_fields, "criteria_met": "Criteria met"}
    out = [(labels.get(k, k), _field_text(k, v)) for k, v in (data.get("fields") or {}).items()]
    return tuple(out)


def _sections(rec: SessionRecord, template: str | None) -> tuple[m.SectionNote, ...]:
    out = []
    for sec in sections_for(template):
        if sec.derived:
            continue  # the dose record is the dose table
        entry = rec.section(sec.key)
        labels = {f.key: f.label for f in sec.fields}
        if entry is None:
            out.append(m.SectionNote(sec.key, sec.title, (), "", None, None))
            continue
        cur = entry.current
        original: tuple[tuple[str, str], ...] = ()
        if entry.amended:
            first = entry.original.payload
            original = _fields(labels, first) + ((("Text", str(first.get("text"))),)
                                                 if first.get("text") else ())
        out.append(m.SectionNote(sec.key, sec.title, _fields(labels, cur),
                                 str(cur.get("text") or ""), entry.author, entry.original.t,
                                 original, _amendments(entry)))
    return tuple(out)


def _signature(rec: SessionRecord) -> m.SignatureInfo | None:
    s = rec.signature
    if s is None:
        return None
    ev = next((e for e in rec.events if e.uid == s.uid), None)
    statement = str(ev.payload.get("statement") or "") if ev else ""
    covers = ev.payload.get("chain") if ev else None
    seq = covers.get("seq") if isinstance(covers, dict) else None
    digest = covers.get("hash") if isinstance(covers, dict) else None
    return m.SignatureInfo(s.name, s.role, s.t, statement, s.uid,
                           seq if isinstance(seq, int) else None,
                           digest if isinstance(digest, str) else None)


# ---------------------------------------------------------------- numerics
def _vitals(conn: engine.Connection, session_id: int) -> m.Vitals:
    """Trusted values per code and source, time order, via the (session, code, t) index."""
    out = m.Vitals()
    sources: set[str] = set()
    for key, codes in CHART.items():
        found: list[m.Series] = []
        for code in codes:
            rows = conn.execute(
                "SELECT t, value, source FROM readings INDEXED BY readings_session_code_t "
                "WHERE session_id = ? AND code = ? AND value IS NOT NULL AND quality IN (?, ?) "
                "ORDER BY t", (session_id, code, *TRUSTED)).fetchall()
            if not rows:
                continue
            t = np.fromiter((r[0] for r in rows), dtype=np.float64, count=len(rows))
            v = np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows))
            src = np.array([r[2] for r in rows], dtype=object)
            label, unit = LABELS.get(code, (str(code), ""))
            for s in sorted(set(src.tolist())):
                mask = src == s
                found.append(m.Series(code, label, unit, str(s), t[mask], v[mask]))
                sources.add(str(s))
        found.sort(key=len, reverse=True)
        setattr(out, key, found)
    out.sources = tuple(sorted(sources))
    return out


def _with_markers(v: m.Vitals, doses: Iterable[m.Dose], events: list[Event]) -> m.Vitals:
    marks = [m.Marker(d.t, "dose", f"{d.mg:g} mg" + (" (rescue)" if d.role == "rescue" else ""))
             for d in doses if d.voided is None]
    marks += [m.Marker(e.t, "alarm", str(e.payload.get("priority", "")).upper())
              for e in events if e.kind == "alarm.raised"]
    marks += [m.Marker(e.t, "phase", str(e.payload.get("phase") or e.payload.get("summary", "")))
              for e in events if e.kind == "music.phase_changed"]
    v.markers = tuple(sorted(marks, key=lambda x: x.t))
    return v

