"""The "problems with clinic files" view: a calm line under the header and a small list.

A clinic file (template, playlist, music program, checklist, quick tags) or the workstation
settings that could not be used never stops the console; the shipped default is used. This
says so where a nurse will see it — one muted amber line naming the files, and Help ▸
Problems with clinic files… for the file, the line and the reason in plain words. The list
is not modal, so it never covers the vitals for long.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.core.clinic_files import FileProblem
from console.core.clinic_survey import survey
from console.core.context import AppContext
from console.core.music import playlists
from console.ui import theme
from console.ui.live_feed import LiveFeed
from console.ui.shell import Shell

AMBER = "#c9a45a"  # muted: a file problem is not an alarm
MENU_TEXT = "Problems with clinic files…"
SHIPPED_ROOT = Path(__file__).resolve().parents[2]  # repo root: the shipped playlists/


def summary(problems: list[FileProblem]) -> str:
    """One line: how many files, which ones, where to read more."""
    names = list(dict.fromkeys(p.path.name for p in problems))
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    files = "1 file" if len(names) == 1 else f"{len(names)} files"
    return (f"{files} could not be fully read ({shown}) — the standard settings are used "
            f"where needed. Help ▸ {MENU_TEXT.rstrip('…')}")


class FileProblemsNotice(QFrame):
    """The line under the header; hidden while there is nothing to say."""

    def __init__(self, open_list: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("fileProblemsNotice")
        self.setStyleSheet("QFrame#fileProblemsNotice { background: #1a1812; border: 1px "
                           "solid #3a3222; border-radius: 4px; }")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 4, 6, 4)
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.text.setStyleSheet(f"color: {AMBER}; font-size: 15px;")
        self.details = QPushButton("Details…")
        self.details.clicked.connect(open_list)
        self.hide_button = QPushButton("Hide")
        self.hide_button.setToolTip("Hide this line until the next start; the list stays under "
                                    "Help.")
        self.hide_button.clicked.connect(self.hide)
        lay.addWidget(self.text, 1)
        lay.addWidget(self.details)
        lay.addWidget(self.hide_button)
        self.hide()

    def set_problems(self, problems: list[FileProblem]) -> None:
        self.text.setText(summary(problems) if problems else "")
        self.setVisible(bool(problems))


class FileProblemsDialog(QDialog):
    """File, line, what is wrong and what is used instead, one row per problem."""

    COLUMNS = ("File", "Line", "What is wrong", "What Holdspace does")

    def __init__(self, check: Callable[[], list[FileProblem]], data_dir: Path,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Problems with clinic files")
        self.setModal(False)
        self.resize(1100, 420)
        self._check = check
        self.heading = QLabel("")
        self.heading.setWordWrap(True)
        where = QLabel(f"The clinic's own files are in {data_dir}. Fix a file there (or remove "
                       "it), then press Check again; the console keeps running meanwhile. The workstation "
                       "settings (workstation.json) are read again at the next start.")
        where.setWordWrap(True)
        where.setStyleSheet(f"color: {theme.TEXT_DIM};")
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setWordWrap(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        again = QPushButton("Check again")
        again.clicked.connect(self.refresh)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(again)
        buttons.addWidget(close)
        lay = QVBoxLayout(self)
        lay.addWidget(self.heading)
        lay.addWidget(where)
        lay.addWidget(self.table, 1)
        lay.addLayout(buttons)
        self.problems: list[FileProblem] = []

    def refresh(self) -> None:
        self.show_problems(self._check())

    def show_problems(self, problems: list[FileProblem]) -> None:
        self.problems = problems
        self.heading.setText(
            "Every clinic file was read." if not problems else
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the clinic's files. "
            "None of them stops the console.")
        self.table.setRowCount(len(problems))
        for row, p in enumerate(problems):
            cells = (p.path.name, str(p.line) if p.line else "—", p.reason,
                     p.outcome or "this part is left out")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(str(p.path) if col == 0 else text)
                self.table.setItem(row, col, item)
        self.table.resizeRowsToContents()


class FileProblemsFeature:
    """Checks the files once at start, shows the line, and keeps the list at hand."""

    def __init__(self, shell: Shell, ctx: AppContext) -> None:
        dirs = playlists.default_dirs(SHIPPED_ROOT, ctx.data_dir)
        self.check: Callable[[], list[FileProblem]] = lambda: survey(ctx.config, ctx.data_dir,
                                                                     dirs)
        self.dialog = FileProblemsDialog(self._recheck, ctx.data_dir, shell.dialog_parent())
        self.notice = FileProblemsNotice(self.open_list)
        shell.add_banner(self.notice)
        self.action = shell.action(MENU_TEXT, "", self.open_list, "help")
        self.problems: list[FileProblem] = []
        self._show(self.check())

    def _recheck(self) -> list[FileProblem]:
        problems = self.check()
        self._show(problems)
        return problems

    def _show(self, problems: list[FileProblem]) -> None:
        self.problems = problems
        self.notice.set_problems(problems)
        self.dialog.show_problems(problems)

    def open_list(self) -> None:
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()

    def close(self) -> None:
        self.dialog.close()


def install(shell: Shell, ctx: AppContext, feed: LiveFeed) -> FileProblemsFeature:
    """Add the file-problems line and list to the window (see console/app.py FEATURES)."""
    return FileProblemsFeature(shell, ctx)
