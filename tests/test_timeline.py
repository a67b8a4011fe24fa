"""The session timeline over a day recorded by the other features, from a real file."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt

from console.ui.notes.notes_feature import NotesFeature
from console.ui.notes.timeline import LANE_Y, Timeline
from tests.notes_support import rig, write_day

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"


def click_mark(qtbot, tl: Timeline, uid: str) -> None:
    """A real mouse click on the mark of one event in the lane plot."""
    it = tl.item(uid)
    assert it is not None
    scene = tl.lane_plot.getViewBox().mapViewToScene(QPointF(it.t, LANE_Y[it.lane]))
    pos = tl.graph.mapFromScene(scene)
    qtbot.mouseClick(tl.graph.viewport(), Qt.MouseButton.LeftButton, pos=pos)


@pytest.fixture
def day(tmp_path, qapp):
    from console.ui import theme

    theme.apply_theme(qapp)
    with rig(tmp_path) as r:
        uids = write_day(r)
        r.clock.advance(1800)
        obs = r.notes.observe("Smiling, eyes closed")
        r.clock.advance(3600)
        r.sessions.end()
        r.flush()
        uids["obs"] = obs.uid
        yield r, uids


def test_recorded_day_shows_in_order_and_clicks_jump(qtbot, day):
    r, uids = day
    tl = Timeline(r.reader)
    qtbot.addWidget(tl)
    tl.resize(1100, 700)
    tl.show()
    qtbot.waitExposed(tl)
    tl.load(r.notes.session_id, live=False)
    kinds = [it.kind for it in tl.items]
    assert kinds == ["session.started", "checklist.item_done", "dose.given",
                     "music.phase_changed", "music.track_started", "alarm.raised",
                     "alarm.acknowledged", "music.phase_changed", "note.observation",
                     "check.missed", "session.ended"]
    t0 = tl.items[0].t
    assert [(a - t0, b - t0, n) for a, b, n in tl.phases] == [(310, 1800, "onset"),
                                                              (1800, 5400, "peak")]
    lanes = {it.kind: it.lane for it in tl.items}
    assert (lanes["dose.given"], lanes["alarm.raised"], lanes["music.track_started"],
            lanes["check.missed"], lanes["checklist.item_done"]) == (
        "doses", "alarms", "music", "checks", "checks")
    assert tl.item(uids["alarm"]).summary == "SpO2 low 89 %"  # type: ignore[union-attr]
    assert len(tl.curves) == 5 and tl.curves[147842].getData()[0].size > 100
    assert tl.table.topLevelItemCount() == len(kinds)

    with qtbot.waitSignal(tl.activated, timeout=2000) as sig:
        click_mark(qtbot, tl, uids["alarm"])
    assert sig.args == [tl.item(uids["alarm"]).t, uids["alarm"]]  # type: ignore[union-attr]

    vb = tl.vitals_plot.getViewBox()
    t_click = tl.item(uids["music"]).t  # type: ignore[union-attr]
    pos = tl.graph.mapFromScene(vb.mapViewToScene(QPointF(t_click, 150)))
    with qtbot.waitSignal(tl.activated, timeout=2000) as sig:
        qtbot.mouseClick(tl.graph.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert abs(sig.args[0] - t_click) < 30 and sig.args[1] == ""

    with qtbot.waitSignal(tl.activated, timeout=2000) as sig:
        row = tl.table.topLevelItem(kinds.index("dose.given"))
        assert row is not None
        rect = tl.table.visualItemRect(row)
        qtbot.mouseClick(tl.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert sig.args[1] == uids["dose"]


def test_live_session_scrolls_with_now(qtbot, tmp_path):
    from console.ui.gui_post import GuiPoster

    with rig(tmp_path) as r:
        write_day(r)
        tl = Timeline(r.reader)
        qtbot.addWidget(tl)
        tl.show()  # a hidden timeline draws nothing (it catches up when shown)
        post = GuiPoster()  # committed events reach it as in the app: on the GUI thread
        r.writer.on_committed = lambda evs: post(lambda: r.sessions.announce(evs))
        r.sessions.committed.connect(tl.add_events)
        tl.load(r.notes.session_id, live=True)
        r.clock.advance(600)
        tl.on_second(r.clock.now())
        lo, hi = tl.view_range()
        assert lo < r.clock.now() < hi
        r.clock.advance(3 * 3600)
        r.notes.observe("Later note")
        r.flush()
        qtbot.waitUntil(lambda: tl.items[-1].summary == "Later note", timeout=5000)
        tl.on_second(r.clock.now())
        lo2, hi2 = tl.view_range()
        assert lo2 > lo and lo2 < r.clock.now() < hi2
        assert tl.items[-1].summary == "Later note"
        tl.lane_plot.getViewBox().sigRangeChangedManually.emit([True, False])
        assert not tl.follow
        r.clock.advance(600)
        tl.on_second(r.clock.now())
        assert tl.view_range() == (lo2, hi2)


@pytest.fixture
def console(qtbot, qapp, tmp_path):
    """The real main window with the notes feature installed, over a recorded day."""
    from console.app import wire_store_messages
    from console.core.acquisition import AcquisitionHub
    from console.core.config import Config, StaffConfig
    from console.core.context import AppContext
    from console.core.ducking import Ducking
    from console.ui import theme
    from console.ui.live_feed import LiveFeed
    from console.ui.main_window import MainWindow
    from console.ui.notes.notes_feature import install

    theme.apply_theme(qapp)
    with rig(tmp_path) as r:
        cfg = Config(path=tmp_path / "workstation.json",
                     staff=[StaffConfig("Ana Ruiz", "therapist"),
                            StaffConfig("Dr Chen", "physician")])
        ctx = AppContext(r.clock, r.path, r.writer, r.reader, r.sessions,
                         AcquisitionHub(None, r.clock.now), cfg, tmp_path / "data", Ducking())
        feed = LiveFeed(ctx.hub, r.clock)
        window = MainWindow(ctx, feed)
        wire_store_messages(window, ctx)  # committed events reach the features, as in the app
        window.provide(install(window, ctx, feed))
        qtbot.addWidget(window)
        window.resize(1600, 960)
        window.show()
        qtbot.waitExposed(window)
        yield r, window, feed
        window.allow_close_without_asking()  # the session is still open at the end


def test_clicking_an_alarm_moves_the_vitals_chart(qtbot, console):
    from console.app import FEATURES

    r, window, _feed = console
    feature = window.feature(NotesFeature)
    uids = write_day(r)
    r.clock.advance(3000)
    obs = feature.notes.observe("Brief SpO2 dip, repositioned chin")
    r.flush()
    tl = feature.timeline  # it hears the committed events: nothing to poll
    qtbot.waitUntil(lambda: tl.item(uids["alarm"]) is not None)
    assert [it.kind for it in tl.items][-1] == "note.observation" and tl.live
    window.side_tabs.setCurrentWidget(tl)
    tl.show_all()
    alarm_t = tl.item(uids["alarm"]).t
    with qtbot.waitSignal(tl.activated, timeout=2000):
        click_mark(qtbot, tl, uids["alarm"])
    lo, hi = window.vitals.trend.view_range()
    assert lo < alarm_t < hi and hi - lo <= 900 and not window.vitals.trend.follow
    # ... and the note goes to that moment: the first entry at or after it.
    assert feature.pane.selected_uid() == obs.uid
    # Ctrl+O from anywhere in the window brings the observation field.
    qtbot.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert window.side_tabs.currentWidget() is feature.pane and feature.pane.obs_edit.hasFocus()
    window.side_tabs.setCurrentWidget(tl)
    qtbot.keyClick(window, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier |
                   Qt.KeyboardModifier.ShiftModifier)
    assert window.side_tabs.currentWidget() is feature.pane and feature.pane.ae_box.isVisible()
    assert "console.ui.notes.notes_feature" in FEATURES
    window.grab().save(str(SHOTS / "window_with_timeline.png"))


def test_staff_list_edit_and_course_view(qtbot, console):
    r, window, _feed = console
    feature = window.feature(NotesFeature)
    feature.open_staff()
    ed = feature.staff_editor
    ed.add_row("Sam Okafor", "")
    assert not ed.save() and "Sam Okafor's role" in ed.message.text()
    ed.table.item(ed.table.rowCount() - 1, 1).setText("nurse")
    assert ed.save()
    assert [s.name for s in r.sessions.reader and window.ctx.config.staff] == [
        "Ana Ruiz", "Dr Chen", "Sam Okafor"]
    assert "Sam Okafor" in [feature.pane.author_box.itemText(i)
                            for i in range(feature.pane.author_box.count())]
    assert '"Sam Okafor"' in (r.path.parent / "workstation.json").read_text()

    write_day(r)
    feature.notes.outcome("PHQ-9", "15")
    r.sessions.end()
    assert feature.pane.tabs.currentIndex() == 2 and "sign" in feature.pane.message.text()
    assert not feature.timeline.live and feature.timeline.session_id == r.notes.session_id
    feature.notes.sign("Dr Chen", "physician")
    r.flush()
    feature.open_courses()
    cv = feature.course_view
    assert cv.table.rowCount() == 1
    assert [cv.table.item(0, c).text() for c in (2, 3, 4, 5)] == [
        "dosing", "ketamine 50 mg IM", "signed — Dr Chen", "PHQ-9 15"]
    cv.search_from.setText("15/01/2027")
    cv.run_search()
    assert "not a date" in cv.message.text() and cv.search_from.text() == "15/01/2027"
    cv.search_from.clear()
    cv.search_text.setText("SpO2 low")
    cv.run_search()
    assert cv.results.count() == 1
    with qtbot.waitSignal(cv.open_session, timeout=2000):
        cv._hit_opened(cv.results.item(0))
    assert feature.timeline.session_id == r.notes.session_id and not feature.timeline.live
    cv.grab().save(str(SHOTS / "course_view.png"))


def test_screenshot_of_a_finished_day(qtbot, qapp, tmp_path):
    """A fuller day for the picture: scores, an adverse event with rescue, sign-off."""
    from console.ui import theme

    theme.apply_theme(qapp)
    with rig(tmp_path) as r:
        write_day(r)
        r.clock.advance(3600)
        for minutes, score in ((50, "4"), (35, "3"), (15, "5")):
            r.notes.score("moaas", score, at=r.clock.now() - minutes * 60)
        r.notes.adverse_event("Nausea", "mild", drug="ondansetron", mg="4", route="IV",
                              at=r.clock.now() - 1800, outcome="settled")
        r.notes.observe("I saw my mother's garden", quote=True, at=r.clock.now() - 2400)
        r.sessions.end()
        r.notes.sign("Dr Chen", "physician")
        r.flush()
        tl = Timeline(r.reader)
        qtbot.addWidget(tl)
        tl.resize(1200, 760)
        tl.show()
        qtbot.waitExposed(tl)
        tl.load(r.notes.session_id)
        assert [it.kind for it in tl.items].count("score.moaas") == 3
        assert [it.lane for it in tl.items if it.kind == "dose.given"] == ["doses", "doses"]
        tl.grab().save(str(SHOTS / "timeline_finished_session.png"))


def test_the_timeline_says_automatic_for_what_the_console_did_by_itself(qapp) -> None:
    from console.store.events import Event
    from console.ui.notes.timeline import timeline_items, who_text

    items = {it.kind: it for it in timeline_items([
        Event("music.track_stopped", 1.0, {"summary": "Track stopped: A (ended)"}),
        Event("music.fade_out", 2.0, {"summary": "Fading out"}, author="Ana Ruiz"),
        Event("alarm.acknowledged", 3.0, {"at_locked_screen": True}),
        Event("patient.weight_changed", 4.0, {"weight_kg": 66.0}, author="Ana Nurse"),
    ])}
    assert who_text(items["music.track_stopped"]) == "automatic"
    assert who_text(items["music.fade_out"]) == "Ana Ruiz"
    assert who_text(items["alarm.acknowledged"]) == "—", "a person's act, nobody named"
    assert items["patient.weight_changed"].summary == "Weight changed", "never the raw kind"
