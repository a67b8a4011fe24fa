"""Switch person (Ctrl+U) and the PIN asked before a signing action: one small tool window,
never modal over the vitals, placed clear of the tiles and the alarm banner."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QVBoxLayout, QWidget

from console.core.people.accounts import Account
from console.core.people.roles import PERMISSIONS, Permission
from console.core.people.service import PeopleService, Refused
from console.ui.people.pin_panel import PinPanel


class PinDialog(QDialog):
    def __init__(self, people: PeopleService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.people = people
        self.setWindowTitle("Who is at the keyboard — Holdspace")
        self.setObjectName("pinDialog")  # the lock puts it away for good, not until unlock
        self.panel = PinPanel("Switch")
        self.panel.submitted.connect(self._submitted)
        self.panel.cancelled.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.panel)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.reject)
        self._then: Callable[[str, str], Account] = people.sign_in
        self.done_with: Account | None = None
        self.setMinimumWidth(520)

    def switch(self) -> None:
        """Ctrl+U: someone else takes the keyboard (or joins the team), with their PIN."""
        active = self.people.active
        on_team = [a.name for a in self.people.team]
        staff = [a for a in self.people.accounts() if a.active]
        staff.sort(key=lambda a: (a.name not in on_team, a.name.casefold()))
        others = [a for a in staff if active is None or a.id != active.id] or staff
        detail = (f"{active.name} is at the keyboard now. Everything is recorded under the "
                  "person chosen here." if active else "Nobody is signed in.")
        self.panel.go.setText("Switch  (Enter)" if active else "Sign in  (Enter)")
        self.panel.ask("Switch person", detail, others)
        self._then = self.people.sign_in
        self._open()

    def confirm(self, account: Account, permission: Permission) -> None:
        """A signing action: only this person's PIN will do."""
        what = PERMISSIONS[permission][0]
        self.panel.go.setText("Confirm  (Enter)")
        self.panel.ask(f"{account.name}: your PIN",
                       f"{what} is recorded under your name and needs your PIN. "
                       "Then do it again — what you typed is kept.", [], fixed=account)
        self._then = self.people.confirm_pin
        self._open()

    def _open(self) -> None:
        parent = self.parentWidget()
        place = getattr(parent, "place_dialog", None)
        if callable(place):
            place(self)
        self.show()
        self.raise_()
        self.activateWindow()
        self.panel.pin.setFocus()

    def _submitted(self, name: str, pin: str) -> None:
        try:
            self.done_with = self._then(name, pin)
        except Refused as e:
            self.panel.refused(str(e))
            return
        self.accept()
