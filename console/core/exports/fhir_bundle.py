"""One session as a FHIR R4 document Bundle, mapped from the report model alone.

The session is read once, by `report.build.build_report` (its events folded, its readings
straight into numpy); this module only maps that `SessionReport` onto resources, so the PDF
and the bundle can never disagree about what happened.

Why a `document` Bundle rather than a `collection`: the session is one signed clinical record
that a clinic files whole. A document has a Composition first (the signed note, its sections
in words, each pointing at the resources behind it), an identifier and a timestamp, and a
reader keeps it together as one attested record; a collection would be a loose set of
resources with no note, signer or reading order.

What is in it, and the profile each part follows (FHIR R4; the tests validate every resource
with `fhir.resources`' R4B models, which share R4's shapes for these resources):
- Composition (LOINC 28570-0 Procedure note): status `final` once signed, `amended` when an
  addendum followed the signature, `preliminary` before; the signer as legal attester; the
  record hash (report/record_hash.py) as its identifier.
- Patient, Encounter (class AMB, the protocol as its type), Organization (the clinic, when
  named), a Practitioner per member of staff named in the record, a Device per monitor.
- Vital signs, following the R4 vital-signs profiles (heartrate, oxygensat, resprate,
  bodytemp, bp), coded with LOINC and MDC both, and linked to their Device in the manner of
  the Point-of-Care Device IG (no PoCD profile is claimed):
  * continuous numerics (HR, PR, SpO2, RR, temperature, EtCO2) as one Observation per
    parameter, monitor and 5-minute interval: the median as the value, `effectivePeriod` from
    the first to the last value in it, and the count and range in a note (a second-by-second
    series belongs in the `.vital` or CSV export, not in a chart);
  * every NIBP measurement as its own panel (85354-9, components 8480-6/8462-4/8478-0);
  * values entered by hand one by one, with who entered them.
- MedicationAdministration per dose, pointing at a Medication (RxNorm where confirmed, see
  fhir_codes.py; the lot as `batch.lotNumber`): route (SNOMED CT), dose in mg, mg/kg as an
  extension on the dosage, given by / confirmed by / second person as performers, a dose
  outside the protocol marked by an extension (and said in a note), a dose entered in error
  with status `entered-in-error`, a rescue drug pointing at its adverse event.
- Observations for the scores (MOAA/S, CADSS, RASS; category survey) and the timed
  observation notes (category exam); `amended` when amended, the original kept in a note.
- AdverseEvent per adverse event (severity, outcome, intervention, the rescue drug given).
- Provenance: the signature (Author's Signature, the signer as legal authenticator, the
  record hash as the source entity), each amendment (UPDATE, its author and reason) and each
  addendum.

Ids are name-based UUIDs (uuid5) of the session and the record's own uids, so exporting the
same session again gives the same resource ids and a receiver can see what it already has.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from console.core.exports import fhir_codes as fc
from console.core.exports import fhir_note
from console.core.report import model as m
from devices import mdc

INTERVAL_S = 300.0  # one summary Observation per parameter, monitor and 5 minutes
NAMESPACE = uuid.UUID("5b0d8a51-2f9e-4c55-9a47-6a3c1c6f0e13")  # Holdspace's, for uuid5 ids
MANUAL = "manual"
NIBP_PANEL_MDC = {"system": fc.MDC, "code": "150020", "display": "MDC_PRESS_BLD_NONINV"}
CATEGORY = {"vital-signs": "Vital Signs", "survey": "Survey", "exam": "Exam"}

Json = dict[str, Any]


def instant(t: float) -> str:
    """A FHIR instant/dateTime in the workstation's local time with its UTC offset."""
    spec = "seconds" if float(t).is_integer() else "milliseconds"
    return dt.datetime.fromtimestamp(t).astimezone().isoformat(timespec=spec)


def number(v: float, digits: int = 2) -> int | float:
    """Whole numbers as integers, others rounded (a median of 72 and 73 is 72.5)."""
    r = round(float(v), digits)
    return int(r) if r.is_integer() else r


