"""HL7 v2 ORU^R01 over MLLP: message vectors, framing damage, properties, pty and TCP."""

from __future__ import annotations

import math
import threading
from datetime import datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import mdc
from devices.link import LinkStatus, SerialLink
from devices.physiology import Physiology, Vitals
from devices.protocol import Decoder, SimulatedMonitor
from devices.protocols import hl7
from devices.protocols.hl7 import DRIVER, EB, SB, Hl7Decoder, Hl7Monitor, mllp
from devices.reading import Quality, Reading, Sample, WaveChunk
from devices.simulator import Simulator
from tests.helpers.hl7apy_reader import parse_with_hl7apy
from tests.helpers.pieces import feed_in_pieces

T0 = 1_732_443_330.0  # 2024-11-24 10:15:30 UTC
MSH_26 = (
    "MSH|^~\\&|MINDRAY_D-SERIES^00A037009A0053DE^EUI-64|MINDRAY|||20241124101530.000+0000||"
    "ORU^R01^ORU_R01|{cid}|{pid}|2.6|||{ack}|NE||UNICODE UTF-8|||IHE_PCD_001^IHE PCD^"
    "1.3.6.1.4.1.19376.1.6.1.1.1^ISO"
)


def oru(*obx: str, cid: str = "M1", ack: str = "AL", pid: str = "P", msh: str = MSH_26) -> str:
    head = [
        msh.format(cid=cid, ack=ack, pid=pid),
        "PID|||12345^^^HOSP^PI||Doe^Jane",
        "PV1||I|KAP^^1",
        "OBR|1||M1|182777000^monitoring of patient^SNOMED-CT|||20241124101530+0000",
    ]
    lines = [f"OBX|{i}|{o}" for i, o in enumerate(obx, start=1)]
    return "\r".join(head + lines) + "\r"


def nm(code: str, value: str, unit: str, status: str = "R", when: str = "") -> str:
    """The part of an NM OBX after OBX-1."""
    return f"NM|{code}|1.1.1.1|{value}|{unit}|||||{status}|||{when}"


HR = nm("147842^MDC_ECG_HEART_RATE^MDC", "72", "264864^MDC_DIM_BEAT_PER_MIN^MDC")
SPO2 = nm("150456^MDC_PULS_OXIM_SAT_O2^MDC", "97", "262688^MDC_DIM_PERCENT^MDC")
MMHG = "266016^MDC_DIM_MMHG^MDC"


def decode(*messages: str | bytes) -> tuple[Hl7Decoder, list[Reading]]:
    d = Hl7Decoder("test")
    out: list[Sample] = []
    for m in messages:
        out += d.feed(mllp(m) if isinstance(m, str) else m, 500.0)
    return d, [r for r in out if isinstance(r, Reading)]


def by_code(rs: list[Reading]) -> dict[int, Reading]:
    return {r.code: r for r in rs}


# --- message vectors --------------------------------------------------------------------------


def test_ihe_pcd01_message() -> None:
    d, rs = decode(oru(HR, SPO2))
    assert [(r.code, r.value, r.unit, r.quality) for r in rs] == [
        (mdc.MDC_ECG_HEART_RATE, 72, mdc.MDC_DIM_BEAT_PER_MIN, Quality.VALID),
        (mdc.MDC_PULS_OXIM_SAT_O2, 97, mdc.MDC_DIM_PERCENT, Quality.VALID),
    ]
    assert all(r.device_time == T0 and r.t == 500.0 for r in rs)
    assert d.stats.frames_ok == 1 and d.stats.frames_rejected == 0 and d.stats.last_frame_t == 500


@pytest.mark.parametrize(
    ("codes", "expect"),
    [
        (("150021", "150022", "150023"), (150021, 150022, 150023)),
        (("150301", "150302", "150303"), (150021, 150022, 150023)),
    ],
)
def test_both_nibp_families_fold(codes: tuple[str, ...], expect: tuple[int, ...]) -> None:
    obx = [nm(f"{c}^NIBP^MDC", v, MMHG) for c, v in zip(codes, ("121", "79", "93"), strict=True)]
    _, rs = decode(oru(*obx))
    assert [(r.code, r.value, r.unit) for r in rs] == [
        (c, v, mdc.MDC_DIM_MMHG) for c, v in zip(expect, (121, 79, 93), strict=True)
    ]


@pytest.mark.parametrize("code", ["151562^MDC_RESP_RATE^MDC", "151578^MDC_TTHOR_RESP_RATE^MDC"])
def test_resp_rate_both_codes(code: str) -> None:
    _, rs = decode(oru(nm(code, "14", "264928^MDC_DIM_RESP_PER_MIN^MDC")))
    assert [(r.code, r.value, r.unit) for r in rs] == [
        (mdc.MDC_RESP_RATE, 14, mdc.MDC_DIM_RESP_PER_MIN)
    ]


