"""Run a simulated monitor on a real pseudo-terminal (POSIX) or a local TCP port (anywhere).

The client side is a real serial port path (or `socket://127.0.0.1:PORT`), so the link under
test or in a demo is exactly the code that reads a bedside monitor. With `link_path` the
simulator keeps a stable symlink to the current pty, like a udev by-id name, so a simulated
unplug/replug (scenario `unplug`, or `unplug()`/`replug()` from a test) reappears at the same
path.

A pty carries bytes whatever baud rate the client sets. With `line` (a monitor set to those
port settings) the simulator behaves like a real serial line instead: while the client's baud
rate (read from the pty; a Linux pty keeps the baud rate but not the parity) differs from the
line's, every byte either way arrives as garbage, as a UART at the wrong baud rate delivers it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import select
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from devices.physiology import Physiology
from devices.protocol import Driver, SerialSettings, SimulatedMonitor

TICK = 0.02


class _PtyEnd:
    """The monitor's end of a pseudo-terminal."""

    def __init__(self, link_path: str | None) -> None:
        import tty

        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self.master, False)
        self.slave_name = os.ttyname(self._slave)
        self.link_path = link_path
        if link_path:
            tmp = f"{link_path}.tmp{os.getpid()}"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            os.symlink(self.slave_name, tmp)
            os.replace(tmp, link_path)

    @property
    def port(self) -> str:
        return self.link_path or self.slave_name

    def write(self, data: bytes) -> None:
        try:
            os.write(self.master, data)
        except BlockingIOError:
            pass  # nobody reading and the buffer is full: a real monitor's bytes go nowhere too
        except OSError as e:
            if e.errno not in (errno.EIO, errno.EAGAIN):
                raise

    def line_settings(self) -> tuple[int, int, str, float] | None:
        """(baud, data bits, parity, stop bits) the pty reports, if readable (Linux keeps the
        client's baud rate; parity it does not keep)."""
        import termios

        try:
            attrs = termios.tcgetattr(self._slave)
        except (termios.error, OSError):
            return None
        cflag, speed = attrs[2], attrs[5]
        bauds = {getattr(termios, f"B{b}"): b for b in (1200, 2400, 4800, 9600, 19200, 38400,
                                                          57600, 115200, 230400)
                 if hasattr(termios, f"B{b}")}
        size = {termios.CS7: 7, termios.CS8: 8}.get(cflag & termios.CSIZE, 0)
        parity = ("O" if cflag & termios.PARODD else "E") if cflag & termios.PARENB else "N"
        return bauds.get(speed, 0), size, parity, 2.0 if cflag & termios.CSTOPB else 1.0

    def forget_parity(self) -> None:
        """A Linux pty drops PARENB from an odd-parity setting but keeps PARODD, and then
        refuses the next odd-parity setting (EINVAL): a client that reopens the port at 8O1
        (a reconnect, the link after a probe) would fail where a real port does not. Clear the
        leftover bit, as a real port lets the next setting through."""
        import termios

        try:
            attrs = termios.tcgetattr(self._slave)
            if attrs[2] & termios.PARODD and not attrs[2] & termios.PARENB:
                attrs[2] &= ~termios.PARODD
                termios.tcsetattr(self._slave, termios.TCSANOW, attrs)
        except (termios.error, OSError):
            pass

    def read(self) -> bytes:
        r, _, _ = select.select([self.master], [], [], 0)
        if not r:
            return b""
        try:
            return os.read(self.master, 65536)
        except OSError:
            return b""

    def close(self) -> None:
        if self.link_path:
            with contextlib.suppress(FileNotFoundError):
                if os.path.islink(self.link_path) and os.readlink(self.link_path) == self.slave_name:
                    os.unlink(self.link_path)
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class _TcpEnd:
    """A one-client TCP server: the client opens socket://127.0.0.1:PORT."""

    def __init__(self, port: int = 0) -> None:
        self._srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(("127.0.0.1", port))
        self._srv.listen(1)
        self._srv.setblocking(False)
        self._client: socket.socket | None = None

    @property
    def port(self) -> str:
        return f"socket://127.0.0.1:{self._srv.getsockname()[1]}"

    def _accept(self) -> None:
        if self._client is None:
            try:
                self._client, _ = self._srv.accept()
                self._client.setblocking(False)
            except BlockingIOError:
                pass

    def write(self, data: bytes) -> None:
        self._accept()
        if self._client is not None:
            try:
                self._client.sendall(data)
            except OSError:
                self._client.close()
                self._client = None

    def read(self) -> bytes:
        self._accept()
        if self._client is None:
            return b""
        try:
            data = self._client.recv(65536)
        except BlockingIOError:
            return b""
        except OSError:
            data = b""
        if not data:
            self._client.close()
            self._client = None
        return data

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        self._srv.close()


