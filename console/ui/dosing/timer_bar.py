"""The timer line under the session header: since dose, observation left, next check, infusion.

Readable from two metres: the since-dose clock is the largest number on the screen. Values
come from a `TimerSnapshot` (derived from stored times); this widget only paints them.
A due check turns yellow, an overdue one amber on dark with the minutes it is late; nothing
blinks (checks are reminders, not alarms).
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from console.core.dosing.timers import TimerSnapshot, hms, ms
from console.ui import theme


def _wall(t: float) -> str:
    return time.strftime("%H:%M", time.localtime(t))


OBSERVE_PX = 44
NEXT_PX = 30
OVERDUE = "#ffb347"
OVERDUE_BG = "#3a2608"
NO_TIME = "--:--:--"
NO_TIME_COLOUR = "#3a434d"  # no dose yet: a quiet placeholder, not a bar of dashes
# (since-dose clock, observation left, next check) in px for each screen size: the clock is
# always larger than the vitals' numerals (≥ 48 px), and on a low screen it gives up height.
SCALES = {"compact": (60, 34, 22), "normal": (theme.CLOCK_PX, OBSERVE_PX, NEXT_PX),
          "large": (104, 56, 36)}


def duration_words(seconds: float) -> str:
    """'4 min 34 s', '52 s', '1 h 05 min': a duration in words, never like a clock time."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def _big(colour: str, px: int) -> str:
    """Font size by stylesheet: the app stylesheet would override a QFont set in code."""
    return f"color: {colour}; font-size: {px}px; font-weight: bold;"


def _caption(text: str) -> QLabel:
    lab = QLabel(text)
    lab.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 13px; letter-spacing: 1px;")
    return lab


