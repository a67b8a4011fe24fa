"""The registry of monitor drivers, by the name used in `--device NAME:PORT` and settings.

Each module in devices/protocols/ that defines `DRIVER` is registered, so adding a monitor
is adding one module; a module may add variants of its monitor (one more request, e.g. the
S/5 with its ECG wave) in `VARIANTS`. A driver under any other name is refused at import
(`DriverDefinitionError`), never left out silently.

A name may carry the port settings the monitor is set to: `contec@19200-8O1` is the Contec
driver opened at 19200 baud, 8 data bits, odd parity (see SerialSettings.parse). The source
label stays `contec:PORT` whatever the settings.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Iterable
from types import ModuleType

from devices import protocols
from devices.mllp_listener import ListenSpec, is_listen_url
from devices.protocol import Driver, SerialSettings


class UnknownProtocol(ValueError):
    """A protocol name that no driver answers to."""


class DriverDefinitionError(TypeError):
    """A protocol module whose driver would not be registered: a `DRIVER` that is not a
    Driver, or a Driver under another name. Raised at import, so a misnamed driver fails the
    tests instead of silently missing from the list of monitors."""


def collect(modules: Iterable[ModuleType]) -> dict[str, Driver]:
    """The drivers the given protocol modules declare (`DRIVER`, and `VARIANTS`), by name.

    A module that holds a Driver under any other module-level name, and declares none, has
    misnamed its `DRIVER`; that, a `DRIVER` or variant that is not a Driver, and two drivers
    with one name are refused with the module and the name, never skipped.
    """
    found: dict[str, Driver] = {}
    undeclared: list[tuple[str, str, Driver]] = []
    for mod in modules:
        declared: list[Driver] = []
        driver = getattr(mod, "DRIVER", None)
        if driver is not None:
            if not isinstance(driver, Driver):
                raise DriverDefinitionError(
                    f"{mod.__name__}.DRIVER is a {type(driver).__name__}, not a Driver")
            declared.append(driver)
        for i, variant in enumerate(getattr(mod, "VARIANTS", ())):
            if not isinstance(variant, Driver):
                raise DriverDefinitionError(
                    f"{mod.__name__}.VARIANTS[{i}] is a {type(variant).__name__}, not a Driver")
            declared.append(variant)
        for d in declared:
            if d.name in found and found[d.name] is not d:
                raise DriverDefinitionError(
                    f"two drivers are named {d.name!r}; the second is in {mod.__name__}")
            found[d.name] = d
        if driver is None:
            undeclared += [(mod.__name__, attr, value) for attr, value in vars(mod).items()
                           if isinstance(value, Driver)]
    for module, attr, value in undeclared:
        if not any(value is d for d in found.values()):  # not another module's, imported
            raise DriverDefinitionError(
                f"{module} defines the driver {value.name!r} as {attr}, so it would not be "
                "registered: name it DRIVER (or list it in VARIANTS)")
    return found


DRIVERS: dict[str, Driver] = collect(
    importlib.import_module(f"devices.protocols.{info.name}")
    for info in sorted(pkgutil.iter_modules(protocols.__path__), key=lambda m: m.name)
)


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
