"""Record a dose, see the cumulative dose, control an infusion, tick off checks.

The dose is typed in mg; mg/kg and the protocol's range appear beside it as you type. The
stops are graded and every question names the exact number: within the range a dose is
recorded; outside it the clinician confirms that number (Ctrl+Y); beyond the template's hard
ceiling a second named person from the staff list confirms as well. Any edit of the number
or the time takes the question back. Questions and messages appear right under the dose
field, scrolled into view, never as a dialog over the vitals. A dose entered in error is
struck through with its reason, author and time, and no longer counts; it is never deleted.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from console.core.dosing.dose_day import DoseDay, NeedsConfirmation, NeedsSecondPerson
from console.core.dosing.dosing import DoseInputError, method_text, mg_text, parse_mg, range_text
from console.core.saving import SaveState
from console.store.events import Event
from console.ui import theme
from console.ui.dosing.staff_names import StaffNames

MOAAS = ["5 — responds readily to name", "4 — lethargic response to name",
         "3 — responds only to loud or repeated name", "2 — only to mild prodding or shaking",
         "1 — no response to prodding", "0 — no response to painful stimulus"]
VOID_LINK = "void:"
CONFIRM_KEY = QKeySequence("Ctrl+Y")

StaffList = Callable[[], list[tuple[str, str]]]  # () -> [(name, role)] from the staff list


# Where to pick a protocol, for whichever case applies (no session, or one without).
NO_PROTOCOL = ("No dosing protocol is open. Choose a protocol: Session ▸ Start session… "
               "(Ctrl+N), or for the session already open, at the top of the Checks tab.")


WIDEST_DOSE = "112.5 mg"  # what the mg field must show whole
LOCKED_TEXT = "LOCKED: gate  (F2)"  # short: the mg field beside it keeps its width
LOCKED_TIP = ("Dosing is locked until the gate passes: every check answered and a recent "
              "baseline (the Checks tab).")


def _wall(t: float) -> str:
    return time.strftime("%H:%M", time.localtime(t))


def _save_mark(day: DoseDay, uid: str, line: str) -> str:
    """A dose is shown as saved only once it is committed to the disk."""
    state = day.sessions.saves.state(uid)
    if state is SaveState.SAVING:
        return f"<span style='color:{theme.TEXT_DIM}'>{line} · <i>saving…</i></span>"
    if state is SaveState.FAILED:
        return (f"<span style='color:{theme.ALARM_HIGH}'><b>NOT SAVED</b> — {line} — record "
                "it again</span>")
    return line


def _big_button(text: str) -> QPushButton:
    b = QPushButton(text)
    b.setMinimumHeight(48)
    f = b.font()
    f.setPixelSize(18)
    f.setBold(True)
    b.setFont(f)
    return b


def _boxed(colour: str) -> QFrame:
    box = QFrame()
    box.setObjectName("dose_prompt")
    box.setStyleSheet(f"QFrame#dose_prompt {{ border: 2px solid {colour}; border-radius: 6px; "
                      f"background: {theme.dim(colour, 0.16)}; }}")
    return box


@dataclass(frozen=True)
class _Pending:
    """The question on screen: exactly which number and time it is about."""

    mg_text: str
    when_text: str
    mg: float
    second_person: bool


class DosePanel(QFrame):
    dose_recorded = Signal(object)  # Event
    changed = Signal()

    def __init__(self, parent: QWidget | None = None, staff: StaffList | None = None,
                 givers: Callable[[], list[str]] | None = None) -> None:
        """`givers`: the people signed in who may give a dose, offered in "given by"."""
        super().__init__(parent)
        self.setObjectName("panel")
        self.day: DoseDay | None = None
        self.staff = staff or (lambda: [])
        self._pending: _Pending | None = None
        self._void_uid: str | None = None
        self._session_id: int | None = None
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
        # a whole dose ("112.5 mg") shows, whatever the button beside it says
        self.mg.setMinimumWidth(QFontMetrics(f).horizontalAdvance(WIDEST_DOSE) + 28)
        self.mg.setMaximumWidth(self.mg.minimumWidth() + 20)
        self.mg.textChanged.connect(self._preview)
        self.mg.textChanged.connect(self._edited)
        self.mg.returnPressed.connect(self.record)
        self.per_kg = QLabel("")
        self.per_kg.setWordWrap(True)
        self.per_kg.setStyleSheet("font-size: 16px;")
        self.lot = QLineEdit()
        self.lot.setPlaceholderText("lot number")
        self.given_by = QLineEdit()
        self.given_by.setPlaceholderText("given by")
        self._given_by_auto = ""  # the name put there for the person at the keyboard
        self.givers = StaffNames(self.given_by, givers) if givers is not None else None
        self.when = QLineEdit()
        self.when.setPlaceholderText("now — or hh:mm, or minutes ago")
        self.when.textChanged.connect(self._edited)
        self.record_button = _big_button("Record dose  (F2)")
        self.record_button.clicked.connect(self.record)

        # The question, right under the dose field: the question and its buttons first,
        # the protocol's reasons below them.
        self.confirm_text = QLabel("")
        self.confirm_text.setObjectName("dose_question")
        self.confirm_text.setWordWrap(True)
        self.confirm_text.setStyleSheet("font-size: 18px; font-weight: bold;")
        self.confirm_reasons = QLabel("")
        self.confirm_reasons.setWordWrap(True)
        self.confirm_reasons.setStyleSheet("font-size: 14px;")
        self.confirm_yes = _big_button("Yes, record it")
        self.confirm_yes.clicked.connect(self.confirm)
        self.confirm_no = QPushButton("Cancel")
        self.confirm_no.clicked.connect(self.cancel)
        self.second = QComboBox()
        self.second.setObjectName("second_person")
        self.second.setMinimumWidth(150)
        self.second.setToolTip("The second person who checked this dose (from the staff list)")
        self.confirm_hint = QLabel("")
        self.confirm_hint.setWordWrap(True)
        self.confirm_hint.setStyleSheet(f"color: {theme.WARN}; font-weight: bold;")
        self.confirm_hint.hide()
        self.second.currentIndexChanged.connect(lambda _i: self._hint(""))
        self.confirm_box = _boxed(theme.WARN)
        cb = QVBoxLayout(self.confirm_box)
        cb.setContentsMargins(10, 6, 10, 6)
        cb.setSpacing(4)
        cb.addWidget(self.confirm_text)
        crow = QHBoxLayout()
        crow.addWidget(self.second, 1)
        crow.addWidget(self.confirm_yes)
        crow.addWidget(self.confirm_no)
        cb.addLayout(crow)
        cb.addWidget(self.confirm_hint)
        cb.addWidget(self.confirm_reasons)
        self.confirm_box.hide()
        self.message = QLabel("")
        self.message.setObjectName("dose_message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {theme.WARN}; font-size: 17px; font-weight: bold;")
        self.message.hide()
        self.cumulative = QLabel("")
        self.cumulative.setWordWrap(True)
        self.cumulative.setStyleSheet("font-size: 22px; font-weight: bold;")
        self.cumulative.setWordWrap(True)  # never wider than the column
        self.log = QLabel("")
        self.log.setObjectName("dose_log")
        self.log.setWordWrap(True)
        self.log.setTextFormat(Qt.TextFormat.RichText)
        self.log.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                         | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        self.log.setOpenExternalLinks(False)
        self.log.linkActivated.connect(self._void_link)
        self.log.setStyleSheet("font-size: 14px;")
        # Entered in error: reason, then the author is the person at the console.
        self.void_text = QLabel("")
        self.void_text.setWordWrap(True)
        self.void_text.setStyleSheet("font-size: 16px;")
        self.void_reason = QLineEdit()
        self.void_reason.setObjectName("void_reason")
        self.void_reason.setPlaceholderText("Why was it an error? e.g. typed twice, wrong patient")
        self.void_reason.returnPressed.connect(self.void)
        self.void_yes = QPushButton("Mark entered in error")
        self.void_yes.clicked.connect(self.void)
        self.void_no = QPushButton("Cancel")
        self.void_no.clicked.connect(self.cancel_void)
        self.void_message = QLabel("")
        self.void_message.setWordWrap(True)
        self.void_message.setStyleSheet(f"color: {theme.WARN}; font-weight: bold;")
        self.void_box = _boxed(theme.ALARM_HIGH)
        vb = QVBoxLayout(self.void_box)
        vb.setContentsMargins(10, 6, 10, 6)
        vb.addWidget(self.void_text)
        vrow = QHBoxLayout()
        vrow.addWidget(self.void_reason, 1)
        vrow.addWidget(self.void_yes)
        vrow.addWidget(self.void_no)
        vb.addLayout(vrow)
        vb.addWidget(self.void_message)
        self.void_box.hide()
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
        for e in (self.mg, self.when, self.lot, self.given_by):
            e.installEventFilter(self)  # Ctrl+Y confirms, even while typing in a field
        self.moaas = QComboBox()
        self.moaas.addItems(MOAAS)
        self.moaas.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.moaas.setMinimumContentsLength(16)
        self.sedation = QPushButton("Record sedation (MOAA/S)")
        self.sedation.clicked.connect(self._sedation)

        # Top: the field, its mg/kg and the button; the question and messages right below.
        # (Kept narrow: the panel shares a row with others on a 1366-wide laptop screen.)
        entry = QGridLayout()
        entry.setVerticalSpacing(2)
        title = QLabel("<b>Dose</b>")
        title.setStyleSheet("font-size: 18px;")
        entry.addWidget(title, 0, 0)
        entry.addWidget(self.mg, 0, 1)
        entry.addWidget(self.record_button, 0, 2)
        entry.addWidget(self.per_kg, 1, 1, 1, 2)
        entry.setColumnStretch(2, 1)
        details = QHBoxLayout()
        details.addWidget(self.lot, 1)
        details.addWidget(self.given_by, 1)
        details.addWidget(self.when, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(entry)
        lay.addWidget(self.message)
        lay.addWidget(self.confirm_box)
        lay.addLayout(details)
        lay.addWidget(self.protocol)
        lay.addWidget(self.cumulative)
        lay.addWidget(self.log)
        lay.addWidget(self.void_box)
        lay.addWidget(self.inf_box)
        srow = QHBoxLayout()
        srow.addWidget(self.moaas, 1)
        srow.addWidget(self.sedation)
        lay.addLayout(srow)
        lay.addStretch(1)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        """A line edit takes Ctrl+Y as "redo" on most platforms, which would swallow the
        window's confirm shortcut exactly where the nurse is typing: leave it to the window."""
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            pressed = QKeySequence(event.keyCombination())
            if pressed.matches(CONFIRM_KEY) == QKeySequence.SequenceMatch.ExactMatch:
                event.ignore()
                return True
        return super().eventFilter(obj, event)

    # ------------------------------------------------------------------
    def attach(self, day: DoseDay | None) -> None:
        """Show `day`; another session (or none) starts from empty fields."""
        sid = day.session_id if day is not None else None
        new_session = sid != self._session_id
        self._session_id = sid
        self.day = day
        self.cancel()
        self.say("")
        if new_session:
            self.reset_fields()
        if day is not None:
            tpl = day.template
            d = tpl.dose
            how = method_text(tpl)
            w = f"{day.weight_kg:g} kg" if day.weight_kg else "no weight recorded"
            self.protocol.setText(
                f"{tpl.drug.name} · {tpl.drug.route} · {how} · range {range_text(tpl, day.weight_kg)}"
                f" · patient {w} · from {tpl.provenance}"
                + (f" — {d.source}" if d.source else ""))
            self.default_text = f"range {range_text(tpl, day.weight_kg)}"
            if d.default is not None:
                mg = d.default * day.weight_kg if d.per_kg and day.weight_kg else (
                    None if d.per_kg else d.default)
                self.default_text += (f" · protocol default {mg:g} mg" if mg is not None else
                                      f" · protocol default {d.default:g} mg/kg")
            self._preview()
            self.follow_author(day.sessions.author)
            self.inf_box.setVisible(d.method == "infusion")
        else:  # no session (or one without a protocol): nothing of the last patient stays
            self.protocol.setText("")
            self.default_text = ""
            self.inf_box.hide()
        self.refresh()

    def reset_fields(self) -> None:
        """Nothing typed for one session may be there for the next."""
        for e in (self.mg, self.when, self.lot, self.given_by, self.rate, self.void_reason):
            e.clear()
        self._given_by_auto = ""
        self.moaas.setCurrentIndex(0)
        self.cancel_void()
        self.per_kg.setText("")

    def follow_author(self, name: str | None) -> None:
        """"given by" names the person at the keyboard until someone types another name in
        it: after a switch (Ctrl+U) the next dose must not go down as given by the last one."""
        if self.given_by.text().strip() in ("", self._given_by_auto):
            self.given_by.setText(name or "")
            self._given_by_auto = name or ""
        if self.givers is not None:
            self.givers.refresh()

    def say(self, text: str) -> None:
        """A message about the dose, under the field and in view (empty: none)."""
        self.message.setText(text)
        self.message.setVisible(bool(text))
        if text:
            self.reveal(self.message)

    def reveal(self, w: QWidget) -> None:
        """Scroll the panel's scroll area (if any) so that `w` is in view, now and once the
        layout has settled; a box taller or wider than the view shows its top-left (the
        question and its buttons come first)."""
        area = self._scroll_area()
        if area is None:
            return

        def show() -> None:
            inner = area.widget()
            if not w.isVisible() or inner is None:
                return
            at = w.mapTo(inner, QPoint(0, 0))
            view = area.viewport().size()
            area.ensureWidgetVisible(w, 0, 0)
            if w.height() > view.height():
                area.verticalScrollBar().setValue(at.y())
            if w.width() > view.width():
                area.horizontalScrollBar().setValue(at.x())

        lay = self.layout()
        if lay is not None:
            lay.activate()
        show()
        QTimer.singleShot(0, self, show)

    def _scroll_area(self) -> QScrollArea | None:
        p = self.parentWidget()
        while p is not None and not isinstance(p, QScrollArea):
            p = p.parentWidget()
        return p

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
        text = (f"= {mg / day.weight_kg:.2f} mg/kg at {day.weight_kg:g} kg" if day.weight_kg
                else "(no weight: mg/kg unknown)")
        v = day.rules().judge(mg, day.now(), day.now())
        if v.refused is None and v.needs_second_person:
            text += (f" · <span style='color:{theme.ALARM_HIGH}'><b>beyond the "
                     f"{mg_text(v.ceiling_mg or 0)} mg ceiling</b></span>")
        elif v.refused is None and v.out_of_range is not None:
            text += (f" · <span style='color:{theme.WARN}'><b>{v.out_of_range} the {v.range} "
                     "range</b></span>")
        self.per_kg.setText(text)

    def _edited(self) -> None:
        """Any change to the number or the time takes a question back: a confirmation holds
        only for what it asked about."""
        if self._pending is not None:
            self.cancel()
            self.say("The dose was changed, so the question was withdrawn. "
                     "Press F2 to check the new number.")

    def record(self) -> None:
        if self.day is None:
            self.say(NO_PROTOCOL)
            return
        self._give(self.mg.text(), self.when.text(), None)

    def confirm(self) -> None:
        """Ctrl+Y or the Yes button: record exactly the number the question named."""
        p = self._pending
        if p is None:
            if self.day is not None and self.mg.text().strip():
                self.say("Nothing to confirm: press F2 to check this dose first.")
            return
        if p.mg_text != self.mg.text() or p.when_text != self.when.text():
            self._edited()  # belt and braces: never record a number nobody confirmed
            return
        second: str | None = None
        if p.second_person:
            second = self.second.currentData()
            if not second:
                self._hint("Choose the second person from the list first.")
                self.second.setFocus()
                self.reveal(self.confirm_hint)
                return
        self._give(p.mg_text, p.when_text, p, second)

    def _hint(self, text: str) -> None:
        self.confirm_hint.setText(text)
        self.confirm_hint.setVisible(bool(text))

    def cancel(self) -> None:
        self._pending = None
        self.confirm_box.hide()

    def _give(self, mg: str, when: str, pending: _Pending | None,
              second: str | None = None) -> None:
        assert self.day is not None
        try:
            ev = self.day.give_dose(mg, when, lot=self.lot.text(), given_by=self.given_by.text(),
                                    confirmed=pending is not None,
                                    confirm_mg=pending.mg if pending else None,
                                    second_person=second)
        except NeedsConfirmation as e:
            self._ask(mg, when, e)
            return
        except DoseInputError as e:
            self.cancel()
            self.say(str(e))
            return
        self.cancel()
        self.say("")
        self.mg.clear()
        self.when.clear()
        self._preview()
        self.dose_recorded.emit(ev)
        self.changed.emit()
        self.refresh()

    def _ask(self, mg: str, when: str, e: NeedsConfirmation) -> None:
        v = e.verdict
        assert v is not None
        second = isinstance(e, NeedsSecondPerson)
        self._pending = _Pending(mg, when, v.mg, second)
        self.confirm_text.setText(e.question + (" A second person must confirm: choose who "
                                                "checked it." if second else ""))
        self.confirm_reasons.setText("\n".join(f"• {r}" for r in e.reasons))
        self.second.setVisible(second)
        if second:
            self._fill_second()
        self.confirm_yes.setText(f"Record {v.mg:g} mg  (Ctrl+Y)")
        colour = theme.ALARM_HIGH if second else theme.WARN
        self.confirm_box.setStyleSheet(
            f"QFrame#dose_prompt {{ border: 2px solid {colour}; border-radius: 6px; "
            f"background: {theme.dim(colour, 0.16)}; }}")
        self.say("")
        self._hint("")
        self.confirm_box.show()
        self.reveal(self.confirm_box)

    def _fill_second(self) -> None:
        me = (self.day.sessions.author if self.day is not None else None) or ""
        others = [(n, r) for n, r in self.staff() if n.strip() and n.casefold() != me.casefold()]
        self.second.clear()
        if not others:
            self.second.addItem("No one else in the staff list (Session ▸ Staff list…)", None)
            self.second.setEnabled(False)
            return
        self.second.setEnabled(True)
        self.second.addItem("Checked by… (choose)", None)
        for i, (name, role) in enumerate(others, start=1):
            self.second.addItem(name, name)
            self.second.setItemData(i, role, Qt.ItemDataRole.ToolTipRole)

    # ------------------------------------------------------------------ entered in error
    def _void_link(self, link: str) -> None:
        if link.startswith(VOID_LINK):
            self.ask_void(link.removeprefix(VOID_LINK))

    def ask_void(self, uid: str) -> None:
        """Open the "entered in error" form for one dose of the log."""
        day = self.day
        if day is None or uid not in day.dose_events or uid in day.voided:
            return
        p = day.dose_events[uid].payload
        self._void_uid = uid
        who = day.sessions.author or "— choose who you are first —"
        self.void_text.setText(
            f"Mark the {_wall(day.dose_events[uid].t)} {p.get('role', 'dose')} of "
            f"<b>{p['mg']:g} mg</b> {html.escape(str(p.get('route', '')))} as entered in "
            f"error? It stays in the record, struck through, and no longer counts. "
            f"Recorded by {html.escape(who)} now.")
        self.void_message.setText("")
        self.void_box.show()
        self.void_reason.setFocus()
        self.reveal(self.void_box)

    def void(self) -> None:
        day, uid = self.day, self._void_uid
        if day is None or uid is None:
            return
        try:
            day.void_dose(uid, self.void_reason.text())
        except DoseInputError as e:
            self.void_message.setText(str(e))  # the reason typed so far stays
            return
        self.cancel_void()
        self.changed.emit()
        self.refresh()

    def cancel_void(self) -> None:
        self._void_uid = None
        self.void_reason.clear()
        self.void_message.setText("")
        self.void_box.hide()

    # ------------------------------------------------------------------
    def _infusion(self, action: str) -> None:
        if self.day is None:
            return
        try:
            self.day.infusion_action(action, self.rate.text())
        except DoseInputError as e:
            self.say(str(e))
            return
        self.say("")
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
            self.record_button.setText("Record dose  (F2)")
            self.record_button.setEnabled(False)
            return
        self.record_button.setEnabled(True)
        locked = not day.dosing_allowed()
        self.record_button.setText(LOCKED_TEXT if locked else
                                   ("Record booster  (F2)" if day.doses else
                                    "Record dose  (F2)"))
        self.record_button.setToolTip(LOCKED_TIP if locked else "")
        total = day.cumulative_mg()
        per = f" ({total / day.weight_kg:.2f} mg/kg)" if day.weight_kg else ""
        voided = f" · {len(day.voided)} entered in error, not counted" if day.voided else ""
        self.cumulative.setText(f"Cumulative this session: {total:.1f} mg{per} · "
                                f"{len(day.doses)} dose(s){voided}" if day.doses else
                                f"Cumulative this session: 0 mg{voided}")
        self.log.setText("<br>".join(_save_mark(day, ev.uid, dose_line(day, ev))
                                     for ev in day.dose_log()))
        inf = day.infusion_status()
        if inf is not None:
            active = inf.state in ("running", "paused")
            self.pause.setEnabled(inf.state == "running")
            self.resume.setEnabled(inf.state == "paused")
            self.set_rate.setEnabled(active)
            self.stop.setEnabled(active)


