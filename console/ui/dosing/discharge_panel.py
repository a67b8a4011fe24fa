"""Discharge sign-off, the last part of a dosing session: no dialog over the vitals.

Sits under the checks in the Checks tab. It lists the template's discharge criteria to tick,
asks who takes the patient home and who signs, and says plainly what is missing: ending
before the minimum observation time, with a criterion unticked or without an escort needs a
written reason. Ending itself stays with the window's two-press End session; this panel is
the window's end step: it is shown at the first press and, at the second, records
`session.discharge` just before the session ends (console/core/dosing/discharge.py decides).

The sign-off is a clinical release: the person named in "Signed by" must be on staff, signed
in and a prescriber or medical monitor (the role table's DISCHARGE), with a fresh PIN like any
signature. The second press asks the session's guard before anything is written, so a name
typed by anyone else is refused in words that say who may sign.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.core.dosing.discharge import (
    DischargeAnswers,
    DischargeFacts,
    Verdict,
    assess,
    early_text,
    sign_off_payload,
)
from console.core.dosing.dose_day import DoseDay
from console.core.people.service import Refused
from console.core.session import SessionService, Staff
from console.ui import theme
from console.ui.dosing.staff_names import StaffNames
from console.ui.dosing.wrap_check import WrapCheck


class DischargePanel(QFrame):
    """The end step for a session with a protocol (see MainWindow.add_end_step)."""

    shown = Signal()  # asks the window to bring this panel into view

    def __init__(self, sessions: SessionService, day: Callable[[], DoseDay | None],
                 end: Callable[[], object] | None = None,
                 parent: QWidget | None = None,
                 signers: Callable[[], list[str]] | None = None) -> None:
        """`signers`: the people signed in who may sign a discharge, offered as the name is
        typed (the guard still decides)."""
        super().__init__(parent)
        self.setObjectName("panel")
        self.sessions = sessions
        self._day = day
        self._session_id: int | None = None
        self._criteria: tuple[str, ...] = ()
        self.checks: dict[str, WrapCheck] = {}
        self.title = QLabel("<b>Discharge and end of session</b>")
        self.observation = QLabel("")
        self.observation.setWordWrap(True)
        self.observation.setObjectName("discharge_observation")
        self.source = QLabel("")
        self.source.setWordWrap(True)
        self.source.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 12px;")
        self.criteria_box = QVBoxLayout()
        self.criteria_box.setSpacing(4)
        self.escort = QLineEdit()
        self.escort.setObjectName("discharge_escort")
        self.escort.setPlaceholderText("who takes the patient home (name, phone)")
        self.signed_by = QLineEdit()
        self.signed_by.setObjectName("discharge_signed_by")
        self.signed_by.setPlaceholderText("prescriber or medical monitor, signed in")
        self._signed_by_auto = ""  # the name put there for the person at the keyboard
        self.signers = StaffNames(self.signed_by, signers) if signers is not None else None
        self._refusal = ""  # why the guard refused the signer (until the name changes)
        self.reason = QLineEdit()
        self.reason.setObjectName("discharge_reason")
        self.reason.setPlaceholderText("needed when ending early, with a criterion unmet "
                                       "or without an escort")
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow("Escort", self.escort)
        form.addRow("Signed by", self.signed_by)
        form.addRow("Reason", self.reason)
        self.message = QLabel("")
        self.message.setObjectName("discharge_message")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.RichText)
        self.end_button = QPushButton("End session…  (press twice)")
        self.end_button.setObjectName("discharge_end")
        if end is not None:
            self.end_button.clicked.connect(lambda _=False: end())
        self._escort_typed = False  # until typed here, it follows the pre-dose checklist
        self.escort.textEdited.connect(self._escort_edited)
        self.signed_by.textChanged.connect(self._signer_changed)
        for e in (self.signed_by, self.reason):
            e.textEdited.connect(lambda _t: self.refresh())
        self.body = QWidget()
        b = QVBoxLayout(self.body)
        b.setContentsMargins(0, 0, 0, 0)
        b.addLayout(self.criteria_box)
        b.addWidget(self.source)
        b.addLayout(form)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.observation)
        lay.addWidget(self.body)
        lay.addWidget(self.message)
        lay.addWidget(self.end_button)
        sessions.changed.connect(lambda _s: self.refresh())
        sessions.user_changed.connect(self._user_changed)
        sessions.recorded.connect(lambda _e: self.refresh())
        self.refresh()

    # ------------------------------------------------------------------ state
    def _escort_edited(self, _text: str) -> None:
        self._escort_typed = True
        self.refresh()

    def _follow_session(self, day: DoseDay | None) -> None:
        """A new session (or protocol) starts with an empty sign-off."""
        sid = day.session_id if day is not None else None
        criteria = day.template.discharge if day is not None else ()
        if sid == self._session_id and criteria == self._criteria:
            return
        self._session_id, self._criteria = sid, criteria
        for w in self.checks.values():
            self.criteria_box.removeWidget(w)
            w.deleteLater()
        self.checks = {}
        for text in criteria:
            w = WrapCheck(text)
            w.box.setObjectName("discharge_criterion")
            w.box.toggled.connect(lambda _on: self.refresh())
            self.checks[text] = w
            self.criteria_box.addWidget(w)
        for e in (self.escort, self.reason):
            e.clear()
        self._escort_typed = False
        self.signed_by.clear()
        self._signed_by_auto = ""
        self._follow_author(self.sessions.author)
        if day is not None:
            self.source.setText(f"Criteria from {day.template.path.name}"
                                + (f": {day.template.discharge_source}"
                                   if day.template.discharge_source else ""))
        self.message.setText("")

    def _signer_changed(self, _text: str) -> None:
        self._refusal = ""

    def _user_changed(self, user: Staff | None) -> None:
        self._follow_author(user.name if user is not None else None)
        self.refresh()

    def _follow_author(self, name: str | None) -> None:
        """"Signed by" names the person at the keyboard until someone types another name:
        the sign-off is recorded under that name, so after a switch (Ctrl+U) it must not
        still read as the last person's."""
        if self.signed_by.text().strip() in ("", self._signed_by_auto):
            self.signed_by.setText(name or "")
            self._signed_by_auto = name or ""

    def facts(self) -> DischargeFacts | None:
        day = self._day()
        if day is None or self.sessions.current is None:
            return None
        return DischargeFacts(
            template_id=day.template.id, template_file=day.template.path.name,
            criteria=day.template.discharge, criteria_source=day.template.discharge_source,
            dosed=bool(day.doses), observation_minutes=day.template.observation_minutes,
            observation_end=day.observation_end(), now=day.now())

    def answers(self) -> DischargeAnswers:
        return DischargeAnswers({t: w.box.isChecked() for t, w in self.checks.items()},
                                self.escort.text(), self.signed_by.text(), self.reason.text())

    def verdict(self) -> Verdict | None:
        f = self.facts()
        return assess(f, self.answers()) if f is not None else None

    # ------------------------------------------------------------------ painting
    def refresh(self) -> None:
        day = self._day() if self.sessions.current is not None else None
        self._follow_session(day)
        self.setVisible(day is not None)
        f = self.facts()
        if f is None:
            return
        self._follow_author(self.sessions.author)
        if self.signers is not None:
            self.signers.refresh()
        known = day.answers.get("escort") if day is not None else None
        if not self._escort_typed and isinstance(known, str) and self.escort.text() != known:
            self.escort.setText(known)  # named in the pre-dose checklist
        self.body.setVisible(f.dosed)
        if not f.dosed:
            self.observation.setText("No dose given yet: there is nothing to sign off, and "
                                     "End session ends the session.")
        elif f.observation_end is not None and f.now < f.observation_end:
            until = time.strftime("%H:%M", time.localtime(f.observation_end))
            self.observation.setText(
                f"<span style='color:{theme.WARN}'>Minimum observation not complete: "
                f"{early_text(f.observation_end - f.now)} left (until {until}).</span> "
                "Ending now needs a reason.")
        else:
            self.observation.setText(f"<span style='color:{theme.OK}'>Minimum observation "
                                     "complete.</span> Tick the criteria and name the escort.")
        v = assess(f, self.answers())
        if v.ok and self._refusal:
            self.message.setText(f"<span style='color:{theme.WARN}'>"
                                 f"{html.escape(self._refusal)}</span>")
        elif v.ok:
            words = ("Ready: End session (press twice) signs this discharge and ends the "
                     "session." if f.dosed else "")
            self.message.setText(f"<span style='color:{theme.OK}'>{words}</span>"
                                 if words else "")
        else:
            self.message.setText("<br>".join(
                f"<span style='color:{theme.WARN}'>{html.escape(b)}</span>" for b in v.blocking))

    # ------------------------------------------------------------------ the end step
    def end_requested(self) -> str | None:
        """First press of End: come into view; say what is still missing, if anything."""
        self.refresh()
        if self.facts() is None:
            return None
        self.shown.emit()
        v = self.verdict()
        if v is not None and not v.ok:
            first = next((w for w in self.checks.values() if not w.box.isChecked()), None)
            (first.box if first is not None and v.unmet else self.reason).setFocus()
            return "First complete the discharge sign-off (Checks tab)."
        return None

    def end_problem(self) -> str | None:
        """Second press: what still blocks ending (None: ready)."""
        self.refresh()
        v = self.verdict()
        if v is None:
            return None
        if v.ok:
            refused = self._signer_refused()
            if refused is None:
                return None
            self.shown.emit()
            self.signed_by.setFocus()
            return "Not ended: " + refused
        self.shown.emit()
        return "Not ended: the discharge sign-off is not complete (Checks tab)."

    def _signer_refused(self) -> str | None:
        """Ask the guard (role table, sign-in, PIN) about the signer before anything is
        written; a missing PIN asks for it (the PIN dialog) and the ending waits."""
        guard = self.sessions.guard
        if guard is None:
            return None
        try:
            guard("session.discharge", self.answers().signed_by.strip() or None, {})
        except Refused as e:
            self._refusal = str(e)
            self.refresh()
            return self._refusal
        self._refusal = ""
        return None

    def record_end(self) -> str | None:
        """Write `session.discharge` (before `session.ended`); returns the ending's reason."""
        f = self.facts()
        if f is None:
            return None
        a = self.answers()
        v = assess(f, a)
        payload = sign_off_payload(f, a, v)
        self.sessions.record("session.discharge", payload,
                             author=a.signed_by.strip() or None)
        return payload["reason"]
