"""The pre-dose checklist and safety gate: may the first dose be given now?

The gate passes when every checklist item is answered acceptably and a recent baseline BP
and HR (from the monitor or typed in) are within the template's limits. A clinician may
override a failing gate with a written reason; that is recorded with author and time and
shown in the record. The reasons are sentences for the room, e.g. "BP 172/104 is not below
160/90 (gate from template …)".
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from console.core.dosing.templates import ChecklistItem, Template
from devices.reading import Reading


@dataclass(frozen=True, slots=True)
class GateResult:
    checklist_complete: bool
    passed: bool
    reasons: tuple[str, ...]  # why it does not pass (empty when passed)
    missing: tuple[str, ...]  # checklist items still to do (labels)
    baseline: dict[str, float | None]


MAX_HOURS = 200.0  # more than a week: surely a typing slip


class HoursInputError(ValueError):
    """Typed hours that cannot be used; the message is for the clinician."""


def parse_hours(text: str, label: str = "") -> float:
    """'6', '2.5', '2,5', '6 h' -> hours; anything else is refused in plain words (starting
    with `label`, when the message is not shown beside its field)."""
    label = f"{label}: " if label else ""
    s = re.sub(r"\s*(h|hr|hrs|hours?)$", "", text.strip().lower()).replace(",", ".")
    if not s:
        raise HoursInputError(f"{label}Type a number of hours, e.g. 6 or 2.5.")
    try:
        v = float(s)
    except ValueError:
        raise HoursInputError(f"{label}“{text.strip()}” is not a number of hours "
                              "(type e.g. 6 or 2.5).") from None
    if not math.isfinite(v):
        raise HoursInputError(f"{label}Type a number of hours, e.g. 6 or 2.5.")
    if v < 0:
        raise HoursInputError(f"{label}Hours cannot be negative.")
    if v >= MAX_HOURS:
        raise HoursInputError(f"{label}{v:g} h is more than a week: check the number "
                              "(hours, e.g. 6).")
    return v


def item_ok(item: ChecklistItem, value: Any) -> tuple[bool, str | None]:
    """(answered, problem): answered means filled in; problem is a reason the gate fails."""
    if item.kind == "confirm":
        return (value is True, None)
    if item.kind == "text":
        return (isinstance(value, str) and bool(value.strip()), None)
    # hours
    if isinstance(value, bool) or not isinstance(value, int | float):
        return (False, None)
    if item.min is not None and value < item.min:
        return (True, f"{item.label}: {value:g} h — the protocol asks for at least "
                      f"{item.min:g} h")
    return (True, None)


def evaluate(tpl: Template, answers: dict[str, Any], latest: dict[str, Reading],
             now: float) -> GateResult:
    """`latest` maps hr/sys/dia/spo2 to the newest trusted reading of that parameter."""
    missing: list[str] = []
    reasons: list[str] = []
    for item in tpl.checklist:
        answered, problem = item_ok(item, answers.get(item.id))
        if not answered:
            missing.append(item.label)
        elif problem:
            reasons.append(problem)
    g = tpl.gate
    max_age = g.baseline_max_age_minutes * 60.0
    base: dict[str, float | None] = {}
    for p in ("sys", "dia", "hr", "spo2"):
        r = latest.get(p)
        base[p] = r.value if r is not None and now - r.t <= max_age else None
    src = f" (gate from template {tpl.path.name}" + (f": {g.source})" if g.source else ")")
    needs_bp = g.sys_max is not None or g.dia_max is not None
    if needs_bp and (base["sys"] is None or base["dia"] is None):
        reasons.append(f"No baseline BP in the last {g.baseline_max_age_minutes:g} min — take "
                       "a BP on the monitor or enter one by hand.")
    elif needs_bp:
        s, d = base["sys"], base["dia"]
        assert s is not None and d is not None
        if (g.sys_max is not None and s >= g.sys_max) or (g.dia_max is not None and d >= g.dia_max):
            lim = f"{g.sys_max:g}/{g.dia_max:g}" if g.sys_max and g.dia_max else (
                f"{g.sys_max or g.dia_max:g}")
            reasons.append(f"BP {s:g}/{d:g} is not below {lim}{src}.")
    if g.hr_max is not None:
        if base["hr"] is None:
            reasons.append(
                f"No baseline heart rate in the last {g.baseline_max_age_minutes:g} min.")
        elif base["hr"] >= g.hr_max:
            reasons.append(f"HR {base['hr']:g} is not below {g.hr_max:g}{src}.")
    if g.spo2_min is not None and base["spo2"] is not None and base["spo2"] < g.spo2_min:
        reasons.append(f"SpO2 {base['spo2']:g} % is below {g.spo2_min:g} %{src}.")
    complete = not missing
    if missing:
        reasons.insert(0, f"Checklist not complete: {len(missing)} item(s) to do.")
    return GateResult(complete, complete and not reasons, tuple(reasons), tuple(missing), base)


def baseline_text(base: Mapping[str, float | None]) -> str:
    """The gate's baseline as a clinician writes it: "BP 121/79, HR 73, SpO2 97 %" (what
    was not measured is left out; a BP missing one number shows a dash for it)."""
    def n(v: float | None) -> str:
        return "—" if v is None else f"{v:g}"

    parts = []
    if base.get("sys") is not None or base.get("dia") is not None:
        parts.append(f"BP {n(base.get('sys'))}/{n(base.get('dia'))}")
    if base.get("hr") is not None:
        parts.append(f"HR {n(base.get('hr'))}")
    if base.get("spo2") is not None:
        parts.append(f"SpO2 {n(base.get('spo2'))} %")
    parts += [f"{k} {v:g}" for k, v in base.items()
              if k not in ("sys", "dia", "hr", "spo2") and v is not None]
    return ", ".join(parts) or "none measured"