def test_mindray_231_with_vendor_codes() -> None:
    msh = "MSH|^~\\&|Mindray|PDS|||20241124101530||ORU^R01|{cid}|{pid}|2.3.1||||{ack}"
    msg = oru(
        nm("101^HR^99MNDRY^147842^MDC_ECG_HEART_RATE^MDC", "88", "bpm"),  # alternate coding
        nm("150456^SpO2^99MNDRY", "95", "%"),  # vendor system with an MDC number
        nm("0^MDC_PULS_OXIM_PULS_RATE^99MNDRY", "87", "/min"),  # MDC reference id as text
        nm("2001^ST-II^99MNDRY", "0.1", "mV"),  # unknown: counted, not shown
        nm("2001^ST-II^99MNDRY", "0.2", "mV"),
        "ST|2002^Rhythm^99MNDRY||Sinus||||||R",
        msh=msh,
    )
    d, rs = decode(msg)
    got = {r.code: (r.value, r.unit, r.quality) for r in rs}
    assert got == {
        mdc.MDC_ECG_HEART_RATE: (88, mdc.MDC_DIM_BEAT_PER_MIN, Quality.VALID),
        mdc.MDC_PULS_OXIM_SAT_O2: (95, mdc.MDC_DIM_PERCENT, Quality.VALID),
        mdc.MDC_PULS_OXIM_PULS_RATE: (87, mdc.MDC_DIM_BEAT_PER_MIN, Quality.VALID),
    }
    assert d.unknown_codes == {"2001^ST-II^99MNDRY": 2}
    assert d.skipped == {"ST": 1}
    assert rs[0].device_time == T0  # OBR-7 (+0000) before MSH-7 (no zone)
    no_obr_time = oru(HR, msh=msh).replace("|||20241124101530+0000", "")
    _, rs = decode(no_obr_time)
    assert rs[0].device_time == datetime(2024, 11, 24, 10, 15, 30).timestamp()  # host zone


@pytest.mark.parametrize(("text", "value"), [("97", 97), ("+97", 97), ("97.", 97), ("36.6", 36.6),
                                             (".5", 0.5), ("-0.25", -0.25), ("0097", 97)])
def test_hl7_numbers(text: str, value: float) -> None:
    _, rs = decode(oru(nm("150456^^MDC", text, "%")))
    assert rs[0].value == value


def test_pcd01_containment_headers_and_equipment_ids() -> None:
    """VMD and channel header OBX rows (no value type, status X) carry no value: skipped."""
    eq = "|||||||080019FFFE0B4020^B40_GE"
    msg = oru(
        "|69854^MDC_DEV_METER_PRESS_BLD_VMD^MDC|1.13.0.0|||||||X",
        "|69855^MDC_DEV_METER_PRESS_BLD_CHAN^MDC|1.13.1.0|||||||X",
        "NM|150033^MDC_PRESS_BLD_ART_SYS^MDC|1.13.1.1|112|266016^MDC_DIM_MMHG^MDC|||||R" + eq,
        "NM|147842^MDC_ECG_HEART_RATE^MDC|1.5.1.1|80|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R" + eq,
        "NM|148066^MDC_ECG_V_P_C_RATE^MDC|1.5.1.2|0|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R" + eq,
    )
    d, rs = decode(msg)
    assert [(r.code, r.value, r.unit) for r in rs] == [
        (150033, 112, mdc.MDC_DIM_MMHG),
        (mdc.MDC_ECG_HEART_RATE, 80, mdc.MDC_DIM_BEAT_PER_MIN),
        (148066, 0, mdc.MDC_DIM_BEAT_PER_MIN),
    ]
    assert d.skipped == {"?": 2} and d.stats.frames_rejected == 0


PLETH = "150452^MDC_PULS_OXIM_PLETH^MDC"
ECG = "131330^MDC_ECG_ELEC_POTL_II^MDC"


def wave(code: str, sub: str, values: str, status: str = "R") -> str:
    return f"NA|{code}|{sub}|{values}|262144^^MDC|||||{status}"


def rate(sub: str, hz: str) -> str:
    return f"NM|0^MDC_ATTR_SAMP_RATE^MDC|{sub}|{hz}|264608^MDC_DIM_PER_SEC^MDC|||||R"


def waves(*obx: str) -> tuple[Hl7Decoder, list[WaveChunk]]:
    d = Hl7Decoder("t")
    out = d.feed(mllp(oru(*obx)), 10.0)
    return d, [w for w in out if isinstance(w, WaveChunk)]


def test_na_wave_with_its_sample_rate() -> None:
    d, ws = waves(HR, wave(PLETH, "1.3.1.1", "0.1^0.5^^0.9"), rate("1.3.1.1.1", "125"))
    (w,) = ws
    assert (w.code, w.rate_hz, w.quality) == (mdc.MDC_PULS_OXIM_PLETH, 125, Quality.VALID)
    np.testing.assert_allclose(w.samples, [0.1, 0.5, np.nan, 0.9], rtol=1e-6)
    assert w.t0 == pytest.approx(10.0 - 4 / 125)
    assert d.skipped == {}


def test_rates_go_to_their_own_waves() -> None:
    _, ws = waves(wave(PLETH, "1.3.1.1", "1^2"), wave(ECG, "1.4.1.1", "3^4^5"),
                  rate("1.3.1.1.1", "125"), rate("1.4.1.1.1", "500"))
    assert [(w.code, w.rate_hz, len(w.samples)) for w in ws] == [
        (mdc.MDC_PULS_OXIM_PLETH, 125, 2), (mdc.MDC_ECG_ELEC_POTL_II, 500, 3)]


