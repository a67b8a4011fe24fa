"""A serial link to one monitor: open any pyserial URL, read on its own thread, decode, hand on.

The link owns the port. It survives the port vanishing (USB unplug, monitor off) by closing
and reopening it with back-off, and reports its state in words a nurse can act on. Bytes are
time-stamped once, on arrival, and never re-stamped. Samples go to a `LinkSink` in batches
(one call per read, not one per sample), after the plausibility gate (devices.plausibility).

Nothing a monitor sends can stop the link: an exception inside the decoder costs that read's
bytes (counted, logged once: devices.containment); any other unexpected exception in the
thread is logged and reported as LOST, and the port is reopened after a back-off. "Live" is
judged from when the last good frame arrived, whatever the thread says (`status`,
`is_live`), and `check()`, called by the owner about once a second, restarts a reader thread
that has died all the same and reports one that is stuck in a call.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import BinaryIO, Protocol

import serial

from devices import capture as capture_file
from devices.containment import frame_fault
from devices.plausibility import Limits, PlausibilityGate
from devices.protocol import Decoder, DecoderStats, Driver, SerialSettings
from devices.reading import Sample

log = logging.getLogger(__name__)

CRASHED_MESSAGE = ("Reading from the monitor failed unexpectedly — Holdspace is reconnecting by "
                   "itself. If this keeps happening, call support (details are in the log).")
DEAD_MESSAGE = ("The connection to the monitor had stopped — Holdspace restarted it. If this "
                "keeps happening, call support (details are in the log).")
NO_DATA_MESSAGE = "No data — check the cable and the monitor's data-export setting."
WEDGED_MESSAGE = ("No data is coming through — Holdspace is waiting for the connection to "
                  "answer. If this lasts more than a minute, unplug and re-plug the monitor's "
                  "cable, then call support.")


class LinkState(enum.StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    NO_DATA = "no data"
    LOST = "lost"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class LinkStatus:
    source: str
    state: LinkState
    message: str  # for the person in the room
    since: float
    stats: DecoderStats


class LinkSink(Protocol):
    def samples(self, source: str, samples: list[Sample]) -> None: ...

    def status(self, status: LinkStatus) -> None: ...


class HasStats(Protocol):
    stats: DecoderStats


class Link(Protocol):
    """One connection the owner holds: a SerialLink, or an HL7 listener for gateways
    (devices.mllp_listener.Hl7Listener). Both hand samples and states to a LinkSink."""

    source: str
    url: str
    driver: Driver
    capture: BinaryIO | None

    @property
    def decoder(self) -> HasStats: ...

    @property
    def status(self) -> LinkStatus: ...

    def start(self) -> None: ...

    def stop(self, timeout: float = 3.0) -> None: ...

    def check(self, now: float | None = None) -> str | None: ...


def friendly_open_error(port: str, exc: BaseException) -> str:
    """Why a port did not open, in words for the room."""
    text = str(exc)
    err = getattr(exc, "errno", None)
    if err == errno.ENOENT or "No such file" in text or "FileNotFoundError" in text:
        return f"Port {port} not found — check that the cable or USB adapter is plugged in."
    if err in (errno.EBUSY,) or "exclusively lock" in text or "Resource busy" in text:
        return f"Port {port} is in use by another program — close it, then Holdspace retries."
    if err in (errno.EACCES, errno.EPERM) or "Permission denied" in text:
        return (
            f"No permission to open {port} — on Linux add this user to the 'dialout' group "
            "and log in again."
        )
    if "Connection refused" in text or err == errno.ECONNREFUSED:
        return f"Nothing answers at {port} — check the serial-to-network box and its address."
    return f"Cannot open {port}: {text}"


def open_port(url: str, s: SerialSettings, exclusive: bool = True) -> serial.SerialBase:
    """Open `url` with a monitor's settings; real ports exclusively (one program per monitor)."""
    port = serial.serial_for_url(
        url,
        do_not_open=True,
        baudrate=s.baudrate,
        bytesize=s.bytesize,
        parity=s.parity,
        stopbits=s.stopbits,
        rtscts=s.rtscts,
        xonxoff=s.xonxoff,
        timeout=0.1,
        write_timeout=1.0,
    )
    if exclusive and hasattr(port, "exclusive") and not url.startswith(
        ("loop://", "socket://", "spy://", "rfc2217://")
    ):
        port.exclusive = True
    try:
        port.open()
    except (serial.SerialException, OSError, ValueError):
        raise
    except Exception as e:  # termios.error (POSIX) is none of the above: the tty refused
        raise serial.SerialException(f"the port refused the settings {s.describe()} ({e})") from e
    if not url.startswith("socket://"):
        port.reset_input_buffer()
    return port


