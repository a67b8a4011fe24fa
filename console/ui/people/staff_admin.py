"""Staff for the clinic admin: add people, switch an account off or on, set roles, reset a
PIN. Every change is an `audit.*` event (console/core/people/service.py). Not modal, placed
clear of the vitals; only someone signed in as clinic admin gets here."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.core.people.accounts import Account
from console.core.people.roles import Role
from console.core.people.service import PeopleService, Refused
from console.ui import theme
from console.ui.people.pin_panel import FIELD_CSS, pin_field

COLUMNS = ["Name", "Credentials", "Roles", "Can sign in"]
ADMIN_FIELD_CSS = "font-size: 17px; padding: 5px;"


class StaffAdmin(QDialog):
    def __init__(self, people: PeopleService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.people = people
        self.setWindowTitle("Staff — Holdspace")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("staffTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setStyleSheet("font-size: 17px;")
        self.table.itemSelectionChanged.connect(self._selected)
        self.table.verticalHeader().hide()
        self.table.setMinimumHeight(170)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setObjectName("message")

        # the chosen person: roles, switch off/on, new PIN
        self.edit = QGroupBox("The chosen person")
        self.role_boxes = {r: QCheckBox(r.label) for r in Role}
        self.save_roles = QPushButton("Save roles")
        self.save_roles.clicked.connect(lambda _=False: self._save_roles())
        self.toggle = QPushButton("Switch off")
        self.toggle.clicked.connect(lambda _=False: self._toggle())
        self.new_pin, self.new_again = pin_field("New PIN"), pin_field("The same PIN again")
        self.reset = QPushButton("Set new PIN")
        self.reset.clicked.connect(lambda _=False: self._reset())
        el = QVBoxLayout(self.edit)
        roles_row = QHBoxLayout()
        for box in self.role_boxes.values():
            roles_row.addWidget(box)
        roles_row.addStretch(1)
        roles_row.addWidget(self.save_roles)
        el.addLayout(roles_row)
        pin_row = QHBoxLayout()
        pin_row.addWidget(self.new_pin)
        pin_row.addWidget(self.new_again)
        pin_row.addWidget(self.reset)
        el.addLayout(pin_row)
        el.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignLeft)

        # someone new
        self.add_box = QGroupBox("Add a member of staff")
        self.name, self.credentials = QLineEdit(), QLineEdit()
        self.name.setObjectName("name")
        self.name.setPlaceholderText("Full name")
        self.credentials.setPlaceholderText("Credentials (MD, NP, RN, LMFT …)")
        for f in (self.name, self.credentials):
            f.setStyleSheet(FIELD_CSS)
        self.add_roles = {r: QCheckBox(r.label) for r in Role}
        self.pin, self.again = pin_field("First PIN"), pin_field("The same PIN again")
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(lambda _=False: self._add())
        al = QVBoxLayout(self.add_box)
        row = QHBoxLayout()
        row.addWidget(self.name, 2)
        row.addWidget(self.credentials, 1)
        al.addLayout(row)
        row = QHBoxLayout()
        for box in self.add_roles.values():
            row.addWidget(box)
        row.addStretch(1)
        al.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(self.pin)
        row.addWidget(self.again)
        row.addWidget(self.add_button)
        al.addLayout(row)

        for f in (self.new_pin, self.new_again, self.pin, self.again, self.name,
                  self.credentials):
            f.setStyleSheet(ADMIN_FIELD_CSS)  # a desk task, not read from across the room
        close = QPushButton("Close  (Esc)")
        close.clicked.connect(lambda _=False: self.reject())
        for b in (self.save_roles, self.toggle, self.reset, self.add_button, close):
            b.setAutoDefault(False)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Everyone who may use this console. Switching someone off keeps "
                             "their name on what they already wrote."))
        lay.addWidget(self.table, 1)
        lay.addWidget(self.edit)
        lay.addWidget(self.add_box)
        lay.addWidget(self.message)
        lay.addWidget(close, 0, Qt.AlignmentFlag.AlignRight)
        self.setMinimumSize(820, 560)
        self.resize(900, 720)
        self.reload()

    # ----- the list -----
    def reload(self) -> None:
        keep = self.chosen()
        self.accounts = self.people.accounts()
        self.table.setRowCount(len(self.accounts))
        for i, a in enumerate(self.accounts):
            for j, text in enumerate((a.name, a.credentials, a.roles_label,
                                      "yes" if a.active else "no — switched off")):
                item = QTableWidgetItem(text)
                if not a.active:
                    item.setForeground(QColor(theme.TEXT_DIM))
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        if keep is not None:
            for i, a in enumerate(self.accounts):
                if a.id == keep.id:
                    self.table.selectRow(i)
        self._selected()

    def chosen(self) -> Account | None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        if len(rows) != 1:
            return None
        r = rows.pop()
        return self.accounts[r] if 0 <= r < len(getattr(self, "accounts", [])) else None

    def _selected(self) -> None:
        a = self.chosen()
        self.edit.setEnabled(a is not None)
        self.edit.setTitle(f"{a.name}" if a else "Choose a person in the list")
        for r, box in self.role_boxes.items():
            box.setChecked(a is not None and r in a.roles)
        self.toggle.setText("Switch on (may sign in again)" if a is not None and not a.active
                            else "Switch off (cannot sign in)")

    # ----- actions -----
    def _do(self, what: str, fn: object) -> bool:
        try:
            fn()  # type: ignore[operator]
        except Refused as e:
            self._say(str(e), warn=True)
            return False
        self._say(what)
        self.reload()
        return True

    def _say(self, text: str, warn: bool = False) -> None:
        self.message.setStyleSheet(f"color: {theme.WARN if warn else theme.OK}; "
                                   "font-size: 16px; font-weight: bold;")
        self.message.setText(text)

    def _save_roles(self) -> None:
        a = self.chosen()
        if a is None:
            return
        roles = {r for r, box in self.role_boxes.items() if box.isChecked()}
        self._do(f"Saved: {a.name}'s roles.",
                 lambda: self.people.change_staff(a.id, roles=roles))

    def _toggle(self) -> None:
        a = self.chosen()
        if a is None:
            return
        self._do(f"{a.name} {'may sign in again' if not a.active else 'is switched off'}.",
                 lambda: self.people.change_staff(a.id, active=not a.active))

    def _reset(self) -> None:
        a = self.chosen()
        if a is None:
            return
        pin, again = self.new_pin.text(), self.new_again.text()
        self.new_pin.clear()
        self.new_again.clear()
        self._do(f"New PIN set for {a.name}.", lambda: self.people.reset_pin(a.id, pin, again))

    def _add(self) -> None:
        roles = {r for r, box in self.add_roles.items() if box.isChecked()}
        name, cred, pin, again = (self.name.text(), self.credentials.text(), self.pin.text(),
                                  self.again.text())
        self.pin.clear()
        self.again.clear()
        if self._do(f"Added {name.strip()}.",
                    lambda: self.people.add_staff(name, cred, roles, pin, again)):
            self.name.clear()
            self.credentials.clear()
            for box in self.add_roles.values():
                box.setChecked(False)
