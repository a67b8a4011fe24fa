"""Simulated HL7 senders: a Mindray-like monitor, and the messages a gateway sends per bed.

The monitor sends one ORU^R01 a second in the IHE PCD-01 layout (NIBP in the cuff family, the
pleth as an NA row with its sample rate in a child row) and reads our ACKs. A gateway
(devices.hl7_gateway_sim) runs one of these per bed, each with its own PV1-3 and values.
"""

from __future__ import annotations

from collections.abc import Callable

from devices import mdc
from devices.physiology import Physiology
from devices.protocols.hl7_ack import EB, SB, mllp
from devices.protocols.hl7_er7 import parse
from devices.protocols.hl7_time import format_hl7_time

PLETH_RATE_HZ = 125.0
VENDOR_UNKNOWN = "2001^ST-II^99MNDRY"  # a vendor parameter we do not map: counted, not shown
SAMPLE_RATE_NAME = "MDC_ATTR_SAMP_RATE"
ROOM_BED = "TREATMENT^^ROOM1"  # PV1-3 of the simulated monitor


class Hl7Monitor:
    """One bed's monitor (or a gateway's view of it): an ORU^R01 a second; reads ACKs."""

    def __init__(self, physio: Physiology, bed: str = ROOM_BED, id_prefix: str = "MR") -> None:
        self.physio = physio
        self.bed = bed  # PV1-3, components joined by "^"
        self.id_prefix = id_prefix  # control ids: unique per sender on one connection
        self.on_ack: Callable[[str, str], None] | None = None  # (control id, MSA-1)
        self.reset()

    def reset(self) -> None:
        self._next: float | None = None
        self._wave_t: float | None = None
        self._seq = 0
        self._inbox = bytearray()
        self.sent: list[str] = []  # control ids
        self.acks: dict[str, str] = {}  # control id -> MSA-1 (AA/AE/…)

    @property
    def unacked(self) -> list[str]:
        return [c for c in self.sent if c not in self.acks]

    def receive(self, data: bytes, now: float) -> None:
        self._inbox += data
        while True:
            sb = self._inbox.find(SB)
            eb = self._inbox.find(EB, sb + 1) if sb >= 0 else -1
            if sb < 0 or eb < 0:
                if sb > 0:
                    del self._inbox[:sb]
                elif sb < 0:
                    self._inbox.clear()
                return
            body = bytes(self._inbox[sb + 1 : eb]).decode("utf-8", "replace").strip("\r")
            del self._inbox[: eb + 1]
            self.take_ack(body)

    def take_ack(self, body: str) -> None:
        """Note an ACK (one message's text) if it answers one of ours."""
        try:
            segs = parse(body)
        except ValueError:
            return
        for s in segs:
            if s.name == "MSA":
                self.acks[s.get(2)] = s.get(1)
                if self.on_ack is not None:
                    self.on_ack(s.get(2), s.get(1))

    def produce(self, now: float) -> bytes:
        if self._next is None:
            self._next = now
        if now < self._next:
            return b""
        self._next = max(self._next + 1.0, now - 1.0)
        return mllp(self.message(now))

    def message(self, now: float) -> str:
        self._seq += 1
        cid = f"{self.id_prefix}{self._seq}"
        self.sent.append(cid)
        v = self.physio.vitals(now)
        ts = format_hl7_time(now)
        segs = [
            "MSH|^~\\&|MINDRAY_D-SERIES^00A037009A0053DE^EUI-64|MINDRAY|HOLDSPACE||"
            f"{ts}||ORU^R01^ORU_R01|{cid}|P|2.6|||AL|NE||UNICODE UTF-8|||"
            "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO",
            "PID|||SIM0001^^^HOLDSPACE^PI||Simulated^Patient^^^^^L",
            f"PV1||I|{self.bed}",
            f"OBR|1||{cid}|182777000^monitoring of patient^SNOMED-CT|||{ts}",
        ]
        beat, resp, mmhg = "264864^MDC_DIM_BEAT_PER_MIN^MDC", "264928^MDC_DIM_RESP_PER_MIN^MDC", (
            "266016^MDC_DIM_MMHG^MDC")
        rows: list[tuple[str, float | None, str, str, str]]
        rows = [
            ("147842^MDC_ECG_HEART_RATE^MDC", v.hr, beat, "X" if v.hr is None else "R", ""),
            ("150456^MDC_PULS_OXIM_SAT_O2^MDC", v.spo2, "262688^MDC_DIM_PERCENT^MDC", "R", ""),
            ("149530^MDC_PULS_OXIM_PULS_RATE^MDC", v.pulse, beat, "R", ""),
            ("151578^MDC_TTHOR_RESP_RATE^MDC", v.rr, resp, "R", ""),
            (VENDOR_UNKNOWN, 0.0, "", "R", ""),
        ]
        if v.nibp is not None and v.nibp_t is not None:
            nt = format_hl7_time(v.nibp_t)
            for name, p in zip(("SYS", "DIA", "MEAN"), v.nibp, strict=True):
                code = getattr(mdc, f"MDC_PRESS_CUFF_{name}")
                rows.append((f"{code}^MDC_PRESS_CUFF_{name}^MDC", p, mmhg, "R", nt))
        for i, (ident, val, unit, status, obs_t) in enumerate(rows, start=1):
            # No value, Mindray style: a sentinel, or nothing with "cannot obtain".
            shown = ("" if status == "X" else "-100") if val is None else f"{val:g}"
            segs.append(f"OBX|{i}|NM|{ident}|1.1.{i}.1|{shown}|{unit}|||||{status}|||"
                        f"{obs_t or ts}")
        segs += self._pleth(now, len(rows) + 1)
        return "\r".join(segs) + "\r"

    def _pleth(self, now: float, set_id: int) -> list[str]:
        """The pleth since the last message as an NA row, its sample rate in a child row."""
        t0 = now - 1.0 if self._wave_t is None or now - self._wave_t > 2.0 else self._wave_t
        n = round((now - t0) * PLETH_RATE_HZ)
        if n <= 0:
            return []
        self._wave_t = t0 + n / PLETH_RATE_HZ
        wave = self.physio.pleth(t0, n, PLETH_RATE_HZ)
        values = "^".join(f"{x:.3f}" for x in wave)
        sub = "1.3.1.150452"
        return [
            f"OBX|{set_id}|NA|150452^MDC_PULS_OXIM_PLETH^MDC|{sub}|{values}|"
            f"262144^MDC_DIM_DIMLESS^MDC|||||R|||{format_hl7_time(t0)}",
            f"OBX|{set_id + 1}|NM|0^{SAMPLE_RATE_NAME}^MDC|{sub}.1|{PLETH_RATE_HZ:g}|"
            "264608^MDC_DIM_PER_SEC^MDC|||||R",
        ]