class WatchedLink:
    """What a link and a listener share: one worker thread watched from outside.

    The owner calls `check()` about once a second (off the worker thread): it restarts a thread
    that has died (it should never: the loop catches every Exception, but a BaseException such
    as SystemExit ends a thread without a word) and reports it LOST, and says "no data" for a
    thread that is alive but stuck in a call. "Live" is judged from when the last good frame
    arrived (`is_live`), whatever the thread says. A subclass builds `_thread` with
    `_new_thread()`, runs `_run`, and says how long its loop may be silent (`_silent_limit`).
    """

    WEDGED_AFTER = 2.0  # s past "no data" with the thread silent about it: check() says so
    THREAD_WORD = "worker thread"  # in the log: "the reader thread", "the listening thread"
    THREAD_NAME = "link"
    source: str
    sink: LinkSink
    now: Callable[[], float]
    decoder: HasStats
    no_data_after: float

    def _init_watch(self) -> None:
        """Call from __init__ once `source`, `sink`, `now` and `decoder` are set."""
        self._stop = threading.Event()
        self._life = threading.Lock()  # guards starting, restarting and joining the thread
        self._state_lock = threading.Lock()
        self._started = False
        self._beat = self.now()  # the worker's heartbeat: set on every turn of its loops
        self._thread = self._new_thread()
        self.restarts = 0  # times check() found the thread dead and started a new one
        self.sink_errors = 0  # exceptions raised by the sink (logged once per kind)
        self._logged: set[str] = set()  # kinds of problem already logged

    def _new_thread(self) -> threading.Thread:
        return threading.Thread(target=self._run, name=f"{self.THREAD_NAME} {self.source}",
                                daemon=True)

    def _run(self) -> None:
        raise NotImplementedError

    def _silent_limit(self) -> float:
        """How long the worker may go without a heartbeat before it counts as stuck."""
        raise NotImplementedError

    def _release(self) -> None:
        """Let go of the port or sockets of a thread that died (before a new one starts)."""

    def _starting(self) -> None:
        """Just before the first thread starts (under the life lock)."""

    def _stopped(self) -> None:
        """After `stop()` has joined the thread."""

    def is_alive(self) -> bool:
        """Whether the worker thread is running."""
        return self._thread.is_alive()

    def dead(self) -> bool:
        """Started, not stopped on purpose, and yet no worker thread: check() restarts it."""
        return self._started and not self._stop.is_set() and not self._thread.is_alive()

    def is_live(self, now: float | None = None) -> bool:
        """Whether a good frame arrived within the last `no_data_after` seconds."""
        last = self.decoder.stats.last_frame_t
        t = self.now() if now is None else now
        return last is not None and t - last < self.no_data_after

    def check(self, now: float | None = None) -> str | None:
        """The watchdog: restarts a dead thread (and reports it LOST), says "no data" for a
        stuck one. Returns a message for the room when it had to act, else None."""
        with self._life:
            if not self._started or self._stop.is_set():
                return None
            if self._thread.is_alive():
                if self._wedged(self.now() if now is None else now):
                    self._set(LinkState.NO_DATA, WEDGED_MESSAGE)
                return None
            self.restarts += 1
            self._log().error("%s: the %s had ended; restarting it (restart %d)",
                              self.source, self.THREAD_WORD, self.restarts)
            self._release()
            self._set(LinkState.LOST, DEAD_MESSAGE)
            self._thread = self._new_thread()
            self._thread.start()
            return f"{self.source}: {DEAD_MESSAGE}"

    def _wedged(self, t: float) -> bool:
        """The thread is alive but stuck in a call: it has not looped for longer than any wait
        of its own, or it still says "live" long after frames stopped. Logged once, with where
        it is stuck (code locations only)."""
        last = self.decoder.stats.last_frame_t
        stale_live = (self._status.state == LinkState.LIVE and last is not None
                      and t - last >= self.no_data_after + self.WEDGED_AFTER)
        silent = t - self._beat >= self._silent_limit()
        if not (stale_live or silent):
            return False
        if "wedged" not in self._logged:
            self._logged.add("wedged")
            frame = sys._current_frames().get(self._thread.ident or -1)
            where = "".join(traceback.format_stack(frame)[-4:]) if frame else "?"
            self._log().error("%s: the %s is stuck (logged once); it is at:\n%s",
                              self.source, self.THREAD_WORD, where)
        return True

    def start(self) -> None:
        with self._life:
            self._started = True
            self._starting()
            self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        with self._life:
            thread = self._thread
        if thread.ident is not None:  # it was started
            thread.join(timeout)
        if not thread.is_alive():
            self._stopped()
            if self._status.state != LinkState.STOPPED:
                self._set(LinkState.STOPPED, "Stopped.")

    # ----- reporting -----

    _status: LinkStatus

    def _log(self) -> logging.Logger:
        return log

    def _set(self, state: LinkState, message: str) -> None:
        with self._state_lock:
            if state == self._status.state and message == self._status.message:
                return
            self._status = LinkStatus(self.source, state, message, self.now(),
                                      replace(self.decoder.stats))
            status = self._status
        try:
            self.sink.status(status)
        except Exception as e:  # the owner's problem must not stop the reading
            self._sink_fault("status", e)

    def _sink_fault(self, what: str, e: Exception) -> None:
        self.sink_errors += 1
        kind = f"sink {what}: {type(e).__name__}"
        if kind not in self._logged:
            self._logged.add(kind)
            self._log().error("%s: passing on %s failed (%s); the link goes on (logged once "
                              "per kind)", self.source, what, type(e).__name__, exc_info=e)


