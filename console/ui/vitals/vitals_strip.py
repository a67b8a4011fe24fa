"""The vitals strip: big current values, link states, the pleth wave and the session trend.

Fed in batches by LiveFeed. When two devices send the same parameter, only the source chosen
for display (`shown_source`) drives the tile; both are stored regardless. When the display
moves to another source, the strip says so in a line under the link states ("HR now from
Philips IntelliVue (Holdspace simulator stopped)"). A stopped monitor's values turn grey at
once. The trend and the pleth belong to the open session: `new_session` empties them.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from console.core.vitals.shown_history import ShownHistory
from console.core.vitals_table import NIBP_MEAN, VITALS, shown_codes, vital_of
from console.store.history import SessionHistory
from console.ui import theme
from console.ui.vitals.pleth_view import PlethView
from console.ui.vitals.trend_chart import TrendChart
from console.ui.vitals.vital_tile import VitalTile
from devices import mdc
from devices.link import LinkState, LinkStatus
from devices.reading import Quality, Reading, Sample, WaveChunk

CONTINUOUS_STALE_S = 5.0
DISPLAYABLE = [int(q) for q in Quality if q.displayable]  # qualities shown as a number
SWITCH_NOTE_S = 10 * 60.0  # how long a change of source stays announced on the strip

LINK_COLOURS = {
    LinkState.LIVE: theme.OK,
    LinkState.CONNECTING: theme.TEXT_DIM,
    LinkState.NO_DATA: theme.ALARM_MEDIUM,
    LinkState.LOST: theme.ALARM_MEDIUM,
    LinkState.STOPPED: theme.TEXT_DIM,
}


def _fmt(v: float) -> str:
    return f"{v:.0f}"


class VitalsStrip(QWidget):
    def __init__(self, shown_source: Callable[[int], str | None] | None = None,
                 stale_after: Callable[[str], float] | None = None,
                 parent: QWidget | None = None, history: ShownHistory | None = None) -> None:
        super().__init__(parent)
        self.shown_source = shown_source or (lambda code: None)
        self.stale_after = stale_after or (lambda source: CONTINUOUS_STALE_S)
        # One tile per tile key of the vital-sign table, in its order; NIBP shows sys/dia.
        self.tile_of: dict[str, VitalTile] = {}
        self.tiles: dict[int, VitalTile] = {}
        for v in VITALS:
            tile = self.tile_of.get(v.tile)
            if tile is None:
                tile = VitalTile(v.tile_title, v.unit, v.colour, v.stale_s)
                tile.setVisible(v.always_shown)
                self.tile_of[v.tile] = tile
            self.tiles.update(dict.fromkeys(v.codes, tile))
        self.tiles[NIBP_MEAN] = self.tile_of["nibp"]
        self._now: float | None = None  # the time of the last repaint
        self.hr, self.spo2 = self.tile_of["hr"], self.tile_of["spo2"]
        self.nibp, self.rr = self.tile_of["nibp"], self.tile_of["rr"]
        # The newest cuff values per source (sys, dia, mean by code): one measurement is shown
        # whole, never a monitor's sys/dia with a hand-typed mean (or the other way round).
        self._nibp: dict[str, dict[int, Reading]] = {}
        self._nibp_order: dict[str, int] = {}  # source -> when it last had a value (a count)
        self._nibp_heard = 0
        self._ecg_hr_t: float | None = None
        self.links: dict[str, LinkStatus] = {}
        self.link_label = QLabel("No monitor connected")
        self.link_label.setWordWrap(True)
        self.source_note = QLabel("")
        self.source_note.setObjectName("source_note")
        self.source_note.setWordWrap(True)
        self.source_note.setTextFormat(Qt.TextFormat.PlainText)
        self.source_note.setStyleSheet(f"color: {theme.WARN}; font-size: 15px;")
        self.source_note.hide()
        self._switch_notes: list[tuple[float, str]] = []
        self.pleth = PlethView()
        self.trend = TrendChart(history=history)

        tiles = QHBoxLayout()
        for key, w in self.tile_of.items():
            tiles.addWidget(w, 3 if key == "nibp" else 2)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(tiles)
        lay.addWidget(self.link_label)
        lay.addWidget(self.source_note)
        lay.addWidget(self.pleth)
        lay.addWidget(self.trend, 1)
        self._render_links()

    def set_alarm(self, code: int, priority: str | None) -> None:
        tile = self.tiles.get(mdc.canonical(code))
        if tile is not None:
            tile.set_alarm(priority)

    def add_samples(self, samples: Sequence[Sample]) -> None:
        readings: list[Reading] = []
        waves: list[WaveChunk] = []
        for s in samples:
            if isinstance(s, WaveChunk):
                if s.code == mdc.MDC_PULS_OXIM_PLETH and self._shown(s.code, s.source):
                    waves.append(s)
            elif self._shown(s.code, s.source) or s.quality == Quality.MANUAL:
                readings.append(s)
        for r in readings:
            self._show(r)
        self.trend.add_readings(readings)
        self.pleth.add_chunks(waves)

    def _shown(self, code: int, source: str) -> bool:
        chosen = self.shown_source(code)
        return chosen is None or chosen == source

    def _show(self, r: Reading) -> None:
        v = vital_of(r.code)
        if v is None and mdc.canonical(r.code) != NIBP_MEAN:
            return
        if v is None or v.tile == "nibp":
            self._nibp.setdefault(r.source, {})[mdc.canonical(r.code)] = r
            self._nibp_heard += 1
            self._nibp_order[r.source] = self._nibp_heard
            self._show_nibp()
            return
        ok = r.quality.displayable and r.value == r.value  # NaN check
        text = f"{r.value:.{v.decimals}f}" if ok else None
        tile = self.tile_of[v.tile]
        if v.key == "hr" and r.code != v.code:
            # Pulse rate stands in only when no ECG heart rate is current.
            if self._ecg_hr_t is not None and r.t - self._ecg_hr_t <= CONTINUOUS_STALE_S:
                return
            tile.title.setText("PR (SpO2)" if r.code == mdc.MDC_PULS_OXIM_PULS_RATE else "PR")
        elif v.key == "hr":
            self._ecg_hr_t = r.t
            tile.title.setText(v.tile_title)
        tile.show()
        # Continuous values age by their source's pace; a spot check by its own stale time.
        stale = self.stale_after(r.source) if v.continuous else None
        tile.set_value(text, r.t, r.quality, r.source, stale_after=stale, reason=r.reason)

    def _show_nibp(self) -> None:
        """The newest whole measurement: sys and dia (and mean) of one source, taken together;
        between two sources at the same time, the one heard last (as the alarm rules)."""
        pairs = [(s.t, self._nibp_order[src], vals) for src, vals in self._nibp.items()
                 if (s := vals.get(mdc.MDC_PRESS_BLD_NONINV_SYS)) is not None
                 and (d := vals.get(mdc.MDC_PRESS_BLD_NONINV_DIA)) is not None
                 and abs(s.t - d.t) <= 5]
        if not pairs:
            return  # wait for the matching pair of one cuff measurement
        vals = max(pairs, key=lambda p: (p[0], p[1]))[2]
        s, d = vals[mdc.MDC_PRESS_BLD_NONINV_SYS], vals[mdc.MDC_PRESS_BLD_NONINV_DIA]
        m = vals.get(mdc.MDC_PRESS_BLD_NONINV_MEAN)
        valid = all(x.quality.displayable and x.value == x.value for x in (s, d))
        text = f"{_fmt(s.value)}/{_fmt(d.value)}" if valid else None
        mean = None
        if valid and m is not None and abs(m.t - s.t) <= 5 and m.value == m.value:
            mean = f"mean {_fmt(m.value)}"
        why = next((x.reason for x in (s, d) if x.reason), None)
        self.nibp.set_value(text, s.t, s.quality, s.source, extra=mean, reason=why)

    def show_history(self, history: SessionHistory) -> None:
        """A resumed session's stored readings on the trend, every source of it: what a
        monitor sent under another name (moved to another port) is this patient's too."""
        for code in shown_codes():
            s = history.series(code)
            if len(s):
                value = np.where(np.isin(s.quality, DISPLAYABLE), s.value, np.nan)
                self.trend.add_history(code, s.t, value)

    def source_switched(self, texts: list[str], readings: list[Reading], t: float) -> None:
        """The display moved to another source: say so, and show its newest values now."""
        for r in readings:
            self._show(r)
        self._switch_notes = [n for n in self._switch_notes if t - n[0] < SWITCH_NOTE_S]
        self._switch_notes += [(t, text) for text in texts]
        self._switch_notes = self._switch_notes[-3:]
        self._render_switches(t)

    def _render_switches(self, now: float) -> None:
        notes = [(t, x) for t, x in self._switch_notes if now - t < SWITCH_NOTE_S]
        self.source_note.setText("   ·   ".join(
            f"{time.strftime('%H:%M', time.localtime(t))} {x}" for t, x in notes))
        self.source_note.setVisible(bool(notes))

    def new_session(self, since: float | None = None) -> None:
        """Another session (or none): nothing of the previous patient stays on the strip;
        the trend and the pleth draw nothing from before `since`."""
        self.trend.reset(since)
        self.pleth.reset(since)
        self._switch_notes = []
        self.source_note.clear()
        self.source_note.hide()

    def set_link_status(self, st: LinkStatus) -> None:
        if st.state == LinkState.STOPPED:  # stopped on purpose (removed): values old at once
            self.forget_link(st.source)
            return
        self.links[st.source] = st
        if st.state in (LinkState.LOST, LinkState.NO_DATA):
            # A lost link is known at once: its continuous values are not current any more,
            # even before they are a few seconds old. A cuff BP keeps its own age.
            why = "link lost" if st.state == LinkState.LOST else "no data"
            now = max(self._now or st.since, st.since)
            for v in VITALS:
                if v.continuous:
                    tile = self.tile_of[v.tile]
                    tile.source_stopped(st.source, why)
                    tile.refresh(now)  # grey, why and how old: all at once
        self._render_links()

    def forget_link(self, source: str) -> None:
        """A monitor removed from the room: its link line goes, its values turn grey."""
        for tile in self.tile_of.values():
            tile.source_stopped(source)
        if self.links.pop(source, None) is not None:
            self._render_links()

    def _render_links(self) -> None:
        if not self.links:
            self.link_label.setText(f"<span style='color:{theme.TEXT_DIM}'>No monitor connected — "
                                    "Devices ▸ Monitors… (Ctrl+D)</span>")
            return
        parts = []
        for st in self.links.values():
            c = LINK_COLOURS.get(st.state, theme.TEXT_DIM)
            # Messages may quote what a device sent (a gateway's bed names): plain text here.
            msg = "" if st.state == LinkState.LIVE else f" — {html.escape(st.message, quote=False)}"
            parts.append(f"<span style='color:{c}'>●</span> {html.escape(st.source, quote=False)}: "
                         f"<b style='color:{c}'>{st.state}</b>{msg}")
        self.link_label.setText("&nbsp;&nbsp;&nbsp;".join(parts))

    def refresh(self, now: float) -> None:
        """Repaint ages and staleness (called at 1 Hz and after each batch)."""
        self._now = now
        for tile in self.tile_of.values():
            tile.refresh(now)
        self.trend.set_now(now)
        self.pleth.blank_if_stale(now)
        if self._switch_notes:
            self._render_switches(now)
