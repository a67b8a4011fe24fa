"""The session timeline over a day recorded by the other features, from a real file."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt

from console.ui.timeline import LANE_Y, Timeline
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
def day(tmp_path):
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
                     "music.track_started", "alarm.raised", "alarm.acknowledged",
                     "note.observation", "check.missed", "session.ended"]
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
    tl.grab().save(str(SHOTS / "timeline_finished_session.png"))

    with qtbot.waitSignal(tl.activated, timeout=2000) as sig:
        row = tl.table.topLevelItem(kinds.index("dose.given"))
        rect = tl.table.visualItemRect(row)
        qtbot.mouseClick(tl.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert sig.args[1] == uids["dose"]


def test_live_session_scrolls_with_now(qtbot, tmp_path):
    with rig(tmp_path) as r:
        write_day(r)
        tl = Timeline(r.reader)
        qtbot.addWidget(tl)
        tl.load(r.notes.session_id, live=True)
        r.clock.advance(600)
        tl.on_second(r.clock.now())
        lo, hi = tl.view_range()
        assert lo < r.clock.now() < hi
        r.clock.advance(3 * 3600)
        r.notes.observe("Later note")
        r.flush()
        tl.on_second(r.clock.now())
        lo2, hi2 = tl.view_range()
        assert lo2 > lo and lo2 < r.clock.now() < hi2
        assert tl.items[-1].summary == "Later note"
        tl.lane_plot.getViewBox().sigRangeChangedManually.emit([True, False])
        assert not tl.follow
        r.clock.advance(600)
        tl.on_second(r.clock.now())
        assert tl.view_range() == (lo2, hi2)
