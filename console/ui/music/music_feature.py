"""Music and set & setting in the window: one `install` for the composition root.

Builds the libvlc engine (or says plainly why music is off), the session's music program,
the checklist, their panels and their keyboard actions, and ties them to the session:
the program starts with the session, when the patient is in the room (workstation setting
`music.autostart`, declared with the other music settings in console/core/settings.py), and
stops when the session ends.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QApplication, QLabel

from console.core.context import AppContext
from console.core.event_kinds import Kind
from console.core.music import playlists
from console.core.music.audio_player import MusicUnavailable, open_engine
from console.core.music.music_controller import MusicController, MusicState
from console.core.music.music_program import find_program
from console.core.music.setting_checklist import SettingChecklist, load_checklist
from console.core.session import OpenSession
from console.core.settings import MusicSettings
from console.store.events import Event, session_events
from console.ui import theme
from console.ui.live_feed import LiveFeed
from console.ui.music.music_panel import MusicPanel, music_actions
from console.ui.music.setting_panel import SettingPanel, SettingSummary, room_mode_action
from console.ui.shell import Shell

SHIPPED_ROOT = Path(__file__).resolve().parents[3]  # repo root: playlists/, assets/music/
SETTING_KINDS = ("setting.item_checked", "setting.item_unchecked", "setting.intention")


def music_settings(ctx: AppContext) -> MusicSettings:
    """This workstation's music settings, every one filled (defaults in core/settings.py)."""
    return ctx.config.section(MusicSettings)


class MusicFeature:
    """Owns the controller, the checklist and their widgets for the window's lifetime."""

    def __init__(self, shell: Shell, ctx: AppContext) -> None:
        self.shell = shell
        self.ctx = ctx
        self._sid: int | None = None
        self._ended_sid: int | None = None
        opts = music_settings(ctx)
        self.dirs = playlists.default_dirs(SHIPPED_ROOT, ctx.data_dir)
        program = find_program(self.dirs)
        reason: str | None = None
        engine = None
        try:
            engine = open_engine(ctx.post, output=opts.output or None,
                                 lib_path=opts.libvlc or None)
        except MusicUnavailable as e:
            reason = str(e)
        self.music = MusicController(
            engine, program, self.dirs, ctx.clock, self.record,
            languages=set(opts.patient_languages), volume=opts.volume,
            unavailable_reason=reason)
        self.checklist = SettingChecklist(load_checklist(ctx.data_dir), self.record,
                                          ctx.clock.now)
        ctx.ducking.changed.connect(self.music.set_ducked)

        self.banner: QLabel | None = None
        if reason:
            self.banner = QLabel(reason)
            self.banner.setObjectName("musicBanner")
            self.banner.setStyleSheet(f"color: {theme.TEXT}; background: #1d2430; "
                                      "padding: 6px 10px; border-radius: 4px;")
            shell.add_banner(self.banner)

        self.actions = music_actions(shell.dialog_parent(), self.music)
        for a in self.actions.values():
            shell.add_action(a)
        self.room_action = room_mode_action(shell.dialog_parent(), self.toggle_room_mode)
        shell.add_action(self.room_action, "view")
        self.panel = MusicPanel(self.music, self.actions,
                                intention=lambda: self.checklist.intention,
                                return_phase=opts.return_phase)
        self.setting = SettingPanel(self.checklist, self.room_action)
        shell.add_side_tab("Setting", self.setting)  # set & setting; short: tabs fit
        self.summary = SettingSummary(self.checklist, self.room_action,
                                      open_checklist=lambda: shell.show_side_tab(self.setting))
        shell.add_bottom_panel(self.panel, 3)
        shell.add_bottom_panel(self.summary, 1, optional=True)  # also in its own tab
        # These panels dim themselves in room mode: the window's veil leaves them out.
        for w in (self.panel, self.setting, self.summary):
            w.setProperty(theme.ROOM_EXEMPT, True)

        ctx.sessions.changed.connect(self.on_session)
        self.follow_doses = opts.follow_doses
        ctx.sessions.committed.connect(self.doses_committed)  # heard, never polled
        autostart = opts.autostart
        if ctx.sessions.current is not None:
            self.on_session(ctx.sessions.current)
        elif autostart == "launch":
            with self.music.automatic():
                self.music.start()

    def record(self, kind: str, payload: dict[str, Any], *, automatic: bool = False) -> None:
        """A music or setting event under the person at the keyboard, or under nobody when
        the console did it by itself (`automatic`, see MusicController)."""
        if self.ctx.sessions.current is None and self._ended_sid is not None:
            # The music stopping as the session ends still belongs to that session.
            now = self.ctx.clock.now()
            self.ctx.writer.append_event(Event(
                kind, now, dict(payload), session_id=self._ended_sid,
                author=None if automatic else self.ctx.sessions.author, recorded=now))
            return
        self.ctx.sessions.record(kind, payload, automatic=automatic)

    def on_session(self, s: OpenSession | None) -> None:
        if s is None:
            self._ended_sid = self._sid
            try:
                with self.music.automatic():  # the music follows the ending by itself
                    self.music.stop("session ended")
            finally:
                self._ended_sid = self._sid = None
            self.checklist.reset()
            return
        self._sid = s.id
        self.checklist.restore(session_events(self.ctx.reader, s.id, SETTING_KINDS))
        phase = self._resume_phase(s.id)
        with self.music.automatic():  # started with the session: nobody pressed play
            if self.music.state is MusicState.STOPPED:
                if music_settings(self.ctx).autostart in ("session", "launch"):
                    self.music.start(phase)
            elif phase and self.music.run is not None and self.music.run.index != phase:
                # A session resumed after an interruption, while the music played from
                # launch: carry on in the phase its record last shows.
                self.music.go_to_phase(phase, trigger="session resumed")

    def doses_committed(self, events: list[Event]) -> None:
        """A dose now in this session's record moves the music (see `dose_given`)."""
        if not self.follow_doses or self._sid is None or not self.music.available:
            return
        for ev in events:
            if ev.kind == Kind.DOSE_GIVEN and ev.session_id == self._sid:
                self.music.dose_given(str(ev.payload.get("role") or ""))

    def _resume_phase(self, sid: int) -> int:
        """After a restart mid-session, carry on in the phase the record last shows."""
        changes = session_events(self.ctx.reader, sid, ["music.phase_changed"])
        if not changes:
            return 0
        idx = self.music.program.index_of(str(changes[-1].payload.get("phase", "")))
        return idx if idx is not None else 0

    def toggle_room_mode(self) -> None:
        on = not theme.room_mode_active()
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply_room_mode(app, on)
        self.ctx.config.room_mode = on
        with contextlib.suppress(OSError):  # the switch still works for this run
            self.ctx.config.save()
        self.record("setting.room_mode", {
            "summary": "Room mode on — console dimmed" if on else "Room mode off",
            "on": on})
        self.panel.set_room_mode(on)
        self.setting.set_room_mode(on)
        self.summary.set_room_mode(on)

    def close(self) -> None:
        if self.music.available and self.music.state is not MusicState.STOPPED:
            with self.music.automatic():
                self.music.stop("console closed")
        self.music.close()


def install(shell: Shell, ctx: AppContext, feed: LiveFeed) -> MusicFeature:
    """Add music and set & setting to the window (see console/app.py FEATURES)."""
    return MusicFeature(shell, ctx)
