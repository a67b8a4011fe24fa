"""Writing the dosing-day note: observations, quotes, scores, adverse events, sections,
amendments, sign-off and addenda — every one an append-only event with author and time.

`NoteBook` checks input before anything is written (a `NoteError` says what is wrong in
words a nurse understands; the caller keeps what was typed) and refuses changes to a signed
session. Events go through the writer thread; the ones not yet on disk are kept here so the
view and the lock are right the moment after a write. Each is confirmed only once committed:
`is_saving(uid)` is true until then (the pane shows it as "saving…"), and one the database
refused is dropped from the record but kept in `unsaved()` with the reason, announced on
`failed`, so the pane can say so and keep the text. What the rest of the console writes into
the session (doses, checks, vitals by hand) is heard once committed
(`SessionService.committed`) and announced on `changed`: nothing polls the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from console.core.clock import Clock
from console.core.notes import signing
from console.core.notes.drafts import Drafts
from console.core.notes.scales import SCORES, NoteError, Scale, measures, parse_clock, parse_number
from console.core.notes.sections import BY_KEY, parse_fields, summarise
from console.core.observers import Observers
from console.core.people.service import Refused
from console.core.saving import SaveOutcome, SaveState, SaveWatch
from console.core.session import OpenSession, SessionService
from console.core.session_record import AMEND, SessionRecord, build_record
from console.core.settings import NotesSettings
from console.store import chain, engine, records
from console.store.events import Event, session_events
from console.store.writer import StoreWriter

SEVERITIES = ("mild", "moderate", "severe")
ROUTES = ("IV", "IM", "PO", "SL", "IN", "SC", "inhaled")
PHASES = ("preparation", "dosing", "integration")
MAX_RESCUE_MG = 1000.0
DEFAULT_TAGS = NotesSettings().tags  # declared with the notes settings (core/settings.py)


def _one_line(text: str, n: int = 140) -> str:
    s = " ".join(text.split())
    return s if len(s) <= n else s[: n - 1] + "…"


class NoteBook:
    """The note of one session (the open one, or one opened for review and sign-off)."""

    def __init__(self, clock: Clock, writer: StoreWriter, reader: engine.Connection,
                 sessions: SessionService | None = None, session_id: int | None = None,
                 custom_measures: dict[str, object] | None = None) -> None:
        self.clock = clock
        self.writer = writer
        self.reader = reader
        self.sessions = sessions
        self.custom_measures = custom_measures or {}
        self.session_id: int | None = session_id
        self.changed: Observers[SessionRecord] = Observers()
        # Told the old session id just before the note moves to another session, so unsaved
        # drafts can still be written to the session they belong to.
        self.switching: Observers[int] = Observers()
        # An entry the database refused, with the reason (on the owner thread).
        self.failed: Observers[SaveOutcome] = Observers()
        # Typed text not saved yet, kept in the database while it is typed (not the record).
        self.drafts = Drafts(clock, writer, reader)
        self._local: dict[str, Event] = {}
        self._seen: set[str] = set()  # uids in the last record built: not news any more
        self.saves = sessions.saves if sessions is not None else SaveWatch()
        self.saves.done.connect(self._on_saved)
        if sessions is not None:
            sessions.changed.connect(self._on_session)
            sessions.committed.connect(self._on_committed)
            if sessions.current is not None and session_id is None:
                self.session_id = sessions.current.id

    # ----- which session -----
    def open(self, session_id: int | None) -> None:
        """Show another session (chart review, sign-off of an ended session)."""
        if self.session_id is not None and session_id != self.session_id:
            self.switching.emit(self.session_id)
        self.session_id = session_id
        self._local.clear()
        self.changed.emit(self.record())

    def _on_session(self, s: OpenSession | None) -> None:
        # A session that ends stays in the note, so it can be finished and signed.
        if s is not None:
            self.open(s.id)
        else:
            self.changed.emit(self.record())

    def session_row(self) -> records.SessionRow | None:
        return records.get_session(self.reader, self.session_id) if self.session_id else None

    @property
    def template(self) -> str | None:
        row = self.session_row()
        return row.template if row else None

    # ----- reading -----
    def events(self) -> list[Event]:
        """What is stored for the session, then what is on its way (not what was refused)."""
        if self.session_id is None:
            return []
        stored = session_events(self.reader, self.session_id)
        seen = {e.uid for e in stored}
        for uid in [u for u in self._local if u in seen]:
            del self._local[uid]
        self._seen = seen | set(self._local)
        return stored + [e for e in self._local.values()
                         if self.saves.state(e.uid) is not SaveState.FAILED]

    def is_saving(self, uid: str) -> bool:
        """Written here but not yet committed to the disk."""
        return uid in self._local and self.saves.state(uid) is SaveState.SAVING

    def unsaved(self) -> list[SaveOutcome]:
        """Entries of this session the database refused, oldest first, with the reason."""
        out = []
        for e in self._local.values():
            if self.saves.state(e.uid) is SaveState.FAILED:
                out.append(SaveOutcome(e, self.saves.error(e.uid) or "not saved"))
        return sorted(out, key=lambda o: o.event.recorded or o.event.t)

    def _on_saved(self, outcome: SaveOutcome) -> None:
        """On the owner thread: an entry of ours reached the disk (or was refused)."""
        if outcome.event.uid not in self._local:
            return
        try:
            rec = self.record()
        except engine.ProgrammingError:
            return  # news arriving after the console closed its reader: nothing to show
        if not outcome.saved:
            self.failed.emit(outcome)
        self.changed.emit(rec)

    def _on_committed(self, events: list[Event]) -> None:
        """On the owner thread: what the writer committed. This session's events that the
        last record did not hold (another feature's, or another window's) are news."""
        sid = self.session_id
        if sid is None or not any(e.session_id == sid and e.uid not in self._seen
                                  for e in events):
            return
        try:
            rec = self.record()
        except engine.ProgrammingError:
            return  # news arriving after the console closed its reader: nothing to show
        self.changed.emit(rec)

    def record(self) -> SessionRecord:
        return build_record(self.events())

    # ----- helpers -----
    def _author(self, author: str | None) -> str:
        a = (author or (self.sessions.author if self.sessions else None) or "").strip()
        if not a:
            raise NoteError("Choose who you are from the staff list first: every entry "
                            "carries its author. Your text is still in the box.")
        return a

    def _open_record(self) -> SessionRecord:
        if self.session_id is None:
            raise NoteError("No session is open. Start a session to write in the note.")
        rec = self.record()
        signing.ensure_unlocked(rec)
        return rec

    def _when(self, at: str | float | None) -> float:
        now = self.clock.now()
        if at is None or (isinstance(at, str) and not at.strip()):
            return now
        if isinstance(at, str):
            return parse_clock(at, now)
        if at > now + 60:
            raise NoteError("That time is later than now. An entry can refer to an earlier "
                            "time only.")
        return float(at)

    def _guard(self, kind: str, author: str | None, payload: dict[str, Any]) -> None:
        """The console's role table and PINs (console/core/people), said as a NoteError."""
        if self.sessions is None or self.sessions.guard is None:
            return
        try:
            self.sessions.guard(kind, author, payload)
        except Refused as e:
            raise NoteError(str(e)) from e

    def _append(self, kind: str, payload: dict[str, Any], *, t: float | None = None,
                author: str, refers_to: str | None = None, uid: str | None = None) -> Event:
        self._guard(kind, author, payload)  # may this author write this?
        now = self.clock.now()
        ev = Event(kind, now if t is None else t, payload, session_id=self.session_id,
                   author=author, refers_to=refers_to, recorded=now,
                   **({"uid": uid} if uid else {}))
        self._local[ev.uid] = ev
        self.saves.watch(ev, self.writer.append_event(ev))
        if self.sessions is not None:
            self.sessions.recorded.emit(ev)  # e.g. a MOAA/S satisfies the sedation check
        self.changed.emit(self.record())
        return ev

    # ----- entries -----
    def observe(self, text: str, *, tags: Sequence[str] = (), quote: bool = False,
                at: str | float | None = None, author: str | None = None) -> Event:
        """A timestamped observation, a patient quote, or a quick tag."""
        body = text.strip()
        tags = [t.strip() for t in tags if t.strip()]
        if not body and not tags:
            raise NoteError("The observation is empty. Type what you see, or tap a tag.")
        if quote and not body:
            raise NoteError("The quote is empty. Type the patient's words.")
        self._open_record()
        who = self._author(author)
        t = self._when(at)
        return self._append("note.observation",
                            {"text": body, "tags": tags, "quote": quote,
                             "summary": _observation_summary(body, tags, quote)},
                            t=t, author=who)

    def score(self, scale: str, value: str | float, *, at: str | float | None = None,
              author: str | None = None) -> Event:
        """MOAA/S, CADSS, CADSS-6 or RASS as a number with its time."""
        sc = SCORES.get(scale)
        if sc is None:
            raise NoteError(f"Unknown scale “{scale}”.")
        v = sc.parse(value)
        self._open_record()
        who = self._author(author)
        t = self._when(at)
        return self._append(f"score.{sc.key}", _score_payload(sc, v), t=t, author=who)

    def adverse_event(self, what: str, severity: str, *, drug: str = "", mg: str | float = "",
                      route: str = "", intervention: str = "", outcome: str = "",
                      at: str | float | None = None,
                      author: str | None = None) -> tuple[Event, Event | None]:
        """An adverse event; a drug given for it is also a `dose.given` with role rescue."""
        w = what.strip()
        if not w:
            raise NoteError("Say what happened (for example nausea, BP 185/110, agitation).")
        if severity not in SEVERITIES:
            raise NoteError("Choose the severity: mild, moderate or severe.")
        drug = drug.strip()
        mg_text = str(mg).strip()
        mg_value: float | None = None
        if drug:
            if not mg_text:
                raise NoteError(f"Type the {drug} dose in mg.")
            mg_value = parse_number("The rescue dose (mg)", mg_text, 0.001, MAX_RESCUE_MG)
            if route not in ROUTES:
                raise NoteError(f"Choose the route {drug} was given by ({', '.join(ROUTES)}).")
        elif mg_text:
            raise NoteError("A dose was typed but no drug: name the drug given.")
        rec = self._open_record()
        who = self._author(author)
        if drug:
            self._guard("dose.given", who, {})  # the rescue dose: checked before the AE
        t = self._when(at)
        dose_uid = uuid.uuid4().hex if drug else None
        given = f"{drug} {mg_value:g} mg {route}" if drug and mg_value is not None else ""
        what_done = "; ".join(x for x in (given, intervention.strip()) if x)
        summary = f"Adverse event ({severity}): {_one_line(w, 80)}"
        if what_done:
            summary += f" — {what_done}"
        if outcome.strip():
            summary += f" → {_one_line(outcome, 60)}"
        ae = self._append("ae.reported", {
            "what": w, "severity": severity, "intervention": intervention.strip(),
            "drug": drug or None, "mg": mg_value, "route": route or None,
            "dose_uid": dose_uid, "outcome": outcome.strip(), "summary": summary,
        }, t=t, author=who)
        dose = None
        if drug and mg_value is not None:
            weight = self._weight(rec)
            dose = self._append("dose.given", {
                "drug": drug, "formulation": None, "route": route, "mg": mg_value,
                "mg_per_kg": round(mg_value / weight, 4) if weight else None, "lot": None,
                "given_by": who, "late_entry": t < self.clock.now() - 300, "role": "rescue",
                "summary": f"Rescue: {drug} {mg_value:g} mg {route} (for {_one_line(w, 40)})",
            }, t=t, author=who, refers_to=ae.uid, uid=dose_uid)
        return ae, dose

    def _weight(self, rec: SessionRecord) -> float | None:
        row = self.session_row()
        if row is None or row.patient_id is None:
            return None
        p = records.get_patient(self.reader, row.patient_id)
        return p.weight_kg if p and p.weight_kg else None

    def save_section(self, key: str, text: str = "", fields: dict[str, str] | None = None,
                     *, author: str | None = None) -> Event | None:
        """Save a note section; saving again amends the first save (both are kept)."""
        sec = BY_KEY.get(key)
        if sec is None:
            raise NoteError(f"The note has no section “{key}”.")
        if sec.derived:
            raise NoteError(f"{sec.title} is filled from the dose log; record doses there.")
        parsed = parse_fields(sec, fields or {}, self.clock.now())
        if key == "discharge":
            parsed.update(discharge_met(parsed))
        body = text.strip()
        rec = self._open_record()
        who = self._author(author)
        summary = summarise(sec, body, parsed)
        existing = rec.section(key)
        if existing is not None:
            cur = existing.current
            if cur.get("text", "") == body and cur.get("fields", {}) == parsed:
                return None
            return self._amend_raw(existing.uid, {"text": body, "fields": parsed,
                                                  "summary": summary}, "", who)
        if not body and not parsed:
            raise NoteError(f"{sec.title} is empty. Type something before saving.")
        t = parsed.get("time") if key == "discharge" else None
        return self._append(sec.kind, {"section": key, "title": sec.title, "text": body,
                                       "fields": parsed, "summary": summary},
                            t=float(t) if isinstance(t, float) else None, author=who)

    def outcome(self, measure: str, value: str | float, *, author: str | None = None) -> Event:
        """An outcome measure for this session (PHQ-9, GAD-7, ESAS-r or the clinic's own)."""
        sc = measures(self.custom_measures).get(measure)
        if sc is None:
            raise NoteError(f"“{measure}” is not a known measure. Add it in the settings first.")
        v = sc.parse(value)
        self._open_record()
        who = self._author(author)
        return self._append("outcome.measure", {"measure": measure, "value": v,
                                                "low": sc.low, "high": sc.high,
                                                "summary": f"{sc.label} {v:g}"}, author=who)

    def set_phase(self, phase: str, label: str = "", *, author: str | None = None) -> Event:
        """Where this session sits in the patient's course (e.g. dosing, “low-dose”)."""
        if phase not in PHASES:
            raise NoteError(f"Choose the phase: {', '.join(PHASES)}.")
        self._open_record()
        who = self._author(author)
        summary = f"Course: {phase}" + (f" ({label.strip()})" if label.strip() else "")
        return self._append("course.phase", {"phase": phase, "label": label.strip(),
                                             "summary": summary}, author=who)

    # ----- amendments -----
    def amend(self, uid: str, changes: dict[str, Any], reason: str = "", *,
              author: str | None = None) -> Event:
        """Correct an entry: a new event pointing at it; the original is kept."""
        rec = self.record()
        entry = rec.entry(uid)
        if entry is None:
            raise NoteError("That entry cannot be amended here (doses, alarms and music are "
                            "corrected where they were recorded).")
        signing.ensure_unlocked(rec)
        who = self._author(author)
        cur = entry.current
        kind = entry.kind
        new: dict[str, Any] = {}
        if kind == "note.observation":
            text = str(changes.get("text", cur.get("text", ""))).strip()
            tags = list(changes.get("tags", cur.get("tags", [])))
            if not text and not tags:
                raise NoteError("The amended observation is empty. Type the corrected text.")
            new = {"text": text, "tags": tags,
                   "summary": _observation_summary(text, tags, bool(cur.get("quote")))}
        elif kind.startswith("score."):
            sc = SCORES[kind.split(".", 1)[1]]
            new = _score_payload(sc, sc.parse(changes.get("value", cur.get("value", ""))))
        elif kind == "outcome.measure":
            m = str(cur["measure"])
            sc = measures(self.custom_measures).get(m) or Scale(m, m, float(cur["low"]),
                                                                float(cur["high"]), whole=False)
            v = sc.parse(changes.get("value", cur["value"]))
            new = {"value": v, "summary": f"{sc.label} {v:g}"}
        elif kind in ("note.section", "discharge.recorded"):
            ev = self.save_section(str(cur["section"]), str(changes.get("text", cur["text"])),
                                   {k: str(v) for k, v in changes.get("fields", {}).items()},
                                   author=who)
            if ev is None:
                raise NoteError("Nothing was changed.")
            return ev
        else:
            new = {k: v for k, v in changes.items() if k in cur and k != "summary"}
            if not new:
                raise NoteError("Nothing was changed.")
            merged = {**cur, **new}
            if kind == "ae.reported" and merged.get("severity") not in SEVERITIES:
                raise NoteError("Choose the severity: mild, moderate or severe.")
            new["summary"] = _one_line(str(cur.get("summary", ""))) + " — amended: " + ", ".join(
                f"{k} {v}" for k, v in new.items())
        if all(cur.get(k) == v for k, v in new.items() if k != "summary"):
            raise NoteError("Nothing was changed.")
        return self._amend_raw(uid, new, reason, who)

    def _amend_raw(self, uid: str, changes: dict[str, Any], reason: str, who: str) -> Event:
        return self._append(AMEND, {"changes": changes, "reason": reason.strip(),
                                    "summary": f"Amended: {changes.get('summary', '')}"},
                            author=who, refers_to=uid)

    # ----- sign-off -----
    def sign(self, name: str, role: str, statement: str = "") -> Event:
        if self.session_id is None:
            raise NoteError("Open a session to sign it.")
        n, r = signing.check_signer(name, role)
        rec = self.record()
        row = self.session_row()
        signing.check_can_sign(rec, ended=bool(row and row.state == "ended"))
        signing.check_forms(self.reader, self.session_id, rec,
                            self.sessions.sign_checks if self.sessions is not None else ())
        seq, head = chain.head(self.reader)  # what the signer saw: the signature covers it
        return self._append("sign.signed", {"name": n, "role": r, "statement": statement.strip(),
                                            "summary": f"Signed by {n} ({r})",
                                            "chain": {"seq": seq, "hash": head}}, author=n)

    def addendum(self, text: str, name: str, role: str) -> Event:
        if self.session_id is None:
            raise NoteError("Open a session to add to it.")
        rec = self.record()
        body = signing.check_addendum(rec, text)
        n, r = signing.check_signer(name, role)
        seq, head = chain.head(self.reader)  # an addendum is signed too: what it covers
        return self._append("sign.addendum", {
            "text": body, "name": n, "role": r, "chain": {"seq": seq, "hash": head},
            "summary": f"Addendum by {n} ({r}): {_one_line(body, 100)}"}, author=n)


