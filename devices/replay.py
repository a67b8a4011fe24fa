"""Play a capture file back through a pseudo-terminal, at its own pace or faster.

Support reproduces a room's problem at their desk: `holdspace replay FILE` makes a port that
sends exactly the bytes the monitor sent, so the console, `holdspace record` or a decoder
under test reads them as from the cable. Playback waits until a program opens the port (so
nothing is lost to a late start) and pauses while nobody has it open.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from collections.abc import Callable
from pathlib import Path

from devices.capture import CaptureRecord

LEAD_IN = 0.3  # seconds after the client opens the port: it flushes its input buffer first


class Replay:
    """Streams received records to a pty in a background thread; POSIX only."""

    def __init__(
        self,
        records: list[CaptureRecord],
        speed: float = 1.0,
        link_path: str | None = None,
        loop: bool = False,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be above 0 (1 = original pace, 10 = ten times faster)")
        if os.name == "nt":
            raise ValueError("replay needs a POSIX pseudo-terminal (Linux or macOS)")
        self.records = [r for r in records if not r.sent and r.data]
        self.speed = speed
        self.link_path = link_path
        self.loop = loop
        self.now = now
        self.bytes_sent = 0
        self.records_sent = 0
        self.finished = threading.Event()  # set when the last record has been written
        self.client_seen = threading.Event()
        self._stop = threading.Event()
        self._master = -1
        self.port = ""
        self._thread = threading.Thread(target=self._run, name="replay", daemon=True)

    def start(self) -> str:
        """Create the pty (and the stable link path); returns the port to open."""
        import tty

        self._master, slave = os.openpty()
        tty.setraw(slave)
        self.port = os.ttyname(slave)
        # Only the client holds the slave open, so the master sees a hang-up while nobody
        # has the port open: that is how playback knows when to run.
        os.close(slave)
        if self.link_path:
            Path(self.link_path).parent.mkdir(parents=True, exist_ok=True)
            tmp = f"{self.link_path}.tmp{os.getpid()}"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            os.symlink(self.port, tmp)
            os.replace(tmp, self.link_path)
        self._thread.start()
        return self.link_path or self.port

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(3)
        if self.link_path:
            with contextlib.suppress(OSError):
                if os.readlink(self.link_path) == self.port:
                    os.unlink(self.link_path)
        with contextlib.suppress(OSError):
            os.close(self._master)

    def _client_open(self) -> bool:
        p = select.poll()
        p.register(self._master, select.POLLHUP)
        return not any(ev & select.POLLHUP for _, ev in p.poll(0))

    def _drain_input(self) -> None:
        """Discard what the client writes (polls, ACKs): a recording cannot answer them."""
        while select.select([self._master], [], [], 0)[0]:
            try:
                if not os.read(self._master, 65536):
                    return
            except OSError:
                return

    def _wait_for_client(self) -> bool:
        while not self._stop.is_set():
            if self._client_open():
                self.client_seen.set()
                return not self._stop.wait(LEAD_IN)
            self._stop.wait(0.05)
        return False

    def _write(self, data: bytes) -> bool:
        view = memoryview(data)
        while view and not self._stop.is_set():
            _, w, _ = select.select([], [self._master], [], 0.1)
            self._drain_input()
            if not w:
                continue
            try:
                n = os.write(self._master, view)
            except BlockingIOError:
                continue
            except OSError:
                return False
            view = view[n:]
        return not view

    def _run(self) -> None:
        if not self.records:
            self.finished.set()
            return
        while True:
            if not self._play_once() or not self.loop:
                break
        self.finished.set()

    def _play_once(self) -> bool:
        if not self._wait_for_client():
            return False
        t0 = self.records[0].t
        start = self.now()
        for rec in self.records:
            due = start + (rec.t - t0) / self.speed
            while not self._stop.is_set():
                self._drain_input()
                wait = due - self.now()
                if wait <= 0:
                    break
                self._stop.wait(min(wait, 0.05))
            if self._stop.is_set():
                return False
            if not self._client_open():
                # The client closed the port: pause, then go on from here once it is back.
                if not self._wait_for_client():
                    return False
                start = self.now() - (rec.t - t0) / self.speed
            if not self._write(rec.data):
                return False
            self.bytes_sent += len(rec.data)
            self.records_sent += 1
        self._wait_drained()
        return True

    def _wait_drained(self, timeout: float = 3.0) -> None:
        """Wait until the client has read the last bytes: closing the pty would discard them."""
        import fcntl
        import struct
        import termios

        try:
            fd = os.open(self.port, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError:
            return
        try:
            end = self.now() + timeout
            empty_since: float | None = None
            while not self._stop.is_set() and self.now() < end:
                self._drain_input()
                waiting = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0]
                t = self.now()
                if waiting:
                    empty_since = None
                elif empty_since is None:
                    empty_since = t
                elif t - empty_since >= 0.25:  # the kernel hands bytes on asynchronously
                    return
                self._stop.wait(0.02)
        except OSError:
            return
        finally:
            os.close(fd)
