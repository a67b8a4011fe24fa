"""Capture files leave out who the patient is, and still replay to the same vitals."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import pytest

from devices import redact
from devices.capture import open_capture, read_capture, write_record
from devices.protocols import intellivue as iv
from devices.protocols import intellivue_messages as m
from devices.protocols.hl7 import Hl7Decoder
from devices.protocols.hl7_ack import mllp
from devices.protocols.intellivue_codec import encode_abs_time, encode_float, wrap
from devices.reading import Reading
from tests.test_proto_hl7 import HR, MSH_26, SPO2
from tests.test_proto_intellivue import numeric, poll_result

NAME, GIVEN, MRN = "Quixotewright", "Zebulon", "QX-98765-ZZ"


def _forms(text: str) -> list[bytes]:
    """The ways a name can sit in a file: ASCII/UTF-8 either case, UTF-16 both orders."""
    out = []
    for t in (text, text.upper(), text.lower()):
        out += [t.encode(), t.encode("utf-16-be"), t.encode("utf-16-le")]
    return out


def _leaks(data: bytes) -> list[str]:
    return [t for t in (NAME, GIVEN, MRN) if any(f in data for f in _forms(t))]


def _hl7_message(cid: str, obx: str) -> str:
    lines = [MSH_26.format(cid=cid, ack="AL", pid="P"),
             f"PID|1|{MRN}|{MRN}^^^CLINIC^MR~555-12-3456^^^SSA^SS||{NAME}^{GIVEN}^Q||19610412|M|"
             f"|2106-3|1 Quay Street^^Portland^ME^04101||(207)555-0100",
             f"NK1|1|{NAME}^Sam|SON|1 Quay Street^^Portland",
             "PV1|1|I|KAP^^1||||||||||||||||V-{MRN}",
             "OBR|1||M1|182777000^monitoring of patient^SNOMED-CT|||20241124101530+0000",
             f"OBX|1|{obx}"]
    return "\r".join(lines) + "\r"


def _values(rs: Sequence[object]) -> list[tuple[int, float | None]]:
    return [(r.code, r.value) for r in rs if isinstance(r, Reading)]


@pytest.mark.parametrize("chunk", [1, 7, 64, 4096])
def test_hl7_capture_has_no_patient_identification_and_replays_the_vitals(
        tmp_path: Path, chunk: int) -> None:
    stream = b"".join(mllp(_hl7_message(f"M{i}", obx)) for i, obx in enumerate((HR, SPO2, HR)))
    assert _leaks(stream) == [NAME, GIVEN, MRN]  # the test would see a leak
    path = tmp_path / "hl7.hscap"
    with open_capture(path, "hl7", "listen:2575") as f:
        for i in range(0, len(stream), chunk):
            write_record(f, 100.0 + i, stream[i:i + chunk])
    raw = path.read_bytes()
    assert _leaks(raw) == []
    cap = read_capture(path)
    assert cap.header["privacy"] == "patient identification redacted"
    replayed = b"".join(r.data for r in cap.received)
    vitals = _values(Hl7Decoder("b").feed(stream, 500.0))
    assert vitals[:2] == [(147842, 72.0), (150456, 97.0)]
    assert _values(Hl7Decoder("a").feed(replayed, 500.0)) == vitals
    assert b"PV1|1|I|KAP^^1|" in replayed  # the bed stays: it picks this room's rows
    assert b"|M|" in replayed  # PID-8 (sex) stays


def test_hl7_segment_fields_blanked_keep_their_places() -> None:
    seg = f"PID|1|{MRN}|{MRN}^^^CLINIC^MR||{NAME}^{GIVEN}||19610412|M".encode()
    assert redact.hl7_segment(seg) == b"PID|1|||||||M"  # PID-1 and PID-8 in their places
    assert redact.hl7_segment(b"OBX|1|NM|x") == b"OBX|1|NM|x"


def _demographics(invoke: int) -> bytes:
    """A patient-demographics poll result (NOM_MOC_PT_DEMOG) naming the patient."""
    def string(text: str) -> bytes:
        b = text.encode("utf-16-be") + b"\0\0"
        return struct.pack(">H", len(b)) + b

    obs = m.Observation(0, 0x0301, {
        0x095D: string(GIVEN), 0x095C: string(NAME), 0x095A: string(MRN),
        0x0958: b"\x19\x61\x04\x12\x00\x00\x00\x00",  # date of birth, BCD
    })
    reply = m.PollReply(m.NOM_ACT_POLL_MDIB_DATA_EXT, 2, 0, 4766464, b"\xff" * 8, 0x002A,
                        m.ALL_GROUPS, [obs])
    return m.result(invoke, m.CMD_CONFIRMED_ACTION, m.action_result_body(reply))


def test_intellivue_capture_has_no_demographics_and_replays_the_vitals(tmp_path: Path) -> None:
    hr = numeric(0x0101, m.NOM_ECG_CARD_BEAT_RATE, 0, m.NOM_DIM_BEAT_PER_MIN, encode_float(72, 0))
    frames = [wrap(m.association_response(m.UserInfo(system_type=m.SYST_SERVER))),
              wrap(m.mds_create_event(1, 8000, encode_abs_time(1_000_000.0))),
              wrap(poll_result([hr], invoke=5)), wrap(_demographics(6)),
              wrap(poll_result([hr], invoke=7))]
    stream = b"noise" + b"".join(frames)
    assert _leaks(stream) == [NAME, GIVEN, MRN]
    path = tmp_path / "iv.hscap"
    with open_capture(path, "intellivue", "/dev/ttyUSB0") as f:
        for i in range(0, len(stream), 5):  # reads that split every frame somewhere
            write_record(f, 100.0 + i, stream[i:i + 5])
    assert _leaks(path.read_bytes()) == []
    cap = read_capture(path)
    assert cap.header["privacy"] == redact.REDACTED
    replayed = b"".join(r.data for r in cap.received)
    assert len(replayed) == len(stream)  # same lengths: values zeroed in place

    def decoded(data: bytes) -> tuple[list[tuple[int, float | None]], int]:
        d = iv.IntelliVueDecoder("iv")
        d.outgoing(0.0)
        out = _values(d.feed(data, 1.0))
        return out, d.stats.frames_rejected

    assert decoded(replayed) == decoded(stream)
    assert decoded(replayed)[0] == [(147842, 72.0), (147842, 72.0)]
    assert decoded(replayed)[1] == 0  # every re-framed frame passes its FCS check


def test_a_numeric_protocol_passes_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "n.hscap"
    with open_capture(path, "nonin", "/dev/ttyUSB0") as f:
        write_record(f, 1.0, b"\x01\x02\x03")
    assert [r.data for r in read_capture(path).records] == [b"\x01\x02\x03"]
