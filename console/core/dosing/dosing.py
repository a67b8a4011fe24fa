"""Dose entry rules: what a typed dose means, and whether it may be recorded.

A dose is always typed in mg; mg/kg is computed from the patient's weight and shown beside it.
The classic harm is a 10x error (mg vs mg/kg, a slipped decimal), so the stops are graded:
within the protocol's range a dose is recorded; outside it the clinician confirms the exact
number; beyond the template's hard ceiling a second named person must confirm as well; far
beyond any protocol (`plausible_factor`) it is refused outright. Every message is written for
the person holding the syringe.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime

from console.core import when
from console.core.dosing.templates import Template

FUTURE_TOLERANCE_S = 60.0  # clocks differ a little; a minute ahead is still "now"
LATE_AFTER_S = 120.0  # typed more than 2 min after it happened: a late entry


class DoseInputError(ValueError):
    """Input that cannot be a dose or a time; the message is for the clinician."""


@dataclass(frozen=True, slots=True)
class GivenDose:
    """A dose as stored (from a `dose.given` event)."""

    uid: str
    t: float
    mg: float
    role: str
    method: str
    planned_minutes: float | None = None


@dataclass(frozen=True, slots=True)
class DoseVerdict:
    mg: float
    mg_per_kg: float | None
    t: float
    late: bool
    role: str
    refused: str | None = None
    confirm: tuple[str, ...] = ()  # reasons needing an explicit "yes, give it"
    out_of_range: str | None = None  # "above" | "below" the protocol's single-dose range
    range: str = ""  # the range as shown, e.g. "7–21 mg" or "0.1–0.3 mg/kg (7–21 mg at 70 kg)"
    ceiling: str | None = None  # why a second person must confirm (beyond the hard ceiling)
    ceiling_mg: float | None = None

    @property
    def ok_without_confirmation(self) -> bool:
        return self.refused is None and not self.confirm

    @property
    def needs_second_person(self) -> bool:
        return self.refused is None and self.ceiling is not None

    def question(self) -> str:
        """The one line the clinician answers, naming the exact number, e.g.
        "Record 30 mg (above the 7–21 mg range)?"."""
        why = []
        if self.ceiling is not None and self.ceiling_mg is not None:
            why.append(f"beyond the {mg_text(self.ceiling_mg)} mg hard ceiling")
        elif self.out_of_range is not None:
            why.append(f"{self.out_of_range} the {self.range} range")
        elif self.confirm:
            why.append("outside the protocol")
        kg = f" = {self.mg_per_kg:.2f} mg/kg" if self.mg_per_kg is not None else ""
        return f"Record {self.mg:g} mg{kg} ({', '.join(why)})?" if why else \
            f"Record {self.mg:g} mg{kg}?"


def parse_mg(text: str) -> float:
    """'50', '50.5', '50,5', '50 mg' -> 50.0; anything else is refused in plain words."""
    s = text.strip().lower().replace(",", ".")
    s = re.sub(r"\s*mg$", "", s)
    if not s:
        raise DoseInputError("Type the dose in milligrams, for example 50.")
    try:
        v = float(s)
    except ValueError:
        raise DoseInputError(
            f"“{text.strip()}” is not a number of milligrams. Type digits only, e.g. 50 or 37.5."
        ) from None
    if not math.isfinite(v):
        raise DoseInputError("Type the dose in milligrams, for example 50.")
    if v <= 0:
        raise DoseInputError("A dose must be more than 0 mg.")
    return v


def parse_when(text: str, now: float) -> float:
    """When something happened: '' = now, '14:05' = today at 14:05, '10' or '-10' = 10 min ago."""
    try:
        return when.parse_when(text, now, minutes_ago=True)
    except when.WhenError as e:
        if "time of day" in str(e):
            raise DoseInputError(str(e)) from None
        raise DoseInputError(
            f"“{text.strip()}” is not a time. Leave it empty for now, type hh:mm (e.g. 14:05), "
            "or minutes ago (e.g. 10)."
        ) from None


def clock_text(t: float) -> str:
    return datetime.fromtimestamp(t).astimezone().strftime("%H:%M")


def method_text(tpl: Template) -> str:
    """How the dose is given, in the template's own numbers."""
    d = tpl.dose
    if d.method == "infusion":
        return f"infusion over {d.infusion_minutes or 0:g} min"
    if d.method == "tablets":
        unit = f"{d.unit_mg:g} mg tablets" if d.unit_mg else "tablets"
        return f"{unit}, hold {d.hold_minutes or 0:g} min then spit"
    if d.method == "nasal_devices":
        unit = f"{d.unit_mg:g} mg per device" if d.unit_mg else "nasal devices"
        return f"{unit}, rest {d.rest_minutes or 0:g} min between devices"
    return "single bolus"


