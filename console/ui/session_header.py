"""The top line: who, which session, what state, wall clock and time since session start."""

from __future__ import annotations

import html
import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.core.session import OpenSession
from console.ui import theme

SAVED_SHOWN_MS = 10_000  # how long "Weight … saved." stays under the name


def hms(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def wall(t: float, seconds: bool = False) -> str:
    return time.strftime("%H:%M:%S" if seconds else "%H:%M", time.localtime(t))


class SessionHeader(QFrame):
    weight_entered = Signal(float)  # kg, already checked for plausibility

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        self.session: OpenSession | None = None
        self.who = QLabel()
        self.who.setStyleSheet("font-size: 22px; font-weight: bold;")
        self.state = QLabel()
        self.elapsed = QLabel()
        self.elapsed.setStyleSheet(f"font-size: 18px; color: {theme.TEXT_DIM};")
        self.clock = QLabel()
        self.clock.setStyleSheet("font-size: 30px; font-weight: bold;")
        # Weight: asked for right here when missing (a mg/kg protocol cannot dose without it).
        self.weight_edit = QLineEdit()
        self.weight_edit.setPlaceholderText("weight, kg")
        self.weight_edit.setFixedWidth(120)
        self.weight_button = QPushButton("Save weight")
        self.weight_message = QLabel("")
        self.weight_message.setWordWrap(True)
        self.weight_message.setStyleSheet(
            f"color: {theme.ALARM_MEDIUM}; font-weight: bold; font-size: 17px;")
        self.weight_message.hide()
        self._weight_asked: float | None = None  # an unusual weight already asked about
        self._weight_pending: float | None = None  # handed to the disk, not yet stored
        self.weight_edit.textChanged.connect(self._weight_edited)
        self.weight_edit.returnPressed.connect(self._save_weight)
        self.weight_button.clicked.connect(self._save_weight)
        self.start_button = QPushButton("Start session…")
        self.end_button = QPushButton("End session")
        self.end_button.setCheckable(False)
        self.end_button.setObjectName("end_session")
        # What the End button is waiting for (a second press, the discharge sign-off).
        self.end_hint = QLabel("")
        self.end_hint.setObjectName("end_hint")
        self.end_hint.setWordWrap(True)
        # One row: who and what on the left, the timers (features' header widgets) in the
        # middle, the wall clock and End on the right; low enough for a 768-px screen.
        for lab in (self.who, self.state):
            lab.setWordWrap(True)
            lab.setMinimumWidth(220)
            lab.setMaximumWidth(300)
        left = QVBoxLayout()
        left.setSpacing(2)
        left.addWidget(self.who)
        left.addWidget(self.state)
        left.addStretch(1)
        # The weight's field, button and message on a row of their own across the whole
        # header: a message in the narrow name column wrapped to four lines and pushed the
        # vitals' numerals off a 768-px screen; here it takes one line.
        wrow = QHBoxLayout()
        wrow.setSpacing(8)
        wrow.addWidget(self.weight_edit)
        wrow.addWidget(self.weight_button)
        wrow.addWidget(self.weight_message, 1)
        self.extra = QHBoxLayout()
        self.extra.setContentsMargins(0, 0, 0, 0)
        right = QVBoxLayout()
        right.setSpacing(2)
        top = QHBoxLayout()
        top.addStretch(1)
        top.addWidget(self.elapsed)
        top.addSpacing(12)
        top.addWidget(self.clock)
        buttons = QHBoxLayout()
        buttons.addWidget(self.end_hint, 1)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.end_button)
        right.addLayout(top)
        right.addLayout(buttons)
        right.addStretch(1)
        self.end_hint.setMaximumWidth(300)
        self.end_hint.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row = QHBoxLayout()
        row.setSpacing(16)
        row.addLayout(left)
        row.addLayout(self.extra, 1)
        row.addLayout(right)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 6, 12, 6)
        lay.setSpacing(4)
        lay.addLayout(row)
        lay.addLayout(wrow)
        self.set_session(None)

    def set_session(self, session: OpenSession | None) -> None:
        if session is None or self.session is None or session.id != self.session.id:
            self.weight_edit.clear()  # a weight typed for one session never reaches the next
            self._weight_unlock()
        self.session = session
        if session is None:
            self.who.setText("No session open")
            self.state.setText(
                f"<span style='color:{theme.ALARM_MEDIUM}'>· readings are shown but not recorded"
                "</span>"
            )
            self.start_button.show()
            self.end_button.hide()
        else:
            p = session.patient
            name = p.display_name if p else "Unassigned patient"
            weight = (f" · {p.weight_kg:g} kg" if p and p.weight_kg else
                      f" · <span style='color:{theme.ALARM_MEDIUM}'>weight not entered</span>")
            self.who.setText(html.escape(name) + weight)
            tmpl = f" · {session.row.template}" if session.row.template else ""
            self.state.setText(
                f"<span style='color:{theme.OK}'>· session {session.id} recording</span>{tmpl}"
            )
            self.start_button.hide()
            self.end_button.show()
        self.end_button.setText("End session")
        self.show_weight_entry(session is not None and session.patient is not None
                               and not session.patient.weight_kg)

    def show_weight_entry(self, on: bool) -> None:
        """Offer the weight field (by itself when missing, or to correct it)."""
        on = on and self.session is not None and self.session.patient is not None
        for w in (self.weight_edit, self.weight_button):
            w.setVisible(on)
        if on:
            self.weight_edit.setFocus()
        elif self._weight_pending is None:  # "saving…" stays until the disk answers
            self._say_weight("")
            self._weight_edited()

    def _weight_edited(self) -> None:
        """A question about one number is withdrawn as soon as the number changes."""
        if self._weight_asked is not None:
            self._weight_asked = None
            self._say_weight("")
        self._button_text("Save weight")

    def _say_weight(self, text: str, colour: str = theme.ALARM_MEDIUM) -> None:
        """A message about the typed weight on its own line (hidden when there is none)."""
        self.weight_message.setText(text)
        self.weight_message.setStyleSheet(
            f"color: {colour}; font-weight: bold; font-size: 17px;")
        self.weight_message.setVisible(bool(text))

    def _button_text(self, text: str) -> None:
        self.weight_button.setText(text)
        self.weight_button.setMinimumWidth(self.weight_button.sizeHint().width())

    def _save_weight(self) -> None:
        from console.ui.session_dialog import parse_weight, weight_concern

        try:
            kg = parse_weight(self.weight_edit.text())
        except ValueError as e:
            self._say_weight(str(e))  # what was typed stays in the field
            return
        if kg is None:
            self._say_weight("Type the weight in kilograms, e.g. 72.5")
            return
        p = self.session.patient if self.session is not None else None
        concern = weight_concern(p.weight_kg if p is not None else None, kg)
        if concern and self._weight_asked != kg:
            self._weight_asked = kg
            self._say_weight(f"{concern} Confirm to record {kg:g} kg.")
            self._button_text(f"Confirm {kg:g} kg")
            return
        self._weight_asked = None
        self.weight_entered.emit(kg)  # the number stays in the box until it is stored

    # ----- the weight on its way to the disk (console/ui/shell_actions.py stores it) -----
    def weight_saving(self, kg: float) -> None:
        """Handed to the disk: "saving…", the number kept (and locked) until it is stored."""
        self._weight_pending = kg
        for w in (self.weight_edit, self.weight_button):
            w.setEnabled(False)
        self._say_weight(f"Saving {kg:g} kg…", theme.TEXT_DIM)

    def weight_slow(self, kg: float) -> None:
        """The disk has not answered within a moment: the screen goes on, and says so."""
        if self._weight_pending == kg:
            self._say_weight(f"Saving {kg:g} kg… the disk is slow; monitoring goes on.",
                             theme.TEXT_DIM)

    def weight_saved(self, session_id: int, kg: float) -> None:
        """Committed: the box empties and "saved" is said for a while."""
        if self.session is None or self.session.id != session_id:
            return  # another session by now: nothing of this one is on screen
        self._weight_unlock()
        self.weight_edit.clear()
        self.show_weight_entry(False)
        text = f"Weight {kg:g} kg saved."
        self._say_weight(text, theme.OK)
        QTimer.singleShot(SAVED_SHOWN_MS, self, lambda: self._say_weight("")
                          if self.weight_message.text() == text else None)

    def weight_failed(self, session_id: int, kg: float, why: str) -> None:
        """Refused: said in words; the number is still in the box to be saved again."""
        self._weight_unlock()
        if self.session is None or self.session.id != session_id:
            self._say_weight(f"The weight {kg:g} kg was NOT saved: {why}")
            return
        self.show_weight_entry(True)
        if not self.weight_edit.text().strip():
            self.weight_edit.setText(f"{kg:g}")
        self._say_weight(f"The weight {kg:g} kg was NOT saved: {why} Press Save weight to "
                         "try again.")

    def _weight_unlock(self) -> None:
        self._weight_pending = None
        for w in (self.weight_edit, self.weight_button):
            w.setEnabled(True)

    def refresh(self, now: float) -> None:
        self.clock.setText(wall(now))
        if self.session is not None:
            self.elapsed.setText(f"session {hms(now - self.session.row.started)}")
        else:
            self.elapsed.setText("")
