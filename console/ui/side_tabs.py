"""The right-hand tabs. Each page scrolls, so no feature's form can make the window taller
than a room screen; callers still address their own widget (not its scroll area)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QTabWidget, QWidget


def scrolling(w: QWidget, min_height: int, sideways: bool = False) -> QScrollArea:
    """Wrap a panel in a frameless scrolling area (sideways too where a row may be narrow:
    a scroll bar is better than a control cut off out of sight)."""
    scroll = QScrollArea()
    scroll.setWidget(w)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(
        Qt.ScrollBarPolicy.ScrollBarAsNeeded if sideways else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    )
    scroll.setMinimumHeight(min_height)
    return scroll


class SideTabs(QTabWidget):
    PAGE_MIN_HEIGHT = 200

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scroll_of: dict[QWidget, QScrollArea] = {}

    def add_page(self, w: QWidget, title: str) -> int:
        scroll = scrolling(w, self.PAGE_MIN_HEIGHT, sideways=True)
        self._scroll_of[w] = scroll
        return super().addTab(scroll, title)

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
