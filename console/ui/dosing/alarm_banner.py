"""The alarm banner above the vitals: what, since when, who silenced it; acknowledge inline.

Colours by IEC 60601-1-8 priority (high red, medium yellow, low cyan). Acknowledging needs a
name (prefilled with the person at the console) and silences the sound for a set time; the
alarm stays on the banner until the condition clears. No dialog: everything is inline.
The banner says plainly that Holdspace is an adjunct display, not a certified alarm system.
"""

from __future__ import annotations

import html
import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.core.dosing.alarms import ActiveAlarm, duration_text
from console.ui import theme

ADJUNCT = ("Adjunct display — not a certified alarm system. The bedside monitor's alarms "
           "stay on.")


def _wall(t: float) -> str:
    return time.strftime("%H:%M", time.localtime(t))


class AlarmBanner(QFrame):
    acknowledge = Signal(str)  # the name of who acknowledged

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alarmBanner")
        self.rows = QVBoxLayout()
        self.rows.setSpacing(2)
        self.name = QLineEdit()
        self.name.setPlaceholderText("your name")
        self.name.setFixedWidth(170)
        self.ack = QPushButton("Acknowledge — silence 2 min  (F4)")
        self.ack.setMinimumHeight(44)
        self.ack.clicked.connect(self._ack)
        self.name.returnPressed.connect(self._ack)
        self.message = QLabel("")
        self.message.setStyleSheet(f"color: {theme.WARN};")
        adj = QLabel(ADJUNCT)
        adj.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 12px;")
        side = QVBoxLayout()
        ackrow = QHBoxLayout()
        ackrow.addWidget(self.name)
        ackrow.addWidget(self.ack)
        side.addLayout(ackrow)
        side.addWidget(self.message)
        side.addWidget(adj)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        lay.addLayout(self.rows, 1)
        lay.addLayout(side)
        self.labels: list[QLabel] = []
        self.hide()

    def _ack(self) -> None:
        self.acknowledge.emit(self.name.text())

    def show_alarms(self, alarms: list[ActiveAlarm], now: float) -> None:
        """Repaint with what each alarm says now (called every second). The row labels are
        reused, so the text never blinks while it is rewritten."""
        self.setVisible(bool(alarms))
        while len(self.labels) > len(alarms):
            lab = self.labels.pop()
            self.rows.removeWidget(lab)
            lab.deleteLater()
        while len(self.labels) < len(alarms):
            lab = QLabel("")
            lab.setStyleSheet("font-size: 20px;")
            lab.setWordWrap(True)
            self.rows.addWidget(lab)
            lab.show()
            self.labels.append(lab)
        if not alarms:
            self.message.setText("")
            return
        top = theme.PRIORITY_COLOURS[alarms[0].priority]
        style = (f"QFrame#alarmBanner {{ background: {theme.dim(top, 0.22)}; "
                 f"border: 2px solid {top}; border-radius: 6px; }}")
        if self.styleSheet() != style:
            self.setStyleSheet(style)
        for a, lab in zip(alarms, self.labels, strict=True):
            colour = theme.PRIORITY_COLOURS[a.priority]
            text = (f"<b style='color:{colour}'>{a.priority.upper()}</b>&nbsp;&nbsp;"
                    f"<span style='color:{theme.TEXT}'>{html.escape(a.summary)}</span>"
                    f"<span style='color:{theme.TEXT_DIM}'> · since {_wall(a.since)} "
                    f"({duration_text(now - a.since)})</span>")
            if a.silenced_until is not None and now < a.silenced_until:
                text += (f"<span style='color:{theme.TEXT_DIM}'> · silenced by "
                         f"{html.escape(a.acked_by or '')} "
                         f"until {time.strftime('%H:%M:%S', time.localtime(a.silenced_until))}"
                         "</span>")
            if lab.text() != text:
                lab.setText(text)
