"""The serial link over a real pseudo-terminal: live data, pulling the cable, coming back."""

from __future__ import annotations

import itertools
from pathlib import Path

from console.core.acquisition import AcquisitionHub
from console.store import records
from console.store.db import open_db
from console.store.events import session_events
from console.store.writer import StoreWriter
from devices import mdc
from devices.drivers import get_driver
from devices.link import LinkState, SerialLink
from devices.simulator import Simulator
from tests.helpers.fixtures import CollectingSink, wait_until


def test_live_readings_arrive_with_codes_and_units(sim_port: tuple[Simulator, str],
                                                    sink: CollectingSink) -> None:
    _, port = sim_port
    link = SerialLink(port, get_driver("sim"), sink)
    link.start()
    try:
        assert sink.wait_for(lambda s: len(s.readings(mdc.MDC_ECG_HEART_RATE)) >= 2)
        hr = sink.readings(mdc.MDC_ECG_HEART_RATE)[-1]
        assert 60 <= hr.value <= 85 and hr.unit == mdc.MDC_DIM_BEAT_PER_MIN
        assert sink.wait_for(lambda s: LinkState.LIVE in s.states())
    finally:
        link.stop()
    assert link.status.state == LinkState.STOPPED


def test_pulled_cable_is_reported_lost_then_recovers_and_the_gap_is_kept(
    sim_port: tuple[Simulator, str], db_path: Path
) -> None:
    sim, port = sim_port
    writer = StoreWriter(str(db_path))
    writer.start()
    sid = writer.call(lambda c: records.start_session(c, None, 0.0)).result(5)
    hub = AcquisitionHub(writer, __import__("time").time)
    hub.session_id = sid
    link = hub.add_device(get_driver("sim"), port, source="bedside")
    assert isinstance(link, SerialLink)  # a serial port: its own counters are read
    sink = CollectingSink()
    hub_status, hub_samples = hub.status, hub.samples

    def tee_status(st):
        sink.status(st)
        hub_status(st)

    def tee_samples(source, samples):
        sink.samples(source, samples)
        hub_samples(source, samples)

    hub.status = tee_status  # type: ignore[method-assign]
    hub.samples = tee_samples  # type: ignore[method-assign]
    try:
        assert sink.wait_for(lambda s: LinkState.LIVE in s.states())
        assert sink.wait_for(lambda s: len(s.readings(mdc.MDC_ECG_HEART_RATE)) >= 1)
        writer.flush()
        conn = open_db(db_path)
        n_before = conn.execute("SELECT COUNT(*) FROM readings").fetchone()[0]
        assert n_before > 0
        sim.unplug()  # the pty's other end closes mid-stream
        assert sink.wait_for(lambda s: s.statuses[-1].state == LinkState.LOST)
        assert "cable" in sink.statuses[-1].message
        # the cable stays out while the link retries a few times (about a second and a half)
        assert wait_until(lambda: link.open_failures >= 3)
        sim.replug()  # the port returns at the same path
        assert sink.wait_for(lambda s: s.statuses[-1].state == LinkState.LIVE, timeout=15)
        live_again = sink.statuses[-1].since
        assert sink.wait_for(
            lambda s: sum(r.t > live_again for r in s.readings(mdc.MDC_ECG_HEART_RATE)) >= 2
        )
        writer.flush()
        rows = conn.execute(
            "SELECT t FROM readings WHERE session_id=? AND code=? ORDER BY t",
            (sid, mdc.MDC_ECG_HEART_RATE),
        ).fetchall()
        ts = [r[0] for r in rows]
        assert any(t >= live_again for t in ts), "readings after the replug are stored"
        assert conn.execute("SELECT COUNT(*) FROM readings").fetchone()[0] >= n_before
        gaps = [b - a for a, b in itertools.pairwise(ts)]
        assert max(gaps) > 1.5, "the unplugged time is a visible gap, not filled in"
        states = [e.payload["state"] for e in session_events(conn, sid, ["link.state"])]
        assert states[:1] == ["live"] and "lost" in states and states[-1] == "live"
    finally:
        hub.stop()
        writer.stop()


def test_missing_port_is_reported_in_plain_words(tmp_path: Path, sink: CollectingSink) -> None:
    link = SerialLink(str(tmp_path / "ttyNOPE"), get_driver("sim"), sink)
    link.start()
    try:
        assert sink.wait_for(lambda s: bool(s.statuses))
        assert "not found" in sink.statuses[-1].message
        assert "cable" in sink.statuses[-1].message
    finally:
        link.stop()


def test_a_link_stopped_on_purpose_during_a_session_says_why(
    sim_port: tuple[Simulator, str], db_path: Path
) -> None:
    import time

    _, port = sim_port
    writer = StoreWriter(str(db_path))
    writer.start()
    sid = writer.call(lambda c: records.start_session(c, None, time.time())).result(5)
    hub = AcquisitionHub(writer, time.time)
    hub.session_id = sid
    hub.add_device(get_driver("sim"), port, source="bedside")
    try:
        hub.remove_device("bedside", reason="paused while its port is probed")
        hub.remove_device("not-connected")  # nothing to stop: nothing recorded
        writer.flush()
        stopped = session_events(open_db(db_path), sid, ["link.stopped"])
        assert [(e.payload["source"], e.payload["reason"]) for e in stopped] == [
            ("bedside", "paused while its port is probed")]
        assert "paused while its port is probed" in stopped[0].payload["summary"]
    finally:
        hub.stop()
        writer.stop()
