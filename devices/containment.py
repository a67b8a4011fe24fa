"""What happens when a decoder raises: the frame is lost, never the link.

Decoders are written not to raise on bad input, but a bug or an input nobody thought of (a
400-digit number, a field in the wrong place) can still raise anywhere. Each decoder guards the
handling of one frame with `frame_fault`, so such an exception costs that frame only; the link
guards the whole `feed`/`outgoing` call the same way as a backstop (see devices.link). Either
way the frame is counted as rejected and the fault is logged once per protocol and kind.

Logs never hold patient data: a binary frame is shown as a short hex excerpt (numerics only),
an HL7 message only by its message type and segment names, since its text can hold names.
The exception's own message is left out for HL7 for the same reason (parsers quote fields).
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections import Counter
from pathlib import Path

from devices.protocol import DecoderStats

log = logging.getLogger("devices.containment")

EXCERPT_BYTES = 32  # hex shown from a binary or numeric frame
TEXT_PROTOCOLS = frozenset({"hl7"})  # frames that may carry names: outline only, never content
MESSAGE_CHARS = 80  # of an exception's message, for protocols without patient text

_lock = threading.Lock()
_counts: Counter[tuple[str, str]] = Counter()  # (protocol, kind) -> contained faults


def hl7_outline(data: bytes) -> str:
    """An HL7 message described without its content: message type and segment names."""
    text = data.decode("latin-1")
    names = [s[:3] for s in re.split(r"[\r\n\x0b\x1c]+", text)
             if re.fullmatch(r"[A-Z][A-Z0-9]{2}", s[:3])]
    mtype = "?"
    msh = re.search(r"MSH\|[^|\r]*(?:\|[^|\r]*){6}\|([^|\r]*)", text)
    if msh:
        parts = [p for p in msh.group(1).split("^")[:2] if re.fullmatch(r"[A-Z0-9_]{1,8}", p)]
        mtype = "^".join(parts) or "?"
    runs: list[str] = []
    for name in names:
        if runs and runs[-1].split("×")[0] == name:
            n = int(runs[-1].split("×")[1]) if "×" in runs[-1] else 1
            runs[-1] = f"{name}×{n + 1}"
        else:
            runs.append(name)
    return f"HL7 {mtype}, {len(data)} bytes, segments {' '.join(runs[:20]) or 'none'}"


def excerpt(protocol: str, data: bytes) -> str:
    """What of a frame may go into a log: hex of its start, or an HL7 outline."""
    if protocol in TEXT_PROTOCOLS:
        return hl7_outline(data)
    head = data[:EXCERPT_BYTES].hex(" ")
    more = f" … ({len(data)} bytes)" if len(data) > EXCERPT_BYTES else f" ({len(data)} bytes)"
    return head + more


def _where(exc: BaseException) -> str:
    """File:line and function where the exception was raised (the innermost frame)."""
    tb = traceback.extract_tb(exc.__traceback__)
    if not tb:
        return "?"
    f = tb[-1]
    return f"{Path(f.filename).name}:{f.lineno} in {f.name}"


def frame_fault(protocol: str, source: str, exc: BaseException, frame: bytes | bytearray,
                stats: DecoderStats, stage: str = "frame") -> None:
    """Count an exception raised while handling one frame; log the first of its kind.

    `stage` names what was being done ("frame", "feed", "outgoing"): together with the
    exception's type it is the kind that is logged once per protocol.
    """
    stats.frames_rejected += 1
    stats.faults += 1
    kind = f"{stage}: {type(exc).__name__}"
    with _lock:
        _counts[(protocol, kind)] += 1
        first = _counts[(protocol, kind)] == 1
    if not first:
        return
    detail = "" if protocol in TEXT_PROTOCOLS else f" ({str(exc)[:MESSAGE_CHARS]})"
    log.error(
        "%s: %s decoder error %s%s at %s — that frame is dropped and counted, reading goes on "
        "(logged once per protocol and kind). Frame: %s",
        source, protocol, kind, detail, _where(exc), excerpt(protocol, bytes(frame)),
    )


def fault_counts() -> dict[tuple[str, str], int]:
    """Contained faults so far in this process, by (protocol, kind)."""
    with _lock:
        return dict(_counts)


def forget_faults() -> None:
    """Start counting afresh, so the next fault of each kind is logged again (tests)."""
    with _lock:
        _counts.clear()
