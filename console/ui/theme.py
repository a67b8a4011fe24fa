"""Colours, fonts and the dark palette for a dim treatment room.

One colour per parameter everywhere (tile, trend, timeline), as on bedside monitors, so a
medical monitor reads them without thinking. Alarm colours follow IEC 60601-1-8 priorities.
"Room mode" lowers luminance further for when the patient is under eyeshades and the lights
are low: a veil over each window scales every surface by ROOM_FACTOR (room_overlay.py), except
an alarming value and the alarm banner, which stay at full brightness.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from console.core.vitals_table import VITAL, VITALS
from devices import mdc

BG = "#0b0e12"
PANEL = "#12161c"
PANEL_EDGE = "#1e252e"
TEXT = "#c9d1d9"
TEXT_DIM = "#7d8792"
STALE = "#59626c"

# A parameter's colour is the vital-sign table's; these names are for widgets that draw one.
HR = VITAL["hr"].colour
SPO2 = VITAL["spo2"].colour
NIBP = VITAL["sys"].colour
RR = VITAL["rr"].colour
TEMP = VITAL["temp"].colour

ALARM_HIGH = "#e5484d"
ALARM_MEDIUM = "#f5c542"
ALARM_LOW = "#46b8d6"
OK = "#5fb37a"
WARN = ALARM_MEDIUM

PARAMETER_COLOURS: dict[int, str] = {
    **{code: v.colour for v in VITALS for code in v.codes},
    mdc.MDC_PULS_OXIM_PLETH: SPO2,
    mdc.MDC_PRESS_BLD_NONINV_MEAN: NIBP,
}

PRIORITY_COLOURS = {"high": ALARM_HIGH, "medium": ALARM_MEDIUM, "low": ALARM_LOW}

NUMERAL_PX = 64  # vitals values; readable from two metres
NUMERAL_MIN_PX = 48  # never smaller, whatever the screen
ROOM_FACTOR = 0.55  # room mode: every surface at this fraction of its brightness
# A widget with this property set stays out of the room-mode veil: the alarm banner, and
# panels that already paint themselves dim in room mode (so they are not dimmed twice).
ROOM_EXEMPT = "holdspace_room_exempt"
# The lock (console/ui/people/lock_screen.py): a widget with LOCK_VISIBLE stays in sight and in
# reach when the screen is locked (vitals, alarm banner, dose timer); an action with
# LOCK_KEEPS keeps its key (acknowledge alarms).
LOCK_VISIBLE = "holdspace_lock_visible"
LOCK_KEEPS = "holdspace_lock_keeps"
# Inside a LOCK_VISIBLE widget, a part the lock's form must never cover (a vital sign's
# tile); the rest of that widget (the pleth, the trend) may lie under the form on a small
# screen. A LOCK_VISIBLE widget with no such part is never covered at all.
LOCK_WHOLE = "holdspace_lock_whole"
CLOCK_PX = 84  # the since-dose clock is larger still


def colour_for(code: int) -> str:
    return PARAMETER_COLOURS.get(code, TEXT)


def dim(colour: str, factor: float) -> str:
    c = QColor(colour)
    return QColor.fromRgbF(c.redF() * factor, c.greenF() * factor, c.blueF() * factor).name()




STYLESHEET = f"""
QWidget {{ background: {BG}; color: {TEXT}; font-size: 15px; }}
QFrame#panel, QGroupBox {{ background: {PANEL}; border: 1px solid {PANEL_EDGE}; border-radius: 6px; }}
QGroupBox {{ margin-top: 18px; padding-top: 6px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; color: {TEXT_DIM}; }}
QLabel {{ background: transparent; }}
QPushButton {{ background: #1b222b; border: 1px solid #2c3540; border-radius: 6px;
              padding: 8px 10px; min-height: 28px; color: {TEXT}; }}
