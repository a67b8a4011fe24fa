"""The set & setting checklist: the room and the person, ticked as they are prepared.

Large tick boxes, the time each was done beside it, and the room-mode switch that dims the
whole console when the lights go down. Every change goes straight to `SettingChecklist`,
which records it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.core.music.setting_checklist import Item, SettingChecklist
from console.ui import theme

ROOM_MODE_KEY = "Ctrl+Shift+R"


def _hhmm(t: float | None) -> str:
    return time.strftime("%H:%M", time.localtime(t)) if t else ""


class SettingPanel(QFrame):
    def __init__(self, checklist: SettingChecklist, room_mode_action: QAction | None = None,
                 on_problem: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.setObjectName("settingPanel")
        self.sc = checklist
        self._room = False
        self.checks: dict[str, QCheckBox] = {}
        self.times: dict[str, QLabel] = {}
        self.answers: dict[str, tuple[QPushButton, QPushButton]] = {}
        self.contacts: dict[str, tuple[QLineEdit, QLineEdit]] = {}
        self.texts: dict[str, QPlainTextEdit] = {}

        self.title = QLabel(checklist.checklist.title.upper())
        self.count = QLabel("")
        self.room_button = QPushButton(f"Room mode\n{ROOM_MODE_KEY}")
        self.room_button.setCheckable(True)
        self.room_button.setMinimumHeight(40)
        self.room_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.room_action = room_mode_action
        if room_mode_action is not None:
            self.room_button.clicked.connect(lambda _c: room_mode_action.trigger())
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.count, 1)
        top.addWidget(self.room_button)

        room = QGridLayout()
        room.setHorizontalSpacing(14)
        room.setVerticalSpacing(4)
        person = QVBoxLayout()
        person.setSpacing(6)
        r = 0
        for item in checklist.checklist.items:
            if item.kind == "check":
                room.addLayout(self._check_row(item), r, 0)  # one column: fits a narrow tab
                r += 1
            elif item.kind == "yesno":
                person.addLayout(self._yesno_row(item))
            elif item.kind == "contact":
                person.addLayout(self._contact_row(item))
            else:
                person.addLayout(self._text_row(item))

        self.problems = QLabel("\n".join(checklist.checklist.problems))
        self.problems.setWordWrap(True)
        self.problems.setVisible(bool(checklist.checklist.problems))

        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 8, 12, 10)
        lay.setSpacing(8)
        lay.addLayout(top)
        lay.addLayout(room)
        lay.addLayout(person)
        lay.addWidget(self.problems)
        lay.addStretch(1)
        checklist.changed.connect(lambda _id: self.refresh())
        if on_problem is not None:
            for p in checklist.checklist.problems:
                on_problem(p)
        self.set_room_mode(theme.room_mode_active())

    # ----- rows -----
    def _time_label(self, item: Item) -> QLabel:
        lab = QLabel("")
        lab.setObjectName("time")
        lab.setMinimumWidth(44)
        self.times[item.id] = lab
        return lab

    def _check_row(self, item: Item) -> QHBoxLayout:
        cb = QCheckBox(item.label)
        cb.setMinimumHeight(34)
        cb.toggled.connect(lambda on, i=item.id: self.sc.check(i, on))
        self.checks[item.id] = cb
        row = QHBoxLayout()
        row.addWidget(cb, 1)
        row.addWidget(self._time_label(item))
        return row

    def _yesno_row(self, item: Item) -> QHBoxLayout:
        yes, no = QPushButton("Yes"), QPushButton("No")
        group = QButtonGroup(self)
        group.setExclusive(True)
        for b, val in ((yes, True), (no, False)):
            b.setCheckable(True)
            b.setMinimumHeight(36)
            b.setMinimumWidth(64)
            group.addButton(b)
            b.clicked.connect(lambda _c, i=item.id, v=val: self.sc.answer(i, v))
        self.answers[item.id] = (yes, no)
        row = QHBoxLayout()
        row.addWidget(_wrapping(item.label), 1)
        row.addWidget(yes)
        row.addWidget(no)
        row.addWidget(self._time_label(item))
        return row

    def _contact_row(self, item: Item) -> QHBoxLayout:
        name, phone = QLineEdit(), QLineEdit()
        name.setPlaceholderText("name")
        phone.setPlaceholderText("phone number")
        for w in (name, phone):
            w.setMinimumHeight(34)
            w.editingFinished.connect(
                lambda i=item.id, n=name, p=phone: self.sc.set_contact(i, n.text(), p.text()))
        self.contacts[item.id] = (name, phone)
        row = QHBoxLayout()
        row.addWidget(_wrapping(item.label), 1)
        row.addWidget(name, 2)
        row.addWidget(phone, 2)
        row.addWidget(self._time_label(item))
        return row

    def _text_row(self, item: Item) -> QVBoxLayout:
        edit = QPlainTextEdit()
        edit.setPlaceholderText("In the patient's own words — shown again at the return phase")
        edit.setFixedHeight(64)
        save = QPushButton("Save")
        save.setMinimumHeight(36)
        save.clicked.connect(lambda _c, i=item.id, e=edit: self.sc.set_text(i, e.toPlainText()))
        self.texts[item.id] = edit
        head = QHBoxLayout()
        head.addWidget(QLabel(item.label), 1)
        head.addWidget(self._time_label(item))
        body = QHBoxLayout()
        body.addWidget(edit, 1)
        body.addWidget(save, 0, Qt.AlignmentFlag.AlignBottom)
        col = QVBoxLayout()
        col.setSpacing(2)
        col.addLayout(head)
        col.addLayout(body)
        return col

    # ----- state -----
    def refresh(self) -> None:
        for item_id, st in self.sc.state.items():
            if item_id in self.checks:
                cb = self.checks[item_id]
                cb.blockSignals(True)
                cb.setChecked(st.done)
                cb.blockSignals(False)
            if item_id in self.answers:
                yes, no = self.answers[item_id]
                yes.setChecked(st.answer == "yes")
                no.setChecked(st.answer == "no")
            if item_id in self.contacts:
                name, phone = self.contacts[item_id]
                if not name.hasFocus():
                    name.setText(st.name)
                if not phone.hasFocus():
                    phone.setText(st.phone)
            if item_id in self.texts and not self.texts[item_id].hasFocus():
                edit = self.texts[item_id]
                if edit.toPlainText().strip() != st.text:
                    edit.setPlainText(st.text)
            if item_id in self.times:
                self.times[item_id].setText(_hhmm(st.t) if st.done else "")
        done, total = self.sc.done_count()
        self.count.setText(f"  {done} of {total} done")

    def set_room_mode(self, on: bool) -> None:
        self._room = on
        self.room_button.blockSignals(True)
        self.room_button.setChecked(on)
        self.room_button.blockSignals(False)
        f = 0.5 if on else 1.0
        text, dim_text = theme.dim(theme.TEXT, f), theme.dim(theme.TEXT_DIM, f)
        sf = theme.surfaces(on)
        panel, edge, box, box_edge = sf.panel, sf.edge, sf.control, sf.control_edge
        tick = theme.dim(theme.OK, 0.55 if on else 0.85)
        self.setStyleSheet(f"""
            QFrame#settingPanel {{ background: {panel}; border: 1px solid {edge};
                                   border-radius: 6px; }}
            QLabel, QCheckBox {{ color: {text}; background: transparent; font-size: 15px; }}
            QLabel#time {{ color: {dim_text}; font-size: 13px; }}
            QCheckBox::indicator {{ width: 24px; height: 24px; border-radius: 4px;
                                    border: 1px solid {box_edge}; background: {box}; }}
            QCheckBox::indicator:checked {{ background: {tick}; border-color: {tick}; }}
            QPushButton {{ background: {box}; border: 1px solid {box_edge}; color: {text};
                           border-radius: 6px; padding: 4px 10px; }}
            QPushButton:checked {{ background: {theme.dim("#24323f", f)};
                                   border-color: {theme.dim("#5a7a96", f)}; }}
            QLineEdit, QPlainTextEdit {{ background: {theme.dim("#0f1318", f)}; color: {text};
                                         border: 1px solid {box_edge}; border-radius: 4px; }}
        """)
        self.title.setStyleSheet(f"color: {dim_text}; font-size: 12px; letter-spacing: 2px;")
        self.count.setStyleSheet(f"color: {dim_text}; font-size: 13px;")
        self.problems.setStyleSheet(f"color: {theme.dim('#c9a45a', f)}; font-size: 13px;")
        self.refresh()


def _wrapping(text: str) -> QLabel:
    """A row's label that wraps rather than widening a narrow tab."""
    lab = QLabel(text)
    lab.setWordWrap(True)
    return lab