def test_wave_without_rate_is_counted_not_guessed() -> None:
    d, ws = waves(wave(PLETH, "1.3.1.1", "1^2"))
    assert ws == [] and d.skipped == {"NA without sample rate": 1}
    d, ws = waves(wave(PLETH, "1.3.1.1", "1^2"), rate("1.3.1.1.1", "0"))
    assert ws == []


def test_wave_cannot_obtain_is_invalid() -> None:
    _, ws = waves(wave(PLETH, "1", "1^2", status="X"), rate("1.1", "100"))
    assert ws[0].quality == Quality.INVALID


def test_wave_with_a_bad_sample_costs_that_row() -> None:
    """Issue 12 item 3 (one bad row costs one row): the wave row is skipped, HR is kept.
    (Before, the whole frame was rejected.)"""
    d = Hl7Decoder("t")
    out = d.feed(mllp(oru(HR, wave(PLETH, "1", "1^2x^3"), rate("1.1", "100"))), 10.0)
    assert [s for s in out if isinstance(s, WaveChunk)] == []
    assert [r.value for r in out if isinstance(r, Reading)] == [72]
    assert d.stats.frames_rejected == 0 and d.stats.rows_skipped == 1
    assert d.skipped_rows == {"wave sample is not a number": 1}


def test_unknown_code_counter_is_bounded() -> None:
    d = Hl7Decoder("t")
    for i in range(0, hl7.MAX_KEYS + 50, 25):
        d.feed(mllp(oru(*(nm(f"{i + k}^X^99V", "1", "") for k in range(25)), cid=str(i))), 0.0)
    assert len(d.unknown_codes) == hl7.MAX_KEYS + 1
    assert sum(d.unknown_codes.values()) == hl7.MAX_KEYS + 50 and d.unknown_codes["…"] == 50


@pytest.mark.parametrize(
    ("coding", "code"),
    [("0002-4182^^MDC", mdc.MDC_ECG_HEART_RATE), ("^MDC_ECG_HEART_RATE^MDC", 147842),
     ("0^MDC_ECG_HEART_RATE^MDC", 147842), ("147842^MDC_ECG_HEART_RATE^MDC", 147842),
     ("150301^^MDC", mdc.MDC_PRESS_BLD_NONINV_SYS), ("1^HR^99X~147842^^MDC", 147842)],
)
def test_codings(coding: str, code: int) -> None:
    _, rs = decode(oru(nm(coding, "70", "")))
    assert [r.code for r in rs] == [code]


def test_conflicting_coding_is_not_guessed() -> None:
    d, rs = decode(oru(nm("150456^MDC_ECG_HEART_RATE^MDC", "70", "")))
    assert rs == [] and d.unknown_codes == {"150456^MDC_ECG_HEART_RATE^MDC": 1}


def test_unknown_mdc_codes_are_kept() -> None:
    _, rs = decode(oru(nm("148066^MDC_ECG_V_P_C_CNT^MDC", "3", "")))
    assert [(r.code, r.value, r.unit) for r in rs] == [(148066, 3, mdc.MDC_DIM_DIMLESS)]


@pytest.mark.parametrize("value", ["-999", "-100", "32767", "", "-100.0", "+32767.00", "-", "---"])
def test_sentinels_give_no_value(value: str) -> None:
    _, rs = decode(oru(nm("150456^MDC_PULS_OXIM_SAT_O2^MDC", value, "262688^^MDC"), HR))
    spo2 = by_code(rs)[mdc.MDC_PULS_OXIM_SAT_O2]
    assert math.isnan(spo2.value) and spo2.quality == Quality.INVALID
    assert by_code(rs)[mdc.MDC_ECG_HEART_RATE].value == 72


@pytest.mark.parametrize(
    ("status", "quality"),
    [("R", Quality.VALID), ("F", Quality.VALID), ("C", Quality.VALID), ("", Quality.VALID),
     ("P", Quality.QUESTIONABLE), ("X", Quality.INVALID), ("W", Quality.INVALID),
     ("D", Quality.INVALID), ("N", Quality.INVALID)],
)
def test_result_status(status: str, quality: Quality) -> None:
    _, rs = decode(oru(nm("150456^MDC_PULS_OXIM_SAT_O2^MDC", "96", "262688^^MDC", status)))
    assert rs[0].quality == quality


def test_cannot_obtain_without_value() -> None:
    _, rs = decode(oru(nm("147842^MDC_ECG_HEART_RATE^MDC", "", "264864^^MDC", "X")))
    assert math.isnan(rs[0].value) and rs[0].quality == Quality.INVALID


