"""The clinic passphrase asked in the window's dialog (no terminal), again after a wrong one."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit
from pytestqt.qtbot import QtBot

from console.store import keys
from console.store.db import StoreError, open_db
from console.ui.passphrase_dialog import ask_passphrase

RIGHT = "the river runs past the clinic"


@pytest.fixture
def passphrase_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOLDSPACE_KEY_DIR", str(tmp_path / "keys"))
    keys.forget_cached()
    keys.use_passphrase(RIGHT)
    db = tmp_path / "holdspace.db"
    open_db(db).close()  # made with the key just derived (cached)
    keys.forget_cached()  # the next start asks again
    keys.take_notices()
    monkeypatch.setattr(keys, "passphrase_prompt", ask_passphrase)
    return db


def answer_dialogs(answers: list[str], seen: list[tuple[str, QLineEdit.EchoMode]]) -> None:
    """Type each answer into the passphrase dialog when it shows (None: press Cancel)."""
    def step() -> None:
        dlg = QApplication.activeModalWidget()
        if not isinstance(dlg, QInputDialog):
            QTimer.singleShot(10, step)
            return
        seen.append((dlg.labelText(), dlg.textEchoMode()))
        text = answers.pop(0)
        if text:
            dlg.setTextValue(text)
            dlg.accept()
        else:
            dlg.reject()
        if answers:
            QTimer.singleShot(10, step)
    QTimer.singleShot(0, step)


def test_the_window_asks_the_passphrase_masked_and_again_after_a_wrong_one(
        qtbot: QtBot, passphrase_db: Path) -> None:
    seen: list[tuple[str, QLineEdit.EchoMode]] = []
    answer_dialogs(["the river runs past the shop", RIGHT], seen)
    open_db(passphrase_db).close()
    assert [q for q, _ in seen] == [keys.PASSPHRASE_QUESTION, keys.PASSPHRASE_AGAIN]
    assert all(mode == QLineEdit.EchoMode.Password for _, mode in seen)


def test_cancel_leaves_the_record_locked_with_one_sentence(qtbot: QtBot,
                                                            passphrase_db: Path) -> None:
    before = passphrase_db.read_bytes()
    seen: list[tuple[str, QLineEdit.EchoMode]] = []
    answer_dialogs([""], seen)
    with pytest.raises(StoreError, match="the clinic passphrase: it was not given"):
        open_db(passphrase_db)
    assert len(seen) == 1 and passphrase_db.read_bytes() == before


def test_three_wrong_passphrases_are_refused_and_nothing_changes(qtbot: QtBot,
                                                                 passphrase_db: Path) -> None:
    before = passphrase_db.read_bytes()
    seen: list[tuple[str, QLineEdit.EchoMode]] = []
    answer_dialogs(["wrong one", "wrong two", "wrong three"], seen)
    with pytest.raises(StoreError, match="not this clinic's passphrase"):
        open_db(passphrase_db)
    assert len(seen) == 3 and passphrase_db.read_bytes() == before
