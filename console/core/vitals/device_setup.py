"""Apply a changed list of monitors to the running hub without interrupting the unchanged ones.

Reconnecting a monitor that did not change would leave a gap in the record of a patient who
is being dosed, so only links whose protocol, port or capture switch changed are restarted.
"""

from __future__ import annotations

from pathlib import Path

from console.core.acquisition import AcquisitionHub
from console.core.config import DeviceConfig
from console.core.vitals.captures import connect
from devices.drivers import UnknownProtocol, get_driver
from devices.link import LinkState, LinkStatus
from devices.protocol import DecoderStats, SerialSettings


def source_for(d: DeviceConfig) -> str:
    """The source label a configured device's readings are stored under (as SerialLink makes it)."""
    try:
        name = get_driver(d.protocol).name
    except UnknownProtocol:
        name = d.protocol
    return f"{name}:{d.port}"


def apply_devices(hub: AcquisitionHub, new: list[DeviceConfig], db_path: Path,
                  keep: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Make the hub's links match `new`; returns one message per device that could not start.

    Links in `keep` (e.g. the built-in simulator) are left alone.
    """
    wanted = {source_for(d): d for d in new}
    for source, link in list(hub.links.items()):
        if source in keep:
            continue
        d = wanted.get(source)
        if (d is None or bool(link.capture is not None) != d.capture
                or _port_settings_changed(link.driver.settings, d)):
            hub.remove_device(source, reason="monitor settings changed")
    problems: list[str] = []
    for source, d in wanted.items():
        if source in hub.links:
            continue
        try:
            connect(hub, d, db_path, problems=problems)
        except (UnknownProtocol, ValueError) as e:
            # Only a hand-edited settings file gets here; say so where link states are shown.
            msg = (f"Cannot start the monitor on {d.port}: {e} — choose its type under "
                   "Devices ▸ Monitors….")
            problems.append(msg)
            hub.status(LinkStatus(source, LinkState.LOST, msg, hub.now(), DecoderStats()))
    return problems


def _port_settings_changed(running: SerialSettings, d: DeviceConfig) -> bool:
    """The monitor is now to be read at other port settings (`contec@19200-8O1`)."""
    try:
        return get_driver(d.protocol).settings != running
    except UnknownProtocol:
        return False


def preferred_from_config(raw: dict[str, str]) -> dict[int, str]:
    """Config keeps codes as strings (JSON); the hub wants ints. Bad keys are dropped."""
    out: dict[int, str] = {}
    for k, v in raw.items():
        try:
            out[int(k)] = str(v)
        except ValueError:
            continue
    return out
