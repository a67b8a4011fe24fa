"""The code systems and codes the FHIR export uses, each from where it was confirmed.

Nothing here is guessed: a drug, route or parameter with no confirmed code is sent as text
only (`CodeableConcept.text`), which every FHIR reader accepts.

- LOINC and the FHIR R4 vital-signs profiles: HR 8867-4, SpO2 2708-6 (the profile's required
  code) with 59408-5 (by pulse oximetry), RR 9279-1, body temperature 8310-5, the BP panel
  85354-9 with systolic 8480-6, diastolic 8462-4 and mean 8478-0, EtCO2 in mmHg 19891-1, the
  pulse rate of an oximeter also as 8889-8 (issue 13; hl7.org/fhir/R4 vital-signs pages).
- MDC (ISO/IEEE 11073-10101): the numeric codes Holdspace stores (`devices/mdc.py`), written
  as the code with its reference id as display, as the Point-of-Care Device IG does.
- RxNorm ingredient codes: ketamine 6130. Esketamine's ingredient RxCUI could not be confirmed
  from RxNorm or NLM material available to us, so esketamine (and every rescue drug) is
  coded by its name only until someone adds a code read from RxNorm itself.
- SNOMED CT routes (the FHIR route-codes value set).
- LOINC 28570-0 (Procedure note) for the session note.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices import mdc

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
MDC = "urn:iso:std:iso:11073:10101"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
ADMIN_FUNCTION = "http://terminology.hl7.org/CodeSystem/med-admin-perform-function"
AE_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
SIGNATURE_TYPE = "urn:iso-astm:E1762-95:2013"
AUTHOR_SIGNATURE = "1.2.840.10065.1.12.1.1"  # Author's Signature
URI = "urn:ietf:rfc:3986"

# Holdspace's own namespace, for what no standard code covers (the scales, the record hash,
# the dose extensions). A URN: nobody else's name, and never fetched.
LOCAL = "urn:holdspace:fhir"
SCALE_SYSTEM = f"{LOCAL}:scale"  # codes: moaas, cadss, cadss6, rass
NOTE_SYSTEM = f"{LOCAL}:note"  # codes: observation
RECORD_HASH_SYSTEM = f"{LOCAL}:record-hash-sha256"  # console/core/report/record_hash.py
EXT_DOSE_PER_KG = f"{LOCAL}:extension:dose-per-body-weight"
EXT_OUTSIDE_PROTOCOL = f"{LOCAL}:extension:outside-protocol"
EXT_TREATED_WITH = f"{LOCAL}:extension:treated-with"
EXT_INTERVENTION = f"{LOCAL}:extension:intervention"

PROFILE = "http://hl7.org/fhir/StructureDefinition/"
PROCEDURE_NOTE = "28570-0"


@dataclass(frozen=True, slots=True)
class VitalCode:
    loinc: tuple[str, ...]  # the profile's required code first
    text: str
    ucum: str
    profile: str | None  # the R4 vital-signs profile it follows, if one fits


VITALS: dict[int, VitalCode] = {
    mdc.MDC_ECG_HEART_RATE: VitalCode(("8867-4",), "Heart rate", "/min", "heartrate"),
    mdc.MDC_PULS_OXIM_PULS_RATE: VitalCode(("8867-4", "8889-8"), "Pulse rate (oximeter)",
                                           "/min", "heartrate"),
    mdc.MDC_PULS_RATE: VitalCode(("8867-4",), "Pulse rate", "/min", "heartrate"),
    mdc.MDC_PULS_OXIM_SAT_O2: VitalCode(("2708-6", "59408-5"), "SpO2", "%", "oxygensat"),
    mdc.MDC_RESP_RATE: VitalCode(("9279-1",), "Respiratory rate", "/min", "resprate"),
    mdc.MDC_TEMP: VitalCode(("8310-5",), "Body temperature", "Cel", "bodytemp"),
    mdc.MDC_AWAY_CO2_ET: VitalCode(("19891-1",), "End-tidal CO2", "mm[Hg]", None),
}
BP_PANEL = "85354-9"
BP_PARTS = {  # component LOINC and text, per MDC code
    mdc.MDC_PRESS_BLD_NONINV_SYS: ("8480-6", "Systolic blood pressure"),
    mdc.MDC_PRESS_BLD_NONINV_DIA: ("8462-4", "Diastolic blood pressure"),
    mdc.MDC_PRESS_BLD_NONINV_MEAN: ("8478-0", "Mean blood pressure"),
}

# RxNorm ingredients (TTY IN), by the drug name as Holdspace records it (lower case).
RXNORM_INGREDIENTS: dict[str, tuple[str, str]] = {
    "ketamine": ("6130", "ketamine"),
}

# SNOMED CT route of administration, by the route as Holdspace records it (lower case).
_IM = ("78421000", "Intramuscular route")
_IV = ("47625008", "Intravenous route")
_NASAL = ("46713006", "Nasal route")
_SL = ("37839007", "Sublingual route")
_ORAL = ("26643006", "Oral route")
_SC = ("34206005", "Subcutaneous route")
ROUTES: dict[str, tuple[str, str]] = {
    "im": _IM, "intramuscular": _IM, "iv": _IV, "intravenous": _IV, "in": _NASAL,
    "intranasal": _NASAL, "nasal": _NASAL, "sl": _SL, "sublingual": _SL, "po": _ORAL,
    "oral": _ORAL, "sc": _SC, "subcutaneous": _SC,
}

ENCOUNTER_STATUS = {"active": "in-progress", "ended": "finished", "interrupted": "unknown"}


def mdc_coding(code: int) -> dict[str, str]:
    p = mdc.PARAMETERS.get(code)
    out = {"system": MDC, "code": str(code)}
    if p is not None:
        out["display"] = p.name
    return out


def route_concept(route: str | None) -> dict[str, object] | None:
    if not route:
        return None
    found = ROUTES.get(route.strip().lower())
    if found is None:
        return {"text": route}
    return {"coding": [{"system": SNOMED, "code": found[0], "display": found[1]}],
            "text": route}


def drug_concept(drug: str, formulation: str | None = None) -> dict[str, object]:
    found = RXNORM_INGREDIENTS.get(drug.strip().lower())
    text = f"{drug} ({formulation})" if formulation else drug
    if found is None:
        return {"text": text}
    return {"coding": [{"system": RXNORM, "code": found[0], "display": found[1]}],
            "text": text}
