"""Which monitor is on this port? Try each driver's settings in turn and see which one decodes.

Used by the device dialog's "Probe" button, so the person in the room need not know the
monitor's protocol or baud rate. For each driver the port is opened with each port setting the
monitor family supports (`Driver.supported`: the usual one first, then e.g. the IntelliVue's
19200 baud or the older Contec's 19200 8O1), what arrives is fed to a fresh decoder for a short
window, and what talk-back protocols must send (association, polls) is sent. The first driver
and setting that decode a few good frames win; the result names the setting, so the link is
opened the same way (`device_name`, e.g. `contec@19200-8O1`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import serial

from devices.containment import frame_fault
from devices.drivers import DRIVERS, device_name
from devices.link import friendly_open_error, open_port
from devices.protocol import Driver, SerialSettings

LISTEN_S = 2.5  # per protocol; a monitor sends at least once a second
MIN_FRAMES = 3


@dataclass(frozen=True, slots=True)
class ProbeResult:
    protocol: str
    title: str
    settings: str
    frames_ok: int = 0
    frames_rejected: int = 0
    bytes_in: int = 0
    error: str | None = None  # why the port could not be used, in words for the room
    skipped: bool = False  # not tried: a silent port stays silent at any baud rate
    serial: SerialSettings | None = None  # the port setting of this result (None if skipped)
    tried: tuple[str, ...] = ()  # every setting tried for this driver, in order

    @property
    def device(self) -> str:
        """The protocol to configure: the driver's name, with `@SETTINGS` if not its usual."""
        driver = DRIVERS.get(self.protocol)
        if self.serial is None or driver is None:
            return self.protocol
        return device_name(dataclasses.replace(driver, settings=self.serial))

    @property
    def matched(self) -> bool:
        """Checksummed frames decoded, and more good than bad (line noise is allowed)."""
        return self.frames_ok >= 1 and self.frames_ok >= self.frames_rejected


@dataclass(frozen=True, slots=True)
class ProbeReport:
    port: str
    results: tuple[ProbeResult, ...]

    @property
    def best(self) -> ProbeResult | None:
        found = [r for r in self.results if r.matched]
        return max(found, key=lambda r: r.frames_ok) if found else None

    def summary(self) -> str:
        """One sentence for the person in the room."""
        best = self.best
        if best is not None:
            return (f"Found: {best.title} ({best.settings}) — {best.frames_ok} good frames "
                    f"on {self.port}.")
        errors = [r.error for r in self.results if r.error]
        if errors and not any(r.bytes_in for r in self.results):
            return errors[0]
        if any(r.bytes_in for r in self.results):
            return (f"Data arrives on {self.port} but no monitor type can read it — check the "
                    "monitor's data-export protocol and baud rate.")
        return (f"No data on {self.port} — check the cable and that the monitor's data export "
                "is switched on.")


def default_order(drivers: Iterable[Driver] | None = None) -> list[Driver]:
    """Real monitors first (quiet ones that must be asked last), our simulator last.

    Without an explicit list, variants of another driver (`Driver.probe` False) are left out:
    the plain driver recognises the same monitor."""
    ds = list(drivers) if drivers is not None else [d for d in DRIVERS.values() if d.probe]
    return sorted(ds, key=lambda d: (d.name == "sim", d.talks_back, d.name))


def probe_driver(url: str, driver: Driver, listen: float = LISTEN_S,
                 cancel: threading.Event | None = None,
                 now: Callable[[], float] = time.monotonic) -> ProbeResult:
    """Try each port setting the driver supports; the first that decodes is the result.

    A passive monitor that sent nothing at one setting sends nothing at the others either
    (a wrong baud rate still delivers bytes, as garbage), so a silent port is tried once.
    """
    results: list[ProbeResult] = []
    for settings in driver.supported:
        if cancel is not None and cancel.is_set():
            break
        r = probe_setting(url, driver, settings, listen, cancel, now)
        results.append(r)
        if r.matched or (r.error and not r.bytes_in):
            break
        if not r.bytes_in and not driver.talks_back:
            break
    if not results:
        return ProbeResult(driver.name, driver.title, driver.settings.describe(), skipped=True)
    best = max(results, key=lambda r: (r.matched, r.frames_ok, r.bytes_in))
    return dataclasses.replace(best, tried=tuple(r.settings for r in results))


def probe_setting(url: str, driver: Driver, chosen: SerialSettings, listen: float = LISTEN_S,
                  cancel: threading.Event | None = None,
                  now: Callable[[], float] = time.monotonic) -> ProbeResult:
    """Listen on `url` with one driver at one port setting; stops early once it clearly
    decodes."""
    name, title, settings = driver.name, driver.title, chosen.describe()
    try:
        port = open_port(url, chosen)
    except (serial.SerialException, OSError, ValueError) as e:
        return ProbeResult(name, title, settings, error=friendly_open_error(url, e),
                           serial=chosen)
    decoder = driver.make_decoder(f"probe:{url}")
    # A monitor that reports every few seconds (S/5) has shown itself with one good frame.
    need = MIN_FRAMES if driver.update_interval <= 1.0 else 1
    error = None
    try:
        start = now()
        last_out = -1.0
        while now() - start < listen and not (cancel and cancel.is_set()):
            data = port.read(max(1, min(port.in_waiting, 65536)))
            t = time.time()
            if data:
                try:
                    decoder.feed(data, t)
                except Exception as e:  # a decoder bug costs these bytes, not the probe
                    frame_fault(name, f"probe:{url}", e, data, decoder.stats, "feed")
                    with contextlib.suppress(Exception):
                        decoder.reset()
            if data or now() - last_out >= 0.1:
                try:
                    out = decoder.outgoing(t)
                except Exception as e:
                    frame_fault(name, f"probe:{url}", e, b"", decoder.stats, "outgoing")
                    out = b""
                if out:
                    port.write(out)
                last_out = now()
            st = decoder.stats
            if st.frames_ok >= need and st.frames_ok >= 2 * st.frames_rejected:
                break
    except (serial.SerialException, OSError) as e:
        error = f"The port {url} went away while listening ({type(e).__name__}) — check the cable."
    finally:
        with contextlib.suppress(serial.SerialException, OSError):
            port.close()
    st = decoder.stats
    return ProbeResult(name, title, settings, st.frames_ok, st.frames_rejected, st.bytes_in,
                       error, serial=chosen)


def probe(
    url: str,
    drivers: Iterable[Driver] | None = None,
    listen: float = LISTEN_S,
    stop_at_first: bool = True,
    progress: Callable[[Driver], None] | None = None,
    cancel: threading.Event | None = None,
) -> ProbeReport:
    """Try `drivers` (default: all, in `default_order`) on `url`; never raises on a bad port."""
    results: list[ProbeResult] = []
    silent = False
    for driver in default_order(drivers):
        if cancel is not None and cancel.is_set():
            break
        if silent and not driver.talks_back:
            results.append(ProbeResult(driver.name, driver.title, driver.settings.describe(),
                                       skipped=True))
            continue
        if progress is not None:
            progress(driver)
        r = probe_driver(url, driver, listen, cancel)
        results.append(r)
        if r.error and not r.bytes_in:
            break  # not found / in use / no permission: the same for every protocol
        if r.matched and stop_at_first:
            break
        if not r.bytes_in and not driver.talks_back:
            silent = True
    return ProbeReport(url, tuple(results))
