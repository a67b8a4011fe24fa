"""The note pane: fast timestamped entries while the patient speaks, the structured note,
amendments with history, and sign-off — all without a modal dialog over the vitals.

Every write goes through `NoteBook`; a refusal is shown in the message line above in plain
words and the text stays where it was typed. Fields are cleared once the entry is handed to
the disk; until it is committed it is listed dimmed as "saving…". If the database refuses it,
the message line says so, the entry stays listed in red as NOT SAVED, and the typed text goes
back into its box (observation, section) to be saved again. Entries the rest of the console
writes into the session (doses, checks) appear when the writer has committed them (`NoteBook`
hears `SessionService.committed`); nothing here polls the database.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QFont, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console.core.notes.drafts import FLUSH_S
from console.core.notes.note_text import altered_line, note_text
from console.core.notes.notes import DEFAULT_TAGS, PHASES, ROUTES, SEVERITIES, NoteBook
from console.core.notes.scales import SCORES, NoteError, clock_text, measures
from console.core.notes.sections import Section, sections_for
from console.core.saving import SaveOutcome
from console.core.session_record import AMEND, Entry, SessionRecord
from console.store.events import Event
from console.ui import theme
from console.ui.gui_post import GuiPoster
from console.ui.side_tabs import reveal

RESCUE_DRUGS = ("", "ondansetron", "clonidine", "labetalol", "metoprolol", "lorazepam",
                "midazolam")
SCORE_KEYS = ("moaas", "cadss", "cadss6", "rass")
RESTORED = "Restored text typed before Holdspace closed — not saved yet"
OBSERVATION_BOX = "observation"  # draft keys besides "section:<key>"
AE_BOX = "ae"


def _hhmm(t: float) -> str:
    return time.strftime("%H:%M", time.localtime(t))


class SectionBox(QGroupBox):
    """One section of the note: its structured fields, its prose, and a Save button."""

    saved = Signal(str)
    changed = Signal(str)  # typed into (not a load): its draft is kept
    discarded = Signal(str)  # the unsaved text was thrown away on purpose (pressed twice)

    def __init__(self, section: Section, parent: QWidget | None = None) -> None:
        super().__init__(section.title, parent)
        self.section = section
        self.dirty = False
        self._loading = False
        self.inputs: dict[str, QLineEdit | QComboBox] = {}
        lay = QVBoxLayout(self)
        if section.derived:
            self.derived_label = QLabel("No dose recorded yet.")
            self.derived_label.setWordWrap(True)
            lay.addWidget(self.derived_label)
            return
        form = QFormLayout()
        for f in section.fields:
            w: QLineEdit | QComboBox
            if f.kind == "choice":
                w = QComboBox()
                w.addItems(list(f.choices) if "" in f.choices else ["", *f.choices])
                w.currentIndexChanged.connect(self._touched)
            else:
                w = QLineEdit()
                if f.kind == "time":
                    w.setPlaceholderText("hh:mm")
                w.textEdited.connect(self._touched)
            w.setObjectName(f"{section.key}.{f.key}")
            self.inputs[f.key] = w
            form.addRow(f.label, w)
        lay.addLayout(form)
        self.text = QPlainTextEdit()
        self.text.setObjectName(f"{section.key}.text")
        self.text.setPlaceholderText("Notes")
        self.text.setFixedHeight(72)
        self.text.textChanged.connect(self._touched)
        lay.addWidget(self.text)
        row = QHBoxLayout()
        self.state = QLabel("")
        self.state.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self.state.setWordWrap(True)  # a long state never pushes Save out of the column
        self.save_button = QPushButton("Save section")
        self.save_button.clicked.connect(lambda: self.saved.emit(section.key))
        self.discard_button = QPushButton("Discard")
        self.discard_button.setToolTip("Throw away the text not saved yet (press twice)")
        self.discard_button.clicked.connect(self._discard_pressed)
        self.discard_button.hide()
        row.addWidget(self.state, 1)
        row.addWidget(self.discard_button)
        row.addWidget(self.save_button)
        lay.addLayout(row)

    def _touched(self, *_: object) -> None:
        if not self._loading:
            self.set_dirty(True, "not saved yet")
            self.changed.emit(self.section.key)

    def set_dirty(self, dirty: bool, why: str = "") -> None:
        self.dirty = dirty
        if dirty:
            self.state.setText(why)
        self.discard_button.setText("Discard")
        self.discard_button.setVisible(dirty)

    def _discard_pressed(self) -> None:
        """Twice on purpose: typed clinical text is never thrown away by one slip."""
        if self.discard_button.text() == "Discard":
            self.discard_button.setText("Press again to discard")
            return
        self.set_dirty(False)
        self.discarded.emit(self.section.key)

    def draft(self) -> dict[str, object]:
        """What the box holds, as its draft is kept."""
        return {"text": self.text.toPlainText(), "fields": self.values()}

    def values(self) -> dict[str, str]:
        return {k: (w.currentText() if isinstance(w, QComboBox) else w.text())
                for k, w in self.inputs.items()}

    def restore(self, text: str, fields: dict[str, object], why: str) -> None:
        """Put back what a refused save held: the section stays unsaved until saved again."""
        self._show(text, fields)
        self.set_dirty(True, why)

    def load(self, entry: Entry | None) -> None:
        """Show what is stored, unless the clinician is still editing this section."""
        if self.section.derived or self.dirty:
            return
        cur = entry.current if entry else {}
        self._show(str(cur.get("text", "")), cur.get("fields", {}))
        if entry is None:
            self.state.setText("")
        else:
            who = entry.amendments[-1].author if entry.amended else entry.author
            when = entry.history()[-1].recorded or entry.original.t
            self.state.setText(f"saved {_hhmm(when)} by {who}" +
                               ("  · amended" if entry.amended else ""))

    def _show(self, text: str, fields: dict[str, object]) -> None:
        self._loading = True
        try:
            for k, w in self.inputs.items():
                v = fields.get(k, "")
                if k == "time" and isinstance(v, float):
                    v = clock_text(v)
                elif isinstance(v, float):
                    v = f"{v:g}"
                if isinstance(w, QComboBox):
                    w.setCurrentText(str(v))
                else:
                    w.setText(str(v))
            self.text.setPlainText(text)
        finally:
            self._loading = False


LOG_ROWS = 8  # the log list is never shorter than this many entries
LOG_ROW_PX = 20  # one line of the list in the console's 15-px font


class NotePane(QWidget):
    """The Notes tab in the right column."""

    entry_selected = Signal(float, str)  # t, uid — the feature moves the timeline there

    def __init__(self, notes: NoteBook, staff: Callable[[], Sequence[tuple[str, str]]],
                 tags: Sequence[str] = DEFAULT_TAGS, parent: QWidget | None = None,
                 own_shortcuts: bool = True, default_author: Callable[[], str | None] = (
                     lambda: None)) -> None:
        super().__init__(parent)
        self.notes = notes
        self.staff = staff
        self.default_author = default_author
        self.record: SessionRecord | None = None

        # ----- header: who writes, lock state, messages -----
        self.author_box = QComboBox()
        self.author_box.setObjectName("author")
        self.author_box.setToolTip("Who is writing the next entry (switch per entry)")
        self.lock_label = QLabel("")
        self.lock_label.setStyleSheet(f"color: {theme.TEXT_DIM}; font-weight: bold;")
        self.lock_label.setMinimumWidth(
            self.lock_label.fontMetrics().horizontalAdvance("SIGNED · locked") + 24)
        self.message = QLabel("")
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.hide()
        head = QHBoxLayout()
        head.addWidget(QLabel("Writing as"))
        head.addWidget(self.author_box, 1)
        head.addWidget(self.lock_label)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_log(tags), "Log")
        self.tabs.addTab(self._build_note(), "Note")
        self.tabs.addTab(self._build_sign(), "Sign")

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(head)
        lay.addWidget(self.message)
        lay.addWidget(self.tabs, 1)

        self.observe_action = QAction("Add observation", self)
        self.observe_action.setShortcut(QKeySequence("Ctrl+O"))
        self.observe_action.triggered.connect(self.focus_observation)
        self.ae_action = QAction("Adverse event / intervention", self)
        self.ae_action.setShortcut(QKeySequence("Ctrl+Shift+A"))
        self.ae_action.triggered.connect(self.open_ae_form)
        self.tag_actions: list[QAction] = []
        for i, tag in enumerate(tags[:9]):
            a = QAction(f"Tag: {tag}", self)
            a.setShortcut(QKeySequence(f"Alt+{i + 1}"))
            a.triggered.connect(lambda _=False, t=tag: self.add_tag(t))
            self.tag_actions.append(a)
        if own_shortcuts:
            for a in self.actions_for_window():
                a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                self.addAction(a)

        # Typed text is kept as a draft in the database at most once a second while typing
        # (the first change starts the timer; later ones ride along), so a crash loses at
        # most the last second of it (console/core/notes/drafts.py).
        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(int(FLUSH_S * 1000))
        self._draft_timer.timeout.connect(self.flush_drafts)
        self._drafts_of: int | None = None  # the session whose drafts are in the boxes
        self._filling = False  # the AE form is being filled from a draft, not typed
        for w in (self.obs_edit, self.at_edit):
            w.textEdited.connect(self._observation_typed)
        for w in (self.ae_what, self.ae_mg, self.ae_other, self.ae_outcome):
            w.textEdited.connect(self._ae_typed)
        self.ae_drug.editTextChanged.connect(self._ae_typed)
        self.ae_drug.activated.connect(self._ae_typed)
        self.ae_severity.activated.connect(self._ae_typed)
        self.ae_route.activated.connect(self._ae_typed)

        self.reload_staff()
        notes.changed.connect(self.set_record)
        notes.switching.connect(self._save_drafts)
        notes.failed.connect(self._save_failed)
        if notes.saves.post is None:  # no app wiring (a pane on its own): hear saves anyway
            notes.saves.post = GuiPoster()
        self.set_record(notes.record())

    def actions_for_window(self) -> list[QAction]:
        return [self.observe_action, self.ae_action, *self.tag_actions]

    # ----- building -----
    def _build_log(self, tags: Sequence[str]) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        self.obs_edit = QLineEdit()
        self.obs_edit.setObjectName("observation")
        self.obs_edit.setPlaceholderText("What you see or hear — Enter adds it, "
                                         "Ctrl+Enter as a patient quote")
        f = self.obs_edit.font()
        f.setPixelSize(18)
        self.obs_edit.setFont(f)
        self.obs_edit.returnPressed.connect(lambda: self.add_observation(quote=False))
        quote_key = QAction(self.obs_edit)
        quote_key.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        quote_key.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        quote_key.triggered.connect(lambda: self.add_observation(quote=True))
        self.obs_edit.addAction(quote_key)
        self.at_edit = QLineEdit()
        self.at_edit.setObjectName("at")
        self.at_edit.setPlaceholderText("at hh:mm")
        self.at_edit.setToolTip("Leave empty for now; type an earlier time to back-date")
        self.at_edit.setFixedWidth(90)
        add = QPushButton("Add")
        add.clicked.connect(lambda: self.add_observation(quote=False))
        self.quote_button = QPushButton("“Quote”")
        self.quote_button.clicked.connect(lambda: self.add_observation(quote=True))
        row = QHBoxLayout()
        row.addWidget(self.obs_edit, 1)
        row.addWidget(self.at_edit)
        row.addWidget(add)
        row.addWidget(self.quote_button)
        lay.addLayout(row)

        tag_grid = QGridLayout()
        self.tag_buttons: dict[str, QPushButton] = {}
        for i, tag in enumerate(tags):
            b = QPushButton(tag + (f"  Alt+{i + 1}" if i < 9 else ""))
            b.clicked.connect(lambda _=False, t=tag: self.add_tag(t))
            self.tag_buttons[tag] = b
            tag_grid.addWidget(b, i // 2, i % 2)  # two per row: fits a narrow column
        lay.addLayout(tag_grid)

        score_row = QHBoxLayout()
        self.scale_box = QComboBox()
        for k in SCORE_KEYS:
            self.scale_box.addItem(SCORES[k].label, k)
        self.score_edit = QLineEdit()
        self.score_edit.setObjectName("score")
        self.score_edit.setPlaceholderText("score")
        self.score_edit.setFixedWidth(80)
        self.score_edit.returnPressed.connect(self.add_score)
        score_button = QPushButton("Add score")
        score_button.clicked.connect(self.add_score)
        score_row.addWidget(QLabel("Score"))
        score_row.addWidget(self.scale_box)
        score_row.addWidget(self.score_edit)
        score_row.addWidget(score_button)
        score_row.addStretch(1)
        lay.addLayout(score_row)

        self.ae_toggle = QPushButton("Adverse event / intervention…")
        self.ae_toggle.setCheckable(True)
        lay.addWidget(self.ae_toggle)
        ae = self.ae_box = QGroupBox("Adverse event")
        self.ae_toggle.toggled.connect(self.show_ae_form)
        form = QGridLayout(ae)
        self.ae_what = QLineEdit()
        self.ae_what.setObjectName("ae_what")
        self.ae_what.setPlaceholderText("what happened")
        self.ae_severity = QComboBox()
        self.ae_severity.addItems(list(SEVERITIES))
        self.ae_severity.setPlaceholderText("severity")
        self.ae_severity.setCurrentIndex(-1)
        self.ae_drug = QComboBox()
        self.ae_drug.setEditable(True)
        self.ae_drug.addItems(list(RESCUE_DRUGS))
        drug_line = self.ae_drug.lineEdit()
        if drug_line is not None:
            drug_line.setPlaceholderText("drug given, if any")
        self.ae_mg = QLineEdit()
        self.ae_mg.setPlaceholderText("mg")
        self.ae_mg.setFixedWidth(70)
        self.ae_route = QComboBox()
        self.ae_route.addItems(list(ROUTES))
        self.ae_route.setPlaceholderText("route")
        self.ae_route.setCurrentIndex(-1)
        self.ae_other = QLineEdit()
        self.ae_other.setPlaceholderText("other intervention (reassurance, position, …)")
        self.ae_outcome = QLineEdit()
        self.ae_outcome.setPlaceholderText("outcome")
        self.ae_button = ae_button = QPushButton("Record adverse event")
        ae_button.clicked.connect(self.add_adverse_event)
        form.addWidget(self.ae_what, 0, 0, 1, 3)
        form.addWidget(self.ae_severity, 0, 3)
        form.addWidget(QLabel("Drug"), 1, 0)
        form.addWidget(self.ae_drug, 1, 1)
        form.addWidget(self.ae_mg, 1, 2)
        form.addWidget(self.ae_route, 1, 3)
        form.addWidget(self.ae_other, 2, 0, 1, 4)
        form.addWidget(self.ae_outcome, 3, 0, 1, 3)
        form.addWidget(ae_button, 3, 3)
        lay.addWidget(ae)
        ae.hide()  # folded away until needed, so the log keeps its room

        self.entries = QListWidget()
        self.entries.setObjectName("entries")
        self.entries.setWordWrap(True)
        self.entries.currentItemChanged.connect(self._entry_changed)
        # At least LOG_ROWS entries tall (it grows with the tab); follows the newest entry
        # unless the clinician has scrolled up to read (see set_record).
        self.entries.setMinimumHeight(LOG_ROWS * LOG_ROW_PX + 12)
        lay.addWidget(self.entries, 1)

        amend_row = QHBoxLayout()
        self.amend_button = QPushButton("Amend")
        self.amend_button.clicked.connect(self.start_amend)
        self.history_button = QPushButton("History")
        self.history_button.setCheckable(True)
        self.history_button.toggled.connect(self._show_history)
        amend_row.addWidget(self.amend_button)
        amend_row.addWidget(self.history_button)
        amend_row.addStretch(1)
        lay.addLayout(amend_row)
        self.amend_box = QWidget()
        ab = QGridLayout(self.amend_box)
        ab.setContentsMargins(0, 0, 0, 0)
        self.amend_edit = QLineEdit()
        self.amend_edit.setObjectName("amend_text")
        self.amend_reason = QLineEdit()
        self.amend_reason.setPlaceholderText("reason (optional)")
        save = QPushButton("Save amendment")
        save.clicked.connect(self.save_amendment)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.amend_box.hide)
        self.amend_label = QLabel("")
        ab.addWidget(self.amend_label, 0, 0, 1, 3)
        ab.addWidget(self.amend_edit, 1, 0, 1, 3)
        ab.addWidget(self.amend_reason, 2, 0)
        ab.addWidget(save, 2, 1)
        ab.addWidget(cancel, 2, 2)
        self.amend_box.hide()
        lay.addWidget(self.amend_box)
        self.history = QPlainTextEdit()
        self.history.setObjectName("history")
        self.history.setReadOnly(True)
        self.history.setFixedHeight(110)
        self.history.hide()
        lay.addWidget(self.history)
        self._amend_uid: str | None = None
        return w

    def _build_note(self) -> QWidget:
        inner = QWidget()
        self.note_layout = QVBoxLayout(inner)
        self.section_boxes: dict[str, SectionBox] = {}
        self._section_template: str | None = "\0"
        out = QGroupBox("Course and outcome measures")
        grid = QVBoxLayout(out)
        phase_row = QHBoxLayout()
        self.phase_box = QComboBox()
        self.phase_box.addItems(list(PHASES))
        self.phase_label = QLineEdit()
        self.phase_label.setPlaceholderText("label, e.g. low-dose")
        set_phase = QPushButton("Set phase")
        set_phase.clicked.connect(self.set_phase)
        self.phase_state = QLabel("")
        phase_row.addWidget(QLabel("This session is"))
        phase_row.addWidget(self.phase_box)
        phase_row.addWidget(self.phase_label, 1)
        phase_row.addWidget(set_phase)
        grid.addLayout(phase_row)
        grid.addWidget(self.phase_state)
        row = QHBoxLayout()
        grid.addLayout(row)
        self.measure_box = QComboBox()
        self.measure_box.addItems(list(measures(self.notes.custom_measures)))
        self.measure_edit = QLineEdit()
        self.measure_edit.setPlaceholderText("total")
        self.measure_edit.setFixedWidth(80)
        add = QPushButton("Add")
        add.clicked.connect(self.add_outcome)
        self.measure_list = QLabel("")
        row.addWidget(self.measure_box)
        row.addWidget(self.measure_edit)
        row.addWidget(add)
        row.addWidget(self.measure_list, 1)
        self.outcome_box = out
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        return scroll

    def _rebuild_sections(self, template: str | None) -> None:
        if template == self._section_template:
            return
        if any(b.dirty for b in self.section_boxes.values()):
            return  # never throw away typed text; rebuilt once it is saved
        self._section_template = template
        while self.note_layout.count():
            item = self.note_layout.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None and w is not self.outcome_box:
                w.deleteLater()
        self.section_boxes = {}
        for sec in sections_for(template):
            box = SectionBox(sec)
            box.saved.connect(self.save_section)
            box.changed.connect(self._section_typed)
            box.discarded.connect(self._section_discarded)
            self.section_boxes[sec.key] = box
            self.note_layout.addWidget(box)
        self.note_layout.addWidget(self.outcome_box)
        self.note_layout.addStretch(1)

    def _build_sign(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        self.sign_state = QLabel("Not signed.")
        self.sign_state.setWordWrap(True)
        lay.addWidget(self.sign_state)
        self.full_note = QPlainTextEdit()
        self.full_note.setObjectName("full_note")
        self.full_note.setReadOnly(True)
        self.full_note.setToolTip("The whole record as it will be signed")
        lay.addWidget(self.full_note, 2)
        box = self.sign_box = QGroupBox("Sign the session")
        form = QFormLayout(box)
        self.sign_name = QComboBox()
        self.sign_name.setObjectName("sign_name")
        self.sign_name.setEditable(True)
        self.sign_name.currentTextChanged.connect(self._fill_role)
        self.sign_role = QLineEdit()
        self.sign_role.setObjectName("sign_role")
        self.sign_statement = QLineEdit("I have reviewed this record of the session.")
        self.sign_button = QPushButton("Sign session")
        self.sign_button.clicked.connect(self.sign)
        form.addRow("Name", self.sign_name)
        form.addRow("Role", self.sign_role)
        form.addRow("Statement", self.sign_statement)
        form.addRow(self.sign_button)
        lay.addWidget(box)
        add = self.addendum_box = QGroupBox("Addendum (signed by its author)")
        af = QFormLayout(add)
        self.add_text = QPlainTextEdit()
        self.add_text.setObjectName("addendum")
        self.add_text.setFixedHeight(80)
        self.add_name = QComboBox()
        self.add_name.setEditable(True)
        self.add_role = QLineEdit()
        self.add_name.currentTextChanged.connect(
            lambda n: self._fill_role(n, self.add_role))
        add_button = QPushButton("Add signed addendum")
        add_button.clicked.connect(self.add_addendum)
        af.addRow(self.add_text)
        af.addRow("Name", self.add_name)
        af.addRow("Role", self.add_role)
        af.addRow(add_button)
        lay.addWidget(add)
        self.addenda = QLabel("")
        self.addenda.setWordWrap(True)
        self.addenda.setAlignment(Qt.AlignmentFlag.AlignTop)
        lay.addWidget(self.addenda)
        return w

    # ----- staff / author -----
    def reload_staff(self) -> None:
        """Refill the author and signer lists from the staff list (after it was edited)."""
        people = list(self.staff())
        current = self.author_box.currentText() or self.default_author() or ""
        for box in (self.author_box, self.sign_name, self.add_name):
            keep = box.currentText() if box is not self.author_box else current
            box.blockSignals(True)
            box.clear()
            box.addItems([n for n, _r in people])
            # Never a default person: an entry must not be signed by whoever is listed first.
            box.setCurrentIndex(box.findText(keep) if keep else -1)
            if box.isEditable():
                box.setEditText(keep)
            box.blockSignals(False)
        self.author_box.setPlaceholderText(
            "choose who you are" if people else "no staff yet: Session ▸ Staff list…")
        if current and self.author_box.findText(current) < 0:
            self.author_box.addItem(current)
            self.author_box.setCurrentText(current)

    def set_author(self, name: str | None) -> None:
        """The user chosen at session start becomes the default author."""
        if name:
            if self.author_box.findText(name) < 0:
                self.author_box.addItem(name)
            self.author_box.setCurrentText(name)

    def author(self) -> str | None:
        return self.author_box.currentText().strip() or None

    def _fill_role(self, name: str, target: QLineEdit | None = None) -> None:
        role = dict(self.staff()).get(name)
        if role:
            (target or self.sign_role).setText(role)

    # ----- messages -----
    def say(self, text: str, error: bool = True) -> None:
        self.message.setText(text)
        colour = theme.ALARM_MEDIUM if error else theme.TEXT_DIM
        self.message.setStyleSheet(f"color: {colour}; font-weight: {'bold' if error else 400};")
        self.message.setVisible(bool(text))
        if text:
            reveal(self.message)  # said at the top of the pane: never below the fold

    def _save_failed(self, outcome: SaveOutcome) -> None:
        """The database refused an entry: say so, and put what was typed back in its box."""
        ev = outcome.event
        p = ev.payload
        where = "It is listed in red as NOT SAVED: enter it again."
        if ev.kind == "note.observation" and not self.obs_edit.text().strip():
            self.obs_edit.setText(str(p.get("text", "")))
            self._observation_typed()  # kept as a draft again
            where = "Its text is back in the box: press Enter to save it again."
        section = p.get("section")
        changes = p.get("changes", {})
        if ev.kind == AMEND and self.record is not None and ev.refers_to:
            target = self.record.entry(ev.refers_to)
            section = target.original.payload.get("section") if target else None
            p = changes
        box = self.section_boxes.get(str(section)) if section else None
        if box is not None and "text" in p:
            box.restore(str(p.get("text", "")), dict(p.get("fields", {})),
                        "NOT SAVED — press Save section again")
            self._section_typed(box.section.key)  # kept as a draft again
            where = f"The {box.section.title} text is kept: press Save section again."
        self.say(f"Not saved: “{p.get('summary', ev.kind)}”. {outcome.error} {where}")

    def _try(self, fn: Callable[[], object], ok: str = "") -> bool:
        try:
            fn()
        except NoteError as e:
            self.say(str(e))
            return False
        self.say(ok, error=False)
        return True

    # ----- entries -----
    def focus_observation(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.obs_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.obs_edit.selectAll()

    def add_observation(self, quote: bool = False) -> None:
        text, at = self.obs_edit.text(), self.at_edit.text()
        made: list[Event] = []
        if self._try(lambda: made.append(
                self.notes.observe(text, quote=quote, at=at, author=self.author()))):
            self.obs_edit.clear()
            self.at_edit.clear()
            self._draft_saved(OBSERVATION_BOX, made[0] if made else None)

    def add_tag(self, tag: str) -> None:
        text, at = self.obs_edit.text(), self.at_edit.text()
        made: list[Event] = []
        if self._try(lambda: made.append(
                self.notes.observe(text, tags=[tag], at=at, author=self.author()))):
            self.obs_edit.clear()
            self.at_edit.clear()
            self._draft_saved(OBSERVATION_BOX, made[0] if made else None)

    def add_score(self) -> None:
        key = str(self.scale_box.currentData())
        value, at = self.score_edit.text(), self.at_edit.text()
        if self._try(lambda: self.notes.score(key, value, at=at, author=self.author())):
            self.score_edit.clear()
            self.at_edit.clear()

    def add_adverse_event(self) -> None:
        made: list[Event] = []

        def do() -> None:
            ae, _dose = self.notes.adverse_event(
                self.ae_what.text(), self.ae_severity.currentText(),
                drug=self.ae_drug.currentText(), mg=self.ae_mg.text(),
                route=self.ae_route.currentText(), intervention=self.ae_other.text(),
                outcome=self.ae_outcome.text(), at=self.at_edit.text(), author=self.author())
            made.append(ae)
        if self._try(do):
            for e in (self.ae_what, self.ae_mg, self.ae_other, self.ae_outcome, self.at_edit):
                e.clear()
            for c in (self.ae_severity, self.ae_route):
                c.setCurrentIndex(-1)
            self.ae_drug.setCurrentIndex(0)
            self.show_ae_form(False)
            self._draft_saved(AE_BOX, made[0] if made else None)

    def open_ae_form(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.show_ae_form(True)

    def show_ae_form(self, on: bool = True) -> None:
        self.ae_toggle.setChecked(on)
        self.ae_box.setVisible(on)
        if on:
            self.ae_what.setFocus()
            reveal(self.ae_box)  # Ctrl+Shift+A from anywhere: the form comes into view

    def add_outcome(self) -> None:
        m, v = self.measure_box.currentText(), self.measure_edit.text()
        if self._try(lambda: self.notes.outcome(m, v, author=self.author())):
            self.measure_edit.clear()

    def _save_drafts(self, session_id: int) -> None:
        """Before the note moves on, unsaved section text goes to the session it was typed
        for; what cannot be saved stays in its box with a message."""
        self.say("")  # the last session's messages ("signed and locked") are not this one's
        self.flush_drafts()
        kept = []
        for key, box in self.section_boxes.items():
            if not box.dirty:
                continue
            try:
                ev = self.notes.save_section(key, box.text.toPlainText(), box.values(),
                                             author=self.author())
                box.set_dirty(False)
                self._draft_saved(f"section:{key}", ev)
            except NoteError as e:
                kept.append(f"{box.section.title} ({e})")
        if kept:
            self.say(f"Unsaved text from session {session_id} is still in: "
                     + "; ".join(kept))

    def set_phase(self) -> None:
        phase, label = self.phase_box.currentText(), self.phase_label.text()
        if self._try(lambda: self.notes.set_phase(phase, label, author=self.author()),
                     ok="Course phase set."):
            self.phase_label.clear()

    def save_section(self, key: str) -> None:
        box = self.section_boxes[key]
        made: list[Event | None] = []
        if self._try(lambda: made.append(self.notes.save_section(
                key, box.text.toPlainText(), box.values(), author=self.author())),
                     ok=f"{box.section.title} saved."):
            box.set_dirty(False)
            self._draft_saved(f"section:{key}", made[0] if made else None)
            rec = self.notes.record()
            self._load_section(box, rec.section(key))

    # ----- drafts: typed text kept in the database until it is saved -----
    def _kick(self) -> None:
        """At most one write a second while typing: the first change starts the clock."""
        if not self._draft_timer.isActive():
            self._draft_timer.start()

    def flush_drafts(self) -> None:
        """Hand what was typed since the last write to the writer thread (never waits)."""
        self._draft_timer.stop()
        self.notes.drafts.flush()

    def _section_typed(self, key: str) -> None:
        box = self.section_boxes.get(key)
        if box is not None:
            self.notes.drafts.typed(self.notes.session_id, f"section:{key}", self.author(),
                                    box.draft())
            self._kick()

    def _section_discarded(self, key: str) -> None:
        self.notes.drafts.discard(self.notes.session_id, f"section:{key}")
        box = self.section_boxes.get(key)
        if box is not None:
            self._load_section(box, self.notes.record().section(key))
            self.say(f"The unsaved {box.section.title} text was discarded.", error=False)

    def _observation_typed(self, *_: object) -> None:
        text, at = self.obs_edit.text(), self.at_edit.text()
        content = {"text": text, "at": at} if text.strip() else None
        self.notes.drafts.typed(self.notes.session_id, OBSERVATION_BOX, self.author(), content)
        self._kick()

    def _ae_content(self) -> dict[str, object] | None:
        c: dict[str, object] = {
            "what": self.ae_what.text(), "severity": self.ae_severity.currentText(),
            "drug": self.ae_drug.currentText(), "mg": self.ae_mg.text(),
            "route": self.ae_route.currentText(), "intervention": self.ae_other.text(),
            "outcome": self.ae_outcome.text()}
        return c if any(str(v).strip() for v in c.values()) else None

    def _ae_typed(self, *_: object) -> None:
        if self._filling:
            return
        self.notes.drafts.typed(self.notes.session_id, AE_BOX, self.author(),
                                self._ae_content())
        self._kick()

    def _draft_saved(self, box: str, ev: Event | None) -> None:
        """Saved: the box's drafts go once its event is committed."""
        fut = self.notes.saves.future(ev) if ev is not None else None
        self.notes.drafts.saved(self.notes.session_id, box, fut)

    def _restore_drafts(self) -> None:
        """The note opened on a session: text typed into it before Holdspace closed (a crash,
        a kill, a power cut) comes back into its box, marked as not saved yet."""
        sid = self.notes.session_id
        rec = self.record
        back: list[str] = []
        seen: set[str] = set()
        for d in self.notes.drafts.of_session(sid):  # newest first: one per box
            if d.box in seen:
                continue
            seen.add(d.box)
            c = d.content
            who = f" (typed by {d.author})" if d.author and d.author != self.author() else ""
            if d.box.startswith("section:"):
                box = self.section_boxes.get(d.box.split(":", 1)[1])
                if box is None or box.section.derived or box.dirty:
                    continue
                text = str(c.get("text", ""))
                raw = c.get("fields", {})
                fields: dict[str, object] = {str(k): str(v) for k, v in raw.items()} \
                    if isinstance(raw, dict) else {}
                if rec is not None:
                    self._load_section(box, rec.section(box.section.key))
                if box.text.toPlainText() == text and box.values() == fields:
                    self.notes.drafts.discard(sid, d.box, d.rev)  # saved before the end
                    continue
                box.restore(text, fields, RESTORED + who)
                back.append(box.section.title)
            elif d.box == OBSERVATION_BOX and not self.obs_edit.text().strip():
                self.obs_edit.setText(str(c.get("text", "")))
                self.at_edit.setText(str(c.get("at", "")))
                back.append("the observation line" + who)
            elif d.box == AE_BOX and not self.ae_what.text().strip():
                self._fill_ae(c)
                back.append("the adverse event form" + who)
        if back:
            self.say(f"{RESTORED}: {', '.join(back)}. Save it, or discard it.", error=False)

    def _fill_ae(self, c: dict[str, object]) -> None:
        self._filling = True
        try:
            self.ae_what.setText(str(c.get("what", "")))
            self.ae_mg.setText(str(c.get("mg", "")))
            self.ae_other.setText(str(c.get("intervention", "")))
            self.ae_outcome.setText(str(c.get("outcome", "")))
            self.ae_drug.setCurrentText(str(c.get("drug", "")))
            for combo, key in ((self.ae_severity, "severity"), (self.ae_route, "route")):
                combo.setCurrentIndex(combo.findText(str(c.get(key, ""))))
        finally:
            self._filling = False
        self.show_ae_form(True)

    def _load_section(self, box: SectionBox, sec: Entry | None) -> None:
        """What is stored in a section, and "saving…" until its last save is committed."""
        box.load(sec)
        if sec is not None and not box.dirty and any(
                self.notes.is_saving(v.uid) for v in sec.history()):
            box.state.setText("saving…")

    # ----- amendments and history -----
    def selected_uid(self) -> str | None:
        item = self.entries.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def start_amend(self) -> None:
        uid = self.selected_uid()
        entry = self.record.entry(uid) if self.record and uid else None
        if entry is None:
            self.say("Select an entry in the list first, then press Amend.")
            return
        field = _amend_field(entry)
        if field is None:
            self.say("Note sections are amended by editing them on the Note tab and saving.")
            return
        self._amend_uid = uid
        self.amend_label.setText(f"Amend {_hhmm(entry.t)} {entry.summary} — new {field}:")
        self.amend_edit.setText(str(entry.current.get(field, "")))
        self.amend_reason.clear()
        self.amend_box.show()
        self.amend_edit.setFocus()

    def save_amendment(self) -> None:
        uid = self._amend_uid
        entry = self.record.entry(uid) if self.record and uid else None
        if entry is None or uid is None:
            return
        field = _amend_field(entry) or "text"
        value = self.amend_edit.text()
        reason = self.amend_reason.text()
        if self._try(lambda: self.notes.amend(uid, {field: value}, reason, author=self.author()),
                     ok="Amended; the original is kept (History)."):
            self.amend_box.hide()
            self._amend_uid = None
            self._select(uid)

    def _show_history(self, on: bool) -> None:
        self.history.setVisible(on)
        self._update_history()

    def _update_history(self) -> None:
        if not self.history.isVisible():
            return
        uid = self.selected_uid()
        entry = self.record.entry(uid) if self.record and uid else None
        if entry is None:
            self.history.setPlainText("Select an entry to see its history.")
            return
        lines = []
        for i, ev in enumerate(entry.history()):
            when = _hhmm(ev.recorded or ev.t)
            if i == 0:
                lines.append(f"{when} {ev.author} — original: {ev.payload.get('summary', '')}")
            else:
                reason = ev.payload.get("reason") or "no reason given"
                changes = ev.payload.get("changes", {})
                lines.append(f"{when} {ev.author} — amended ({reason}): "
                             f"{changes.get('summary', changes)}")
        self.history.setPlainText("\n".join(lines))

    def _entry_changed(self, *_: object) -> None:
        self._update_history()
        uid = self.selected_uid()
        entry = self.record.entry(uid) if self.record and uid else None
        if entry is not None:
            self.entry_selected.emit(entry.t, entry.uid)

    # ----- sign-off -----
    def sign(self) -> None:
        unsaved = [b.section.title for b in self.section_boxes.values() if b.dirty]
        if unsaved:  # a signed note must not look as if it held what was never saved
            self.say(f"Not signed: {', '.join(unsaved)} {'has' if len(unsaved) == 1 else 'have'}"
                     " text that is not saved yet. Press Save section in the Note tab (or "
                     "clear it), then sign.")
            return
        name, role = self.sign_name.currentText(), self.sign_role.text()
        statement = self.sign_statement.text()
        self._try(lambda: self.notes.sign(name, role, statement), ok="Session signed and locked.")

    def add_addendum(self) -> None:
        text = self.add_text.toPlainText()
        name, role = self.add_name.currentText(), self.add_role.text()
        if self._try(lambda: self.notes.addendum(text, name, role), ok="Addendum added."):
            self.add_text.clear()

    # ----- showing the record -----
    def set_record(self, rec: SessionRecord) -> None:
        self.record = rec
        self._rebuild_sections(self.notes.template)
        if self.notes.session_id != self._drafts_of:
            self._drafts_of = self.notes.session_id
            self._restore_drafts()
        keep = self.selected_uid()
        bar = self.entries.verticalScrollBar()
        was_at = bar.value() if bar is not None else 0
        following = bar is None or was_at >= bar.maximum() - 2 or not self.entries.count()
        self.entries.blockSignals(True)
        self.entries.clear()
        for e in rec.of_kind(""):
            saving = [v.uid for v in e.history() if self.notes.is_saving(v.uid)]
            if e.kind in ("note.section", "discharge.recorded"):
                continue
            mark = "   ✎ amended" if e.amended else ""
            mark += "   · saving…" if saving else ""
            item = QListWidgetItem(f"{_hhmm(e.t)}  {e.author or '?'}   {e.summary}{mark}")
            item.setData(Qt.ItemDataRole.UserRole, e.uid)
            if saving:
                item.setForeground(QBrush(QColor(theme.TEXT_DIM)))
            elif e.kind.startswith("score."):
                item.setForeground(QBrush(QColor("#c4a6e8")))
            elif e.kind.startswith("ae."):
                item.setForeground(QBrush(QColor("#ff8a65")))
            if e.amended:
                f = QFont(item.font())
                f.setItalic(True)
                item.setFont(f)
            self.entries.addItem(item)
        for o in self.notes.unsaved():
            ev = o.event
            item = QListWidgetItem(f"{_hhmm(ev.t)}  {ev.author or '?'}   NOT SAVED: "
                                   f"{ev.payload.get('summary', ev.kind)}")
            item.setData(Qt.ItemDataRole.UserRole, "")
            item.setToolTip(o.error or "")
            item.setForeground(QBrush(QColor(theme.ALARM_HIGH)))
            f = QFont(item.font())
            f.setBold(True)
            item.setFont(f)
            self.entries.addItem(item)
        self.entries.blockSignals(False)
        if keep:
            self._select(keep, emit=False)
        if following:
            self.entries.scrollToBottom()  # the newest entry stays in view
        elif bar is not None:
            bar.setValue(was_at)  # reading further up: the list does not jump
        for key, box in self.section_boxes.items():
            if box.section.derived:
                doses, voided = rec.doses(), rec.voided()
                box.derived_label.setText("\n".join(
                    f"{_hhmm(d.t)}  {d.payload.get('summary', '')}  — {d.author or ''}"
                    + ("  [ENTERED IN ERROR — not counted]" if d.uid in voided else "")
                    for d in doses) or "No dose recorded yet.")
            else:
                self._load_section(box, rec.section(key))
        outs = rec.of_kind("outcome.")
        self.measure_list.setText(", ".join(e.summary for e in outs))
        phases = rec.of_kind("course.phase")
        self.phase_state.setText(phases[-1].summary if phases else
                                 "Phase not set: guessed from the template.")
        self._show_sign_state(rec)
        self._update_history()
        row = self.notes.session_row()
        title = (f"Session {row.id} · {row.template or 'no template'} · "
                 f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(row.started))}"
                 if row else "")
        bar = self.full_note.verticalScrollBar()
        pos = bar.value() if bar is not None else 0
        self.full_note.setPlainText(note_text(rec, self.notes.template, title,
                                              altered_line(self.notes.writer.path)))
        if bar is not None:
            bar.setValue(pos)

    def _show_sign_state(self, rec: SessionRecord) -> None:
        sig = rec.signature
        if sig is None:
            row = self.notes.session_row()
            self.sign_state.setText("Not signed. Read the note below, then sign it."
                                    if row is not None and row.state == "ended" else
                                    "Not signed. Sign once the session has ended.")
            self.lock_label.setText("")
        else:
            self.sign_state.setText(f"Signed by {sig.name} ({sig.role}) at {_hhmm(sig.t)} "
                                    "— locked.")
            self.lock_label.setText("SIGNED · locked")
        self.sign_box.setVisible(sig is None)
        self.addendum_box.setVisible(sig is not None)
        self.addenda.setText("\n\n".join(
            f"{_hhmm(a.t)} {a.payload.get('name')} ({a.payload.get('role')}): "
            f"{a.payload.get('text')}" for a in rec.addenda))

    def _select(self, uid: str, emit: bool = True) -> None:
        for i in range(self.entries.count()):
            item = self.entries.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == uid:
                if not emit:
                    self.entries.blockSignals(True)
                self.entries.setCurrentItem(item)
                self.entries.scrollToItem(item)
                self.entries.blockSignals(False)
                return

    def show_entry(self, t: float, uid: str | None = None) -> None:
        """From the timeline: select that entry, or the first entry at or after t."""
        self.tabs.setCurrentIndex(0)
        uids = [str(self.entries.item(i).data(Qt.ItemDataRole.UserRole))
                for i in range(self.entries.count())]
        target = uid if uid in uids else None
        if target is None and self.record is not None:
            shown = [e for u in uids if (e := self.record.entry(u)) is not None]
            later = [e for e in shown if e.t >= t]
            target = later[0].uid if later else (shown[-1].uid if shown else None)
        if target is not None:
            self._select(target, emit=False)
            self._update_history()


def _amend_field(entry: Entry) -> str | None:
    if entry.kind == "note.observation":
        return "text"
    if entry.kind.startswith("score.") or entry.kind == "outcome.measure":
        return "value"
    if entry.kind == "ae.reported":
        return "outcome"
    if entry.kind == "course.phase":
        return "label"
    return None
