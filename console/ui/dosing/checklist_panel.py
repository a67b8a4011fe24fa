"""Before the first dose: the template's checklist, the baseline, and the safety gate.

Each answer is recorded the moment it is given (a `checklist.item` event). The gate line says
in words why dosing is locked; a clinician can override with a written reason, recorded with
their name. After the first dose the panel shrinks to one line saying how the gate was met.
"""

from __future__ import annotations

import html
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.core.dosing.dose_day import DoseDay
from console.core.dosing.dosing import DoseInputError
from console.core.dosing.gate import HoursInputError, parse_hours
from console.ui import theme
from console.ui.dosing.wrap_check import WrapCheck

BEFORE_TITLE = "<b>Before the first dose</b>"


class ChecklistPanel(QFrame):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        # Big, visible tick boxes: the dark theme's default indicator is hard to see.
        self.setStyleSheet(
            "QCheckBox, WrapCheck QLabel { font-size: 16px; }"
            "QCheckBox { spacing: 10px; padding: 3px 0; }"
            "QCheckBox::indicator { width: 22px; height: 22px; border: 2px solid #6b7682; "
            "border-radius: 4px; background: #0f1318; }"
            f"QCheckBox::indicator:checked {{ background: {theme.OK}; border-color: {theme.OK}; }}")
        self.day: DoseDay | None = None
        self.title = QLabel(BEFORE_TITLE)
        self.form = QFormLayout()
        self.form.setVerticalSpacing(4)
        # A typed item's label goes above its field when the tab is narrow.
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.inputs: dict[str, QCheckBox | QLineEdit] = {}
        self.problems: dict[str, QLabel] = {}  # a typed answer that was refused, beside it
        self.gate = QLabel("")
        self.gate.setWordWrap(True)
        self.gate.setStyleSheet("font-size: 16px;")
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Reason for overriding the gate (recorded with your name)")
        self.override = QPushButton("Override gate")
        self.override.clicked.connect(self._override)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {theme.WARN};")
        self.source = QLabel("")
        self.source.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 12px;")
        self.source.setWordWrap(True)
        self.body = QWidget()
        b = QVBoxLayout(self.body)
        b.setContentsMargins(0, 0, 0, 0)
        b.addLayout(self.form)
        b.addWidget(self.gate)
        orow = QHBoxLayout()
        orow.addWidget(self.reason, 1)
        orow.addWidget(self.override)
        b.addLayout(orow)
        b.addWidget(self.message)
        b.addWidget(self.source)
        self.done_line = QLabel("")
        self.done_line.setWordWrap(True)
        self.observation = QLabel("")
        self.observation.setObjectName("observation_checks")
        self.observation.setWordWrap(True)
        self.observation.setTextFormat(Qt.TextFormat.RichText)
        self.observation.setStyleSheet("font-size: 17px;")
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.body)
        lay.addWidget(self.done_line)
        lay.addWidget(self.observation)
        lay.addStretch(1)

    def attach(self, day: DoseDay | None) -> None:
        if day is not self.day:  # another session: nothing typed for the last one stays
            self.reason.clear()
            self.message.setText("")
        self.day = day
        while self.form.rowCount():
            self.form.removeRow(0)
        self.inputs.clear()
        self.problems.clear()
        if day is None:
            self.refresh()
            return
        for item in day.template.checklist:
            value = day.answers.get(item.id)
            w: QCheckBox | QLineEdit
            if item.kind == "confirm":
                row = WrapCheck(item.label)  # long items wrap: no sideways scrolling
                w = row.box
                w.setChecked(value is True)
                w.toggled.connect(lambda on, i=item.id: self._set(i, bool(on)))
                self.form.addRow(row)
            else:
                w = QLineEdit("" if value is None else (f"{value:g}" if isinstance(
                    value, float | int) else str(value)))
                if item.kind == "hours":
                    w.setPlaceholderText("hours, e.g. 6")
                    w.setMaximumWidth(120)
                w.editingFinished.connect(lambda i=item.id: self._typed(i))
                if item.help:
                    w.setToolTip(item.help)
                label = QLabel(item.label)
                label.setWordWrap(True)  # a long question wraps instead of widening the tab
                self.form.addRow(label, w)
                # Its own full-width line just below the field, shown only when refused.
                problem = QLabel("")
                problem.setObjectName(f"problem_{item.id}")
                problem.setWordWrap(True)
                problem.setStyleSheet(f"color: {theme.WARN}; font-weight: bold; "
                                      "padding: 2px 0;")
                self.problems[item.id] = problem
                self.form.addRow(problem)
                self.form.setRowVisible(problem, False)
            w.setObjectName(f"check_{item.id}")
            self.inputs[item.id] = w
        g = day.template.gate
        self.source.setText(f"Gate limits from {day.template.path.name}"
                            + (f": {g.source}" if g.source else ""))
        self.refresh()

    def _set(self, item_id: str, value: object) -> None:
        if self.day is None or self.day.answers.get(item_id) == value:
            return
        self.day.set_item(item_id, value)
        self.message.setText("")
        self.changed.emit()

    def _typed(self, item_id: str) -> None:
        w = self.inputs.get(item_id)
        if self.day is None or not isinstance(w, QLineEdit):
            return
        item = next(i for i in self.day.template.checklist if i.id == item_id)
        text = w.text().strip()
        if not text:
            self._problem(item_id, "")
            return
        if item.kind == "hours":
            try:
                v = parse_hours(text)  # said right under its own field
            except HoursInputError as e:
                # Said beside the field; what was typed stays, and nothing is recorded.
                self._problem(item_id, f"{e} Not recorded.")
                return
            self._problem(item_id, "")
            self._set(item_id, v)
        else:
            self._set(item_id, text)

    def _problem(self, item_id: str, text: str) -> None:
        label = self.problems.get(item_id)
        w = self.inputs.get(item_id)
        if label is None or w is None:
            return
        label.setText(text)
        self.form.setRowVisible(label, bool(text))
        w.setStyleSheet(f"border: 2px solid {theme.WARN};" if text else "")

    def _override(self) -> None:
        if self.day is None:
            return
        try:
            self.day.override_gate(self.reason.text())
        except DoseInputError as e:
            self.message.setText(str(e))
            return
        self.message.setText("")
        self.reason.clear()
        self.changed.emit()

    def refresh(self) -> None:
        day = self.day
        if day is None:  # nothing of the last session's schedule stays on screen
            self.body.hide()
            self.title.setText(BEFORE_TITLE)
            self.observation.setText("")
            self.done_line.setText("To dose, choose a protocol: Session ▸ Start session… "
                                   "(Ctrl+N), or above, for a session open without one.")
            return
        if day.doses:
            self.body.hide()
            self.title.setText("<b>Observation</b>")
            self.observation.setText(observation_html(day))
            rec = day.gate_record
            if day.override is not None:
                o = day.override
                self.done_line.setText(
                    f"<span style='color:{theme.WARN}'>Gate OVERRIDDEN by {o.author} at "
                    f"{time.strftime('%H:%M', time.localtime(o.t))}: "
                    f"{html.escape(o.payload['reason'])}</span>")
            elif rec is not None:
                self.done_line.setText(f"<span style='color:{theme.OK}'>✓ Gate passed before the "
                                       f"first dose ({rec.payload['summary'].split(': ', 1)[-1]})"
                                       "</span>")
            return
        self.body.show()
        self.title.setText(BEFORE_TITLE)
        self.done_line.setText("")
        self.observation.setText("")
        g = day.gate()
        b = g.baseline
        base = "Baseline: " + " · ".join(
            [f"BP {b['sys']:g}/{b['dia']:g}" if b.get("sys") is not None and b.get("dia")
             is not None else "BP —",
             f"HR {b['hr']:g}" if b.get("hr") is not None else "HR —"])
        if g.passed:
            self.gate.setText(f"<span style='color:{theme.OK}'><b>✓ Gate passed — dosing "
                              f"unlocked.</b></span> {base}")
        elif day.override is not None:
            self.gate.setText(f"<span style='color:{theme.WARN}'><b>Gate overridden by "
                              f"{day.override.author}</b>: "
                              f"{html.escape(day.override.payload['reason'])}"
                              f"</span><br>{base}")
        else:
            reasons = "<br>".join(f"• {html.escape(r)}" for r in g.reasons)
            self.gate.setText(f"<span style='color:{theme.WARN}'><b>Dosing locked</b></span> — "
                              f"{base}<br>{reasons}")
        self.override.setEnabled(not g.passed and day.override is None)


STATE_MARK = {"done": ("✓", theme.OK, "done"), "due": ("●", theme.WARN, "DUE"),
              "overdue": ("!", "#ffb347", "OVERDUE"), "upcoming": ("○", theme.TEXT_DIM, ""),
              "missed": ("✗", theme.TEXT_DIM, "missed")}


def observation_html(day: DoseDay) -> str:
    """The check schedule as a list (T+ minutes, state)."""
    t0 = day.doses[0].t
    now = day.now()
    rows = []
    for c in day.checks():
        if c.state in ("missed", "done") and c.due < now - 45 * 60:
            continue  # keep the list short: the record holds the rest
        sym, colour, word = STATE_MARK[c.state]
        when = f"T+{(c.due - t0) / 60:.0f}′ {time.strftime('%H:%M', time.localtime(c.due))}"
        if c.done_at is not None:
            word = f"done {time.strftime('%H:%M', time.localtime(c.done_at))}"
        rows.append(f"<span style='color:{colour}'>{sym}</span> {when} · "
                    f"{html.escape(c.label)} <span style='color:{colour}'>{word}</span>")
    # The discharge criteria are ticked in the sign-off panel just below (discharge_panel.py).
    return "<br>".join(rows) or "No checks in this protocol."
