"""The trend draws what is in view at ~pixel resolution: a long session costs what a short
one does, and nothing is lost to it: a spike stays, a gap still breaks the line."""

from __future__ import annotations

import math

import numpy as np
from pytestqt.qtbot import QtBot

from console.core.vitals.shown_history import Track
from console.ui.vitals.trend_chart import GAP_SECONDS, TrendChart, in_view
from devices import mdc
from devices.reading import Reading

HR = mdc.MDC_ECG_HEART_RATE


def test_in_view_keeps_spikes_and_gaps_at_any_zoom() -> None:
    s = Track()
    for second in range(28_800):
        if not 12_000 < second < 13_000:  # the link was lost for 1000 s
            s.add(float(second), 190.0 if second == 5000 else 70.0)
    t, v = s.arrays()
    x, y = in_view(t, v, 0.0, 28_800.0, 1000, GAP_SECONDS)
    assert len(x) <= 3 * 1000 + 2
    assert np.nanmax(y) == 190.0 and np.nanmin(y) == 70.0
    breaks = x[np.isnan(y)]
    assert breaks.size == 1 and 11_970 <= breaks[0] <= 12_001, "the gap breaks the line"
    drawn = x[~np.isnan(y)]
    assert not ((drawn > 12_001) & (drawn < 13_000)).any(), "nothing drawn inside the gap"
    # zoomed in: every point in view, one either side
    x, y = in_view(t, v, 100.0, 200.0, 1000, GAP_SECONDS)
    assert x[0] == 99.0 and x[-1] == 201.0 and len(x) == 103 and not np.isnan(y).any()
    # zoomed in across the gap: the points either side, and a break between them
    x, y = in_view(t, v, 11_990.0, 13_010.0, 1000, GAP_SECONDS)
    assert np.isnan(y).sum() == 1 and x[np.isnan(y)][0] == 12_000.001


def test_history_goes_in_front_of_live_points_and_breaks_where_it_went_silent() -> None:
    s = Track()
    s.add(1000.0, 80.0)
    s.add(1001.0, 81.0)
    hist_t = np.array([10.0, 11.0, 12.0, 100.0, 101.0, 1000.0])
    s.put_before(hist_t, np.array([60.0, 61.0, 62.0, 63.0, 64.0, 99.0]))
    t, v = s.arrays()
    assert t.tolist() == [10.0, 11.0, 12.0, 100.0, 101.0, 1000.0, 1001.0]
    assert v.tolist() == [60.0, 61.0, 62.0, 63.0, 64.0, 80.0, 81.0], "live wins at 1000"
    x, y = in_view(t, v, 0.0, 2000.0, 1000, GAP_SECONDS)
    assert np.isnan(y).sum() == 2  # 12 -> 100 and 101 -> 1000 are gaps longer than GAP_SECONDS
    assert (np.diff(x) > 0).all()
    s.add(1001.0 + GAP_SECONDS + 1, 82.0)  # live data goes on after it
    x, y = in_view(*s.arrays(), 0.0, 2000.0, 1000, GAP_SECONDS)
    assert y[-1] == 82.0 and math.isnan(y[-2])


def test_a_whole_session_is_drawn_at_pixel_resolution(qtbot: QtBot) -> None:
    chart = TrendChart()
    qtbot.addWidget(chart)
    chart.resize(1200, 300)
    chart.show()
    t0 = 1_800_000_000.0
    t = t0 + np.arange(8 * 3600.0)
    chart.add_history(HR, t, 70 + (np.arange(t.size) % 20.0))
    chart.add_readings([Reading(t[-1] + 1, "sim", HR, 75, 0)])
    chart.set_now(t[-1] + 1)
    chart.set_window(0)
    chart.redraw()
    x, y = chart.curves[HR].getData()
    assert x is not None and y is not None
    assert 0 < len(x) <= 3 * 1200 + 2
    assert x[0] == t0 and y.min() == 70 and y.max() == 89
    lo, hi = chart.view_range()
    assert lo == t0 and hi >= t[-1]


def test_redrawing_symbols_adds_nothing_to_pyqtgraphs_symbol_atlas(qtbot: QtBot) -> None:
    """pyqtgraph keeps every symbol it renders, keyed by the pen and brush objects: a colour
    given afresh at each redraw made a new entry each time, and the console grew for as long
    as it ran. A cuff value every 5 minutes and a redraw every second of an hour: the atlas
    holds the symbols of the first drawing and no more."""
    sys_code = mdc.MDC_PRESS_BLD_NONINV_SYS
    chart = TrendChart()
    qtbot.addWidget(chart)
    chart.resize(1200, 300)
    chart.show()
    t0 = 1_800_000_000.0
    sizes = []
    for second in range(0, 3600, 10):
        if second % 300 == 0:
            chart.add_readings([Reading(t0 + second, "sim", sys_code, 120 + second % 7, 0)])
        chart.add_readings([Reading(t0 + second, "sim", HR, 70, 0)])
        chart.set_now(t0 + second)
        chart.redraw()
        chart.layout_widget.grab()  # painted: the atlas is filled as the symbols are drawn
        sizes.append(len(chart.curves[sys_code].scatter.fragmentAtlas))
    assert sizes[-1] >= 1, "the cuff values were drawn as symbols"
    assert sizes[-1] == sizes[len(sizes) // 10], sizes