QPushButton:hover {{ background: #232c37; }}
QPushButton:pressed {{ background: #2a3440; }}
QPushButton:disabled {{ color: #4a525b; background: {BG}; border-color: #1d242c; }}
QPushButton:checked {{ background: #24323f; border-color: #3d5266; }}
QLineEdit, QTextEdit, QPlainTextEdit, QSpinBox, QDoubleSpinBox, QComboBox, QDateEdit,
QDateTimeEdit, QTimeEdit {{ background: #0f1318; border: 1px solid #2c3540; border-radius: 4px;
              padding: 5px; selection-background-color: #2d4a63; }}
QLineEdit:disabled, QTextEdit:disabled, QPlainTextEdit:disabled, QSpinBox:disabled,
QDoubleSpinBox:disabled, QComboBox:disabled, QDateEdit:disabled, QDateTimeEdit:disabled,
QTimeEdit:disabled {{ color: #4a525b; background: {BG}; border: 1px dashed #1d242c; }}
QLabel:disabled, QCheckBox:disabled, QRadioButton:disabled {{ color: #4a525b; }}
QRadioButton, QCheckBox {{ spacing: 10px; }}
QRadioButton::indicator {{ width: 20px; height: 20px; border-radius: 11px;
              border: 2px solid #8a96a3; background: #0f1318; }}
QRadioButton::indicator:checked {{ border: 2px solid {OK};
              background: qradialgradient(cx:0.5, cy:0.5, radius:0.5, fx:0.5, fy:0.5,
              stop:0 {OK}, stop:0.55 {OK}, stop:0.65 #0f1318, stop:1 #0f1318); }}
QCheckBox::indicator {{ width: 20px; height: 20px; border-radius: 4px;
              border: 2px solid #8a96a3; background: #0f1318; }}
QCheckBox::indicator:checked {{ background: {OK}; border-color: {OK}; }}
QRadioButton::indicator:disabled, QCheckBox::indicator:disabled {{ border-color: #2c3540; }}
QTabWidget::pane {{ border: 1px solid {PANEL_EDGE}; }}
QTabBar::tab {{ background: {PANEL}; padding: 7px 9px; border: 1px solid {PANEL_EDGE};
              color: {TEXT_DIM}; font-size: 14px; }}
QTabBar::tab:selected {{ color: {TEXT}; background: #18202a; }}
QListWidget, QTableWidget, QTreeWidget, QTableView {{ background: #0f1318;
              border: 1px solid {PANEL_EDGE}; alternate-background-color: #121820; }}
QListWidget:disabled, QTableWidget:disabled, QTreeWidget:disabled, QTableView:disabled {{
              color: #4a525b; border: 1px dashed #1d242c; }}
QListWidget::item:selected:disabled, QTableWidget::item:selected:disabled {{
              background: #151b22; color: #4a525b; }}
QHeaderView::section {{ background: {PANEL}; color: {TEXT_DIM}; border: none; padding: 4px; }}
QMenuBar, QMenu {{ background: {PANEL}; color: {TEXT}; }}
QMenu::item:selected, QMenuBar::item:selected {{ background: #24323f; }}
QToolTip {{ background: #1b222b; color: {TEXT}; border: 1px solid #2c3540; }}
QScrollBar:vertical {{ background: {BG}; width: 12px; }}
QScrollBar::handle:vertical {{ background: #2a323c; border-radius: 5px; min-height: 30px; }}
QMessageBox QLabel {{ font-size: 17px; }}
"""

# Room mode dims through the veil (room_overlay.py), so the sheet itself stays the same:
# dimming here as well would dim most surfaces twice and the exempt ones not at all.
ROOM_MODE_STYLESHEET = STYLESHEET


@dataclass(frozen=True)
class Surfaces:
    """Panel and control colours for a panel that paints itself, normal or in room mode."""

    panel: str
    edge: str
    control: str
    control_edge: str


def surfaces(room_mode: bool) -> Surfaces:
    if room_mode:
        return Surfaces("#090b0e", "#12161b", "#0e1216", "#1a2028")
    return Surfaces(PANEL, PANEL_EDGE, "#1b222b", "#2c3540")


def apply_theme(app: QApplication, room_mode: bool = False) -> None:
    """The dark palette and stylesheet; room mode dims text and panels further."""
    app.setStyle("Fusion")
    pal = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, BG),
        (QPalette.ColorRole.WindowText, TEXT),
        (QPalette.ColorRole.Base, "#0f1318"),
        (QPalette.ColorRole.AlternateBase, PANEL),
        (QPalette.ColorRole.Text, TEXT),
        (QPalette.ColorRole.Button, "#1b222b"),
        (QPalette.ColorRole.ButtonText, TEXT),
        (QPalette.ColorRole.Highlight, "#2d4a63"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"),
        (QPalette.ColorRole.ToolTipBase, "#1b222b"),
        (QPalette.ColorRole.ToolTipText, TEXT),
    ):
        pal.setColor(role, QColor(colour))
    app.setPalette(pal)
    app.setStyleSheet(ROOM_MODE_STYLESHEET if room_mode else STYLESHEET)
    app.setProperty("holdspace_room_mode", room_mode)
    from console.ui import room_overlay  # the veil over each window follows

    room_overlay.sync_all()


def room_mode_active() -> bool:
    app = QApplication.instance()
    return bool(app.property("holdspace_room_mode")) if app is not None else False


def apply_room_mode(app: QApplication, on: bool) -> None:
    """Switch room mode for the whole application (widgets listening repaint themselves)."""
    apply_theme(app, room_mode=on)
