"""A time axis for the console's charts that never shows meaningless ticks.

pyqtgraph's DateAxisItem labels any range, so an empty chart (range 0–1 s of 1 January
1970) shows "00.100 00.200 …" and a fresh one "59.750 00:00:00 00.250". Holdspace never
needs sub-second ticks, and a time before 2000 is no data at all: those ticks stay blank.
"""

from __future__ import annotations

import pyqtgraph as pg

NO_DATA_BEFORE = 946_684_800.0  # 2000-01-01: anything earlier is an empty chart's range


class ClockAxis(pg.DateAxisItem):
    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if spacing < 1.0 or not values or max(values) < NO_DATA_BEFORE:
            return [""] * len(values)
        out: list[str] = super().tickStrings(values, scale, spacing)
        return out
