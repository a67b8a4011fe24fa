"""The right-hand tabs and the panels under each column. Pages scroll up and down only (their
texts wrap), so no feature's form can make the window taller than a room screen or push a
control out of sight to the side; callers still address their own widget (not its scroll
area)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QSize, Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QScrollArea,
    QSizePolicy,
    QStyle,
    QTabWidget,
    QWidget,
)

COMBO_MIN_CHARS = 10  # a choice box shows at least this much; longer items are cut


def narrow_choice_boxes(w: QWidget) -> None:
    """A choice box is as wide as its longest item by default ("3 — responds only to loud
    or repeated name"), which would force a page wider than a room screen: size them by a
    few characters instead (the open list still shows whole items)."""
    for box in w.findChildren(QComboBox):
        box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        box.setMinimumContentsLength(COMBO_MIN_CHARS)
        box.setMinimumWidth(140)  # a placeholder text must not widen it either


def reveal(w: QWidget) -> None:
    """Scroll the page `w` is on (if it scrolls) so that `w` is in view, now and once the
    layout has settled: what a form says at its top (a refusal, a question) or the form a key
    opened must not stay out of sight while the clinician looks at the field they used."""
    area = w.parentWidget()
    while area is not None and not isinstance(area, QScrollArea):
        area = area.parentWidget()
    if area is None:
        return
    scroll = area

    def show() -> None:
        inner = scroll.widget()
        if not w.isVisible() or inner is None or not inner.isAncestorOf(w):
            return
        scroll.ensureWidgetVisible(w, 0, 0)
        if w.height() > scroll.viewport().height():  # its top first
            scroll.verticalScrollBar().setValue(w.mapTo(inner, QPoint(0, 0)).y())

    show()
    QTimer.singleShot(0, scroll, show)


class PageScroll(QScrollArea):
    """Scrolls its page up and down; never narrower than the page can be, so nothing is
    cut off at the side (a page too wide for the screen shows in the window's minimum
    width, which the tests check at every supported screen size)."""

    def __init__(self, w: QWidget, min_height: int = 0) -> None:
        super().__init__()
        narrow_choice_boxes(w)
        self.setWidget(w)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumHeight(min_height)
        self._min_height = min_height

    def _bar(self) -> int:
        return self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent) + 2

    def minimumSizeHint(self) -> QSize:
        w = self.widget()
        width = (w.minimumSizeHint().width() if w is not None else 0) + self._bar()
        return QSize(width, self._min_height)


class FitScroll(PageScroll):
    """A panel under a column: as tall as its content wants (so every control shows),
    scrolling up and down only when the screen is too low for it. With `flexible_width`
    it does not hold its column wide (the window hides it when there is no room)."""

    def __init__(self, w: QWidget, min_height: int = 0, flexible_width: bool = False,
                 keep_in_view: QWidget | None = None) -> None:
        super().__init__(w, min_height)
        self._flexible = flexible_width
        self._keep = keep_in_view
        # On a low screen the window sets this: the panel asks for at most this part of its
        # column's height (the rest of it scrolls), so the tabs above it keep room to write.
        self.share: float | None = None
        # never taller than its content: spare height goes to the trend and the tabs
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        w.installEventFilter(self)
        if keep_in_view is not None:
            keep_in_view.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # the panel's content changed size: so does this row
        elif (watched is getattr(self, "_keep", None)  # (set after the page's first events)
              and event.type() == QEvent.Type.EnabledChange):
            self.updateGeometry()  # its main control on or off: asks for more or less
        return super().eventFilter(watched, event)

    def sizeHint(self) -> QSize:
        w = self.widget()
        if w is None:
            return super().sizeHint()
        hint = w.sizeHint()
        h = hint.height()
        least = self.minimumSizeHint().height()
        if self._keep is not None and not self._keep.isEnabled():
            h = min(h, least)  # nothing to do with it now (no session): its first row only
        col = self.parentWidget()
        if self.share is not None and col is not None and col.height() > 0:
            h = min(h, max(least, int(col.height() * self.share)))
        return QSize(hint.width() + self._bar(), h)

    def minimumSizeHint(self) -> QSize:
        w = self.widget()
        base = super().minimumSizeHint()
        need = w.minimumSizeHint().height() if w is not None else 0
        if self._keep is not None and w is not None and w.isAncestorOf(self._keep):
            # low screen: only as tall as it takes to show this control, the rest scrolls
            layout = w.layout()
            if layout is not None:
                layout.activate()
            bottom = self._keep.mapTo(w, self._keep.rect().bottomLeft()).y()
            need = min(need, bottom + 12)
        elif self._min_height:
            need = min(need, self._min_height)
        return QSize(0 if self._flexible else base.width(), need)


def scrolling(w: QWidget, min_height: int, sideways: bool = False) -> QScrollArea:
    """Wrap a panel in a frameless area that scrolls up and down (`sideways` is kept for
    callers; nothing in the console scrolls sideways any more)."""
    scroll = PageScroll(w, min_height)
    if sideways:
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    return scroll


class SideTabs(QTabWidget):
    PAGE_MIN_HEIGHT = 160

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scroll_of: dict[QWidget, QScrollArea] = {}
        self.setUsesScrollButtons(True)  # only if a clinic adds many tabs; tests check

    def minimumSizeHint(self) -> QSize:
        """Never so narrow that the tab names need arrows to reach."""
        hint = super().minimumSizeHint()
        return QSize(max(hint.width(), self.tabBar().sizeHint().width() + 4), hint.height())

    def add_page(self, w: QWidget, title: str) -> int:
        scroll = scrolling(w, self.PAGE_MIN_HEIGHT)
        self._scroll_of[w] = scroll
        return super().addTab(scroll, title)

    def scroll_areas(self) -> list[QScrollArea]:
        return list(self._scroll_of.values())

    def _inner(self, page: QWidget) -> QWidget:
        if isinstance(page, QScrollArea) and page in self._scroll_of.values():
            return page.widget() or page
        return page

    def indexOf(self, w: QWidget) -> int:
        return super().indexOf(self._scroll_of.get(w, w))

    def setCurrentWidget(self, w: QWidget) -> None:
        super().setCurrentWidget(self._scroll_of.get(w, w))

    def currentWidget(self) -> QWidget:
        return self._inner(super().currentWidget())

    def widget(self, index: int) -> QWidget | None:
        page = super().widget(index)
        return self._inner(page) if page is not None else None

    def show_in_page(self, w: QWidget) -> None:
        """Open the tab holding `w` (the page or a widget inside it) and scroll it into view."""
        for inner, scroll in self._scroll_of.items():
            if inner is w or inner.isAncestorOf(w):
                super().setCurrentWidget(scroll)
                scroll.ensureWidgetVisible(w, 20, 20)
                return
