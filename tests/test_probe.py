"""Probing a port: each driver's settings in turn, on real pseudo-terminals."""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.drivers import DRIVERS, get_driver
from devices.link import open_port
from devices.probe import default_order, probe
from devices.simulator import Simulator


@pytest.fixture
def noisy_pty() -> Iterator[str]:
    """A port on which line noise arrives continuously (seeded, so a failure repeats)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    stop = threading.Event()
    rng = random.Random(1234)

    def run() -> None:
        while not stop.wait(0.01):
            with contextlib.suppress(OSError):  # nobody reading: the buffer is full
                os.write(master, bytes(rng.getrandbits(8) for _ in range(64)))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    yield os.ttyname(slave)
    stop.set()
    t.join(2)
    os.close(master)
    os.close(slave)


def test_sim_is_found_and_no_other_decoder_claims_its_data(
    sim_port: tuple[Simulator, str],
) -> None:
    _, port = sim_port
    rep = probe(port, listen=0.25, stop_at_first=False)
    assert [r.protocol for r in rep.results] == [d.name for d in default_order()]
    assert rep.results[-1].protocol == "sim", "our simulator is tried last"
    matched = [r.protocol for r in rep.results if r.matched]
    assert matched == ["sim"], rep.results
    assert rep.best is not None and rep.best.protocol == "sim"
    assert rep.summary().startswith("Found: Holdspace simulator")
    assert all(r.bytes_in > 0 for r in rep.results), "every protocol heard the bytes"


@pytest.mark.parametrize("name", sorted(n for n in DRIVERS if n != "sim"))
def test_each_monitor_simulator_is_recognised(name: str, tmp_path: Path) -> None:
    """Talk-back drivers get their association and polls answered during the probe."""
    t0 = time.time()
    fast = lambda: t0 + (time.time() - t0) * 5  # noqa: E731  (a once-a-second monitor, faster)
    sim = Simulator(get_driver(name), link_path=str(tmp_path / "ttyMON"), now=fast)
    port = sim.start()
    try:
        rep = probe(port, drivers=[get_driver(name)], listen=2.0)
    finally:
        sim.stop()
    assert rep.best is not None, rep.results
    assert rep.best.protocol == name
    assert rep.best.title in rep.summary()


def test_line_noise_is_not_mistaken_for_a_monitor(noisy_pty: str) -> None:
    rep = probe(noisy_pty, listen=0.25, stop_at_first=False)
    assert rep.best is None, rep.results
    assert sum(r.bytes_in for r in rep.results) > 0
    assert "Data arrives" in rep.summary() and "baud rate" in rep.summary()


def test_a_silent_port_says_no_data_and_does_not_try_every_baud_rate() -> None:
    master, slave = os.openpty()
    try:
        rep = probe(os.ttyname(slave), listen=0.3)
    finally:
        os.close(master)
        os.close(slave)
    assert rep.best is None
    passive = [r for r in rep.results if not get_driver(r.protocol).talks_back]
    talk_back = [r for r in rep.results if get_driver(r.protocol).talks_back]
    assert not passive[0].skipped and all(r.skipped for r in passive[1:])
    assert talk_back and not any(r.skipped for r in talk_back), "quiet until asked: try them"
    assert rep.summary().startswith("No data on")
    assert "cable" in rep.summary()


def test_a_missing_port_stops_at_once_with_words(tmp_path: Path) -> None:
    rep = probe(str(tmp_path / "ttyUSB9"), listen=5.0)
    assert len(rep.results) == 1
    assert "not found" in rep.summary() and "plugged in" in rep.summary()


def test_a_port_in_use_is_reported_not_stolen(sim_port: tuple[Simulator, str]) -> None:
    _, port = sim_port
    held = open_port(port, get_driver("sim").settings)
    try:
        rep = probe(port, listen=5.0)
    finally:
        held.close()
    assert len(rep.results) == 1
    assert "in use by another program" in rep.summary()


def test_probe_can_be_cancelled(sim_port: tuple[Simulator, str]) -> None:
    _, port = sim_port
    cancel = threading.Event()
    cancel.set()
    rep = probe(port, listen=5.0, cancel=cancel)
    assert rep.results == ()
