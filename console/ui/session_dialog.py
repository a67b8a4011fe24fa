"""Start a session: choose or create the patient, the protocol template, and who you are.

Shown before anyone is dosed, so a dialog is acceptable here. Bad input (no name, a date of
birth that is not a real date, a weight that is not a number or is implausible) is explained
beside the field and nothing typed is lost; an unusual but possible weight is asked about
once, naming the number.

With `submit` the dialog hands the choice on itself and closes only when it was taken: a new
patient the database refuses at once is said in the dialog, everything typed still in place
(`fill` puts back what a later refusal kept).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from console.core.session import NewPatient, Staff
from console.store import records
from console.ui import theme

WEIGHT_RANGE_KG = (2.0, 350.0)  # outside: refused (not a person's weight in kg)
USUAL_WEIGHT_KG = (20.0, 300.0)  # outside: possible, but asked about once
WEIGHT_CHANGE_ASK = 0.10  # a correction by more than 10 % is asked about once
MAX_AGE_YEARS = 120


@dataclass(frozen=True)
class SessionChoice:
    patient_id: int | None
    new_patient: NewPatient | None
    template: str | None
    user: Staff | None


def parse_weight(text: str) -> float | None:
    """'' -> None; '72.5' or '72,5' -> 72.5; raises ValueError with a nurse-readable reason."""
    t = text.strip().replace(",", ".").removesuffix("kg").strip()
    if not t:
        return None
    try:
        w = float(t)
    except ValueError:
        raise ValueError(f"Weight “{text}” is not a number — type kilograms, e.g. 72.5") from None
    lo, hi = WEIGHT_RANGE_KG
    if not lo <= w <= hi:
        raise ValueError(f"Weight {w:g} kg is outside {lo:g}–{hi:g} kg — check the units (kg)")
    return w


def weight_concern(old_kg: float | None, new_kg: float) -> str | None:
    """Why a new weight should be confirmed before it is saved (None: save it).

    A slipped digit (82 -> 180) changes every mg/kg figure, so a change of more than 10 %
    or a weight outside 20–300 kg is asked about, naming both numbers."""
    lo, hi = USUAL_WEIGHT_KG
    if old_kg and abs(new_kg - old_kg) / old_kg > WEIGHT_CHANGE_ASK:
        pct = (new_kg - old_kg) / old_kg * 100
        return (f"Change the weight from {old_kg:g} kg to {new_kg:g} kg ({pct:+.0f} %)? "
                "Check the scale and the units.")
    if not lo <= new_kg <= hi:
        return (f"{new_kg:g} kg is outside the usual {lo:g}–{hi:g} kg. "
                "Check the scale and the units (kg, not lb).")
    return None


def parse_birth_date(text: str, today: date | None = None) -> str | None:
    """'' -> None; '1985-03-07' -> '1985-03-07'; a date that does not exist, is in the future
    or is more than 120 years ago raises ValueError with a reason a nurse understands."""
    t = text.strip()
    if not t:
        return None
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", t)
    if m is None:
        raise ValueError(f"Date of birth “{t}” is not in the form year-month-day, "
                         "e.g. 1985-03-07.")
    y, mo, d = (int(x) for x in m.groups())
    if not 1 <= mo <= 12:
        raise ValueError(f"Date of birth “{t}” is not a real date: there is no month {mo}.")
    try:
        born = date(y, mo, d)
    except ValueError:
        raise ValueError(f"Date of birth “{t}” is not a real date: that month has no "
                         f"day {d}.") from None
    today = today or date.today()
    if born > today:
        raise ValueError(f"Date of birth {born.isoformat()} is in the future.")
    if (today.year - born.year) - ((today.month, today.day) < (born.month, born.day)) \
            > MAX_AGE_YEARS:
        raise ValueError(f"Date of birth {born.isoformat()} is more than {MAX_AGE_YEARS} "
                         "years ago. Check the year.")
    return born.isoformat()


class SessionDialog(QDialog):
    def __init__(
        self,
        patients: list[records.Patient],
        staff: list[Staff],
        template_choices: Callable[[], list[tuple[str, str]]] | None = None,
        parent: QWidget | None = None,
        submit: Callable[[SessionChoice], str | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Start a session")
        self.setMinimumWidth(620)
        self.choice: SessionChoice | None = None
        # Takes the choice (None: taken, the dialog closes) or says why not (it stays open).
        self.submit = submit

        self.existing = QRadioButton("Existing patient")
        self.new = QRadioButton("New patient")
        self.patient_list = QListWidget()
        for p in patients:
            extra = f" · {p.identifier}" if p.identifier else ""
            weight = f" · {p.weight_kg:g} kg" if p.weight_kg else " · no weight"
            item = QListWidgetItem(f"{p.display_name}{extra}{weight}")
            item.setData(256, p.id)
            self.patient_list.addItem(item)
        self.name = QLineEdit()
        self.identifier = QLineEdit()
        self.birth = QLineEdit()
        self.birth.setPlaceholderText("YYYY-MM-DD")
        self.weight = QLineEdit()
        self.weight.setPlaceholderText("kg")
        self.problems: dict[QLineEdit, QLabel] = {}
        self._weight_asked: float | None = None  # the unusual weight already asked about
        self.weight.textEdited.connect(lambda _t: setattr(self, "_weight_asked", None))
        form = QFormLayout()
        form.addRow("Name", self._with_problem(self.name))
        form.addRow("Identifier (MRN)", self.identifier)
        form.addRow("Date of birth", self._with_problem(self.birth))
        form.addRow("Weight (kg)", self._with_problem(self.weight))
        new_box = QGroupBox()
        new_box.setLayout(form)

        self.template = QComboBox()
        self.template.addItem("No dosing template", None)
        for tid, title in (template_choices() if template_choices else []):
            self.template.addItem(title, tid)
        self.user = QComboBox()
        self.user.setEditable(False)
        self.user.addItem("(not named)", None)
        for s in staff:
            self.user.addItem(f"{s.name} — {s.role}", s)

        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.ALARM_MEDIUM}; font-weight: bold;")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Start session")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)

        pick = QHBoxLayout()
        pick.addWidget(self.existing)
        pick.addWidget(self.new)
        lay = QVBoxLayout(self)
        lay.addLayout(pick)
        lay.addWidget(self.patient_list)
        lay.addWidget(new_box)
        who = QFormLayout()
        who.addRow("Template", self.template)
        who.addRow("You are", self.user)
        lay.addLayout(who)
        lay.addWidget(self.error)
        lay.addWidget(buttons)
        def pick_existing(on: bool) -> None:
            self.patient_list.setEnabled(on)
            new_box.setEnabled(not on)

        self.existing.toggled.connect(pick_existing)
        (self.existing if patients else self.new).setChecked(True)
        self.existing.setEnabled(bool(patients))
        self.patient_list.setEnabled(bool(patients))
        self.patient_list.setVisible(bool(patients))  # an empty list only takes room
        new_box.setEnabled(not patients)
        # No patient chosen for the clinician: the last one in the list is often the one who
        # just left the chair, and Start would open the next patient's day under that name.

    def _with_problem(self, field: QLineEdit) -> QWidget:
        """The field with room for its own message just below it."""
        label = QLabel("")
        label.setWordWrap(True)
        label.setStyleSheet(f"color: {theme.ALARM_MEDIUM}; font-weight: bold;")
        label.hide()
        self.problems[field] = label
        field.textEdited.connect(lambda _t: self._problem(field, ""))
        cell = QWidget()
        lay = QVBoxLayout(cell)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(field)
        lay.addWidget(label)
        return cell

    def _problem(self, field: QLineEdit, text: str) -> None:
        """Say what is wrong beside the field (and below the form); what was typed stays."""
        label = self.problems[field]
        label.setText(text)
        label.setVisible(bool(text))
        field.setStyleSheet(f"border: 2px solid {theme.ALARM_MEDIUM};" if text else "")
        if text:
            self.error.setText(text)
            field.setFocus()
        elif not any(lbl.text() for lbl in self.problems.values()):
            self.error.setText("")

    def _accept(self) -> None:
        template = self.template.currentData()
        user = self.user.currentData()
        if self.existing.isChecked():
            item = self.patient_list.currentItem()
            if item is None:
                self.error.setText("Choose a patient from the list, or create a new one.")
                return
            self.choice = SessionChoice(int(item.data(256)), None, template, user)
        else:
            name = self.name.text().strip()
            if not name:
                self._problem(self.name, "The new patient needs a name.")
                return
            try:
                birth = parse_birth_date(self.birth.text())
            except ValueError as e:
                self._problem(self.birth, str(e))
                return
            try:
                weight = parse_weight(self.weight.text())
            except ValueError as e:
                self._problem(self.weight, str(e))
                return
            concern = weight_concern(None, weight) if weight is not None else None
            if concern and self._weight_asked != weight:
                self._weight_asked = weight
                self._problem(self.weight, f"{concern} Press Start session again to keep "
                                           f"{weight:g} kg.")
                return
            self.choice = SessionChoice(
                None,
                NewPatient(name, self.identifier.text().strip() or None, birth, weight),
                template,
                user,
            )
        if self.submit is not None:
            problem = self.submit(self.choice)
            if problem:
                self.choice = None
                self.error.setText(problem)  # what was typed stays; Start tries again
                return
        self.accept()

    def fill(self, choice: SessionChoice, problem: str) -> None:
        """Put back a new patient typed earlier that the database did not take, with why."""
        p = choice.new_patient
        if p is not None:
            self.new.setChecked(True)
            self.name.setText(p.display_name)
            self.identifier.setText(p.identifier or "")
            self.birth.setText(p.birth_date or "")
            self.weight.setText(f"{p.weight_kg:g}" if p.weight_kg is not None else "")
            self._weight_asked = p.weight_kg  # already asked about before it was sent
        i = self.template.findData(choice.template)
        if i >= 0:
            self.template.setCurrentIndex(i)
        self.error.setText(problem)