@pytest.mark.parametrize(
    ("unit", "code", "expect"),
    [
        ("266016^MDC_DIM_MMHG^MDC", "150021^^MDC", mdc.MDC_DIM_MMHG),
        ("mm[Hg]^mm[Hg]^UCUM", "150021^^MDC", mdc.MDC_DIM_MMHG),
        ("^MDC_DIM_MMHG^MDC", "150021^^MDC", mdc.MDC_DIM_MMHG),
        ("", "150021^^MDC", mdc.MDC_DIM_MMHG),
        ("/min^/min^UCUM", "151562^^MDC", mdc.MDC_DIM_RESP_PER_MIN),
        ("/min", "147842^^MDC", mdc.MDC_DIM_BEAT_PER_MIN),
        ("Cel^Cel^UCUM", "150344^^MDC", mdc.MDC_DIM_DEGC),
    ],
)
def test_units(unit: str, code: str, expect: int) -> None:
    _, rs = decode(oru(nm(code, "37", unit)))
    assert (rs[0].unit, rs[0].quality) == (expect, Quality.VALID)


@pytest.mark.parametrize(
    ("unit", "code"),
    [("kPa^kPa^UCUM", "150021^^MDC"), ("262688^^MDC", "147842^^MDC"), ("furlong", "150456^^MDC"),
     ("/min", "150456^^MDC")],
)
def test_wrong_or_unknown_units_are_never_shown(unit: str, code: str) -> None:
    d, rs = decode(oru(nm(code, "16", unit)))
    assert rs[0].quality == Quality.INVALID and not rs[0].quality.displayable
    assert sum(d.unknown_units.values()) == 1


def test_observation_time_and_fallbacks() -> None:
    obx = nm("150301^^MDC", "120", MMHG, when="20241124101000+0100")
    _, rs = decode(oru(obx, HR))
    assert rs[0].device_time == T0 - 330 - 3600 and rs[1].device_time == T0
    assert hl7.parse_hl7_time("20241124101530.250-0000") == T0 + 0.25
    assert hl7.parse_hl7_time("2024112410") == datetime(2024, 11, 24, 10).timestamp()
    assert hl7.parse_hl7_time("20241341") is None and hl7.parse_hl7_time("soon") is None


def test_repeated_nibp_is_not_fresh_again() -> None:
    sys_ = nm("150301^^MDC", "120", MMHG, when="20241124101000+0000")
    later = nm("150301^^MDC", "131", MMHG, when="20241124101300+0000")
    second = oru(sys_, HR, cid="M2").replace("101530+0000", "101531+0000")
    third = oru(later, HR, cid="M3").replace("101530+0000", "101532+0000")
    _, rs = decode(oru(sys_, HR), second, third)
    assert [r.value for r in rs if r.code == mdc.MDC_PRESS_BLD_NONINV_SYS] == [120, 131]
    assert [r.device_time for r in rs if r.code == mdc.MDC_ECG_HEART_RATE] == [T0, T0 + 1, T0 + 2]


def test_nibp_resent_after_reconnect_is_not_new() -> None:
    sys_ = nm("150301^^MDC", "120", MMHG, when="20241124101000+0000")
    d = Hl7Decoder("t")
    first = d.feed(mllp(oru(sys_)), 1.0)
    d.reset()  # the port was reopened
    again = d.feed(mllp(oru(sys_).replace("101530", "101545")), 2.0)
    assert len(first) == 1 and again == []


def test_resent_message_gives_values_once() -> None:
    d, rs = decode(oru(HR, SPO2), oru(HR, SPO2))
    assert [r.value for r in rs] == [72, 97] and d.stats.frames_ok == 2 and d.acks_sent == 2


def test_demo_processing_id() -> None:
    _, rs = decode(oru(HR, pid="T"))
    assert rs[0].quality == Quality.DEMO


def test_unsupported_version_still_parses() -> None:
    _, rs = decode(oru(HR).replace("|2.6|", "|2.9|"))
    assert [r.value for r in rs] == [72]


def test_other_messages_are_counted_not_decoded() -> None:
    d, rs = decode(oru(HR).replace("ORU^R01^ORU_R01", "ORU^R40^ORU_R40"))
    assert rs == [] and d.other_messages == {"ORU^R40": 1} and d.stats.frames_ok == 1
    assert hl7.parse(d.outgoing(0)[1:-2].decode())[0].comps(9) == ["ACK", "R40", "ACK"]


def test_garbage_trickle_counts_once() -> None:
    d = Hl7Decoder("t")
    for b in b"not hl7 at all":
        d.feed(bytes([b]), 0.0)
    assert d.stats.frames_rejected == 1
    d.feed(mllp(oru(HR)) + b"junk", 1.0)
    assert d.stats.frames_rejected == 2 and d.stats.frames_ok == 1


# --- rejected frames --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"garbage\r",
        b"OBX|1|NM|150456^^MDC||97\r",  # no MSH
        b"MSH|\r",
        oru(HR, SPO2).replace("97", "9\x007").encode(),  # control character
        oru(HR, SPO2).rstrip("\r").encode(),  # cut short: no final CR
        oru(HR, SPO2)[: oru(HR, SPO2).index("|97|") + 2].encode(),  # "97" arrived as "9"
        oru("NM||1|5|%").encode(),  # OBX-3 empty
        b"\xff\xfe\x00MSH",
    ],
)
def test_unreadable_frames_are_rejected(body: bytes) -> None:
    d, rs = decode(SB + body + EB + b"\r")
    assert rs == []
    assert d.stats.frames_rejected == 1 and d.stats.frames_ok == 0


