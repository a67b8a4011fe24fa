"""The discharge sign-off that ends a dosing session: criteria, escort, and why if early.

Ending is part of the record, not a button press: the template's discharge criteria are
ticked (or a reason is written why the patient leaves with some unmet), the escort who takes
the patient home is named, and ending before the template's minimum observation time needs
a reason too. `assess` says in words what is still missing; `sign_off_payload` is what the
`session.discharge` event stores, written just before `session.ended`.

Pure Python: the panel in console/ui only collects the answers and shows the verdict.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from console.core.people.roles import Permission, who_may

MIN_REASON_CHARS = 5
MIN_NAME_CHARS = 2


@dataclass(frozen=True)
class DischargeFacts:
    """What the record says about this session when ending is asked for."""

    template_id: str
    template_file: str
    criteria: tuple[str, ...]
    criteria_source: str
    dosed: bool
    observation_minutes: float
    observation_end: float | None  # None before the first dose
    now: float


@dataclass(frozen=True)
class DischargeAnswers:
    """What the clinician ticked and typed in the sign-off panel."""

    met: dict[str, bool] = field(default_factory=dict)  # criterion text -> ticked
    escort: str = ""
    signed_by: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Verdict:
    """`blocking`: what must be done before ending; `why_reason`: why a reason is needed."""

    blocking: tuple[str, ...]
    why_reason: tuple[str, ...]
    unmet: tuple[str, ...]
    early_s: float  # seconds before the minimum observation time (0 when complete)

    @property
    def ok(self) -> bool:
        return not self.blocking


def early_text(seconds: float) -> str:
    """'1 h 39 min' / '12 min' / '40 s' — a duration, never a clock time."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    h, m = divmod(s // 60, 60)
    return f"{h} h {m} min" if h else f"{m} min"


def assess(facts: DischargeFacts, answers: DischargeAnswers) -> Verdict:
    """What is still missing before this session may end, in words a nurse understands."""
    if not facts.dosed:
        return Verdict((), (), (), 0.0)  # no dose given: nothing to observe or sign off
    early = 0.0
    if facts.observation_end is not None and facts.now < facts.observation_end:
        early = facts.observation_end - facts.now
    unmet = tuple(c for c in facts.criteria if not answers.met.get(c, False))
    why: list[str] = []
    if early > 0:
        until = time.strftime("%H:%M", time.localtime(facts.observation_end or facts.now))
        why.append(f"the minimum observation time ({facts.observation_minutes:g} min per "
                   f"{facts.template_file}) ends at {until}, in {early_text(early)}")
    if unmet:
        why.append(f"{len(unmet)} discharge criteri{'on is' if len(unmet) == 1 else 'a are'} "
                   "not ticked")
    escort = answers.escort.strip()
    if len(escort) < MIN_NAME_CHARS:
        why.append("no escort is named")
    blocking: list[str] = []
    if len(answers.signed_by.strip()) < MIN_NAME_CHARS:
        blocking.append(f"Name who signs the discharge: {who_may(Permission.DISCHARGE)}, "
                        "signed in at this console.")
    if why and len(answers.reason.strip()) < MIN_REASON_CHARS:
        blocking.append("Write why the session ends now: " + "; ".join(why) + ".")
    return Verdict(tuple(blocking), tuple(why), unmet, early)


def sign_off_payload(facts: DischargeFacts, answers: DischargeAnswers,
                     verdict: Verdict) -> dict[str, Any]:
    """The `session.discharge` event's payload (recorded just before `session.ended`)."""
    escort = answers.escort.strip()
    reason = answers.reason.strip()
    if not facts.dosed:
        summary = "Discharge: no dose was given in this session"
    else:
        met = len(facts.criteria) - len(verdict.unmet)
        parts = [f"{met} of {len(facts.criteria)} criteria met" if facts.criteria
                 else "no criteria in the template"]
        parts.append(f"escort {escort}" if escort else "NO escort named")
        if verdict.early_s > 0:
            parts.append(f"ended {early_text(verdict.early_s)} before the minimum observation")
        summary = "Discharge signed by " + answers.signed_by.strip() + ": " + "; ".join(parts)
    if reason:
        summary += f" — reason: {reason}"
    return {
        "dosed": facts.dosed,
        "template": facts.template_id,
        "criteria": [{"text": c, "met": bool(answers.met.get(c, False))}
                     for c in facts.criteria],
        "criteria_source": facts.criteria_source,
        "all_met": not verdict.unmet,
        "escort": escort or None,
        "observation_end": facts.observation_end,
        "observation_complete": verdict.early_s <= 0,
        "minutes_early": round(verdict.early_s / 60.0, 1),
        "reason": reason or None,
        "why_reason": list(verdict.why_reason),
        "signed_by": answers.signed_by.strip(),
        "summary": summary,
    }
