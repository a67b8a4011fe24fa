"""The clinic passphrase, asked in a small dialog when the console starts without a terminal.

Only for a workstation set up with `holdspace key --use-passphrase` (console/store/keys.py): the
key is derived from the passphrase at each start, so it must be asked before the database
opens — before the main window exists. Masked input; Cancel means "not now" and the console
does not start (the record stays locked, nothing changes).
"""

from __future__ import annotations

import sys


def ask_passphrase(question: str) -> str:
    """Show `question` with a masked field; the passphrase typed, or "" when cancelled."""
    from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit

    if QApplication.instance() is None:
        QApplication(sys.argv)
    text, ok = QInputDialog.getText(None, "Holdspace — clinic passphrase", question,
                                    QLineEdit.EchoMode.Password)
    return text if ok else ""
