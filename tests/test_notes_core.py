"""The record model: append-only entries, amendments, sign-off and lock, on a real file."""

from __future__ import annotations

import json
import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.core.notes.scales import NoteError
from console.core.session_record import build_record
from console.store.events import session_events
from tests.notes_support import rig


def test_amendment_keeps_the_original(tmp_path):
    with rig(tmp_path) as r:
        obs = r.notes.observe("Eyes closed, breathing slow")
        r.clock.advance(60)
        amend = r.notes.amend(obs.uid, {"text": "Eyes closed, breathing calm"}, "wrong word",
                              author="Dr Chen")
        r.flush()
        rec = build_record(session_events(r.reader, r.sid))
        entry = rec.entry(obs.uid)
        assert entry is not None and entry.amended
        assert entry.current["text"] == "Eyes closed, breathing calm"
        assert [e.uid for e in entry.history()] == [obs.uid, amend.uid]
        assert entry.history()[0].payload["text"] == "Eyes closed, breathing slow"
        assert entry.author == "Ana Ruiz" and entry.amendments[0].author == "Dr Chen"
        rows = r.stored()
        kinds = [k for k, _a, _p in rows]
        assert kinds.count("note.observation") == 1 and kinds.count("note.amended") == 1
        amended = next(json.loads(p) for k, _a, p in rows if k == "note.amended")
        assert amended["reason"] == "wrong word"


def test_database_refuses_update_of_a_note(tmp_path):
    with rig(tmp_path) as r:
        r.notes.observe("Calm")
        r.flush()
        conn = sqlite3.connect(r.path)
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE events SET payload='{}' WHERE kind='note.observation'")
        conn.close()


def test_events_read_back_in_time_order_with_authors(tmp_path):
    with rig(tmp_path) as r:
        r.clock.advance(600)
        late = r.notes.observe("Nausea earlier", at=r.clock.now() - 300, author="Dr Chen")
        first = r.notes.score("moaas", "4")
        r.clock.advance(60)
        r.notes.observe("I feel far away", quote=True)
        r.flush()
        evs = session_events(r.reader, r.sid)
        assert [e.t for e in evs] == sorted(e.t for e in evs)
        mine = [(e.kind, e.author) for e in evs if e.kind.startswith(("note.", "score."))]
        assert mine == [("note.observation", "Dr Chen"), ("score.moaas", "Ana Ruiz"),
                        ("note.observation", "Ana Ruiz")]
        assert late.recorded is not None and late.t < late.recorded
        assert first.payload["value"] == 4
        assert all(e.author for e in evs)


def test_locked_session_refuses_change_and_accepts_signed_addendum(tmp_path):
    with rig(tmp_path) as r:
        obs = r.notes.observe("Calm")
        with pytest.raises(NoteError, match="End the session first"):
            r.notes.sign("Dr Chen", "physician")
        r.sessions.end()
        r.notes.observe("Walked out steadily with her daughter")  # after end, before sign: ok
        r.clock.advance(120)
        with pytest.raises(NoteError, match="name of the clinician"):
            r.notes.sign("  ", "physician")
        r.notes.sign("Dr Chen", "physician")
        with pytest.raises(NoteError, match=r"signed by Dr Chen .*addendum"):
            r.notes.observe("one more thing")
        with pytest.raises(NoteError, match="locked"):
            r.notes.amend(obs.uid, {"text": "Calm and warm"})
        with pytest.raises(NoteError, match="locked"):
            r.notes.sign("Dr Chen", "physician")
        with pytest.raises(NoteError, match="empty"):
            r.notes.addendum("   ", "Dr Chen", "physician")
        add = r.notes.addendum("Daughter called: home safely.", "Ana Ruiz", "therapist")
        assert add.author == "Ana Ruiz" and add.payload["role"] == "therapist"
        rec = r.notes.record()
        assert rec.locked and rec.signature and rec.signature.name == "Dr Chen"
        assert rec.entry(obs.uid) and not rec.entry(obs.uid).amended  # type: ignore[union-attr]
        kinds = [k for k, _a, _p in r.stored()]
        assert kinds[-2:] == ["sign.signed", "sign.addendum"]


def test_bad_input_is_refused_with_words(tmp_path):
    with rig(tmp_path) as r:
        with pytest.raises(NoteError, match="observation is empty"):
            r.notes.observe("   ")
        with pytest.raises(NoteError, match="MOAA/S goes from 0 to 5; 7"):
            r.notes.score("moaas", "7")
        with pytest.raises(NoteError, match="whole number"):
            r.notes.score("cadss6", "3.5")
        with pytest.raises(NoteError, match="not a number"):
            r.notes.score("cadss", "high")
        with pytest.raises(NoteError, match="later than now"):
            r.notes.observe("x", at=r.clock.now() + 3600)
        with pytest.raises(NoteError, match="no drug"):
            r.notes.adverse_event("nausea", "mild", mg="4")
        with pytest.raises(NoteError, match="route"):
            r.notes.adverse_event("nausea", "mild", drug="ondansetron", mg="4")
        r.sessions.set_user(None)
        with pytest.raises(NoteError, match="who you are"):
            r.notes.observe("Calm")
        assert [k for k, _a, _p in r.stored()] == ["session.started"]