def mg_text(mg: float) -> str:
    """A dose in mg as shown: 7, 14.5, 157.5 (no spurious decimals)."""
    return f"{round(mg, 1):g}"


def ceiling_mg(tpl: Template, weight_kg: float | None) -> tuple[float | None, str]:
    """The hard ceiling for one dose in mg and how it was reached (None: no weight for a
    mg/kg protocol, so no mg figure can be given)."""
    d = tpl.dose
    options: list[tuple[float, str]] = []
    if not d.per_kg:
        options.append((d.max * d.ceiling_factor,
                        f"{d.ceiling_factor:g} × the {d.max:g} mg maximum"))
    elif weight_kg:
        options.append((d.max * d.ceiling_factor * weight_kg,
                        f"{d.ceiling_factor:g} × the {d.max:g} mg/kg maximum = "
                        f"{d.max * d.ceiling_factor:g} mg/kg at {weight_kg:g} kg"))
    if d.ceiling_mg_per_kg is not None and weight_kg:
        options.append((d.ceiling_mg_per_kg * weight_kg,
                        f"{d.ceiling_mg_per_kg:g} mg/kg at {weight_kg:g} kg"))
    if not options:
        return None, ""
    return min(options, key=lambda o: o[0])


def range_text(tpl: Template, weight_kg: float | None) -> str:
    d = tpl.dose
    if d.per_kg:
        text = f"{d.min:g}–{d.max:g} mg/kg"
        if weight_kg:
            text += f" ({d.min * weight_kg:.0f}–{d.max * weight_kg:.0f} mg at {weight_kg:g} kg)"
        return text
    return f"{d.min:g}–{d.max:g} mg"


