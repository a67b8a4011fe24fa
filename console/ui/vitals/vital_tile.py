"""One big number on the vitals strip: value, unit, where it came from and how old it is.

A value older than its `stale_after` is drawn grey with its age ("42 s ago"), never in the
parameter's live colour, and so is a value whose monitor was stopped (at once, not after the
stale time); an invalid reading shows dashes. A questionable or invalid value says why in the
small line under it when the monitor or the plausibility check gave a reason ("questionable:
low perfusion", "no valid value: sensor off the patient"). An alarm colours the tile's frame
and label by priority.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from console.ui import theme
from devices.reading import Quality


def reason_text(reason: str | None) -> str | None:
    """A reading's reason as the tile says it: the monitor's words without the "monitor:"
    prefix (the tile is the monitor's value), a plausibility reason as it is."""
    if not reason:
        return None
    return reason.removeprefix("monitor: ").strip() or None


def age_text(seconds: float) -> str:
    s = max(0, int(seconds))
    if s < 90:
        return f"{s} s ago"
    if s < 3600:
        return f"{s // 60} min ago"
    return f"{s // 3600} h {s % 3600 // 60:02d} min ago"


class VitalTile(QFrame):
    def __init__(self, title: str, unit: str, colour: str, stale_after: float,
                 parent: QWidget | None = None, value_px: int = theme.NUMERAL_PX) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        self.setProperty(theme.LOCK_WHOLE, True)  # the lock's form never lies over a tile
        self.colour = colour
        self.stale_after = stale_after
        self.alarm: str | None = None
        self._text: str | None = None
        self._t: float | None = None
        self._quality = Quality.VALID
        self._source = ""
        self._extra: str | None = None
        self._reason: str | None = None
        self._stale_after = stale_after
        self._stopped = False  # the source of the value shown was removed, or its link lost
        self._stopped_why = "monitor stopped"

        self.title = QLabel(title)
        self.unit = QLabel(unit)
        self.value = QLabel("---")
        self._value_px = value_px
        self._style_key: tuple[object, ...] | None = None  # what the style sheets now show
        self._shown: tuple[object, ...] | None = None  # what `refresh` last put on the labels
        self._fit_for: tuple[str, int, int] | None = None  # (text, width) `_fit` was measured for
        self._fit = value_px
        self.value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.detail = QLabel("")
        self.detail.setAlignment(Qt.AlignmentFlag.AlignRight)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.unit)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 8, 12, 8)
        lay.setSpacing(0)
        lay.addLayout(top)
        lay.addWidget(self.value)
        lay.addWidget(self.detail)
        self._restyle(stale=True)
        self._hold_numeral_height()

    @property
    def value_px(self) -> int:
        return self._value_px

    @value_px.setter
    def value_px(self, px: int) -> None:
        self._value_px = px
        self._hold_numeral_height()

    def _hold_numeral_height(self) -> None:
        """The numerals' line is the tile's floor: however many banners are shown, the
        layout takes height from the trend and the banners that fold, never from this."""
        from PySide6.QtGui import QFont, QFontMetrics

        f = QFont(self.value.font())
        f.setPixelSize(max(self._value_px, theme.NUMERAL_MIN_PX))
        f.setBold(True)
        self.value.setMinimumHeight(QFontMetrics(f).height())

    def set_value(self, text: str | None, t: float | None, quality: Quality, source: str,
                  extra: str | None = None, stale_after: float | None = None,
                  reason: str | None = None) -> None:
        """`text` None means the device sent 'no value' (probe off, invalid).

        `stale_after` overrides the tile's default for a source that reports slowly; `reason`
        is the reading's own (devices.reading.Reading.reason), shown for a doubtful value.
        """
        self._text, self._t, self._quality, self._source = text, t, quality, source
        self._extra = extra
        self._reason = reason
        self._stale_after = max(stale_after or 0.0, self.stale_after)
        self._stopped = False

    @property
    def source(self) -> str:
        return self._source

    def source_stopped(self, source: str, why: str = "monitor stopped") -> None:
        """The monitor this value came from was removed (or its link is lost): old at once,
        whatever its age, until the next value from it."""
        if self._source == source and self._t is not None and not self._stopped:
            self._stopped = True
            self._stopped_why = why
            self._restyle(stale=True)

    def set_alarm(self, priority: str | None) -> None:
        self.alarm = priority
        self._restyle(stale=self.is_stale(None))

    def is_stale(self, now: float | None) -> bool:
        if self._t is None or self._text is None or self._stopped:
            return True
        return now is not None and now - self._t > self._stale_after

    def refresh(self, now: float) -> None:
        """Repaint for `now`: value, its age, staleness; labels are touched only when what
        they show changes (a calm tile is refreshed at every batch: nothing to do then)."""
        stale = self.is_stale(now)
        why = reason_text(self._reason)
        if self._t is None:
            text, head, tail = "---", "no data yet", ""
        elif self._text is None:
            text = "---"
            head, tail = (f"no valid value: {why}" if why else "no valid value",
                          age_text(now - self._t))
        else:
            mark = "?" if self._quality == Quality.QUESTIONABLE else ""
            text = self._text + mark
            parts = [self._extra] if self._extra else []
            if self._quality == Quality.MANUAL:
                parts.append("manual")
            elif self._quality == Quality.QUESTIONABLE:
                parts.append(f"questionable: {why}" if why else "questionable")
            elif self._quality == Quality.DEMO:
                parts.append("DEMO DATA")
            tails = []
            if self._stopped:
                tails.append(self._stopped_why)
            if stale or self._stale_after > 60:
                tails.append(age_text(now - self._t))
            head, tail = " · ".join(parts), " · ".join(tails)
        shown = (text, head, tail, stale, self.isVisible(), self.width())
        if shown == self._shown:
            self._restyle(stale)  # (an alarm or a resize may have styled it for another state)
            return
        self._shown = shown
        self.value.setText(text)
        self._set_detail(head, tail)
        self._restyle(stale)

    def _set_detail(self, head: str, tail: str = "") -> None:
        """The small line: `head` (what and why) cut with … to the tile's width so that a long
        reason never widens the tile, `tail` (stopped, age) always whole; all of it in the
        tooltip. A tile not yet laid out on screen keeps the whole text."""
        full = " · ".join(x for x in (head, tail) if x)
        self._detail_full = full
        self._detail_parts = (head, tail)
        shown = full
        if self.isVisible() and head:
            metrics = self.detail.fontMetrics()
            room = max(40, self.width() - 28)
            if tail:
                room -= metrics.horizontalAdvance(" · " + tail)
            cut = metrics.elidedText(head, Qt.TextElideMode.ElideRight, max(20, room))
            shown = " · ".join(x for x in (cut, tail) if x)
        self.detail.setText(shown)
        self.detail.setToolTip(full if shown != full else "")

    @property
    def detail_text(self) -> str:
        """The small line in full, as it would read if the tile were wide enough."""
        return getattr(self, "_detail_full", self.detail.text())

    def _fit_px(self) -> int:
        """The numeral size that fits the tile's width (large by default, smaller if cramped)."""
        from PySide6.QtGui import QFont, QFontMetrics

        key = (self.value.text(), self.width(), self.value_px)
        if key == self._fit_for:
            return self._fit
        f = QFont(self.value.font())
        f.setPixelSize(self.value_px)
        f.setBold(True)
        needed = QFontMetrics(f).horizontalAdvance(self.value.text() or "---") + 8
        avail = max(40, self.width() - 28)
        self._fit_for, self._fit = key, max(28, min(self.value_px, int(self.value_px * avail / needed)))
        return self._fit

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._restyle(self.is_stale(None))
        if hasattr(self, "_detail_parts"):
            self._set_detail(*self._detail_parts)

    def _restyle(self, stale: bool) -> None:
        """Style sheets only when what they show changes: re-applying one costs ~2 ms per
        tile, which at 20 batches a second was a fifth of a core while the room was calm."""
        # (room mode: the window's veil dims the whole tile, unless it is alarming)
        key = (stale, self.alarm, self.colour, self._fit_px())
        if key == self._style_key:
            return
        self._style_key = key
        colour = theme.STALE if stale else self.colour
        edge = theme.PRIORITY_COLOURS.get(self.alarm or "", theme.PANEL_EDGE)
        width = 3 if self.alarm else 1
        bg = theme.dim(edge, 0.22) if self.alarm else theme.PANEL
        self.setStyleSheet(
            f"QFrame#panel {{ background: {bg}; border: {width}px solid {edge}; border-radius: 6px; }}"
        )
        self.value.setStyleSheet(
            f"color: {colour}; font-size: {self._fit_px()}px; font-weight: bold;"
        )
        label_colour = edge if self.alarm else theme.dim(self.colour, 0.8)
        self.title.setStyleSheet(f"color: {label_colour}; font-size: 18px; font-weight: bold;")
        self.unit.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 14px;")
        self.detail.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 15px;")
