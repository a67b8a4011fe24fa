"""Record a dose, see the cumulative dose, control an infusion, tick off checks.

The dose is typed in mg; mg/kg appears beside it as you type, with the protocol's range and
where that range came from. A refused dose says why in words and keeps what was typed; a dose
outside the protocol asks for an explicit second press (inline, no dialog over the vitals).
"""

from __future__ import annotations

import html
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.core.dose_day import DoseDay, NeedsConfirmation
from console.core.dosing import DoseInputError, method_text, parse_mg, range_text
from console.ui import theme

MOAAS = ["5 — responds readily to name", "4 — lethargic response to name",
         "3 — responds only to loud or repeated name", "2 — only to mild prodding or shaking",
         "1 — no response to prodding", "0 — no response to painful stimulus"]



# Where to pick a protocol, for whichever case applies (no session, or one without).
NO_PROTOCOL = ("No dosing protocol is open. Choose a protocol: Session ▸ Start session… "
               "(Ctrl+N), or for the session already open, at the top of the Checks tab.")


def _wall(t: float) -> str:
    return time.strftime("%H:%M", time.localtime(t))


def _big_button(text: str) -> QPushButton:
    b = QPushButton(text)
    b.setMinimumHeight(48)
    f = b.font()
    f.setPixelSize(18)
    f.setBold(True)
    b.setFont(f)
    return b


