"""Raw capture files (`.hscap`): every byte a monitor sent, with the time it arrived.

The first thing support asks for when a monitor "doesn't work" is what came down the cable.
A capture file is a short header (magic line + one JSON line: protocol, port, settings,
start time) followed by records `<d I` = float64 host time, uint32 length, then the bytes.
The top bit of the length marks bytes Holdspace *sent* (association, polls, ACKs of
talk-back protocols), so a capture shows both directions; replay plays only what was received.
A file cut short by a crash or a full disk reads up to its last whole record.
Patient identification (HL7 PID/NK1/MRG and visit numbers, IntelliVue demographics) is
redacted before it is written (devices/redact.py), and the header says so (`privacy`).
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from devices.redact import REDACTED, Redactor

MAGIC = b"HSCAP 1\n"
RECORD = struct.Struct("<dI")
SENT_FLAG = 0x8000_0000
MAX_RECORD = 16 * 1024 * 1024  # far above any single read; larger means a damaged file
SUFFIX = ".hscap"


class CaptureError(ValueError):
    """A file that is not a readable capture; the message is for the person who opened it."""


@dataclass(frozen=True, slots=True)
class CaptureRecord:
    t: float  # host time the bytes arrived (or were sent)
    data: bytes
    sent: bool = False  # True: bytes Holdspace wrote to the monitor


@dataclass
class Capture:
    header: dict[str, Any] = field(default_factory=dict)
    records: list[CaptureRecord] = field(default_factory=list)
    truncated: bool = False  # the file ended inside a record

    @property
    def received(self) -> list[CaptureRecord]:
        return [r for r in self.records if not r.sent]

    @property
    def duration(self) -> float:
        rx = self.received
        return rx[-1].t - rx[0].t if len(rx) > 1 else 0.0

    @property
    def protocol(self) -> str | None:
        p = self.header.get("protocol")
        return str(p) if p else None


def write_header(f: BinaryIO, protocol: str, port: str, settings: str = "",
                 started: float | None = None) -> None:
    """Start a capture file: who was connected where, so support can read it without asking."""
    meta = {"protocol": protocol, "port": port, "settings": settings,
            "started": time.time() if started is None else started, "format": "<dI records",
            "privacy": REDACTED}
    f.write(MAGIC + json.dumps(meta, ensure_ascii=False).encode("utf-8") + b"\n")
    f.flush()
    setattr(f, _REDACTOR, Redactor(protocol))  # a plain file object: no field to type


_REDACTOR = "_holdspace_redactor"


def write_record(f: BinaryIO, t: float, data: bytes, sent: bool = False) -> None:
    """One record, flushed at once so a crash loses at most the bytes of this read.

    Received bytes pass the capture's redactor first (devices/redact.py): bytes of a segment
    or frame not yet ended wait for the read that ends it."""
    redactor = getattr(f, _REDACTOR, None)
    if not sent and isinstance(redactor, Redactor):
        data = redactor.feed(data)
        if not data:
            return
    n = len(data)
    f.write(RECORD.pack(t, n | SENT_FLAG if sent else n) + data)
    f.flush()


def open_capture(path: Path, protocol: str, port: str, settings: str = "") -> BinaryIO:
    """Create a capture file (and its folder) with its header; the caller closes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    f = path.open("wb")
    write_header(f, protocol, port, settings)
    return f


def iter_records(f: BinaryIO) -> Iterator[CaptureRecord]:
    """Records after the header; stops quietly at a truncated tail."""
    while True:
        head = f.read(RECORD.size)
        if len(head) < RECORD.size:
            return
        t, n = RECORD.unpack(head)
        sent = bool(n & SENT_FLAG)
        n &= ~SENT_FLAG
        if n > MAX_RECORD:
            raise CaptureError("the capture file is damaged (a record claims an impossible size)")
        data = f.read(n)
        if len(data) < n:
            return
        yield CaptureRecord(t, data, sent)


def read_header(f: BinaryIO, name: str = "the file") -> dict[str, Any]:
    if f.read(len(MAGIC)) != MAGIC:
        raise CaptureError(f"{name} is not a Holdspace capture file (.hscap)")
    line = f.readline(65536)
    try:
        meta = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CaptureError(f"{name}: the capture header is damaged") from None
    if not isinstance(meta, dict):
        raise CaptureError(f"{name}: the capture header is damaged")
    return meta


def read_capture(path: Path) -> Capture:
    """The whole file in memory (captures are small: at most about 40 MB per hour)."""
    try:
        with path.open("rb") as f:
            header = read_header(f, path.name)
            size = path.stat().st_size
            start = f.tell()
            records = list(iter_records(f))
            whole = start + sum(RECORD.size + len(r.data) for r in records)
            truncated = whole < size
    except FileNotFoundError:
        raise CaptureError(f"there is no capture file at {path}") from None
    except IsADirectoryError:
        raise CaptureError(f"{path} is a folder, not a capture file") from None
    except PermissionError:
        raise CaptureError(f"no permission to read {path}") from None
    return Capture(header, records, truncated)
