"""Start a session: choose or create the patient, the protocol template, and who you are.

Shown before anyone is dosed, so a dialog is acceptable here. Bad input (no name, a weight
that is not a number or is implausible) is explained beside the field and nothing typed is
lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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

from console.core.session import Staff
from console.store import records
from console.ui import theme

WEIGHT_RANGE_KG = (2.0, 350.0)


@dataclass(frozen=True)
class NewPatient:
    display_name: str
    identifier: str | None = None
    birth_date: str | None = None
    weight_kg: float | None = None


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


class SessionDialog(QDialog):
    def __init__(
        self,
        patients: list[records.Patient],
        staff: list[Staff],
        template_choices: Callable[[], list[tuple[str, str]]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Start a session")
        self.setMinimumWidth(620)
        self.choice: SessionChoice | None = None

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
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Identifier (MRN)", self.identifier)
        form.addRow("Date of birth", self.birth)
        form.addRow("Weight (kg)", self.weight)
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
        if patients:
            self.patient_list.setCurrentRow(0)

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
                self.error.setText("The new patient needs a name.")
                return
            try:
                weight = parse_weight(self.weight.text())
            except ValueError as e:
                self.error.setText(str(e))
                return
            self.choice = SessionChoice(
                None,
                NewPatient(name, self.identifier.text().strip() or None,
                           self.birth.text().strip() or None, weight),
                template,
                user,
            )
        self.accept()