@pytest.mark.parametrize("bad", ["9?", "nan", "9_7", "1e2"])
def test_nm_value_not_a_number_costs_that_row(bad: str) -> None:
    """Issue 12 item 3: an NM value that is not an HL7 number drops that OBX only; the HR in
    the same message is kept. (These frames used to be rejected whole.)"""
    d, rs = decode(oru(HR, SPO2).replace("|97|", f"|{bad}|"))
    assert [(r.code, r.value) for r in rs] == [(mdc.MDC_ECG_HEART_RATE, 72)]
    assert d.stats.frames_ok == 1 and d.stats.frames_rejected == 0
    assert d.stats.rows_skipped == 1


def test_unusable_message_is_answered_with_ae() -> None:
    d, _ = decode(oru(HR).replace("|72|", "|7x|"))
    ack = hl7.parse(d.outgoing(0)[1:-2].decode())
    assert [s.name for s in ack] == ["MSH", "MSA", "ERR"] and ack[1].get(1) == "AE"
    assert "not a number" in ack[1].get(3)


def short(obx: str, when: str = "20241124101530") -> str:
    """A small ORU^R01 (hl7apy takes ~10 ms for a full monitor message; tests run many)."""
    return f"MSH|^~\\&|MR||||{when}||ORU^R01|{when}|P|2.6\rOBX|1|{obx}\r"


def test_split_at_every_byte_boundary() -> None:
    data = b"\r\n" + mllp(short(SPO2)) + mllp(short(HR, "20241124101531"))
    for cut in range(len(data) + 1):
        d = Hl7Decoder("t")
        out = feed_in_pieces(d, data, [cut], 1.0, 1.0)
        assert [r.value for r in out if isinstance(r, Reading)] == [97, 72], cut
        assert d.stats.frames_ok == 2 and d.stats.frames_rejected == 0
        assert d.stats.bytes_in == len(data)


def test_byte_by_byte() -> None:
    data = mllp(oru(HR, SPO2))
    d = Hl7Decoder("t")
    out: list[Sample] = []
    for i in range(len(data)):
        out += d.feed(data[i : i + 1], 1.0)
    assert [r.value for r in out if isinstance(r, Reading)] == [72, 97]


def test_two_messages_in_one_frame_are_rejected() -> None:
    a, b = mllp(oru(HR)), mllp(oru(SPO2, cid="M2"))
    d, rs = decode(a[:-2] + b[1:])  # EB of one and SB of the next lost together
    assert rs == [] and d.stats.frames_rejected == 1


def test_lost_end_block_drops_only_that_message() -> None:
    a, b = mllp(oru(HR)), mllp(oru(SPO2, cid="M2"))
    d, rs = decode(a[:-2] + b)
    assert [r.value for r in rs] == [97] and d.stats.frames_rejected == 1


def test_lost_start_block_drops_only_that_message() -> None:
    a, b = mllp(oru(HR)), mllp(oru(SPO2, cid="M2"))
    d, rs = decode(b"noise" + a[1:] + b)
    assert [r.value for r in rs] == [97] and d.stats.frames_rejected >= 1


@pytest.mark.parametrize(
    ("old", "new"),
    [("|97|", "|9\n7|"), ("|97|", "|9\t7|"), ("|97|", "|9\r7|"), ("\rOBX|2", "\r\rOBX|2"),
     ("\rOBX|2", "\robx|2"), ("\rOBX|2", "\rOBXX|2"), ("^MDC|", "^\rMDC|")],
)
def test_stray_characters_reject_the_frame(old: str, new: str) -> None:
    msg = oru(HR, SPO2)
    assert old in msg
    d, rs = decode(msg.replace(old, new, 1))
    assert d.stats.frames_rejected == 1 or all(r.value in (72, 97) for r in rs)
    if old == "|97|" or "OBX" in new:
        assert rs == [] and d.stats.frames_rejected == 1


def test_crlf_segments_accepted() -> None:
    _, rs = decode(SB + oru(HR, SPO2).replace("\r", "\r\n").encode() + EB + b"\r")
    assert [r.value for r in rs] == [72, 97]


def test_oversized_frame_is_dropped() -> None:
    d = Hl7Decoder("t")
    d.feed(SB + b"x" * (hl7.MAX_MESSAGE + 10), 0.0)
    assert d.stats.frames_rejected == 1
    out = d.feed(mllp(oru(HR)), 1.0)
    assert [r.value for r in out if isinstance(r, Reading)] == [72]


# --- acknowledgements -------------------------------------------------------------------------


@pytest.mark.parametrize(("ack", "expect"), [("AL", True), ("", True), ("SU", True),
                                            ("NE", False), ("ER", False)])
