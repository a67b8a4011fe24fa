"""What happens when a decoder raises: the frame is lost, never the link.

Decoders are written not to raise on bad input, but a bug or an input nobody thought of (a
400-digit number, a field in the wrong place) can still raise anywhere. Each decoder guards the
handling of one frame with `frame_fault`, so such an exception costs that frame only; the link
guards the whole `feed`/`outgoing` call the same way as a backstop (see devices.link). Either
way the frame is counted as rejected and the fault is logged once per protocol and kind.

Logs never hold patient data: a frame is described, never quoted — a binary or numeric frame
by its length and its place in the stream (an IntelliVue frame can carry the patient's name
and identifier in its demographics attributes, so even a few bytes of hex are too many), an
HL7 message by its message type and segment names. The exception's own message is left out
for every protocol for the same reason (parsers quote what they could not read); its type and
the file, line and function where it was raised are kept for support.
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

TEXT_PROTOCOLS = frozenset({"hl7"})  # frames whose outline (message type, segments) is known

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
    """What of a frame may go into a log: its length, or an HL7 outline; never its bytes."""
    if protocol in TEXT_PROTOCOLS:
        return hl7_outline(data)
    return f"{len(data)} bytes"


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
    position = stats.frames_ok + stats.frames_rejected  # the frame's place in the stream
    log.error(
        "%s: %s decoder error %s at %s — that frame is dropped and counted, reading goes on "
        "(logged once per protocol and kind). Frame: %s, frame %d of this link",
        source, protocol, kind, _where(exc), excerpt(protocol, bytes(frame)), position,
    )


def fault_counts() -> dict[tuple[str, str], int]:
    """Contained faults so far in this process, by (protocol, kind)."""
    with _lock:
        return dict(_counts)


def forget_faults() -> None:
    """Start counting afresh, so the next fault of each kind is logged again (tests)."""
    with _lock:
        _counts.clear()