def quantity(v: float, unit: str, ucum: str, digits: int = 2) -> Json:
    return {"value": number(v, digits), "unit": unit, "system": fc.UCUM, "code": ucum}


def category(code: str) -> list[Json]:
    return [{"coding": [{"system": fc.OBSERVATION_CATEGORY, "code": code,
                         "display": CATEGORY[code]}]}]


@dataclass
class Refs:
    """Where each part of the record went, for the Composition's sections."""

    doses: dict[str, str] = field(default_factory=dict)  # dose uid → fullUrl
    adverse_events: dict[str, str] = field(default_factory=dict)
    scores: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    vitals: list[str] = field(default_factory=list)
    provenance: list[str] = field(default_factory=list)


class BundleBuilder:
    def __init__(self, r: m.SessionReport, organization: str | None = None) -> None:
        self.r = r
        self.ns = uuid.uuid5(NAMESPACE, f"session/{r.session_id}/{r.started:.6f}")
        self.entries: list[Json] = []
        self.refs = Refs()
        self._staff: dict[str, str] = {}
        self._devices: dict[str, str] = {}
        self._meds: dict[tuple[str, str | None, str | None], str] = {}
        self.patient = self._patient()
        self.organization = self._organization(organization) if organization else None
        self.encounter = self._encounter()
        self.composition_url = self._url("composition")

    # ------------------------------------------------------------- plumbing
    def _url(self, key: str, ns: uuid.UUID | None = None) -> str:
        return f"urn:uuid:{uuid.uuid5(ns or self.ns, key)}"

    def add(self, url: str, resource: Json) -> str:
        resource["id"] = url.removeprefix("urn:uuid:")
        self.entries.append({"fullUrl": url, "resource": resource})
        return url

    @staticmethod
    def ref(url: str, display: str | None = None) -> Json:
        return {"reference": url, **({"display": display} if display else {})}

    def staff(self, name: str | None) -> Json:
        """A reference to the Practitioner of that name (made on first mention); a record
        without a name says so rather than inventing one."""
        if not name:
            return {"display": "not recorded"}
        if name not in self._staff:
            url = self._url(f"practitioner/{name}", NAMESPACE)
            self._staff[name] = self.add(url, {"resourceType": "Practitioner",
                                               "name": [{"text": name}]})
        return self.ref(self._staff[name], name)

    def device(self, source: str) -> Json:
        if source not in self._devices:
            self._devices[source] = self.add(self._url(f"device/{source}"), {
                "resourceType": "Device",
                "deviceName": [{"name": source, "type": "user-friendly-name"}],
                "type": {"text": "Patient monitor"},
            })
        return self.ref(self._devices[source], source)

    def _subject(self) -> Json:
        return {"subject": self.ref(self.patient, self.r.patient.name),
                "encounter": self.ref(self.encounter)}

    # ------------------------------------------------------------- who and where
    def _patient(self) -> str:
        p = self.r.patient
        res: Json = {"resourceType": "Patient", "name": [{"text": p.name}]}
        if p.identifier:
            res["identifier"] = [{"type": {"text": "Clinic patient identifier"},
                                  "value": p.identifier}]
        if p.birth_date:
            # not a date as stored: left out, the name and identifier still identify
            with contextlib.suppress(ValueError):
                res["birthDate"] = dt.date.fromisoformat(p.birth_date).isoformat()
        key = f"patient/{p.identifier}" if p.identifier else f"patient/{p.id}"
        return self.add(self._url(key, NAMESPACE if p.identifier else None), res)

    def _organization(self, name: str) -> str:
        return self.add(self._url(f"organization/{name}", NAMESPACE),
                        {"resourceType": "Organization", "name": name})

    def _encounter(self) -> str:
        r = self.r
        period = {"start": instant(r.started)}
        if r.ended is not None:
            period["end"] = instant(r.ended)
        res: Json = {
            "resourceType": "Encounter",
            "status": fc.ENCOUNTER_STATUS.get(r.state, "unknown"),
            "class": {"system": fc.ACT_CODE, "code": "AMB", "display": "ambulatory"},
            "subject": self.ref(self.patient, r.patient.name),
            "period": period,
        }
        if r.protocol is not None:
            res["type"] = [{"text": r.protocol.title}]
        if self.organization:
            res["serviceProvider"] = self.ref(self.organization)
        return self.add(self._url("encounter"), res)

    def staff_named(self) -> list[str]:
        """Everyone the clinical record names (not those who only made copies of it)."""
        r = self.r
        names: list[str | None] = [x.author for x in r.lifecycle]
        names += [c.author for c in r.checklist] + [o.author for o in r.gate.overrides]
        for d in r.doses:
            names += [d.author, d.given_by, d.confirmed_by, d.second_person,
                      d.voided.author if d.voided else None]
        names += [k.by for a in r.alarms for k in a.acks] + [c.author for c in r.limit_changes]
        names += [x.author for x in (*r.music, *r.setting, *r.other_log)]
        for n in (*r.timed_notes, *r.outcomes):
            names += [n.author, *(a.author for a in n.amendments)]
        names += [s.author for s in r.scores]
        names += [a.author for ae in r.adverse_events for a in ae.amendments]
        names += [e.author for e in r.adverse_events]
        names += [s.author for s in r.sections]
        names += [a.author for s in r.sections for a in s.amendments]
        names += [r.signature.name if r.signature else None, *(a.name for a in r.addenda)]
        return sorted({n for n in names if n})

    # ------------------------------------------------------------- vital signs
    def vitals(self) -> None:
        v = self.r.vitals
        manual_by = {round(n.t, 3): n.author for n in self.r.timed_notes
                     if n.kind == "vitals.manual"}
        for s in (*v.hr, *v.spo2, *v.rr, *v.temp, *v.etco2):
            code = fc.VITALS.get(s.code)
            if code is None or len(s) == 0:
                continue
            if s.source == MANUAL:
                for t, value in zip(s.t.tolist(), s.v.tolist(), strict=True):
                    self._manual_value(s, code, t, value, manual_by.get(round(t, 3)))
            else:
                self._summaries(s, code)
        self._nibp(v, manual_by)

    def _vital(self, code: fc.VitalCode, mdc_code: int) -> Json:
        res: Json = {"resourceType": "Observation", "status": "final",
                     "category": category("vital-signs"),
                     "code": {"coding": [*({"system": fc.LOINC, "code": c} for c in code.loinc),
                                         fc.mdc_coding(mdc_code)],
                              "text": code.text}}
        if code.profile:
            res["meta"] = {"profile": [fc.PROFILE + code.profile]}
        return res

    def _summaries(self, s: m.Series, code: fc.VitalCode) -> None:
        bucket = np.floor(s.t / INTERVAL_S).astype(np.int64)
        cuts = np.flatnonzero(np.diff(bucket)) + 1
        for t, v in zip(np.split(s.t, cuts), np.split(s.v, cuts), strict=True):
            t0, t1 = float(t[0]), float(t[-1])
            lo, hi, med = float(v.min()), float(v.max()), float(np.median(v))
            res = self._vital(code, s.code)
            res.update(self._subject())
            res["effectivePeriod"] = {"start": instant(t0), "end": instant(t1)}
            res["valueQuantity"] = quantity(med, s.unit, code.ucum)
            res["device"] = self.device(s.source)
            res["method"] = {"text": f"Median of the monitor's values over "
                                     f"{INTERVAL_S / 60:g} min"}
            res["note"] = [{"text": f"Median of {v.size} value{'s' if v.size != 1 else ''} "
                                    f"from {s.source}, {fhir_note.clock(t0, True)}–"
                                    f"{fhir_note.clock(t1, True)}: range {number(lo)}–"
                                    f"{number(hi)} {s.unit}."}]
            key = f"vital/{s.code}/{s.source}/{int(t0 // INTERVAL_S)}"
            self.refs.vitals.append(self.add(self._url(key), res))

    def _manual_value(self, s: m.Series, code: fc.VitalCode, t: float, value: float,
                      author: str | None) -> None:
        res = self._vital(code, s.code)
        res.update(self._subject())
        res["effectiveDateTime"] = instant(t)
        res["valueQuantity"] = quantity(value, s.unit, code.ucum)
        res["performer"] = [self.staff(author)]
        res["method"] = {"text": "Entered by hand"}
        self.refs.vitals.append(self.add(self._url(f"manual/{s.code}/{t!r}"), res))

    def _nibp(self, v: m.Vitals, manual_by: dict[float, str | None]) -> None:
        parts: dict[tuple[str, float], dict[int, float]] = defaultdict(dict)
        for s in (*v.sys, *v.dia, *v.mean):
            for t, value in zip(s.t.tolist(), s.v.tolist(), strict=True):
                parts[(s.source, t)][s.code] = value
        for (source, t), values in sorted(parts.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            res: Json = {"resourceType": "Observation",
                         "meta": {"profile": [fc.PROFILE + "bp"]}, "status": "final",
                         "category": category("vital-signs"),
                         "code": {"coding": [{"system": fc.LOINC, "code": fc.BP_PANEL},
                                             NIBP_PANEL_MDC],
                                  "text": "Blood pressure (NIBP)"}}
            res.update(self._subject())
            res["effectiveDateTime"] = instant(t)
            components = []
            for code, (loinc, text) in fc.BP_PARTS.items():
                c: Json = {"code": {"coding": [{"system": fc.LOINC, "code": loinc},
                                               fc.mdc_coding(code)], "text": text}}
                if code in values:
                    c["valueQuantity"] = quantity(values[code], "mmHg", "mm[Hg]")
                elif code == mdc.MDC_PRESS_BLD_NONINV_MEAN:
                    continue  # the mean is optional; systolic and diastolic are not
                else:
                    c["dataAbsentReason"] = {"coding": [{"system": fc.DATA_ABSENT,
                                                         "code": "unknown"}]}
                components.append(c)
            res["component"] = components
            if source == MANUAL:
                res["performer"] = [self.staff(manual_by.get(round(t, 3)))]
                res["method"] = {"text": "Entered by hand"}
            else:
                res["device"] = self.device(source)
                res["method"] = {"text": "Non-invasive, cuff"}
            self.refs.vitals.append(self.add(self._url(f"nibp/{source}/{t!r}"), res))

    # ------------------------------------------------------------- doses
    def medication(self, d: m.Dose) -> Json:
        key = (d.drug.strip().lower(), d.formulation, d.lot)
        if key not in self._meds:
            res: Json = {"resourceType": "Medication",
                         "code": fc.drug_concept(d.drug, d.formulation)}
            if d.lot:
                res["batch"] = {"lotNumber": d.lot}
            self._meds[key] = self.add(self._url(f"medication/{key}"), res)
        return self.ref(self._meds[key], d.drug)

    def doses(self) -> None:
        ae_of = {a.uid: a for a in self.r.adverse_events}
        for d in self.r.doses:
            url = self._url(f"dose/{d.uid}")
            self.refs.doses[d.uid] = url
            res: Json = {
                "resourceType": "MedicationAdministration",
                "status": "entered-in-error" if d.voided else "completed",
                "medicationReference": self.medication(d),
                "subject": self.ref(self.patient, self.r.patient.name),
                "context": self.ref(self.encounter),
                "effectiveDateTime": instant(d.t),
            }
            performers = [("performer", d.given_by or d.author), ("verifier", d.confirmed_by),
                          ("witness", d.second_person)]
            res["performer"] = [
                {"function": {"coding": [{"system": fc.ADMIN_FUNCTION, "code": f}]},
                 "actor": self.staff(who)} for f, who in performers if who]
            if d.voided:
                res["statusReason"] = [{"text": d.voided.reason or "entered in error"}]
            res["dosage"] = self._dosage(d)
            extension = self._outside_protocol(d)
            if extension:
                res["extension"] = [extension]
            ae = ae_of.get(d.for_adverse_event or "")
            if ae is not None:
                res["supportingInformation"] = [self.ref(self._url(f"ae/{ae.uid}"), ae.what)]
            res["note"] = self._dose_notes(d, ae)
            self.add(url, res)

    def _dosage(self, d: m.Dose) -> Json:
        dosage: Json = {"text": d.summary or f"{d.drug} {d.mg:g} mg",
                        "dose": quantity(d.mg, "mg", "mg", 3)}
        route = fc.route_concept(d.route)
        if route:
            dosage["route"] = route
        if d.mg_per_kg is not None:
            dosage["extension"] = [{"url": fc.EXT_DOSE_PER_KG,
                                    "valueQuantity": quantity(d.mg_per_kg, "mg/kg", "mg/kg", 4)}]
        return dosage

    def _outside_protocol(self, d: m.Dose) -> Json | None:
        if not (d.out_of_range or d.outside_protocol or d.above_ceiling):
            return None
        parts: list[Json] = []
        if d.out_of_range:
            parts.append({"url": "direction", "valueCode": d.out_of_range})
        if d.protocol_range:
            parts.append({"url": "protocolRange", "valueString": d.protocol_range})
        parts += [{"url": "confirmation", "valueString": q} for q in d.outside_protocol]
        if d.confirmed_by:
            parts.append({"url": "confirmedBy", "valueReference": self.staff(d.confirmed_by)})
        if d.above_ceiling:
            parts.append({"url": "aboveCeiling", "valueBoolean": True})
            if d.ceiling_mg is not None:
                parts.append({"url": "ceiling", "valueQuantity": quantity(d.ceiling_mg, "mg",
                                                                          "mg")})
        if d.second_person:
            parts.append({"url": "secondPerson", "valueReference": self.staff(d.second_person)})
        return {"url": fc.EXT_OUTSIDE_PROTOCOL, "extension": parts}

    def _dose_notes(self, d: m.Dose, ae: m.AdverseEvent | None) -> list[Json]:
        notes = [fhir_note.dose_line(d)]
        if ae is not None:
            notes.append(f"Rescue drug for the adverse event: {ae.what} ({ae.severity}).")
        out: list[Json] = [{"text": n} for n in notes]
        if d.voided:
            out.append({"authorReference": self.staff(d.voided.author),
                        "time": instant(d.voided.t),
                        "text": f"ENTERED IN ERROR by {d.voided.author or 'not recorded'}: "
                                f"{d.voided.reason} — not counted."})
        return out

    # ------------------------------------------------------------- the note
    def scores(self) -> None:
        notes = {n.uid: n for n in self.r.timed_notes}
        for s in self.r.scores:
            res: Json = {"resourceType": "Observation",
                         "status": "amended" if s.amended else "final",
                         "category": category("survey"),
                         "code": {"coding": [{"system": fc.SCALE_SYSTEM, "code": s.scale,
                                              "display": s.label}], "text": s.label}}
            res.update(self._subject())
            res["effectiveDateTime"] = instant(s.t)
            res["performer"] = [self.staff(s.author)]
            if float(s.value).is_integer():
                res["valueInteger"] = int(s.value)
            else:
                res["valueQuantity"] = {"value": number(s.value)}
            entry = notes.get(s.uid)
            if entry is not None and entry.amendments:
                res["note"] = [{"text": f"Originally: {entry.original_text}"}]
            url = self.add(self._url(f"score/{s.uid}"), res)
            self.refs.scores[s.uid] = url
            if entry is not None:
                self._amended(url, entry.amendments)

    def observation_notes(self) -> None:
        for n in self.r.timed_notes:
            if n.kind != "note.observation":
                continue
            res: Json = {"resourceType": "Observation",
                         "status": "amended" if n.amendments else "final",
                         "category": category("exam"),
                         "code": {"coding": [{"system": fc.NOTE_SYSTEM, "code": "observation",
                                              "display": "Observation note"}],
                                  "text": "Observation note"}}
            res.update(self._subject())
            res["effectiveDateTime"] = instant(n.t)
            res["performer"] = [self.staff(n.author)]
            res["valueString"] = n.text
            if n.amendments:
                res["note"] = [{"text": f"Originally: {n.original_text}"}]
            url = self.add(self._url(f"note/{n.uid}"), res)
            self.refs.notes[n.uid] = url
            self._amended(url, n.amendments)

    def adverse_events(self) -> None:
        rescue = {d.for_adverse_event: d for d in self.r.doses if d.for_adverse_event}
        for a in self.r.adverse_events:
            res: Json = {"resourceType": "AdverseEvent", "actuality": "actual",
                         "event": {"text": a.what},
                         "subject": self.ref(self.patient, self.r.patient.name),
                         "encounter": self.ref(self.encounter),
                         "date": instant(a.t), "recordedDate": instant(a.t),
                         "recorder": self.staff(a.author)}
            if a.severity in ("mild", "moderate", "severe"):
                res["severity"] = {"coding": [{"system": fc.AE_SEVERITY, "code": a.severity,
                                               "display": a.severity.capitalize()}]}
            if a.outcome:
                res["outcome"] = {"text": a.outcome}
            ext: list[Json] = []
            if a.intervention:
                ext.append({"url": fc.EXT_INTERVENTION, "valueString": a.intervention})
            d = rescue.get(a.uid)
            if d is not None:
                ext.append({"url": fc.EXT_TREATED_WITH,
                            "valueReference": self.ref(self._url(f"dose/{d.uid}"),
                                                       f"{d.drug} {d.mg:g} mg")})
            if ext:
                res["extension"] = ext
            url = self.add(self._url(f"ae/{a.uid}"), res)
            self.refs.adverse_events[a.uid] = url
            self._amended(url, a.amendments)

    def sections_amended(self) -> None:
        for s in self.r.sections:
            self._amended(self.composition_url, s.amendments)

    # ------------------------------------------------------------- provenance
    def _amended(self, target: str, amendments: Iterable[m.Amendment]) -> None:
        for i, a in enumerate(amendments):
            res: Json = {"resourceType": "Provenance", "target": [self.ref(target)],
                         "recorded": instant(a.t),
                         "activity": {"coding": [{"system": fc.DATA_OPERATION,
                                                  "code": "UPDATE"}], "text": "Amended"},
                         "agent": [{"type": {"coding": [{"system": fc.PARTICIPANT_TYPE,
                                                         "code": "author"}]},
                                    "who": self.staff(a.author)}]}
            if a.reason:
                res["reason"] = [{"text": a.reason}]
            key = f"amendment/{target}/{i}/{a.t!r}"
            self.refs.provenance.append(self.add(self._url(key), res))

    def signature(self) -> None:
        r = self.r
        s = r.signature
        if s is not None:
            signer = self.staff(s.name)
            agent: Json = {"type": {"coding": [{"system": fc.PARTICIPANT_TYPE,
                                                "code": "legal"}]}, "who": signer}
            if s.role:
                agent["role"] = [{"text": s.role}]
            res: Json = {
                "resourceType": "Provenance",
                "target": [self.ref(self.composition_url)],
                "recorded": instant(s.t),
                "activity": {"text": "Signed" + (f": {s.statement}" if s.statement else "")},
                "agent": [agent],
                "signature": [{"type": [{"system": fc.SIGNATURE_TYPE,
                                         "code": fc.AUTHOR_SIGNATURE,
                                         "display": "Author's Signature"}],
                               "when": instant(s.t), "who": signer}],
                "entity": [self._record_entity()],
            }
            self.refs.provenance.insert(0, self.add(self._url(f"signature/{s.uid}"), res))
        for i, a in enumerate(r.addenda):
            res = {"resourceType": "Provenance", "target": [self.ref(self.composition_url)],
                   "recorded": instant(a.t),
                   "activity": {"coding": [{"system": fc.DATA_OPERATION, "code": "UPDATE"}],
                                "text": "Addendum"},
                   "reason": [{"text": a.text}],
                   "agent": [{"type": {"coding": [{"system": fc.PARTICIPANT_TYPE,
                                                   "code": "author"}]},
                              "who": self.staff(a.name)}]}
            self.refs.provenance.append(self.add(self._url(f"addendum/{i}/{a.t!r}"), res))

    def _record_entity(self) -> Json:
        return {"role": "source",
                "what": {"identifier": {"system": fc.RECORD_HASH_SYSTEM,
                                        "value": self.r.record_hash},
                         "display": f"The session's event record ({self.r.event_count} events), "
                                    "SHA-256 record hash"}}

    # ------------------------------------------------------------- the document
    def composition(self, staff: list[str]) -> Json:
        r = self.r
        s = r.signature
        if s is None:
            status, date = "preliminary", r.generated
        elif r.addenda:
            status, date = "amended", max(a.t for a in r.addenda)
        else:
            status, date = "final", s.t
        authors = [self.staff(s.name)] if s else [self.staff(n) for n in staff]
        if not authors:  # nobody wrote in it: the clinic, or the console that kept it
            authors = [self.ref(self.organization)] if self.organization else [
                self.ref(self.add(self._url("device/holdspace"), {
                    "resourceType": "Device",
                    "deviceName": [{"name": "Holdspace", "type": "user-friendly-name"}],
                    "type": {"text": "Treatment-room console software"}}), "Holdspace")]
        title = (f"Dosing session {fhir_note.day(r.started)}"
                 + (f" — {r.protocol.title}" if r.protocol else ""))
        res: Json = {
            "resourceType": "Composition",
            "identifier": {"system": fc.RECORD_HASH_SYSTEM, "value": r.record_hash},
            "status": status,
            "type": {"coding": [{"system": fc.LOINC, "code": fc.PROCEDURE_NOTE}],
                     "text": "Procedure note"},
            "subject": self.ref(self.patient, r.patient.name),
            "encounter": self.ref(self.encounter),
            "date": instant(date),
            "author": authors,
            "title": title,
            "section": fhir_note.sections(r, self.refs),
        }
        if s is not None:
            res["attester"] = [{"mode": "legal", "time": instant(s.t),
                                "party": self.staff(s.name)}]
        if self.organization:
            res["custodian"] = self.ref(self.organization)
        res["id"] = self.composition_url.removeprefix("urn:uuid:")
        return res


def session_bundle(r: m.SessionReport, *, organization: str | None = None,
                   bundle_id: uuid.UUID | None = None) -> Json:
    """The session as a FHIR R4 document Bundle (a JSON-ready dict)."""
    b = BundleBuilder(r, organization)
    staff = b.staff_named()
    b.doses()
    b.adverse_events()
    b.scores()
    b.observation_notes()
    b.vitals()
    b.sections_amended()
    b.signature()
    enc = next(e["resource"] for e in b.entries if e["resource"]["resourceType"] == "Encounter")
    enc["participant"] = [{"individual": b.staff(n)} for n in staff]
    composition = b.composition(staff)
    return {
        "resourceType": "Bundle",
        "identifier": {"system": fc.URI, "value": f"urn:uuid:{bundle_id or uuid.uuid4()}"},
        "type": "document",
        "timestamp": instant(r.generated),
        "entry": [{"fullUrl": b.composition_url, "resource": composition}, *b.entries],
    }


def counts(bundle: Json) -> dict[str, int]:
    """How many of each resource, for the export event."""
    out: dict[str, int] = defaultdict(int)
    for e in bundle["entry"]:
        out[e["resource"]["resourceType"]] += 1
    return dict(sorted(out.items()))
