"""Nothing a decoder or a monitor does can stop the link, and "live" means frames arrived.

Real ptys throughout: the built-in simulator with a monitor the test can make send poison, and
decoders with a deliberate bug that fires on a byte the test sends (a decoder raising is a bug
by contract; these stand in for the bug nobody has found yet).
"""

from __future__ import annotations

import logging
import math
import re
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.core.acquisition import AcquisitionHub
from devices import containment, mdc
from devices.drivers import get_driver
from devices.link import (
    CRASHED_MESSAGE,
    DEAD_MESSAGE,
    WEDGED_MESSAGE,
    LinkState,
    LinkStatus,
    SerialLink,
)
from devices.physiology import Physiology
from devices.protocol import DecoderStats, Driver
from devices.protocols.sim import SimDecoder, SimMonitor, numeric_line
from devices.reading import Quality, Reading, Sample
from devices.simulator import Simulator
from tests.helpers.fixtures import CollectingSink, wait_until

HR, SPO2 = mdc.MDC_ECG_HEART_RATE, mdc.MDC_PULS_OXIM_SAT_O2
POISON = b"\x00"  # the byte our buggy decoders choke on


class PoisonMonitor:
    """The sim monitor, plus whatever bytes the test queues for it to send next."""

    def __init__(self, physio: Physiology) -> None:
        self.inner = SimMonitor(physio)
        self._queue = bytearray()
        self._lock = threading.Lock()

    def send(self, data: bytes) -> None:
        with self._lock:
            self._queue += data

    def receive(self, data: bytes, now: float) -> None:
        self.inner.receive(data, now)

    def produce(self, now: float) -> bytes:
        with self._lock:
            extra, self._queue = bytes(self._queue), bytearray()
        return extra + self.inner.produce(now)

    def reset(self) -> None:
        self.inner.reset()


class BuggyDecoder(SimDecoder):
    """The sim decoder with a bug that fires when POISON arrives, at a stage the test picks."""

    stage = "feed"  # feed | outgoing | reset | loop | exit
    error: type[BaseException] = RuntimeError

    def __init__(self, source: str) -> None:
        super().__init__(source)
        self._armed = False
        self._stats_bomb = False

    @property
    def stats(self) -> DecoderStats:
        if self._stats_bomb:
            self._stats_bomb = False
            raise self.error("stats exploded")
        return self._stats

    @stats.setter
    def stats(self, value: DecoderStats) -> None:
        self._stats = value

    def feed(self, data: bytes, now: float) -> list[Sample]:
        if POISON in data:
            if self.stage in ("feed", "reset", "exit"):
                self._armed = self.stage == "reset"
                raise self.error("poisoned")
            if self.stage == "outgoing":
                self._armed = True
            if self.stage == "loop":  # fails after feed returns: in the link's own loop
                out = super().feed(data.replace(POISON, b""), now)
                self._stats_bomb = True
                return out
            data = data.replace(POISON, b"")
        return super().feed(data, now)

    def outgoing(self, now: float) -> bytes:
        if self._armed and self.stage == "outgoing":
            self._armed = False
            raise self.error("poisoned outgoing")
        return b""

    def reset(self) -> None:
        if self._armed and self.stage == "reset":
            self._armed = False
            raise self.error("reset too")
        super().reset()


def buggy_driver(stage: str, error: type[BaseException] = RuntimeError,
                 name: str = "buggy") -> Driver:
    cls = type(f"Buggy_{stage}", (BuggyDecoder,), {"stage": stage, "error": error})
    return replace(get_driver("sim"), name=name, make_decoder=cls,
                   make_simulator=PoisonMonitor)


def plain_sim() -> Driver:
    """The sim driver as shipped, with a monitor the test can make send extra bytes."""
    return replace(get_driver("sim"), make_simulator=PoisonMonitor)


@pytest.fixture
def forget_faults() -> Iterator[None]:
    containment.forget_faults()
    yield
    containment.forget_faults()


