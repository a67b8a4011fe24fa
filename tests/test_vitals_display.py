"""What the vital-sign table says is what strip, trend and timeline show.

An oximeter-only room (Nonin, Masimo) sends pulse rate, not an ECG heart rate: it must be in
the HR lane everywhere. A temperature (a row added to the table) shows on all three.
"""

from __future__ import annotations

import numpy as np

from console.core.vitals_table import VITAL
from console.ui import theme
from console.ui.notes.timeline import Timeline
from console.ui.vitals.vitals_strip import VitalsStrip
from devices import mdc
from devices.reading import Quality, Reading
from tests.notes_support import rig


def oximeter_minutes(t0: float, minutes: int) -> list[Reading]:
    """What a Nonin or Masimo sends: SpO2 and pulse rate, every 5 s."""
    out = []
    for i in range(0, minutes * 60, 5):
        out += [Reading(t0 + i, "nonin", mdc.MDC_PULS_OXIM_PULS_RATE, 64 + i // 120,
                        mdc.MDC_DIM_BEAT_PER_MIN, Quality.VALID),
                Reading(t0 + i, "nonin", mdc.MDC_PULS_OXIM_SAT_O2, 98, mdc.MDC_DIM_PERCENT,
                        Quality.VALID)]
    return out


def temperature(t: float, value: float) -> Reading:
    return Reading(t, "mon", mdc.MDC_TEMP_TYMP, value, mdc.MDC_DIM_DEGC, Quality.VALID)


def test_an_oximeter_only_room_has_its_pulse_rate_in_the_hr_lane_of_the_timeline(
        qtbot, qapp, tmp_path) -> None:
    theme.apply_theme(qapp)
    with rig(tmp_path) as r:
        sid = r.notes.session_id
        assert sid is not None
        t0 = r.clock.now()
        r.writer.add_samples(sid, [*oximeter_minutes(t0, 10), temperature(t0 + 300, 37.2)])
        r.clock.advance(600)
        r.flush()
        tl = Timeline(r.reader)
        qtbot.addWidget(tl)
        tl.load(sid, live=False)
        xs, ys = tl.curves[mdc.MDC_PULS_OXIM_PULS_RATE].getData()
        assert xs is not None and xs.size == 120 and ys[0] == 64 and ys[-1] == 68
        assert mdc.MDC_ECG_HEART_RATE not in tl.curves  # no ECG: nothing pretends there is
        pen = tl.curves[mdc.MDC_PULS_OXIM_PULS_RATE].opts["pen"]
        assert pen.color().name() == theme.dim(VITAL["hr"].colour, 0.6).lower()
        xs, ys = tl.curves[mdc.MDC_TEMP_TYMP].getData()
        assert list(ys) == [37.2] and xs[0] == t0 + 300
        assert tl.curves[mdc.MDC_TEMP_TYMP].opts["symbol"] == "o"  # a spot value, a mark
        assert "Temp" in tl.vitals_plot.titleLabel.text


def test_strip_and_trend_show_pulse_rate_as_hr_and_a_temperature(qtbot, qapp) -> None:
    theme.apply_theme(qapp)
    strip = VitalsStrip()
    qtbot.addWidget(strip)
    strip.resize(1200, 600)
    strip.show()
    assert list(strip.trend.plots) == ["hr", "spo2", "rr"]  # no temperature yet: no row
    assert strip.tile_of["temp"].isHidden()
    t0 = 1_800_000_000.0
    strip.add_samples([*oximeter_minutes(t0, 1)])
    strip.refresh(t0 + 56)
    assert strip.hr.title.text() == "PR (SpO2)" and strip.hr.value.text() == "64"
    _t, v = strip.trend.series[mdc.MDC_PULS_OXIM_PULS_RATE].arrays()
    assert v.size == 12 and np.all(v == 64)
    strip.add_samples([temperature(t0 + 60, 37.24)])
    strip.refresh(t0 + 60)
    assert not strip.tile_of["temp"].isHidden()
    assert strip.tile_of["temp"].value.text() == "37.2"  # one decimal, as the table says
    assert list(strip.trend.plots) == ["hr", "spo2", "rr", "temp"]
    _t, v = strip.trend.series[mdc.MDC_TEMP_TYMP].arrays()
    assert list(v) == [37.24]
    # An ECG heart rate takes the tile back; the pulse rate stays in the trend, dimmer.
    strip.add_samples([Reading(t0 + 61, "mon", mdc.MDC_ECG_HEART_RATE, 71,
                               mdc.MDC_DIM_BEAT_PER_MIN, Quality.VALID),
                       Reading(t0 + 62, "nonin", mdc.MDC_PULS_OXIM_PULS_RATE, 90,
                               mdc.MDC_DIM_BEAT_PER_MIN, Quality.VALID)])
    strip.refresh(t0 + 62)
    assert strip.hr.title.text() == "HR" and strip.hr.value.text() == "71"


def test_a_tile_restyles_only_when_its_state_changes(qtbot, qapp) -> None:
    """Each 50 ms batch used to re-apply every style sheet: only a change may do it now."""
    from PySide6.QtCore import QEvent, QObject

    from console.ui.vitals.vital_tile import VitalTile

    class StyleChanges(QObject):
        n = 0

        def eventFilter(self, _obj: QObject, ev: QEvent) -> bool:
            if ev.type() == QEvent.Type.StyleChange:
                self.n += 1
            return False

    tile = VitalTile("HR", "/min", theme.HR, 5.0)
    qtbot.addWidget(tile)
    tile.resize(220, 160)
    tile.show()
    counter = StyleChanges()
    tile.value.installEventFilter(counter)
    t0 = 1_800_000_000.0
    tile.set_value("72", t0, Quality.VALID, "mon")
    tile.refresh(t0)
    live = counter.n  # stale → live: restyled (a parent's sheet reaches its labels too)
    assert live > 0 and tile.value.text() == "72" and tile.colour in tile.value.styleSheet()
    for i in range(1, 40):  # a calm room: the value changes, the state does not
        tile.set_value(str(72 + i % 3), t0 + i * 0.05, Quality.VALID, "mon")
        tile.refresh(t0 + i * 0.05)
    assert counter.n == live and tile.value.text() == "72"
    tile.set_alarm("high")
    alarmed = counter.n
    assert alarmed > live
    tile.set_alarm("high")  # the same alarm again: nothing to restyle
    assert counter.n == alarmed
    tile.refresh(t0 + 30)  # no value for 30 s: grey
    assert counter.n > alarmed and theme.STALE in tile.value.styleSheet()
