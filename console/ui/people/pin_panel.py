"""The PIN forms: who are you + PIN (sign in, switch, unlock, confirm a signature), and the
first run's clinic admin. Large and dark, readable from two metres; Enter submits, and a
wrong PIN says so in words, with the field cleared for the next try."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.core.people.accounts import Account
from console.core.people.roles import Role
from console.ui import theme

TITLE_CSS = f"color: {theme.TEXT}; font-size: 26px; font-weight: bold;"
DETAIL_CSS = f"color: {theme.TEXT_DIM}; font-size: 17px;"
FIELD_CSS = "font-size: 24px; padding: 8px; min-height: 40px;"
COMPACT_FIELD_CSS = "font-size: 22px; padding: 4px; min-height: 34px;"
BUTTON_CSS = "font-size: 20px; font-weight: bold; min-height: 48px; padding: 6px 18px;"


def _say(label: QLabel, text: str, warn: bool = True) -> None:
    label.setStyleSheet(f"color: {theme.WARN if warn else theme.OK}; font-size: 18px; "
                        "font-weight: bold;")
    label.setText(text)
    label.setVisible(bool(text))


def pin_field(placeholder: str = "PIN") -> QLineEdit:
    f = QLineEdit()
    f.setEchoMode(QLineEdit.EchoMode.Password)
    f.setPlaceholderText(placeholder)
    f.setStyleSheet(FIELD_CSS)
    f.setMaxLength(64)
    f.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled, False)  # no PIN in a predictor
    return f


class PinPanel(QFrame):
    """Choose your name, type your PIN, press Enter."""

    submitted = Signal(str, str)  # name, PIN
    cancelled = Signal()

    def __init__(self, action: str, parent: QWidget | None = None,
                 cancel: str | None = "Cancel  (Esc)") -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        self.title = QLabel("")
        self.title.setStyleSheet(TITLE_CSS)
        self.title.setWordWrap(True)
        self.detail = QLabel("")
        self.detail.setStyleSheet(DETAIL_CSS)
        self.detail.setWordWrap(True)
        self.who = QComboBox()
        self.who.setObjectName("who")
        self.who.setStyleSheet(FIELD_CSS)
        self.pin = pin_field()
        self.pin.setObjectName("pin")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.hide()
        self.go = QPushButton(f"{action}  (Enter)")
        self.go.setStyleSheet(BUTTON_CSS)
        self.go.setAutoDefault(False)
        self.go.clicked.connect(self._submit)
        self.pin.returnPressed.connect(self._submit)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel: QPushButton | None = None
        if cancel:
            self.cancel = QPushButton(cancel)
            self.cancel.setStyleSheet("font-size: 17px; min-height: 40px;")
            self.cancel.setAutoDefault(False)
            self.cancel.clicked.connect(self.cancelled.emit)
            buttons.addWidget(self.cancel)
        buttons.addWidget(self.go)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(24, 20, 24, 20)
        lay.setSpacing(12)
        lay.addWidget(self.title)
        lay.addWidget(self.detail)
        who_label = QLabel("Who are you?")
        who_label.setStyleSheet(DETAIL_CSS)
        self.who_label = who_label
        lay.addWidget(who_label)
        lay.addWidget(self.who)
        lay.addWidget(self.pin)
        lay.addWidget(self.message)
        lay.addLayout(buttons)

    def ask(self, title: str, detail: str, people: Sequence[Account],
            fixed: Account | None = None, chosen: str | None = None) -> None:
        """Fill in for one question: `fixed` when only that person's PIN will do."""
        self.title.setText(title)
        self.detail.setText(detail)
        self.detail.setVisible(bool(detail))
        self.who.clear()
        for a in ([fixed] if fixed is not None else people):
            self.who.addItem(a.label, a.name)
            self.who.setItemData(self.who.count() - 1, a.roles_label,
                                 Qt.ItemDataRole.ToolTipRole)
        self.who.setEnabled(fixed is None and self.who.count() > 1)
        if chosen:
            i = self.who.findData(chosen)
            if i >= 0:
                self.who.setCurrentIndex(i)
        self.pin.clear()
        _say(self.message, "")
        self.pin.setFocus()

    def name(self) -> str:
        return str(self.who.currentData() or "")

    def refused(self, why: str) -> None:
        """A wrong PIN or a locked account: said in words; the PIN field is cleared."""
        self.pin.clear()
        self.pin.setFocus()
        _say(self.message, why)

    def _submit(self) -> None:
        if not self.name():
            _say(self.message, "Nobody is on the staff list yet.")
            return
        if not self.pin.text():
            _say(self.message, "Type your PIN, then press Enter.")
            self.pin.setFocus()
            return
        self.submitted.emit(self.name(), self.pin.text())


