"""Where readings from every monitor meet: storage, latest values, and a buffer for display.

Link threads call `samples()`/`status()`; those go straight to the writer queue (so storage
never depends on the GUI keeping up) and into a bounded buffer that the GUI drains at
display rate with `drain()`. When two devices send the same parameter both are stored; the
one shown is chosen by `preferred` (else the first one heard).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from console.store.events import Event
from console.store.writer import StoreWriter
from devices.link import LinkState, LinkStatus, SerialLink
from devices.protocol import Driver
from devices.reading import Reading, Sample

DISPLAY_BUFFER = 200_000


@dataclass
class Drained:
    samples: list[Sample] = field(default_factory=list)
    statuses: list[LinkStatus] = field(default_factory=list)


class AcquisitionHub:
    def __init__(self, writer: StoreWriter | None, now: Callable[[], float]) -> None:
        self.writer = writer
        self.now = now
        self.links: dict[str, SerialLink] = {}
        self.session_id: int | None = None
        self.preferred: dict[int, str] = {}
        self._lock = threading.Lock()
        self._latest: dict[tuple[int, str], Reading] = {}
        self._first_source: dict[int, str] = {}
        self._buffer: deque[Sample] = deque(maxlen=DISPLAY_BUFFER)
        self._statuses: list[LinkStatus] = []

    # ----- devices -----
    def add_device(self, driver: Driver, port: str, source: str | None = None,
                   capture: BinaryIO | None = None) -> SerialLink:
        link = SerialLink(port, driver, self, source=source, capture=capture, now=self.now)
        if link.source in self.links:
            raise ValueError(f"{link.source} is already connected")
        self.links[link.source] = link
        link.start()
        return link

    def remove_device(self, source: str, reason: str = "removed in the monitors dialog") -> None:
        """Stop a link on purpose; during a session the record says why its data stops."""
        link = self.links.pop(source, None)
        if link is not None:
            self._stop_link(link)
            sid = self.session_id
            if sid is not None and self.writer is not None:
                self.writer.append_event(Event(
                    "link.stopped", self.now(),
                    {"source": source, "reason": reason,
                     "summary": f"{source}: stopped — {reason}"},
                    session_id=sid,
                ))

    def stop(self) -> None:
        for link in list(self.links.values()):
            self._stop_link(link)
        self.links.clear()

    @staticmethod
    def _stop_link(link: SerialLink) -> None:
        """Stop reading, then close the link's capture file (the hub owns captures given to it)."""
        capture = link.capture
        link.stop()
        if capture is not None:
            capture.close()

    def watchdog(self) -> list[str]:
        """Call about once a second: restarts any link whose reader thread died (it is logged
        and reported LOST through `status`); returns one line per restart for the room."""
        return [msg for link in list(self.links.values()) if (msg := link.check()) is not None]

    def statuses(self) -> dict[str, LinkStatus]:
        return {s: link.status for s, link in self.links.items()}

    # ----- LinkSink, called on link threads -----
    def samples(self, source: str, samples: list[Sample]) -> None:
        sid = self.session_id
        if sid is not None and self.writer is not None:
            self.writer.add_samples(sid, samples)
        with self._lock:
            for s in samples:
                if isinstance(s, Reading):
                    self._latest[(s.code, source)] = s
                    self._first_source.setdefault(s.code, source)
            self._buffer.extend(samples)

    def status(self, status: LinkStatus) -> None:
        with self._lock:
            self._statuses.append(status)
        sid = self.session_id
        if sid is not None and self.writer is not None and status.state in (
            LinkState.LIVE, LinkState.LOST, LinkState.NO_DATA
        ):
            self.writer.append_event(
                Event(
                    "link.state",
                    status.since,
                    {"source": status.source, "state": str(status.state),
                     "message": status.message,
                     "summary": f"{status.source}: {status.state} — {status.message}"},
                    session_id=sid,
                )
            )

    # ----- for the GUI thread / recorder -----
    def drain(self) -> Drained:
        with self._lock:
            out = Drained(list(self._buffer), self._statuses)
            self._buffer.clear()
            self._statuses = []
        return out

    def stale_after(self, source: str) -> float:
        """Seconds after which a value from `source` is old: a few of its update periods."""
        link = self.links.get(source)
        interval = link.driver.update_interval if link is not None else 1.0
        return max(5.0, 2.5 * interval)

    def shown_source(self, code: int) -> str | None:
        return self.preferred.get(code) or self._first_source.get(code)

    def latest(self, code: int) -> Reading | None:
        """The newest reading of `code` from the source chosen for display."""
        with self._lock:
            src = self.preferred.get(code) or self._first_source.get(code)
            return self._latest.get((code, src)) if src else None


    def shared_codes(self) -> dict[int, list[str]]:
        """Parameters heard from two or more devices: where someone chooses which is shown."""
        by_code: dict[int, set[str]] = {}
        with self._lock:
            for c, s in self._latest:
                by_code.setdefault(c, set()).add(s)
        return {c: sorted(ss) for c, ss in sorted(by_code.items()) if len(ss) > 1}
