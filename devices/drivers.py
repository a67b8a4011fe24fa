"""The registry of monitor drivers, by the name used in `--device NAME:PORT` and settings.

Each module in devices/protocols/ that defines `DRIVER` is registered, so adding a monitor
is adding one module.
"""

from __future__ import annotations

import importlib
import pkgutil

from devices import protocols
from devices.mllp_listener import ListenSpec, is_listen_url
from devices.protocol import Driver


class UnknownProtocol(ValueError):
    """A protocol name that no driver answers to."""


DRIVERS: dict[str, Driver] = {}

for _info in sorted(pkgutil.iter_modules(protocols.__path__), key=lambda m: m.name):
    _mod = importlib.import_module(f"devices.protocols.{_info.name}")
    _driver = getattr(_mod, "DRIVER", None)
    if isinstance(_driver, Driver):
        DRIVERS[_driver.name] = _driver


def get_driver(name: str) -> Driver:
    key = name.strip().lower()
    for d in DRIVERS.values():
        if key == d.name or key in d.aliases:
            return d
    raise UnknownProtocol(
        f"unknown monitor protocol {name!r}; known protocols: {', '.join(sorted(DRIVERS))}"
    )


def parse_device(spec: str) -> tuple[Driver, str]:
    """'nonin:/dev/ttyUSB0' -> (driver, port). A bare port means the sim protocol.

    'hl7:listen:2575?bed=ROOM1' listens for HL7 gateways (devices.mllp_listener); a listening
    address that cannot be used raises ValueError with the reason.
    """
    name, sep, port = spec.partition(":")
    if not sep or not port:
        raise UnknownProtocol(
            f"device {spec!r} should look like PROTOCOL:PORT, e.g. nonin:/dev/ttyUSB0"
        )
    # socket://host:port and loop:// keep their own colons after the protocol name.
    driver = get_driver(name)
    if is_listen_url(port):
        if driver.name != "hl7":
            raise UnknownProtocol(f"only HL7 gateways can be listened for ({spec!r}); use "
                                  "hl7:listen:PORT?bed=BED")
        ListenSpec.parse(port)
    return driver, port
