"""Dose and observation feature: wires the DoseDay core to the window and the live feed.

`install(shell, ctx, feed)` is the one entry point (listed in console/app.py FEATURES). The
feature follows the open session: when a session opens (or is resumed after a crash) it
rebuilds the DoseDay from the stored events and readings, so timers, due checks and active
alarms are back at once. Live readings and link states go into the alarm rules; the 1 Hz
tick only repaints, checks due times and keeps the alarm sound right. The rules see exactly
the values the tiles show (the source shown for each parameter, and values typed by hand),
so an alarm never contradicts a tile; when the display moves to another monitor, that
monitor's newest values go to the rules at once.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.core.acquisition import SourceSwitch
from console.core.context import AppContext
from console.core.dosing.dose_day import DoseDay
from console.core.dosing.dosing import DoseInputError
from console.core.dosing.templates import PARAM_CODES, PARAMS, Catalog, Template, load_catalog
from console.core.people.roles import Permission, may
from console.core.report import rems_form
from console.core.report.clinic import clinic_from
from console.core.saving import SaveOutcome
from console.core.session import OpenSession, Staff
from console.store.events import Event, session_events
from console.ui import theme
from console.ui.dosing import no_wheel
from console.ui.dosing.alarm_banner import AlarmBanner
from console.ui.dosing.alarm_sound import AlarmSound
from console.ui.dosing.checklist_panel import ChecklistPanel
from console.ui.dosing.discharge_panel import DischargePanel
from console.ui.dosing.dose_panel import DosePanel
from console.ui.dosing.limits_panel import LimitsPanel
from console.ui.dosing.rems_panel import RemsPanel
from console.ui.dosing.timer_bar import TimerBar
from console.ui.live_feed import LiveFeed
from console.ui.shell import Shell
from devices.reading import Quality, Reading

ALARM_CODES = sorted({code for code, _l, _u in PARAMS.values()})


class DoseFeature(QObject):
    def __init__(self, ctx: AppContext, feed: LiveFeed, shell: Shell | None = None,
                 sound: AlarmSound | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.shell = shell
        self.catalog: Catalog = load_catalog(ctx.data_dir)
        self.day: DoseDay | None = None
        self.timer_bar = TimerBar()
        self.banner = AlarmBanner()
        self.template_errors = QLabel("\n".join(str(e) for e in self.catalog.errors))
        self.template_errors.setWordWrap(True)
        self.template_errors.setStyleSheet(f"color: {theme.WARN}; font-size: 14px;")
        self.template_errors.setVisible(bool(self.catalog.errors))
        self.checklist = ChecklistPanel()
        self.dose_panel = DosePanel(staff=lambda: staff_choices(ctx),
                                    givers=lambda: team_who_may(ctx, Permission.GIVE_DOSE))
        self.limits = LimitsPanel()
        self.rems = RemsPanel()
        self.rems.set_store(ctx.sessions, lambda: clinic_from(ctx.config.extra))
        self.discharge: DischargePanel | None = None  # put in by `install`
        self.sound = sound or AlarmSound(ctx.ducking, ctx.data_dir)
        self.sound_note = QLabel(self.sound.unavailable or "")
        self.sound_note.setStyleSheet(f"color: {theme.WARN};")
        self.sound_note.setVisible(bool(self.sound.unavailable))
        # choose a protocol when the session was started without one
        self.chooser = QWidget()
        cr = QHBoxLayout(self.chooser)
        cr.setContentsMargins(0, 0, 0, 0)
        self.chooser_combo = QComboBox()
        for tid, title in self.catalog.choices():
            self.chooser_combo.addItem(title, tid)
        use = QPushButton("Use this protocol")
        use.clicked.connect(self._choose)
        cr.addWidget(QLabel("This session has no dosing protocol:"))
        cr.addWidget(self.chooser_combo, 1)
        cr.addWidget(use)
        self.chooser.hide()
        self.left = QFrame()
        ll = QVBoxLayout(self.left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.chooser)
        ll.addWidget(self.checklist, 1)
        self._markers: set[str] = set()
        self._ticks = 0
        self._alarm_codes: dict[int, str | None] = {}

        for w in (self.checklist, self.dose_panel, self.limits, self.rems):
            w.changed.connect(self.refresh)
        self.dose_panel.dose_recorded.connect(lambda _ev: self._markers_for_doses())
        self.banner.acknowledge.connect(self.acknowledge)
        ctx.sessions.changed.connect(self._session)
        ctx.sessions.patient_changed.connect(self._session)  # e.g. the weight was entered
        ctx.sessions.user_changed.connect(self._user_changed)
        if ctx.sessions.author:
            self.banner.name.setText(ctx.sessions.author)
        feed.samples.connect(self._samples)
        feed.switched.connect(self._switched)
        feed.link_status.connect(self._link)
        feed.second.connect(self._second)
        ctx.sessions.saves.done.connect(self._saved)
        if ctx.sessions.saves.post is None:  # installed without the app's wiring
            ctx.sessions.saves.post = ctx.post
        self._session(ctx.sessions.current)

    # ------------------------------------------------------------------ session
    def template_for(self, s: OpenSession) -> Template | None:
        tpl = self.catalog.get(s.row.template)
        if tpl is not None:
            return tpl
        for e in session_events(self.ctx.reader, s.id, ["dose.protocol"]):
            tpl = self.catalog.get(e.payload.get("template"))
        return tpl

    def _session(self, s: OpenSession | None) -> None:
        if s is not None and self.day is not None and self.day.session_id == s.id:
            # the same session, e.g. the patient's weight was just entered
            self.day.patient = s.patient
            self.day.weight_kg = s.patient.weight_kg if s.patient else None
            self.dose_panel.attach(self.day)
            return
        ended_rems = self.day is not None and self.day.template.rems and s is None
        if s is not None:
            self.rems.new_session()  # the last patient's form summary goes
        self.banner.message.setText("")
        self.day = None
        tpl = self.template_for(s) if s is not None else None
        if s is not None and tpl is not None:
            self.day = DoseDay.open(tpl, self.ctx.sessions, self.ctx.clock, self.ctx.reader,
                                    self.ctx.hub.manual)
            self._seed_from_monitor()
            self.timer_bar.set_source(tpl.observation_minutes, tpl.path.name,
                                      tpl.observation_source)
        self.chooser.setVisible(s is not None and tpl is None)
        self._markers.clear()
        for panel in (self.checklist, self.dose_panel, self.limits, self.rems):
            panel.attach(self.day)
        self.update_tabs()
        if ended_rems and self.shell is not None:
            self.shell.show_side_tab(self.rems)  # the form's one-page summary
        elif self.day is not None and not self.day.doses and self.shell is not None:
            self.shell.show_side_tab(self.left)  # checklist before the 1st dose
        self._markers_for_doses()
        self.refresh()

    def _saved(self, o: SaveOutcome) -> None:
        """A dose reached the disk (the log stops saying "saving…") or was refused."""
        if (self.day is None or o.event.session_id != self.day.session_id
                or not o.event.kind.startswith("dose.")):
            return
        if not o.saved and o.event.kind == "dose.given":
            p = o.event.payload
            panel = self.dose_panel
            mg = p.get("mg")
            if not panel.mg.text().strip() and isinstance(mg, int | float):
                panel.mg.setText(f"{mg:g}")
            if not panel.lot.text().strip():
                panel.lot.setText(str(p.get("lot") or ""))
            panel.message.setText(f"Not saved: {p.get('summary', 'the dose')}. {o.error} It is "
                                  "shown in red in the dose log; record it again.")
        self.dose_panel.refresh()

    def _user_changed(self, user: Staff | None) -> None:
        """Someone else is at the keyboard: the banner and "given by" name them."""
        if user is not None:
            self.banner.name.setText(user.name)
        if self.day is not None:
            self.dose_panel.follow_author(user.name if user is not None else None)

    def update_tabs(self) -> None:
        """The REMS tab only for esketamine sessions (and its summary after the end)."""
        if self.shell is not None:
            self.shell.set_side_tab_visible(self.rems, self.rems.wanted())

    def _seed_from_monitor(self) -> None:
        """The monitor's newest values (e.g. a cuff BP taken before the session was started)
        count as the baseline at once, instead of waiting for the next NIBP cycle; the links'
        states count at once too."""
        if self.day is None:
            return
        latest = [self.ctx.hub.latest(code) for codes in PARAM_CODES.values() for code in codes]
        self.day.readings([r for r in latest if r is not None])
        # The links as they are now: a link alarm rebuilt from the record (a resumed session)
        # clears if its monitor is live again, and one lost now is said at once (a link's
        # state is announced only when it changes, which may have been before this day).
        for st in self.ctx.hub.statuses().values():
            self.day.link(st)

    def _choose(self) -> None:
        s = self.ctx.sessions.current
        tpl = self.catalog.get(self.chooser_combo.currentData())
        if s is None or tpl is None:
            return
        self.day = DoseDay.open(tpl, self.ctx.sessions, self.ctx.clock, self.ctx.reader,
                                    self.ctx.hub.manual)
        self._seed_from_monitor()
        self.timer_bar.set_source(tpl.observation_minutes, tpl.path.name, tpl.observation_source)
        self.chooser.hide()
        for panel in (self.checklist, self.dose_panel, self.limits, self.rems):
            panel.attach(self.day)
        self.update_tabs()
        self.refresh()

    # ------------------------------------------------------------------ live data
    def _shown(self, samples: list[Any]) -> list[Reading]:
        """The readings the tiles show: from the source shown, or typed by hand."""
        shown = self.ctx.hub.shown_source
        return [s for s in samples if isinstance(s, Reading) and (
            s.quality == Quality.MANUAL or shown(s.code) in (None, s.source))]

    def _samples(self, samples: list[Any]) -> None:
        if self.day is None:
            return
        shown = self._shown(samples)
        if self.day.readings(shown) or any(r.quality == Quality.MANUAL for r in shown):
            self.refresh()  # an alarm, or values typed by hand that may satisfy a check
        elif not self.day.doses:
            self.checklist.refresh()  # the baseline follows the monitor before dosing

    def _switched(self, switches: list[SourceSwitch]) -> None:
        """The tiles now show another monitor: the alarm state follows its values."""
        readings = [r for sw in switches for r in sw.readings]
        if self.day is not None and readings:
            self.day.readings(readings)
            self.refresh()

    def _link(self, status: Any) -> None:
        if self.day is not None and self.day.link(status):
            self.refresh_alarms()

    def _second(self, _now: float) -> None:
        if self.day is None:
            return
        res = self.day.tick()
        if res.newly_due or res.newly_overdue:
            self.sound.chime()
        self._ticks += 1
        if self.day.template.rems and self._ticks % 2 == 0:
            self.rems.refresh()  # reads BP rows from the store: every other second is plenty
        self.refresh()

    # ------------------------------------------------------------------ actions
    def acknowledge(self, name: str) -> None:
        """Silence the alarms under the person at the keyboard; at the locked screen under
        whoever typed a name and PIN on the lock, or recorded as silenced there by nobody
        named (an alarm's sound never waits for a sign-in)."""
        if self.day is None:
            return
        people = self.ctx.people
        try:
            if people is not None and people.presence.locked:
                who = people.locked_ack_author(*people.lock_identity())
                self.day.acknowledge(who or "", at_locked_screen=True)
            else:
                typed = name.strip() if people is None else ""  # signed in: no typed names
                self.day.acknowledge(typed or (self.ctx.sessions.author or ""))
        except DoseInputError as e:
            self.banner.message.setText(str(e))
            self.banner.name.setFocus()
            return
        self.banner.message.setText("")
        self.refresh_alarms()

    def record_shortcut(self) -> None:
        panel = self.dose_panel
        if panel.mg.text().strip():
            panel.record()
        else:
            panel.mg.setFocus()
            panel.reveal(panel.mg)

    def manual_shortcut(self) -> None:
        if any(e.text().strip() for e in self.limits.values.values()):
            self.limits.save_vitals()
            return
        if self.shell is not None:
            self.shell.show_side_tab(self.limits)
        self.limits.values["sys"].setFocus()

    # ------------------------------------------------------------------ painting
    def refresh(self) -> None:
        day = self.day
        self.timer_bar.show_snapshot(day.timers() if day is not None else None)
        self.checklist.refresh()
        self.dose_panel.refresh()
        self.refresh_alarms()

    def refresh_alarms(self) -> None:
        day = self.day
        now = day.now() if day is not None else self.ctx.clock.now()
        alarms = day.alarms.ordered() if day is not None else []
        self.banner.show_alarms(alarms, now)
        self.sound.set_priority(day.alarms.sounding(now) if day is not None else None)
        if self.shell is not None:
            for code in ALARM_CODES:
                p = day.alarms.priority_for_code(code) if day is not None else None
                if self._alarm_codes.get(code, "x") != p:
                    self.shell.set_alarm(code, p)
                    self._alarm_codes[code] = p

    def _markers_for_doses(self) -> None:
        if self.day is None or self.shell is None:
            return
        for d in self.day.doses:
            if d.uid not in self._markers:
                self._markers.add(d.uid)
                ev: Event = self.day.dose_events[d.uid]
                self.shell.mark_trend(d.t, f"▼ {ev.payload['mg']:g} mg", theme.TEXT)

    def close(self) -> None:
        self.sound.close()


def staff_choices(ctx: AppContext) -> list[tuple[str, str]]:
    """(name, role) of who may be named the second person: staff whose role may confirm a
    dose beyond the ceiling when people sign in, else the old workstation list."""
    if ctx.people is not None:
        return [(a.name, a.roles_label) for a in ctx.people.accounts()
                if a.active and may(a.roles, Permission.CONFIRM_BEYOND_CEILING)]
    return [(s.name, s.role) for s in ctx.config.staff]


def team_who_may(ctx: AppContext, perm: Permission) -> list[str]:
    """The people signed in at this console who may do `perm` (offered in a name box)."""
    if ctx.people is None:
        return []
    return [a.name for a in ctx.people.team if may(a.roles, perm)]


def install(shell: Shell, ctx: AppContext, feed: LiveFeed) -> DoseFeature:
    """Put the dose-and-observation feature into the main window."""
    no_wheel.install()  # app-wide: no value changes by a stray wheel over any form
    feature = DoseFeature(ctx, feed, shell)
    shell.set_template_choices(lambda: load_catalog(ctx.data_dir).choices())
    shell.add_header_widget(feature.timer_bar)
    shell.add_banner(feature.template_errors)
    shell.add_banner(feature.sound_note)
    shell.add_banner(feature.banner)
    # The pre-dose checklist is a form: it gets a full-height tab, opened by itself when a
    # session starts undosed; the bottom row keeps the dose entry at hand.
    shell.add_side_tab("Checks", feature.left)
    shell.add_bottom_panel(feature.dose_panel, 3, column="right",
                           keep_in_view=feature.dose_panel.record_button)
    # Ending a dosed session is a discharge sign-off, under the checks (no dialog).
    discharge = DischargePanel(ctx.sessions, lambda: feature.day, shell.request_end_session,
                               signers=lambda: team_who_may(ctx, Permission.DISCHARGE))
    left = feature.left.layout()
    assert left is not None
    left.addWidget(discharge)
    discharge.shown.connect(lambda: shell.show_in_side_tab(discharge))
    feed.second.connect(lambda _t: discharge.refresh())  # the time left counts down
    shell.add_end_step(discharge)
    feature.discharge = discharge
    feature.banner.setProperty(theme.ROOM_EXEMPT, True)  # an alarm is never dimmed
    # the lock hides names and the record, never the alarms or the dose timer
    feature.banner.setProperty(theme.LOCK_VISIBLE, True)
    feature.timer_bar.setProperty(theme.LOCK_VISIBLE, True)
    if ctx.people is not None:  # the author is who signed in: no name box on the banner
        feature.banner.name.hide()
    shell.add_side_tab("Vitals && limits", feature.limits)
    shell.add_side_tab("REMS", feature.rems)
    feature.update_tabs()
    # An esketamine session is signed only with its REMS form complete (the notes ask).
    ctx.sessions.add_sign_check(rems_form.sign_blocker)
    shell.action("Record dose", "F2", feature.record_shortcut)
    shell.action("Confirm dose outside protocol", "Ctrl+Y", feature.dose_panel.confirm)
    ack = shell.action("Acknowledge alarms", "F4",
                       lambda: feature.acknowledge(feature.banner.name.text()))
    ack.setProperty(theme.LOCK_KEEPS, True)  # works at the locked screen
    shell.action("Enter vitals by hand", "F3", feature.manual_shortcut)
    return feature
