"""One room at the station: who, which protocol, vitals, timers, alarms, link and lag.

Readable across the station at 2 a.m.: the room name and the vitals are the largest text; an
alarm turns the panel's frame and a band across it the priority colour (IEC 60601-1-8: high
red, medium yellow, low cyan); a room whose data stopped arriving goes grey as a whole with
one sentence saying for how long, so an old number is never read as a current one. Nothing
here is clickable except the whole panel, which opens the room's trend and timeline.
"""

from __future__ import annotations

import html
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from console.central.rooms import (
    REPLICATION_ALLOWANCE_S,
    RoomState,
    hr_label,
    initials,
    nibp_text,
    value_text,
)
from console.core.dosing.alarms import duration_text
from console.core.dosing.timers import hms, ms
from console.core.vitals_table import VITAL
from console.ui import theme
from console.ui.dosing.timer_bar import OVERDUE, OVERDUE_BG
from console.ui.vitals.vital_tile import age_text
from devices.reading import Reading

VALUE_PX = 58
ROOM_PX = 30
CLOCK_PX = 38
NEXT_PX = 22


def _wall(t: float) -> str:
    return time.strftime("%H:%M", time.localtime(t))


def _restyle(w: QWidget, style: str) -> None:
    """Only a real change re-polishes a widget (every panel repaints every second)."""
    if w.styleSheet() != style:
        w.setStyleSheet(style)


def _caption(text: str) -> QLabel:
    lab = QLabel(text)
    lab.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 12px; letter-spacing: 1px;")
    return lab


def _style(colour: str, px: int, bold: bool = True) -> str:
    return f"color: {colour}; font-size: {px}px;" + (" font-weight: bold;" if bold else "")


class _Value:
    """Caption, big number, small line (unit, age)."""

    def __init__(self, caption: str, colour: str) -> None:
        self.colour = colour
        self.caption = _caption(caption)
        self.value = QLabel("–")
        self.value.setStyleSheet(_style(theme.STALE, VALUE_PX))
        self.note = QLabel("")
        self.note.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 13px;")
        self.box = QVBoxLayout()
        self.box.setSpacing(0)
        for w in (self.caption, self.value, self.note):
            self.box.addWidget(w)

    def show(self, caption: str, text: str | None, note: str, live: bool) -> None:
        self.caption.setText(caption)
        self.value.setText(text if text is not None else "–")
        _restyle(self.value, _style(self.colour if live and text is not None
                                    else theme.STALE, VALUE_PX))
        self.note.setText(note)


