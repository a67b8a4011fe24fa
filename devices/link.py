"""A serial link to one monitor: open any pyserial URL, read on its own thread, decode, hand on.

The link owns the port. It survives the port vanishing (USB unplug, monitor off) by closing
and reopening it with back-off, and reports its state in words a nurse can act on. Bytes are
time-stamped once, on arrival, and never re-stamped. Samples go to a `LinkSink` in batches
(one call per read, not one per sample).
"""

from __future__ import annotations

import contextlib
import enum
import errno
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import BinaryIO, Protocol

import serial

from devices import capture as capture_file
from devices.protocol import DecoderStats, Driver, SerialSettings
from devices.reading import Sample


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


class SerialLink:
    """Reads one monitor. `start()` returns at once; the thread runs until `stop()`."""

    NO_DATA_AFTER = 5.0  # seconds without a good frame before we say "no data"
    BACKOFF = (0.25, 0.5, 1.0, 2.0, 4.0)
    UNREADABLE_BYTES = 16  # this many bytes with no good frame: data arrives but cannot be read

    def __init__(
        self,
        url: str,
        driver: Driver,
        sink: LinkSink,
        source: str | None = None,
        capture: BinaryIO | None = None,
        now: Callable[[], float] = time.time,
        exclusive: bool = True,
    ) -> None:
        self.url = url
        self.driver = driver
        self.sink = sink
        self.source = source or f"{driver.name}:{url}"
        self.decoder = driver.make_decoder(self.source)
        self.capture = capture
        self.now = now
        self.exclusive = exclusive
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"link {self.source}", daemon=True)
        self._status = LinkStatus(self.source, LinkState.CONNECTING, "Connecting…", now(),
                                  DecoderStats())
        self._port: serial.SerialBase | None = None
        # A monitor that reports every 5 s (S/5) must not flicker between live and "no data".
        self.no_data_after = max(self.NO_DATA_AFTER, 3 * driver.update_interval)
        self.open_failures = 0  # failed (re)open attempts since the link started

    @property
    def status(self) -> LinkStatus:
        return self._status

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _set(self, state: LinkState, message: str) -> None:
        if state != self._status.state or message != self._status.message:
            self._status = LinkStatus(self.source, state, message, self.now(),
                                      replace(self.decoder.stats))
            self.sink.status(self._status)

    def _open(self) -> serial.SerialBase:
        return open_port(self.url, self.driver.settings, self.exclusive)

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                self._port = self._open()
            except (serial.SerialException, OSError, ValueError) as e:
                self.open_failures += 1
                lost = attempt or self._status.state == LinkState.LOST
                state = LinkState.LOST if lost else LinkState.CONNECTING
                self._set(state, friendly_open_error(self.url, e))
                self._stop.wait(self.BACKOFF[min(attempt, len(self.BACKOFF) - 1)])
                attempt += 1
                continue
            attempt = 0
            self.decoder.reset()
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
                with contextlib.suppress(serial.SerialException, OSError):
                    self._port.close()
                self._port = None
            if not self._stop.is_set():
                self._stop.wait(self.BACKOFF[0])
        self._set(LinkState.STOPPED, "Stopped.")

    def _read_loop(self, port: serial.SerialBase) -> None:
        opened = self.now()
        self._last_data_t: float | None = None
        self._unread = 0  # bytes received since the last good frame
        last_out = 0.0
        while not self._stop.is_set():
            data = port.read(max(1, min(port.in_waiting, 65536)))
            now = self.now()
            if data:
                if self.capture is not None:
                    self._capture(now, data)
                ok_before = self.decoder.stats.frames_ok
                samples = self.decoder.feed(data, now)
                if samples:
                    self.sink.samples(self.source, samples)
                self._last_data_t = now
                self._unread = 0 if self.decoder.stats.frames_ok > ok_before else (
                    self._unread + len(data))
            if data or now - last_out >= 0.1:
                out = self.decoder.outgoing(now)
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
            self._set(
                LinkState.NO_DATA,
                "No data — check the cable and the monitor's data-export setting.",
            )

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