def room_mode_action(parent: QWidget, toggle: Callable[[], None]) -> QAction:
    a = QAction("Room mode (dim the console)", parent)
    a.setShortcut(ROOM_MODE_KEY)
    a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    a.triggered.connect(toggle)
    return a


class SettingSummary(QFrame):
    """One glance in the bottom row: how much of the room is ready, what is still open,
    and the room-mode switch; the full checklist lives in its own tab."""

    def __init__(self, checklist: SettingChecklist, room_mode_action: QAction | None = None,
                 open_checklist: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.setObjectName("settingSummary")
        self.sc = checklist
        self.title = QLabel("SETTING")
        self.count = QLabel("")
        self.count.hide()
        self.done = QLabel("")
        self.missing = QLabel("")
        self.missing.setWordWrap(True)
        self.room_button = QPushButton(f"Room mode\n{ROOM_MODE_KEY}")
        self.room_button.setCheckable(True)
        self.room_button.setMinimumHeight(52)
        self.room_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        if room_mode_action is not None:
            self.room_button.clicked.connect(lambda _c: room_mode_action.trigger())
        self.open_button = QPushButton("Checklist")
        self.open_button.setMinimumHeight(52)
        self.open_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        if open_checklist is not None:
            self.open_button.clicked.connect(lambda _c: open_checklist())
        else:
            self.open_button.hide()
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.count, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.room_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 8, 12, 10)
        lay.setSpacing(6)
        lay.addLayout(top)
        lay.addWidget(self.done)
        lay.addWidget(self.missing)
        lay.addStretch(1)
        lay.addLayout(buttons)
        checklist.changed.connect(lambda _id: self.refresh())
        self.set_room_mode(theme.room_mode_active())

    def refresh(self) -> None:
        items = self.sc.checklist.items
        open_ = [it.label for it in items if not self.sc.state[it.id].done]
        n, total = self.sc.done_count()
        self.count.setText(f"  {n} of {total} ready")
        self.done.setText(f"✓ {n} of {total} ready" if n else "Nothing ticked yet")
        self.done.setProperty("none", n == 0)
        self._colour_done()
        shown = open_[:3] + ([f"{len(open_) - 3} more"] if len(open_) > 3 else [])
        self.missing.setText("Still open: " + " · ".join(shown) if open_ else "All ready")
        self.missing.setToolTip("\n".join(open_))

    def _colour_done(self) -> None:
        on = getattr(self, "_room", False)
        colour = theme.TEXT_DIM if self.done.property("none") else theme.OK
        self.done.setStyleSheet(f"color: {theme.dim(colour, 0.45 if on else 0.9)}; "
                                "font-size: 17px;")

    def set_room_mode(self, on: bool) -> None:
        self.room_button.blockSignals(True)
        self.room_button.setChecked(on)
        self.room_button.blockSignals(False)
        f = 0.5 if on else 1.0
        text, dim_text = theme.dim(theme.TEXT, f), theme.dim(theme.TEXT_DIM, f)
        sf = theme.surfaces(on)
        panel, edge, box, box_edge = sf.panel, sf.edge, sf.control, sf.control_edge
        self.setStyleSheet(f"""
            QFrame#settingSummary {{ background: {panel}; border: 1px solid {edge};
                                     border-radius: 6px; }}
            QLabel {{ color: {text}; background: transparent; font-size: 14px; }}
            QPushButton {{ background: {box}; border: 1px solid {box_edge}; color: {text};
                           border-radius: 6px; padding: 4px 10px; font-size: 15px; }}
            QPushButton:checked {{ background: {theme.dim("#24323f", f)};
                                   border-color: {theme.dim("#5a7a96", f)}; }}
        """)
        self.title.setStyleSheet(f"color: {dim_text}; font-size: 12px; letter-spacing: 2px;")
        self.count.setStyleSheet(f"color: {dim_text}; font-size: 13px;")
        self._room = on
        self.missing.setStyleSheet(f"color: {dim_text};")
        self.refresh()