class FirstAdminPanel(QFrame):
    """The first run: the clinic admin, before anything else."""

    submitted = Signal(str, str, str, str, object)  # name, credentials, PIN, again, roles

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        title = QLabel("Set up Holdspace for this clinic")
        title.setStyleSheet(TITLE_CSS)
        detail = QLabel("First, the clinic admin: the person who adds staff and resets PINs. "
                        "The vitals keep showing meanwhile.")
        detail.setStyleSheet(DETAIL_CSS)
        detail.setWordWrap(True)
        self.name = QLineEdit()
        self.name.setObjectName("name")
        self.name.setPlaceholderText("Full name")
        self.credentials = QLineEdit()
        self.credentials.setObjectName("credentials")
        self.credentials.setPlaceholderText("Credentials (e.g. MD, RN) — may be empty")
        for f in (self.name, self.credentials):
            f.setStyleSheet(FIELD_CSS)
        also = QLabel("Also works in the treatment room as:")
        also.setStyleSheet(DETAIL_CSS)
        self.roles: dict[Role, QCheckBox] = {}
        self.detail = detail
        self._roles = QVBoxLayout()
        for r in (Role.PRESCRIBER, Role.MEDICAL_MONITOR, Role.THERAPIST):
            box = QCheckBox(r.label)
            box.setStyleSheet("font-size: 17px;")
            self.roles[r] = box
            self._roles.addWidget(box)
        self.pin = pin_field("PIN (at least 4 digits)")
        self.pin.setObjectName("pin")
        self.again = pin_field("The same PIN again")
        self.again.setObjectName("again")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.hide()
        self.go = QPushButton("Create the clinic admin  (Enter)")
        self.go.setStyleSheet(BUTTON_CSS)
        self.go.setAutoDefault(False)
        self.go.clicked.connect(self._submit)
        self.again.returnPressed.connect(self._submit)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(24, 20, 24, 20)
        lay.setSpacing(10)
        for w in (title, detail, self.name, self.credentials, also):
            lay.addWidget(w)
        lay.addLayout(self._roles)
        for w in (self.pin, self.again, self.message):
            lay.addWidget(w)
        lay.addWidget(self.go, 0, Qt.AlignmentFlag.AlignRight)

    def set_compact(self, on: bool) -> None:
        """A small screen (the lock's form beside the vitals): the sentence under the title
        left out, the fields less tall, less space between; every field stays."""
        self.detail.setVisible(not on)
        for f in (self.name, self.credentials, self.pin, self.again):
            f.setStyleSheet(COMPACT_FIELD_CSS if on else FIELD_CSS)
        lay = self.layout()
        if lay is not None:
            lay.setContentsMargins(24, 12 if on else 20, 24, 12 if on else 20)
            lay.setSpacing(4 if on else 10)
            lay.activate()

    def refused(self, why: str) -> None:
        self.pin.clear()
        self.again.clear()
        _say(self.message, why)

    def _submit(self) -> None:
        roles = {r for r, box in self.roles.items() if box.isChecked()}
        self.submitted.emit(self.name.text(), self.credentials.text(), self.pin.text(),
                            self.again.text(), roles)
