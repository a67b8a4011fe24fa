"""The clinic admin's audit log: sign-ins, wrong PINs and lock-outs, locks, staff changes,
and every export, report, print and backup (`audit.*` and `export.*` events), newest first.
Read-only; opening it is itself no event (it shows no patient data beyond what was exported
where)."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.core.people.service import PeopleService
from console.core.saving import settle
from console.store.events import Event
from console.ui import theme
from console.ui.gui_post import GuiPoster

COLUMNS = ["When", "What", "Who", "Details"]
# kinds worth a second look, in amber
WARN_KINDS = ("audit.pin_refused", "audit.locked_out")


def _nothing(_c: object) -> None:
    """A writer call that only waits its turn: everything queued before it is committed."""


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _what(kind: str) -> str:
    """"audit.pin_refused" -> "pin refused"; "export.csv" -> "export csv"."""
    family, _, rest = kind.partition(".")
    words = rest.replace("_", " ")
    return words if family == "audit" else f"{family} {words}"


class AuditView(QDialog):
    def __init__(self, people: PeopleService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.people = people
        self._post = GuiPoster(self)  # the writer's late answer; dropped once this is gone
        self.setWindowTitle("Audit log — Holdspace")
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Show only lines with… (a name, “pin”, “export” …)")
        self.filter.textChanged.connect(lambda _t: self._fill())
        again = QPushButton("Refresh")
        again.setAutoDefault(False)
        again.clicked.connect(lambda _=False: self.reload())
        close = QPushButton("Close  (Esc)")
        close.setAutoDefault(False)
        close.clicked.connect(lambda _=False: self.reject())
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.reject)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("auditTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        self.table.setStyleSheet("font-size: 16px;")
        self.count = QLabel("")
        self.count.setStyleSheet(f"color: {theme.TEXT_DIM};")
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(again)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.count, 1)
        bottom.addWidget(close)
        lay.addLayout(bottom)
        self.table.verticalHeader().hide()
        self.setMinimumSize(820, 420)
        self.resize(1000, 640)
        self.events: list[Event] = []
        self.reload()

    def reload(self) -> None:
        """What the file holds, once the writer has stored what was queued before (a
        sign-in a moment ago); on a slow disk what it holds now, and again when it has."""
        stored = self.people.writer.call(_nothing)  # answered after all queued before it
        if not settle(stored, self._post, self._show_stored, self._show_stored):
            self._show_stored()

    def _show_stored(self, _answer: object = None) -> None:
        self.events = self.people.audit_events()
        self._fill()

    def shown(self) -> list[Event]:
        want = self.filter.text().strip().casefold()
        return [e for e in self.events if not want or want in self._line(e).casefold()]

    @staticmethod
    def _line(e: Event) -> str:
        return " ".join((_what(e.kind), e.author or "", str(e.payload.get("summary", ""))))

    def _fill(self) -> None:
        rows = self.shown()
        self.table.setRowCount(len(rows))
        for i, e in enumerate(rows):
            cells = (_when(e.recorded or e.t), _what(e.kind),
                     e.author or str(e.payload.get("name") or e.payload.get("by") or "—"),
                     str(e.payload.get("summary", "")))
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if e.kind in WARN_KINDS:
                    item.setForeground(QColor(theme.WARN))
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        self.table.resizeRowsToContents()
        self.count.setText(f"{len(rows)} of {len(self.events)} entries, newest first")
