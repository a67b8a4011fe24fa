"""The registry of monitor drivers, by the name used in `--device NAME:PORT` and settings.

Each module in devices/protocols/ that defines `DRIVER` is registered, so adding a monitor
is adding one module; a module may add variants of its monitor (one more request, e.g. the
S/5 with its ECG wave) in `VARIANTS`.

A name may carry the port settings the monitor is set to: `contec@19200-8O1` is the Contec
driver opened at 19200 baud, 8 data bits, odd parity (see SerialSettings.parse). The source
label stays `contec:PORT` whatever the settings.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

from devices import protocols
from devices.mllp_listener import ListenSpec, is_listen_url
from devices.protocol import Driver, SerialSettings


class UnknownProtocol(ValueError):
    """A protocol name that no driver answers to."""


DRIVERS: dict[str, Driver] = {}

for _info in sorted(pkgutil.iter_modules(protocols.__path__), key=lambda m: m.name):
    _mod = importlib.import_module(f"devices.protocols.{_info.name}")
    _driver = getattr(_mod, "DRIVER", None)
    if isinstance(_driver, Driver):
        DRIVERS[_driver.name] = _driver
    for _variant in getattr(_mod, "VARIANTS", ()):
        if isinstance(_variant, Driver):
            DRIVERS[_variant.name] = _variant


def get_driver(name: str) -> Driver:
    """The driver for `name` (or an alias), with the port settings of `name@SETTINGS` if given."""
    key, at, settings = name.strip().lower().partition("@")
    for d in DRIVERS.values():
        if key == d.name or key in d.aliases:
            break
    else:
        raise UnknownProtocol(
            f"unknown monitor protocol {name!r}; known protocols: {', '.join(sorted(DRIVERS))}"
        )
    if not at:
        return d
    try:
        chosen = SerialSettings.parse(settings)
    except ValueError as e:
        supported = ", ".join(f"{d.name}@{s.spec()}" for s in d.supported)
        raise UnknownProtocol(f"{e}; {d.title} is usually set to: {supported}") from None
    return dataclasses.replace(d, settings=chosen)


def device_name(driver: Driver) -> str:
    """What to write in settings and on the command line for this driver: its name, with
    `@SETTINGS` when its port settings are not the driver's usual ones."""
    usual = DRIVERS.get(driver.name)
    if usual is None or driver.settings == usual.settings:
        return driver.name
    return f"{driver.name}@{driver.settings.spec()}"


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