def test_adverse_event_with_rescue_drug_is_a_dose(tmp_path):
    with rig(tmp_path) as r:
        ae, dose = r.notes.adverse_event("Nausea, retching", "moderate", drug="ondansetron",
                                         mg="4", route="IV", outcome="settled in 10 min")
        assert dose is not None and dose.refers_to == ae.uid
        assert ae.payload["dose_uid"] == dose.uid
        r.flush()
        stored = session_events(r.reader, r.sid, ["dose.given"])
        assert len(stored) == 1
        p = stored[0].payload
        assert (p["role"], p["drug"], p["mg"], p["route"]) == ("rescue", "ondansetron", 4.0, "IV")
        assert p["mg_per_kg"] == pytest.approx(4 / 70, abs=1e-3) and p["given_by"] == "Ana Ruiz"
        assert "summary" in p


def test_sections_dose_record_and_palliative(tmp_path):
    with rig(tmp_path, template="palliative-moderate") as r:
        from console.core.notes.sections import sections_for
        assert "goals_of_care" in [s.key for s in sections_for(r.notes.template)]
        assert "goals_of_care" not in [s.key for s in sections_for("im-standard")]
        first = r.notes.save_section("check_in", "Hopeful, a little nervous",
                                     {"mood": "6", "intention": "to feel at peace"})
        assert first is not None and first.payload["fields"] == {"mood": 6.0,
                                                                 "intention": "to feel at peace"}
        again = r.notes.save_section("check_in", "Hopeful, nervous", {"mood": "5"})
        assert again is not None and again.kind == "note.amended"
        assert again.refers_to == first.uid
        with pytest.raises(NoteError, match="Mood"):
            r.notes.save_section("check_in", "x", {"mood": "11"})
        with pytest.raises(NoteError, match="dose log"):
            r.notes.save_section("dose_record", "50 mg")
        disc = r.notes.save_section("discharge", "Steady gait",
                                    {"criteria": "Modified Aldrete", "score": "10",
                                     "escort": "daughter"})
        assert disc is not None and disc.kind == "discharge.recorded"
        assert disc.payload["fields"]["criteria_met"] is True
        assert "Criteria met: yes" in disc.payload["summary"]
        low = r.notes.save_section("discharge", "Steady gait", {
            "criteria": "Modified Aldrete", "score": "8", "escort": "daughter"})
        assert low is not None and low.payload["changes"]["fields"]["criteria_met"] is False
        sec = r.notes.record().section("check_in")
        assert sec is not None and sec.current["fields"] == {"mood": 5.0}


@given(st.lists(st.tuples(st.text(min_size=1, max_size=20), st.floats(0, 1e4),
                          st.floats(0, 1e4)), max_size=8))
def test_current_view_is_the_last_amendment_written(amends):
    """Whatever clinical times amendments carry, the last written wins and none is lost."""
    from console.store.events import Event

    orig = Event("note.observation", 100.0, {"text": "first", "summary": "first"},
                 session_id=1, author="A", recorded=100.0)
    evs = [orig]
    for i, (text, t, rec) in enumerate(amends):
        evs.append(Event("note.amended", t, {"changes": {"text": text, "summary": text}},
                         session_id=1, author=f"B{i}", refers_to=orig.uid,
                         recorded=200.0 + rec + i * 1e-3))
    rec = build_record(reversed(evs))
    entry = rec.entry(orig.uid)
    assert entry is not None
    assert entry.history()[0] is orig and len(entry.history()) == len(amends) + 1
    expected = max(evs[1:], key=lambda e: e.recorded or 0).payload["changes"]["text"] \
        if amends else "first"
    assert entry.current["text"] == expected and entry.amended == bool(amends)
    assert orig.payload["text"] == "first"


def test_full_note_reads_the_day_in_order(tmp_path):
    from console.core.notes.note_text import note_text
    from tests.notes_support import write_day

    with rig(tmp_path, template="palliative-low-dose") as r:
        write_day(r)
        r.notes.save_section("check_in", "Calm", {"mood": "7"})
        r.clock.advance(600)
        obs = r.notes.observe("Weeping softly")
        from console.store.events import Event
        r.writer.append_event(Event("check.recorded", r.clock.now() + 1, {
            "what": "sedation", "value": "MOAA/S 4",
            "summary": "Sedation check: MOAA/S 4"}, session_id=r.notes.session_id,
            author="Dr Chen"))
        r.flush()
        r.notes.amend(obs.uid, {"text": "Weeping softly, then smiling"})
        r.notes.adverse_event("Nausea", "mild", intervention="cool cloth")
        r.notes.save_section("goals_of_care", "Wishes to die at home")
        r.sessions.end()
        r.notes.sign("Dr Chen", "physician")
        r.notes.addendum("Phoned next day: slept well.", "Ana Ruiz", "therapist")
        text = note_text(r.notes.record(), r.notes.template)
        order = ["== Check-in ==", "Mood (0–10): 7", "== Dose record", "Ketamine 50 mg IM",
                 "== Observations ==", "Weeping softly, then smiling  — Ana Ruiz  (amended)",
                 "Sedation check: MOAA/S 4  — Dr Chen",
                 "== Adverse events", "Adverse event (mild): Nausea — cool cloth",
                 "== Goals-of-care discussion ==", "Wishes to die at home",
                 "Signed by Dr Chen (physician)", "Phoned next day: slept well."]
        at = [text.index(s) for s in order]
        assert at == sorted(at)
