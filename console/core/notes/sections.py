"""The sections of the dosing-day note, in the order the day runs.

Prose where the clinician narrates; a structured field where a value is counted or reported
(so it can be charted, exported or checked). The dose record has no fields of its own: it is
read from the dose log (`dose.given`), never retyped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from console.core.notes.scales import NoteError, Scale, clock_text, parse_clock


@dataclass(frozen=True, slots=True)
class FieldSpec:
    key: str
    label: str
    kind: str = "text"  # "text" | "number" | "choice" | "time"
    low: float = 0
    high: float = 0
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    title: str
    fields: tuple[FieldSpec, ...] = field(default=())
    derived: bool = False  # filled from other events, not typed
    palliative_only: bool = False
    kind: str = "note.section"


SECTIONS: tuple[Section, ...] = (
    Section("check_in", "Check-in", (
        FieldSpec("mood", "Mood (0–10)", "number", 0, 10),
        FieldSpec("intention", "Intention"),
        FieldSpec("fasting_hours", "Fasting (hours)", "number", 0, 72),
        FieldSpec("escort", "Ride / escort (name, phone)"),
        FieldSpec("consent_touch", "Consent to touch reconfirmed", "choice",
                  choices=("", "yes", "no")),
    )),
    Section("screening", "Screening summary"),
    Section("baseline", "Baseline", (
        FieldSpec("bp_sys", "BP systolic (mmHg)", "number", 40, 300),
        FieldSpec("bp_dia", "BP diastolic (mmHg)", "number", 20, 200),
        FieldSpec("hr", "HR (/min)", "number", 20, 250),
        FieldSpec("spo2", "SpO2 (%)", "number", 50, 100),
    )),
    Section("dose_record", "Dose record (from the dose log)", derived=True),
    Section("observations", "Observations"),
    Section("adverse_events", "Adverse events and interventions"),
    Section("return", "Return and early integration"),
    Section("discharge", "Discharge", (
        FieldSpec("criteria", "Criteria", "choice",
                  choices=("Modified Aldrete", "PADSS", "Clinic's own")),
        FieldSpec("score", "Score (of 10)", "number", 0, 10),
        FieldSpec("time", "Time of discharge (hh:mm)", "time"),
        FieldSpec("escort", "Escort"),
    ), kind="discharge.recorded"),
    Section("integration_plan", "Integration plan"),
    Section("goals_of_care", "Goals-of-care discussion", palliative_only=True),
)

BY_KEY = {s.key: s for s in SECTIONS}


def sections_for(template: str | None) -> list[Section]:
    """The sections shown for a session; goals of care only for palliative templates."""
    palliative = "palliative" in (template or "").lower()
    return [s for s in SECTIONS if palliative or not s.palliative_only]


def parse_fields(section: Section, raw: dict[str, str], now: float) -> dict[str, object]:
    """Typed field values checked and converted; empty fields are left out."""
    out: dict[str, object] = {}
    for f in section.fields:
        text = str(raw.get(f.key, "") or "").strip()
        if not text:
            continue
        if f.kind == "number":
            out[f.key] = Scale(f.key, f.label, f.low, f.high, whole=False).parse(text)
        elif f.kind == "time":
            out[f.key] = parse_clock(text, now)
        elif f.kind == "choice" and f.choices and text not in f.choices:
            raise NoteError(f"{f.label}: choose one of {', '.join(c for c in f.choices if c)}.")
        else:
            out[f.key] = text
    unknown = set(raw) - {f.key for f in section.fields} - {"criteria_met"}
    if unknown:
        raise NoteError(f"{section.title} has no field {', '.join(sorted(unknown))}.")
    return out


def summarise(section: Section, text: str, fields: dict[str, object]) -> str:
    labels = {f.key: f.label for f in section.fields} | {"criteria_met": "Criteria met"}
    parts = []
    for k, v in fields.items():
        if k == "time" and isinstance(v, float):
            v = clock_text(v)
        elif isinstance(v, bool):
            v = "yes" if v else "NO"
        parts.append(f"{labels.get(k, k)}: {v:g}" if isinstance(v, float) else
                     f"{labels.get(k, k)}: {v}")
    head = f"{section.title}: " + "; ".join(parts) if parts else f"{section.title}"
    prose = " ".join(text.split())
    if prose:
        head += (" — " if parts else ": ") + (prose[:120] + ("…" if len(prose) > 120 else ""))
    return head