def test_ack_policy(ack: str, expect: bool) -> None:
    d, _ = decode(oru(HR, cid="CTRL42", ack=ack))
    out = d.outgoing(1.0)
    assert bool(out) == expect
    if expect:
        assert out.startswith(SB) and out.endswith(EB + b"\r")
        segs = hl7.parse(out[1:-2].decode())
        assert segs[0].get(9) == "ACK" and segs[0].get(5) == "MINDRAY_D-SERIES"
        assert (segs[1].get(1), segs[1].get(2)) == ("AA", "CTRL42")
        assert d.outgoing(1.1) == b""


def test_ack_in_sender_version() -> None:
    msh = "MSH|^~\\&|Mindray|PDS|||20241124101530||ORU^R01|{cid}|{pid}|2.3.1||||{ack}"
    d, _ = decode(oru(HR, msh=msh, cid="77"))
    segs = hl7.parse(d.outgoing(0)[1:-2].decode())
    assert segs[0].get(12) == "2.3.1" and segs[1].get(2) == "77"


# --- properties -------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.lists(st.integers(1, 60), max_size=10))
def test_random_bytes_never_raise(data: bytes, cuts: list[int]) -> None:
    d = Hl7Decoder("p")
    feed_in_pieces(d, data, cuts)
    d.outgoing(0.0)
    assert d.stats.bytes_in == len(data)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([b"\x0b", b"\x1c", b"\r", b"MSH|^~\\&|", b"OBX|1|NM|",
                                 b"150456^^MDC", b"|97|", b"ORU^R01", b"\n", b"|2.6|", b"x"]),
                max_size=40))
def test_hl7ish_fragments_never_raise(parts: list[bytes]) -> None:
    d = Hl7Decoder("p")
    for r in d.feed(b"".join(parts), 0.0):
        assert isinstance(r, Reading)


@st.composite
def framed_stream(draw: st.DrawFn) -> tuple[bytes, list[int], set[int], list[int]]:
    """Messages with unique HRs; some lose their SB, EB or final CR, or get noise inside.

    CR and LF are left out of the noise: a CR inside a value can split it undetectably when the
    rest looks like a segment (HL7 has no checksum); see the unit tests for what is caught.
    """
    n = draw(st.integers(2, 6))
    hrs = [60 + i for i in range(n + 1)]  # the last is left clean
    damaged: set[int] = set()
    out = bytearray()
    for i, hr in enumerate(hrs):
        m = bytearray(mllp(short(nm("147842^^MDC", str(hr), "/min"), f"2024112410{i:04d}")))
        kind = draw(st.sampled_from(["none", "sb", "eb", "cr", "noise", "ctl", "between"]))
        if i == n or kind == "none":
            pass
        elif kind == "between":  # noise between frames damages nothing
            out += draw(st.binary(max_size=20).filter(lambda b: SB not in b and EB not in b))
        else:
            damaged.add(i)
            if kind == "sb":
                del m[0]
            elif kind == "eb":
                del m[-2:]
            elif kind == "cr":
                del m[-3]  # the last segment's CR
            else:
                pos = draw(st.integers(1, len(m) - 4))
                noise = st.sampled_from([*range(0x00, 0x0B), 0x0C, *range(0x0E, 0x1C), 0x1D,
                                         0x1E, 0x1F, 0x7F]).filter(lambda c: c != 0x0A)
                if kind == "ctl":
                    m[pos:pos] = bytes([draw(noise)])
                else:  # printable noise with a control character in it
                    m[pos:pos] = draw(st.text("ab|^7", max_size=3)).encode() + bytes(
                        [draw(noise)]) + draw(st.text("ab|^7", max_size=3)).encode()
        out += m
    cuts = draw(st.lists(st.integers(1, 300), max_size=10))
    return bytes(out), hrs, damaged, cuts


@settings(max_examples=200, deadline=None)
@given(framed_stream())
def test_damaged_frames_never_give_values_and_decoding_resumes(
    case: tuple[bytes, list[int], set[int], list[int]],
) -> None:
    data, hrs, damaged, cuts = case
    d = Hl7Decoder("p")
    out = feed_in_pieces(d, data, cuts)
    got = [r.value for r in out if isinstance(r, Reading)]
    intact = [hr for i, hr in enumerate(hrs) if i not in damaged]
    # A frame that lost its EB swallows the next one (its SB then starts a new frame), so the
    # next can be lost too; but nothing from a damaged frame ever appears.
    assert all(v in intact for v in got) and got == sorted(set(got))
    assert hrs[-1] in got
    if damaged:
        assert d.stats.frames_rejected >= 1


# --- simulator --------------------------------------------------------------------------------


class FixedPhysiology(Physiology):
    """A patient whose numbers are set by the test."""

    def __init__(self, hr: float | None, spo2: float | None, nibp_t: float = T0) -> None:
        super().__init__("calm", start=0.0)
        self.hr, self.spo2, self.nibp_t = hr, spo2, nibp_t

    def vitals(self, t: float) -> Vitals:
        return Vitals(hr=self.hr, spo2=self.spo2, rr=13, pulse=self.hr,
                      nibp=(118.0, 76.0, 90.0), nibp_t=self.nibp_t)


