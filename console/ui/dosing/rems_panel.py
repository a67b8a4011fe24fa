"""Side tab for esketamine sessions: the REMS Patient Monitoring Form, field by field.

What the record already holds (dates, dose, devices, lot, blood pressures, the gate, the
checklist, adverse events) is shown, not typed again; the rest is asked here and saved as a
`rems.answers` event. Suggestions (the name split in two, the clinic's address, the provider's
phone from the last form, "Yes" to sedation after a MOAA/S of 3) stand greyed in the empty
boxes until "Use the suggestions" takes them. The top line says when the form is due and what
is still missing: the session cannot be signed until nothing is. The tab keeps working after
the session has ended, for the sign-off.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.core.dosing.dose_day import DoseDay
from console.core.report import rems_form
from console.core.report.clinic import Clinic
from console.core.saving import SaveOutcome
from console.core.session import SessionService
from console.core.session_record import build_record
from console.store.events import Event, session_events
from console.ui import theme

HINTS = {"yesno": "Yes / No (details may follow)", "number": "a number",
         "date": "MM/DD/YYYY", "bp": "e.g. 128/82"}


class RemsPanel(QFrame):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.day: DoseDay | None = None
        self.sessions: SessionService | None = None
        self.clinic: Callable[[], Clinic] = Clinic
        self.session_id: int | None = None
        self.form: rems_form.FilledForm | None = None
        self.spec = rems_form.load_form()
        self.inputs: dict[str, QLineEdit] = {}
        self.values: dict[str, QLabel] = {}
        self._saving: set[str] = set()

        title = QLabel(f"<b>{html.escape(self.spec.title)}</b>")
        title.setWordWrap(True)
        version = QLabel(f"Form version: {html.escape(self.spec.version)}. Field labels "
                         "summarise the form (wording UNVERIFIED).")
        version.setWordWrap(True)
        version.setTextFormat(Qt.TextFormat.RichText)  # escaped: "manufacturer's", not &#x27;
        version.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 12px;")
        self.status = QLabel("")
        self.status.setObjectName("rems_status")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)

        grid_box = QWidget()
        grid = QGridLayout(grid_box)
        grid.setColumnStretch(1, 1)
        row = 0
        titles = dict(self.spec.sections)
        for sid, _t in self.spec.sections:
            head = QLabel(f"<b>{html.escape(titles[sid])}</b>")
            head.setWordWrap(True)
            head.setStyleSheet("margin-top: 8px;")
            grid.addWidget(head, row, 0, 1, 2)
            row += 1
            for f in self.spec.fields:
                if f.section != sid:
                    continue
                label = QLabel(html.escape(f.label) + (" *" if f.required else ""))
                label.setWordWrap(True)
                label.setTextFormat(Qt.TextFormat.RichText)  # it is escaped for rich text
                e = QLineEdit()
                e.setObjectName(f"rems_{f.key}")
                e.setToolTip(HINTS.get(f.kind, "") or (" / ".join(f.choices)))
                e.returnPressed.connect(self.save_answers)
                shown = QLabel("")
                shown.setWordWrap(True)
                shown.setTextFormat(Qt.TextFormat.RichText)
                cell = QWidget()
                lay = QVBoxLayout(cell)
                lay.setContentsMargins(0, 0, 0, 0)
                lay.setSpacing(1)
                lay.addWidget(shown)
                lay.addWidget(e)
                grid.addWidget(label, row, 0, Qt.AlignmentFlag.AlignTop)
                grid.addWidget(cell, row, 1)
                self.inputs[f.key] = e
                self.values[f.key] = shown
                row += 1

        self.suggest = QPushButton("Use the suggestions")
        self.suggest.setToolTip("Put the greyed suggestions into the empty boxes, to check "
                                "and save")
        self.suggest.clicked.connect(self.take_suggestions)
        self.save = QPushButton("Save REMS answers")
        self.save.clicked.connect(self.save_answers)
        buttons = QHBoxLayout()
        buttons.addWidget(self.suggest)
        buttons.addWidget(self.save)
        buttons.addStretch(1)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {theme.WARN};")
        # The values from the record in one block (also what stays after the session ends).
        self.summary = QLabel("")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.summary.setObjectName("rems_summary")

        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addWidget(version)
        lay.addWidget(self.status)
        lay.addWidget(self.summary)
        lay.addWidget(grid_box, 1)  # the side tab scrolls the whole page
        lay.addLayout(buttons)
        lay.addWidget(self.message)

    # ----- wiring -----
    def set_store(self, sessions: SessionService, clinic: Callable[[], Clinic]) -> None:
        self.sessions = sessions
        self.clinic = clinic
        sessions.saves.done.connect(self._saved)

    def attach(self, day: DoseDay | None) -> None:
        if day is None and self.day is not None:
            self.day = None
            self.refresh(final=True)  # session ended: the form stays for the sign-off
            return
        self.day = day
        if day is not None and not day.template.rems:
            self.new_session()  # no form for this protocol
            return
        if day is not None:
            self.session_id = day.session_id
        self.refresh()

    def wanted(self) -> bool:
        """Shown only for a template that asks for the REMS form (and, after such a session
        ends, while its form waits for the sign-off)."""
        return self.session_id is not None

    def new_session(self) -> None:
        """Another session begins: nothing of the previous patient's form stays."""
        self.day = None
        self.session_id = None
        self.form = None
        for key, e in self.inputs.items():
            e.clear()
            e.setPlaceholderText("")
            self.values[key].clear()
        self.message.clear()
        self.summary.clear()
        self.status.clear()

    # ----- reading -----
    def _events(self) -> list[Event]:
        if self.sessions is None or self.session_id is None:
            return []
        return session_events(self.sessions.reader, self.session_id)

    def refresh(self, final: bool = False) -> None:
        if self.sessions is None or self.session_id is None:
            return
        events = self._events()
        # A session gets this panel only when its protocol asks for the REMS form (`attach`):
        # said here, so the refresh every other second reads no protocol files from disk.
        self.form = form = rems_form.fill(self.sessions.reader, self.session_id, events,
                                          spec=self.spec, clinic=self.clinic(), rems=True)
        record_rows = []
        for f in form.fields:
            e, shown = self.inputs[f.spec.key], self.values[f.spec.key]
            from_record = f.origin == "record"
            e.setVisible(not from_record)
            e.setPlaceholderText(f.suggestion or HINTS.get(f.spec.kind, ""))
            if from_record:
                extra = f" <span style='color:{theme.TEXT_DIM}'>({html.escape(f.evidence)})" \
                        "</span>" if f.evidence else ""
                shown.setText(f"<b>{html.escape(f.value)}</b> <span style='color:"
                              f"{theme.TEXT_DIM}'>from the record</span>{extra}")
                record_rows.append((f.spec.label, f.value + (f" ({f.evidence})"
                                                             if f.evidence else "")))
            elif f.origin == "typed":
                shown.setText(f"saved: <b>{html.escape(f.value)}</b> <span style='color:"
                              f"{theme.TEXT_DIM}'>by {html.escape(f.by or '?')}</span>")
            else:
                if f.spec.derive:
                    record_rows.append((f.spec.label, "not in the record yet"))
                need = form.needed(f)
                hint = f"<span style='color:{theme.TEXT_DIM}'>{html.escape(f.evidence)}</span>" \
                    if f.evidence else ""
                shown.setText((f"<span style='color:{theme.WARN}'>needed</span> " if need
                               else "") + hint)
        patient = self._patient_line()
        head = "At session end (from the record)" if final else "From the record"
        rows = "".join(f"<tr><td style='color:{theme.TEXT_DIM}; padding-right:12px'>"
                       f"{html.escape(k)}</td><td><b>{html.escape(v)}</b></td></tr>"
                       for k, v in [("Patient", patient), *record_rows])
        self.summary.setText(f"<p>{head}</p><table>{rows}</table>")
        self._show_status(form)

    def _patient_line(self) -> str:
        if self.sessions is None or self.session_id is None:
            return ""
        from console.store import records

        row = records.get_session(self.sessions.reader, self.session_id)
        p = records.get_patient(self.sessions.reader, row.patient_id) if row and \
            row.patient_id else None
        return f"{p.display_name}, born {p.birth_date or '?'}" if p else "—"

    def _show_status(self, form: rems_form.FilledForm) -> None:
        due = form.due()
        when = f"Submit by <b>{due.isoformat()}</b> (within {self.spec.submit_within_days} " \
               f"days of the treatment). " if due else "No esketamine dose recorded yet. "
        missing = form.missing()
        if missing:
            names = ", ".join(html.escape(f.spec.label) for f in missing)
            self.status.setText(f"{when}<span style='color:{theme.WARN}'>Required before "
                                f"signing ({len(missing)}): {names}</span>")
        else:
            self.status.setText(f"{when}<span style='color:{theme.OK}'>Complete: the "
                                "session can be signed.</span>")

    def missing_keys(self) -> list[str]:
        return [f.spec.key for f in self.form.missing()] if self.form is not None else []

    # ----- writing -----
    def take_suggestions(self) -> None:
        if self.form is None:
            return
        n = 0
        for f in self.form.fields:
            e = self.inputs[f.spec.key]
            if e.isVisibleTo(self) and not e.text().strip() and f.suggestion:
                e.setText(f.suggestion)
                n += 1
        self.message.setText(f"{n} suggestion{'s' if n != 1 else ''} put in: check them, then "
                             "save." if n else "No suggestion to take.")

    def save_answers(self) -> None:
        if self.sessions is None or self.session_id is None or self.form is None:
            return
        answers = {k: e.text() for k, e in self.inputs.items() if e.text().strip()}
        if not answers:
            self.message.setText("Nothing typed yet.")
            return
        events = self._events()
        if build_record(events).locked:
            self.message.setText("The session is signed and locked: the REMS answers are part "
                                 "of it. Add a signed addendum instead. What you typed is "
                                 "still in the boxes.")
            return
        try:
            payload = rems_form.answers_payload(self.spec, answers)
        except rems_form.FormError as e:
            self.message.setText(f"Not saved: {e}. Nothing was written; what you typed is "
                                 "still in the boxes.")
            return
        ev = self._write(payload)
        self._saving.add(ev.uid)
        for k in answers:
            self.inputs[k].clear()
        self.message.setText("Saving…")
        self.changed.emit()
        self.refresh()

    def _write(self, payload: dict[str, object]) -> Event:
        assert self.sessions is not None and self.session_id is not None
        s = self.sessions
        if s.current is not None and s.current.id == self.session_id:
            return s.record(rems_form.ANSWERS, payload)
        now = s.clock.now()
        ev = Event(rems_form.ANSWERS, now, payload, session_id=self.session_id,
                   author=s.author, recorded=now)
        s.saves.watch(ev, s.writer.append_event(ev))
        return ev

    def _saved(self, o: SaveOutcome) -> None:
        if o.event.uid not in self._saving:
            # Any event of this session now on disk (a dose, the gate, a BP check) can change
            # the form: it is read again from the record, so it never shows an older picture.
            if o.saved and self.session_id is not None and o.event.session_id == self.session_id:
                self.refresh()
            return
        self._saving.discard(o.event.uid)
        if o.saved:
            self.message.setText("Saved.")
            self.refresh()
        else:
            self.message.setText(f"NOT SAVED: {o.error}. Type the answers again.")
