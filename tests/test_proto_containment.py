"""What a decoder's contained exception leaves in the log: enough to find the bug, no patient."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from devices import containment, mdc
from devices.protocol import DecoderStats
from devices.protocols import hl7, nonin, s5, sim
from devices.reading import Reading, Sample
from tests import test_proto_hl7 as hl7_vectors
from tests import test_proto_s5 as s5_vectors


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    containment.forget_faults()
    yield
    containment.forget_faults()


def test_a_binary_frame_is_described_by_its_length_only() -> None:
    # An IntelliVue frame can carry demographics: not even a hex excerpt goes to the log.
    assert containment.excerpt("sim", b"\x00\x01") == "2 bytes"
    assert containment.excerpt("nonin", bytes(range(100))) == "100 bytes"
    name = "Zebulon".encode("utf-16-be")
    assert containment.excerpt("intellivue", b"\xe1\x00" + name) == f"{2 + len(name)} bytes"


def test_hl7_outline_names_segments_and_type_only() -> None:
    msg = hl7.mllp(hl7_vectors.oru(hl7_vectors.HR, hl7_vectors.SPO2))
    text = containment.excerpt("hl7", msg)
    assert text.startswith("HL7 ORU^R01, ") and "segments MSH PID PV1 OBR OBX×2" in text
    assert "Doe" not in text and "Jane" not in text and "12345" not in text


class NameLeakingHl7(hl7.Hl7Decoder):
    """An HL7 decoder with a bug whose exception message quotes the patient's name."""

    def _samples(self, segs: list[hl7.Segment], now: float) -> tuple[list[Sample], bool]:
        raise RuntimeError("unexpected PID-5 " + segs[1].get(5) + " " + segs[1].get(5, 2))


def test_an_hl7_bug_costs_its_message_and_logs_no_patient_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    d = NameLeakingHl7("room 1")
    msg = hl7.mllp(hl7_vectors.oru(hl7_vectors.HR))
    with caplog.at_level(logging.ERROR, logger="devices.containment"):
        assert d.feed(msg + msg, 1.0) == []
    assert d.stats.faults == 2 and d.stats.frames_rejected == 2
    assert d.acks_sent == 2 and b"MSA|AE|" in d.outgoing(1.0)  # the sender is told
    logged = [r.getMessage() for r in caplog.records if r.name == "devices.containment"]
    assert len(logged) == 1 and "hl7 decoder error frame: RuntimeError at" in logged[0]
    assert "Doe" not in logged[0] and "Jane" not in logged[0]
    assert "HL7 ORU^R01" in logged[0]  # what kind of message it was
    ok = hl7.Hl7Decoder("room 1")
    assert len(ok.feed(msg, 1.0)) == 1  # the same bytes are fine for a decoder without the bug


class BuggyS5(s5.S5Decoder):
    def _basic(self, block: bytes, now: float, device_time: float) -> list[Reading]:
        if block[6:8] == b"\x00\x00":  # HR 0 triggers the bug
            raise IndexError("bug")
        return super()._basic(block, now, device_time)


def test_an_s5_bug_costs_one_record() -> None:
    good = s5_vectors.wire(s5_vectors.record([s5_vectors.subrecord(
        s5_vectors.block(**s5_vectors.GOOD))]))
    bad = s5_vectors.wire(s5_vectors.record([s5_vectors.subrecord(
        s5_vectors.block(**dict(s5_vectors.GOOD, hr=0)))]))
    d = BuggyS5("s5")
    out = d.feed(good + bad + good, 1.0)
    assert len(out) == 9 + 6  # both good records; NIBP only once (the cuff result is unchanged)
    assert (d.stats.faults, d.stats.frames_ok, d.stats.frames_rejected) == (1, 2, 1)


class BuggyNonin(nonin.NoninDecoder):
    def _decode_packet(self, frames: list[bytes], fmt: int, now: float) -> list[Sample]:
        if nonin.heart_rate(frames[0][3], frames[1][3]) == 99:
            raise ValueError("bug")
        return super()._decode_packet(frames, fmt, now)


def test_a_nonin_bug_costs_one_packet() -> None:
    d = BuggyNonin("n")
    data = (nonin.make_packet(2, 72, 97) + nonin.make_packet(2, 99, 97)
            + nonin.make_packet(2, 73, 97) + nonin.make_packet(2, 72, 97)[:5])
    out = d.feed(data, 1.0)
    pr = [r.value for r in out if isinstance(r, Reading) and r.code == mdc.MDC_PULS_OXIM_PULS_RATE]
    assert pr == [72, 73]
    assert d.stats.faults == 1 and d.stats.frames_ok == 50


class BuggySim(sim.SimDecoder):
    def _parse(self, line: bytes, now: float) -> Sample | None:
        if b",99," in line:
            raise MemoryError("bug")
        return super()._parse(line, now)


def test_a_sim_bug_costs_one_line(caplog: pytest.LogCaptureFixture) -> None:
    lines = [sim.numeric_line(i, 147842, v, 264864, sim.Quality.VALID) for i, v in
             enumerate((72, 99, 74))]
    d = BuggySim("s")
    with caplog.at_level(logging.ERROR, logger="devices.containment"):
        out = d.feed(b"".join(lines), 1.0)
    assert [getattr(r, "value", None) for r in out] == [72, 74]
    assert d.stats == DecoderStats(frames_ok=2, frames_rejected=1, bytes_in=len(b"".join(lines)),
                                   faults=1, last_frame_t=1.0)
    (rec,) = [r for r in caplog.records if r.name == "devices.containment"]
    assert "sim decoder error frame: MemoryError at test_proto_containment.py" in rec.getMessage()
    # the frame by its length and place only: neither its bytes nor the exception's words
    assert f"Frame: {len(lines[1].strip())} bytes, frame 2 of this link" in rec.getMessage()
    assert "24 48 53 4e" not in rec.getMessage() and "(bug)" not in rec.getMessage()
    assert containment.fault_counts() == {("sim", "frame: MemoryError"): 1}