class Simulator:
    """Streams a simulated monitor in a background thread until `stop()`."""

    def __init__(
        self,
        driver: Driver,
        physio: Physiology | None = None,
        link_path: str | None = None,
        tcp: bool = False,
        tcp_port: int = 0,
        now: Callable[[], float] = time.time,
        line: SerialSettings | None = None,
    ) -> None:
        self.now = now
        self.line = line
        self._garble = random.Random(7)
        self.physio = physio or Physiology("calm", start=now())
        self.monitor: SimulatedMonitor = driver.make_simulator(self.physio)
        self.link_path = link_path
        self.tcp = tcp or os.name == "nt"
        self.tcp_port = tcp_port
        self._end: _PtyEnd | _TcpEnd | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._plugged = True
        self._forced_unplug = False
        self._thread = threading.Thread(target=self._run, name="simulator", daemon=True)
        self.bytes_sent = 0

    def start(self) -> str:
        """Open the port and start streaming; returns the port a client should open."""
        self._end = self._make_end()
        self._thread.start()
        return self._end.port

    @property
    def port(self) -> str:
        return self._end.port if self._end else ""

    def _make_end(self) -> _PtyEnd | _TcpEnd:
        if self.tcp:
            return _TcpEnd(self.tcp_port)
        if self.link_path:
            Path(self.link_path).parent.mkdir(parents=True, exist_ok=True)
        return _PtyEnd(self.link_path)

    def unplug(self) -> None:
        """Pull the cable: the client's port vanishes (its reads fail)."""
        with self._lock:
            self._forced_unplug = True
            self._unplug_locked()

    def replug(self) -> str:
        """Put the cable back: a new pty appears behind the same link path."""
        with self._lock:
            self._forced_unplug = False
            self._replug_locked()
            return self.port

    def _unplug_locked(self) -> None:
        if self._plugged and self._end is not None:
            self._end.close()
            self._plugged = False

    def _replug_locked(self) -> None:
        if not self._plugged:
            self._end = self._make_end()
            self.monitor.reset()
            self._plugged = True

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(3)
        with self._lock:
            if self._plugged and self._end is not None:
                self._end.close()
                self._plugged = False

    def _run(self) -> None:
        while not self._stop.wait(TICK):
            now = self.now()
            with self._lock:
                down = self.physio.link_down(now)
                if down:
                    self._unplug_locked()
                elif not self._forced_unplug:
                    self._replug_locked()
                if not self._plugged or self._end is None:
                    continue
                if isinstance(self._end, _PtyEnd):
                    self._end.forget_parity()
                incoming = self._end.read()
                garbled = not self._line_matches()
                if incoming:
                    self.monitor.receive(self._garbled(incoming) if garbled else incoming, now)
                data = self.monitor.produce(now)
                if data:
                    self._end.write(self._garbled(data) if garbled else data)
                    self.bytes_sent += len(data)

    def _line_matches(self) -> bool:
        """Whether the client's baud rate is the monitor's (always, without `line`)."""
        if self.line is None or not isinstance(self._end, _PtyEnd):
            return True
        got = self._end.line_settings()
        return got is not None and got[0] == self.line.baudrate

    def _garbled(self, data: bytes) -> bytes:
        """What a UART at the wrong baud rate or parity makes of these bytes: noise."""
        return bytes(self._garble.getrandbits(8) for _ in data)
