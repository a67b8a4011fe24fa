"""Side tab: type vitals by hand, and adjust this patient's alarm limits.

Manual values are stored as MANUAL readings and count for checks and alarms like monitor
values. Each limit shows where its default came from; a change needs a new value (and a
reason, recommended) and is recorded with the user's name.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from console.core.dosing.dose_day import DoseDay
from console.core.dosing.dosing import DoseInputError
from console.core.vitals_table import VITALS
from console.ui import theme

# One field per row of the vital-sign table, blood pressure first (the value most often typed).
FIELDS = tuple((v.key, v.short, v.colour)
               for v in sorted(VITALS, key=lambda v: v.tile != "nibp"))


class LimitsPanel(QFrame):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.day: DoseDay | None = None
        self.values: dict[str, QLineEdit] = {}
        vrow = QGridLayout()
        for col, (key, label, colour) in enumerate(FIELDS):
            lab = QLabel(label)
            lab.setStyleSheet(f"color: {colour};")
            e = QLineEdit()
            e.setObjectName(f"manual_{key}")
            e.setMaximumWidth(80)
            e.returnPressed.connect(self.save_vitals)
            vrow.addWidget(lab, 0, col)
            vrow.addWidget(e, 1, col)
            self.values[key] = e
        self.when = QLineEdit()
        self.when.setPlaceholderText("now / hh:mm / min ago")
        vrow.addWidget(QLabel("time"), 0, len(FIELDS))
        vrow.addWidget(self.when, 1, len(FIELDS))
        self.save = QPushButton("Save vitals  (F3)")
        self.save.setMinimumHeight(44)
        self.save.clicked.connect(self.save_vitals)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {theme.WARN};")
        self.limits = QGridLayout()
        self.limit_edits: dict[str, QLineEdit] = {}
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("reason for the change (recorded)")
        self.apply = QPushButton("Apply limit changes")
        self.apply.clicked.connect(self.apply_limits)
        inner = QWidget()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        lay = QVBoxLayout(inner)
        lay.addWidget(QLabel("<b>Vitals by hand</b> (manual cuff, no monitor)"))
        lay.addLayout(vrow)
        lay.addWidget(self.save)
        lay.addWidget(self.message)
        lay.addWidget(QLabel("<b>Alarm limits for this patient</b>"))
        lay.addLayout(self.limits)
        arow = QHBoxLayout()
        arow.addWidget(self.reason, 1)
        arow.addWidget(self.apply)
        lay.addLayout(arow)
        note = QLabel("Holdspace is an adjunct display, not a certified alarm system: set the "
                      "bedside monitor's own limits too.")
        note.setWordWrap(True)
        note.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 12px;")
        lay.addWidget(note)
        lay.addStretch(1)

    def attach(self, day: DoseDay | None) -> None:
        self.day = day
        while self.limits.count():
            item = self.limits.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.deleteLater()
        self.limit_edits.clear()
        if day is None:
            return
        for row, rule in enumerate(day.alarms.rules.values()):
            colour = theme.PRIORITY_COLOURS[rule.priority]
            name = QLabel(f"<span style='color:{colour}'>{rule.priority}</span> "
                          + html.escape(rule.describe()
                                        + (f" ({rule.label})" if rule.label else "")))
            e = QLineEdit(f"{rule.limit:g}")
            e.setObjectName(f"limit_{rule.id}")
            e.setMaximumWidth(70)
            src = QLabel(f"from {day.template.path.name}: "
                         + (rule.source or "template default"))
            src.setTextFormat(Qt.TextFormat.PlainText)
            src.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 12px;")
            src.setWordWrap(True)
            name.setToolTip(src.text())
            self.limits.addWidget(name, 2 * row, 0)
            self.limits.addWidget(e, 2 * row, 1)
            self.limits.addWidget(src, 2 * row + 1, 0, 1, 2)
            self.limit_edits[rule.id] = e

    def save_vitals(self) -> None:
        if self.day is None:
            return
        try:
            self.day.manual_vitals(
                {k: e.text() for k, e in self.values.items()}, self.when.text())
        except DoseInputError as err:
            self.message.setText(str(err))
            return
        self.message.setText("")
        for edit in self.values.values():
            edit.clear()
        self.when.clear()
        self.changed.emit()

    def apply_limits(self) -> None:
        day = self.day
        if day is None:
            return
        todo: list[tuple[str, str]] = []
        try:  # check every value first, so nothing is written half-way
            for rule_id, e in self.limit_edits.items():
                text = e.text().strip()
                if day.parse_limit(rule_id, text) != day.alarms.rules[rule_id].limit:
                    todo.append((rule_id, text))
        except DoseInputError as err:
            self.message.setText(str(err))
            return
        for rule_id, text in todo:
            day.set_limit(rule_id, text, self.reason.text().strip())
        changed = len(todo)
        self.message.setText(f"{changed} limit(s) changed and recorded." if changed else
                             "No limit was changed.")
        self.reason.clear()
        self.attach(day)
        self.changed.emit()
