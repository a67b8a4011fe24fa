"""The esketamine REMS Patient Monitoring Form of one session: every field, filled from the
record where it can be, asked where it cannot, and complete before the note can be signed.

The field list is data (console/forms/spravato_rems_monitoring.toml, with the form's version;
a clinic's own copy in <data dir>/forms/ replaces it). A value comes from one of three places,
and the form says which: the session's record (dates, dose, devices, lot, blood pressures, the
gate, the checklist, adverse events), an answer typed in the REMS tab and saved as a
`rems.answers` event, or nowhere yet (missing). Suggestions (the patient's name split in two,
the clinic's address from the settings, the provider's phone from the previous form, "Yes" to
sedation after a MOAA/S of 3) are offered to be confirmed, and count only once saved, so what
is signed is exactly what the record holds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.core import clinic_files
from console.core.notes.scales import NoteError
from console.core.report.clinic import Clinic
from console.core.session_record import build_record
from console.store import engine, records
from console.store.events import Event
from devices import mdc
from devices.reading import Quality

FORMS_DIR = Path(__file__).resolve().parents[2] / "forms"
FORM_FILE = "spravato_rems_monitoring.toml"
ANSWERS = "rems.answers"
AT_40_WINDOW_S = 10 * 60.0
KINDS = ("text", "yesno", "choice", "number", "date", "bp")
NONE_WORDS = {"none", "no", "nil", "n/a", "na", "nothing", "-", "—"}
ESKETAMINE = "esketamine"


class FormError(NoteError):
    """An answer the form cannot take, worded for the person typing."""


# ---------------------------------------------------------------- the form as data
@dataclass(frozen=True, slots=True)
class FieldSpec:
    key: str
    section: str
    label: str
    kind: str = "text"
    required: bool = False
    required_if: tuple[str, str] | None = None  # (field, value)
    derive: str | None = None
    suggest: str | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FormSpec:
    form: str
    title: str
    version: str
    source: str
    submit_within_days: int
    submit_to: str
    sections: tuple[tuple[str, str], ...]  # (id, title)
    fields: tuple[FieldSpec, ...]
    path: Path

    def field(self, key: str) -> FieldSpec:
        return next(f for f in self.fields if f.key == key)


def parse_form(text: str, path: Path) -> FormSpec:
    data = tomllib.loads(text)
    sections = tuple((str(s["id"]), str(s["title"])) for s in data.get("sections", []))
    ids = {s for s, _t in sections}
    fields = []
    for f in data.get("fields", []):
        kind = str(f.get("kind", "text"))
        if kind not in KINDS or f.get("section") not in ids:
            raise ValueError(f"field {f.get('key')!r}: kind {kind!r} or section "
                             f"{f.get('section')!r} is not known")
        cond = f.get("required_if")
        fields.append(FieldSpec(
            key=str(f["key"]), section=str(f["section"]), label=str(f["label"]), kind=kind,
            required=bool(f.get("required", False)),
            required_if=tuple(str(cond).split("=", 1)) if cond else None,  # type: ignore[arg-type]
            derive=f.get("derive"), suggest=f.get("suggest"),
            choices=tuple(str(c) for c in f.get("choices", ()))))
    return FormSpec(str(data["form"]), str(data["title"]), str(data["version"]),
                    str(data.get("source", "")), int(data.get("submit_within_days", 7)),
                    str(data.get("submit_to", "")), sections, tuple(fields), path)


def load_form(data_dir: Path | None = None) -> FormSpec:
    """The shipped form, or the clinic's copy of the same form (a newer version)."""
    shipped = FORMS_DIR / FORM_FILE
    spec = parse_form(shipped.read_text(encoding="utf-8"), shipped)
    if data_dir is not None:
        own = data_dir / "forms" / FORM_FILE
        if own.is_file():
            try:
                theirs = parse_form(clinic_files.read_text(own), own)
            except (clinic_files.UnreadableFile, tomllib.TOMLDecodeError, ValueError, KeyError,
                    OSError):
                return spec  # a broken clinic copy never takes the form away
            if theirs.form == spec.form:
                return theirs
    return spec