def dose_line(day: DoseDay, ev: Event) -> str:
    """One line of the dose log (rich text): the dose, its markers, and either a link to mark
    it entered in error or, struck through, why and by whom it was."""
    p = ev.payload
    per_kg = f" ({p['mg_per_kg']:.2f} mg/kg)" if p.get("mg_per_kg") is not None else ""
    extra = " · ".join(x for x in (
        f"lot {html.escape(p['lot'])}" if p.get("lot") else "",
        f"by {html.escape(p['given_by'])}" if p.get("given_by") else "",
        "<b>late entry</b>" if p.get("late_entry") else "",
        outside_marker(p)) if x)
    line = (f"{_wall(ev.t)} · {html.escape(str(p.get('role', '')))} · <b>{p['mg']:g} mg</b>"
            f"{per_kg} {html.escape(str(p.get('route', '')))}" + (f" · {extra}" if extra else ""))
    void = day.void_events.get(ev.uid)
    if void is not None:
        return (f"<span style='color:{theme.TEXT_DIM}'><s>{line}</s></span> "
                f"<span style='color:{theme.ALARM_HIGH}'><b>ENTERED IN ERROR</b> "
                f"{_wall(void.t)} by {html.escape(void.author or '?')}: "
                f"{html.escape(str(void.payload.get('reason', '')))}</span>")
    return (f"{line} &nbsp;<a href='{VOID_LINK}{ev.uid}' style='color:{theme.TEXT_DIM}'>"
            "entered in error…</a>")


def outside_marker(p: dict[str, object]) -> str:
    """The persistent mark of a dose given outside the protocol (empty when inside)."""
    if not p.get("outside_protocol"):
        return ""
    who = html.escape(str(p.get("confirmed_by") or "?"))
    if p.get("above_ceiling"):
        ceiling = p.get("ceiling_mg")
        at = f" of {mg_text(float(ceiling))} mg" if isinstance(ceiling, int | float) else ""
        return (f"<span style='color:{theme.ALARM_HIGH}'><b>⚠ BEYOND THE CEILING{at}</b>, "
                f"confirmed by {who} and {html.escape(str(p.get('second_person') or '?'))}"
                "</span>")
    side = p.get("out_of_range")
    what = (f"{str(side).upper()} RANGE {html.escape(str(p.get('protocol_range', '')))}"
            if side else "OUTSIDE PROTOCOL")
    return f"<span style='color:{theme.WARN}'><b>⚠ {what}</b>, confirmed by {who}</span>"

