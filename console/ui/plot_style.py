"""Pens and brushes for pyqtgraph's symbols, made once per style and reused.

pyqtgraph renders each symbol once into an atlas keyed by the identity of its pen and brush
objects and never forgets an entry. A colour given as a string (or `symbolPen=None`) becomes
a new QBrush/QPen at every `setData`, so each redraw of a curve with symbols (NIBP on the
trend and the timeline, the timeline's marks) added atlas entries: the console grew for as
long as it ran (~1 KB an entry: ~7 MB per hour of wall time for the two NIBP curves of the
trend at its one redraw a second). The same objects, given every time, hit the atlas.
"""

from __future__ import annotations

import functools

import pyqtgraph as pg
from PySide6.QtGui import QBrush, QPen


@functools.cache
def brush(colour: str) -> QBrush:
    """The one brush of this colour."""
    return pg.mkBrush(colour)


@functools.cache
def pen(colour: str | None, width: float = 1.0) -> QPen:
    """The one pen of this colour and width (None: no outline)."""
    return pg.mkPen(None) if colour is None else pg.mkPen(colour, width=width)
