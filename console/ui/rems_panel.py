"""Side tab for esketamine sessions: the REMS answers and a one-page monitoring summary.

Everything on the form is derived from the session's record (doses, BP readings, checklist,
gate); only the clinical judgements (sedation, dissociation, respiratory depression, serious
adverse events, when the patient was ready to leave) are typed here, and they are recorded
as a `rems.answers` event. At session end the summary stays on screen for the form.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from console.core import rems
from console.core.dose_day import DoseDay
from console.ui import theme

QUESTIONS = (("sedation", "Sedation (onset, peak, resolved at)"),
             ("dissociation", "Dissociation (onset, resolved at)"),
             ("respiratory_depression", "Respiratory depression (Y/N, details)"),
             ("serious_ae", "Serious adverse events (none, or what)"),
             ("ready_to_leave_minutes", "Ready to leave at (minutes from first device)"))


class RemsPanel(QFrame):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.day: DoseDay | None = None
        self.inputs: dict[str, QLineEdit] = {}
        form = QFormLayout()
        for key, label in QUESTIONS:
            e = QLineEdit()
            e.setObjectName(f"rems_{key}")
            self.inputs[key] = e
            form.addRow(label, e)
        self.save = QPushButton("Save REMS answers")
        self.save.clicked.connect(self.save_answers)
        self.message = QLabel("")
        self.message.setStyleSheet(f"color: {theme.WARN};")
        self.summary = QLabel("")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.summary.setObjectName("rems_summary")
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.summary)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("<b>Esketamine REMS — Patient Monitoring Form</b> "
                             "(question wording UNVERIFIED; check the current form)"))
        lay.addLayout(form)
        lay.addWidget(self.save)
        lay.addWidget(self.message)
        lay.addWidget(scroll, 1)

    def attach(self, day: DoseDay | None) -> None:
        if day is None and self.day is not None:
            self.refresh(final=True)  # session ended: keep the last summary for the form
        self.day = day
        self.refresh()

    def new_session(self) -> None:
        """Another session begins: nothing of the previous patient's form stays."""
        self.day = None
        for e in self.inputs.values():
            e.clear()
        self.message.clear()
        self.summary.clear()

    def save_answers(self) -> None:
        if self.day is None:
            return
        answers = {k: e.text() for k, e in self.inputs.items() if e.text().strip()}
        if not answers:
            self.message.setText("Nothing typed yet.")
            return
        self.day.record_rems(answers)
        self.message.setText("Saved.")
        self.changed.emit()
        self.refresh()

    def refresh(self, final: bool = False) -> None:
        if self.day is None:
            return
        rows = "".join(f"<tr><td style='color:{theme.TEXT_DIM}; padding-right:12px'>"
                       f"{html.escape(k)}</td><td><b>{html.escape(v)}</b></td></tr>"
                       for k, v in rems.summary(self.day))
        head = "Summary at session end" if final else "Summary so far (from the record)"
        self.summary.setText(f"<p>{head}</p><table>{rows}</table>")
