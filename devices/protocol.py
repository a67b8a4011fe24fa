"""What every monitor driver provides: serial settings, a decoder, and a simulated monitor.

A driver is data plus two factories, so the link, the recorder, the settings dialog, the
simulator and the benchmark all treat IntelliVue, S/5, Masimo, Nonin, HL7 and our own `sim`
line protocol the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from devices.physiology import Physiology
from devices.reading import Sample


@dataclass(frozen=True, slots=True)
class SerialSettings:
    """The port settings a monitor expects; shown in the device dialog, used to open the port."""

    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"  # pyserial's PARITY_NONE / "E" / "O"
    stopbits: float = 1
    rtscts: bool = False
    xonxoff: bool = False

    def describe(self) -> str:
        flow = "RTS/CTS" if self.rtscts else ("XON/XOFF" if self.xonxoff else "no handshake")
        return f"{self.baudrate} baud, {self.bytesize}{self.parity}{self.stopbits:g}, {flow}"

    def spec(self) -> str:
        """The short form used after a protocol name, e.g. `19200-8O1` or `19200-8E1-rtscts`."""
        flow = "-rtscts" if self.rtscts else ("-xonxoff" if self.xonxoff else "")
        return f"{self.baudrate}-{self.bytesize}{self.parity}{self.stopbits:g}{flow}"

    @classmethod
    def parse(cls, text: str) -> SerialSettings:
        """`19200`, `19200-8O1`, `19200-8E1-rtscts`: the inverse of `spec`. Raises ValueError
        with a sentence a biomedical engineer can act on."""
        m = _SPEC.fullmatch(text.strip().lower())
        if m is None:
            raise ValueError(f"serial settings {text!r} should look like 19200 or 19200-8N1 "
                             "(baud, data bits, parity N/E/O, stop bits; optional -rtscts)")
        baud = int(m.group(1))
        if baud not in STANDARD_BAUDRATES:
            raise ValueError(f"{baud} is not a serial baud rate; choose one of "
                             f"{', '.join(str(b) for b in STANDARD_BAUDRATES)}")
        frame = m.group(2)
        bytesize, parity, stop = (int(frame[0]), frame[1].upper(), float(frame[2:])) if frame \
            else (8, "N", 1.0)
        flow = m.group(3) or ""
        return cls(baud, bytesize, parity, stop, rtscts=flow == "rtscts",
                   xonxoff=flow == "xonxoff")


STANDARD_BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)
_SPEC = re.compile(r"(\d{3,6})(?:-([78][noe](?:1|1\.5|2)))?(?:-(rtscts|xonxoff))?")


@dataclass(slots=True)
class DecoderStats:
    """Counters shown in the device dialog and used to tell 'no data' from 'wrong protocol'."""

    frames_ok: int = 0
    frames_rejected: int = 0  # bad checksum, bad length, unparseable, or the decoder raised
    bytes_in: int = 0
    faults: int = 0  # of the rejected frames: those where the decoder raised (devices.containment)
    values_rejected: int = 0  # readings the plausibility gate made INVALID or dropped
    rows_skipped: int = 0  # rows of a good frame that could not be used (the rest was)
    last_frame_t: float | None = None


class Decoder(Protocol):
    """Turns a byte stream into samples. Never raises on bad input: it counts and resyncs.

    Should it raise all the same (a bug), the link contains it: see devices.containment.

    `feed` may be given the stream split at any byte boundary. `outgoing` returns whatever the
    protocol must send to the device at `now` (association, polls, keep-alives, ACKs) and is
    called by the link after every read and at least every 100 ms. `reset` is called when the
    port is (re)opened. Codes in the produced samples are canonical MDC codes
    (devices.mdc.canonical).
    """

    stats: DecoderStats

    def feed(self, data: bytes, now: float) -> list[Sample]: ...

    def outgoing(self, now: float) -> bytes: ...

    def reset(self) -> None: ...


class SimulatedMonitor(Protocol):
    """The monitor's side of a protocol, byte for byte, driven by a physiology model."""

    def receive(self, data: bytes, now: float) -> None:
        """Bytes the client (our link) sent to the monitor."""

    def produce(self, now: float) -> bytes:
        """Bytes the monitor sends between the previous call and `now` (called every ~20 ms)."""

    def reset(self) -> None:
        """The cable was re-plugged: start over as a freshly powered monitor would."""


@dataclass(frozen=True)
class Driver:
    name: str  # used on the command line: --device NAME:PORT
    title: str  # shown to clinicians
    settings: SerialSettings
    make_decoder: Callable[[str], Decoder]  # argument: the source label for readings
    make_simulator: Callable[[Physiology], SimulatedMonitor]
    talks_back: bool = False  # the protocol writes to the device (association, polls, ACKs)
    # Seconds between numerics in normal running; staleness and "no data" scale with it.
    update_interval: float = 1.0
    notes: str = ""
    aliases: tuple[str, ...] = field(default_factory=tuple)
    # Other port settings the monitor can be set to (its menu offers them); the probe tries
    # `settings` first, then these. A device spec picks one: `contec@19200-8O1:/dev/ttyUSB0`.
    alternatives: tuple[SerialSettings, ...] = field(default_factory=tuple)
    # False for a variant of another driver (same bytes, one more request): the probe finds
    # the monitor under the plain driver and need not try the variant too.
    probe: bool = True

    @property
    def supported(self) -> tuple[SerialSettings, ...]:
        """Every port setting this monitor family can use, the usual one first."""
        return (self.settings, *(s for s in self.alternatives if s != self.settings))
