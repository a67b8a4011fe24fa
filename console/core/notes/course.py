"""A patient's course across sessions: preparation, dosing, integration, and outcomes.

Read entirely from the event log and the sessions table, so nothing about a course is kept
twice. A session's phase is what a clinician set (`course.phase`), else guessed from its
template and whether a dose was given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from console.core.session_record import build_record
from console.store import engine
from console.store.events import session_events

COURSE_KINDS = ("dose.given", "dose.entered_in_error", "sign.signed", "outcome.measure",
                "course.phase", "note.amended")


@dataclass
class CourseSession:
    id: int
    started: float
    ended: float | None
    state: str
    template: str | None
    title: str | None
    phase: str
    phase_label: str
    doses: list[dict[str, Any]] = field(default_factory=list)
    signed_by: str | None = None
    outcomes: dict[str, float] = field(default_factory=dict)

    @property
    def signed(self) -> bool:
        return self.signed_by is not None

    @property
    def dose_text(self) -> str:
        """e.g. “ketamine 50 mg IM, booster 25 mg IM”; rescue drugs named as such."""
        parts = []
        for d in self.doses:
            role = d.get("role")
            prefix = "" if role in (None, "initial") else f"{role} "
            mg = d.get("mg")
            mg_text = f" {mg:g} mg" if isinstance(mg, int | float) else ""
            parts.append(f"{prefix}{d.get('drug', '?')}{mg_text} {d.get('route') or ''}".strip())
        return ", ".join(parts) if parts else "no dose"


def infer_phase(template: str | None, dosed: bool) -> str:
    t = (template or "").lower()
    if "integration" in t:
        return "integration"
    if "prep" in t:
        return "preparation"
    return "dosing" if dosed or t else "preparation"


def patient_course(conn: engine.Connection, patient_id: int) -> list[CourseSession]:
    """The patient's sessions oldest first, each with doses, sign-off and outcome measures."""
    rows = conn.execute(
        "SELECT id, started, ended, state, template, title FROM sessions WHERE patient_id=? "
        "ORDER BY started", (patient_id,)).fetchall()
    out = []
    for sid, started, ended, state, template, title in rows:
        rec = build_record(session_events(conn, sid, COURSE_KINDS))
        voided = rec.voided()  # entered in error: kept in the record, never counted
        doses = [dict(e.payload) for e in rec.doses() if e.uid not in voided]
        cs = CourseSession(sid, started, ended, state, template, title,
                           infer_phase(template, bool(doses)), "", doses,
                           rec.signature.name if rec.signature else None)
        for e in rec.of_kind("course.phase"):
            cs.phase = str(e.current.get("phase", cs.phase))
            cs.phase_label = str(e.current.get("label", ""))
        for e in rec.of_kind("outcome.measure"):
            cur = e.current
            cs.outcomes[str(cur["measure"])] = float(cur["value"])
        out.append(cs)
    return out


def outcome_trend(course: list[CourseSession], measure: str) -> list[tuple[float, float]]:
    """(session start, value) for one measure across the course, for a small chart."""
    return [(s.started, s.outcomes[measure]) for s in course if measure in s.outcomes]


def measures_in(course: list[CourseSession]) -> list[str]:
    seen: dict[str, None] = {}
    for s in course:
        for m in s.outcomes:
            seen.setdefault(m)
    return list(seen)