class SerialLink(WatchedLink):
    """Reads one monitor. `start()` returns at once; the thread runs until `stop()`."""

    NO_DATA_AFTER = 5.0  # seconds without a good frame before we say "no data"
    BACKOFF = (0.25, 0.5, 1.0, 2.0, 4.0)
    UNREADABLE_BYTES = 16  # this many bytes with no good frame: data arrives but cannot be read
    THREAD_WORD = "reader thread"

    def __init__(
        self,
        url: str,
        driver: Driver,
        sink: LinkSink,
        source: str | None = None,
        capture: BinaryIO | None = None,
        now: Callable[[], float] = time.time,
        exclusive: bool = True,
        limits: Mapping[int, Limits] | None = None,
    ) -> None:
        self.url = url
        self.driver = driver
        self.sink = sink
        self.source = source or f"{driver.name}:{url}"
        self.decoder: Decoder = driver.make_decoder(self.source)
        self.gate = PlausibilityGate(limits)
        self.capture = capture
        self.now = now
        self.exclusive = exclusive
        self._init_watch()
        self._status = LinkStatus(self.source, LinkState.CONNECTING, "Connecting…", now(),
                                  DecoderStats())
        self._port: serial.SerialBase | None = None
        # A monitor that reports every 5 s (S/5) must not flicker between live and "no data".
        self.no_data_after = max(self.NO_DATA_AFTER, 3 * driver.update_interval)
        self.open_failures = 0  # failed (re)open attempts since the link started
        self.crashes = 0  # unexpected exceptions in the reading loop (each one reopens the port)

    def _silent_limit(self) -> float:
        return max(self.BACKOFF) + self.WEDGED_AFTER + 1.0

    def _release(self) -> None:
        self._close_port()

    # ----- what the owner sees -----

    @property
    def status(self) -> LinkStatus:
        """The state as it is now, with the counters as they are now: never "live" once frames
        stopped, and LOST if the reader thread has died, whatever the thread last said."""
        st = self._status
        stats = replace(self.decoder.stats)  # the counters as they are now
        if self.dead():
            return replace(st, state=LinkState.LOST, message=DEAD_MESSAGE, stats=stats)
        if st.state == LinkState.LIVE and not self.is_live():
            last = stats.last_frame_t
            since = (last if last is not None else st.since) + self.no_data_after
            return LinkStatus(self.source, LinkState.NO_DATA, NO_DATA_MESSAGE, since, stats)
        return replace(st, stats=stats)

    # ----- reporting -----

    def _emit(self, samples: list[Sample]) -> None:
        try:
            self.sink.samples(self.source, samples)
        except Exception as e:
            self._sink_fault("samples", e)

    # ----- the reader thread -----

    def _open(self) -> serial.SerialBase:
        return open_port(self.url, self.driver.settings, self.exclusive)

    def _run(self) -> None:
        self._attempt = 0
        crashes_in_a_row = 0
        ok_at_crash = -1
        while not self._stop.is_set():
            try:
                self._connect_and_read()
            except Exception as e:
                self.crashes += 1
                ok = self._frames_ok()
                crashes_in_a_row = 1 if ok > ok_at_crash else crashes_in_a_row + 1
                ok_at_crash = ok
                kind = f"crash: {type(e).__name__}"
                first = kind not in self._logged
                self._logged.add(kind)
                log.error("%s: unexpected error in the %s link (%s, %d so far); reconnecting",
                          self.source, self.driver.name, type(e).__name__, self.crashes,
                          exc_info=e if first else None)
                self._set(LinkState.LOST, CRASHED_MESSAGE)
                self._close_port()
                self._stop.wait(self.BACKOFF[min(crashes_in_a_row, len(self.BACKOFF) - 1)])
        self._set(LinkState.STOPPED, "Stopped.")

    def _frames_ok(self) -> int:
        try:
            return int(self.decoder.stats.frames_ok)
        except Exception:  # the decoder is what failed: do not fail again here
            return -1

    def _connect_and_read(self) -> None:
        """One attempt: open the port (or wait and return), read until it fails, close it."""
        self._beat = self.now()
        try:
            self._port = self._open()
        except (serial.SerialException, OSError, ValueError) as e:
            self.open_failures += 1
            lost = self._attempt or self._status.state == LinkState.LOST
            state = LinkState.LOST if lost else LinkState.CONNECTING
            self._set(state, friendly_open_error(self.url, e))
            self._stop.wait(self.BACKOFF[min(self._attempt, len(self.BACKOFF) - 1)])
            self._attempt += 1
            return
        self._attempt = 0
        self._reset_decoder()
        self._set(LinkState.CONNECTING, "Port open — waiting for the monitor…")
        try:
            self._read_loop(self._port)
        except (serial.SerialException, OSError) as e:
            self._set(
                LinkState.LOST,
                f"Connection to the monitor lost ({type(e).__name__}) — check the cable; "
                "Holdspace reconnects by itself.",
            )
        finally:
            self._close_port()
        if not self._stop.is_set():
            self._stop.wait(self.BACKOFF[0])

    def _close_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(Exception):
                port.close()

    def _reset_decoder(self) -> None:
        """Reset the decoder; one whose reset fails too is replaced, keeping its counters."""
        try:
            self.decoder.reset()
        except Exception as e:
            frame_fault(self.driver.name, self.source, e, b"", self.decoder.stats, "reset")
            old = self.decoder.stats
            self.decoder = self.driver.make_decoder(self.source)
            for f in fields(DecoderStats):
                setattr(self.decoder.stats, f.name, getattr(old, f.name))

    def _decode(self, data: bytes, now: float) -> list[Sample]:
        """Decoded, gated samples; an exception in the decoder costs these bytes only."""
        try:
            samples = self.decoder.feed(data, now)
        except Exception as e:
            frame_fault(self.driver.name, self.source, e, data, self.decoder.stats, "feed")
            self._reset_decoder()
            return []
        if not samples:
            return []
        try:
            gated = self.gate.apply(samples)
        except Exception as e:  # a bug in the gate: the values are not passed on unchecked
            frame_fault(self.driver.name, self.source, e, data, self.decoder.stats, "gate")
            return []
        for label, kind in self.gate.last_rejected:
            self.decoder.stats.values_rejected += 1
            key = f"value {label}: {kind}"
            if key not in self._logged:
                self._logged.add(key)
                log.warning("%s: %s value rejected (%s) — stored as invalid or questionable "
                            "with the reason, never shown as valid (logged once per parameter "
                            "and reason)", self.source, label, kind)
        return gated

    def _outgoing(self, now: float) -> bytes:
        try:
            out = self.decoder.outgoing(now)
            return bytes(out) if out else b""
        except Exception as e:
            frame_fault(self.driver.name, self.source, e, b"", self.decoder.stats, "outgoing")
            self._reset_decoder()
            return b""

    def _read_loop(self, port: serial.SerialBase) -> None:
        opened = self.now()
        self._last_data_t: float | None = None
        self._unread = 0  # bytes received since the last good frame
        last_out = 0.0
        while not self._stop.is_set():
            data = port.read(max(1, min(port.in_waiting, 65536)))
            now = self.now()
            self._beat = now
            if data:
                if self.capture is not None:
                    self._capture(now, data)
                ok_before = self.decoder.stats.frames_ok
                samples = self._decode(data, now)
                if samples:
                    self._emit(samples)
                self._last_data_t = now
                self._unread = 0 if self.decoder.stats.frames_ok > ok_before else (
                    self._unread + len(data))
            if data or now - last_out >= 0.1:
                out = self._outgoing(now)
                if out:
                    port.write(out)
                    if self.capture is not None:
                        self._capture(now, out, sent=True)
                last_out = now
            self._update_state(now, opened)

    def _update_state(self, now: float, opened: float) -> None:
        st = self.decoder.stats
        last = st.last_frame_t
        if last is not None and now - last < self.no_data_after:
            self._set(LinkState.LIVE, "Live.")
            return
        if now - max(opened, last or opened) < self.no_data_after:
            return
        # Bytes keep arriving but none make a frame: wrong monitor type or baud rate. Judged on
        # recent bytes only, so old line noise does not blame a monitor that was switched off.
        arriving = (self._last_data_t is not None and now - self._last_data_t < self.no_data_after
                    and self._unread >= self.UNREADABLE_BYTES)
        if arriving:
            self._set(
                LinkState.NO_DATA,
                "Data arrives but cannot be read — check the monitor type and its baud rate.",
            )
        else:
            self._set(LinkState.NO_DATA, NO_DATA_MESSAGE)

    def _capture(self, now: float, data: bytes, sent: bool = False) -> None:
        """Raw capture record (format in devices/capture.py)."""
        assert self.capture is not None
        try:
            capture_file.write_record(self.capture, now, data, sent)
        except (OSError, ValueError):
            # Disk full or file closed: stop capturing, keep reading the monitor.
            with contextlib.suppress(OSError, ValueError):
                self.capture.close()
            self.capture = None
