"""Music and setting panels as real widgets on real libvlc: keys, buttons, room mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QHBoxLayout, QWidget

from console.core.music.music_controller import MusicState
from console.core.music.setting_checklist import SettingChecklist, load_checklist
from console.ui import theme
from console.ui.gui_post import GuiPoster
from console.ui.music.music_feature import MusicFeature
from console.ui.music.music_panel import MusicPanel, music_actions
from console.ui.music.setting_panel import SettingPanel, SettingSummary, room_mode_action
from console.ui.resume_bar import ResumeBar
from tests.helpers.staff import staff_signed_in
from tests.music_support import music_rig

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"


@pytest.fixture
def themed(qapp):
    """The console's dark theme for one test, then back to plain Qt."""
    theme.apply_theme(qapp)
    yield qapp
    qapp.setStyleSheet("")
    qapp.setProperty("holdspace_room_mode", False)


def _room(tmp_path, qtbot, r):
    """The two panels side by side in one window, as in the bottom row."""
    host = QWidget()
    host.resize(1700, 430)
    actions = music_actions(host, r.music)
    for a in actions.values():
        host.addAction(a)
    sc = SettingChecklist(load_checklist(None), lambda k, p: r.sessions.record(k, p),
                          r.sessions.clock.now)

    def toggle() -> None:
        on = not theme.room_mode_active()
        theme.apply_room_mode(qtbot._request.getfixturevalue("qapp"), on)
        music.set_room_mode(on)
        setting.set_room_mode(on)
        summary.set_room_mode(on)
        r.sessions.record("setting.room_mode", {"summary": f"Room mode {on}", "on": on})

    room = room_mode_action(host, toggle)
    host.addAction(room)
    music = MusicPanel(r.music, actions, intention=lambda: sc.intention, return_phase="peak")
    setting = SettingPanel(sc, room)
    summary = SettingSummary(sc, room)
    summary.setObjectName("summary")
    lay = QHBoxLayout(host)
    lay.addWidget(music, 5)
    lay.addWidget(summary, 3)
    lay.addWidget(setting, 5)
    qtbot.addWidget(host)
    host.show()
    qtbot.waitExposed(host)
    host.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is host, timeout=3000)
    return host, music, setting, sc


