"""The strip says why a value is doubtful or missing, in words, from the reading's own reason.

Readings come from the real Masimo decoder fed lines written from the documented format (Rad-8
"ASCII 1", protocol-samples (d); exception bits as in OpenICE poxrad_discrete.h), into a real
VitalsStrip (pytest-qt, offscreen).
"""

from __future__ import annotations

import os
from pathlib import Path

from pytestqt.qtbot import QtBot

from console.ui.vitals.vital_tile import VitalTile
from console.ui.vitals.vitals_strip import VitalsStrip
from devices.protocols.masimo import MasimoDecoder
from devices.reading import Quality, Reading

LINE = ("03/19/16 13:37:12 SN=0000093112 SPO2={spo2} BPM={bpm} PI=00.80% SPCO=--.-% "
        "SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC={exc}\r\n")


def masimo(t: float, exc: str, spo2: str = "097%", bpm: str = "064") -> list[Reading]:
    out = MasimoDecoder("masimo:/dev/ttyUSB0").feed(
        LINE.format(exc=exc, spo2=spo2, bpm=bpm).encode("ascii"), t)
    return [s for s in out if isinstance(s, Reading)]


def shown_strip(qtbot: QtBot) -> VitalsStrip:
    strip = VitalsStrip()
    qtbot.addWidget(strip)
    strip.resize(1600, 420)
    strip.show()
    qtbot.waitExposed(strip)
    return strip


def test_questionable_value_says_why(qtbot: QtBot) -> None:
    """EXC 000004 (low perfusion): the number stays, marked ?, with the reason under it."""
    strip = shown_strip(qtbot)
    strip.add_samples(masimo(1000.0, "000004"))
    strip.refresh(1000.5)
    assert strip.spo2.value.text() == "97?"
    assert strip.spo2.detail.text() == "questionable: low perfusion"
    assert strip.hr.value.text() == "64?" and "low perfusion" in strip.hr.detail.text()


def test_invalid_value_says_why_instead_of_a_number(qtbot: QtBot) -> None:
    """EXC 040000 (sensor life expired): no number, and the room is told what to do."""
    strip = shown_strip(qtbot)
    strip.add_samples(masimo(1000.0, "040000"))
    strip.refresh(1002.0)
    assert strip.spo2.value.text() == "---"
    assert strip.spo2.detail_text == "no valid value: sensor life expired · 2 s ago"


def test_valid_value_has_no_reason_line_and_a_new_value_clears_it(qtbot: QtBot) -> None:
    strip = shown_strip(qtbot)
    strip.add_samples(masimo(1000.0, "001000", spo2="---%", bpm="---"))  # no cable
    strip.refresh(1000.2)
    assert "no valid value: no cable" in strip.spo2.detail_text
    strip.add_samples(masimo(1001.0, "000800"))  # SET only: valid
    strip.refresh(1001.2)
    assert strip.spo2.value.text() == "97" and strip.spo2.detail_text == ""


def test_a_long_reason_never_widens_the_tile(qtbot: QtBot) -> None:
    """Many exception bits at once: the line is shortened with … and the age stays visible."""
    tile = VitalTile("SpO2", "%", "#00e5ff", 5.0)
    qtbot.addWidget(tile)
    tile.resize(260, 150)
    tile.show()
    qtbot.waitExposed(tile)
    why = ("monitor: no sensor, sensor defective, searching for pulse, sensor off patient, "
           "cable defective")
    tile.set_value(None, 1000.0, Quality.INVALID, "masimo:x", reason=why)
    tile.refresh(1003.0)
    assert tile.width() <= 260
    assert "…" in tile.detail.text() and tile.detail.text().endswith("3 s ago")
    assert tile.detail.toolTip() == tile.detail_text and "cable defective" in tile.detail_text


def test_screenshot_of_reasons(qtbot: QtBot, tmp_path: Path) -> None:
    """A picture to look at: questionable SpO2 (low perfusion), PR valid, for review."""
    strip = shown_strip(qtbot)
    strip.add_samples(masimo(1000.0, "000414"))
    strip.refresh(1000.5)
    out = Path(os.environ.get("HOLDSPACE_SHOTS", tmp_path)) / "vitals_reason.png"
    assert strip.grab().save(str(out))


def test_the_nibp_tile_shows_one_measurement_whole(qtbot: QtBot) -> None:
    """A cuff value typed by hand and a monitor's cuff value in the same second: the tile
    shows one of them whole (sys, dia and mean of one source), never a mix of the two."""
    from devices import mdc

    strip = shown_strip(qtbot)
    sys_, dia, mean = (mdc.MDC_PRESS_BLD_NONINV_SYS, mdc.MDC_PRESS_BLD_NONINV_DIA,
                       mdc.MDC_PRESS_BLD_NONINV_MEAN)
    mmhg = mdc.MDC_DIM_MMHG
    typed = [Reading(1000.0, "manual", sys_, 210, mmhg, Quality.MANUAL),
             Reading(1000.0, "manual", dia, 125, mmhg, Quality.MANUAL),
             Reading(1000.0, "manual", mean, 153, mmhg, Quality.MANUAL)]
    monitor = [Reading(1000.4, "MON", sys_, 188, mmhg), Reading(1000.4, "MON", dia, 112, mmhg)]
    strip.add_samples(typed + monitor)
    strip.refresh(1000.5)
    assert strip.nibp.value.text() == "188/112"
    assert "mean 153" not in strip.nibp.detail.text(), "the typed mean is not the monitor's"
    later = [Reading(1001.0, r.source, r.code, r.value, r.unit, r.quality) for r in typed]
    strip.add_samples(later)  # typed again, later: now the newest whole measurement
    strip.refresh(1001.5)
    assert strip.nibp.value.text() == "210/125" and "mean 153" in strip.nibp.detail.text()
