"""VITALS: the one table of the vital signs the console shows, checks, alarms on and records.

Every other list derives from it: the template's parameter and check names
(`core/dosing/templates.py`), the dose day's checks and manual entry (`core/dosing/dose_day.py`), the
technical stale alarm (`core/dosing/alarms.py`), the recorder's summary, the manual-entry fields,
the tiles of the vitals strip, the rows of the trend chart and the curves of the timeline.
Adding a parameter is one row here, plus a template line that uses it, plus tests.

A displayed parameter may have several sources: heart rate comes from the ECG, from the
oximeter (an oximeter-only room: Nonin, Masimo) or from a hand count, and all of them are the
HR lane. The first code of a row is the parameter's own (what a typed value is stored as).
The plausible range is the device layer's (`devices/plausibility.py`), never a copy: devices
cannot import the console, so this table refers to that one.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices import mdc
from devices.plausibility import DEFAULT_LIMITS, Limits


@dataclass(frozen=True, slots=True)
class Vital:
    """One displayed parameter. Order in VITALS is tile, field, trend-row and legend order."""

    key: str  # name in templates and events: "hr", "sys", "temp"
    codes: tuple[int, ...]  # MDC codes shown as this parameter; the first is its own
    label: str  # in alarm texts and summaries: "HR", "BP systolic"
    short: str  # above a manual-entry field: "BP sys"
    name: str  # in words, for messages: "Systolic BP"
    unit: str  # as shown: "/min", "mmHg", "°C"
    mdc_unit: int  # stored with a typed value
    colour: str  # one colour per parameter on strip, trend and timeline
    manual_range: tuple[float, float]  # what a hand-typed value may plausibly be
    check: str | None  # the scheduled check a value of this parameter fulfils
    stale_s: float  # a tile greys after this long without a value
    tile: str  # strip tile; systolic, diastolic and mean share "nibp"
    tile_title: str  # the tile's (and trend row's) name
    trend_row: str  # trend-chart row the curve is drawn in
    trend_range: tuple[float, float]  # that row's y range (from the row's first vital)
    decimals: int = 0  # digits after the point on tiles
    continuous: bool = True  # sent every few seconds: a gap breaks its line
    watched: bool = False  # every monitor in the room sends it: its silence is an alarm
    always_shown: bool = True  # else its tile appears with its first value (spot checks)

    @property
    def code(self) -> int:
        return self.codes[0]

    @property
    def plausible(self) -> Limits:
        """The range a monitor value must lie in to be believed (the device gate's)."""
        return DEFAULT_LIMITS[self.code]


def _nibp(key: str, code: int, label: str, short: str, name: str,
          manual_range: tuple[float, float], check: str | None) -> Vital:
    """Systolic and diastolic: one cuff measurement, shown together on the NIBP tile."""
    return Vital(key, (code,), label, short, name, "mmHg", mdc.MDC_DIM_MMHG, "#e6e6e6",
                 manual_range, check, 15 * 60.0, "nibp", "NIBP", "hr", (30.0, 210.0),
                 continuous=False)


VITALS: tuple[Vital, ...] = (
    Vital("hr", (mdc.MDC_ECG_HEART_RATE, mdc.MDC_PULS_OXIM_PULS_RATE, mdc.MDC_PULS_RATE),
          "HR", "HR", "Heart rate", "/min", mdc.MDC_DIM_BEAT_PER_MIN, "#3ddc84", (20, 250),
          "hr", 5.0, "hr", "HR", "hr", (30.0, 210.0), watched=True),
    Vital("spo2", (mdc.MDC_PULS_OXIM_SAT_O2,), "SpO2", "SpO2", "SpO2", "%",
          mdc.MDC_DIM_PERCENT, "#3cc8e6", (50, 100), "spo2", 5.0, "spo2", "SpO2", "spo2",
          (75.0, 101.0), watched=True),
    _nibp("sys", mdc.MDC_PRESS_BLD_NONINV_SYS, "BP systolic", "BP sys", "Systolic BP",
          (40, 300), "bp"),
    _nibp("dia", mdc.MDC_PRESS_BLD_NONINV_DIA, "BP diastolic", "BP dia", "Diastolic BP",
          (20, 200), None),
    Vital("rr", (mdc.MDC_RESP_RATE,), "RR", "RR", "Respiratory rate", "/min",
          mdc.MDC_DIM_RESP_PER_MIN, "#e6c84a", (2, 60), "rr", 10.0, "rr", "RR", "rr",
          (0.0, 40.0)),
    # Core temperature from any site a monitor reports (skin temperature is not one).
    Vital("temp", (mdc.MDC_TEMP, mdc.MDC_TEMP_BODY, mdc.MDC_TEMP_CORE, mdc.MDC_TEMP_ESOPH,
                   mdc.MDC_TEMP_NASOPH, mdc.MDC_TEMP_TYMP, mdc.MDC_TEMP_RECT,
                   mdc.MDC_TEMP_ORAL, mdc.MDC_TEMP_AXIL),
          "Temp", "Temp", "Temperature", "°C", mdc.MDC_DIM_DEGC, "#d08cf0", (30, 43),
          "temp", 30 * 60.0, "temp", "Temp", "temp", (34.0, 40.0), decimals=1,
          continuous=False, always_shown=False),
)

VITAL: dict[str, Vital] = {v.key: v for v in VITALS}
_OF_CODE: dict[int, Vital] = {c: v for v in VITALS for c in v.codes}
# Blood pressure's mean is shown on the NIBP tile but is no parameter of its own.
NIBP_MEAN = mdc.MDC_PRESS_BLD_NONINV_MEAN


def vital_of(code: int) -> Vital | None:
    """The displayed parameter a monitor code belongs to (aliases folded), or None."""
    return _OF_CODE.get(mdc.canonical(code))


def shown_codes() -> tuple[int, ...]:
    """Every code some tile, row or lane shows, in table order."""
    return tuple(c for v in VITALS for c in v.codes)


def check_kinds() -> tuple[str, ...]:
    """Check kinds a value fulfils, in table order (templates add the scored ones)."""
    return tuple(dict.fromkeys(v.check for v in VITALS if v.check))