@dataclass
class DoseRules:
    """Checks one proposed dose against the template and the doses already given."""

    template: Template
    weight_kg: float | None
    session_start: float
    given: list[GivenDose] = field(default_factory=list)

    def check(self, mg_text: str, when_text: str, now: float) -> DoseVerdict:
        """Raise DoseInputError for unusable input; else a verdict (maybe refused/confirm)."""
        mg = parse_mg(mg_text)
        t = parse_when(when_text, now)
        return self.judge(mg, t, now)

    def judge(self, mg: float, t: float, now: float) -> DoseVerdict:
        tpl, d = self.template, self.template.dose
        w = self.weight_kg if self.weight_kg and self.weight_kg > 0 else None
        role = "booster" if self.given else "initial"
        per_kg = mg / w if w else None
        late = now - t > LATE_AFTER_S

        def refuse(msg: str) -> DoseVerdict:
            return DoseVerdict(mg, per_kg, t, late, role, refused=msg)

        if t > now + FUTURE_TOLERANCE_S:
            return refuse(f"The time {clock_text(t)} is in the future. A dose can only be "
                          "recorded when it has been given.")
        if t < self.session_start - FUTURE_TOLERANCE_S:
            return refuse(f"The time {clock_text(t)} is before this session started "
                          f"({clock_text(self.session_start)}).")
        if d.per_kg and w is None:
            return refuse("This protocol doses by body weight (mg/kg), but the patient has no "
                          "weight recorded. Enter the patient's weight first.")
        max_mg = d.max * w if d.per_kg and w else d.max
        min_mg = d.min * w if d.per_kg and w else d.min
        if mg > max_mg * d.plausible_factor:
            return refuse(
                f"{mg:g} mg is more than {d.plausible_factor:g} times the protocol maximum "
                f"({max_mg:.0f} mg). Check mg against mg/kg and the decimal point."
            )
        confirm: list[str] = []
        dose_text = f"{mg:g} mg" + (f" ({per_kg:.2f} mg/kg)" if per_kg is not None else "")
        rng = range_text(tpl, w)
        out_of_range: str | None = None
        if mg > max_mg + 1e-9:
            out_of_range = "above"
            confirm.append(f"{dose_text} is ABOVE the protocol range {rng}.")
        elif mg < min_mg - 1e-9:
            out_of_range = "below"
            confirm.append(f"{dose_text} is below the protocol range {rng}.")
        ceiling: str | None = None
        top, how = ceiling_mg(tpl, w)
        if top is not None and mg > top + 1e-9:
            src = f"{tpl.path.name}" + (f": {d.ceiling_source}" if d.ceiling_source else "")
            ceiling = (f"{dose_text} is beyond this protocol's hard ceiling of {mg_text(top)} mg "
                       f"({how}; from {src}). A second person must check and confirm it.")
        if d.unit_mg and abs(mg / d.unit_mg - round(mg / d.unit_mg)) > 1e-6:
            what = "tablets" if d.method == "tablets" else "devices"
            confirm.append(f"{mg:g} mg is not a whole number of {d.unit_mg:g} mg {what}.")
        if self.given:
            b = tpl.boosters
            n = sum(1 for g in self.given if g.role == "booster") + 1
            if b.max_count == 0:
                confirm.append("This protocol has no boosters: this would be a second dose.")
            elif n > b.max_count:
                confirm.append(f"This would be booster {n}; the protocol allows {b.max_count}.")
            first = min(g.t for g in self.given)
            if b.earliest_minutes is not None and t - first < b.earliest_minutes * 60:
                confirm.append(f"Booster at {(t - first) / 60:.0f} min after the first dose; "
                               f"the protocol says not before {b.earliest_minutes:g} min.")
            total = sum(g.mg for g in self.given) + mg
            if b.max_cumulative_mg is not None and total > b.max_cumulative_mg + 1e-9:
                confirm.append(f"Total for the session would be {total:g} mg; the protocol "
                               f"maximum is {b.max_cumulative_mg:g} mg.")
        if ceiling is not None:
            confirm.append(ceiling)
        range_short = (f"{mg_text(min_mg)}–{mg_text(max_mg)} mg" if d.per_kg and w else rng)
        return DoseVerdict(mg, per_kg, t, late, role, None, tuple(confirm), out_of_range,
                           range_short, ceiling, top)


def dose_summary(tpl: Template, v: DoseVerdict, lot: str | None, given_by: str | None,
                 confirmed_by: str | None = None, second_person: str | None = None) -> str:
    parts = [f"{v.role.capitalize()} dose: {tpl.drug.name} {v.mg:g} mg"]
    if v.mg_per_kg is not None:
        parts[0] += f" ({v.mg_per_kg:.2f} mg/kg)"
    parts.append(tpl.drug.route)
    if tpl.dose.method == "infusion" and tpl.dose.infusion_minutes:
        parts.append(f"infusion over {tpl.dose.infusion_minutes:g} min")
    if lot:
        parts.append(f"lot {lot}")
    if given_by:
        parts.append(f"given by {given_by}")
    if v.late:
        parts.append(f"LATE ENTRY for {clock_text(v.t)}")
    if v.ceiling is not None:
        parts.append(f"⚠ BEYOND THE HARD CEILING of {mg_text(v.ceiling_mg or 0)} mg — confirmed by "
                     f"{confirmed_by or '?'} and checked by {second_person or '?'}")
    elif v.out_of_range is not None:
        parts.append(f"⚠ {v.out_of_range.upper()} THE PROTOCOL RANGE {v.range}")
    if v.confirm:
        who = f" by {confirmed_by}" if confirmed_by else ""
        parts.append(f"confirmed outside protocol{who}: " + " ".join(v.confirm))
    return " · ".join(parts)
