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