def test_keys_run_the_music_and_everything_is_recorded(tmp_path, qtbot, themed):
    with music_rig(tmp_path, GuiPoster(), fade=1.0) as r:
        host, panel, _setting, _sc = _room(tmp_path, qtbot, r)
        qtbot.keyClick(host, Qt.Key.Key_F7)  # play
        deck = r.engine.decks[r.music.active_deck]
        qtbot.waitUntil(lambda: deck.state() == "playing", timeout=5000)
        qtbot.waitUntil(lambda: panel.track.text() == "Drone A1", timeout=3000)
        qtbot.keyClick(host, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
        assert r.music.volume == 65 and panel.volume.value() == 65
        qtbot.keyClick(host, Qt.Key.Key_F9)  # fade out
        qtbot.waitUntil(lambda: r.music.state is MusicState.SILENT, timeout=5000)
        assert panel.state.text() == "SILENCE"
        assert panel.buttons["fade"].text().startswith("Fade in")
        qtbot.keyClick(host, Qt.Key.Key_F9)  # fade back in
        qtbot.waitUntil(lambda: r.music.state is MusicState.PLAYING, timeout=5000)
        qtbot.keyClick(host, Qt.Key.Key_F12)  # quiet
        assert r.music.state is MusicState.QUIET and panel.state.text() == "QUIET"
        qtbot.mouseClick(panel.buttons["silence"], Qt.MouseButton.LeftButton)  # back in
        qtbot.keyClick(host, Qt.Key.Key_F8, Qt.KeyboardModifier.ShiftModifier)  # next phase
        qtbot.waitUntil(lambda: panel.phase.text().startswith("peak"), timeout=3000)
        kinds = [e.kind for e in r.events()]
        for k in ("music.track_started", "music.volume", "music.fade_out", "music.silence",
                  "music.fade_in", "music.quiet", "music.phase_changed"):
            assert k in kinds, k
        ts = [e.t for e in r.events()]
        assert ts == sorted(ts)


def test_checklist_ticks_are_recorded_and_screenshots(tmp_path, qtbot, themed):
    SHOTS.mkdir(exist_ok=True)
    with music_rig(tmp_path, GuiPoster()) as r:
        host, panel, setting, sc = _room(tmp_path, qtbot, r)
        r.music.start()
        for item in ("lights", "eye_mask", "headphones", "dnd"):
            cb = setting.checks[item]
            qtbot.mouseClick(cb, Qt.MouseButton.LeftButton, pos=QPoint(12, cb.height() // 2))
        qtbot.mouseClick(setting.answers["touch_consent"][0], Qt.MouseButton.LeftButton)
        name, phone = setting.contacts["support_person"]
        name.setText("Jo Bloggs")
        phone.setText("+44 7700 900123")
        phone.editingFinished.emit()
        setting.texts["intention"].setPlainText("To meet my grief with kindness")
        sc.set_text("intention", setting.texts["intention"].toPlainText())
        qtbot.waitUntil(lambda: panel.track.text() == "Drone A1", timeout=5000)
        r.music.next_phase()  # "peak" is this test's return phase: the intention shows
        qtbot.waitUntil(lambda: panel.reminder.isVisible(), timeout=3000)
        assert "grief" in panel.reminder.text()
        assert setting.count.text().strip().startswith("7 of")
        summary = host.findChild(SettingSummary, "summary")
        assert summary is not None and "Blanket" in summary.toolTip() + summary.missing.toolTip()
        host.grab().save(str(SHOTS / "music_setting.png"))
        qtbot.keyClick(host, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier
                       | Qt.KeyboardModifier.ShiftModifier)
        assert theme.room_mode_active() and setting.room_button.isChecked()
        host.grab().save(str(SHOTS / "music_setting_room.png"))
        ev = r.events("setting.")
        assert [e.kind for e in ev].count("setting.item_checked") == 6
        assert ev[-1].kind == "setting.room_mode" and ev[-1].payload["on"] is True
        assert any(e.kind == "setting.intention" for e in ev)


def _console(qtbot, db_path, config):
    from console.app import build_window, start_core

    running = start_core(db_path, devices=None, config=config)
    staff_signed_in(running.ctx.people)  # who is at the console
    window, feed = build_window(running)
    qtbot.addWidget(window)
    window.allow_close_without_asking()  # these tests close mid-session on purpose
    window.resize(1600, 960)
    window.show()
    return window, feed, running


def _start_session(running):
    from console.ui.session_dialog import NewPatient, SessionChoice
    from console.ui.shell_actions import start_session_from_choice

    start_session_from_choice(running.ctx, SessionChoice(
        None, NewPatient("Ada Example", "MRN-1", "1950-02-03", 61.0), None, None))


def test_by_default_music_waits_for_the_patient(qtbot, db_path, config, themed):
    """The default (issue 10): no music at launch; it starts with the session."""
    window, feed, running = _console(qtbot, db_path, config)
    try:
        music = window.feature(MusicFeature).music
        assert music.available and music.state is MusicState.STOPPED
        feed.second.emit(running.ctx.clock.now())  # a tick changes nothing
        assert music.state is MusicState.STOPPED
        _start_session(running)
        qtbot.waitUntil(lambda: music.state is MusicState.PLAYING, timeout=3000)
        assert music.now_playing().phase == "pre-onset"
    finally:
        window.close()
        feed.stop()
        running.stop()


def test_a_clinic_can_play_the_demo_program_from_launch(qtbot, db_path, config, themed):
    """`autostart = "launch"`: music from start-up (the room is prepared before the patient
    comes). Was the default until issue 10 made it a clinic's choice."""
    config.extra["music"] = {"autostart": "launch"}
    window, feed, running = _console(qtbot, db_path, config)
    try:
        music = window.feature(MusicFeature).music
        qtbot.waitUntil(lambda: music.state is MusicState.PLAYING, timeout=3000)
        assert running.ctx.sessions.current is None
        deck = music.engine.decks[music.active_deck]
        qtbot.waitUntil(lambda: deck.state() == "playing" and deck.position_s() > 0,
                        timeout=5000)
        assert music.now_playing().phase == "pre-onset"
        _start_session(running)
        assert music.state is MusicState.PLAYING  # the session carries on with it
    finally:
        window.close()
        feed.stop()
        running.stop()


def test_console_starts_the_demo_program_with_the_session(qtbot, db_path, config, themed):
    config.extra["music"] = {"autostart": "session"}  # a clinic that wants quiet until then
    window, feed, running = _console(qtbot, db_path, config)
    try:
        feature = window.feature(MusicFeature)
        assert feature.banner is None and feature.music.state is MusicState.STOPPED
        _start_session(running)
        music = feature.music
        qtbot.waitUntil(lambda: music.state is MusicState.PLAYING, timeout=3000)
        deck = music.engine.decks[music.active_deck]
        qtbot.waitUntil(lambda: deck.state() == "playing" and deck.position_s() > 0,
                        timeout=5000)
        assert music.now_playing().phase == "pre-onset"
        qtbot.waitUntil(lambda: feature.panel.track.text() == "Holdspace demo - Harbour",
                        timeout=3000)
        keys = {a.shortcut().toString() for a in window.actions()}
        assert {"F9", "F10", "F12", "Ctrl+Shift+R"} <= keys
        running.ctx.ducking.request("alarm", True)  # an alarm lowers the music

        def ducked() -> bool:
            music.tick()
            return deck.vlc_volume() <= 20

        qtbot.waitUntil(ducked, timeout=3000)
        running.ctx.ducking.request("alarm", False)
        SHOTS.mkdir(exist_ok=True)
        window.grab().save(str(SHOTS / "console_music.png"))
        feature.room_action.trigger()
        assert theme.room_mode_active() and running.ctx.config.room_mode
        window.grab().save(str(SHOTS / "console_music_room.png"))
        feature.room_action.trigger()
        assert not theme.room_mode_active()
        sid = running.ctx.sessions.current.id
        running.ctx.writer.flush()
        from console.store.events import session_events

        kinds = [e.kind for e in session_events(running.ctx.reader, sid)
                 if e.kind.startswith("music.")]
        assert kinds[:2] == ["music.phase_changed", "music.track_started"]
        assert "music.ducked" in kinds
    finally:
        window.close()
        feed.stop()
        running.stop()


def test_without_libvlc_music_is_off_and_the_console_goes_on(qtbot, db_path, config, themed,
                                                             tmp_path):
    config.extra["music"] = {"libvlc": str(tmp_path / "nowhere" / "libvlc.so.5")}
    window, feed, running = _console(qtbot, db_path, config)
    try:
        feature = window.feature(MusicFeature)
        assert feature.banner is not None
        assert "Music unavailable" in feature.banner.text()
        assert not feature.banner.isHidden()
        assert not feature.panel.buttons["fade"].isEnabled()
        assert feature.music.state is MusicState.UNAVAILABLE
        qtbot.keyClick(window, Qt.Key.Key_F9)  # does nothing, breaks nothing
        _start_session(running)  # the session and its checklist still work
        assert running.ctx.sessions.current is not None
        feature.checklist.check("lights", True)
        qtbot.waitUntil(lambda: window.vitals.hr.value.text().isdigit(), timeout=10_000)
        running.ctx.writer.flush()
        from console.store.events import session_events

        kinds = [e.kind for e in session_events(running.ctx.reader,
                                                running.ctx.sessions.current.id)]
        assert "setting.item_checked" in kinds
        assert not any(k.startswith("music.track") for k in kinds)
    finally:
        window.close()
        feed.stop()
        running.stop()


def test_restart_resumes_the_phase_and_session_end_is_on_its_record(qtbot, db_path, config,
                                                                    themed):
    from console.store.events import session_events

    window, feed, running = _console(qtbot, db_path, config)
    try:
        _start_session(running)
        music = window.feature(MusicFeature).music
        qtbot.waitUntil(lambda: music.state is MusicState.PLAYING, timeout=3000)
        music.next_phase()
        sid = running.ctx.sessions.current.id
    finally:
        window.close()  # the console is closed mid-session (or crashes)
        feed.stop()
        running.stop()
    window, feed, running = _console(qtbot, db_path, config)
    try:
        music = window.feature(MusicFeature).music
        window.feature(ResumeBar).resume_button.click()  # issue 9: the console offers to resume it
        assert running.ctx.sessions.current.id == sid
        qtbot.waitUntil(lambda: music.state is MusicState.PLAYING, timeout=3000)
        assert music.now_playing().phase == "onset"
        running.ctx.sessions.end()
        assert music.state is MusicState.STOPPED
        running.ctx.writer.flush()
        ev = session_events(running.ctx.reader, sid)
        kinds = [e.kind for e in ev]
        assert "music.stopped" in kinds and kinds.count("music.track_stopped") >= 2
        stopped = [e for e in ev if e.kind == "music.track_stopped"]
        assert {e.payload["reason"] for e in stopped} >= {"console closed", "session ended"}
    finally:
        window.close()
        feed.stop()
        running.stop()


def test_the_first_dose_moves_to_onset_and_a_booster_extends(qtbot, db_path, config, themed):
    window, feed, running = _console(qtbot, db_path, config)
    try:
        _start_session(running)
        music = window.feature(MusicFeature).music
        qtbot.waitUntil(lambda: music.state is MusicState.PLAYING, timeout=3000)
        assert music.now_playing().phase == "pre-onset"
        sessions = running.ctx.sessions
        heard: list[str] = []  # after the music feature's own listener, in commit order
        sessions.committed.connect(lambda evs: heard.extend(e.uid for e in evs))

        def record_dose(payload: dict[str, object]) -> None:
            ev = sessions.record("dose.given", payload)
            qtbot.waitUntil(lambda: ev.uid in heard, timeout=5000)  # committed and announced

        record_dose({"role": "rescue", "summary": "Rescue: ondansetron"})
        assert music.now_playing().phase == "pre-onset"  # a rescue drug changes nothing
        record_dose({"role": "initial", "summary": "Initial dose 50 mg"})
        assert music.now_playing().phase == "onset"
        planned = music.now_playing().phase_planned_s
        record_dose({"role": "booster", "summary": "Booster 20 mg"})
        assert music.now_playing().phase_planned_s == planned + 15 * 60
        running.ctx.writer.flush()
        from console.store.events import session_events

        ev = session_events(running.ctx.reader, sessions.current.id)
        change = [e for e in ev if e.kind == "music.phase_changed"][-1]
        assert change.payload["trigger"] == "dose" and "at the first dose" in change.payload[
            "summary"]
        ext = [e for e in ev if e.kind == "music.phase_extended"][-1]
        assert ext.payload["reason"] == "booster"
    finally:
        window.close()
        feed.stop()
        running.stop()


def test_extend_by_key_and_by_button_adds_the_programs_minutes(qtbot, db_path, config, themed):
    """Shift+F9 and the Extend button once extended the phase by 0 minutes (the action's
    `checked` flag was taken as the minutes)."""
    from console.store.events import session_events

    window, feed, running = _console(qtbot, db_path, config)
    try:
        _start_session(running)
        feature = window.feature(MusicFeature)
        music = feature.music
        qtbot.waitUntil(lambda: music.state is MusicState.PLAYING, timeout=3000)
        step = music.program.extend_minutes
        assert step > 0
        np_ = music.now_playing()
        base = np_.phase_planned_s or np_.phase_elapsed_s or 0.0  # open-ended: from now
        window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
        qtbot.keyClick(window, Qt.Key.Key_F9, Qt.KeyboardModifier.ShiftModifier)
        first = music.now_playing().phase_planned_s
        assert first is not None
        assert first == pytest.approx(base + step * 60, abs=2)
        qtbot.mouseClick(feature.panel.extend, Qt.MouseButton.LeftButton)
        assert music.now_playing().phase_planned_s == pytest.approx(first + step * 60, abs=1)
        running.ctx.writer.flush()
        ext = [e for e in session_events(running.ctx.reader, running.ctx.sessions.current.id)
               if e.kind == "music.phase_extended"]
        assert [e.payload["minutes"] for e in ext] == [step, step]
        assert all(f"by {step:g} min" in e.payload["summary"] for e in ext)
    finally:
        window.close()
        feed.stop()
        running.stop()


def test_the_panel_touches_no_label_while_nothing_it_shows_changes(tmp_path, qtbot, themed):
    """The panel refreshes 10 times a second; with the music stopped nothing it shows
    changes, so no label's tooltip is set again or its layout redone (each re-elided and
    re-laid-out text: the panel's share of an idle console's CPU). A change shows at once."""
    from PySide6.QtCore import QEvent, QObject

    with music_rig(tmp_path, GuiPoster()) as r:
        _host, panel, _setting, _sc = _room(tmp_path, qtbot, r)
        changes = [0]

        class Count(QObject):
            def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
                if ev.type() == QEvent.Type.ToolTipChange:
                    changes[0] += 1
                return False

        counter = Count()
        for label in (panel.track, panel.phase):
            label.installEventFilter(counter)
        panel.refresh()
        changes[0] = 0
        for _ in range(10):
            panel.refresh()
        assert changes[0] == 0
        r.music.set_volume(r.music.volume - 10)
        panel.refresh()
        assert panel.vol_label.text() == str(r.music.volume)
