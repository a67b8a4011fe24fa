"""Patient identification taken out of capture files, so a capture can go to support.

A capture (devices/capture.py) is every byte a monitor sent; some of those bytes name the
patient. Before received bytes are written, a `Redactor` for the link's protocol blanks them:

- HL7 v2 (`hl7`): every field of PID but PID-1 (set id) and PID-8 (sex); every field of NK1
  (next of kin) and MRG (merged ids) but the set id; PV1-19 (visit number) and PV1-50
  (alternate visit id). Segments stay (emptied fields keep their `|`), so MSH, PV1-3 (the bed,
  which picks this room's rows) and every OBX decode as before.
- Philips IntelliVue (`intellivue`): the values of the patient-demographics attributes
  (NOM_ATTR_PT_DOB 0x0958, NOM_ATTR_PT_ID 0x095A, NOM_ATTR_PT_NAME_FAMILY 0x095C,
  NOM_ATTR_PT_NAME_GIVEN 0x095D) are overwritten with zero bytes of the same length inside
  the frame, and the frame's FCS is recomputed; numerics and waves are untouched. Frames that
  fail their own check are written as they came (the decoder drops them anyway).
- The other protocols (numeric serial streams: Nonin, Masimo, Contec, GE S/5, the simulator)
  carry no patient identification and pass as they are.

Bytes of a segment or frame that has not ended yet are held back until it ends, so a name
split across two reads is still found (IntelliVue bytes outside any frame go out at once);
what is still held at the end of a capture is a partial frame and is left out. Bytes
Holdspace sent (polls, ACKs) hold no patient data.
"""

from __future__ import annotations

import re
import struct

from devices.protocols import intellivue_codec as ivc

REDACTED = "patient identification redacted"

# HL7: segment -> field numbers to keep (all others blanked), or to blank.
HL7_KEEP = {b"PID": {1, 8}, b"NK1": {1}, b"MRG": set()}
HL7_BLANK = {b"PV1": {19, 50}}
_HL7_SPLIT = re.compile(rb"([\r\n\x0b\x1c]+)")

# IntelliVue patient demographics attribute ids (NOM_ATTR_PT_*).
IV_PATIENT_ATTRS = frozenset({0x0958, 0x095A, 0x095C, 0x095D})


def hl7_segment(seg: bytes) -> bytes:
    """One segment with its identifying fields emptied (see the module's list)."""
    name = seg[:3]
    keep, blank = HL7_KEEP.get(name), HL7_BLANK.get(name)
    if (keep is None and blank is None) or seg[3:4] != b"|":
        return seg
    fields = seg.split(b"|")
    for i in range(1, len(fields)):
        if (keep is not None and i not in keep) or (blank is not None and i in blank):
            fields[i] = b""
    return b"|".join(fields)


def hl7_text(data: bytes) -> bytes:
    """Complete segments (and their delimiters, MLLP bytes included) redacted."""
    parts = _HL7_SPLIT.split(data)
    return b"".join(p if i % 2 else hl7_segment(p) for i, p in enumerate(parts))


def intellivue_payload(payload: bytes) -> bytes:
    """The payload with every patient-demographics attribute value zeroed.

    Attribute value assertions are (id u16, length u16, value) at even offsets; a candidate
    whose length would run past the payload is not one."""
    out = bytearray(payload)
    i = 0
    end = len(out) - 4
    while i <= end:
        aid, n = struct.unpack_from(">HH", out, i)
        if aid in IV_PATIENT_ATTRS and 0 < n <= len(out) - i - 4:
            out[i + 4:i + 4 + n] = bytes(n)
            i += 4 + n
        else:
            i += 2
    return bytes(out)


def intellivue_frame(frame: bytes) -> bytes:
    """One C0..C1 frame, redacted and re-framed; as it came if it is not a good frame."""
    body = frame[1:-1]
    payload = ivc.FrameReader._check(body)
    if payload is None:
        return frame
    clean = intellivue_payload(payload)
    return frame if clean == payload else ivc.wrap(clean)


class Redactor:
    """Received bytes in, bytes safe to write out (some held back until their frame ends)."""

    def __init__(self, protocol: str) -> None:
        self.protocol = protocol
        self._held = bytearray()

    @property
    def redacts(self) -> bool:
        return self.protocol in ("hl7", "intellivue")

    def feed(self, data: bytes) -> bytes:
        if self.protocol == "hl7":
            return self._hl7(data)
        if self.protocol == "intellivue":
            return self._intellivue(data)
        return data

    def _hl7(self, data: bytes) -> bytes:
        self._held += data
        cut = max(self._held.rfind(b"\r"), self._held.rfind(b"\n"), self._held.rfind(b"\x1c")) + 1
        if cut == 0:
            return b""
        done, self._held = bytes(self._held[:cut]), self._held[cut:]
        return hl7_text(done)

    def _intellivue(self, data: bytes) -> bytes:
        self._held += data
        out = bytearray()
        while True:
            end = self._held.find(ivc.EOF)
            if end < 0:
                break
            chunk = bytes(self._held[:end + 1])
            del self._held[:end + 1]
            start = chunk.rfind(ivc.BOF)
            out += chunk if start < 0 else chunk[:start] + intellivue_frame(chunk[start:])
        # Bytes outside any frame (line noise) go out as they came; a frame begun is held
        # until its end, or until it is longer than any frame can be.
        start = self._held.find(ivc.BOF)
        if start < 0 or len(self._held) - start > 2 * (ivc.MAX_USER_DATA + 8):
            start = len(self._held)
        out += self._held[:start]
        del self._held[:start]
        return bytes(out)