class TimerBar(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.clock_px, self.observe_px, self.next_px = SCALES["normal"]
        self.since = QLabel(NO_TIME)
        self.since_note = QLabel("no dose yet")
        self.since_note.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 15px;")
        self.observe = QLabel(NO_TIME)
        self.observe_note = QLabel("")
        self.observe_note.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 15px;")
        self.next = QLabel("—")
        self.next.setWordWrap(True)
        self.next.setMinimumWidth(140)
        self.next_note = QLabel("")
        self.next_note.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 15px;")
        for note in (self.since_note, self.observe_note, self.next_note):
            note.setWordWrap(True)
        self.infusion = QLabel("")
        self.infusion.setWordWrap(True)
        self.infusion.setStyleSheet("font-size: 18px;")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(10)
        self.progress.setStyleSheet(
            f"QProgressBar {{ background: #0f1318; border: 1px solid {theme.PANEL_EDGE}; }}"
            f"QProgressBar::chunk {{ background: {theme.dim(theme.OK, 0.8)}; }}")
        self.infusion_box = QWidget()
        ib = QVBoxLayout(self.infusion_box)
        ib.setContentsMargins(0, 0, 0, 0)
        ib.addWidget(_caption("INFUSION"))
        ib.addWidget(self.infusion)
        ib.addWidget(self.progress)
        self.infusion_box.hide()
        self.source = ""
        self._why = ""
        self.since.setStyleSheet(_big(NO_TIME_COLOUR, self.clock_px))
        self.observe.setStyleSheet(_big(NO_TIME_COLOUR, self.observe_px))
        self.next.setStyleSheet(_big(theme.TEXT_DIM, self.next_px))
        self._snap: TimerSnapshot | None = None

        row = QHBoxLayout(self)  # sits in the session header's frame: no frame of its own
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(24)
        # Each: caption, big number, note. On a low screen the note moves up beside the
        # caption, so the header is one number high.
        self._columns: list[tuple[QHBoxLayout, QVBoxLayout, QLabel]] = []
        self._notes_beside = False
        for cap, big, note in (("SINCE DOSE", self.since, self.since_note),
                               ("MIN. OBSERVATION LEFT", self.observe, self.observe_note),
                               ("NEXT CHECK", self.next, self.next_note)):
            col = QVBoxLayout()
            col.setSpacing(0)
            head = QHBoxLayout()
            head.setSpacing(10)
            head.addWidget(_caption(cap), 0, Qt.AlignmentFlag.AlignTop)
            col.addLayout(head)
            col.addWidget(big)
            col.addWidget(note)
            col.addStretch(1)
            self._columns.append((head, col, note))
            row.addLayout(col, 2 if big is self.next else 0)
        row.addWidget(self.infusion_box, 1)
        row.addStretch(0)

    def set_scale(self, scale: str) -> None:
        """Numeral sizes for the screen ("compact", "normal", "large"; see SCALES)."""
        sizes = SCALES.get(scale, SCALES["normal"])
        if sizes == (self.clock_px, self.observe_px, self.next_px):
            return
        self.clock_px, self.observe_px, self.next_px = sizes
        beside = scale == "compact"
        if beside != self._notes_beside:
            self._notes_beside = beside
            # only the since-dose note: under the large clock it would add a line to the
            # header; the other two fit under their smaller numbers
            head, col, note = self._columns[0]
            (col if beside else head).removeWidget(note)
            if beside:
                head.addWidget(note, 1)
            else:
                col.insertWidget(2, note)
        self.show_snapshot(self._snap)

    def _source(self) -> str:
        """Where the time comes from: beside the time, or (low screen) in its tooltip."""
        self.observe_note.setToolTip(self._why + self.source if self._notes_beside
                                     else self._why)
        return "" if self._notes_beside else self.source

    def set_source(self, minutes: float, file: str, why: str) -> None:
        """Say where the minimum observation time comes from (a default a clinic can change)."""
        self.source = f" · {minutes:g} min per {file}"
        self._why = why
        self.observe_note.setToolTip(why)

    def show_snapshot(self, snap: TimerSnapshot | None) -> None:
        self._snap = snap
        if snap is None or snap.first_dose is None:
            quiet = "font-weight: normal;"
            self.since.setText(NO_TIME)
            self.since.setStyleSheet(_big(NO_TIME_COLOUR, self.clock_px) + quiet)
            self.since_note.setText("no dose yet")
            self.observe.setText(NO_TIME)
            self.observe.setStyleSheet(_big(NO_TIME_COLOUR, self.observe_px) + quiet)
            self.observe_note.setText("")
            self.next.setText("—")
            self.next.setStyleSheet(_big(theme.TEXT_DIM, self.next_px))
            self.next_note.setText("checks start at the first dose")
            self.infusion_box.hide()
            return
        self.since.setText(hms(snap.since_first or 0))
        self.since.setStyleSheet(_big(theme.TEXT, self.clock_px))
        note = f"first dose {_wall(snap.first_dose)}"
        if snap.dose_count > 1 and snap.since_last is not None:
            note += (f" · last dose {duration_words(snap.since_last)} ago "
                     f"({snap.dose_count} doses)")
        self.since_note.setText(note)
        left = snap.observation_left
        if left is not None and snap.observation_end is not None:
            if left > 0:
                self.observe.setText(hms(left))
                self.observe.setStyleSheet(_big(theme.TEXT, self.observe_px))
                self.observe_note.setText(f"until {_wall(snap.observation_end)}{self._source()}")
            else:
                self.observe.setText("complete")
                self.observe.setStyleSheet(_big(theme.OK, self.observe_px))
                self.observe_note.setText(f"since {_wall(snap.observation_end)}{self._source()}")
        c = snap.next_check
        if c is None:
            self.next.setText("none scheduled")
            self.next.setStyleSheet(_big(theme.TEXT_DIM, self.next_px))
            self.next_note.setText("")
        elif c.state == "upcoming":
            self.next.setText(f"{c.label} in {ms(c.due - snap.now)}")
            self.next.setStyleSheet(_big(theme.TEXT, self.next_px))
            self.next_note.setText(f"due {_wall(c.due)}")
        elif c.state == "due":
            self.next.setText(f"{c.label} — DUE now")
            self.next.setStyleSheet(_big(theme.WARN, self.next_px))
            self.next_note.setText(f"due {_wall(c.due)} · overdue at {_wall(c.overdue_at)}")
        else:
            late = (snap.now - c.due) / 60
            self.next.setText(f"{c.label} — OVERDUE {late:.0f} min")
            self.next.setStyleSheet(_big(OVERDUE, self.next_px)
                                    + f"background: {OVERDUE_BG}; padding: 2px 8px;")
            self.next_note.setText(f"was due {_wall(c.due)} — record a value to clear")
        inf = snap.infusion
        if inf is None:
            self.infusion_box.hide()
            return
        self.infusion_box.show()
        frac = min(1.0, inf.mg_so_far / inf.planned_mg) if inf.planned_mg else 0.0
        self.progress.setValue(int(frac * 1000))
        state = {"running": "running", "paused": "PAUSED", "complete": "complete",
                 "stopped": "stopped"}[inf.state]
        self.infusion.setText(
            f"{ms(inf.running_s)} / {ms(inf.planned_s)} · {inf.mg_so_far:.1f} of "
            f"{inf.planned_mg:g} mg · {inf.rate_mg_per_h:g} mg/h · {state}")
        self.infusion.setStyleSheet(
            f"font-size: 18px; color: {theme.WARN if inf.state == 'paused' else theme.TEXT};")
