"""Data from the acquisition hub, handed to widgets in batches at display rate.

A QTimer on the GUI thread drains the hub about 20 times a second and emits one `samples`
signal per tick with everything that arrived (never one signal per sample). A change of the
source shown for a parameter comes first (`switched`), so everything painted from that batch
on already follows the new source. A 1 Hz `second` tick carries the clock's time so timers
repaint from stored absolute times; the same tick runs the hub's watchdog, whose findings
(a link thread restarted, a frame a decoder failed on) go out as `problem`.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QThread, QTimer, Signal

from console.core.acquisition import AcquisitionHub
from console.core.clock import Clock

DISPLAY_HZ = 20


class LiveFeed(QObject):
    samples = Signal(list)  # list[Reading | WaveChunk]
    link_status = Signal(object)  # LinkStatus
    switched = Signal(list)  # list[SourceSwitch]: a parameter is now shown from another source
    second = Signal(float)  # clock.now()
    problem = Signal(str)  # a link restarted or a decoder fault, in words for the room

    def __init__(self, hub: AcquisitionHub, clock: Clock, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.hub = hub
        self.clock = clock
        self._drain_timer = QTimer(self)
        self._drain_timer.setInterval(1000 // DISPLAY_HZ)
        self._drain_timer.timeout.connect(self.drain)
        self._second_timer = QTimer(self)
        self._second_timer.setInterval(1000)
        self._second_timer.timeout.connect(self._second)
        hub.manual_added.connect(self._manual)

    def _manual(self, _readings: object) -> None:
        """Values typed by hand are shown at once (typed on the GUI thread); from any other
        thread they wait for the next tick."""
        if QThread.currentThread() is self.thread():
            self.drain()

    def start(self) -> None:
        self._drain_timer.start()
        self._second_timer.start()

    def stop(self) -> None:
        self._drain_timer.stop()
        self._second_timer.stop()

    def _second(self) -> None:
        for line in self.hub.watchdog():  # a dead link thread restarted, a decoder fault
            self.problem.emit(line)
        self.second.emit(self.clock.now())

    def drain(self) -> None:
        d = self.hub.drain()
        for st in d.statuses:
            self.link_status.emit(st)
        if d.switches:
            self.switched.emit(d.switches)
        if d.samples:
            self.samples.emit(d.samples)
