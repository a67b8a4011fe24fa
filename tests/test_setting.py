"""Set & setting checklist: what was done and when goes to the record at once."""

from __future__ import annotations

from console.core.clock import FakeClock
from console.core.music.setting_checklist import SettingChecklist, load_checklist
from console.core.session import SessionService, Staff
from console.store import records
from console.store.db import connect_file, open_reader
from console.store.events import session_events
from console.store.writer import StoreWriter


def _session(tmp_path):
    path = tmp_path / "holdspace.db"
    clock = FakeClock()
    writer = StoreWriter(str(path), flush_interval=0.05)
    writer.start()
    reader = open_reader(path)
    sessions = SessionService(clock, writer, reader)
    sessions.set_user(Staff("Ana Ruiz", "therapist"))
    pid = writer.call(lambda c: records.create_patient(c, "Maria K", clock.now(),
                                                       identifier="MK1")).result(10)
    sessions.start(pid)
    return path, clock, writer, reader, sessions


def test_default_checklist_has_the_room_and_the_person():
    cl = load_checklist(None)
    ids = {it.id: it.kind for it in cl.items}
    assert cl.problems == []
    for must in ("lights", "eye_mask", "headphones", "blanket", "temperature", "dnd", "water"):
        assert ids[must] == "check"
    assert ids["support_person"] == "contact" and ids["intention"] == "text"
    assert ids["touch_consent"] == "yesno"


def test_clinic_override_and_a_broken_one(tmp_path):
    d = tmp_path / "checklists"
    d.mkdir()
    (d / "setting.toml").write_text('[[item]]\nid = "plant"\nlabel = "Plant watered"\n'
                                    '[[item]]\nlabel = "no id"\n'
                                    '[[item]]\nid = "x"\nlabel = "Odd"\nkind = "dance"\n')
    cl = load_checklist(tmp_path)
    assert [it.id for it in cl.items] == ["plant", "x"] and cl.items[1].kind == "check"
    assert len(cl.problems) == 2
    (d / "setting.toml").write_text("[[item]\n")
    cl = load_checklist(tmp_path)
    assert "lights" in {it.id for it in cl.items}
    assert "could not be read" in cl.problems[0] and "standard one" in cl.problems[0]


def test_every_change_is_recorded_in_order_with_its_time(tmp_path):
    path, clock, writer, reader, sessions = _session(tmp_path)
    try:
        sc = SettingChecklist(load_checklist(None), lambda k, p: sessions.record(k, p),
                              clock.now)
        t0 = clock.now()
        sc.check("lights", True)
        clock.advance(30)
        sc.check("lights", True)  # no change, no event
        sc.answer("touch_consent", False)
        clock.advance(30)
        sc.set_contact("support_person", "Jo Bloggs", "+44 7700 900123")
        clock.advance(30)
        sc.set_text("intention", "To meet my grief with kindness")
        sc.check("lights", False)
        writer.flush()
        conn = connect_file(path)
        try:
            rows = conn.execute("SELECT kind, t, json_extract(payload, '$.summary') FROM events "
                                "WHERE kind LIKE 'setting.%' ORDER BY t, id").fetchall()
        finally:
            conn.close()
        assert [(k, t - t0) for k, t, _ in rows] == [
            ("setting.item_checked", 0), ("setting.item_checked", 30),
            ("setting.item_checked", 60), ("setting.intention", 90),
            ("setting.item_unchecked", 90)]
        summaries = [s for _, _, s in rows]
        assert summaries[1] == "Consent to supportive touch: no"
        assert "Jo Bloggs" in summaries[2] and "+44 7700 900123" in summaries[2]
        assert sc.intention == "To meet my grief with kindness"
        assert sc.done_count() == (3, len(sc.checklist.items))
        # A restarted console rebuilds the same picture from the record.
        again = SettingChecklist(load_checklist(None), lambda k, p: None, clock.now)
        sid = sessions.current.id
        again.restore(session_events(reader, sid))
        assert again.intention == sc.intention
        assert again.state["touch_consent"].answer == "no"
        assert again.state["support_person"].phone == "+44 7700 900123"
        assert not again.state["lights"].done
    finally:
        writer.stop()
        reader.close()