def run_loop(decoder: Decoder, monitor: SimulatedMonitor, seconds: float) -> list[Reading]:
    out: list[Sample] = []
    t = T0
    for _ in range(round(seconds / 0.02)):
        monitor.receive(decoder.outgoing(t), t)
        out += decoder.feed(monitor.produce(t), t)
        t += 0.02
    return [r for r in out if isinstance(r, Reading)]


def test_simulator_values_units_and_acks() -> None:
    d, m = Hl7Decoder("s"), Hl7Monitor(FixedPhysiology(131, 94))
    rs = run_loop(d, m, 3.1)
    assert d.stats.frames_ok == 4 and d.stats.frames_rejected == 0
    assert len(m.sent) == 4 and m.unacked == [] and set(m.acks.values()) == {"AA"}
    got = {(r.code, r.value, r.unit, r.quality) for r in rs}
    assert got == {
        (mdc.MDC_ECG_HEART_RATE, 131, mdc.MDC_DIM_BEAT_PER_MIN, Quality.VALID),
        (mdc.MDC_PULS_OXIM_PULS_RATE, 131, mdc.MDC_DIM_BEAT_PER_MIN, Quality.VALID),
        (mdc.MDC_PULS_OXIM_SAT_O2, 94, mdc.MDC_DIM_PERCENT, Quality.VALID),
        (mdc.MDC_RESP_RATE, 13, mdc.MDC_DIM_RESP_PER_MIN, Quality.VALID),
        (mdc.MDC_PRESS_BLD_NONINV_SYS, 118, mdc.MDC_DIM_MMHG, Quality.VALID),
        (mdc.MDC_PRESS_BLD_NONINV_DIA, 76, mdc.MDC_DIM_MMHG, Quality.VALID),
        (mdc.MDC_PRESS_BLD_NONINV_MEAN, 90, mdc.MDC_DIM_MMHG, Quality.VALID),
    }
    nibp = [r for r in rs if r.code == mdc.MDC_PRESS_BLD_NONINV_SYS]
    assert len(nibp) == 1 and nibp[0].device_time == T0  # sent 4 times, fresh once
    hr = [r for r in rs if r.code == mdc.MDC_ECG_HEART_RATE]
    assert [round(r.device_time or 0, 2) for r in hr] == [round(r.t, 2) for r in hr]
    assert d.unknown_codes == {hl7.VENDOR_UNKNOWN: 4}


def test_simulator_pleth() -> None:
    d, m = Hl7Decoder("s"), Hl7Monitor(Physiology("calm", start=T0))
    out: list[Sample] = []
    t = T0
    for _ in range(160):
        m.receive(d.outgoing(t), t)
        out += d.feed(m.produce(t), t)
        t += 0.02
    ws = [w for w in out if isinstance(w, WaveChunk)]
    assert len(ws) == 4 and {w.rate_hz for w in ws} == {hl7.PLETH_RATE_HZ}
    assert all(w.code == mdc.MDC_PULS_OXIM_PLETH for w in ws)
    assert 124 <= sum(len(w.samples) for w in ws[1:]) / 3 <= 126  # one second each
    expect = Physiology("calm", start=T0).pleth(ws[0].t0, 10, hl7.PLETH_RATE_HZ)
    np.testing.assert_allclose(ws[0].samples[:10], expect, atol=6e-4)


def test_simulator_probe_off() -> None:
    rs = run_loop(Hl7Decoder("s"), Hl7Monitor(FixedPhysiology(None, None)), 1)
    bad = [r for r in rs if r.code != mdc.MDC_RESP_RATE and r.unit != mdc.MDC_DIM_MMHG]
    assert len(bad) == 3 and all(math.isnan(r.value) and r.quality == Quality.INVALID for r in bad)


def test_driver_loop_produces_readings_fast() -> None:
    rs = run_loop(DRIVER.make_decoder("x"), DRIVER.make_simulator(Physiology("calm")), 3)
    assert {mdc.MDC_ECG_HEART_RATE, mdc.MDC_PULS_OXIM_SAT_O2} <= {r.code for r in rs}
    assert DRIVER.name == "hl7" and DRIVER.talks_back and DRIVER.settings.baudrate == 115200


# --- end to end -------------------------------------------------------------------------------


class Sink:
    def __init__(self, want: int) -> None:
        self.got: list[Reading] = []
        self.waves: list[WaveChunk] = []
        self.want = want
        self.done = threading.Event()
        self._lock = threading.Lock()

    def samples(self, source: str, samples: list[Sample]) -> None:
        with self._lock:
            self.got += [s for s in samples if isinstance(s, Reading)]
            self.waves += [s for s in samples if isinstance(s, WaveChunk)]
            if len({r.t for r in self.got}) >= self.want:
                self.done.set()

    def status(self, status: LinkStatus) -> None:
        pass


