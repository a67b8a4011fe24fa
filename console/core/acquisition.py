"""Where readings from every monitor meet: storage, latest values, and a buffer for display.

Link threads call `samples()`/`status()`; those go straight to the writer queue (so storage
never depends on the GUI keeping up) and into a bounded buffer that the GUI drains at
display rate with `drain()`. Values typed by hand (`manual`, source "manual") enter the same
way, so strip, trend, alarms, checks and store all hear them as they hear a monitor. When two
devices send the same parameter both are stored; the one shown (and alarmed on) comes from a
live source:
- a clinician's explicit `preferred` source wins while it sends a current value;
- otherwise the source shown so far stays while its value is current (no flapping);
- when the shown source is removed, goes silent or sends no valid value, and another source
  has a current value, the display switches to it. Each switch is handed to the GUI with the
  drained batch, to be announced on the strip and, during a session, recorded as an event.
A removed or silent source's last value stays shown only when nothing else is current; the
tile then greys it with its age.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import BinaryIO

from console.core.observers import Observers
from console.store.events import Event
from console.store.writer import StoreWriter
from devices import mdc
from devices.link import Link, LinkState, LinkStatus, SerialLink
from devices.mllp_listener import TITLE as LISTENER_TITLE
from devices.mllp_listener import Hl7Listener, is_listen_url
from devices.plausibility import DEFAULT_LIMITS, Limits
from devices.protocol import Driver
from devices.reading import Reading, Sample

DISPLAY_BUFFER = 200_000
NIBP_CODES = (mdc.MDC_PRESS_BLD_NONINV_SYS, mdc.MDC_PRESS_BLD_NONINV_DIA,
              mdc.MDC_PRESS_BLD_NONINV_MEAN)
NIBP_CURRENT_S = 15 * 60.0  # a cuff reading is the current one this long (its cycle)
# Shown together: one cuff measurement is never split between two monitors, and the pleth
# wave comes from the oximeter whose SpO2 is shown.
LEADER = {mdc.MDC_PRESS_BLD_NONINV_DIA: mdc.MDC_PRESS_BLD_NONINV_SYS,
          mdc.MDC_PRESS_BLD_NONINV_MEAN: mdc.MDC_PRESS_BLD_NONINV_SYS,
          mdc.MDC_PULS_OXIM_PLETH: mdc.MDC_PULS_OXIM_SAT_O2}
SHOWN_ORDER = (mdc.MDC_ECG_HEART_RATE, mdc.MDC_PULS_OXIM_PULS_RATE, mdc.MDC_PULS_OXIM_SAT_O2,
               mdc.MDC_PRESS_BLD_NONINV_SYS, mdc.MDC_RESP_RATE)
SHORT_LABEL = {mdc.MDC_PRESS_BLD_NONINV_SYS: "NIBP", mdc.MDC_PULS_OXIM_PULS_RATE: "Pulse rate"}
_CLASS_NAME = re.compile(r"\s*\((?:[A-Za-z_][\w.]*)?(?:Exception|Error)\b[^)]*\)")
_ERRNO = re.compile(r"\[Errno -?\d+\]\s*")


def staff_words(message: str) -> str:
    """A link message without Python's words ("(SerialException)", "[Errno 5]"): staff read
    these on the strip, in alarms and in the record."""
    text = _ERRNO.sub("", _CLASS_NAME.sub("", message))
    text = re.sub(r"\b[A-Z]\w*(?:Exception|Error): |\b[a-z_]\w*\.error: ", "", text)
    text = re.sub(r"\(-?\d+, '([^']*)'\)", r"\1", text)  # OSError args: (22, 'Invalid …')
    return re.sub(r"\s{2,}", " ", text).strip()


@dataclass(frozen=True, slots=True)
class SourceSwitch:
    """The display of one parameter moved to another source."""

    code: int  # the leading code (NIBP sys for the cuff group)
    old: str | None
    new: str
    reason: str  # why, in words: "Holdspace simulator stopped"
    t: float
    readings: tuple[Reading, ...]  # the new source's newest values for the group, to show now

    @property
    def label(self) -> str:
        return SHORT_LABEL.get(self.code) or mdc.label(self.code)


def grouped(switches: list[SourceSwitch]) -> list[list[SourceSwitch]]:
    """Switches to the same source for the same reason, to be told in one line."""
    order = {c: i for i, c in enumerate(SHOWN_ORDER)}
    groups: dict[tuple[str | None, str, str], list[SourceSwitch]] = {}
    for sw in sorted(switches, key=lambda x: order.get(x.code, len(order))):
        groups.setdefault((sw.old, sw.new, sw.reason), []).append(sw)
    return list(groups.values())


@dataclass
class Drained:
    samples: list[Sample] = field(default_factory=list)
    statuses: list[LinkStatus] = field(default_factory=list)
    switches: list[SourceSwitch] = field(default_factory=list)


class AcquisitionHub:
    def __init__(self, writer: StoreWriter | None, now: Callable[[], float]) -> None:
        self.writer = writer
        self.now = now
        self.links: dict[str, Link] = {}
        self.session_id: int | None = None
        self.preferred: dict[int, str] = {}
        self._lock = threading.Lock()
        self._latest: dict[tuple[int, str], Reading] = {}
        self._shown: dict[int, str] = {}  # leading code -> source shown (announced) so far
        self._heard: dict[str, float] = {}  # source -> time of its newest sample
        self._titles: dict[str, str] = {}  # source -> the monitor's name for staff
        self._faults_told: dict[str, int] = {}  # source -> decoder faults already reported
        # Plausible ranges per parameter for every link (the clinic's, else the defaults).
        self.limits: Mapping[int, Limits] = DEFAULT_LIMITS
        self._buffer: deque[Sample] = deque(maxlen=DISPLAY_BUFFER)
        self._statuses: list[LinkStatus] = []
        # Told on the caller's thread when values typed by hand are waiting, so the display
        # can take them at once rather than at its next tick.
        self.manual_added: Observers[list[Reading]] = Observers()
        # Called on a link thread when something arrived for the display (set by the GUI's
        # feed so a number is drained at once, not at the next poll); never under the lock.
        self.on_new: Callable[[], None] | None = None

    # ----- devices -----
    def add_device(self, driver: Driver, port: str, source: str | None = None,
                   capture: BinaryIO | None = None) -> Link:
        """Start reading a monitor: on a serial port or TCP client (SerialLink), or listening
        for HL7 gateways (`listen:PORT?bed=…`, devices.mllp_listener)."""
        link: Link
        if is_listen_url(port):
            link = Hl7Listener(port, driver, self, source=source, capture=capture, now=self.now,
                               limits=self.limits)
            title = LISTENER_TITLE
        else:
            link = SerialLink(port, driver, self, source=source, capture=capture, now=self.now,
                              limits=self.limits)
            title = driver.title.split(" (")[0]
        if link.source in self.links:
            raise ValueError(f"{link.source} is already connected")
        self.links[link.source] = link
        self._titles[link.source] = title
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
    def _stop_link(link: Link) -> None:
        """Stop reading, then close the link's capture file (the hub owns captures given to it)."""
        capture = link.capture
        link.stop()
        if capture is not None:
            capture.close()

    def watchdog(self) -> list[str]:
        """Call about once a second: restarts any link whose reader thread died (it is logged
        and reported LOST through `status`), and tells of messages a decoder failed on (the
        frame was dropped and logged; readings go on). Returns one line each for the room."""
        out = [msg for link in list(self.links.values()) if (msg := link.check()) is not None]
        for source, link in list(self.links.items()):
            faults = link.decoder.stats.faults
            told = self._faults_told.get(source, 0)
            if faults > told:
                self._faults_told[source] = faults
                n = faults - told
                out.append(f"{self.title(source)}: {n} message{'s' if n != 1 else ''} from the "
                           "monitor could not be read because of a fault in Holdspace (logged "
                           "for support); readings go on.")
        return out

    def statuses(self) -> dict[str, LinkStatus]:
        return {s: replace(link.status, message=staff_words(link.status.message))
                for s, link in self.links.items()}

    # ----- LinkSink, called on link threads -----
    def samples(self, source: str, samples: list[Sample]) -> None:
        sid = self.session_id
        if sid is not None and self.writer is not None:
            self.writer.add_samples(sid, samples)
        with self._lock:
            for s in samples:
                if isinstance(s, Reading):
                    self._latest[(s.code, source)] = s
                    self._shown.setdefault(LEADER.get(s.code, s.code), source)
                    heard = s.t
                else:
                    heard = s.t0 + s.duration
                self._heard[source] = max(self._heard.get(source, heard), heard)
            self._buffer.extend(samples)
        wake = self.on_new
        if wake is not None and samples:
            wake()

    def manual(self, readings: list[Reading]) -> None:
        """Values typed by hand (a manual cuff, a count of breaths): stored with the session
        and delivered with the next drained batch, like a monitor's. Not a link, so they
        never take over the source shown for a parameter; the strip shows them at their
        time (see `console.ui.vitals.vitals_strip`)."""
        sid = self.session_id
        if sid is not None and self.writer is not None:
            self.writer.add_samples(sid, readings)
        with self._lock:
            self._buffer.extend(readings)
        self.manual_added.emit(readings)

    def status(self, status: LinkStatus) -> None:
        status = replace(status, message=staff_words(status.message))
        with self._lock:
            self._statuses.append(status)
        wake = self.on_new
        if wake is not None:
            wake()
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
        """Everything since the last drain, and any change of the source shown."""
        with self._lock:
            switches = self._choose(self.now())
            out = Drained(list(self._buffer), self._statuses, switches)
            self._buffer.clear()
            self._statuses = []
        return out

    def switch_payload(self, group: list[SourceSwitch]) -> dict[str, object]:
        """The `display.source_changed` event for one line of switches (the window records
        it during a session; a headless recorder has no display to switch)."""
        sw = group[0]
        return {"params": [g.label for g in group], "codes": [g.code for g in group],
                "from": sw.old, "to": sw.new, "reason": sw.reason,
                "summary": self.switch_text(group)}

    def switch_text(self, group: list[SourceSwitch]) -> str:
        """"HR, SpO2 now from Philips IntelliVue (Holdspace simulator stopped)"."""
        sw = group[0]
        return (f"{', '.join(g.label for g in group)} now from {self.title(sw.new)} "
                f"({sw.reason})")

    def title(self, source: str) -> str:
        """What staff call a source: the monitor's name, with its port when two share it."""
        name = self._titles.get(source, source)
        same = [s for s, n in self._titles.items() if n == name]
        if len(same) > 1 and ":" in source:
            return f"{name} on {source.split(':', 1)[1].rsplit('/', 1)[-1]}"
        return name

    def stale_after(self, source: str) -> float:
        """Seconds after which a value from `source` is old: a few of its update periods."""
        link = self.links.get(source)
        interval = link.driver.update_interval if link is not None else 1.0
        return max(5.0, 2.5 * interval)

    def shown_source(self, code: int) -> str | None:
        """The source whose value of `code` is shown (and alarmed on) now."""
        with self._lock:
            return self._decide(LEADER.get(code, code), self.now())[0]

    def latest(self, code: int) -> Reading | None:
        """The newest reading of `code` from the source chosen for display."""
        with self._lock:
            src = self._decide(LEADER.get(code, code), self.now())[0]
            return self._latest.get((code, src)) if src else None

    # ----- choosing the shown source (call with the lock held) -----
    def _current(self, code: int, source: str, now: float) -> bool:
        """A value of `code` from `source` that may be shown as the present one."""
        r = self._latest.get((code, source))
        if r is None or source not in self.links or not r.quality.displayable or r.value != r.value:
            return False
        if now - self._heard.get(source, r.t) > self.stale_after(source):
            return False  # the monitor has gone silent
        limit = NIBP_CURRENT_S if code in NIBP_CODES else self.stale_after(source)
        return now - r.t <= limit

    def _why_not(self, code: int, source: str, now: float) -> str:
        name = self.title(source)
        link = self.links.get(source)
        if link is None:
            return f"{name} stopped"
        if link.status.state in (LinkState.LOST, LinkState.NO_DATA):
            return f"{name}: link {link.status.state}"
        if now - self._heard.get(source, now) > self.stale_after(source):
            return f"{name} silent"
        r = self._latest.get((code, source))
        if r is not None and (not r.quality.displayable or r.value != r.value):
            return f"no valid value from {name}"
        return f"no recent value from {name}"

    def _decide(self, code: int, now: float) -> tuple[str | None, str]:
        """(source to show for the leading `code`, why it changed)."""
        cur = self._shown.get(code)
        pref = self.preferred.get(code)
        if pref is not None and pref != cur and self._current(code, pref, now):
            return pref, "chosen in Devices ▸ Monitors"
        if cur is None or self._current(code, cur, now):
            return cur, ""
        fresh = [(r.t, s) for (c, s), r in self._latest.items()
                 if c == code and s != cur and self._current(c, s, now)]
        if not fresh:
            return cur, ""  # nothing better: the old value stays, greyed with its age
        return max(fresh)[1], self._why_not(code, cur, now)

    def _choose(self, now: float) -> list[SourceSwitch]:
        out: list[SourceSwitch] = []
        for code, cur in list(self._shown.items()):
            new, why = self._decide(code, now)
            if new is None or new == cur:
                continue
            self._shown[code] = new
            group = [code, *(c for c, lead in LEADER.items() if lead == code)]
            shown = tuple(r for c in group if (r := self._latest.get((c, new))) is not None)
            out.append(SourceSwitch(code, cur, new, why, now, shown))
        return out

    def shared_codes(self) -> dict[int, list[str]]:
        """Parameters heard from two or more connected devices: where someone chooses which
        is shown."""
        by_code: dict[int, set[str]] = {}
        with self._lock:
            for c, s in self._latest:
                if s in self.links:
                    by_code.setdefault(c, set()).add(s)
        return {c: sorted(ss) for c, ss in sorted(by_code.items()) if len(ss) > 1}
