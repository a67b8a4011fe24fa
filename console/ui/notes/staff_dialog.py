"""The staff list: who can be picked as author at session start and per entry, and who signs.

A dialog that does not block the vitals (shown, not run modally), placed clear of the
tiles. Escape closes it (a second Escape if there are unsaved changes, so nothing typed is
lost by accident); rows are added only with the Add person button or Ctrl+Enter, never by a
stray space bar. Saving writes the workstation settings (Config.staff) and a
`staff.list_changed` event, so authors named in old notes can be traced to the list as it
was.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.core.clock import Clock
from console.core.config import Config, StaffConfig
from console.core.notes.notes import record_staff_list
from console.store.writer import StoreWriter
from console.ui import theme

ROLE_HINT = "physician, nurse, therapist, psychiatrist, …"


def check_staff(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Cleaned rows, or ValueError with a sentence; blank rows are dropped."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, (name, role) in enumerate(rows, start=1):
        n, r = name.strip(), role.strip()
        if not n and not r:
            continue
        if not n:
            raise ValueError(f"Row {i} has a role ({r}) but no name. Type the name.")
        if not r:
            raise ValueError(f"Give {n}'s role ({ROLE_HINT}).")
        if n.lower() in seen:
            raise ValueError(f"{n} is on the list twice. Each name once, please.")
        seen.add(n.lower())
        out.append((n, r))
    return out


class StaffEditor(QDialog):
    saved = Signal()

    def __init__(self, config: Config, writer: StoreWriter, clock: Clock,
                 author: Callable[[], str | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Staff list — Holdspace")
        self.config = config
        self.writer = writer
        self.clock = clock
        self.author = author
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Name", "Role"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 240)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        add = QPushButton("Add person  (Ctrl+Enter)")
        add.clicked.connect(lambda _=False: self.add_row("", "", edit=True))
        remove = QPushButton("Remove selected")
        remove.clicked.connect(lambda _=False: self._remove())
        save = QPushButton("Save")
        save.clicked.connect(lambda _=False: self.save())
        close = QPushButton("Close  (Esc)")
        close.clicked.connect(lambda _=False: self.reject())
        self.add_button, self.save_button = add, save
        for b in (add, remove, save, close):
            # Enter in a cell finishes the cell; Space never presses a button by surprise.
            b.setAutoDefault(False)
            b.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        QShortcut(QKeySequence("Ctrl+Return"), self, lambda: self.add_row("", "", edit=True))
        QShortcut(QKeySequence("Ctrl+Enter"), self, lambda: self.add_row("", "", edit=True))
        row = QHBoxLayout()
        for b in (add, remove):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(save)
        row.addWidget(close)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("People who write and sign notes at this workstation. "
                             "Removing a name does not change notes already written."))
        lay.addWidget(self.table, 1)
        lay.addWidget(self.message)
        lay.addLayout(row)
        for s in config.staff:
            self.add_row(s.name, s.role)
        self.dirty = False
        self._escaped = False
        self.table.itemChanged.connect(lambda _i: self._touched())
        self.resize(560, 420)

    def add_row(self, name: str, role: str, edit: bool = False) -> None:
        r = self.table.rowCount()
        self.table.insertRow(r)
        self.table.setItem(r, 0, QTableWidgetItem(name))
        self.table.setItem(r, 1, QTableWidgetItem(role))
        self._touched()
        if edit:  # straight into the new name cell
            self.table.setCurrentCell(r, 0)
            self.table.setFocus()
            cell = self.table.item(r, 0)
            if cell is not None:
                self.table.editItem(cell)

    def _touched(self) -> None:
        self.dirty = True
        self._escaped = False

    def _remove(self) -> None:
        for r in sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True):
            self.table.removeRow(r)
            self._touched()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.table.setFocus()  # typing goes to the list, not to a button
        if self.table.rowCount() and self.table.currentRow() < 0:
            self.table.setCurrentCell(0, 0)

    def reject(self) -> None:
        """Escape / Close: with unsaved changes, the first press only says so."""
        if self.dirty and not self._escaped:
            self._escaped = True
            self.message.setStyleSheet(f"color: {theme.ALARM_MEDIUM}; font-weight: bold;")
            self.message.setText("Not saved yet: press Save, or Escape again to close "
                                 "without saving.")
            return
        super().reject()

    def rows(self) -> list[tuple[str, str]]:
        out = []
        for r in range(self.table.rowCount()):
            cells = [self.table.item(r, c) for c in (0, 1)]
            out.append(tuple(c.text() if c is not None else "" for c in cells))
        return [(a, b) for a, b in out]

    def save(self) -> bool:
        try:
            staff = check_staff(self.rows())
        except ValueError as e:
            self.message.setStyleSheet(f"color: {theme.ALARM_MEDIUM}; font-weight: bold;")
            self.message.setText(str(e))
            return False
        self.config.staff = [StaffConfig(n, r) for n, r in staff]
        try:
            self.config.save()
        except OSError as e:
            self.message.setStyleSheet(f"color: {theme.ALARM_MEDIUM}; font-weight: bold;")
            self.message.setText(f"Could not save the settings file ({e.strerror}). "
                                 "The list is kept here; try again.")
            return False
        record_staff_list(self.writer, self.clock, staff, self.author())
        self.dirty = False
        self.message.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self.message.setText(f"Saved: {len(staff)} people.")
        self.saved.emit()
        return True
