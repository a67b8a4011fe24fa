"""HL7 v2 ORU^R01 over MLLP, from a monitor or a gateway, over serial, TCP or a listener.

How the decoder reads (MLLP framing, which frames are rejected and answered AR, OBX rows one
by one, beds on a gateway link, quality and device time, acknowledgements, why 115200 baud):
docs/protocol-hl7.md.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable

from devices.containment import frame_fault
from devices.protocol import DecoderStats, Driver, SerialSettings
from devices.protocols.hl7_ack import CR, DAMAGED, EB, SB, build_ack, mllp, wants_ack
from devices.protocols.hl7_beds import BedChoice, bed_of
from devices.protocols.hl7_er7 import Segment, delimiters, is_plain, parse, segment_ok
from devices.protocols.hl7_obx import MAX_KEYS, ObxReader, RowError, Wave, attach, attribute_kind, count
from devices.protocols.hl7_sim import PLETH_RATE_HZ, VENDOR_UNKNOWN, Hl7Monitor
from devices.protocols.hl7_time import format_hl7_time, parse_hl7_time
from devices.reading import Reading, Sample

__all__ = [
    "CR", "DRIVER", "EB", "MAX_KEYS", "MAX_MESSAGE", "PLETH_RATE_HZ", "SB", "VENDOR_UNKNOWN",
    "Hl7Decoder", "Hl7Monitor", "Segment", "format_hl7_time", "is_plain", "mllp", "parse",
    "parse_hl7_time",
]

log = logging.getLogger(__name__)

MAX_MESSAGE = 1 << 20  # bytes; a frame longer than this is garbage
# Every segment, the last included, ends with CR. A frame whose end is missing its CR may have
# lost bytes (e.g. the end of a value), so it is rejected. One constant if a vendor omits it.
REQUIRE_FINAL_CR = True
DEMO_PROCESSING = frozenset({"T", "D"})  # MSH-11 training / debugging
# After CR LF is folded to CR, any other control character (a bare LF or TAB included) means
# the frame was damaged on the way: HL7 text from a monitor has none.
_CONTROL = re.compile(r"[\x00-\x0c\x0e-\x1f\x7f]")


class Rejected(ValueError):
    """A frame that cannot be trusted as a message; the text says why, for the AR."""


class Hl7Decoder:
    """MLLP de-framing, parsing, OBX to Reading, and ACKs back to the sender."""

    def __init__(self, source: str, beds: BedChoice | None = None) -> None:
        self.source = source
        self.beds = beds  # None: every bed is this room's (a monitor of its own)
        self.stats = DecoderStats()
        self.obx = ObxReader(source)
        self.unknown_codes: Counter[str] = self.obx.unknown_codes
        self.unknown_units: Counter[str] = self.obx.unknown_units
        self.skipped: Counter[str] = self.obx.skipped  # value types we do not decode (ST, …)
        self.skipped_rows: Counter[str] = Counter()  # rows we could not use, by reason
        self.other_messages: Counter[str] = Counter()  # e.g. ORU^R40 alarms, ADT
        self.other_beds = 0  # patient groups for beds other than this room's, passed over
        self.acks_sent = 0
        self.on_kept_frame: Callable[[bytes], None] | None = None  # frames of this room's bed
        self._ack_no = 0
        self._logged: set[str] = set()
        # code -> (device time, value) last emitted; kept across reconnects, so a monitor
        # resending its last NIBP after a cable replug does not make it look new.
        self.last_values: dict[int, tuple[float, float]] = {}
        self.reset()

    def reset(self) -> None:
        self._buf = bytearray()
        self._in_garbage = False
        self._out = bytearray()

    def outgoing(self, now: float) -> bytes:
        out, self._out = bytes(self._out), bytearray()
        return out

    # --- framing -------------------------------------------------------------------------------

    def feed(self, data: bytes, now: float) -> list[Sample]:
        self.stats.bytes_in += len(data)
        self._buf += data
        out: list[Sample] = []
        buf = self._buf
        while buf:
            sb = buf.find(SB)
            if sb < 0:
                self._garbage(buf)
                buf.clear()
                break
            if sb:
                self._garbage(buf[:sb])
                del buf[:sb]
            self._in_garbage = False
            eb = buf.find(EB, 1)
            nsb = buf.find(SB, 1)
            if nsb >= 0 and (eb < 0 or nsb < eb):  # a new start before this one ended
                self.stats.frames_rejected += 1
                del buf[:nsb]
                continue
            if eb < 0:
                if len(buf) > MAX_MESSAGE:
                    self.stats.frames_rejected += 1
                    buf.clear()
                break
            body = bytes(buf[1:eb])
            del buf[: eb + 1]
            if buf[:1] == CR:
                del buf[:1]
            try:
                out += self._message(body, now)
            except Exception as e:  # a bug must cost this message only, never the link
                frame_fault("hl7", self.source, e, body, self.stats)
        return out

    def _garbage(self, data: bytes | bytearray) -> None:
        """Count a run of bytes outside any frame once, however it is split across reads."""
        if not self._in_garbage and bytes(data).strip(b"\r\n\t "):
            self.stats.frames_rejected += 1
            self._in_garbage = True

    # --- one message ---------------------------------------------------------------------------

    def _message(self, body: bytes, now: float) -> list[Sample]:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = body.decode("latin-1")
        text = text.replace("\r\n", "\r").lstrip("\r")
        try:
            segs = self._segments(text)
        except Rejected as e:
            self.stats.frames_rejected += 1
            self._answer_damaged(text, str(e), now)
            return []
        msh = segs[0]
        try:
            samples, kept = self._samples(segs, now)
        except RowError as e:  # every observation row was unusable
            self.stats.frames_rejected += 1
            self._ack(msh, "AE", now, f"no usable observation: {e.kind}", e.hl7_error)
            return []
        except Exception as e:  # a bug: it costs this message, logged without its content
            frame_fault("hl7", self.source, e, body, self.stats)
            self._ack(msh, "AE", now, "the message could not be processed",
                      "207^Application internal error^HL70357")
            return []
        self.stats.frames_ok += 1
        if kept:
            self.stats.last_frame_t = now
            if self.on_kept_frame is not None:
                self.on_kept_frame(SB + body + EB + CR)
        self._ack(msh, "AA", now)
        return samples

    @staticmethod
    def _segments(text: str) -> list[Segment]:
        if REQUIRE_FINAL_CR and not text.endswith("\r"):
            raise Rejected("the message was cut short (its last segment has no CR)")
        text = text.rstrip("\r")
        if not text or _CONTROL.search(text):
            raise Rejected("the message holds control characters (damaged on the way)")
        try:
            fs = delimiters(text).field
        except ValueError as e:
            raise Rejected(str(e)) from None
        if not all(segment_ok(seg, fs) for seg in text.split("\r")):
            raise Rejected("a line of the message is not an HL7 segment (damaged on the way)")
        try:
            return parse(text)
        except ValueError as e:
            raise Rejected(str(e)) from None

    def _answer_damaged(self, text: str, reason: str, now: float) -> None:
        """AR for a rejected frame whose MSH can still be read (so the sender resends it)."""
        first = text.split("\r", 1)[0]
        try:
            fs = delimiters(first).field
            if not segment_ok(first, fs):
                return
            msh = parse(first + "\r")[0]
        except ValueError:
            return
        if msh.get(10):
            self._ack(msh, "AR", now, reason, DAMAGED)

    def _ack(self, msh: Segment, code: str, now: float, reason: str = "",
             error: str = DAMAGED) -> None:
        if not wants_ack(msh.get(15), code == "AA"):
            return
        self._ack_no += 1
        try:
            self._out += build_ack(msh, code, f"HS{self._ack_no}", now, reason, error)
            self.acks_sent += 1
        except Exception as e:  # an ACK we cannot build must not stop decoding
            log.debug("%s: cannot build ACK: %s", self.source, type(e).__name__)

    def _samples(self, segs: list[Segment], now: float) -> tuple[list[Sample], bool]:
        """(samples, whether the message held data for this room's bed). Raises RowError when
        rows were unusable and none could be used."""
        msh = segs[0]
        mtype = "^".join(msh.comps(9)[:2])
        if mtype != "ORU^R01":
            count(self.other_messages, mtype)
            return [], False
        msh_time = parse_hl7_time(msh.get(7))
        demo = msh.get(11).upper() in DEMO_PROCESSING
        ours = self.beds is None  # are the rows that follow for this room's bed?
        kept = ours
        named = False  # did any PV1-3 name a bed?
        obr_time: float | None = None
        drafts: list[Reading] = []
        waves: list[Wave] = []
        used = 0
        first_error: RowError | None = None
        for seg in segs[1:]:
            name = seg.name
            if self.beds is not None and name in ("PID", "PV1"):
                # a new patient group: its PV1 says whose rows follow
                bed = bed_of(seg) if name == "PV1" else None
                named = named or bed is not None
                ours = bed is not None and self.beds.admit(bed, now)
                if ours:
                    kept = True
                else:
                    self.other_beds += name == "PV1"
                continue
            if not ours:
                continue
            if name == "OBR":
                obr_time = parse_hl7_time(seg.get(7))
                continue
            if name != "OBX":
                continue
            try:
                used += self._row(seg, now, obr_time or msh_time, demo, drafts, waves)
            except RowError as e:
                self._row_skipped(seg, e)
                first_error = first_error or e
        if self.beds is not None and not named:
            self.beds.unnamed += 1
        if first_error is not None and not used:
            raise first_error
        out: list[Sample] = [r for r in drafts if self._fresh(r)]
        out += self.obx.chunks(waves, now)
        return out, kept

    def _row(self, seg: Segment, now: float, fallback: float | None, demo: bool,
             drafts: list[Reading], waves: list[Wave]) -> int:
        """Decode one OBX into `drafts` or `waves`; returns 1 if it was used."""
        if seg.get(2).upper() == "NA":
            wave = self.obx.wave(seg, demo)
            if wave is not None:
                waves.append(wave)
            return 1
        kind = attribute_kind(seg)
        if kind is None and any(seg.get(4).startswith(w.sub_id + ".") for w in waves
                                if w.sub_id):
            kind = "other"  # a child row of a wave: its metadata, whatever it is called
        if kind is not None:
            attach(waves, seg, kind)
            return 1
        r = self.obx.reading(seg, now, fallback, demo)
        if r is not None:
            drafts.append(r)
        return 1

    def _row_skipped(self, seg: Segment, e: RowError) -> None:
        self.stats.rows_skipped += 1
        count(self.skipped_rows, e.kind)
        if e.kind not in self._logged:
            self._logged.add(e.kind)
            log.warning("%s: an OBX row was skipped (%s; row %s, code %s); the rest of the "
                        "message is used (logged once per reason, counted in the link's stats)",
                        self.source, e.kind, seg.get(1) or "?", seg.get(3) or "?")

    def _fresh(self, r: Reading) -> bool:
        """False for a repeat of the last value with the same observation time."""
        if r.device_time is None:
            return True
        key = (r.device_time, r.value)
        if self.last_values.get(r.code) == key:
            return False
        self.last_values[r.code] = key
        return True


DRIVER = Driver(
    name="hl7",
    title="HL7 v2 ORU^R01 (MLLP: gateway or monitor)",
    settings=SerialSettings(baudrate=115200),
    make_decoder=Hl7Decoder,
    make_simulator=Hl7Monitor,
    talks_back=True,
    notes=(
        "MLLP-framed ORU^R01 over serial (115200 baud), TCP (socket://host:port), or from "
        "gateways that connect to Holdspace (listen:PORT?bed=BED). ACKs (MSA|AA) unless the "
        "sender asks for none (MSH-15 NE)."
    ),
    aliases=("mllp", "oru"),
)
