"""Fault injection into the device layer, on a real pseudo-terminal (os.openpty).

A monitor's bytes are written by the test to the pty master; a real SerialLink reads the slave
into the real store (SQLite file). Injected: a line with a 400-digit time (once an exception
that killed the link), impossible values, and a decoder with a bug that raises on one byte.
After each, readings must be stored again within 2 s, the link must say the right state, and
the rejection must be counted (and, for a decoder exception, logged once).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import tty
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from console.core.acquisition import AcquisitionHub
from console.store import records
from console.store.db import open_db
from console.store.writer import StoreWriter
from devices import containment, mdc
from devices.drivers import get_driver
from devices.link import LinkState, SerialLink
from devices.protocol import Driver
from devices.protocols.sim import SimDecoder, frame, numeric_line
from devices.reading import Quality, Sample
from tests.helpers.fixtures import wait_until

HR = mdc.MDC_ECG_HEART_RATE
BPM = mdc.MDC_DIM_BEAT_PER_MIN
BUG_BYTE = b"\xff"


class PtyMonitor:
    """A monitor on the master side of a real pty: one HR line every 0.1 s, plus injections."""

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._extra = bytearray()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pty monitor", daemon=True)
        self.sent = 0

    def inject(self, data: bytes) -> None:
        with self._lock:
            self._extra += data

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            ms = int(time.time() * 1000)
            with self._lock:
                extra, self._extra = bytes(self._extra), bytearray()
            line = numeric_line(ms, HR, 60 + self.sent % 20, BPM, Quality.VALID)
            try:
                os.write(self.master, extra + line)
            except OSError:
                continue  # nobody reading yet: a real monitor's bytes go nowhere too
            self.sent += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(3)
        for fd in (self.master, self._slave):
            os.close(fd)


class BuggySimDecoder(SimDecoder):
    """The sim decoder with a bug: a 0xFF byte makes it raise (as any unforeseen bug might)."""

    def feed(self, data: bytes, now: float) -> list[Sample]:
        if BUG_BYTE in data:
            raise ZeroDivisionError("a bug nobody has found yet")
        return super().feed(data, now)


@dataclass
class Room:
    monitor: PtyMonitor
    link: SerialLink
    writer: StoreWriter
    db: Path
    session_id: int
    hub: AcquisitionHub

    def stored_after(self, t: float, code: int = HR) -> int:
        self.writer.flush()
        conn = open_db(self.db)
        try:
            return int(conn.execute(
                "SELECT COUNT(*) FROM readings WHERE session_id=? AND code=? AND t>?",
                (self.session_id, code, t)).fetchone()[0])
        finally:
            conn.close()

    def quality_of(self, code: int, device_t: float) -> list[int]:
        self.writer.flush()
        conn = open_db(self.db)
        try:
            rows = conn.execute("SELECT quality FROM readings WHERE session_id=? AND code=? AND "
                                "abs(device_time - ?) < 0.0005", (self.session_id, code,
                                                                  device_t)).fetchall()
            return [r[0] for r in rows]
        finally:
            conn.close()


def room(tmp_path: Path, driver: Driver) -> Iterator[Room]:
    monitor = PtyMonitor()
    monitor.start()
    db = tmp_path / "holdspace.db"
    writer = StoreWriter(str(db))
    writer.start()
    sid = writer.call(lambda c: records.start_session(c, None, time.time())).result(5)
    hub = AcquisitionHub(writer, time.time)
    hub.session_id = sid
    link = hub.add_device(driver, monitor.port, source="bedside")
    assert isinstance(link, SerialLink)  # a serial port: its own counters are read
    try:
        assert wait_until(lambda: link.status.state == LinkState.LIVE)
        yield Room(monitor, link, writer, db, sid, hub)
    finally:
        hub.stop()
        writer.stop()
        monitor.stop()


@pytest.fixture
def sim_room(tmp_path: Path) -> Iterator[Room]:
    yield from room(tmp_path, get_driver("sim"))


@pytest.fixture
def buggy_room(tmp_path: Path) -> Iterator[Room]:
    containment.forget_faults()
    yield from room(tmp_path, replace(get_driver("sim"), name="sim-buggy",
                                      make_decoder=BuggySimDecoder))
    containment.forget_faults()


def test_a_400_digit_time_is_a_rejected_line_and_readings_go_on(sim_room: Room) -> None:
    r = sim_room
    rejected = r.link.decoder.stats.frames_rejected
    r.monitor.inject(frame("HSN," + "9" * 400 + f",{HR},72,{BPM},0"))
    assert wait_until(lambda: r.link.decoder.stats.frames_rejected > rejected, timeout=5)
    t = time.time()
    assert wait_until(lambda: r.stored_after(t) >= 1, timeout=2.0)
    assert r.link.status.state == LinkState.LIVE and r.link.is_alive()
    assert r.link.decoder.stats.faults == 0  # rejected by the protocol's own rules


def test_impossible_values_are_stored_invalid_and_counted(sim_room: Room) -> None:
    r = sim_room
    for i, v in enumerate((510.0, float("inf"), -32000.0)):
        r.monitor.inject(numeric_line(1_000_000 + i, HR, v, BPM, Quality.VALID))
    assert wait_until(lambda: r.link.decoder.stats.values_rejected >= 3, timeout=5)
    for i in range(3):
        assert wait_until(lambda i=i: r.quality_of(HR, 1000.0 + i / 1000) == [
            int(Quality.INVALID)], timeout=5)  # type: ignore[misc]
    t = time.time()
    assert wait_until(lambda: r.stored_after(t) >= 1, timeout=2.0)
    assert r.link.status.state == LinkState.LIVE


def test_a_decoder_exception_costs_the_read_not_the_link(
    buggy_room: Room, caplog: pytest.LogCaptureFixture,
) -> None:
    r = buggy_room
    with caplog.at_level(logging.ERROR, logger="devices.containment"):
        r.monitor.inject(BUG_BYTE)
        assert wait_until(lambda: r.link.decoder.stats.faults == 1, timeout=5)
        t = time.time()
        assert wait_until(lambda: r.stored_after(t) >= 1, timeout=2.0), "readings within 2 s"
        r.monitor.inject(BUG_BYTE)
        assert wait_until(lambda: r.link.decoder.stats.faults == 2, timeout=5)
        t2 = time.time()
        assert wait_until(lambda: r.stored_after(t2) >= 1, timeout=2.0)
    st = r.link.status
    assert st.state == LinkState.LIVE and st.message == "Live." and r.link.is_alive()
    assert r.link.crashes == 0 and st.stats.frames_rejected >= 2 and st.stats.faults == 2
    logged = [rec for rec in caplog.records if rec.name == "devices.containment"]
    assert len(logged) == 1, "logged once per protocol and kind"
    text = logged[0].getMessage()
    assert "sim-buggy" in text and "ZeroDivisionError" in text and "Frame: ff" in text


def test_a_decoder_fault_is_told_to_the_room_once(buggy_room: Room) -> None:
    """The watchdog (run every second by the window and by `record`) puts a decoder's fault
    into words once, so the room knows a message was dropped while the readings went on."""
    r = buggy_room
    assert r.hub.watchdog() == []
    r.monitor.inject(BUG_BYTE)
    assert wait_until(lambda: r.link.decoder.stats.faults == 1, timeout=5)
    lines = r.hub.watchdog()
    assert len(lines) == 1 and "1 message from the monitor could not be read" in lines[0]
    assert "readings go on" in lines[0]
    assert r.hub.watchdog() == [], "told once, not every second"
