"""Shared fixtures: a real database file, a real simulator on a pty, a running core."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from console.core.config import Config
from devices.drivers import get_driver
from devices.link import LinkState, LinkStatus
from devices.physiology import Physiology
from devices.reading import Reading, Sample
from devices.simulator import Simulator


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A database file path in a fresh temporary folder."""
    return tmp_path / "holdspace.db"


@pytest.fixture
def sim_port(tmp_path: Path) -> Iterator[tuple[Simulator, str]]:
    """The built-in simulator (calm) on a real pty behind a stable symlink."""
    sim = Simulator(get_driver("sim"), link_path=str(tmp_path / "ttySIM0"))
    port = sim.start()
    yield sim, port
    sim.stop()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """An empty workstation config stored in the test's folder."""
    return Config(path=tmp_path / "workstation.json")


class CollectingSink:
    """A LinkSink that keeps everything and lets a test wait for a condition."""

    def __init__(self) -> None:
        self.received: list[Sample] = []
        self.statuses: list[LinkStatus] = []
        self._cond = threading.Condition()

    def samples(self, source: str, samples: list[Sample]) -> None:
        with self._cond:
            self.received.extend(samples)
            self._cond.notify_all()

    def status(self, status: LinkStatus) -> None:
        with self._cond:
            self.statuses.append(status)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[CollectingSink], bool], timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)

    def states(self) -> list[LinkState]:
        return [s.state for s in self.statuses]

    def readings(self, code: int) -> list[Reading]:
        return [r for r in self.received if isinstance(r, Reading) and r.code == code]


@pytest.fixture
def sink() -> CollectingSink:
    """A link sink that records samples and states."""
    return CollectingSink()


def physiology(scenario: str, started_ago: float = 0.0) -> Physiology:
    import time

    return Physiology(scenario, start=time.time() - started_ago)


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, poll: float = 0.02) -> bool:
    """Poll a condition owned by another thread (no notification to wait on) until true."""
    import time

    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            return False
        tick.wait(poll)
    return True
