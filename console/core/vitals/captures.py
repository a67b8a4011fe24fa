"""Where capture files go and how a configured device is connected with or without one.

Captures live beside the database in `captures/`, named `<date>_<time>-<protocol>-<port>.hscap`
so support can find "the Nonin on ttyUSB0 this morning" without asking the room.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from console.core.acquisition import AcquisitionHub
from console.core.config import DeviceConfig
from devices.capture import SUFFIX, open_capture
from devices.drivers import get_driver
from devices.link import Link


def captures_dir(db_path: Path) -> Path:
    return db_path.parent / "captures"


def port_slug(port: str) -> str:
    """'/dev/ttyUSB0' -> 'ttyUSB0', 'socket://10.0.0.5:4001' -> 'socket-10.0.0.5-4001'."""
    p = port.strip()
    if "://" not in p:  # a device path: its last part names it (ttyUSB0, usb-FTDI_…, COM3)
        p = p.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    p = re.sub(r"[^A-Za-z0-9._-]+", "-", p).strip("-.")
    return p or "port"


def capture_path(db_path: Path, protocol: str, port: str, when: float | None = None) -> Path:
    stamp = time.strftime("%Y-%m-%d_%H%M%S", time.localtime(time.time() if when is None else when))
    base = captures_dir(db_path) / f"{stamp}-{protocol}-{port_slug(port)}"
    path = base.with_suffix(SUFFIX)
    n = 2
    while path.exists():  # two links started within the same second
        path = Path(f"{base}-{n}{SUFFIX}")
        n += 1
    return path


def connect(hub: AcquisitionHub, device: DeviceConfig, db_path: Path,
            source: str | None = None, problems: list[str] | None = None) -> Link:
    """Add one configured device to the hub, opening its capture file when asked for.

    A capture that cannot be created (disk full, read-only folder) must not stop the monitor
    from being read, so the link then runs without one and the reason goes to `problems`.
    """
    driver = get_driver(device.protocol)
    capture = None
    if device.capture:
        path = capture_path(db_path, driver.name, device.port)
        try:
            capture = open_capture(path, driver.name, device.port, driver.settings.describe())
        except OSError as e:
            capture = None
            if problems is not None:
                problems.append(f"No capture for {device.port}: cannot write {path} "
                                f"({e.strerror or e}). The monitor is read as usual.")
    try:
        return hub.add_device(driver, device.port, source=source, capture=capture)
    except Exception:
        if capture is not None:
            capture.close()
        raise