@pytest.mark.parametrize("tcp", [False, True], ids=["pty", "tcp"])
def test_end_to_end(tcp: bool) -> None:
    sim = Simulator(DRIVER, FixedPhysiology(130, 95), tcp=tcp)
    monitor = sim.monitor
    assert isinstance(monitor, Hl7Monitor)
    acked = threading.Event()
    monitor.on_ack = lambda cid, code: acked.set() if len(monitor.acks) >= 2 else None
    port = sim.start()
    assert port.startswith("socket://") == tcp
    sink = Sink(want=2)  # two messages
    link = SerialLink(port, DRIVER, sink)
    link.start()
    try:
        assert sink.done.wait(8), link.status
        assert acked.wait(3), monitor.acks
    finally:
        link.stop()
        sim.stop()
    got = by_code(sink.got)
    assert (got[mdc.MDC_ECG_HEART_RATE].value, got[mdc.MDC_ECG_HEART_RATE].unit) == (
        130, mdc.MDC_DIM_BEAT_PER_MIN)
    assert (got[mdc.MDC_PULS_OXIM_SAT_O2].value, got[mdc.MDC_PULS_OXIM_SAT_O2].unit) == (
        95, mdc.MDC_DIM_PERCENT)
    assert got[mdc.MDC_PRESS_BLD_NONINV_SYS].value == 118
    assert set(monitor.acks.values()) == {"AA"}
    assert link.decoder.stats.frames_rejected == 0
    assert sink.waves and sink.waves[0].code == mdc.MDC_PULS_OXIM_PLETH


# --- the two readers agree ----------------------------------------------------------------------

TEXT = st.text("abXY019.-+_", max_size=8)  # hl7apy treats blanks unevenly across types


def composite(n: int, reps: int = 1) -> st.SearchStrategy[str]:
    one = st.lists(TEXT, min_size=1, max_size=n).map("^".join)
    return st.lists(one, min_size=1, max_size=reps).map("~".join)


TS = st.from_regex(r"20[0-9]{2}(0[1-9]|1[0-2])[0-2][0-9]([01][0-9]([0-5][0-9]){2})?(\+0[0-9]00)?",
                   fullmatch=True)


@st.composite
def plain_message(draw: st.DrawFn) -> str:
    """Messages shaped like monitors' (composites only where HL7 has them), varied content."""
    msh = (
        f"MSH|^~\\&|{draw(composite(3))}|{draw(composite(3))}|||{draw(TS)}||ORU^R01|"
        f"{draw(st.text('abc0123', min_size=1, max_size=8))}|{draw(st.sampled_from('PTD'))}|"
        f"{draw(st.sampled_from(['2.3.1', '2.4', '2.5', '2.6']))}|||"
        f"{draw(st.sampled_from(['', 'AL', 'NE', 'ER', 'SU']))}"
    )
    segs = [msh, f"PID|||{draw(composite(5))}||{draw(composite(3))}",
                 f"OBR|1||X1|{draw(composite(3))}|||{draw(TS)}"]
    for i in range(1, draw(st.integers(0, 6)) + 1):
        vtype = draw(st.sampled_from(["NM", "ST", "NA", "CWE"]))
        value = draw(composite(6) if vtype == "NA" else TEXT)
        segs.append(
            f"OBX|{i}|{vtype}|{draw(composite(6, reps=2))}|{draw(TEXT)}|{value}|"
            f"{draw(composite(3))}|||||{draw(st.sampled_from(['R', 'F', 'X', 'P', '']))}|||"
            f"{draw(TS)}"
        )
    return "\r".join(segs)


READ = {"MSH": (3, 4, 7, 9, 10, 11, 12, 15), "OBR": (7,), "OBX": (2, 3, 5, 6, 11, 14)}


def assert_same_reading(text: str) -> None:
    """The plain reader gives what hl7apy gives for every field the decoder reads."""
    fast, ref = hl7.parse(text), parse_with_hl7apy(text)
    assert [s.name for s in fast] == [s.name for s in ref]
    for a, b in zip(fast, ref, strict=True):
        for n in READ.get(a.name, ()):
            assert a.reps(n) == b.reps(n), (a.name, n)


@settings(max_examples=150, deadline=None)
@given(plain_message())
def test_plain_reader_agrees_with_hl7apy(text: str) -> None:
    assert hl7.is_plain(text)
    assert_same_reading(text)


def test_plain_reader_agrees_on_vendor_messages() -> None:
    msh = "MSH|^~\\&|Mindray|PDS|||20241124101530||ORU^R01|{cid}|{pid}|2.3.1||||{ack}"
    for text in (oru(HR, SPO2), oru(HR, msh=msh),
                 Hl7Monitor(Physiology("calm", start=0.0)).message(5.0)):
        assert hl7.is_plain(text.rstrip("\r"))
        parse_with_hl7apy(text.rstrip("\r"))  # both must read these
        assert_same_reading(text.rstrip("\r"))


def test_escapes_and_other_delimiters_go_to_hl7apy() -> None:
    esc = oru(nm("150456^Sp\\T\\O2^MDC", "97", "262688^^MDC"))
    assert not hl7.is_plain(esc)
    _, rs = decode(esc)
    assert [r.value for r in rs] == [97]
    other = oru(HR).replace("MSH|^~\\&|", "MSH|$~\\&|").replace("^", "$").replace(
        "MSH|$~\\&|", "MSH|$~\\&|")
    assert not hl7.is_plain(other)
    _, rs = decode(other)
    assert [(r.code, r.value) for r in rs] == [(mdc.MDC_ECG_HEART_RATE, 72)]
