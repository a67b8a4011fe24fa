"""The registry of monitor drivers, by the name used in `--device NAME:PORT` and settings."""

from __future__ import annotations

from devices.protocol import Driver, SerialSettings
from devices.protocols import sim


class UnknownProtocol(ValueError):
    """A protocol name that no driver answers to."""


DRIVERS: dict[str, Driver] = {}


def register(driver: Driver) -> None:
    DRIVERS[driver.name] = driver


def get_driver(name: str) -> Driver:
    key = name.strip().lower()
    for d in DRIVERS.values():
        if key == d.name or key in d.aliases:
            return d
    raise UnknownProtocol(
        f"unknown monitor protocol {name!r}; known protocols: {', '.join(sorted(DRIVERS))}"
    )


register(
    Driver(
        name="sim",
        title="Holdspace simulator (built-in)",
        settings=SerialSettings(baudrate=115200),
        make_decoder=sim.SimDecoder,
        make_simulator=sim.SimMonitor,
        notes="Our own documented line protocol; see docs/protocol-sim.md.",
    )
)