# ---------------------------------------------------------------- answers
def parse_yesno(text: str) -> str:
    """"yes", "Y", "No – none seen", "yes, mild, resolved 11:05" -> "Yes" / "No" with any
    details kept after a dash; anything else is refused in words."""
    s = " ".join(text.split())
    head, _sep, rest = s.replace(",", " ", 1).partition(" ")
    word = head.strip(".:;—–-").casefold()
    if word in ("y", "yes"):
        value = "Yes"
    elif word in ("n", "no"):
        value = "No"
    else:
        raise FormError("answer Yes or No (details may follow, e.g. “Yes, mild, resolved "
                        "11:05”)")
    detail = rest.strip(" ,.;:—–-")
    return f"{value} — {detail}" if detail else value


def check_answer(spec: FieldSpec, text: str) -> str:
    """The answer as it will be stored, or FormError naming the field."""
    s = " ".join(str(text).split())
    if not s:
        return ""
    try:
        if spec.kind == "yesno":
            return parse_yesno(s)
        if spec.kind == "choice":
            for c in spec.choices:
                if c.casefold() == s.casefold():
                    return c
            raise FormError(f"choose one of {', '.join(spec.choices)}")
        if spec.kind == "number":
            try:
                v = float(s.replace(",", "."))
            except ValueError:
                raise FormError(f"“{s}” is not a number") from None
            if not 0 <= v <= 100_000:
                raise FormError(f"{v:g} is not a plausible number here")
            return f"{v:g}"
        if spec.kind == "date":
            for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
                try:
                    return dt.datetime.strptime(s, fmt).strftime("%m/%d/%Y")
                except ValueError:
                    pass
            raise FormError("write the date as MM/DD/YYYY")
        if spec.kind == "bp":
            sys_t, _s, dia_t = s.replace(" ", "").partition("/")
            try:
                sys_v, dia_v = float(sys_t), float(dia_t)
            except ValueError:
                raise FormError("write the blood pressure as systolic/diastolic, e.g. "
                                "128/82") from None
            if not (40 <= sys_v <= 300 and 20 <= dia_v <= 200 and sys_v > dia_v):
                raise FormError(f"{s} is not a plausible blood pressure")
            return f"{sys_v:g}/{dia_v:g} mmHg"
    except FormError as e:
        raise FormError(f"{spec.label}: {e}") from None
    return s


def answers_payload(spec: FormSpec, answers: dict[str, str]) -> dict[str, Any]:
    """The `rems.answers` payload: checked answers (an empty one clears an earlier answer)."""
    clean: dict[str, Any] = {}
    for key, text in answers.items():
        clean[key] = check_answer(spec.field(key), text)
    shown = "; ".join(f"{spec.field(k).label}: {v}" for k, v in clean.items() if v)
    return {**clean, "form": spec.form, "form_version": spec.version,
            "summary": f"REMS form answers: {shown}" if shown else "REMS form answers cleared"}


def saved_answers(events: Iterable[Event]) -> dict[str, tuple[str, Event]]:
    """The answers as they stand now: key -> (value, the event that gave it)."""
    out: dict[str, tuple[str, Event]] = {}
    for e in sorted((e for e in events if e.kind == ANSWERS),
                    key=lambda e: e.recorded if e.recorded is not None else e.t):
        for k, v in e.payload.items():
            if k in ("summary", "form", "form_version"):
                continue
            if v in (None, ""):
                out.pop(k, None)
            else:
                out[k] = (str(v), e)
    return out


# ---------------------------------------------------------------- the filled form
@dataclass(frozen=True, slots=True)
class Filled:
    spec: FieldSpec
    value: str  # "" when missing
    origin: str  # "record" | "typed" | "" (missing)
    by: str | None  # who typed it
    suggestion: str  # offered, not yet saved ("" if none)
    evidence: str  # what in the record bears on it ("" if nothing)

    @property
    def required(self) -> bool:
        return self.spec.required


@dataclass
class FilledForm:
    spec: FormSpec
    session_id: int
    fields: list[Filled]
    treatment_t: float | None  # the first device
    applies: bool  # an esketamine REMS session with a dose given
    values: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> Filled:
        return next(f for f in self.fields if f.spec.key == key)

    def needed(self, f: Filled) -> bool:
        if f.spec.required:
            return True
        if f.spec.required_if is not None:
            other, want = f.spec.required_if
            return self.values.get(other, "").split(" — ")[0] == want
        return False

    def missing(self) -> list[Filled]:
        return [f for f in self.fields if self.needed(f) and not f.value]

    @property
    def complete(self) -> bool:
        return not self.missing()

    def due(self) -> dt.date | None:
        """The last day the form may be submitted (calendar days after the treatment)."""
        if self.treatment_t is None:
            return None
        day = dt.datetime.fromtimestamp(self.treatment_t).date()
        return day + dt.timedelta(days=self.spec.submit_within_days)