class RoomPanel(QFrame):
    opened = Signal(str)  # the room's name: show its trend and timeline

    def __init__(self, room: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.room = room
        self.state: RoomState | None = None
        self.full_names = False  # full patient name only while staff are signed in
        self.setObjectName("roomPanel")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # Tab to a room, Enter opens it
        self.setToolTip(f"{room}: open its trend and timeline (read only)")
        self.name = QLabel(room)
        self.name.setStyleSheet(_style(theme.TEXT, ROOM_PX))
        self.who = QLabel("")
        self.who.setStyleSheet(_style(theme.TEXT, 18, bold=False))
        self.who.setWordWrap(True)
        self.link = QLabel("")
        self.link.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.link.setStyleSheet("font-size: 14px;")
        self.sync = QLabel("")
        self.sync.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.sync.setStyleSheet("font-size: 14px;")
        self.stale = QLabel("")
        self.stale.setWordWrap(True)
        self.stale.setStyleSheet(f"color: {theme.TEXT}; background: #262b31; font-size: 18px; "
                                 "font-weight: bold; padding: 6px 8px; border-radius: 4px;")
        self.stale.hide()
        self.alarm = QLabel("")
        self.alarm.setWordWrap(True)
        self.alarm.setTextFormat(Qt.TextFormat.RichText)
        self.hr = _Value("HR", VITAL["hr"].colour)
        self.spo2 = _Value("SpO2", VITAL["spo2"].colour)
        self.nibp = _Value("NIBP", theme.NIBP)
        self.since = QLabel("--:--:--")
        self.observe = QLabel("--:--:--")
        self.next = QLabel("—")
        self.next.setWordWrap(True)
        self.timer_notes = QLabel("")
        self.timer_notes.setWordWrap(True)
        self.timer_notes.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 13px;")
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(f"color: {theme.WARN}; font-size: 13px;")
        self.problem.hide()

        head = QHBoxLayout()
        left = QVBoxLayout()
        left.setSpacing(0)
        left.addWidget(self.name)
        left.addWidget(self.who)
        right = QVBoxLayout()
        right.setSpacing(2)
        right.addWidget(self.link)
        right.addWidget(self.sync)
        right.addStretch(1)
        head.addLayout(left, 1)
        head.addLayout(right)
        vitals = QHBoxLayout()
        vitals.setSpacing(18)
        for v in (self.hr, self.spo2, self.nibp):
            vitals.addLayout(v.box)
        vitals.addStretch(1)
        self.timer_box = QWidget()
        timers = QGridLayout(self.timer_box)
        timers.setContentsMargins(0, 0, 0, 0)
        timers.setHorizontalSpacing(24)
        timers.setVerticalSpacing(0)
        for col, (cap, w) in enumerate((("SINCE DOSE", self.since),
                                        ("MIN. OBSERVATION LEFT", self.observe))):
            timers.addWidget(_caption(cap), 0, col)
            timers.addWidget(w, 1, col)
        timers.setColumnStretch(2, 1)
        self.check_box = QWidget()
        check = QHBoxLayout(self.check_box)
        check.setContentsMargins(0, 0, 0, 0)
        check.setSpacing(10)
        check.addWidget(_caption("NEXT CHECK"), 0, Qt.AlignmentFlag.AlignVCenter)
        check.addWidget(self.next, 1)
        for box in (self.timer_box, self.check_box):  # the panel's colour shows through
            box.setObjectName("roomPanelRow")
            box.setStyleSheet("QWidget#roomPanelRow { background: transparent; }")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(14, 10, 14, 12)
        lay.setSpacing(8)
        lay.addLayout(head)
        lay.addWidget(self.stale)
        lay.addWidget(self.alarm)
        lay.addLayout(vitals)
        lay.addWidget(self.timer_box)
        lay.addWidget(self.timer_notes)
        lay.addWidget(self.check_box)
        lay.addWidget(self.problem)
        lay.addStretch(1)
        self._frame(theme.PANEL_EDGE, 1)

    # ----- input -----
    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.opened.emit(self.room)
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.opened.emit(self.room)
            return
        super().keyPressEvent(event)

    def _frame(self, colour: str, width: int) -> None:
        style = (f"QFrame#roomPanel {{ background: {theme.PANEL}; border: {width}px solid "
                 f"{colour}; border-radius: 8px; }}")
        if self.styleSheet() != style:
            self.setStyleSheet(style)

    # ----- painting -----
    def set_state(self, state: RoomState, now: float, mono: float) -> None:
        self.state = state
        self.refresh(now, mono)

    def refresh(self, now: float, mono: float) -> None:
        """Repaint from the state and the time now (called every second)."""
        st = self.state
        if st is None:
            return
        beat = st.heartbeat
        age = beat.age(mono) if beat is not None else None
        stale = beat is None or beat.stale(mono)
        self._header(st, now, stale, age)
        alarms = st.alarms()
        if stale:
            self.stale.setText(
                f"No data from {st.room} for {duration_text(age)} — what is shown here is "
                f"from {_wall(now - age)} and may be out of date. Go to the room."
                if age is not None else
                f"No data from {st.room} yet — its console has not reached the server.")
            self.stale.show()
        else:
            self.stale.hide()
        if alarms:
            top = theme.PRIORITY_COLOURS[alarms[0].priority]
            rows = []
            for a in alarms:
                c = theme.PRIORITY_COLOURS[a.priority]
                silenced = (f" · silenced in the room by {html.escape(a.acked_by or '')}"
                            if a.silenced_until is not None and now < a.silenced_until else "")
                rows.append(f"<b style='color:{c}'>{a.priority.upper()}</b>&nbsp; "
                            f"<span style='color:{theme.TEXT}'>{html.escape(a.summary)}</span>"
                            f"<span style='color:{theme.TEXT_DIM}'> · {duration_text(now - a.since)}"
                            f"{silenced}</span>")
            self.alarm.setText("<br>".join(rows))
            _restyle(self.alarm, f"font-size: 18px; background: {theme.dim(top, 0.22)}; "
                                     f"border: 2px solid {top}; border-radius: 4px; "
                                     "padding: 4px 8px;")
            self._frame(theme.dim(top, 0.6) if stale else top, 3)
        else:
            self.alarm.setText("" if not st.in_progress else
                               "Alarms not known while no data arrive" if stale else "No alarms")
            _restyle(self.alarm, f"color: {theme.TEXT_DIM}; font-size: 15px; padding: 0 2px;")
            self._frame(theme.PANEL_EDGE, 1)
        self._vitals(st, now, stale)
        self._timers(st, now, stale)

    def _header(self, st: RoomState, now: float, stale: bool, age: float | None) -> None:
        _restyle(self.name, _style(theme.TEXT_DIM if stale else theme.TEXT, ROOM_PX))
        if st.session is None:
            self.who.setText("No session recorded yet")
        elif not st.in_progress:
            end = st.session.ended
            self.who.setText("No session in progress" + (f" (last ended {_wall(end)})"
                                                         if end else ""))
        else:
            name = (st.patient_name or "") if self.full_names else initials(st.patient_name)
            self.who.setText(" · ".join(x for x in (name or "no patient named",
                                                    st.template_title or "no protocol") if x))
        _restyle(self.who, _style(theme.TEXT_DIM if stale or not st.in_progress
                                      else theme.TEXT, 18, bold=False))
        links = [lk for lk in st.links if st.in_progress]
        if not links:
            self.link.setText("")
        else:
            bits = []
            for lk in links:
                colour = (theme.OK if lk.state == "live" else theme.TEXT_DIM
                          if lk.state == "stopped" else theme.WARN)
                bits.append(f"<span style='color:{colour}'>● {html.escape(lk.source)}: "
                            f"{html.escape(lk.state)}</span>")
            self.link.setText("<br>".join(bits))
        beat = st.heartbeat
        if beat is None or age is None:
            self.sync.setText(f"<span style='color:{theme.TEXT_DIM}'>not replicating</span>")
            return
        if stale:
            text = f"<span style='color:{theme.TEXT_DIM}'>last heard {_wall(now - age)}</span>"
        elif beat.last_error:
            text = f"<span style='color:{theme.WARN}'>{html.escape(beat.last_error)}</span>"
        elif beat.behind_seconds and beat.behind_seconds >= 5:
            text = (f"<span style='color:{theme.WARN}'>{duration_text(beat.behind_seconds)} "
                    f"behind ({beat.behind_rows or 0:,} rows)</span>")
        else:
            text = f"<span style='color:{theme.TEXT_DIM}'>up to date</span>"
        self.sync.setText(text)

    def _vitals(self, st: RoomState, now: float, stale: bool) -> None:
        if not st.in_progress:
            for v in (self.hr, self.spo2, self.nibp):
                v.show(v.caption.text(), None, "", False)
            return
        hr, spo2, sys = st.latest.get("hr"), st.latest.get("spo2"), st.latest.get("sys")

        def live(param: str, t: float | None) -> bool:
            return (not stale and t is not None
                    and now - t <= VITAL[param].stale_s + REPLICATION_ALLOWANCE_S)

        def note(unit: str, t: float | None, param: str) -> str:
            if t is None:
                return "no value yet"
            return unit if live(param, t) else f"{unit} · {age_text(now - t)}"

        def t(r: Reading | None) -> float | None:
            return None if r is None else r.t

        self.hr.show(hr_label(hr), value_text("hr", hr), note("/min", t(hr), "hr"),
                     live("hr", t(hr)))
        self.spo2.show("SpO2", value_text("spo2", spo2), note("%", t(spo2), "spo2"),
                       live("spo2", t(spo2)))
        self.nibp.show("NIBP", nibp_text(st.latest),
                       "no value yet" if sys is None else f"mmHg · {age_text(now - sys.t)}",
                       live("sys", t(sys)))

    def _timers(self, st: RoomState, now: float, stale: bool) -> None:
        snap = st.timers()
        colour = theme.TEXT_DIM if stale else theme.TEXT
        self.problem.setText(st.template_problem or "")
        self.problem.setVisible(bool(st.template_problem) and st.in_progress)
        no_protocol = st.in_progress and st.day is None and not st.template_problem
        self.timer_box.setVisible(not no_protocol)
        self.check_box.setVisible(not no_protocol)
        if no_protocol:
            self.timer_notes.setText("Recording without a dosing protocol: no dose timers or "
                                     "checks in this session.")
            return
        if snap is None or snap.first_dose is None:
            for w in (self.since, self.observe):
                w.setText("--:--:--")
                _restyle(w, _style(theme.STALE, CLOCK_PX, bold=False))
            self.next.setText("—")
            _restyle(self.next, _style(theme.STALE, NEXT_PX, bold=False))
            self.timer_notes.setText("no dose yet" if st.in_progress and st.day is not None
                                     else "")
            return
        snap_now = snap.now
        self.since.setText(hms(snap.since_first or 0))
        _restyle(self.since, _style(colour, CLOCK_PX))
        left = snap.observation_left
        notes = [f"first dose {_wall(snap.first_dose)}"
                 + (f" ({snap.dose_count} doses)" if snap.dose_count > 1 else "")]
        if left is not None and snap.observation_end is not None:
            done = left <= 0
            self.observe.setText("complete" if done else hms(left))
            _restyle(self.observe, _style(theme.OK if done and not stale else colour,
                                              CLOCK_PX))
            notes.append(("observation complete since " if done else "observation until ")
                         + _wall(snap.observation_end))
        c = snap.next_check
        if c is None:
            self.next.setText("none scheduled")
            _restyle(self.next, _style(theme.TEXT_DIM, NEXT_PX, bold=False))
        elif c.state == "upcoming":
            self.next.setText(f"{c.label} in {ms(c.due - snap_now)}")
            _restyle(self.next, _style(colour, NEXT_PX))
        elif c.state == "due":
            self.next.setText(f"{c.label} — DUE now")
            _restyle(self.next, _style(theme.TEXT_DIM if stale else theme.WARN, NEXT_PX))
        else:
            late = (snap_now - c.due) / 60
            self.next.setText(f"{c.label} — OVERDUE {late:.0f} min")
            _restyle(self.next, _style(theme.TEXT_DIM, NEXT_PX) if stale else
                                    _style(OVERDUE, NEXT_PX)
                                    + f"background: {OVERDUE_BG}; padding: 1px 6px;")
        self.timer_notes.setText(" · ".join(notes))

    # ----- for the window and tests -----
    def alarm_text(self) -> str:
        return self.alarm.text()
