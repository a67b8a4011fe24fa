"""Side tab for esketamine sessions: the REMS answers and a one-page monitoring summary.

Everything on the form is derived from the session's record (doses, BP readings, checklist,
gate); only the clinical judgements (sedation, dissociation, respiratory depression, serious
adverse events, when the patient was ready to leave) are typed here, and they are recorded
as a `rems.answers` event. At session end the summary stays on screen for the form, until
another session begins.

The panel is wanted only for a template that asks for it (`rems = true`), and the summary is
computed again from the record whenever the day changes (every recorded event) and when the
session changes, so it can never show an older picture than the record holds.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.core import rems
from console.core.dose_day import DoseDay
from console.store.events import Event
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
        # Questions above their fields: the tab stays narrow enough for any room screen.
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
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
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        title = QLabel("<b>Esketamine REMS — Patient Monitoring Form</b> "
                       "(question wording UNVERIFIED; check the current form)")
        title.setWordWrap(True)
        self.message.setWordWrap(True)
        lay = QVBoxLayout(self)  # the side tab scrolls the whole page
        lay.addWidget(title)
        lay.addLayout(form)
        lay.addWidget(self.save)
        lay.addWidget(self.message)
        lay.addWidget(self.summary, 1)
        self._final_for: int | None = None
        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.setInterval(0)
        self._pending.timeout.connect(self.refresh)

    def wanted(self) -> bool:
        """Shown only for a template that asks for the REMS form (or its ended session's
        summary, kept for filling in the form)."""
        return (self.day is not None and self.day.template.rems) or self._final_for is not None

    def attach(self, day: DoseDay | None) -> None:
        """Follow the open session's day (None: no session, or one without a protocol)."""
        if day is self.day:
            self.refresh()
            return
        old = self.day
        if old is not None:
            old.changed.disconnect(self._day_changed)
            old.sessions.recorded.disconnect(self._recorded)
            old.sessions.patient_changed.disconnect(self._patient_changed)
        self._final_for = None
        if day is None and old is not None and old.template.rems:
            # The session ended: keep its last summary for the form (until the next session).
            self.day = old
            self._render(final=True)
            self._final_for = old.session_id
            self.day = None
            self._set_inputs_enabled(False)
            return
        self.day = day
        self.message.setText("")
        self.summary.setText("")
        for e in self.inputs.values():
            e.clear()
        if day is not None:
            day.changed.connect(self._day_changed)
            day.sessions.recorded.connect(self._recorded)
            day.sessions.patient_changed.connect(self._patient_changed)
            for ev in day.events:  # answers saved before a restart are shown again
                if ev.kind == "rems.answers":
                    for k, v in ev.payload.items():
                        if k in self.inputs:
                            self.inputs[k].setText(str(v))
        self._set_inputs_enabled(day is not None)
        self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    def _set_inputs_enabled(self, on: bool) -> None:
        for e in self.inputs.values():
            e.setEnabled(on)
        self.save.setEnabled(on)

    def _day_changed(self, _kind: str) -> None:
        self.refresh()  # the day has folded the event in: the summary is exact at once

    def _recorded(self, ev: Event) -> None:
        if self.day is not None and ev.session_id == self.day.session_id:
            self._pending.start()  # another feature's event: once the call stack unwinds

    def _patient_changed(self, _session: object) -> None:
        self.refresh()

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

    def refresh(self) -> None:
        """Compute the summary again from the record (nothing kept from before)."""
        if self.day is None or not self.day.template.rems:
            return
        if not self.window().isVisible():
            return  # the console is closing (its database with it); shown again: refreshed
        self._render(final=False)

    def _render(self, final: bool) -> None:
        assert self.day is not None
        rows = "".join(f"<tr><td style='color:{theme.TEXT_DIM}; padding-right:12px'>"
                       f"{html.escape(k)}</td><td><b>{html.escape(v)}</b></td></tr>"
                       for k, v in rems.summary(self.day))
        sid = self.day.session_id
        head = (f"Summary at the end of session {sid}" if final else
                f"Summary so far for session {sid} (from the record)")
        self.summary.setText(f"<p>{head}</p><table>{rows}</table>")