def start(driver: Driver, sink: CollectingSink, no_data_after: float | None = None
          ) -> tuple[Simulator, PoisonMonitor, SerialLink]:
    sim = Simulator(driver)
    port = sim.start()
    monitor = sim.monitor
    assert isinstance(monitor, PoisonMonitor)
    link = SerialLink(port, driver, sink)
    if no_data_after is not None:
        link.no_data_after = no_data_after
    link.start()
    assert sink.wait_for(lambda s: s.states()[-1:] == [LinkState.LIVE]), sink.states()
    return sim, monitor, link


def readings_after(sink: CollectingSink, t: float, code: int = HR) -> list[Reading]:
    return [r for r in sink.readings(code) if r.t > t]


# --- an exception inside the decoder ---------------------------------------------------------------


@pytest.mark.parametrize("stage", ["feed", "outgoing", "reset"])
def test_a_decoder_exception_costs_a_frame_not_the_link(
    stage: str, caplog: pytest.LogCaptureFixture, forget_faults: None,
) -> None:
    sink = CollectingSink()
    driver = buggy_driver(stage, name=f"buggy-{stage}")
    sim, monitor, link = start(driver, sink)
    try:
        ok_before = link.decoder.stats.frames_ok
        with caplog.at_level(logging.ERROR, logger="devices.containment"):
            monitor.send(POISON)
            assert wait_until(lambda: link.decoder.stats.faults >= 1, timeout=5)
            t_fault = time.time()
            assert sink.wait_for(lambda s: len(readings_after(s, t_fault)) >= 1, timeout=2.5)
            monitor.send(POISON)  # the same bug again: counted, not logged again
            assert wait_until(lambda: link.decoder.stats.faults >= 2, timeout=5)
        assert link.status.state == LinkState.LIVE and link.is_alive() and link.crashes == 0
        assert link.decoder.stats.frames_ok > ok_before  # counters survive a replaced decoder
        assert link.decoder.stats.frames_rejected >= 2
        faults = [r for r in caplog.records if r.name == "devices.containment"]
        kinds = {r.getMessage().split(" decoder error ")[1].split(" (")[0] for r in faults}
        assert len(faults) == len(kinds), "each kind is logged once"
        first = faults[0].getMessage()
        assert f"buggy-{stage}" in first and "reading goes on" in first
        if stage in ("feed", "reset"):
            assert re.search(r"Frame: \d+ bytes, frame \d+ of this link", first)  # no content
    finally:
        link.stop()
        sim.stop()
    assert LinkState.LOST not in sink.states()