def _split_name(name: str) -> tuple[str, str]:
    parts = name.split()
    if len(parts) < 2:
        return (parts[0] if parts else ""), ""
    return " ".join(parts[:-1]), parts[-1]


def _us_date(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        return dt.date.fromisoformat(iso).strftime("%m/%d/%Y")
    except ValueError:
        return iso


def _hhmm(t: float) -> str:
    return dt.datetime.fromtimestamp(t).strftime("%H:%M")


def bp_rows(conn: engine.Connection, session_id: int) -> list[tuple[float, float, float]]:
    """(t, sys, dia) of every trusted cuff reading of the session, in time order."""
    rows = conn.execute(
        "SELECT s.t, s.value, d.value FROM readings s JOIN readings d ON d.session_id="
        "s.session_id AND d.t=s.t AND d.source=s.source AND d.code=? WHERE s.session_id=? "
        "AND s.code=? AND s.value IS NOT NULL AND d.value IS NOT NULL AND s.quality IN (?, ?) "
        "ORDER BY s.t",
        (mdc.MDC_PRESS_BLD_NONINV_DIA, session_id, mdc.MDC_PRESS_BLD_NONINV_SYS,
         int(Quality.VALID), int(Quality.MANUAL))).fetchall()
    return [(float(t), float(s), float(d)) for t, s, d in rows]


def _lowest(conn: engine.Connection, session_id: int, code: int,
            after: float) -> tuple[float, float] | None:
    r = conn.execute(
        "SELECT value, t FROM readings WHERE session_id=? AND code=? AND t>=? AND value IS NOT "
        "NULL AND quality IN (?, ?) ORDER BY value, t LIMIT 1",
        (session_id, code, after, int(Quality.VALID), int(Quality.MANUAL))).fetchone()
    return (float(r[0]), float(r[1])) if r else None


def is_rems_template(template_id: str | None, data_dir: Path | None = None) -> bool:
    from console.core.dosing.templates import load_catalog

    if not template_id:
        return False
    tpl = load_catalog(data_dir).get(template_id)
    return bool(tpl and tpl.rems)


def previous_answers(conn: engine.Connection, session_id: int) -> dict[str, str]:
    """The newest saved answer per field from earlier forms (any patient): for the provider's
    telephone and email, which do not change from one session to the next."""
    out: dict[str, str] = {}
    for (payload,) in conn.execute(
            "SELECT payload FROM events WHERE kind = ? AND (session_id IS NULL OR session_id "
            "<> ?) ORDER BY id DESC LIMIT 200", (ANSWERS, session_id)):
        try:
            data = json.loads(payload)
        except ValueError:
            continue
        for k, v in data.items():
            if isinstance(v, str) and v and k not in out:
                out[k] = v
    return out


def fill(conn: engine.Connection, session_id: int, events: Sequence[Event], *,
         spec: FormSpec | None = None, clinic: Clinic | None = None,
         rems: bool | None = None, data_dir: Path | None = None) -> FilledForm:
    """The form of this session from its events (as the caller has them, saved or on their
    way) and its stored readings."""
    if data_dir is None:
        from console.core.config import default_data_dir

        data_dir = default_data_dir()
    spec = spec or load_form(data_dir)
    row = records.get_session(conn, session_id)
    patient = records.get_patient(conn, row.patient_id) if row and row.patient_id else None
    voided = {e.refers_to for e in events if e.kind == "dose.entered_in_error"}
    doses = sorted((e for e in events if e.kind == "dose.given" and e.uid not in voided
                    and e.payload.get("role") != "rescue"), key=lambda e: e.t)
    if rems is None:
        rems = is_rems_template(row.template if row else None, data_dir) or any(
            str(d.payload.get("drug", "")).casefold() == ESKETAMINE for d in doses)
    t0 = doses[0].t if doses else None
    checklist: dict[str, Any] = {}
    for e in events:
        if e.kind == "checklist.item" and e.payload.get("item"):
            checklist[str(e.payload["item"])] = e.payload.get("value")
    rec = build_record(events)
    discharge = rec.section("discharge")
    d_time = discharge.current.get("fields", {}).get("time") if discharge else None
    ended = next((e.t for e in reversed(events) if e.kind == "session.ended"), None)
    end = float(d_time) if isinstance(d_time, int | float) else (
        row.ended if row and row.ended is not None else ended)
    bps = bp_rows(conn, session_id)
    gate = next((e for e in events if e.kind == "gate.checked"), None)
    derived, evidence, suggested = _derive(
        spec, patient, doses, checklist, t0, end, bps, gate, events, conn, session_id, data_dir)
    _suggest(spec, suggested, patient, doses, clinic, conn, session_id, events)
    answers = saved_answers(events)
    filled = []
    values: dict[str, str] = {}
    for f in spec.fields:
        if f.key in answers:
            v, ev = answers[f.key]
            item = Filled(f, v, "typed", ev.author, "", evidence.get(f.key, ""))
        elif derived.get(f.key):
            item = Filled(f, derived[f.key], "record", None, "", evidence.get(f.key, ""))
        else:
            item = Filled(f, "", "", None, suggested.get(f.key, ""), evidence.get(f.key, ""))
        values[f.key] = item.value
        filled.append(item)
    return FilledForm(spec, session_id, filled, t0, bool(rems and doses), values)


def _derive(spec: FormSpec, patient: records.Patient | None, doses: list[Event],
            checklist: dict[str, Any], t0: float | None, end: float | None,
            bps: list[tuple[float, float, float]], gate: Event | None, events: Sequence[Event],
            conn: engine.Connection, session_id: int, data_dir: Path | None = None,
            ) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Values from the record (by field key), what in the record bears on a field, and
    suggestions that the record supports but a person must confirm."""
    d: dict[str, str] = {}
    ev: dict[str, str] = {}
    sug: dict[str, str] = {}
    by_rule: dict[str, str] = {}
    if patient is not None and patient.birth_date:
        by_rule["birth_date"] = _us_date(patient.birth_date)
    first = str(checklist.get("first_treatment") or "").strip()
    if first:
        with contextlib.suppress(FormError):
            by_rule["first_treatment"] = parse_yesno(first).split(" — ")[0]
    conc = str(checklist.get("concomitant") or "").strip()
    if conc and conc.casefold().strip(" .") in NONE_WORDS:
        by_rule["concomitant_none"] = "No"
    if t0 is not None:
        by_rule["treatment_date"] = dt.datetime.fromtimestamp(t0).strftime("%m/%d/%Y")
        total = sum(float(e.payload.get("mg") or 0) for e in doses)
        units = [e.payload.get("units") for e in doses]
        devices = sum(float(u) for u in units if isinstance(u, int | float)) if all(
            isinstance(u, int | float) for u in units) else total / 28.0
        by_rule["dose"] = f"{total:g} mg" if total in (56, 84) else f"Other: {total:g} mg"
        by_rule["devices"] = f"{devices:g}"
        lots = sorted({str(e.payload["lot"]) for e in doses if e.payload.get("lot")})
        if lots:
            by_rule["lot"] = ", ".join(lots)
        if end is not None and end > t0:
            by_rule["total_minutes"] = f"{(end - t0) / 60:.0f}"
        before = [b for b in bps if b[0] <= t0]
        after = [b for b in bps if b[0] > t0]
        near = [b for b in after if abs(b[0] - (t0 + 2400)) <= AT_40_WINDOW_S]
        at40 = min(near, key=lambda b: abs(b[0] - (t0 + 2400))) if near else None
        last = after[-1] if after and (end is None or after[-1][0] <= end + 60) else None
        for key, b in (("bp_before", before[-1] if before else None), ("bp_40", at40),
                       ("bp_completion", last)):
            if b is not None:
                by_rule[key] = f"{b[1]:g}/{b[2]:g} mmHg"
                ev[key] = f"at {_hhmm(b[0])} (T+{(b[0] - t0) / 60:.0f} min)"
        if gate is not None:
            by_rule["vitals_ok_before"] = "Yes" if gate.payload.get("passed") else "No"
            if not gate.payload.get("passed"):
                ev["vitals_ok_before"] = "the pre-dose gate did not pass (dosed under override)"
        if last is not None:
            ok = last[1] < 140 and last[2] < 90
            from console.core.dosing.templates import load_catalog  # the template's own limits

            row = records.get_session(conn, session_id)
            tpl = load_catalog(data_dir).get(row.template) if row else None
            if tpl is not None and tpl.gate.sys_max and tpl.gate.dia_max:
                ok = last[1] < tpl.gate.sys_max and last[2] < tpl.gate.dia_max
            by_rule["vitals_ok_completion"] = "Yes" if ok else "No"
        spo2 = _lowest(conn, session_id, mdc.MDC_PULS_OXIM_SAT_O2, t0)
        if spo2 is not None:
            by_rule["pulse_oximetry"] = "Yes"
            ev["pulse_oximetry"] = f"lowest SpO2 {spo2[0]:g} % at {_hhmm(spo2[1])}"
            rr = _lowest(conn, session_id, mdc.MDC_RESP_RATE, t0)
            ev["respiratory_depression"] = ev["pulse_oximetry"] + (
                f"; lowest RR {rr[0]:g}/min at {_hhmm(rr[1])}" if rr else "")
            if spo2[0] < 92 or (rr is not None and rr[0] < 8):
                sug["respiratory_depression"] = "Yes"
        aes = [e for e in events if e.kind == "ae.reported"]
        if aes:
            rec_aes = build_record(events).of_kind("ae.")
            by_rule["adverse_events"] = "; ".join(
                f"{_hhmm(a.t)} {a.summary.removeprefix('Adverse event ')}" for a in rec_aes)
        else:
            by_rule["adverse_events"] = "None recorded"
        moaas = [(float(e.payload["value"]), e.t) for e in events
                 if e.kind == "score.moaas" and isinstance(e.payload.get("value"), int | float)]
        if moaas:
            low = min(moaas)
            ev["sedation"] = f"lowest MOAA/S {low[0]:g} at {_hhmm(low[1])}"
            sug["sedation"] = "Yes" if low[0] <= 4 else "No"
        cadss = [(float(e.payload["value"]), e.t) for e in events
                 if e.kind in ("score.cadss", "score.cadss6")
                 and isinstance(e.payload.get("value"), int | float)]
        if cadss:
            high = max(cadss)
            ev["dissociation"] = f"highest CADSS {high[0]:g} at {_hhmm(high[1])}"
            if high[0] > 0:
                sug["dissociation"] = "Yes"
    if conc:
        for f in spec.fields:
            if f.derive == "concomitant_none":
                ev[f.key] = f"checklist: {conc}"
    for f in spec.fields:
        if f.derive and by_rule.get(f.derive):
            d[f.key] = by_rule[f.derive]
        elif f.derive == "concomitant_none" and by_rule.get("concomitant_none"):
            d[f.key] = by_rule["concomitant_none"]
    return d, ev, sug


def _suggest(spec: FormSpec, sug: dict[str, str], patient: records.Patient | None,
             doses: list[Event], clinic: Clinic | None, conn: engine.Connection,
             session_id: int, events: Sequence[Event]) -> None:
    first, last = _split_name(patient.display_name) if patient else ("", "")
    staff = next((e.author for e in doses if e.author), None) or next(
        (e.author for e in events if e.kind == "session.started" and e.author), None)
    p_first, p_last = _split_name(staff or "")
    previous = previous_answers(conn, session_id)
    rules = {"patient_first_name": first, "patient_last_name": last,
             "provider_first_name": p_first, "provider_last_name": p_last}
    if clinic is not None:
        rules.update({"clinic_name": clinic.name if clinic.named else "",
                      "clinic_address1": clinic.address1, "clinic_address2": clinic.address2,
                      "clinic_city": clinic.city, "clinic_state": clinic.state,
                      "clinic_zip": clinic.zip})
    for f in spec.fields:
        if f.suggest in (None, "sedation", "dissociation", "respiratory_depression"):
            continue
        value = previous.get(f.key, "") if f.suggest == "previous" else rules.get(
            str(f.suggest), "")
        if not value and f.suggest and f.suggest.startswith("clinic_"):
            value = previous.get(f.key, "")
        if value:
            sug[f.key] = value


# ---------------------------------------------------------------- before signing
def sign_blocker(conn: engine.Connection, session_id: int, events: Sequence[Event],
                 data_dir: Path | None = None) -> str | None:
    """Why an esketamine session cannot be signed yet (its REMS form is incomplete), or
    None. A session without a dose of the drug has no form to complete."""
    row = records.get_session(conn, session_id)
    if row is None:
        return None
    form = fill(conn, session_id, events, data_dir=data_dir)
    if not form.applies:
        return None
    missing = form.missing()
    if not missing:
        return None
    names = ", ".join(f.spec.label for f in missing)
    return (f"The REMS Patient Monitoring Form is not complete, so the session cannot be "
            f"signed yet. Missing ({len(missing)}): {names}. Fill them in the REMS tab and "
            "save, then sign.")
