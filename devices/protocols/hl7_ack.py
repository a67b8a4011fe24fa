"""Acknowledgements (HL7 v2.x Chapter 2, "original acknowledgment mode"; IHE PCD-01 ACK^R01).

MSA-1: AA the message was taken; AE it was read but could not be used (every observation row
unusable); AR it could not be read at all (a damaged or cut-short frame): the sender should
send it again. AE and AR carry the reason in MSA-3 and in an ERR segment with the HL7 table
0357 code, in the layout of the sender's version (ERR-1 "error code and location" up to v2.4,
ERR-3/-4/-7 from v2.5). MSH-15 decides whether to answer: AL always, NE never, SU on success
only, ER on errors only; empty is original mode, where every message is answered.
"""

from __future__ import annotations

from devices.protocols.hl7_er7 import DEFAULT, Segment, escape
from devices.protocols.hl7_time import format_hl7_time

SB, EB, CR = b"\x0b", b"\x1c", b"\x0d"
FALLBACK_VERSION = "2.6"
DAMAGED = "100^Segment sequence error^HL70357"


def mllp(message: str) -> bytes:
    """Wrap one message (segments joined by CR) in MLLP framing, final CR included."""
    body = message if message.endswith("\r") else message + "\r"
    return SB + body.encode("utf-8") + EB + CR


def wants_ack(accept_ack_type: str, ok: bool) -> bool:
    """MSH-15: AL always, NE never, SU on success, ER on error; empty = original mode: always."""
    t = accept_ack_type.upper()
    if t in ("", "AL"):
        return True
    if t == "SU":
        return ok
    if t == "ER":
        return not ok
    return False


def _version_key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        return (2, 6)


def err_segment(version: str, error: str, reason: str) -> str:
    """ERR for an AE/AR in the sender's version; `error` is "code^text^HL70357"."""
    if _version_key(version) < (2, 5):
        # ERR-1 ELD: segment id ^ sequence ^ field position ^ code (CE, as subcomponents)
        return "ERR|^^^" + error.replace("^", "&")
    return "|".join(["ERR", "", "", error, "E", "", "", escape(reason)])


def build_ack(msh: Segment, code: str, control_id: str, now: float,
              reason: str = "", error: str = DAMAGED) -> bytes:
    """An MLLP-framed ACK in the sender's HL7 version, answering its MSH-10.

    Written out directly in the default delimiters; the sender's own values that we copy back
    (its application and facility, its control id) are escaped again.
    """
    version = msh.get(12) or FALLBACK_VERSION
    trigger = msh.get(9, 2) or "R01"
    mtype = f"ACK^{trigger}" if _version_key(version) < (2, 4) else f"ACK^{trigger}^ACK"
    fields = [
        "MSH", DEFAULT.component + DEFAULT.repetition + DEFAULT.escape + DEFAULT.subcomponent,
        "HOLDSPACE", "", escape(msh.get(3)), escape(msh.get(4)), format_hl7_time(now)[:14], "",
        mtype, control_id or "0", escape(msh.get(11)) or "P", escape(version),
    ]
    segments = ["|".join(fields), f"MSA|{code}|{escape(msh.get(10))}"]
    if code != "AA":
        segments[1] += f"|{escape(reason)}"
        segments.append(err_segment(version, error, reason))
    return mllp("\r".join(segments))
