"""The event kinds that cross features, named once.

Every event is stored under a dotted kind ("dose.given"); most are read only by the feature
that wrote them. The ones below are heard by another feature (music follows doses, the
timeline draws music phases and the session's end, the dose day counts scores from the
notes), so they are spelled here and nowhere else. A `StrEnum`: each member *is* its stored
string, so `ev.kind == Kind.DOSE_GIVEN` works on events read back from the file.

How features hear them: `SessionService.committed` announces, on the GUI thread, every event
the writer has committed (from any part of the console: the window, the links, the alarm
engine), so no feature polls the database for another's events.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    SESSION_STARTED = "session.started"
    SESSION_ENDED = "session.ended"
    DOSE_GIVEN = "dose.given"
    DOSE_ENTERED_IN_ERROR = "dose.entered_in_error"
    MUSIC_PHASE_CHANGED = "music.phase_changed"
    MUSIC_STOPPED = "music.stopped"
    ALARM_RAISED = "alarm.raised"
    ALARM_ACKNOWLEDGED = "alarm.acknowledged"
    VITALS_MANUAL = "vitals.manual"
    SCORE_MOAAS = "score.moaas"
    SCORE_RASS = "score.rass"
    SCORE_CADSS = "score.cadss"
    SCORE_CADSS6 = "score.cadss6"
    NOTE_AMENDED = "note.amended"
    SIGN_SIGNED = "sign.signed"


# ---------------------------------------------------------------- words for a reader
# Every kind the console writes, as a person reads it in the report, the timeline and the
# audit view: a stored kind ("patient.weight_changed") is never shown raw. A family ending
# in "." covers kinds made from a key (score.<scale>, export.<what>, infusion.<action>).
KIND_LABELS: dict[str, str] = {
    "session.started": "Session started",
    "session.ended": "Session ended",
    "session.interrupted": "Session interrupted",
    "session.resumed": "Session resumed",
    "session.discharge": "Discharge signed",
    "patient.created": "Patient added",
    "patient.weight_changed": "Weight changed",
    "dose.given": "Dose given",
    "dose.entered_in_error": "Dose entered in error",
    "dose.protocol": "Dosing protocol",
    "infusion.paused": "Infusion paused",
    "infusion.resumed": "Infusion resumed",
    "infusion.stopped": "Infusion stopped",
    "infusion.rate_changed": "Infusion rate changed",
    "gate.checked": "Safety gate checked",
    "gate.override": "Safety gate overridden",
    "checklist.item": "Pre-dose checklist",
    "check.recorded": "Check recorded",
    "check.overdue": "Check overdue",
    "vitals.manual": "Vitals entered by hand",
    "alarm.raised": "Alarm",
    "alarm.escalated": "Alarm escalated",
    "alarm.acknowledged": "Alarm acknowledged",
    "alarm.cleared": "Alarm cleared",
    "limits.changed": "Alarm limit changed",
    "music.phase_changed": "Music phase changed",
    "music.phase_extended": "Music phase extended",
    "music.crossfade": "Music crossfade",
    "music.track_started": "Track started",
    "music.track_stopped": "Track stopped",
    "music.tracks_left_out": "Tracks left out",
    "music.fade_out": "Music fading out",
    "music.fade_in": "Music fading in",
    "music.silence": "Music silence",
    "music.quiet": "Music quiet",
    "music.paused": "Music paused",
    "music.resumed": "Music resumed",
    "music.stopped": "Music stopped",
    "music.volume": "Music volume",
    "music.ducked": "Music lowered for an alarm",
    "music.unducked": "Music back to its level",
    "music.error": "Music problem",
    "setting.item_checked": "Set and setting: item ticked",
    "setting.item_unchecked": "Set and setting: item unticked",
    "setting.intention": "Intention",
    "setting.room_mode": "Room mode",
    "note.observation": "Observation",
    "note.section": "Note section",
    "note.amended": "Amendment",
    "discharge.recorded": "Discharge note",
    "score.moaas": "MOAA/S",
    "score.rass": "RASS",
    "score.cadss": "CADSS total",
    "score.cadss6": "CADSS-6 total",
    "score.": "Score",
    "ae.reported": "Adverse event",
    "outcome.measure": "Outcome measure",
    "course.phase": "Course phase",
    "sign.signed": "Signed",
    "sign.addendum": "Addendum",
    "rems.answers": "REMS form answers",
    "link.state": "Monitor link",
    "link.stopped": "Monitor link stopped",
    "display.source_changed": "Monitor shown changed",
    "staff.list_changed": "Staff list changed",
    "export.csv": "CSV export",
    "export.vital": ".vital export",
    "export.backup": "Backup",
    "export.report": "Session report (PDF)",
    "export.rems_form": "REMS form (PDF)",
    "export.fhir": "FHIR bundle",
    "export.": "Export",
    "record.opened": "Record opened",
    "store.restored": "Database restored",
    "audit.signed_in": "Signed in",
    "audit.switched": "Switched person",
    "audit.signed_out": "Signed out",
    "audit.pin_refused": "PIN refused",
    "audit.locked_out": "Locked out",
    "audit.screen_locked": "Screen locked",
    "audit.screen_unlocked": "Screen unlocked",
    "audit.staff_added": "Staff added",
    "audit.staff_changed": "Staff changed",
    "audit.pin_reset": "PIN reset",
    "audit.": "Audit",
}


def kind_label(kind: str) -> str:
    """What a reader sees for an event kind: its label, its family's, or (a kind this table
    does not know yet) the words of the kind, never the dotted name."""
    if kind in KIND_LABELS:
        return KIND_LABELS[kind]
    family = KIND_LABELS.get(kind.split(".", 1)[0] + ".")
    if family is not None:
        return family
    text = kind.replace(".", " ").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


# Who did it, as a reader sees it: a person, or the console by itself.
AUTOMATIC = "automatic"


def by_text(author: str | None, person_kind: bool = False) -> str:
    """The author's name; with none, "automatic" (the console did it by itself: a track
    ended, an alarm rose) — unless the kind is a person's (an alarm silenced at the locked
    screen without a PIN), which then names nobody: "—"."""
    if author:
        return author
    return "—" if person_kind else AUTOMATIC
