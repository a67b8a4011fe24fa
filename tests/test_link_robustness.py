"""What goes wrong in a room, on real ptys: the link says so in plain words and recovers."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from console.core.vitals.headless_recorder import recording
from console.store.db import open_db
from console.store.events import session_events
from devices import mdc
from devices.drivers import get_driver
from devices.link import LinkState, SerialLink
from devices.physiology import Physiology
from devices.protocol import Driver
from devices.protocols.sim import SimMonitor, numeric_line
from devices.reading import Quality
from devices.simulator import Simulator
from tests.helpers.fixtures import CollectingSink, wait_until

NOISE = b"\x00\xff\x13#@!garbage\xfe\r\n"


class RoomMonitor:
    """The sim monitor with a power switch and a noisy cable, for the test to flip."""

    def __init__(self, physio: Physiology) -> None:
        self.inner = SimMonitor(physio)
        self.on = True
        self.noisy = False
        self.wrong_baud = False
        self.noise_sent = 0

    def receive(self, data: bytes, now: float) -> None:
        self.inner.receive(data, now)

    def produce(self, now: float) -> bytes:
        data = self.inner.produce(now)
        if not self.on:
            return b""
        if self.wrong_baud:
            # What a line looks like read at the wrong baud rate: bytes, but never a frame.
            return bytes(b ^ 0xA5 for b in data)
        if self.noisy and data:
            lines = data.split(b"\n")
            self.noise_sent += len(lines) - 1
            data = (b"\n" + NOISE).join(lines)  # garbage after every frame
        return data

    def reset(self) -> None:
        self.inner.reset()


@pytest.fixture
def room(tmp_path: Path) -> Iterator[tuple[Simulator, RoomMonitor, Driver]]:
    """A simulated monitor on a real pty that the test can switch off or make noisy."""
    monitors: list[RoomMonitor] = []

    def make(physio: Physiology) -> RoomMonitor:
        monitors.append(RoomMonitor(physio))
        return monitors[-1]

    driver = replace(get_driver("sim"), make_simulator=make)
    sim = Simulator(driver, link_path=str(tmp_path / "ttyROOM"))
    sim.start()
    yield sim, monitors[0], driver
    sim.stop()


def _link(port: str, driver: Driver, sink: CollectingSink, no_data_after: float = 0.8
          ) -> SerialLink:
    link = SerialLink(port, driver, sink)
    link.no_data_after = no_data_after  # the room waits 5 s; the test need not
    link.start()
    return link


def test_monitor_switched_off_then_on(room: tuple[Simulator, RoomMonitor, Driver]) -> None:
    sim, monitor, driver = room
    monitor.noisy = True  # earlier line noise must not be blamed once the monitor is off
    sink = CollectingSink()
    link = _link(sim.port, driver, sink)
    try:
        assert sink.wait_for(lambda s: s.states()[-1:] == [LinkState.LIVE])
        assert wait_until(lambda: link.decoder.stats.frames_rejected > 0)
        monitor.on = False
        assert sink.wait_for(lambda s: s.states()[-1] == LinkState.NO_DATA)
        msg = sink.statuses[-1].message
        assert msg.startswith("No data") and "cable" in msg and "export setting" in msg
        n = len(sink.statuses)
        monitor.on = True
        assert sink.wait_for(lambda s: s.states()[n:] == [LinkState.LIVE])
    finally:
        link.stop()


def test_line_noise_is_counted_and_values_stay_right(
    room: tuple[Simulator, RoomMonitor, Driver],
) -> None:
    sim, monitor, driver = room
    monitor.noisy = True
    sink = CollectingSink()
    link = _link(sim.port, driver, sink)
    try:
        assert sink.wait_for(lambda s: len(s.readings(mdc.MDC_PULS_OXIM_SAT_O2)) >= 2)
        assert link.status.state == LinkState.LIVE
        assert link.decoder.stats.frames_rejected >= 2
        ok = link.decoder.stats.frames_ok
    finally:
        link.stop()
    # Every value decoded matches what the monitor's physiology said at that device time.
    for r in sink.readings(mdc.MDC_PULS_OXIM_SAT_O2):
        assert r.device_time is not None
        v = monitor.inner.physio.vitals(r.device_time)
        assert v.spo2 is not None and r.value == pytest.approx(v.spo2, abs=0.01)
    assert ok > link.decoder.stats.frames_rejected / 2


def test_wrong_monitor_type_is_named_as_such(sim_port: tuple[Simulator, str]) -> None:
    _, port = sim_port
    sink = CollectingSink()
    link = _link(port, get_driver("nonin"), sink)  # a Nonin decoder on sim data
    try:
        assert sink.wait_for(lambda s: LinkState.NO_DATA in s.states())
    finally:
        link.stop()
    st = next(s for s in sink.statuses if s.state == LinkState.NO_DATA)
    assert st.message == (
        "Data arrives but cannot be read — check the monitor type and its baud rate.")
    assert link.decoder.stats.bytes_in > 0 and link.decoder.stats.frames_ok == 0


def test_wrong_baud_rate_then_corrected_goes_live_by_itself(
    room: tuple[Simulator, RoomMonitor, Driver],
) -> None:
    """At the wrong baud rate only garbage arrives; once the monitor is set right, it decodes."""
    sim, monitor, driver = room
    monitor.wrong_baud = True
    sink = CollectingSink()
    link = _link(sim.port, driver, sink)
    try:
        assert sink.wait_for(lambda s: LinkState.NO_DATA in s.states())
        assert "cannot be read" in sink.statuses[-1].message
        assert link.decoder.stats.frames_ok == 0
        monitor.wrong_baud = False  # someone sets the monitor's baud rate right
        assert sink.wait_for(lambda s: s.states()[-1] == LinkState.LIVE)
    finally:
        link.stop()


def test_port_held_by_another_program(sim_port: tuple[Simulator, str]) -> None:
    _, port = sim_port
    first, second = CollectingSink(), CollectingSink()
    a = _link(port, get_driver("sim"), first)
    try:
        assert first.wait_for(lambda s: LinkState.LIVE in s.states())
        b = _link(port, get_driver("sim"), second)
        try:
            assert second.wait_for(lambda s: bool(s.statuses))
            st = second.statuses[-1]
            assert st.state == LinkState.CONNECTING
            assert st.message == (f"Port {port} is in use by another program — close it, then "
                                  "Holdspace retries.")
            assert wait_until(lambda: b.open_failures >= 2)
            assert first.statuses[-1].state == LinkState.LIVE, "the first program keeps it"
            a.stop()  # the other program lets go
            assert second.wait_for(lambda s: s.states()[-1] == LinkState.LIVE)
        finally:
            b.stop()
    finally:
        a.stop()


def test_record_prints_a_vanishing_port_and_stores_the_gap(tmp_path: Path) -> None:
    """`holdspace record` tells what happens to the cable and the session goes on."""
    sim = Simulator(get_driver("sim"), link_path=str(tmp_path / "ttyUSB0"))
    port = sim.start()
    db = tmp_path / "holdspace.db"
    out = io.StringIO()
    stop = threading.Event()
    result: list[int] = []
    t = threading.Thread(target=lambda: result.append(recording(
        db, [(get_driver("sim"), port)], out=out, stop_event=stop,
        install_signals=False).session_id))
    t.start()
    try:
        assert wait_until(lambda: ": live — Live." in out.getvalue())
        sim.unplug()
        assert wait_until(lambda: ": lost — " in out.getvalue())
        assert wait_until(lambda: "not found" in out.getvalue(), timeout=5)
        sim.replug()
        assert wait_until(lambda: out.getvalue().count(": live — Live.") >= 2, timeout=15)
    finally:
        stop.set()
        t.join(10)
        sim.stop()
    text = out.getvalue()
    assert "Traceback" not in text and f"session {result[0]} closed" in text
    conn = open_db(db)
    try:
        evs = session_events(conn, result[0], ["link.state"])
    finally:
        conn.close()
    states = [e.payload["state"] for e in evs]
    assert states[0] == "live" and "lost" in states and states[-1] == "live"
    lost = next(e for e in evs if e.payload["state"] == "lost")
    assert lost.payload["source"] == f"sim:{port}" and "cable" in lost.payload["message"]


def test_numeric_lines_helper_matches_the_wire() -> None:
    """The noise test relies on frames ending in LF; keep that assumption checked."""
    line = numeric_line(1, mdc.MDC_ECG_HEART_RATE, 72, mdc.MDC_DIM_BEAT_PER_MIN, Quality.VALID)
    assert line.endswith(b"\r\n") and line.count(b"\n") == 1