def test_an_exception_in_the_link_loop_is_reported_lost_and_the_port_reopened(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = CollectingSink()
    sim, monitor, link = start(buggy_driver("loop"), sink)
    try:
        with caplog.at_level(logging.ERROR, logger="devices.link"):
            monitor.send(POISON)
            assert sink.wait_for(lambda s: any(x.message == CRASHED_MESSAGE
                                               for x in s.statuses), timeout=5)
            n = len(sink.statuses)
            assert sink.wait_for(lambda s: LinkState.LIVE in s.states()[n:], timeout=5)
        lost = next(x for x in sink.statuses if x.message == CRASHED_MESSAGE)
        assert lost.state == LinkState.LOST and "reconnecting" in lost.message
        assert link.crashes == 1 and link.is_alive()
        assert any("unexpected error" in r.getMessage() and r.exc_info for r in caplog.records)
        t = time.time()
        assert sink.wait_for(lambda s: len(readings_after(s, t)) >= 1, timeout=3)
    finally:
        link.stop()
        sim.stop()


# The thread's end by SystemExit is the point of this test: pytest reports it as a warning.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_reader_thread_is_seen_and_restarted_by_the_hub_watchdog(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SystemExit ends a thread without a word; the watchdog notices, logs and restarts it."""
    driver = buggy_driver("exit", error=SystemExit)
    sim = Simulator(driver)
    port = sim.start()
    monitor = sim.monitor
    assert isinstance(monitor, PoisonMonitor)
    hub = AcquisitionHub(None, time.time)
    link = hub.add_device(driver, port, source="bedside")
    assert isinstance(link, SerialLink)  # a serial port: its own counters are read
    try:
        assert wait_until(lambda: link.status.state == LinkState.LIVE)
        assert hub.watchdog() == []  # nothing to do while it runs
        monitor.send(POISON)
        assert wait_until(lambda: not link.is_alive(), timeout=5)
        st = link.status  # before any watchdog: not "live" any more
        assert (st.state, st.message) == (LinkState.LOST, DEAD_MESSAGE)
        assert hub.statuses()["bedside"].state == LinkState.LOST
        with caplog.at_level(logging.ERROR, logger="devices.link"):
            msgs = hub.watchdog()
        assert msgs == [f"bedside: {DEAD_MESSAGE}"] and link.restarts == 1
        assert any("reader thread had ended" in r.getMessage() for r in caplog.records)
        drained = hub.drain().statuses
        assert (LinkState.LOST, DEAD_MESSAGE) in [(s.state, s.message) for s in drained]
        t = time.time()
        assert wait_until(lambda: (r := hub.latest(HR)) is not None and r.t > t, timeout=5)
        assert link.status.state == LinkState.LIVE and hub.watchdog() == []
    finally:
        hub.stop()
        sim.stop()
    assert link.status.state == LinkState.STOPPED and hub.watchdog() == []


class WedgedSink(CollectingSink):
    """A sink whose samples() blocks once told to (a stuck consumer), until released."""

    def __init__(self) -> None:
        super().__init__()
        self.wedge = threading.Event()
        self.release = threading.Event()

    def samples(self, source: str, samples: list[Sample]) -> None:
        if self.wedge.is_set():
            self.release.wait(20)
        super().samples(source, samples)


def test_live_means_frames_arrived_even_when_the_thread_is_stuck(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = WedgedSink()
    sim, _, link = start(plain_sim(), sink, no_data_after=0.8)
    try:
        sink.wedge.set()
        assert wait_until(lambda: link.status.state == LinkState.NO_DATA, timeout=5)
        assert link.is_alive() and not link.is_live()
        assert link.status.message.startswith("No data")
        # The thread cannot say so itself; the watchdog does, so the record shows it too.
        assert wait_until(lambda: (link.check(), sink.statuses[-1].state)[1]
                          == LinkState.NO_DATA, timeout=5)
        assert sink.statuses[-1].message == WEDGED_MESSAGE
        assert any("reader thread is stuck" in r.getMessage() and "in samples" in r.getMessage()
                   for r in caplog.records)  # where it is stuck, for support
        sink.release.set()
        sink.wedge.clear()
        n = len(sink.statuses)
        assert sink.wait_for(lambda s: LinkState.LIVE in s.states()[n:], timeout=5)
    finally:
        sink.release.set()
        link.stop()
        sim.stop()


class RaisingSink(CollectingSink):
    def samples(self, source: str, samples: list[Sample]) -> None:
        super().samples(source, samples)
        raise RuntimeError("the store is unwell")


def test_a_sink_that_raises_does_not_stop_the_link(caplog: pytest.LogCaptureFixture) -> None:
    sink = RaisingSink()
    with caplog.at_level(logging.ERROR, logger="devices.link"):
        sim, _, link = start(plain_sim(), sink)
        try:
            assert sink.wait_for(lambda s: len(s.readings(HR)) >= 2)
            assert link.sink_errors >= 2 and link.is_alive() and link.crashes == 0
        finally:
            link.stop()
            sim.stop()
    assert sum("passing on samples failed" in r.getMessage() for r in caplog.records) == 1


# --- the plausibility gate sits in the link -------------------------------------------------------


def test_implausible_values_arrive_invalid_with_reasons_and_are_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = CollectingSink()
    sim, monitor, link = start(plain_sim(), sink)
    bpm = mdc.MDC_DIM_BEAT_PER_MIN
    try:
        with caplog.at_level(logging.WARNING, logger="devices.link"):
            t = time.time()
            for _ in range(2):
                monitor.send(numeric_line(1000, HR, math.inf, bpm, Quality.VALID)
                             + numeric_line(2000, HR, 510, bpm, Quality.VALID)
                             + numeric_line(3000, HR, 72, bpm, Quality.MANUAL)
                             + numeric_line(4000, SPO2, 150, mdc.MDC_DIM_PERCENT, Quality.VALID))
            assert sink.wait_for(lambda s: len([r for r in readings_after(s, t)
                                                if r.device_time in (1, 2, 3)]) >= 6)
    finally:
        link.stop()
        sim.stop()
    by_dt = {r.device_time: r for r in sink.received if isinstance(r, Reading) and r.t > t
             and r.device_time in (1, 2, 3, 4)}
    assert by_dt[1].quality == Quality.INVALID and math.isnan(by_dt[1].value)
    assert by_dt[2].quality == Quality.INVALID and "outside 15–300" in (by_dt[2].reason or "")
    assert by_dt[3].quality == Quality.QUESTIONABLE and "manual" in (by_dt[3].reason or "")
    assert by_dt[4].quality == Quality.INVALID and by_dt[4].code == SPO2
    assert link.decoder.stats.values_rejected >= 8
    assert link.status.stats.values_rejected >= 8
    warned = [r.getMessage().split(": ", 1)[1] for r in caplog.records
              if "value rejected" in r.getMessage()]
    assert len(warned) == 4  # once per parameter and reason, though each came twice
    assert not any("510" in w or "150" in w for w in warned), "no values in the log"


# --- properties: whatever a decoder raises or returns, the link goes on ---------------------------


EXCEPTIONS = [RuntimeError, ValueError, KeyError, IndexError, OverflowError, ZeroDivisionError,
              AttributeError, TypeError, AssertionError, RecursionError, struct.error,
              NotImplementedError, StopIteration, UnicodeError, MemoryError]


class ChaosDecoder:
    """A decoder that raises a given exception, or returns junk, from any of its methods."""

    def __init__(self, source: str) -> None:
        self.stats = DecoderStats()
        self.plan: list[tuple[str, object]] = []

    def _next(self, method: str) -> object:
        if self.plan and self.plan[0][0] == method:
            _, what = self.plan.pop(0)
            if isinstance(what, type) and issubclass(what, BaseException):
                raise what("chaos")
            return what
        return None

    def feed(self, data: bytes, now: float) -> list[Sample]:
        self.stats.bytes_in += len(data)
        got = self._next("feed")
        return got if got is not None else []  # type: ignore[return-value]

    def outgoing(self, now: float) -> bytes:
        got = self._next("outgoing")
        return got if got is not None else b""  # type: ignore[return-value]

    def reset(self) -> None:
        self._next("reset")


JUNK = st.sampled_from([None, 0, "text", [1, "x"], (None,), b"bytes", [object()],
                        [Reading(0.0, "c", 2**80, 1.0, 0)]])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["feed", "outgoing", "reset"]),
                          st.one_of(st.sampled_from(EXCEPTIONS), JUNK)), max_size=12),
       st.binary(max_size=64))
def test_no_exception_escapes_the_link_whatever_the_decoder_does(
    plan: list[tuple[str, object]], data: bytes,
) -> None:
    passed: list[Sample] = []

    class Sink:
        def samples(self, source: str, samples: list[Sample]) -> None:
            passed.extend(samples)

        def status(self, status: LinkStatus) -> None:
            pass

    driver = replace(get_driver("sim"), name="chaos", make_decoder=ChaosDecoder)
    link = SerialLink("loop://", driver, Sink())  # never started: its methods are driven here
    assert isinstance(link.decoder, ChaosDecoder)
    link.decoder.plan = list(plan)
    for i in range(len(plan) + 1):
        out = link._decode(data, float(i))
        assert isinstance(out, list)
        if out:
            link._emit(out)
        assert isinstance(link._outgoing(float(i)), bytes)
        link._reset_decoder()
        if not isinstance(link.decoder, ChaosDecoder):
            break
        if not link.decoder.plan and i >= len(plan):
            break
    assert all(isinstance(s, Reading) and 0 <= s.code < 2**32 for s in passed)
    assert link.decoder.stats.frames_rejected >= link.decoder.stats.faults
    assert link.sink_errors == 0 and link.crashes == 0
