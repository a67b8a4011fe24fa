"""The station's alarm banner: every active alarm of every room, room first, across the top.

The same colours and wording as the room's banner (console/ui/dosing/alarm_banner.py), with the
room's name leading each line so nobody has to match a colour to a panel. There is no
acknowledge button: an alarm is acknowledged in the room, by someone who has seen the
patient; the room's acknowledgement reaches the station and silences its tone too. A room
the station cannot see while a session is on is listed as well (grey), since its alarms
would not reach the station.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from console.core.dosing.alarms import PRIORITY_ORDER, ActiveAlarm, duration_text
from console.ui import theme
from console.ui.dosing.alarm_banner import ADJUNCT

READ_ONLY = "Acknowledge in the room: the station only watches."


@dataclass(frozen=True, slots=True)
class Line:
    room: str
    alarm: ActiveAlarm | None  # None: the room cannot be seen
    blind_for: float | None = None


def _wall(t: float) -> str:
    return time.strftime("%H:%M", time.localtime(t))


def order(lines: list[Line]) -> list[Line]:
    """Highest priority first, then the oldest; unseen rooms after the alarms."""
    return sorted(lines, key=lambda ln: (
        PRIORITY_ORDER[ln.alarm.priority] if ln.alarm is not None else len(PRIORITY_ORDER),
        ln.alarm.since if ln.alarm is not None else 0.0, ln.room))


class StationBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stationBanner")
        self.rows = QVBoxLayout()
        self.rows.setSpacing(2)
        side = QVBoxLayout()
        hint = QLabel(READ_ONLY)
        hint.setStyleSheet(f"color: {theme.TEXT}; font-size: 15px;")
        adj = QLabel(ADJUNCT)
        adj.setWordWrap(True)
        adj.setMaximumWidth(360)
        adj.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 12px;")
        side.addWidget(hint)
        side.addWidget(adj)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        lay.addLayout(self.rows, 1)
        lay.addLayout(side)
        self.labels: list[QLabel] = []
        self.hide()

    def show_lines(self, lines: list[Line], now: float) -> None:
        """Repaint (every second); labels are reused so the text never blinks."""
        lines = order(lines)
        self.setVisible(bool(lines))
        while len(self.labels) > len(lines):
            lab = self.labels.pop()
            self.rows.removeWidget(lab)
            lab.deleteLater()
        while len(self.labels) < len(lines):
            lab = QLabel("")
            lab.setStyleSheet("font-size: 22px;")
            lab.setWordWrap(True)
            self.rows.addWidget(lab)
            lab.show()
            self.labels.append(lab)
        if not lines:
            return
        first = lines[0].alarm
        top = theme.PRIORITY_COLOURS[first.priority] if first is not None else theme.STALE
        style = (f"QFrame#stationBanner {{ background: {theme.dim(top, 0.22)}; "
                 f"border: 3px solid {top}; border-radius: 6px; }}")
        if self.styleSheet() != style:
            self.setStyleSheet(style)
        for ln, lab in zip(lines, self.labels, strict=True):
            room = f"<b style='color:{theme.TEXT}'>{html.escape(ln.room.upper())}</b>&nbsp;&nbsp;"
            a = ln.alarm
            if a is None:
                text = (room + f"<span style='color:{theme.TEXT_DIM}'>cannot be seen from the "
                        f"station for {duration_text(ln.blind_for or 0)} — its alarms do not "
                        "reach here. Go to the room.</span>")
            else:
                colour = theme.PRIORITY_COLOURS[a.priority]
                text = (room + f"<b style='color:{colour}'>{a.priority.upper()}</b>&nbsp;&nbsp;"
                        f"<span style='color:{theme.TEXT}'>{html.escape(a.summary)}</span>"
                        f"<span style='color:{theme.TEXT_DIM}'> · since {_wall(a.since)} "
                        f"({duration_text(now - a.since)})")
                if a.silenced_until is not None and now < a.silenced_until:
                    text += f" · silenced in the room by {html.escape(a.acked_by or '')}"
                text += "</span>"
            if lab.text() != text:
                lab.setText(text)

    def texts(self) -> list[str]:
        return [lab.text() for lab in self.labels]
