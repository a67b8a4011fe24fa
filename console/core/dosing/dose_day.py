"""One session's dosing day: checklist, gate, doses, infusion, checks, timers and alarms.

All state is derived from the session's events (and its readings), so `restore` after a
crash or a restart rebuilds exactly what was on screen. Every action writes its event first
(through the SessionService and the writer thread) and then updates the in-memory picture
from that same event, so the screen never shows something the record does not hold. The
widgets only call these methods and repaint; no clinical rule lives in the UI.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from console.core.clock import Clock
from console.core.dosing import checks as checks_mod
from console.core.dosing import gate as gate_mod
from console.core.dosing.alarms import TRUSTED, AlarmEngine
from console.core.dosing.dosing import (
    DoseInputError,
    DoseRules,
    DoseVerdict,
    GivenDose,
    clock_text,
    dose_summary,
    parse_when,
)
from console.core.dosing.infusion import Infusion, InfusionStatus
from console.core.dosing.templates import PARAM_CODES, PARAMS, Template
from console.core.dosing.timers import SteadyNow, TimerSnapshot
from console.core.observers import Observers
from console.core.people.service import Refused
from console.core.session import SessionService
from console.core.vitals_table import VITALS
from console.store import engine
from console.store.events import Event, session_events
from console.store.history import session_history, stored_codes
from devices import mdc
from devices.link import LinkStatus
from devices.reading import Quality, Reading, Sample

MY_PREFIXES = ("dose.", "infusion.", "gate.", "checklist.", "check.", "alarm.", "limits.",
               "vitals.manual", "rems.")
PARAM_OF_CODE = {code: name for name, codes in PARAM_CODES.items() for code in codes}
CHECK_OF_PARAM = {v.key: v.check for v in VITALS if v.check}
# Scores written by the notes that count as a scheduled check of this kind.
CHECK_OF_SCORE = {"score.moaas": "sedation", "score.rass": "sedation",
                  "score.cadss": "dissociation", "score.cadss6": "dissociation"}
REPLAY_S = 15 * 60.0  # readings that prime the alarm sustain timers after a restart
# What a hand-typed value may plausibly be, how it is named and stored (from the table).
MANUAL_RANGES = {v.key: v.manual_range for v in VITALS}
MANUAL_NAMES = {v.key: v.name for v in VITALS}
MANUAL_UNITS = {v.key: v.mdc_unit for v in VITALS}

# What the alarm engine records by itself (a limit change is a person's, like an
# acknowledgement).
AUTOMATIC_ALARM = frozenset({"alarm.raised", "alarm.escalated", "alarm.cleared"})


class NeedsConfirmation(Exception):
    """The dose is outside the protocol: ask about this exact number, then call again with
    confirmed=True and confirm_mg = the number that was asked about."""

    def __init__(self, reasons: tuple[str, ...], verdict: DoseVerdict | None = None) -> None:
        self.reasons = reasons
        self.verdict = verdict
        super().__init__(" ".join(reasons))

    @property
    def question(self) -> str:
        return self.verdict.question() if self.verdict is not None else "Record it anyway?"


class NeedsSecondPerson(NeedsConfirmation):
    """Beyond the template's hard ceiling: a second named person must confirm as well."""


@dataclass
class TickResult:
    events: list[Event] = field(default_factory=list)
    newly_due: list[checks_mod.CheckOccurrence] = field(default_factory=list)
    newly_overdue: list[checks_mod.CheckOccurrence] = field(default_factory=list)