class DosePanel(QFrame):
    dose_recorded = Signal(object)  # Event
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        self.day: DoseDay | None = None
        self._pending: tuple[str, str, str, str] | None = None
        self.default_text = ""

        self.protocol = QLabel("")
        self.protocol.setWordWrap(True)
        self.protocol.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 13px;")
        self.mg = QLineEdit()
        self.mg.setObjectName("dose_mg")
        self.mg.setPlaceholderText("mg")
        f = QFont()
        f.setPixelSize(28)
        f.setBold(True)
        self.mg.setFont(f)
        self.mg.setMaximumWidth(150)
        self.mg.textChanged.connect(self._preview)
        self.mg.returnPressed.connect(self.record)
        self.per_kg = QLabel("")
        self.per_kg.setStyleSheet("font-size: 18px;")
        self.lot = QLineEdit()
        self.lot.setPlaceholderText("lot number")
        self.given_by = QLineEdit()
        self.given_by.setPlaceholderText("given by")
        self.when = QLineEdit()
        self.when.setPlaceholderText("now — or hh:mm, or minutes ago")
        self.record_button = _big_button("Record dose  (F2)")
        self.record_button.clicked.connect(self.record)
        self.confirm_text = QLabel("")
        self.confirm_text.setWordWrap(True)
        self.confirm_text.setStyleSheet(f"color: {theme.WARN}; font-size: 16px;")
        self.confirm_yes = _big_button("Yes, record it")
        self.confirm_yes.clicked.connect(self.confirm)
        self.confirm_no = QPushButton("Cancel")
        self.confirm_no.clicked.connect(self.cancel)
        self.confirm_box = QFrame()
        cb = QHBoxLayout(self.confirm_box)
        cb.setContentsMargins(0, 0, 0, 0)
        cb.addWidget(self.confirm_text, 1)
        cb.addWidget(self.confirm_yes)
        cb.addWidget(self.confirm_no)
        self.confirm_box.hide()
        self.message = QLabel("")
        self.message.setObjectName("dose_message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {theme.WARN}; font-size: 16px;")
        self.cumulative = QLabel("")
        self.cumulative.setStyleSheet("font-size: 22px; font-weight: bold;")
        self.cumulative.setWordWrap(True)  # never wider than the column
        self.log = QLabel("")
        self.log.setWordWrap(True)
        self.log.setTextFormat(Qt.TextFormat.RichText)
        self.log.setStyleSheet("font-size: 14px;")
        # infusion controls
        self.inf_box = QWidget()
        ib = QHBoxLayout(self.inf_box)
        ib.setContentsMargins(0, 0, 0, 0)
        self.pause = QPushButton("Pause")
        self.resume = QPushButton("Resume")
        self.rate = QLineEdit()
        self.rate.setPlaceholderText("mg/h")
        self.rate.setMaximumWidth(90)
        self.set_rate = QPushButton("Set rate")
        self.stop = QPushButton("Stop infusion")
        for b, action in ((self.pause, "pause"), (self.resume, "resume"), (self.stop, "stop")):
            b.clicked.connect(lambda _=False, a=action: self._infusion(a))
        self.set_rate.clicked.connect(lambda: self._infusion("rate_changed"))
        for w in (QLabel("Infusion:"), self.pause, self.resume, self.rate, self.set_rate,
                  self.stop):
            ib.addWidget(w)
        ib.addStretch(1)
        self.inf_box.hide()
        self.moaas = QComboBox()
        self.moaas.addItems(MOAAS)
        self.sedation = QPushButton("Record sedation (MOAA/S)")
        self.sedation.clicked.connect(self._sedation)

        grid = QGridLayout()
        grid.addWidget(QLabel("Dose (mg)"), 0, 0)
        grid.addWidget(self.mg, 0, 1)
        grid.addWidget(self.per_kg, 0, 2, 1, 2)
        grid.addWidget(self.lot, 1, 0, 1, 2)
        grid.addWidget(self.given_by, 1, 2)
        grid.addWidget(self.when, 1, 3)
        grid.setColumnStretch(2, 1)
        grid.setColumnStretch(3, 1)
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel("<b>Dose</b>"))
        top.addWidget(self.protocol, 1)
        lay.addLayout(top)
        lay.addLayout(grid)
        lay.addWidget(self.record_button)
        lay.addWidget(self.confirm_box)
        lay.addWidget(self.message)
        lay.addWidget(self.cumulative)
        lay.addWidget(self.log)
        lay.addWidget(self.inf_box)
        srow = QHBoxLayout()
        srow.addWidget(self.moaas, 1)
        srow.addWidget(self.sedation)
        lay.addLayout(srow)
        lay.addStretch(1)

    # ------------------------------------------------------------------
    def attach(self, day: DoseDay | None) -> None:
        self.day = day
        self.cancel()
        self.message.setText("")
        if day is not None:
            tpl = day.template
            d = tpl.dose
            how = method_text(tpl)
            w = f"{day.weight_kg:g} kg" if day.weight_kg else "no weight recorded"
            self.protocol.setText(
                f"{tpl.drug.name} · {tpl.drug.route} · {how} · range {range_text(tpl, day.weight_kg)}"
                f" · patient {w} · from {tpl.provenance}"
                + (f" — {d.source}" if d.source else ""))
            self.default_text = ""
            if d.default is not None:
                mg = d.default * day.weight_kg if d.per_kg and day.weight_kg else (
                    None if d.per_kg else d.default)
                self.default_text = (f"protocol default {mg:g} mg" if mg is not None else
                                     f"protocol default {d.default:g} mg/kg")
            self._preview()
            if not self.given_by.text() and day.sessions.author:
                self.given_by.setText(day.sessions.author)
            self.inf_box.setVisible(d.method == "infusion")
        self.refresh()

    def _preview(self) -> None:
        day = self.day
        if day is None:
            return
        try:
            mg = parse_mg(self.mg.text())
        except DoseInputError:
            self.per_kg.setText(f"<span style='color:{theme.TEXT_DIM}'>{self.default_text}"
                                "</span>")
            return
        if day.weight_kg:
            self.per_kg.setText(f"= {mg / day.weight_kg:.2f} mg/kg at {day.weight_kg:g} kg")
        else:
            self.per_kg.setText("(no weight: mg/kg unknown)")

    def record(self) -> None:
        if self.day is None:
            self.message.setText(NO_PROTOCOL)
            return
        self._give(self.mg.text(), self.when.text(), self.lot.text(), self.given_by.text(), False)

    def confirm(self) -> None:
        if self._pending is not None:
            self._give(*self._pending, True)

    def cancel(self) -> None:
        self._pending = None
        self.confirm_box.hide()

    def _give(self, mg: str, when: str, lot: str, by: str, confirmed: bool) -> None:
        assert self.day is not None
        try:
            ev = self.day.give_dose(mg, when, lot=lot, given_by=by, confirmed=confirmed)
        except NeedsConfirmation as e:
            self._pending = (mg, when, lot, by)
            self.confirm_text.setText("Outside the protocol: " + " ".join(e.reasons)
                                      + " Record it anyway?")
            self.confirm_yes.setText(f"Yes, record {mg.strip()} mg  (Ctrl+Y)")
            self.confirm_box.show()
            self.message.setText("")
            return
        except DoseInputError as e:
            self.cancel()
            self.message.setText(str(e))
            return
        self.cancel()
        self.message.setText("")
        self.mg.clear()
        self.when.clear()
        self._preview()
        self.dose_recorded.emit(ev)
        self.changed.emit()
        self.refresh()

    def _infusion(self, action: str) -> None:
        if self.day is None:
            return
        try:
            self.day.infusion_action(action, self.rate.text())
        except DoseInputError as e:
            self.message.setText(str(e))
            return
        self.message.setText("")
        self.rate.clear()
        self.changed.emit()
        self.refresh()

    def _sedation(self) -> None:
        if self.day is None:
            return
        self.day.record_check("sedation", f"MOAA/S {self.moaas.currentText()}")
        self.changed.emit()
        self.refresh()

    # ------------------------------------------------------------------
    def refresh(self) -> None:
        day = self.day
        if day is None:
            self.cumulative.setText("")
            self.log.setText("")
            self.record_button.setEnabled(False)
            return
        self.record_button.setEnabled(True)
        locked = not day.dosing_allowed()
        self.record_button.setText("Record dose — LOCKED until the gate passes  (F2)"
                                   if locked else
                                   ("Record booster  (F2)" if day.doses else
                                    "Record dose  (F2)"))
        total = day.cumulative_mg()
        per = f" ({total / day.weight_kg:.2f} mg/kg)" if day.weight_kg else ""
        self.cumulative.setText(f"Cumulative this session: {total:.1f} mg{per} · "
                                f"{len(day.doses)} dose(s)" if day.doses else
                                "Cumulative this session: 0 mg")
        lines = []
        for d in day.doses:
            p = day.dose_events[d.uid].payload
            per_kg = f" ({p['mg_per_kg']:.2f} mg/kg)" if p.get("mg_per_kg") is not None else ""
            extra = " · ".join(x for x in (
                f"lot {html.escape(p['lot'])}" if p.get("lot") else "",
                f"by {html.escape(p['given_by'])}" if p.get("given_by") else "",
                "<b>late entry</b>" if p.get("late_entry") else "",
                f"<span style='color:{theme.WARN}'>outside protocol, confirmed</span>"
                if p.get("outside_protocol") else "") if x)
            lines.append(f"{_wall(d.t)} · {d.role} · <b>{p['mg']:g} mg</b>{per_kg} "
                         f"{p['route']}" + (f" · {extra}" if extra else ""))
        self.log.setText("<br>".join(lines))
        inf = day.infusion_status()
        if inf is not None:
            active = inf.state in ("running", "paused")
            self.pause.setEnabled(inf.state == "running")
            self.resume.setEnabled(inf.state == "paused")
            self.set_rate.setEnabled(active)
            self.stop.setEnabled(active)
