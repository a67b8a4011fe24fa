"""Patients and courses: past sessions, outcome trends, and search across sessions.

Opened from the menu as its own window (never over the vitals). Choosing a session or a
search hit emits `open_session(session_id, uid)`; the notes feature shows it on the timeline.
"""

from __future__ import annotations

import time
from datetime import datetime

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.core.notes.course import CourseSession, measures_in, outcome_trend, patient_course
from console.core.notes.scales import measures
from console.core.notes.search import search
from console.store import engine, records
from console.ui import plot_style, theme
from console.ui.clock_axis import ClockAxis

MEASURE_COLOURS = ("#d9c7a3", "#c4a6e8", "#7f9cf5", "#e0914a", "#8fa3b8")
COLUMNS = ("Date", "Template", "Phase", "Doses", "Signed", "Outcomes")


def parse_date(text: str, label: str) -> float | None:
    """“2027-01-15” (or empty) as local midnight; ValueError with a sentence otherwise."""
    s = text.strip()
    if not s:
        return None
    try:
        return datetime.strptime(s, "%Y-%m-%d").timestamp()
    except ValueError:
        raise ValueError(f"{label}: “{s}” is not a date. Type it as year-month-day, "
                         "e.g. 2027-01-15.") from None


class CourseView(QWidget):
    open_session = Signal(int, str)  # session id, uid of an event to show ("" for none)
    patient_shown = Signal(int)  # a patient's course is on screen (their record is opened)

    def __init__(self, reader: engine.Connection, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Patients and courses — Holdspace")
        self.reader = reader
        self.course: list[CourseSession] = []

        self.patient_box = QComboBox()
        self.patient_box.currentIndexChanged.connect(self._patient_changed)
        top = QHBoxLayout()
        top.addWidget(QLabel("Patient"))
        top.addWidget(self.patient_box, 1)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.cellDoubleClicked.connect(self._row_opened)
        self.table.setColumnWidth(0, 150)
        self.table.setColumnWidth(1, 170)
        self.table.setColumnWidth(3, 220)
        self.table.setColumnWidth(4, 180)
        self.table.verticalHeader().hide()

        self.chart = pg.PlotWidget(axisItems={"bottom": ClockAxis()})
        self.chart.setBackground(theme.BG)
        self.chart.setMenuEnabled(False)
        self.chart.showGrid(x=True, y=True, alpha=0.12)
        self.chart.setMinimumHeight(100)  # fits beside the vitals on a 768-px screen
        self.chart.addLegend(offset=(10, 5))

        sbox = QGroupBox("Search all sessions")
        srow = QHBoxLayout(sbox)
        self.search_text = QLineEdit()
        self.search_text.setPlaceholderText("words")
        self.search_tag = QLineEdit()
        self.search_tag.setPlaceholderText("tag")
        self.search_from = QLineEdit()
        self.search_from.setPlaceholderText("from yyyy-mm-dd")
        self.search_to = QLineEdit()
        self.search_to.setPlaceholderText("to yyyy-mm-dd")
        go = QPushButton("Search")
        go.clicked.connect(self.run_search)
        for w in (self.search_text, self.search_tag, self.search_from, self.search_to):
            srow.addWidget(w)
            if isinstance(w, QLineEdit):
                w.returnPressed.connect(self.run_search)
        srow.addWidget(go)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.results = QListWidget()
        self.results.itemActivated.connect(self._hit_opened)
        self.results.itemDoubleClicked.connect(self._hit_opened)

        upper = QWidget()
        ul = QVBoxLayout(upper)
        ul.setContentsMargins(0, 0, 0, 0)
        ul.addLayout(top)
        ul.addWidget(self.table, 2)
        ul.addWidget(QLabel("Outcome measures across the course"))
        ul.addWidget(self.chart, 1)
        lower = QWidget()
        ll = QVBoxLayout(lower)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(sbox)
        ll.addWidget(self.message)
        ll.addWidget(self.results, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(lower)
        lay = QVBoxLayout(self)
        lay.addWidget(split)
        self.resize(1000, 800)
        self.reload()

    def reload(self) -> None:
        keep = self.patient_box.currentData()
        self.patient_box.blockSignals(True)
        self.patient_box.clear()
        for p in records.list_patients(self.reader):
            label = p.display_name + (f" ({p.identifier})" if p.identifier else "")
            self.patient_box.addItem(label, p.id)
        self.patient_box.blockSignals(False)
        idx = self.patient_box.findData(keep) if keep is not None else 0
        self.patient_box.setCurrentIndex(max(idx, 0))
        self._patient_changed()

    def show_patient(self, patient_id: int) -> None:
        idx = self.patient_box.findData(patient_id)
        if idx >= 0:
            self.patient_box.setCurrentIndex(idx)

    def _patient_changed(self, *_: object) -> None:
        pid = self.patient_box.currentData()
        if pid is not None:
            self.patient_shown.emit(int(pid))  # a patient's record opened: for the audit
        self.course = patient_course(self.reader, int(pid)) if pid is not None else []
        self.table.setRowCount(len(self.course))
        for r, s in enumerate(self.course):
            phase = s.phase + (f" ({s.phase_label})" if s.phase_label else "")
            signed = f"signed — {s.signed_by}" if s.signed else (
                "open" if s.state == "active" else "NOT SIGNED")
            cells = (time.strftime("%Y-%m-%d %H:%M", time.localtime(s.started)),
                     s.template or "", phase, s.dose_text, signed,
                     ", ".join(f"{m} {v:g}" for m, v in s.outcomes.items()))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, s.id)
                if c == 4 and not s.signed and s.state != "active":
                    item.setForeground(pg.mkColor(theme.ALARM_MEDIUM))
                self.table.setItem(r, c, item)
        self._draw_chart()

    def _draw_chart(self) -> None:
        self.chart.clear()
        scales = measures()
        ts = [s.started for s in self.course if s.outcomes]
        if ts:  # the whole scale upwards from 0, and a few days around a lone session
            lo, hi = min(ts), max(ts)
            pad = max(3 * 86400.0, (hi - lo) * 0.05)
            self.chart.setXRange(lo - pad, hi + pad, padding=0)
            tops = [scales[m].high if m in scales else max(v for _t, v in outcome_trend(
                self.course, m)) for m in measures_in(self.course)]
            self.chart.setYRange(0, max(tops), padding=0.05)
        for i, m in enumerate(measures_in(self.course)):
            pts = outcome_trend(self.course, m)
            colour = MEASURE_COLOURS[i % len(MEASURE_COLOURS)]
            self.chart.plot([t for t, _v in pts], [v for _t, v in pts], name=m,
                            pen=pg.mkPen(colour, width=2), symbol="o",
                            symbolBrush=plot_style.brush(colour),
                            symbolPen=plot_style.pen(None), symbolSize=8)

    def run_search(self) -> None:
        try:
            lo = parse_date(self.search_from.text(), "From")
            hi = parse_date(self.search_to.text(), "To")
        except ValueError as e:
            self.message.setStyleSheet(f"color: {theme.ALARM_MEDIUM}; font-weight: bold;")
            self.message.setText(str(e))
            return
        hits = search(self.reader, self.search_text.text(), self.search_tag.text(), lo,
                      hi + 86400 if hi is not None else None)
        self.results.clear()
        for h in hits:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(h.t))
            item = QListWidgetItem(f"{when}  {h.patient or 'no patient'} · "
                                   f"{h.template or ''}  —  {h.summary}")
            item.setData(Qt.ItemDataRole.UserRole, (h.session_id, h.uid))
            self.results.addItem(item)
        self.message.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self.message.setText(f"{len(hits)} found." if hits else "Nothing found.")

    def _row_opened(self, row: int, _col: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.open_session.emit(int(item.data(Qt.ItemDataRole.UserRole)), "")

    def _hit_opened(self, item: QListWidgetItem) -> None:
        sid, uid = item.data(Qt.ItemDataRole.UserRole)
        self.open_session.emit(int(sid), str(uid))