class DoseDay:
    def __init__(self, template: Template, sessions: SessionService, clock: Clock,
                 manual_in: Callable[[list[Reading]], None]) -> None:
        cur = sessions.current
        if cur is None:
            raise RuntimeError("no open session")
        self.template = template
        self.sessions = sessions
        # Where values typed by hand go: the acquisition hub (`AcquisitionHub.manual`), which
        # stores them and hands them back with the live batch, as a monitor's values.
        self.manual_in = manual_in
        self.session_id = cur.id
        self.session_start = cur.row.started
        self.patient = cur.patient
        self.weight_kg = cur.patient.weight_kg if cur.patient else None
        self.now = SteadyNow(clock)
        self.events: list[Event] = []
        self.answers: dict[str, Any] = {}
        self.latest: dict[str, Reading] = {}
        self.values: dict[str, checks_mod.Times] = {}  # value times, per check kind
        # Only the kinds this protocol checks keep their times: HR or SpO2 sent every second
        # would otherwise keep 8 bytes a second for a check no rule asks for.
        self.asked = frozenset(rule.what for rule in template.checks)
        self.doses: list[GivenDose] = []
        self.dose_events: dict[str, Event] = {}
        self.voided: set[str] = set()
        self.void_events: dict[str, Event] = {}  # dose uid -> its entered-in-error event
        self.infusions: dict[str, Infusion] = {}
        self.override: Event | None = None
        self.gate_record: Event | None = None
        self.overdue_recorded: set[str] = set()
        self._announced: dict[str, str] = {}
        self.alarms = AlarmEngine(template.alarms, self._alarm_record, template.stale_seconds,
                                  template.technical_priority,
                                  template.technical_escalate_minutes * 60.0,
                                  template.technical_escalate_to)
        self.changed: Observers[str] = Observers()
        self.rescue_doses: list[Event] = []  # other drugs (ondansetron, …): never ketamine
        self._recording = False
        sessions.recorded.connect(self._foreign)

    # ------------------------------------------------------------------ building
    @classmethod
    def open(cls, template: Template, sessions: SessionService, clock: Clock,
             conn: engine.Connection,
             manual_in: Callable[[list[Reading]], None]) -> DoseDay:
        """Attach to the open session, rebuilding everything already stored for it."""
        day = cls(template, sessions, clock, manual_in)
        sessions.writer.flush()  # everything queued so far must be visible to the reader
        day._restore(conn)
        if not any(e.kind == "dose.protocol" for e in day.events):
            day._record("dose.protocol", {
                "template": template.id, "title": template.title, "file": str(template.path),
                "origin": template.origin, "sha256": template.sha256,
                "unverified": template.unverified,
                "summary": f"Protocol: {template.provenance}",
            })
        return day

    def _restore(self, conn: engine.Connection) -> None:
        stored = [e for e in session_events(conn, self.session_id)
                  if e.kind.startswith(MY_PREFIXES) or e.kind in CHECK_OF_SCORE]
        for e in stored:
            self._apply(e)
        self.alarms.restore(stored)
        # Each parameter's history once, as arrays shared with the trend (and the timeline):
        # the times of trusted values fulfil checks; Reading objects are made only for the
        # newest value of each parameter and the last REPLAY_S, not for every stored second.
        history = session_history(conn, self.session_id)
        trusted = [int(q) for q in TRUSTED]
        newest: dict[str, float] = {}
        for code, param in PARAM_OF_CODE.items():
            s = history.series(code)
            ok = np.isin(s.quality, trusted) & ~np.isnan(s.value)
            if not ok.any():
                continue
            kind = CHECK_OF_PARAM.get(param)
            if kind in self.asked:
                self._times(kind).extend(s.t[ok])
            newest[param] = max(newest.get(param, -math.inf), float(s.t[ok][-1]))
        cutoff = self.now() - REPLAY_S
        codes = [a for c in PARAM_OF_CODE for a in stored_codes(c)]
        marks = ",".join("?" * len(codes))
        recent = [Reading(t, src, code, val, unit, Quality(q)) for t, src, code, val, unit, q in
                  conn.execute(
                      f"SELECT t, source, code, value, unit, quality FROM readings WHERE "
                      f"session_id=? AND code IN ({marks}) AND value IS NOT NULL AND t>=? "
                      "ORDER BY t, id", [self.session_id, *codes, cutoff])]
        older = [p for p, t in newest.items() if t < cutoff]
        for param in older:  # its newest value is older than the replayed minutes
            pcodes = [a for c in PARAM_CODES[param] for a in stored_codes(c)]
            row = conn.execute(
                f"SELECT t, source, code, value, unit, quality FROM readings WHERE session_id=? "
                f"AND code IN ({','.join('?' * len(pcodes))}) AND t=? AND value IS NOT NULL "
                f"AND quality IN ({','.join('?' * len(trusted))}) ORDER BY id DESC LIMIT 1",
                [self.session_id, *pcodes, newest[param], *trusted]).fetchone()
            if row is not None:
                t, src, code, val, unit, q = row
                self._take_latest([Reading(t, src, code, val, unit, Quality(q))])
        self._take_latest(recent)
        # The alarm state is the stored events' (restored above); readings only restart the
        # sustain timers. Nothing is recorded for the past.
        self.alarms.prime(recent)
        self.alarms.armed = bool(self.doses)
        for c in self.checks():
            self._announced[c.key] = c.state

    # ------------------------------------------------------------------ recording
    def _record(self, kind: str, payload: dict[str, Any], t: float | None = None,
                refers_to: str | None = None, author: str | None = None,
                automatic: bool = False) -> Event:
        self._recording = True
        try:
            ev = self.sessions.record(kind, payload, t=self.now() if t is None else t,
                                      refers_to=refers_to, author=author, automatic=automatic)
        except Refused as e:  # the role table or a PIN (console/core/people), in dose words
            raise DoseInputError(str(e)) from e
        finally:
            self._recording = False
        self._apply(ev)
        self.changed.emit(kind)
        return ev

    def _alarm_record(self, kind: str, payload: dict[str, Any], t: float,
                      refers_to: str | None) -> Event:
        # an acknowledgement names its own person ("" at the locked screen: nobody said);
        # raising, escalating and clearing are the console's own doing: no person
        if kind == "alarm.acknowledged":
            return self._record(kind, payload, t, refers_to, author=payload.get("by") or "")
        return self._record(kind, payload, t, refers_to, automatic=kind in AUTOMATIC_ALARM)

    def _foreign(self, e: Event) -> None:
        """An event another feature recorded in this session (a score, a rescue drug)."""
        if self._recording or e.session_id != self.session_id:
            return
        if e.kind in CHECK_OF_SCORE or (e.kind == "dose.given"
                                        and e.payload.get("role") == "rescue"):
            self._apply(e)
            self.changed.emit(e.kind)

    def _apply(self, e: Event) -> None:
        """Fold one of our events into the picture (alarm state is the engine's own)."""
        self.events.append(e)
        p = e.payload
        if e.kind in CHECK_OF_SCORE:
            self._times(CHECK_OF_SCORE[e.kind]).add(e.t)
        elif e.kind == "dose.given" and p.get("role") == "rescue":
            self.rescue_doses.append(e)
        elif e.kind == "checklist.item":
            self.answers[p["item"]] = p.get("value")
        elif e.kind == "gate.override":
            self.override = e
        elif e.kind == "gate.checked":
            self.gate_record = e
        elif e.kind == "dose.given":
            self.dose_events[e.uid] = e
            self.doses.append(GivenDose(e.uid, e.t, float(p["mg"]), p.get("role", "initial"),
                                        p.get("method", "bolus"), p.get("planned_minutes")))
            self.doses.sort(key=lambda d: d.t)
            if p.get("method") == "infusion":
                self.infusions[e.uid] = Infusion(e.uid, e.t, float(p["mg"]),
                                                 float(p["planned_minutes"]),
                                                 float(p["rate_mg_per_h"]))
        elif e.kind == "dose.entered_in_error" and e.refers_to:
            self.voided.add(e.refers_to)
            self.void_events[e.refers_to] = e
            self.doses = [d for d in self.doses if d.uid != e.refers_to]
            self.infusions.pop(e.refers_to, None)
        elif e.kind.startswith("infusion.") and e.refers_to in self.infusions:
            self.infusions[e.refers_to].apply(e)
        elif e.kind == "check.recorded":
            self._times(p["what"]).add(e.t)
        elif e.kind == "check.overdue":
            self.overdue_recorded.add(p["key"])

    # ------------------------------------------------------------------ readings
    def _take(self, readings: list[Reading]) -> None:
        for r in self._take_latest(readings):
            kind = CHECK_OF_PARAM.get(PARAM_OF_CODE[mdc.canonical(r.code)])
            if kind in self.asked:
                self._times(kind).add(r.t)

    def _times(self, kind: str) -> checks_mod.Times:
        times = self.values.get(kind)
        if times is None:
            times = self.values[kind] = checks_mod.Times()
        return times

    def _take_latest(self, readings: list[Reading]) -> list[Reading]:
        """The newest trusted value of each parameter; returns the readings that count."""
        used = []
        for r in readings:
            param = PARAM_OF_CODE.get(mdc.canonical(r.code))
            if param is None or r.quality not in TRUSTED or math.isnan(r.value):
                continue
            old = self.latest.get(param)
            if old is None or r.t >= old.t:
                self.latest[param] = r
            used.append(r)
        return used

    def readings(self, samples: Sequence[Sample]) -> list[Event]:
        """Everything from the live feed (and manual entries) goes through here."""
        rs = [s for s in samples if isinstance(s, Reading)]
        self._take(rs)
        return self.alarms.observe(rs)

    def link(self, status: LinkStatus) -> list[Event]:
        return self.alarms.link(status)

    def manual_vitals(self, texts: dict[str, str],
                      when_text: str = "") -> tuple[Event, list[Reading]]:
        """Typed values (any row of VITALS) as MANUAL readings from source "manual": handed to
        `manual_in` (the hub), which stores them and delivers them with the live batch, so
        checks, alarms, strip and trend take them by the way they take a monitor's values."""
        now = self.now()
        t = parse_when(when_text, now)
        if t > now + 60:
            raise DoseInputError("That time is in the future; enter values when they are taken.")
        vals: dict[str, float] = {}
        for key, text in texts.items():
            s = text.strip().replace(",", ".")
            if not s:
                continue
            name = MANUAL_NAMES[key]
            try:
                v = float(s)
            except ValueError:
                raise DoseInputError(f"{name}: “{text.strip()}” is not a number.") from None
            lo, hi = MANUAL_RANGES[key]
            if not lo <= v <= hi:
                raise DoseInputError(f"{name} {v:g} is not plausible (expected {lo}–{hi}). "
                                     "Check the value.")
            vals[key] = v
        if not vals:
            names = list(dict.fromkeys(v.tile_title for v in VITALS))
            raise DoseInputError(f"Type at least one value ({', '.join(names[:-1])} or "
                                 f"{names[-1]}).")
        if ("sys" in vals) != ("dia" in vals):
            raise DoseInputError("Blood pressure needs both numbers: systolic and diastolic.")
        if "sys" in vals and vals["sys"] <= vals["dia"]:
            raise DoseInputError("Systolic must be higher than diastolic (e.g. 128 / 82).")
        readings = [Reading(t, "manual", PARAMS[k][0], v, MANUAL_UNITS[k], Quality.MANUAL)
                    for k, v in vals.items()]
        if "sys" in vals:
            readings.append(Reading(t, "manual", mdc.MDC_PRESS_BLD_NONINV_MEAN,
                                    round((vals["sys"] + 2 * vals["dia"]) / 3),
                                    mdc.MDC_DIM_MMHG, Quality.MANUAL))
        text = ", ".join(
            (f"BP {vals['sys']:g}/{vals['dia']:g}" if k == "sys" else
             f"{PARAMS[k][1]} {v:g}") for k, v in vals.items() if k != "dia")
        ev = self._record("vitals.manual", {**vals, "summary": f"Manual vitals: {text}"
                                            + (f" (for {clock_text(t)})" if now - t > 120 else "")},
                          t)
        self.manual_in(readings)
        return ev, readings

    # ------------------------------------------------------------------ checklist & gate
    def set_item(self, item_id: str, value: Any) -> Event:
        item = next(i for i in self.template.checklist if i.id == item_id)
        shown = ("done" if value is True else "not done" if value is False else
                 f"{value:g} h" if isinstance(value, float | int) else str(value))
        return self._record("checklist.item", {"item": item_id, "label": item.label,
                                               "value": value,
                                               "summary": f"Checklist: {item.label} — {shown}"})

    def gate(self) -> gate_mod.GateResult:
        return gate_mod.evaluate(self.template, self.answers, self.latest, self.now())

    def override_gate(self, reason: str) -> Event:
        reason = reason.strip()
        if len(reason) < 5:
            raise DoseInputError("Write the reason for overriding the safety gate (a sentence).")
        if self.sessions.author is None:
            raise DoseInputError("Choose who you are (the clinician at the console) before "
                                 "overriding the gate.")
        g = self.gate()
        return self._record("gate.override", {
            "reason": reason, "failed": list(g.reasons),
            "summary": f"Safety gate OVERRIDDEN by {self.sessions.author}: {reason} "
                       f"(gate said: {' '.join(g.reasons)})"})

    def dosing_allowed(self) -> bool:
        return bool(self.doses) or self.gate().passed or self.override is not None

    # ------------------------------------------------------------------ doses
    def rules(self) -> DoseRules:
        return DoseRules(self.template, self.weight_kg, self.session_start, list(self.doses))

    def check_dose(self, mg_text: str, when_text: str = "") -> DoseVerdict:
        return self.rules().check(mg_text, when_text, self.now())

    def give_dose(self, mg_text: str, when_text: str = "", *, lot: str = "",
                  given_by: str = "", confirmed: bool = False, confirm_mg: float | None = None,
                  second_person: str | None = None, role: str | None = None) -> Event:
        """Record a dose, or raise DoseInputError / NeedsConfirmation without writing.

        A confirmation holds only for the number it was given for: with `confirm_mg`, a dose
        that is not exactly that number is asked about again. Beyond the hard ceiling a
        `second_person` (another named member of staff) must confirm too."""
        v = self.check_dose(mg_text, when_text)
        if v.refused:
            raise DoseInputError(v.refused)
        if self.sessions.guard is not None:  # who may, before anything is written
            try:
                self.sessions.guard("dose.given", self.sessions.author, {
                    "given_by": given_by.strip() or None,
                    **({"second_person": (second_person or "").strip() or None}
                       if v.needs_second_person else {})})
            except Refused as e:
                raise DoseInputError(str(e)) from e
        if not self.doses and not self.dosing_allowed():
            raise DoseInputError("Dosing is locked: the safety gate has not passed. "
                                 + " ".join(self.gate().reasons)
                                 + " A clinician may override with a written reason.")
        if confirm_mg is not None and abs(confirm_mg - v.mg) > 1e-9:
            confirmed = False  # the number changed since it was confirmed: ask again
        second = (second_person or "").strip() or None
        if v.needs_second_person:
            if not confirmed:
                raise NeedsSecondPerson(v.confirm, v)
            me = self.sessions.author
            if me is None:
                raise DoseInputError("Choose who you are (the clinician at the console) "
                                     "before confirming a dose beyond the ceiling.")
            if second is None:
                raise NeedsSecondPerson(v.confirm, v)
            if second.casefold() == me.casefold():
                raise DoseInputError(f"The second person must be someone other than you "
                                     f"({me}). Choose another member of staff.")
        elif v.confirm and not confirmed:
            raise NeedsConfirmation(v.confirm, v)
        tpl = self.template
        role = role or v.role
        if not self.doses:
            g = self.gate()
            self._record("gate.checked", {
                "passed": g.passed, "reasons": list(g.reasons), "baseline": g.baseline,
                "override": self.override.uid if self.override else None,
                "summary": ("Safety gate passed" if g.passed else
                            "Safety gate NOT passed — dosed under override")
                + ": baseline " + gate_mod.baseline_text(g.baseline)})
        payload: dict[str, Any] = {
            "drug": tpl.drug.name, "formulation": tpl.drug.formulation, "route": tpl.drug.route,
            "mg": v.mg, "mg_per_kg": None if v.mg_per_kg is None else round(v.mg_per_kg, 4),
            "lot": lot.strip() or None, "given_by": given_by.strip() or None,
            "late_entry": v.late, "role": role, "method": tpl.dose.method,
            "outside_protocol": list(v.confirm), "template": tpl.id,
            "summary": dose_summary(tpl, v, lot.strip(), given_by.strip(),
                                    self.sessions.author if v.confirm else None,
                                    second if v.needs_second_person else None),
        }
        if v.confirm:  # the persistent marker: which stop was passed, and by whom
            payload.update({
                "out_of_range": v.out_of_range, "protocol_range": v.range,
                "confirmed_by": self.sessions.author,
                "above_ceiling": v.needs_second_person,
                "ceiling_mg": None if v.ceiling_mg is None else round(v.ceiling_mg, 2),
            })
            if v.needs_second_person:
                payload["second_person"] = second
        if tpl.dose.method == "infusion" and tpl.dose.infusion_minutes:
            payload["planned_minutes"] = tpl.dose.infusion_minutes
            payload["rate_mg_per_h"] = round(v.mg / (tpl.dose.infusion_minutes / 60.0), 4)
        if tpl.dose.unit_mg:
            payload["units"] = v.mg / tpl.dose.unit_mg
        ev = self._record("dose.given", payload, v.t)
        self.alarms.armed = True
        return ev

    def void_dose(self, uid: str, reason: str) -> Event:
        """Mark a recorded dose as entered in error: an amendment event (author, time,
        reason) pointing at the original, which stays in the record but no longer counts."""
        if uid in self.voided:
            raise DoseInputError("That dose is already marked as entered in error.")
        if uid not in self.dose_events:
            raise DoseInputError("That dose is not in this session's record.")
        if len(reason.strip()) < 3:
            raise DoseInputError("Write why this entry was an error.")
        if self.sessions.author is None:
            raise DoseInputError("Choose who you are (the clinician at the console) before "
                                 "marking a dose as entered in error.")
        orig = self.dose_events[uid].payload.get("summary", "")
        return self._record("dose.entered_in_error", {
            "reason": reason.strip(), "mg": self.dose_events[uid].payload.get("mg"),
            "summary": f"Entered in error: {orig} — {reason.strip()}"},
            refers_to=uid)

    def dose_log(self) -> list[Event]:
        """Every ketamine dose recorded this session, in clinical time order, including those
        later marked entered in error (see `void_events`): nothing leaves the log."""
        return sorted(self.dose_events.values(), key=lambda e: (e.t, e.recorded or e.t))

    def infusion(self) -> tuple[str, Infusion] | None:
        for uid, inf in reversed(self.infusions.items()):
            return uid, inf
        return None

    def infusion_status(self) -> InfusionStatus | None:
        cur = self.infusion()
        return cur[1].status(self.now()) if cur else None

    def infusion_action(self, action: str, rate_text: str = "") -> Event:
        """pause | resume | stop | rate_changed (with the new rate in mg/h)."""
        cur = self.infusion()
        if cur is None:
            raise DoseInputError("No infusion has been started.")
        uid, inf = cur
        st = inf.status(self.now())
        if st.state in ("complete", "stopped"):
            raise DoseInputError(f"The infusion is already {st.state}.")
        payload: dict[str, Any] = {}
        if action == "pause" and st.state == "paused":
            raise DoseInputError("The infusion is already paused.")
        if action == "resume" and st.state != "paused":
            raise DoseInputError("The infusion is running.")
        if action == "rate_changed":
            try:
                rate = float(rate_text.strip().replace(",", "."))
            except ValueError:
                raise DoseInputError("Type the new rate in mg per hour, e.g. 30.") from None
            if not 0 < rate <= st.planned_mg * 60:
                raise DoseInputError("The rate must be more than 0 mg/h and plausible.")
            payload["rate_mg_per_h"] = rate
        words = {"pause": "paused", "resume": "resumed", "stop": "stopped",
                 "rate_changed": "rate_changed"}
        if action not in words:
            raise ValueError(action)
        if action == "stop":
            payload["mg_delivered"] = round(st.mg_so_far, 2)
        text = {"pause": "paused", "resume": "resumed",
                "stop": f"stopped — {st.mg_so_far:.1f} mg of {st.planned_mg:g} mg given",
                "rate_changed": f"rate changed to {payload.get('rate_mg_per_h', 0):g} mg/h"}
        payload["summary"] = f"Infusion {text[action]}"
        return self._record(f"infusion.{words[action]}", payload, refers_to=uid)

    def cumulative_mg(self) -> float:
        total = 0.0
        now = self.now()
        for d in self.doses:
            inf = self.infusions.get(d.uid)
            total += inf.status(now).mg_so_far if inf else d.mg
        return total

    # ------------------------------------------------------------------ checks & timers
    def record_check(self, what: str, value: str, note: str = "") -> Event:
        if not value.strip():
            raise DoseInputError("Type the value (e.g. MOAA/S 4).")
        return self._record("check.recorded", {
            "what": what, "value": value.strip(), "note": note.strip() or None,
            "summary": f"{what.capitalize()} check: {value.strip()}"
                       + (f" — {note.strip()}" if note.strip() else "")})

    def _dose_end(self, d: GivenDose, now: float) -> float:
        inf = self.infusions.get(d.uid)
        if inf is None:
            return d.t
        st = inf.status(now)
        return st.ends_at if st.ends_at is not None else now

    def observation_end(self) -> float | None:
        if not self.doses:
            return None
        now = self.now()
        if self.template.observation_from == "first_dose":
            anchor = self._dose_end(self.doses[0], now)
        else:
            anchor = max(self._dose_end(d, now) for d in self.doses)
        return anchor + self.template.observation_minutes * 60.0

    def checks(self) -> list[checks_mod.CheckOccurrence]:
        t0 = self.doses[0].t if self.doses else None
        return checks_mod.schedule(self.template.checks, t0, self.observation_end(),
                                   self.values, self.now())

    def timers(self) -> TimerSnapshot:
        occ = self.checks()
        return TimerSnapshot(
            now=self.now(),
            first_dose=self.doses[0].t if self.doses else None,
            last_dose=self.doses[-1].t if self.doses else None,
            dose_count=len(self.doses),
            observation_end=self.observation_end(),
            infusion=self.infusion_status(),
            next_check=checks_mod.next_check(occ),
        )

    def tick(self) -> TickResult:
        """Once a second: technical alarms, and checks that just became due or overdue."""
        now = self.now()
        res = TickResult(events=self.alarms.tick(now))
        for c in self.checks():
            before = self._announced.get(c.key)
            if c.state != before:
                if c.state == "due":
                    res.newly_due.append(c)
                elif c.state == "overdue":
                    res.newly_overdue.append(c)
                self._announced[c.key] = c.state
            if c.state == "overdue" and c.key not in self.overdue_recorded:
                res.events.append(self._record("check.overdue", {
                    "key": c.key, "what": c.what, "label": c.label, "due": c.due,
                    "summary": f"Check overdue: {c.label} (due {clock_text(c.due)})"},
                    c.overdue_at, automatic=True))
        if res.events:
            self.changed.emit("tick")
        return res

    # ------------------------------------------------------------------ alarms
    def acknowledge(self, by: str, silence_s: float = 120.0,
                    at_locked_screen: bool = False) -> list[Event]:
        """Silence the alarms, recorded under `by`. At the locked screen anyone may silence
        them: `by` is then the person who gave a PIN, or empty (recorded as such)."""
        by = by.strip()
        if not by and not at_locked_screen:
            raise DoseInputError("Type your name to acknowledge the alarm.")
        return self.alarms.acknowledge(by, self.now(), silence_s,
                                       at_locked_screen=at_locked_screen)

    def parse_limit(self, rule_id: str, text: str) -> float:
        """A new limit value, checked (nothing written), or DoseInputError in words."""
        rule = self.alarms.rules[rule_id]
        try:
            v = float(text.strip().replace(",", "."))
        except ValueError:
            raise DoseInputError(f"{rule.describe()}: “{text.strip()}” is not a number.") from None
        lo, hi = MANUAL_RANGES[rule.param]
        if not lo <= v <= hi:
            raise DoseInputError(f"A limit of {v:g} for {PARAMS[rule.param][1]} is not "
                                 f"plausible (expected {lo}–{hi}).")
        return v

    def set_limit(self, rule_id: str, text: str, reason: str = "") -> Event:
        v = self.parse_limit(rule_id, text)
        ev = self.alarms.set_limit(rule_id, v, self.now(), reason=reason)
        self.changed.emit("limits.changed")
        return ev

    # ------------------------------------------------------------------ REMS
    def record_rems(self, answers: dict[str, str]) -> Event:
        clean = {k: v.strip() for k, v in answers.items() if v and v.strip()}
        return self._record("rems.answers", {
            **clean, "summary": "REMS answers: " + "; ".join(f"{k}: {v}" for k, v in
                                                            clean.items())})