# Discharge thresholds (modified Aldrete ≥ 9/10, PADSS ≥ 9/10): published defaults.
DISCHARGE_THRESHOLD = {"Modified Aldrete": 9.0, "PADSS": 9.0}


def discharge_met(fields: dict[str, object]) -> dict[str, object]:
    """{"criteria_met": True/False} when a published score threshold applies, else {}."""
    limit = DISCHARGE_THRESHOLD.get(str(fields.get("criteria", "")))
    score = fields.get("score")
    if limit is None or not isinstance(score, int | float):
        return {}
    return {"criteria_met": float(score) >= limit}


def _observation_summary(text: str, tags: Iterable[str], quote: bool) -> str:
    tag_text = " ".join(f"[{t}]" for t in tags)
    body = f"“{_one_line(text)}”" if quote else _one_line(text)
    if quote:
        body = f"Patient: {body}"
    return " ".join(x for x in (tag_text, body) if x)


def _score_payload(sc: Scale, v: float | int) -> dict[str, Any]:
    return {"scale": sc.key, "label": sc.label, "value": v, "low": sc.low, "high": sc.high,
            "summary": f"{sc.label} {v:g}"}


def record_staff_list(writer: StoreWriter, clock: Clock, staff: Sequence[tuple[str, str]],
                      author: str | None) -> Event:
    """The staff list changed: kept in the log, so authors in old notes can be traced."""
    now = clock.now()
    names = [{"name": n, "role": r} for n, r in staff]
    ev = Event("staff.list_changed", now, {
        "staff": names,
        "summary": "Staff list: " + ", ".join(f"{n} ({r})" for n, r in staff)},
        author=author, recorded=now)
    writer.append_event(ev)
    return ev
