"""A name box that offers the people signed in (who may do the thing), as they type.

"Given by" and the discharge's "Signed by" stay plain text boxes (they follow the person at
the keyboard until someone types), but typing offers the team's names so a name is picked,
not spelled; the session's guard still decides whether that person may be named.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtWidgets import QCompleter, QLineEdit


class StaffNames:
    def __init__(self, box: QLineEdit, names: Callable[[], list[str]]) -> None:
        self.names = names
        self.model = QStringListModel(box)
        completer = QCompleter(self.model, box)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        box.setCompleter(completer)

    def refresh(self) -> None:
        """Offer who is signed in now (cheap: only a changed list is set)."""
        got = self.names()
        if got != self.model.stringList():
            self.model.setStringList(got)
