"""The staff list: who can be picked as author at session start and per entry, and who signs.

A plain window, not a modal dialog, so it never blocks the vitals. Saving writes the
workstation settings (Config.staff) and a `staff.list_changed` event, so authors named in
old notes can be traced to the list as it was.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
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
from console.core.notes import record_staff_list
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


class StaffEditor(QWidget):
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
        add = QPushButton("Add person")
        add.clicked.connect(lambda: self.add_row("", ""))
        remove = QPushButton("Remove selected")
        remove.clicked.connect(self._remove)
        save = QPushButton("Save")
        save.clicked.connect(self.save)
        self.save_button = save
        row = QHBoxLayout()
        for b in (add, remove):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(save)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("People who write and sign notes at this workstation. "
                             "Removing a name does not change notes already written."))
        lay.addWidget(self.table, 1)
        lay.addWidget(self.message)
        lay.addLayout(row)
        for s in config.staff:
            self.add_row(s.name, s.role)
        self.resize(520, 420)

    def add_row(self, name: str, role: str) -> None:
        r = self.table.rowCount()
        self.table.insertRow(r)
        self.table.setItem(r, 0, QTableWidgetItem(name))
        self.table.setItem(r, 1, QTableWidgetItem(role))

    def _remove(self) -> None:
        for r in sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True):
            self.table.removeRow(r)

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
        self.message.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self.message.setText(f"Saved: {len(staff)} people.")
        self.saved.emit()
        return True
